"""SQL the pages run, cached with a TTL. Aggregation happens in the warehouse.

Every function takes `source_key` first (see `source()`), so cached results never leak
between configurations, and every tenant-owned read is filtered by `merchant_id`. Store
reads return plain values (dicts, polars frames), never ORM objects, so they cache safely;
writes from the app call `clear_store_caches()`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import func, select

from agents.usage import usage_by_campaign
from campaigns.access import users as access_users
from campaigns.audiences.segments import channel_audiences as audiences_for
from campaigns.audiences import contacts as contact_service
from campaigns.audiences.privacy import segment_memberships
from campaigns.audiences.segments import count_contacts
from campaigns.audiences.suppression import suppressed_emails
from campaigns.budget import apply as budget_apply
from campaigns.budget.curves import CAMPAIGN_CURVES_MART
from campaigns.core.audit import AuditFilter
from campaigns.core.audit import search as audit_search
from campaigns.core.audit import to_csv as audit_to_csv
from campaigns.core.enums import CampaignStatus, ContentStatus, QueueStatus
from campaigns.core.policy import four_eyes
from campaigns.core.queue import HELD
from campaigns.core.merchants import list_merchants
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import (
    AbTest,
    BudgetAllocation,
    Campaign,
    CampaignContent,
    CampaignMetric,
    CampaignWorkflow,
    Contact,
    EmailCampaign,
    Merchant,
    RepurposedContent,
    Segment,
    SocialAccount,
    SocialQueueItem,
)
from campaigns.email.flows import FlowError, layout
from campaigns.email.results import email_results as results_of
from campaigns.integrations.delivery import deliveries as webhook_delivery_log
from campaigns.integrations.endpoints import endpoint_fields, list_endpoints
from campaigns.lifecycle.alerts import list_alerts
from campaigns.social.posting_slots import best_slot
from campaigns.warehouse import staleness
from campaigns.warehouse.serving import MartsUnavailable, available_marts, query_marts
from campaigns.warehouse.staleness import STAMPS_TABLE

TTL_SECONDS = 60
PERFORMANCE = "campaign_performance_daily"
ROI_BY_MODEL = "roi_by_model"
ATTRIBUTION_BY_CHANNEL = "attribution_by_channel"
OVERVIEW = "overview_daily"
# dbt marts over every attribution model, rule-based and data-driven (views over dbt's and the Python assets' tables)
ATTRIBUTION_BY_CHANNEL_ALL = "attribution_by_channel_all_models"
ATTRIBUTION_DAILY_ALL = "attribution_daily_all_models"
ROI_ALL = "roi_by_model_all_models"
SOCIAL_PERFORMANCE = "social_post_performance"


def settings() -> Settings:
    """The process's settings, read once (building them parses the environment and .env: tens of milliseconds)."""
    return get_settings()


def source() -> str:
    """Identifies the store and warehouse, so cached results never leak between configurations."""
    s = settings()
    return f"{s.store_url}|{s.warehouse}|{s.warehouse_url or s.duckdb_path}"


# --- the operational store ---------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def merchants(source_key: str) -> list[tuple[str, str]]:
    with session_scope(settings().store_url) as session:
        return [(m.id, m.name) for m in list_merchants(session)]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def merchant_profile(source_key: str, merchant_id: str) -> dict[str, str]:
    with session_scope(settings().store_url) as session:
        m = session.get(Merchant, merchant_id)
        if m is None:
            return {"id": merchant_id, "name": merchant_id, "timezone": "UTC", "currency": "USD"}
        return {"id": m.id, "name": m.name, "timezone": m.timezone or "UTC", "currency": m.currency or "USD"}


def _campaign_row(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "type": c.type.value,
        "status": c.status.value,
        "channels": [str(ch) for ch in (c.channels or [])],
        "budget": float(c.budget) if c.budget is not None else None,
        "spent": float(c.spent or 0),
        "start_date": c.start_date,
        "end_date": c.end_date,
        "created_at": c.created_at,
        "description": c.description or "",
    }


CAMPAIGN_SCHEMA = {
    "id": pl.String, "name": pl.String, "type": pl.String, "status": pl.String, "channels": pl.List(pl.String),
    "budget": pl.Float64, "spent": pl.Float64, "start_date": pl.Datetime("us", "UTC"), "end_date": pl.Datetime("us", "UTC"),
    "created_at": pl.Datetime("us", "UTC"), "description": pl.String,
}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaigns(source_key: str, merchant_id: str) -> pl.DataFrame:
    """The merchant's campaigns, newest first (a few hundred rows at most)."""
    with session_scope(settings().store_url) as session:
        rows = [
            _campaign_row(c)
            for c in session.scalars(
                select(Campaign).where(Campaign.merchant_id == merchant_id).order_by(Campaign.created_at.desc(), Campaign.id)
            )
        ]
    return pl.DataFrame(rows, schema=CAMPAIGN_SCHEMA)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_detail(source_key: str, merchant_id: str, campaign_id: str) -> dict[str, Any] | None:
    """One campaign with its contents, workflow steps and budget allocations."""
    with session_scope(settings().store_url) as session:
        c = session.scalar(select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id))
        if c is None:
            return None
        scoped = {"merchant_id": merchant_id, "campaign_id": campaign_id}
        contents = session.scalars(
            select(CampaignContent).filter_by(**scoped).order_by(CampaignContent.channel, CampaignContent.scheduled_at, CampaignContent.id)
        ).all()
        steps = session.scalars(select(CampaignWorkflow).filter_by(**scoped).order_by(CampaignWorkflow.step_order)).all()
        allocations = session.scalars(select(BudgetAllocation).filter_by(**scoped).order_by(BudgetAllocation.channel, BudgetAllocation.id)).all()
        return {
            **_campaign_row(c),
            "goals": dict(c.goals or {}),
            "target_audience": dict(c.target_audience or {}),
            "contents": [
                {"id": x.id, "channel": x.channel, "platform": x.platform, "content_type": x.content_type, "title": x.title, "body": x.body,
                 "status": x.status.value, "scheduled_at": x.scheduled_at}
                for x in contents
            ],
            "workflow": [
                {"step": w.step_order, "type": w.step_type, "status": w.status.value, "attempts": w.attempts, "started_at": w.started_at,
                 "finished_at": w.finished_at, "error": w.error or "", "config": json.dumps(w.config or {}, default=str)}
                for w in steps
            ],
            "allocations": [
                {"channel": a.channel, "allocated": float(a.allocated or 0), "spent": float(a.spent or 0), "roi": a.roi,
                 "recommended": float(a.recommended_allocation) if a.recommended_allocation is not None else None,
                 "recommendation": a.recommendation or ""}
                for a in allocations
            ],
        }


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def social_accounts(source_key: str, merchant_id: str) -> list[dict[str, Any]]:
    with session_scope(settings().store_url) as session:
        rows = session.scalars(select(SocialAccount).where(SocialAccount.merchant_id == merchant_id).order_by(SocialAccount.platform, SocialAccount.handle))
        return [{"id": a.id, "platform": a.platform, "handle": a.handle, "timezone": a.timezone, "status": a.status,
                 "reauth_reason": a.reauth_reason} for a in rows]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def saved_segments(source_key: str, merchant_id: str) -> list[dict[str, Any]]:
    with session_scope(settings().store_url) as session:
        rows = session.scalars(select(Segment).where(Segment.merchant_id == merchant_id).order_by(Segment.name, Segment.id))
        return [{"id": g.id, "name": g.name, "rules": dict(g.rules or {})} for g in rows]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def segment_size(source_key: str, merchant_id: str, rules_json: str, subscribed_only: bool = False) -> int:
    """Live size estimate; `rules_json` is the rules as canonical JSON (hashable). Raises RuleError."""
    with session_scope(settings().store_url) as session:
        return count_contacts(session, merchant_id, json.loads(rules_json), subscribed_only=subscribed_only)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def contact_count(source_key: str, merchant_id: str) -> int:
    with session_scope(settings().store_url) as session:
        return int(session.scalar(select(func.count()).select_from(Contact).where(Contact.merchant_id == merchant_id, Contact.status != "erased")) or 0)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def contact_list(source_key: str, merchant_id: str, search: str = "", limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of the merchant's contacts (search on address, names and tags) and how many match."""
    with session_scope(settings().store_url) as session:
        rows, total = contact_service.list_contacts(session, merchant_id, search, limit, offset)
        return [{"id": c.id, "email": c.email, "name": f"{c.first_name} {c.last_name}".strip(), "tags": ", ".join(map(str, c.tags or [])),
                 "subscribed": c.subscribed, "status": c.status} for c in rows], total


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def contact_page(source_key: str, merchant_id: str, contact_id: int) -> dict[str, Any] | None:
    """One contact whole: fields, consent history, suppression, segment memberships and latest events; None when gone."""
    with session_scope(settings().store_url) as session:
        try:
            contact = contact_service.get_contact(session, merchant_id, contact_id)
        except LookupError:
            return None
        suppressed = suppressed_emails(session, merchant_id, [contact.email]).get(contact.email.lower())
        return {
            **contact_service.contact_fields(contact),
            "suppressed": suppressed.value if suppressed is not None else None,
            "segments": segment_memberships(session, merchant_id, contact.id),
            "consents": [{"When": c.occurred_at, "Consent": "granted" if c.granted else "withdrawn", "Purpose": c.purpose, "Source": c.source,
                          "Wording": c.wording} for c in contact_service.consent_history(session, merchant_id, contact.id)],
            "events": [{"When": e.occurred_at, "Event": e.kind, "Value": None if e.value is None else float(e.value)}
                       for e in contact_service.contact_events(session, merchant_id, contact.id, limit=50)],
        }


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def problem_posts(source_key: str, merchant_id: str) -> pl.DataFrame:
    """Social posts that failed or wait for a person (FAILED, NEEDS_REVIEW), newest first."""
    with session_scope(settings().store_url) as session:
        rows = session.execute(
            select(SocialQueueItem.id, SocialQueueItem.status, SocialQueueItem.scheduled_at, SocialAccount.platform, SocialAccount.handle,
                   SocialQueueItem.campaign_id, SocialQueueItem.text, SocialQueueItem.last_error, SocialQueueItem.attempts)
            .join(SocialAccount, SocialAccount.id == SocialQueueItem.account_id)
            .where(SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.status.in_([QueueStatus.FAILED, QueueStatus.NEEDS_REVIEW]))
            .order_by(SocialQueueItem.scheduled_at.desc())
            .limit(200)
        ).all()
    return pl.DataFrame(
        [{"id": r.id, "status": r.status.value, "scheduled_at": r.scheduled_at, "account": f"{r.platform} @{r.handle}",
          "campaign_id": r.campaign_id, "text": (r.text or "")[:120], "error": r.last_error or "", "attempts": r.attempts} for r in rows],
        schema={"id": pl.Int64, "status": pl.String, "scheduled_at": pl.Datetime("us", "UTC"), "account": pl.String, "campaign_id": pl.String,
                "text": pl.String, "error": pl.String, "attempts": pl.Int64},
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def awaiting_approval(source_key: str, merchant_id: str) -> pl.DataFrame:
    """Campaign contents and repurposed drafts still in DRAFT."""
    with session_scope(settings().store_url) as session:
        contents = session.execute(
            select(CampaignContent.id, CampaignContent.channel, CampaignContent.title, CampaignContent.body, CampaignContent.updated_at,
                   Campaign.name.label("campaign"))
            .outerjoin(Campaign, Campaign.id == CampaignContent.campaign_id)
            .where(CampaignContent.merchant_id == merchant_id, CampaignContent.status == ContentStatus.DRAFT)
            .order_by(CampaignContent.updated_at.desc())
            .limit(200)
        ).all()
        repurposed = session.execute(
            select(RepurposedContent.id, RepurposedContent.format, RepurposedContent.source_title, RepurposedContent.payload,
                   RepurposedContent.updated_at)
            .where(RepurposedContent.merchant_id == merchant_id, RepurposedContent.status == ContentStatus.DRAFT)
            .order_by(RepurposedContent.updated_at.desc())
            .limit(200)
        ).all()
    rows = [{"kind": "campaign content", "id": r.id, "channel": r.channel, "what": r.title or (r.body or "")[:80],
             "campaign": r.campaign or "", "updated_at": r.updated_at} for r in contents]
    rows += [{"kind": "repurposed", "id": r.id, "channel": r.format, "what": r.source_title, "campaign": "", "updated_at": r.updated_at}
             for r in repurposed]
    return pl.DataFrame(rows, schema={"kind": pl.String, "id": pl.Int64, "channel": pl.String, "what": pl.String, "campaign": pl.String,
                                      "updated_at": pl.Datetime("us", "UTC")})


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def awaiting_approval_count(source_key: str, merchant_id: str) -> int:
    with session_scope(settings().store_url) as session:
        contents = session.scalar(select(func.count()).select_from(CampaignContent).where(
            CampaignContent.merchant_id == merchant_id, CampaignContent.status == ContentStatus.DRAFT))
        repurposed = session.scalar(select(func.count()).select_from(RepurposedContent).where(
            RepurposedContent.merchant_id == merchant_id, RepurposedContent.status == ContentStatus.DRAFT))
    return int(contents or 0) + int(repurposed or 0)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def store_campaign_totals(source_key: str, merchant_id: str) -> pl.DataFrame:
    """Spend and revenue per campaign from the store's campaign_metrics (fallback when the mart is missing)."""
    with session_scope(settings().store_url) as session:
        rows = session.execute(
            select(CampaignMetric.campaign_id, func.sum(CampaignMetric.spend).label("spend"), func.sum(CampaignMetric.revenue).label("revenue"),
                   func.sum(CampaignMetric.conversions).label("conversions"))
            .where(CampaignMetric.merchant_id == merchant_id)
            .group_by(CampaignMetric.campaign_id)
        ).all()
    return pl.DataFrame(
        [{"campaign_id": r.campaign_id, "spend": float(r.spend or 0), "revenue": float(r.revenue or 0), "conversions": float(r.conversions or 0)}
         for r in rows],
        schema={"campaign_id": pl.String, "spend": pl.Float64, "revenue": pl.Float64, "conversions": pl.Float64},
    )


# --- the marts ---------------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def marts(source_key: str) -> list[str]:
    try:
        return available_marts(settings())
    except Exception:  # an unreachable warehouse reads as "no marts yet"; pages say what to do
        return []


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def data_driven_staleness(source_key: str) -> str | None:
    """A warning when Markov and Shapley are older than the rule-based marts (see campaigns.warehouse.staleness)."""
    if STAMPS_TABLE not in marts(source_key):
        return None
    return staleness.data_driven_staleness(lambda sql: _marts(sql, []))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def has_overview(source_key: str) -> bool:
    return OVERVIEW in marts(source_key)


def _marts(sql: str, params: list[Any]) -> pl.DataFrame:
    try:
        return query_marts(settings(), sql, params)
    except MartsUnavailable:
        return pl.DataFrame()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def overview_daily(source_key: str, merchant_id: str) -> pl.DataFrame:
    return _marts(
        "select activity_date, spend, impressions, clicks, conversions, revenue "
        "from marts.overview_daily where merchant_id = ? order by activity_date",
        [merchant_id],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_daily(source_key: str, merchant_id: str, campaign_id: str) -> pl.DataFrame:
    """One row per day for one campaign, summed over channels in the warehouse."""
    return _marts(
        "select activity_date, sum(spend) as spend, sum(revenue) as revenue, sum(impressions) as impressions, "
        f"sum(clicks) as clicks, sum(conversions) as conversions from marts.{PERFORMANCE} "
        "where merchant_id = ? and campaign_id = ? group by activity_date order by activity_date",
        [merchant_id, campaign_id],
    )


_RATIOS = (
    "case when sum(impressions) > 0 then cast(sum(clicks) as double precision) / sum(impressions) end as ctr, "
    "case when sum(clicks) > 0 then sum(conversions) / sum(clicks) end as cvr, "
    "case when sum(clicks) > 0 then sum(spend) / sum(clicks) end as cpc, "
    "case when sum(impressions) > 0 then sum(spend) * 1000 / sum(impressions) end as cpm, "
    "case when sum(conversions) > 0 then sum(spend) / sum(conversions) end as cpa, "
    "case when sum(spend) > 0 then sum(revenue) / sum(spend) end as roas, "
    "case when sum(spend) > 0 then (sum(revenue) - sum(spend)) / sum(spend) end as roi"
)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_channels(source_key: str, merchant_id: str, campaign_id: str) -> pl.DataFrame:
    """Totals and ratios per channel for one campaign, over its whole history."""
    return _marts(
        f"select channel, sum(impressions) as impressions, sum(clicks) as clicks, sum(conversions) as conversions, "
        f"sum(spend) as spend, sum(revenue) as revenue, {_RATIOS} from marts.{PERFORMANCE} "
        f"where merchant_id = ? and campaign_id = ? group by channel order by sum(spend) desc",
        [merchant_id, campaign_id],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_roi_by_model(source_key: str, merchant_id: str, campaign_id: str) -> pl.DataFrame:
    """Spend, conversions, revenue and return of one campaign per model, every model (marts.roi_by_model_all_models)."""
    return _marts(
        f"select model, sum(spend) as spend, sum(conversions) as conversions, sum(revenue) as revenue, "
        f"case when sum(spend) > 0 then sum(revenue) / sum(spend) end as roas, "
        f"case when sum(spend) > 0 then (sum(revenue) - sum(spend)) / sum(spend) end as roi "
        f"from marts.{ROI_ALL} where merchant_id = ? and campaign_id = ? group by model order by model",
        [merchant_id, campaign_id],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_plan_vs_actual(source_key: str, merchant_id: str, campaign_id: str) -> pl.DataFrame:
    """Per channel: the allocated budget against what the campaign's results say it spent, with its return and what it
    delivered (impressions, clicks, email sends, opens and clicks, post engagements) from `campaign_metrics` (store)."""
    measures = {"spent": CampaignMetric.spend, "revenue": CampaignMetric.revenue, "conversions": CampaignMetric.conversions,
                "impressions": CampaignMetric.impressions, "clicks": CampaignMetric.clicks, "email_sends": CampaignMetric.email_sends,
                "email_opens": CampaignMetric.email_opens, "email_clicks": CampaignMetric.email_clicks,
                "engagements": CampaignMetric.social_engagements}
    with session_scope(settings().store_url) as session:
        allocated = budget_apply.current_allocations(session, merchant_id, campaign_id)
        actual = session.execute(
            select(CampaignMetric.channel, *(func.sum(column) for column in measures.values()))
            .where(CampaignMetric.merchant_id == merchant_id, CampaignMetric.campaign_id == campaign_id).group_by(CampaignMetric.channel)).all()
    totals = {row[0]: [float(v or 0) for v in row[1:]] for row in actual}
    rows = [{"channel": ch, "allocated": allocated.get(ch, 0.0), **dict(zip(measures, totals.get(ch, [0.0] * len(measures)), strict=True))}
            for ch in sorted({*allocated, *totals})]
    return pl.DataFrame(rows, schema={"channel": pl.String, "allocated": pl.Float64, **{name: pl.Float64 for name in measures}})


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_posts(source_key: str, merchant_id: str, campaign_id: str) -> pl.DataFrame:
    """The campaign's posts with their latest engagement from the platforms (its emails and their results: `email_broadcasts`)."""
    with session_scope(settings().store_url) as session:
        posts = [{"item": i.id, "platform": a.platform, "status": i.status.value, "published_at": i.published_at, "text": i.text[:120]}
                 for i, a in session.execute(select(SocialQueueItem, SocialAccount).join(SocialAccount, SocialAccount.id == SocialQueueItem.account_id)
                                              .where(SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.campaign_id == campaign_id)
                                              .order_by(SocialQueueItem.scheduled_at))]
    post_frame = pl.DataFrame(posts, schema={"item": pl.Int64, "platform": pl.String, "status": pl.String, "published_at": pl.Datetime("us", "UTC"),
                                             "text": pl.String})
    if post_frame.height and SOCIAL_PERFORMANCE in marts(source_key):
        measured = _marts(f"select queue_item_id as item, impressions, engagements from marts.{SOCIAL_PERFORMANCE} where merchant_id = ?", [merchant_id])
        if measured.height:
            post_frame = post_frame.join(measured.cast({"item": pl.Int64}), on="item", how="left")
    return post_frame


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def spend_through(source_key: str, merchant_id: str) -> date | None:
    """The last day with spend in the performance mart (revenue can land later, as conversions lag)."""
    frame = _marts(f"select max(activity_date) as last_day from marts.{PERFORMANCE} where merchant_id = ? and spend > 0", [merchant_id])
    return frame["last_day"][0] if frame.height and frame["last_day"][0] is not None else None


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_totals(source_key: str, merchant_id: str, first_day: date | None, last_day: date) -> pl.DataFrame:
    """Per campaign: spend, revenue, conversions and ROAS between first_day and last_day (inclusive; no first_day: all history)."""
    where, params = "merchant_id = ? and campaign_id is not null and activity_date <= ?", [merchant_id, last_day]
    if first_day is not None:
        where += " and activity_date >= ?"
        params.append(first_day)
    return _marts(
        f"select campaign_id, sum(spend) as spend, sum(revenue) as revenue, sum(conversions) as conversions, "
        f"case when sum(spend) > 0 then sum(revenue) / sum(spend) end as roas "
        f"from marts.{PERFORMANCE} where {where} group by campaign_id",
        params,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_week_over_week(source_key: str, merchant_id: str, last_day: date) -> pl.DataFrame:
    """Per campaign: spend and revenue in the 7 days ending last_day and in the 7 days before."""
    week_start, previous_start = last_day - timedelta(days=6), last_day - timedelta(days=13)
    return _marts(
        f"select campaign_id, "
        "sum(case when activity_date >= ? then spend else 0 end) as spend_now, "
        "sum(case when activity_date >= ? then revenue else 0 end) as revenue_now, "
        "sum(case when activity_date < ? then spend else 0 end) as spend_before, "
        "sum(case when activity_date < ? then revenue else 0 end) as revenue_before "
        f"from marts.{PERFORMANCE} where merchant_id = ? and campaign_id is not null and activity_date >= ? and activity_date <= ? group by campaign_id",
        [week_start, week_start, week_start, week_start, merchant_id, previous_start, last_day],
    )


def period_totals(daily: pl.DataFrame, end: date, days: int) -> tuple[dict[str, float], dict[str, float]]:
    """Totals of the `days` ending at `end` and of the `days` before them."""

    def totals(start_offset: int, end_offset: int) -> dict[str, float]:
        window = daily.filter(
            (pl.col("activity_date") > pl.lit(end) - pl.duration(days=start_offset))
            & (pl.col("activity_date") <= pl.lit(end) - pl.duration(days=end_offset))
        )
        spend = float(window["spend"].sum() or 0)
        revenue = float(window["revenue"].sum() or 0)
        return {
            "spend": spend,
            "revenue": revenue,
            "conversions": float(window["conversions"].sum() or 0),
            "roas": revenue / spend if spend else float("nan"),
        }

    return totals(days, 0), totals(2 * days, days)


# --- social scheduler and content studio ---------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def social_queue(source_key: str, merchant_id: str) -> pl.DataFrame:
    """Every queued, publishing, published, failed or review-waiting post of the merchant, by time."""
    with session_scope(settings().store_url) as session:
        rows = session.execute(
            select(SocialQueueItem.id, SocialQueueItem.status, SocialQueueItem.scheduled_at, SocialQueueItem.published_at, SocialQueueItem.account_id,
                   SocialAccount.platform, SocialAccount.handle, SocialAccount.timezone, SocialQueueItem.text, SocialQueueItem.attempts,
                   SocialQueueItem.last_error, Campaign.status.label("campaign_status"))
            .join(SocialAccount, SocialAccount.id == SocialQueueItem.account_id)
            .outerjoin(Campaign, Campaign.id == SocialQueueItem.campaign_id)
            .where(SocialQueueItem.merchant_id == merchant_id)
            .order_by(SocialQueueItem.scheduled_at, SocialQueueItem.id)
            .limit(1000)
        ).all()
    return pl.DataFrame(
        [{"id": r.id, "status": r.status.value, "scheduled_at": r.scheduled_at, "published_at": r.published_at, "account_id": r.account_id,
          "account": f"{r.platform} @{r.handle}", "platform": r.platform, "timezone": r.timezone or "UTC", "text": r.text or "",
          "attempts": r.attempts,
          "reason": HELD if r.status is QueueStatus.QUEUED and r.campaign_status is CampaignStatus.PAUSED else r.last_error or ""} for r in rows],
        schema={"id": pl.Int64, "status": pl.String, "scheduled_at": pl.Datetime("us", "UTC"), "published_at": pl.Datetime("us", "UTC"),
                "account_id": pl.Int64, "account": pl.String, "platform": pl.String, "timezone": pl.String, "text": pl.String,
                "attempts": pl.Int64, "reason": pl.String},
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def account_heatmap(source_key: str, merchant_id: str, account_id: int) -> tuple[pl.DataFrame, int, str]:
    """(weekday x hour frame with rate and confidence, posts behind it, a note when the history could not be read)."""
    from campaigns.social.accounts import get_account  # the social context and its publishers: only the Social page loads them
    from campaigns.social.posting_slots import account_heatmap as heatmap_of

    s = settings()
    with session_scope(s.store_url) as session:
        account = get_account(session, merchant_id, account_id)
        heatmap, note = heatmap_of(s, merchant_id, account)
    return heatmap.to_frame(), heatmap.posts, note


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def repurposed(source_key: str, merchant_id: str) -> list[dict[str, Any]]:
    """Leo's repurposed outputs with the exact text a person approves, grouped later by source post."""
    from agents.leo.outputs import Output  # Leo's output models (about a second to import): only the Content Studio needs them

    with session_scope(settings().store_url) as session:
        rows = session.scalars(select(RepurposedContent).where(RepurposedContent.merchant_id == merchant_id)
                               .order_by(RepurposedContent.source_title, RepurposedContent.format, RepurposedContent.variant, RepurposedContent.id))
        out = []
        for r in rows:
            payload = dict(r.payload or {})
            try:
                text = Output.model_validate({k: v for k, v in payload.items() if k in Output.model_fields}).publishable_text()
            except ValueError:
                text = str(payload.get("text") or "")
            out.append({"id": r.id, "source_title": r.source_title, "source_hash": r.source_hash, "source_url": r.source_url,
                        "format": r.format, "variant": r.variant, "engine": r.engine, "status": r.status.value, "angle": payload.get("angle", ""),
                        "campaign_id": r.campaign_id,
                        "text": text, "content_hash": r.content_hash, "payload": payload})
        return out


# --- analytics and budget (the Analytics and Budget pages) -------------------------------------
ATTRIBUTION_MARTS = (ATTRIBUTION_BY_CHANNEL, "attribution_by_channel_data_driven")
ROI_MARTS = (ROI_BY_MODEL, "roi_by_model_data_driven")
RESPONSE_CURVES = "response_curves"
BUDGET_RECOMMENDATIONS = "budget_recommendations"


def _in_list(column: str, values: tuple[str, ...], params: list[Any]) -> str:
    params.extend(values)
    return f" and {column} in ({', '.join('?' for _ in values)})"


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def analytics_date_bounds(source_key: str, merchant_id: str) -> tuple[date, date] | None:
    """First and last day (UTC) with performance or attributed conversions, of any model (for the date filter's range)."""
    available = marts(source_key)
    days = ((PERFORMANCE, "activity_date"), (ATTRIBUTION_DAILY_ALL, "conversion_date"))
    parts = [f"select min({day}) as first_day, max({day}) as last_day from marts.{mart} where merchant_id = ?"
             for mart, day in days if mart in available]
    if not parts:
        return None
    frame = _marts(f"select min(first_day) as first_day, max(last_day) as last_day from ({' union all '.join(parts)}) bounds",
                   [merchant_id] * len(parts))
    if frame.is_empty() or frame["first_day"][0] is None:
        return None
    return frame["first_day"][0], frame["last_day"][0]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def attribution_comparison(source_key: str, merchant_id: str, first_day: date | None, last_day: date | None,
                           campaign_ids: tuple[str, ...]) -> tuple[pl.DataFrame, bool]:
    """Conversions and revenue per model × channel, every model (rule-based, markov, shapley), summed in the warehouse.

    Without filters: marts.attribution_by_channel_all_models (Markov there is the global removal-effect split). With a
    day or campaign filter: summed from marts.attribution_daily_all_models, the per-conversion credits per UTC day,
    where Markov's credits are path-level and so can split differently. Returns the frame and whether it came from
    the daily credits (filters applied). Without the daily credits the filters cannot apply: the all-time totals
    come back, marked unfiltered, and the page says so.
    """
    available = marts(source_key)
    filtered = (first_day is not None or last_day is not None or bool(campaign_ids)) and ATTRIBUTION_DAILY_ALL in available
    if not filtered and ATTRIBUTION_BY_CHANNEL_ALL not in available:
        return pl.DataFrame(), False
    if filtered:
        where, params = "merchant_id = ?", [merchant_id]
        if first_day is not None:
            where += " and conversion_date >= ?"
            params.append(first_day)
        if last_day is not None:
            where += " and conversion_date <= ?"
            params.append(last_day)
        if campaign_ids:
            where += _in_list("campaign_id", campaign_ids, params)
        return _marts(f"select model, channel, sum(conversions) as conversions, sum(revenue) as revenue "
                      f"from marts.{ATTRIBUTION_DAILY_ALL} where {where} group by model, channel order by model, channel", params), True
    return _marts(f"select model, channel, conversions, revenue from marts.{ATTRIBUTION_BY_CHANNEL_ALL} "
                  f"where merchant_id = ? order by model, channel", [merchant_id]), False


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def roi_table(source_key: str, merchant_id: str, campaign_ids: tuple[str, ...]) -> pl.DataFrame:
    """ROI per model × campaign × channel, rule-based and data-driven models (marts.roi_by_model_all_models; a few hundred rows)."""
    if ROI_ALL not in marts(source_key):
        return pl.DataFrame()
    where, params = "merchant_id = ?", [merchant_id]
    if campaign_ids:
        where += _in_list("campaign_id", campaign_ids, params)
    return _marts(f"select model, campaign_id, channel, spend, conversions, revenue, roas, roi from marts.{ROI_ALL} "
                  f"where {where} order by model, campaign_id, channel", params)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def performance_trend(source_key: str, merchant_id: str, first_day: date | None, last_day: date | None,
                      campaign_ids: tuple[str, ...]) -> pl.DataFrame:
    """One row per day: spend, revenue, conversions, summed over campaigns and channels in the warehouse."""
    where, params = "merchant_id = ?", [merchant_id]
    if first_day is not None:
        where += " and activity_date >= ?"
        params.append(first_day)
    if last_day is not None:
        where += " and activity_date <= ?"
        params.append(last_day)
    if campaign_ids:
        where += _in_list("campaign_id", campaign_ids, params)
    return _marts(
        "select activity_date, sum(spend) as spend, sum(revenue) as revenue, sum(conversions) as conversions "
        f"from marts.{PERFORMANCE} where {where} group by activity_date order by activity_date",
        params,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def budget_recommendations(source_key: str, merchant_id: str) -> pl.DataFrame:
    return _marts(
        f"select channel, current_daily_spend, recommended_daily_spend, marginal_roas, current_daily_revenue, predicted_daily_revenue, "
        f"budget_shadow_price, gap, status, outside_observed_range from marts.{BUDGET_RECOMMENDATIONS} where merchant_id = ? order by channel",
        [merchant_id],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def response_curves(source_key: str, merchant_id: str) -> pl.DataFrame:
    return _marts(
        f"select channel, family, params, adstock_decay, r2, holdout_rmse, observed_min, observed_max, current_daily_spend "
        f"from marts.{RESPONSE_CURVES} where merchant_id = ? order by channel",
        [merchant_id],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_response_curves(source_key: str, merchant_id: str) -> pl.DataFrame:
    """The fitted curve of every campaign x channel (the Budget page's campaign rebalance plans from them); empty before
    the pipeline has published them."""
    if CAMPAIGN_CURVES_MART not in marts(source_key):
        return pl.DataFrame()
    return _marts(f"select * from marts.{CAMPAIGN_CURVES_MART} where merchant_id = ? order by campaign_id, channel", [merchant_id])


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_budget_allocations(source_key: str, merchant_id: str) -> pl.DataFrame:
    with session_scope(settings().store_url) as session:
        rows = [
            {"id": a.id, "channel": a.channel, "allocated": float(a.allocated or 0), "spent": float(a.spent or 0),
             "recommended": float(a.recommended_allocation) if a.recommended_allocation is not None else None,
             "recommendation": a.recommendation or "", "period_start": a.period_start, "period_end": a.period_end}
            for a in budget_apply.latest_merchant_allocations(session, merchant_id)
        ]
    return pl.DataFrame(rows, schema={"id": pl.Int64, "channel": pl.String, "allocated": pl.Float64, "spent": pl.Float64, "recommended": pl.Float64,
                                      "recommendation": pl.String, "period_start": pl.Date, "period_end": pl.Date})


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def budget_applies(source_key: str, merchant_id: str) -> list[budget_apply.RecommendationApply]:
    """The merchant's applied budget recommendations, newest first (the handles the Budget page undoes by)."""
    with session_scope(settings().store_url) as session:
        return budget_apply.list_recommendation_applies(session, merchant_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_budget(source_key: str, merchant_id: str, campaign_id: str) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """A campaign's current allocation per channel and its applied rebalances (newest first) as plain values."""
    with session_scope(settings().store_url) as session:
        current = budget_apply.current_allocations(session, merchant_id, campaign_id)
        history = [{"id": r.id, "applied_at": r.applied_at, "applied_by": r.applied_by, "changes": list(r.changes),
                    "predicted_gain": float(r.predicted_gain or 0), "undone_at": r.undone_at}
                   for r in budget_apply.list_rebalances(session, merchant_id, campaign_id)]
    return current, history


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def workflow_campaigns(source_key: str, merchant_id: str) -> list[tuple[str, str]]:
    """(campaign id, name) of the merchant's campaigns that have a workflow (Ava's plan and steps)."""
    with session_scope(settings().store_url) as session:
        rows = session.execute(
            select(Campaign.id, Campaign.name).where(
                Campaign.merchant_id == merchant_id,
                Campaign.id.in_(select(CampaignWorkflow.campaign_id).where(CampaignWorkflow.merchant_id == merchant_id)))
            .order_by(Campaign.name)
        ).all()
    return [(r.id, r.name) for r in rows]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def workflow_view(source_key: str, merchant_id: str, campaign_id: str) -> dict[str, Any]:
    """Ava's workflow of one campaign: its status (steps, escalations, usage), its plan, each step's config, and the
    campaign's contents still in DRAFT (what the page offers to approve or reject)."""
    from agents.ava import execution  # the planner's stack; only the Orchestration page pays for it
    from campaigns.workflows import engine as workflow

    with session_scope(settings().store_url) as session:
        status = execution.status(session, merchant_id, campaign_id)
        plan = workflow.workflow_plan(session, merchant_id, campaign_id)
        configs = {r.step_order: dict(r.config or {}) for r in session.scalars(select(CampaignWorkflow).where(
            CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id))}
        drafts = session.scalars(select(CampaignContent).where(
            CampaignContent.merchant_id == merchant_id, CampaignContent.campaign_id == campaign_id,
            CampaignContent.status == ContentStatus.DRAFT).order_by(CampaignContent.id))
        contents = [{"id": c.id, "channel": c.channel, "text": (c.title or c.body or "")[:100]} for c in drafts]
    return {"status": status, "plan": plan, "configs": configs, "drafts": contents}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def llm_usage(source_key: str, merchant_id: str) -> pl.DataFrame:
    """LLM calls, tokens and cost per campaign, costliest first."""
    with session_scope(settings().store_url) as session:
        rows = usage_by_campaign(session, merchant_id)
        names = dict(session.execute(select(Campaign.id, Campaign.name).where(Campaign.merchant_id == merchant_id)).all())
    return pl.DataFrame([{"campaign": names.get(r["campaign_id"], "(no campaign)") if r["campaign_id"] else "(no campaign)",
                          "id": r["campaign_id"] or "", "calls": r["calls"], "runs": r["runs"], "cost_usd": r["cost_usd"],
                          "input_tokens": r["input_tokens"], "output_tokens": r["output_tokens"],
                          "cache_read_tokens": r["cache_read_input_tokens"]} for r in rows],
                        schema={"campaign": pl.String, "id": pl.String, "calls": pl.Int64, "runs": pl.Int64, "cost_usd": pl.Float64,
                                "input_tokens": pl.Int64, "output_tokens": pl.Int64, "cache_read_tokens": pl.Int64})


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def channel_audiences(source_key: str, merchant_id: str, channels: tuple[str, ...], rules_json: str) -> list[Any]:
    """Who each channel reaches with the rules (canonical JSON): email segment size, social handles, an ads note."""
    with session_scope(settings().store_url) as session:
        return audiences_for(session, merchant_id, list(channels), json.loads(rules_json))


def next_best_slot(source_key: str, merchant_id: str, account_id: int) -> datetime:
    """The account's next best free slot from now (not cached: it moves with the clock and the queue). Raises ValueError
    when the next 7 days have none."""
    from campaigns.social.accounts import get_account  # the social queue and its publishers: only the Social page loads them

    s = settings()
    with session_scope(s.store_url) as session:
        return best_slot(s, session, merchant_id, get_account(session, merchant_id, account_id), datetime.now(UTC))[0].at


# --- email (the Email Designer's tabs) ---------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def email_templates(source_key: str, merchant_id: str) -> list[dict[str, Any]]:
    from campaigns.email.templates import list_templates  # the template engine and the email senders: only the Email Designer

    with session_scope(settings().store_url) as session:
        return [{"name": t.name, "html": t.html, "subject": t.subject, "category": t.category, "layout": t.layout}
                for t in list_templates(session, merchant_id)]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def preview_contacts(source_key: str, merchant_id: str, limit: int = 200) -> list[tuple[int, str]]:
    """(id, "First Last <email>") of the merchant's first contacts, to preview a template for."""
    with session_scope(settings().store_url) as session:
        rows = session.execute(select(Contact.id, Contact.first_name, Contact.last_name, Contact.email)
                               .where(Contact.merchant_id == merchant_id).order_by(Contact.id).limit(limit)).all()
    return [(r.id, f"{r.first_name} {r.last_name} <{r.email}>".strip()) for r in rows]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def merge_contact(source_key: str, merchant_id: str, contact_id: int) -> dict[str, Any] | None:
    """One contact's merge fields (first and last name, email, attributes)."""
    with session_scope(settings().store_url) as session:
        c = session.scalar(select(Contact).where(Contact.merchant_id == merchant_id, Contact.id == contact_id))
        if c is None:
            return None
        return {"first_name": c.first_name, "last_name": c.last_name, "email": c.email, "attributes": dict(c.attributes or {})}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def email_results(source_key: str, merchant_id: str) -> pl.DataFrame:
    """Each email campaign's delivery and engagement counts and rates, newest first."""
    with session_scope(settings().store_url) as session:
        rows = [r.to_dict() for r in results_of(session, merchant_id)]
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows).with_columns(pl.col("revenue").cast(pl.Float64))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def ab_tests(source_key: str, merchant_id: str) -> dict[int, str]:
    """{test id: "id: name (status)"}, newest first."""
    with session_scope(settings().store_url) as session:
        rows = session.execute(select(AbTest.id, AbTest.name, AbTest.status).where(AbTest.merchant_id == merchant_id).order_by(AbTest.id.desc()))
        return {r.id: f"{r.id}: {r.name} ({r.status})" for r in rows}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def ab_test_report(source_key: str, merchant_id: str, test_id: int) -> Any:
    """The test's report (`campaigns.email.ab_tests.AbReport`): each variant's interval and the decision."""
    from campaigns.email.ab_tests import report  # the A/B statistics load scipy (seconds): only a page showing a test pays for it

    with session_scope(settings().store_url) as session:
        return report(session, merchant_id, test_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def automations(source_key: str, merchant_id: str) -> list[dict[str, Any]]:
    """Each automation with its flow laid out for drawing and its per-step and enrollment counts; `problem` names an
    invalid definition (its flow is then empty)."""
    from campaigns.email import automations as auto  # with the email delivery stack: only the Email Designer loads it

    out = []
    with session_scope(settings().store_url) as session:
        for a in auto.list_automations(session, merchant_id):
            problem = ""
            try:
                nodes, edges = layout(auto.flow_of(a))
            except FlowError as exc:
                nodes, edges, problem = [], [], str(exc)
            out.append({"id": a.id, "name": a.name, "status": a.status, "trigger": a.trigger.get("type", ""),
                        "counts": auto.step_counts(session, merchant_id, a.id), "totals": auto.enrollment_counts(session, merchant_id, a.id),
                        "nodes": nodes, "edges": edges, "problem": problem})
    return out


# --- email broadcasts (the Email Designer's Broadcasts tab and the campaign page's Emails section) ---------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def email_broadcasts(source_key: str, merchant_id: str, campaign_id: str | None = None, every_kind: bool = False) -> list[dict[str, Any]]:
    """Broadcast emails, newest first (a campaign's own when `campaign_id` is given), with status, schedule and counts from the send
    ledger. The one read of emails with their results: `every_kind` adds the A/B tests' emails (for the campaign page)."""
    from campaigns.email.recipients import BROADCAST  # with the email delivery stack: only pages showing emails load it

    with session_scope(settings().store_url) as session:
        results = {r.email_campaign_id: r for r in results_of(session, merchant_id, campaign_id=campaign_id) if every_kind or r.kind == BROADCAST}
        extra = {row.id: row for row in session.execute(
            select(EmailCampaign.id, EmailCampaign.segment_id, EmailCampaign.scheduled_at, EmailCampaign.sent_at, EmailCampaign.send_window_hours)
            .where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.id.in_(list(results))))} if results else {}
    return [{"id": ec_id, "campaign_id": r.campaign_id, "subject": r.subject, "kind": r.kind, "status": r.status, "segment_id": extra[ec_id].segment_id,
             "scheduled_at": extra[ec_id].scheduled_at, "sent_at": extra[ec_id].sent_at, "send_window_hours": extra[ec_id].send_window_hours,
             "recipients": r.recipients, "sent": r.sent, "failed": r.failed, "suppressed": r.suppressed, "waiting": r.waiting, "opened": r.opened,
             "clicked": r.clicked}
            for ec_id, r in results.items()]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def broadcast_progress(source_key: str, merchant_id: str, email_campaign_id: int) -> dict[str, int]:
    """One email's recipients per status (queued, sent, failed, needs review, suppressed ...) and its engagement counts."""
    from campaigns.email.broadcasts import campaign_counts  # the email stack: see email_broadcasts
    from campaigns.email.results import engagement_counts

    with session_scope(settings().store_url) as session:
        return {**campaign_counts(session, merchant_id, email_campaign_id), **engagement_counts(session, merchant_id, email_campaign_id)}


@st.cache_data(ttl=10, show_spinner=False)
def audience_size(source_key: str, merchant_id: str, segment_id: int) -> dict[str, Any]:
    """How many contacts a broadcast to the segment would reach now: the send snapshot's own rule (`recipients.audience_size`).
    A short TTL: the number is shown as live."""
    from campaigns.email.recipients import audience_size as size_of  # the email stack: see email_broadcasts

    with session_scope(settings().store_url) as session:
        size = size_of(session, merchant_id, segment_id)
    return {"reachable": size.reachable, "total": size.total, "excluded": dict(size.excluded)}


# --- the caches of the store's reads -----------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def webhook_endpoints(source_key: str, merchant_id: str) -> list[dict[str, Any]]:
    with session_scope(settings().store_url) as session:
        rows = [endpoint_fields(e, datetime.now(UTC)) for e in list_endpoints(session, merchant_id)]
    return [{**row, "events": ", ".join(row["events"]), "disabled_reason": row["disabled_reason"] or ""} for row in rows]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def webhook_deliveries(source_key: str, merchant_id: str, status: str | None = None, limit: int = 200) -> pl.DataFrame:
    with session_scope(settings().store_url) as session:
        rows = [{"id": d.id, "event": e.type, "webhook_id": e.event_id, "endpoint": d.endpoint_id, "status": d.status, "attempts": d.attempts,
                 "http": d.last_status_code, "next_attempt_at": d.next_attempt_at if d.status == "PENDING" else None, "last_error": d.last_error or ""}
                for d, e in webhook_delivery_log(session, merchant_id, status=status, limit=limit)]
    return pl.DataFrame(rows, schema={"id": pl.Int64, "event": pl.String, "webhook_id": pl.String, "endpoint": pl.String, "status": pl.String,
                                      "attempts": pl.Int64, "http": pl.Int64, "next_attempt_at": pl.Datetime("us", "UTC"), "last_error": pl.String})


# --- access: members and the audit log (never cached: who may do what, and what happened, must be current) ------------
def members(source_key: str, merchant_id: str) -> list[dict[str, Any]]:
    with session_scope(settings().store_url) as session:
        return [{"email": m.email, "name": m.display_name, "role": m.role.value, "disabled": m.disabled}
                for m in access_users.members(session, merchant_id)]


def four_eyes_on(source_key: str, merchant_id: str) -> bool:
    with session_scope(settings().store_url) as session:
        return four_eyes(session, merchant_id)


def audit_entries(source_key: str, merchant_id: str, where: AuditFilter) -> list[dict[str, Any]]:
    with session_scope(settings().store_url) as session:
        return [{"id": e.id, "when": e.created_at, "actor": e.actor, "action": e.action, "entity": f"{e.entity_type} {e.entity_id}",
                 "details": json.dumps(e.details, ensure_ascii=False, sort_keys=True)} for e in audit_search(session, merchant_id, where)]


def audit_csv(source_key: str, merchant_id: str, where: AuditFilter) -> str:
    with session_scope(settings().store_url) as session:
        return audit_to_csv(audit_search(session, merchant_id, where))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def social_post_media(source_key: str, merchant_id: str, item_id: int) -> dict[str, Any]:
    """Text, media URLs, alt texts and video durations (read off the stored files) of one queued post, for its preview."""
    from campaigns.social.scheduling import get_item  # the social context and its media store: only the Social page loads them
    from campaigns.social.video import video_durations
    from campaigns.social.media_store import media_store

    s = settings()
    with session_scope(s.store_url) as session:
        item = get_item(session, merchant_id, item_id)
        text, media, alts = item.text or "", [str(u) for u in item.media or []], [str(a) for a in item.media_alt or []]
    return {"text": text, "media": media, "media_alt": alts, "durations": video_durations(media_store(s), media)}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def campaign_alerts(source_key: str, merchant_id: str, campaign_id: str | None = None) -> list[dict[str, Any]]:
    """The monitor's open and acknowledged alerts (one campaign's with `campaign_id`), newest first, with the campaign's name."""
    with session_scope(settings().store_url) as session:
        names = dict(session.execute(select(Campaign.id, Campaign.name).where(Campaign.merchant_id == merchant_id)).all())
        return [{"id": a.id, "campaign_id": a.campaign_id, "campaign": names.get(a.campaign_id, a.campaign_id), "kind": a.kind,
                 "severity": a.severity, "status": a.status, "message": a.message, "times_raised": a.times_raised,
                 "last_raised_at": a.last_raised_at, "acknowledged_by": a.acknowledged_by}
                for a in list_alerts(session, merchant_id, campaign_id)]


STORE_READS = (campaign_alerts, merchants, merchant_profile, campaigns, campaign_detail, social_accounts, saved_segments, segment_size, contact_count,
               contact_list, contact_page,
               problem_posts, awaiting_approval, awaiting_approval_count, store_campaign_totals, social_queue, account_heatmap, repurposed,
               latest_budget_allocations, budget_applies, campaign_budget, campaign_plan_vs_actual, campaign_posts, workflow_campaigns,
               workflow_view, llm_usage, channel_audiences, email_templates, preview_contacts, merge_contact, email_results, ab_tests, ab_test_report,
               automations, webhook_endpoints, webhook_deliveries,
               email_broadcasts, broadcast_progress, audience_size, social_post_media)


def clear_store_caches() -> None:
    """After the app writes to the store, so the next read shows the change."""
    for fn in STORE_READS:
        fn.clear()
