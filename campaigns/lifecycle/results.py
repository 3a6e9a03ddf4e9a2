"""A campaign's results, day by day and channel by channel, written back to the store from the marts.

`campaign_metrics` is what the campaign page's plan-vs-actual view and Ava's monitoring read:
spend, delivery, conversions and revenue under one attribution model (from
`campaign_performance_daily`), email sends, opens and clicks (from `email_engagement_daily`)
and the engagements of the campaign's own published posts (from `social_post_performance`, by
publish day). Each run replaces the days it covers, per merchant, in one transaction: running
it twice gives the same rows, and a day that changed upstream is rewritten whole.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from campaigns.core.store.models import Campaign, CampaignMetric

KEYS = ["merchant_id", "campaign_id", "channel", "date"]
MEASURES = {"impressions": pl.Int64, "clicks": pl.Int64, "conversions": pl.Float64, "spend": pl.Float64, "revenue": pl.Float64,
            "email_sends": pl.Int64, "email_opens": pl.Int64, "email_clicks": pl.Int64, "social_engagements": pl.Int64}
RESULT_SCHEMA = {"merchant_id": pl.String, "campaign_id": pl.String, "channel": pl.String, "date": pl.Date, **MEASURES}
EMAIL_CHANNEL = "email"


def daily_results(performance: pl.DataFrame, email: pl.DataFrame, social: pl.DataFrame, post_campaigns: dict[int, str]) -> pl.DataFrame:
    """One row per merchant × campaign × channel × day with every measure (0 where a source has nothing).

    `performance`: campaign_performance_daily; `email`: email_engagement_daily; `social`:
    social_post_performance; `post_campaigns`: queue item id → campaign id (the store knows
    which campaign a published post belongs to; the platform does not).
    """
    parts = []
    if performance.height:
        parts.append(performance.filter(pl.col("campaign_id").is_not_null()).select(
            "merchant_id", "campaign_id", "channel", pl.col("activity_date").cast(pl.Date).alias("date"),
            *(pl.col(c) for c in ("impressions", "clicks", "conversions", "spend", "revenue"))))
    if email.height:
        kinds = email.filter(pl.col("campaign_id").is_not_null()).with_columns(pl.col("event_date").cast(pl.Date).alias("date"))
        parts.append(kinds.group_by("merchant_id", "campaign_id", "date").agg(
            pl.col("events").filter(pl.col("event_type") == "sent").sum().alias("email_sends"),
            pl.col("contacts").filter(pl.col("event_type") == "opened").sum().alias("email_opens"),
            pl.col("contacts").filter(pl.col("event_type") == "clicked").sum().alias("email_clicks"),
        ).with_columns(pl.lit(EMAIL_CHANNEL).alias("channel")))
    if social.height and post_campaigns:
        mapping = pl.DataFrame({"queue_item_id": list(post_campaigns), "campaign_id": list(post_campaigns.values())},
                               schema={"queue_item_id": pl.Int64, "campaign_id": pl.String})
        posts = social.with_columns(pl.col("queue_item_id").cast(pl.Int64)).join(mapping, on="queue_item_id", how="inner")
        parts.append(posts.group_by("merchant_id", "campaign_id", pl.col("platform").alias("channel"),
                                    pl.col("published_date").cast(pl.Date).alias("date"))
                     .agg(pl.col("engagements").sum().alias("social_engagements")))
    if not parts:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    stacked = pl.concat([p.with_columns(*(pl.lit(None, dtype).alias(c) for c, dtype in MEASURES.items() if c not in p.columns))
                         .select(*KEYS, *MEASURES).cast(RESULT_SCHEMA) for p in parts], how="vertical")
    return (stacked.group_by(KEYS).agg(*(pl.col(c).sum() for c in MEASURES))
            .with_columns(*(pl.col(c).fill_null(0) for c in MEASURES)).cast(RESULT_SCHEMA).sort(KEYS))


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def replace_results(session: Session, results: pl.DataFrame, attribution_model: str) -> int:
    """Replace each merchant's rows for the days `results` covers (the caller's transaction); returns rows written.

    Rows of campaigns the store does not know (a warehouse import naming a campaign that was never
    created, or was deleted) are left out: the store's campaign is the one results come back to.
    """
    written = 0
    for (merchant_id,), rows in results.group_by(["merchant_id"], maintain_order=True):
        known = set(session.scalars(select(Campaign.id).where(Campaign.merchant_id == merchant_id)))
        rows = rows.filter(pl.col("campaign_id").is_in(list(known)))
        days: list[date] = rows["date"].unique().to_list()
        session.execute(delete(CampaignMetric).where(CampaignMetric.merchant_id == merchant_id, CampaignMetric.date.in_(days)))
        for r in rows.iter_rows(named=True):
            spend, revenue, conversions = _money(r["spend"]), _money(r["revenue"]), r["conversions"]
            session.add(CampaignMetric(
                merchant_id=merchant_id, campaign_id=r["campaign_id"], channel=r["channel"][:30], date=r["date"], attribution_model=attribution_model,
                impressions=r["impressions"], clicks=r["clicks"], conversions=round(conversions), spend=spend, revenue=revenue,
                roas=(revenue / spend).quantize(Decimal("0.0001"), ROUND_HALF_UP) if spend > 0 else None,
                cpa=_money(float(spend) / conversions) if conversions > 0 else None,
                email_sends=r["email_sends"], email_opens=r["email_opens"], email_clicks=r["email_clicks"], social_engagements=r["social_engagements"],
            ))
            written += 1
    session.flush()
    return written


def spend_to_date(session: Session, merchant_id: str) -> dict[str, dict[str, Decimal]]:
    """Campaign id → channel → spend over all its results, and each campaign's `spent` set to its total.

    The budget context sets its allocations' `spent` from the same figures, so the campaign page's
    plan-vs-actual reads one truth.
    """
    totals: dict[str, dict[str, Decimal]] = {}
    rows = session.execute(select(CampaignMetric.campaign_id, CampaignMetric.channel, func.sum(CampaignMetric.spend))
                           .where(CampaignMetric.merchant_id == merchant_id).group_by(CampaignMetric.campaign_id, CampaignMetric.channel))
    for campaign_id, channel, spend in rows:
        totals.setdefault(campaign_id, {})[channel] = Decimal(spend or 0).quantize(Decimal("0.01"))
    for campaign in session.scalars(select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id.in_(list(totals)))):
        campaign.spent = sum(totals[campaign.id].values(), Decimal("0"))
    return totals
