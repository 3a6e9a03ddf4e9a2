"""What each workflow step of Ava's plans does when it runs (`campaigns.workflows.engine` runs them; `HANDLERS` is how they reach it).

A handler returns an `Outcome` (done, waiting, skipped) or raises: `NeedsPerson` sends the
step straight to a person (FAILED, audited ``workflow.escalate``), any other exception is
retried with backoff up to the step's ``max_attempts`` and then escalated. Handlers write
only to the store, inside the step's transaction, so a step's effects and its DONE commit
together or not at all. The one slow call (a live model in ``generate_content``) happens in
`prepare`, before the transaction opens.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from agents.ava.allocation import allocate
from agents.ava.models import PlanHistory
from agents.leo.ads_export import export_ads, write_ads_files
from agents.leo.outputs import Output
from agents.leo.repurpose import repurpose
from agents.leo.store import save_outputs
from agents.leo.voice import BrandVoice
from agents.settings import AgentSettings
from agents.source import parse_post
from agents.usage import persist
from campaigns.budget.apply import write_campaign_recommendation
from campaigns.audiences.segments import list_segments
from campaigns.content.approvals import NotApprovedError, content_is_approved
from campaigns.core.audit import record
from campaigns.core.enums import CampaignType, ContentStatus, EmailCampaignStatus, QueueStatus
from campaigns.core.private import private_dir
from campaigns.core.settings import get_settings
from campaigns.core.store.models import CampaignContent, CampaignMetric, CampaignWorkflow, SocialAccount, SocialQueueItem
from campaigns.core.settings import get_settings
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.from_draft import email_from_draft
from campaigns.email.scheduling import schedule_broadcast
from campaigns.email.template_engine import has_content_slot
from campaigns.email.templates import list_templates
from campaigns.lifecycle.alerts import ROAS_DROP_THRESHOLD, record_monitoring, roas_drop
from campaigns.lifecycle.service import facts_of, get_campaign, transition
from campaigns.lifecycle.states import explain_refusal
from campaigns.social.accounts import QueueError
from campaigns.social.campaign_content import store_chosen_image
from campaigns.social.scheduling import enqueue_content
from campaigns.workflows.models import Handler, NeedsPerson, Outcome, StepContext

SOCIAL = ("x", "linkedin", "facebook", "instagram")
REBALANCE_TRIGGERS = ("under_pacing", "over_pacing", "roas_below_target", "roas_drop", "kpi_behind")
# plans made before the ROAS-drop contingency existed get it at the monitor
ROAS_DROP_CONTINGENCY = {"trigger": "roas_drop", "condition": {"metric": "roas_drop", "op": ">=", "threshold": ROAS_DROP_THRESHOLD, "min_spend_share": 0.1},
                         "action": "move budget from the channels whose return fell the most; check creative fatigue and tracking", "automatic": "rebalance"}


def _contents(ctx: StepContext) -> list[CampaignContent]:
    return list(ctx.session.scalars(select(CampaignContent).where(
        CampaignContent.merchant_id == ctx.merchant_id, CampaignContent.campaign_id == ctx.campaign_id).order_by(CampaignContent.id)))


def _format_map(ctx: StepContext) -> dict[int, tuple[str, int]]:
    generate = ctx.step_of_type("generate_content")
    rows = (generate.result or {}).get("contents", []) if generate else []
    return {int(r["content_id"]): (r["format"], int(r["variant"])) for r in rows if r.get("content_id")}


# --------------------------------------------------------------------------- generate_content


def prepare_generate(step: CampaignWorkflow, settings: AgentSettings) -> Any:
    config = step.config or {}
    if config.get("content_from_plan") or not config.get("source_markdown"):
        return None

    source = parse_post(config["source_markdown"], filename=config.get("source_name"), max_bytes=settings.max_source_bytes,
                        max_chars=settings.max_source_chars)
    return repurpose(source, config.get("formats") or ["x", "linkedin", "facebook", "instagram", "email", "ads"],
                     int(config.get("variations", 2)), campaign_id=step.campaign_id, settings=settings,
                     voice=BrandVoice.from_dict(settings.brand_voice, config.get("brand_voice")))


def run_generate(ctx: StepContext) -> Outcome:

    config = ctx.step.config or {}
    if config.get("content_from_plan"):
        content = ctx.plan().get("content") or {}
        outputs = [Output.model_validate({k: v for k, v in o.items() if k in Output.model_fields}) for o in content.get("outputs", [])]
        source = content.get("source", {})
        title, url, source_hash, engine = source.get("title", ""), source.get("url"), source.get("source_hash", ""), content.get("engine", "offline")
    elif ctx.prepared is not None:
        result = ctx.prepared
        outputs, engine = result.outputs, result.engine
        title, url, source_hash = result.source.title, result.source.url, result.source.source_hash
        persist(ctx.session, ctx.merchant_id, result.usage, actor="ava", purpose="generate_content", campaign_id=ctx.campaign_id)
    else:
        return Outcome("skipped", {"reason": "no post to repurpose; add drafts to the campaign yourself"})
    if not outputs:
        return Outcome("skipped", {"reason": "the plan holds no content"})
    saved = save_outputs(ctx.session, ctx.merchant_id, outputs, source_title=title, source_url=url, source_hash=source_hash or "-",
                         engine=engine, actor="ava", campaign_id=ctx.campaign_id)
    return Outcome("done", {"engine": engine, "contents": [
        {"format": s.format, "variant": s.variant, "content_id": s.content_id, "repurposed_id": s.repurposed_id} for s in saved]})


# --------------------------------------------------------------------------- await_approval


def run_await_approval(ctx: StepContext) -> Outcome:

    contents = [c for c in _contents(ctx) if c.status is not ContentStatus.PUBLISHED]
    if not contents:
        return Outcome("done", {"approved": [], "note": "no content to approve"})
    approved = [c.id for c in contents if c.status is not ContentStatus.REJECTED and content_is_approved(ctx.session, ctx.merchant_id, c)]
    rejected = [c.id for c in contents if c.status is ContentStatus.REJECTED]
    pending = [c.id for c in contents if c.id not in approved and c.id not in rejected]
    if not pending:
        if approved:
            return Outcome("done", {"approved": approved, "rejected": rejected})
        raise NeedsPerson(f"every draft of {ctx.campaign_id} was rejected: add or generate new content, "
                          f"then `campaigns workflow retry {ctx.campaign_id} {ctx.step.step_order}`")
    result = {"approved": approved, "rejected": rejected, "waiting_for": pending}
    if (ctx.step.result or {}).get("escalated_at"):
        result["escalated_at"] = ctx.step.result["escalated_at"]
    deadline = (ctx.step.config or {}).get("escalate_after")
    if deadline and ctx.now >= datetime.fromisoformat(deadline) and not result.get("escalated_at"):
        record(ctx.session, ctx.merchant_id, "ava", "workflow.escalate", "campaign_workflow", ctx.campaign_id, step=ctx.step.step_order,
               trigger="approval_overdue", reason=f"{len(pending)} draft(s) still unapproved at the start of the flight", content_ids=pending,
               fix="approve them with `campaigns approve CONTENT_ID`")
        result["escalated_at"] = ctx.now.isoformat()
    return Outcome("waiting", result)


# --------------------------------------------------------------------------- schedule


def _next_good(at: datetime, now: datetime, end: datetime) -> datetime:
    """A slot whose time has passed moves to the same hour on the next day, else to a quarter of an hour from now."""
    while at < now:
        at += timedelta(days=1)
    return at if at < end else now + timedelta(minutes=15)


def _email_target(ctx: StepContext) -> tuple[int, str]:
    """(segment id, template name) of the campaign's emails: the step's settings, else the campaign's audience and a template
    with a content slot (Article first). Raises EmailDeliveryError naming the fix."""
    config = ctx.step.config or {}
    fix = f"`campaigns workflow edit {ctx.campaign_id} {ctx.step.step_order} --set email_segment=ID`"
    segments = list_segments(ctx.session, ctx.merchant_id)
    wanted = config.get("email_segment")
    if wanted is None:
        audience = get_campaign(ctx.session, ctx.merchant_id, ctx.campaign_id).target_audience or {}
        names = [audience.get("segment_name"), *(audience.get("segments") or []), *(ctx.plan().get("segments") or [])]
        wanted = audience.get("segment_id") or next((n for n in names if n and any(s.name == n for s in segments)), None)
    segment = next((s for s in segments if str(s.id) == str(wanted) or s.name == wanted), None) if wanted is not None else None
    if segment is None:
        what = f"segment {wanted!r} does not exist" if wanted is not None else "the campaign names no saved segment to email"
        raise EmailDeliveryError(f"{what}: save one on the Audiences page, then set it with {fix}")
    name = config.get("email_template")
    if name is None:
        fitting = sorted((t.name for t in list_templates(ctx.session, ctx.merchant_id) if has_content_slot(t.html)), key=lambda n: (n != "Article", n))
        if not fitting:
            raise EmailDeliveryError("no email template has a {{ content }} slot for the draft's body: `campaigns email templates install-starters` "
                                     f"adds Article, or set one with `campaigns workflow edit {ctx.campaign_id} {ctx.step.step_order} --set email_template=NAME`")
        name = fitting[0]
    return segment.id, name


def _export_ads(ctx: StepContext) -> dict[str, Any]:
    """The campaign's approved ads copy as the two import files under the home's exports folder (rewritten on every run)."""
    report = export_ads(ctx.session, ctx.merchant_id, ctx.campaign_id)
    result: dict[str, Any] = {"exported": report.exported, "skipped": {str(k): v for k, v in report.skipped.items()}}
    if report.exported:
        folder = private_dir(get_settings().home_path / "exports" / "ads" / ctx.merchant_id / ctx.campaign_id)
        google, meta = write_ads_files(report, folder)
        result["files"] = [str(google), str(meta)]
    return result


def run_schedule(ctx: StepContext) -> Outcome:
    """Queue every approved post at its slot, make each approved email an email campaign scheduled at its slot, write the approved
    ads copy as the ad platforms' import files; what cannot go out yet waits for a person (the step stays WAITING)."""

    start, end = ctx.flight()
    slots = list((ctx.step.config or {}).get("slots") or [])
    used: set[int] = set()
    formats = _format_map(ctx)
    contents = [c for c in _contents(ctx) if c.status not in (ContentStatus.REJECTED, ContentStatus.PUBLISHED)]
    queued, email, ads, unqueued = [], [], [], []
    # emails this step made but has not scheduled yet, their approval pending (four-eyes): it schedules them once approved
    held = {u["email_campaign_id"] for u in (ctx.step.result or {}).get("unqueued", []) if u.get("held")}
    for content in contents:
        fmt, variant = formats.get(content.id, (content.platform or ("ads" if content.content_type == "ad" else content.channel), 0))
        if not content_is_approved(ctx.session, ctx.merchant_id, content):
            # edited after its approval (an image attached, a word changed): the new version needs its own
            unqueued.append({"content_id": content.id, "platform": fmt,
                             "reason": f"not approved in its current version: `campaigns approve cc-{content.id}`"})
            continue
        index = next((i for i, s in enumerate(slots) if i not in used and s["format"] == fmt and int(s["variant"]) == variant), None)
        if index is None:
            index = next((i for i, s in enumerate(slots) if i not in used and s["format"] == fmt), None)
        slot_at = datetime.fromisoformat(slots[index]["at"]) if index is not None else start
        if index is not None:
            used.add(index)
        at = start if fmt == "ads" else _next_good(max(slot_at, start), ctx.now, end)
        if fmt in SOCIAL:
            account = ctx.session.scalar(select(SocialAccount).where(
                SocialAccount.merchant_id == ctx.merchant_id, SocialAccount.platform == fmt, SocialAccount.status == "ACTIVE").order_by(SocialAccount.id))
            if account is None:
                unqueued.append({"content_id": content.id, "platform": fmt,
                                 "reason": f"no active {fmt} account: connect one with `campaigns accounts add`"})
                continue
            try:
                if content.media_choice and not content.media:  # the post's image Leo chose, approved with the draft
                    store_chosen_image(get_settings(), ctx.session, ctx.merchant_id, content, fmt, actor="ava")
                item = enqueue_content(ctx.session, ctx.merchant_id, content.id, account_id=account.id, scheduled_at=at, actor="ava",
                                       idempotency_key=f"wf-{ctx.campaign_id}-{content.id}"[:80]).item
            except QueueError as exc:
                unqueued.append({"content_id": content.id, "platform": fmt, "reason": str(exc)})
                continue
            content.scheduled_at = item.scheduled_at
            queued.append({"content_id": content.id, "queue_item_id": item.id, "platform": fmt, "at": item.scheduled_at.isoformat()})
        elif fmt == "email":
            made = None
            try:
                segment_id, template = _email_target(ctx)
                made = email_from_draft(ctx.session, ctx.merchant_id, content.id, segment_id=segment_id, template_name=template, actor="ava",
                                        at=at, now=ctx.now)
                ec, note = made.email_campaign, made.note
                if not made.created and ec.id in held and ec.status is EmailCampaignStatus.DRAFT and not made.approval_pending:
                    schedule_broadcast(ctx.session, ctx.merchant_id, ec.id, at, "ava", now=ctx.now)  # approved since this step held it
                    note = f"email campaign {ec.id} was approved since it was made; scheduled for {at:%Y-%m-%d %H:%M} UTC"
            except (EmailDeliveryError, NotApprovedError, LookupError) as exc:
                keep = {"email_campaign_id": made.email_campaign.id, "held": True} if made is not None and made.email_campaign.id in held else {}
                unqueued.append({"content_id": content.id, "platform": fmt, "reason": str(exc), **keep})
                continue
            if made.approval_pending:
                unqueued.append({"content_id": content.id, "platform": fmt, "email_campaign_id": ec.id, "held": True,
                                 "reason": f"email campaign {ec.id} waits for another person's approval (four-eyes rule): "
                                           f"`campaigns email approve --campaign {ec.id}`; this step then schedules it"})
                continue
            content.scheduled_at = ec.scheduled_at or at
            email.append({"content_id": content.id, "email_campaign_id": ec.id, "status": ec.status.value,
                          "at": (ec.scheduled_at or at).isoformat(), "note": note})
        else:
            content.scheduled_at = start
            ads.append({"content_id": content.id, "flight": [start.isoformat(), end.isoformat()]})
    ads_export = _export_ads(ctx) if ads else None
    if ads_export is not None:
        for row in ads:
            row["note"] = (f"in the import files {', '.join(ads_export['files'])}: load them into Google Ads Editor and Meta Ads Manager for the flight"
                           if ads_export.get("files") else "no approved ads copy to export yet")
    campaign = get_campaign(ctx.session, ctx.merchant_id, ctx.campaign_id)
    status_note = None
    if (queued or email or ads) and explain_refusal("schedule", facts_of(campaign)) is None:
        transition(ctx.session, ctx.merchant_id, ctx.campaign_id, "schedule", "ava")
        status_note = "campaign moved to SCHEDULED"
    result: dict[str, Any] = {"queued": queued, "email": email, "ads": ads, "ads_export": ads_export, "unqueued": unqueued, "campaign": status_note}
    if not unqueued:
        return Outcome("done", result)
    if (ctx.step.result or {}).get("escalated_at"):
        result["escalated_at"] = ctx.step.result["escalated_at"]
    else:
        record(ctx.session, ctx.merchant_id, "ava", "workflow.escalate", "campaign_workflow", ctx.campaign_id, step=ctx.step.step_order,
               trigger="cannot_queue", reason="; ".join(f"content {u['content_id']} ({u['platform']}): {u['reason']}" for u in unqueued)[:1000],
               fix=f"fix them (the step tries again on every run), or `campaigns workflow skip {ctx.campaign_id} {ctx.step.step_order}`")
        result["escalated_at"] = ctx.now.isoformat()
    return Outcome("waiting", result)


# --------------------------------------------------------------------------- publish


def run_publish(ctx: StepContext) -> Outcome:
    items = list(ctx.session.scalars(select(SocialQueueItem).where(
        SocialQueueItem.merchant_id == ctx.merchant_id, SocialQueueItem.campaign_id == ctx.campaign_id)))
    if not items:
        return Outcome("done", {"note": "nothing was queued for publishing"})
    failed = [i.id for i in items if i.status in (QueueStatus.FAILED, QueueStatus.NEEDS_REVIEW)]
    if failed:
        raise NeedsPerson(f"{len(failed)} post(s) failed or need review (queue items {', '.join(map(str, failed))}): resolve them in the "
                          f"social queue, then `campaigns workflow retry {ctx.campaign_id} {ctx.step.step_order}`")
    published = [i.id for i in items if i.status is QueueStatus.PUBLISHED]
    if len(published) == len(items):
        return Outcome("done", {"published": published})
    return Outcome("waiting", {"published": published, "waiting_for": [i.id for i in items if i.id not in published]})


# --------------------------------------------------------------------------- monitor


def campaign_metrics(ctx: StepContext) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    columns = (CampaignMetric.spend, CampaignMetric.revenue, CampaignMetric.conversions, CampaignMetric.clicks, CampaignMetric.impressions,
               CampaignMetric.social_engagements, CampaignMetric.email_clicks)
    names = ("spend", "revenue", "conversions", "clicks", "impressions", "social_engagements", "email_clicks")
    where = (CampaignMetric.merchant_id == ctx.merchant_id, CampaignMetric.campaign_id == ctx.campaign_id, CampaignMetric.date <= ctx.now.date())
    total_row = ctx.session.execute(select(*(func.coalesce(func.sum(c), 0) for c in columns)).where(*where)).one()
    totals = {n: float(v or 0) for n, v in zip(names, total_row)}
    by_channel: dict[str, dict[str, float]] = {}
    for row in ctx.session.execute(select(CampaignMetric.channel, *(func.coalesce(func.sum(c), 0) for c in columns)).where(*where).group_by(CampaignMetric.channel)):
        by_channel[row[0]] = {n: float(v or 0) for n, v in zip(names, row[1:])}
    return totals, by_channel


def daily_return(ctx: StepContext) -> list[tuple[date, float, float]]:
    """(day, spend, revenue) of the campaign over all channels, from campaign_metrics."""
    rows = ctx.session.execute(select(CampaignMetric.date, func.coalesce(func.sum(CampaignMetric.spend), 0), func.coalesce(func.sum(CampaignMetric.revenue), 0))
                               .where(CampaignMetric.merchant_id == ctx.merchant_id, CampaignMetric.campaign_id == ctx.campaign_id,
                                      CampaignMetric.date <= ctx.now.date()).group_by(CampaignMetric.date))
    return [(day, float(spend), float(revenue)) for day, spend, revenue in rows]


def _compare(value: float, op: str, threshold: float) -> bool:
    return {"<": value < threshold, ">": value > threshold, ">=": value >= threshold, "<=": value <= threshold}[op]


def run_monitor(ctx: StepContext) -> Outcome:
    plan = ctx.plan()
    start, end = ctx.flight()
    share = min(max((ctx.now - start) / (end - start), 0.0), 1.0) if end > start else 1.0
    totals, by_channel = campaign_metrics(ctx)
    budget = float(plan.get("budget", 0) or 0)
    planned_spend = budget * share
    kpi = plan.get("kpi", "conversions")
    expected = float((plan.get("prediction") or {}).get("expected") or 0)
    spend = totals["spend"]
    # engagements: people acting on the campaign anywhere (ad clicks, post likes/shares/comments/clicks, email clicks)
    engagements = totals["clicks"] + totals["social_engagements"] + totals["email_clicks"]
    kpi_value = totals["revenue"] / spend if kpi == "roas" and spend else engagements if kpi == "engagements" else totals.get(kpi, 0.0)
    planned_kpi = expected if kpi == "roas" else expected * share
    failed_posts = ctx.session.scalar(select(func.count()).select_from(SocialQueueItem).where(
        SocialQueueItem.merchant_id == ctx.merchant_id, SocialQueueItem.campaign_id == ctx.campaign_id,
        SocialQueueItem.status.in_([QueueStatus.FAILED, QueueStatus.NEEDS_REVIEW]))) or 0
    drafts = sum(1 for c in _contents(ctx) if c.status is ContentStatus.DRAFT) if ctx.now >= start else 0
    drop = roas_drop(daily_return(ctx), ctx.now.date())
    values = {
        "roas_drop": drop.drop if drop else None,
        "spend_vs_plan": spend / planned_spend if planned_spend > 0 else None,
        "roas": totals["revenue"] / spend if spend > 0 else None,
        "kpi_vs_plan": kpi_value / planned_kpi if planned_kpi > 0 else None,
        "failed_posts": float(failed_posts),
        "unapproved_drafts_at_start": float(drafts),
    }
    triggered = []
    contingencies = list(plan.get("contingencies", []))
    if not any(c["trigger"] == "roas_drop" for c in contingencies):
        contingencies.append(ROAS_DROP_CONTINGENCY)
    for contingency in contingencies:
        condition = contingency["condition"]
        value = values.get(condition["metric"])
        if value is None or share < condition.get("after_share_of_flight", 0.0):
            continue
        if budget and spend < budget * condition.get("min_spend_share", 0.0):
            continue
        if _compare(value, condition["op"], float(condition["threshold"])):
            triggered.append({"trigger": contingency["trigger"], "value": round(value, 4), "threshold": condition["threshold"],
                              "action": contingency["action"], "automatic": contingency["automatic"]})
    for t in triggered:
        record(ctx.session, ctx.merchant_id, "ava", "workflow.contingency", "campaign_workflow", ctx.campaign_id, step=ctx.step.step_order,
               trigger=t["trigger"], value=t["value"], threshold=t["threshold"], response=t["action"], automatic=t["automatic"])
        if t["automatic"] == "escalate":
            record(ctx.session, ctx.merchant_id, "ava", "workflow.escalate", "campaign_workflow", ctx.campaign_id, step=ctx.step.step_order,
                   trigger=t["trigger"], reason=t["action"])
    # alerts for the app's Overview and campaign page: one per campaign and trigger, updated by later runs, resolved when cleared
    record_monitoring(ctx.session, ctx.merchant_id, ctx.campaign_id, triggered, ctx.now, actor="ava")
    metrics = {**totals, "share_of_flight": round(share, 4), "planned_spend": round(planned_spend, 2), "kpi": kpi, "kpi_value": kpi_value,
               "planned_kpi": round(planned_kpi, 2), **{k: (round(v, 4) if v is not None else None) for k, v in values.items()}}
    return Outcome("done", {"metrics": metrics, "by_channel": by_channel, "triggered": triggered, "final": bool((ctx.step.config or {}).get("final"))})


# --------------------------------------------------------------------------- rebalance


def run_rebalance(ctx: StepContext) -> Outcome:
    from campaigns.budget.planning import split_by_return  # loads the optimizer (numpy, scipy): only when a rebalance runs

    depends = (ctx.step.config or {}).get("depends_on") or []
    monitor = next((s for s in ctx.steps() if s.step_order in depends and s.step_type == "monitor"), None)
    fired = [t for t in ((monitor.result or {}).get("triggered", []) if monitor else []) if t["trigger"] in REBALANCE_TRIGGERS]
    if not fired:
        return Outcome("done", {"rebalanced": False, "reason": "no pacing, return or KPI trigger fired at the monitor"})
    plan = ctx.plan()
    start, end = ctx.flight()
    totals, by_channel = campaign_metrics(ctx)
    budget = Decimal(str(plan.get("budget", "0")))
    spent = Decimal(str(round(totals["spend"], 2)))
    remaining = (budget - spent).quantize(Decimal("0.01"))
    if remaining <= 0:
        return Outcome("done", {"rebalanced": False, "reason": f"the budget is spent ({spent} of {budget})"})
    items = (plan.get("budget_allocation") or {}).get("items", [])
    channels = [i["channel"] for i in items]
    days_left = max((end.date() - ctx.now.date()).days, 1)
    history = PlanHistory.model_validate(plan.get("history") or {})
    spend_revenue = {c: (m["spend"], m["revenue"]) for c, m in by_channel.items()}
    if history.curves:
        budget_plan, _ = allocate(remaining, channels, CampaignType(plan["goal"]["type"]), history, days_left, plan.get("currency", "USD"))
        amounts = {i.channel: i.amount for i in budget_plan.items}
        basis = budget_plan.explanation
    else:
        amounts = split_by_return(remaining, {i["channel"]: float(i["share"]) for i in items}, spend_revenue)
        basis = "planned shares weighted by each channel's observed return (between half and double)"
    triggers = [t["trigger"] for t in fired]
    written = write_campaign_recommendation(
        ctx.session, ctx.merchant_id, ctx.campaign_id, "ava",
        recommended={c: amounts[c] for c in channels},
        planned={i["channel"]: Decimal(str(i["amount"])) for i in items},
        spend_revenue=spend_revenue,
        texts={c: f"Ava after {', '.join(triggers)}: {amounts[c]} of the remaining {remaining} ({basis})" for c in channels},
        period=(date.fromisoformat(plan["start"]), date.fromisoformat(plan["end"])),
        remaining=str(remaining), triggers=triggers,
    )
    return Outcome("done", {"rebalanced": True, "remaining": str(remaining), "triggers": triggers, "recommendation": written,
                            "note": "a recommendation: a person applies it in the app"})


HANDLERS: dict[str, Handler] = {
    "generate_content": Handler(run_generate, prepare_generate),
    "await_approval": Handler(run_await_approval),
    "schedule": Handler(run_schedule),
    "publish": Handler(run_publish),
    "monitor": Handler(run_monitor),
    "rebalance": Handler(run_rebalance),
}

EDITABLE_CONFIG: dict[str, set[str]] = {
    "generate_content": {"formats", "variations"},
    "await_approval": {"escalate_after"},
    "schedule": {"slots", "email_segment", "email_template"},
    "publish": set(),
    "monitor": {"final"},
    "rebalance": set(),
}
COMMON_EDITABLE = {"due_at", "max_attempts"}

__all__ = ["HANDLERS", "Handler", "NeedsPerson", "Outcome", "StepContext"]
