"""The budget in the store: recommendations written to budget_allocations, and the audited apply and undo.

Two levels, one rule: an apply records what each allocation was and became, and an undo restores
it only if no allocation changed since (otherwise it refuses, naming the channel).
  campaign   `apply_plan` / `undo_rebalance` / `list_rebalances`: a RebalancePlan applied to a
             campaign's latest allocation per channel, recorded as a budget_rebalances row
             (audit `budget.rebalance` / `budget.rebalance_undo`).
  merchant   `apply_recommendation` / `undo_recommendation` / `list_recommendation_applies`: the
             budget asset's recommendation applied to the merchant's campaign-less allocations,
             recorded as an audit entry (`budget.apply` / `budget.undo`) whose id is the handle.
Every function takes a session and never commits: the caller's session_scope is the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campaigns.budget.curves import WINDOW_DAYS
from campaigns.budget.errors import RebalanceError
from campaigns.budget.models import PERIOD_DAYS, RebalancePlan
from campaigns.core.audit import record
from campaigns.core.outbox import emit
from campaigns.core.store.models import AuditLog, BudgetAllocation, BudgetRebalance, Campaign, Merchant

APPLY_ACTION, UNDO_ACTION = "budget.rebalance", "budget.rebalance_undo"
MERCHANT_APPLY_ACTION, MERCHANT_UNDO_ACTION = "budget.apply", "budget.undo"
TOLERANCE = Decimal("0.01")  # money columns hold cents: a row "unchanged" within a cent


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- recommendations -----------------------------------------------------------------------------


def write_recommendations(session: Session, table: pl.DataFrame, texts: Mapping[str, list[str]], today: date) -> int:
    """Replace this period's merchant recommendation rows (campaign-less, per channel) in budget_allocations.

    `table` holds the rows of marts.budget_recommendations (daily amounts); rows are stored per PERIOD_DAYS.
    """
    start = today - timedelta(days=WINDOW_DAYS)
    known = set(session.scalars(select(Merchant.id)))
    written = 0
    for (merchant,), group in table.group_by(["merchant_id"], maintain_order=True):
        if merchant not in known:
            continue
        session.execute(delete(BudgetAllocation).where(BudgetAllocation.merchant_id == merchant, BudgetAllocation.campaign_id.is_(None),
                                                       BudgetAllocation.period_end == today))
        summary = "; ".join(texts.get(merchant, []))
        for r in group.iter_rows(named=True):
            current = r["current_daily_spend"] * PERIOD_DAYS
            session.add(BudgetAllocation(
                merchant_id=merchant, campaign_id=None, channel=r["channel"], allocated=Decimal(f"{current:.2f}"),
                spent=Decimal(f"{r['current_daily_spend'] * WINDOW_DAYS:.2f}"), roi=None,
                recommended_allocation=Decimal(f"{r['recommended_daily_spend'] * PERIOD_DAYS:.2f}"), recommendation=summary,
                period_start=start, period_end=today,
            ))
            written += 1
        record(session, merchant, "optimizer", "budget.recommend", "merchant", merchant, moves=texts.get(merchant, []))
    return written


def write_campaign_recommendation(session: Session, merchant_id: str, campaign_id: str, actor: str, *,
                                  recommended: Mapping[str, Decimal], planned: Mapping[str, Decimal],
                                  spend_revenue: Mapping[str, tuple[float, float]], texts: Mapping[str, str],
                                  period: tuple[date, date], **details: Any) -> list[dict[str, Any]]:
    """Store a recommended split of a campaign's budget on its allocation rows (creating a row at the planned amount for a channel
    without one), audited as `budget.recommendation`; a person applies it. Returns what was written per channel."""
    written = []
    for c, amount in recommended.items():
        spend, revenue = spend_revenue.get(c, (0.0, 0.0))
        spent = Decimal(str(round(spend, 2)))
        roi = revenue / spend if spend > 0 else None
        row = session.scalar(select(BudgetAllocation).where(
            BudgetAllocation.merchant_id == merchant_id, BudgetAllocation.campaign_id == campaign_id, BudgetAllocation.channel == c))
        if row is None:
            row = BudgetAllocation(merchant_id=merchant_id, campaign_id=campaign_id, channel=c, allocated=planned[c],
                                   period_start=period[0], period_end=period[1])
            session.add(row)
        row.spent, row.roi, row.recommended_allocation, row.recommendation = spent, roi, amount, texts[c]
        written.append({"channel": c, "recommended": str(amount), "spent": str(spent), "roi": roi})
    record(session, merchant_id, actor, "budget.recommendation", "campaign", campaign_id, **details,
           recommendation={w["channel"]: w["recommended"] for w in written})
    return written


# --- campaign level ------------------------------------------------------------------------------


def require_campaign(session: Session, merchant_id: str, campaign_id: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.merchant_id == merchant_id))
    if campaign is None:
        known = session.scalars(select(Campaign.id).where(Campaign.merchant_id == merchant_id).order_by(Campaign.id).limit(8)).all()
        raise RebalanceError(f"unknown campaign {campaign_id!r} for merchant {merchant_id!r}"
                             + (f" (known: {', '.join(known)}{', ...' if len(known) == 8 else ''})" if known else "; run `campaigns campaigns list`"))
    return campaign


def _latest_per_channel(session: Session, merchant_id: str, campaign_id: str | None) -> dict[str, BudgetAllocation]:
    """The most recent budget_allocations row per channel (by period end, then id) of a campaign, or campaign-less with None."""
    scope = BudgetAllocation.campaign_id.is_(None) if campaign_id is None else BudgetAllocation.campaign_id == campaign_id
    rows = session.scalars(
        select(BudgetAllocation)
        .where(BudgetAllocation.merchant_id == merchant_id, scope)
        .order_by(BudgetAllocation.channel, BudgetAllocation.period_end.desc(), BudgetAllocation.id.desc())
    ).all()
    latest: dict[str, BudgetAllocation] = {}
    for row in rows:
        latest.setdefault(row.channel, row)
    return latest


def latest_allocation_rows(session: Session, merchant_id: str, campaign_id: str) -> dict[str, BudgetAllocation]:
    """The campaign's most recent budget_allocations row per channel (by period end, then id)."""
    return _latest_per_channel(session, merchant_id, campaign_id)


def current_allocations(session: Session, merchant_id: str, campaign_id: str) -> dict[str, float]:
    return {ch: float(r.allocated or 0) for ch, r in latest_allocation_rows(session, merchant_id, campaign_id).items()}


def record_spent(session: Session, merchant_id: str, campaign_id: str, spent_by_channel: Mapping[str, Decimal]) -> int:
    """Set each channel's latest allocation's `spent` to what the campaign's results say it spent; returns rows changed.

    Spend is a measurement, not a decision: no audit entry, and a channel without an allocation is left alone
    (its spend still shows in the campaign's results).
    """
    changed = 0
    for channel, row in latest_allocation_rows(session, merchant_id, campaign_id).items():
        spent = spent_by_channel.get(channel, Decimal("0"))
        if row.spent != spent:
            row.spent = spent
            changed += 1
    return changed


def apply_plan(session: Session, merchant_id: str, plan: RebalancePlan, actor: str, today: date | None = None) -> BudgetRebalance:
    """Set each channel's latest allocation to the plan (creating a row for a channel without one) and record it.

    Refuses when an allocation moved since the plan was made (its `before` no longer matches).
    """
    require_campaign(session, merchant_id, plan.campaign_id)
    if not plan.moved:
        raise RebalanceError(f"campaign {plan.campaign_id!r} is already at the recommended split; nothing to apply")
    today = today or _now().date()
    rows = latest_allocation_rows(session, merchant_id, plan.campaign_id)
    for c in plan.changes:  # check every row before writing any
        row = rows.get(c.channel)
        if row is not None and abs(Decimal(row.allocated or 0) - _money(c.before)) > TOLERANCE:
            raise RebalanceError(f"the allocation of {c.channel} changed since the plan was made ({c.before:,.2f} -> {float(row.allocated):,.2f}); "
                                 "plan again")
    summary = "; ".join(plan.moves)
    changes = []
    for c in plan.changes:
        after = _money(c.after)
        row = rows.get(c.channel)
        created = row is None
        if created:
            row = BudgetAllocation(merchant_id=merchant_id, campaign_id=plan.campaign_id, channel=c.channel, spent=Decimal("0"),
                                   period_start=today, period_end=today + timedelta(days=PERIOD_DAYS - 1))
            session.add(row)
        before = None if created else str(row.allocated)
        row.allocated = after
        row.recommended_allocation = after
        row.recommendation = summary
        session.flush()
        changes.append({"channel": c.channel, "before": before, "after": str(after), "allocation_id": row.id, "created": created})
    rebalance = BudgetRebalance(merchant_id=merchant_id, campaign_id=plan.campaign_id, changes=changes,
                                predicted_gain=_money(plan.predicted_gain), applied_by=actor)
    session.add(rebalance)
    session.flush()
    record(session, merchant_id, actor, APPLY_ACTION, "budget_rebalance", str(rebalance.id), campaign_id=plan.campaign_id,
           changes=changes, moves=plan.moves, predicted_gain=round(plan.predicted_gain, 2), gap=plan.gap)
    emit(session, merchant_id, "budget.rebalanced", {"rebalance_id": rebalance.id, "campaign_id": plan.campaign_id, "changes": changes,
                                                     "predicted_gain": round(plan.predicted_gain, 2)})
    return rebalance


def undo_rebalance(session: Session, merchant_id: str, rebalance_id: int, actor: str) -> BudgetRebalance:
    """Restore the allocations a rebalance changed, if none changed since; otherwise refuse naming the channel."""
    rebalance = session.scalar(select(BudgetRebalance).where(BudgetRebalance.id == rebalance_id, BudgetRebalance.merchant_id == merchant_id))
    if rebalance is None:
        raise RebalanceError(f"no rebalance {rebalance_id} for merchant {merchant_id!r}; see the ids with `campaigns rebalance --campaign ID --history`")
    if rebalance.undone_at is not None:
        raise RebalanceError(f"rebalance {rebalance_id} was already undone by {rebalance.undone_by} at {rebalance.undone_at:%Y-%m-%d %H:%M}")
    rows = {}
    for change in rebalance.changes:
        row = session.scalar(select(BudgetAllocation).where(BudgetAllocation.id == change["allocation_id"], BudgetAllocation.merchant_id == merchant_id))
        if row is None or abs(Decimal(row.allocated or 0) - Decimal(change["after"])) > TOLERANCE:
            now = "was deleted" if row is None else f"is {float(row.allocated):,.2f}"
            raise RebalanceError(f"cannot undo rebalance {rebalance_id}: the allocation of {change['channel']} changed since "
                                 f"(set to {float(change['after']):,.2f}, now {now}); change it by hand instead")
        rows[change["allocation_id"]] = row
    for change in rebalance.changes:
        row = rows[change["allocation_id"]]
        if change.get("created"):
            session.delete(row)
        else:
            row.allocated = Decimal(change["before"])
    rebalance.undone_by = actor
    rebalance.undone_at = _now()
    record(session, merchant_id, actor, UNDO_ACTION, "budget_rebalance", str(rebalance.id), campaign_id=rebalance.campaign_id,
           restored=[{"channel": c["channel"], "to": c["before"]} for c in rebalance.changes])
    return rebalance


def list_rebalances(session: Session, merchant_id: str, campaign_id: str | None = None, limit: int = 50) -> list[BudgetRebalance]:
    query = select(BudgetRebalance).where(BudgetRebalance.merchant_id == merchant_id)
    if campaign_id is not None:
        query = query.where(BudgetRebalance.campaign_id == campaign_id)
    return list(session.scalars(query.order_by(BudgetRebalance.id.desc()).limit(limit)))


# --- merchant level ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecommendationApply:
    """An applied merchant recommendation; `id` is its audit entry's id, the handle to undo it."""

    id: int
    applied_at: datetime
    applied_by: str
    previous: dict[str, float]  # channel -> allocation before
    applied: dict[str, float]  # channel -> allocation after
    undone_at: datetime | None = None
    undone_by: str | None = None


def latest_merchant_allocations(session: Session, merchant_id: str) -> list[BudgetAllocation]:
    """The merchant's most recent campaign-less allocation row per channel (by period end, then id)."""
    return list(_latest_per_channel(session, merchant_id, None).values())


def apply_recommendation(session: Session, merchant_id: str, actor: str) -> RecommendationApply | None:
    """Set each latest campaign-less allocation to its recommendation, audited as `budget.apply`; None when nothing is recommended."""
    rows = [r for r in latest_merchant_allocations(session, merchant_id) if r.recommended_allocation is not None]
    if not rows:
        return None
    changes = [{"id": r.id, "channel": r.channel, "previous": str(r.allocated), "applied": str(r.recommended_allocation)} for r in rows]
    for row in rows:
        row.allocated = row.recommended_allocation
    entry = AuditLog(merchant_id=merchant_id, actor=actor, action=MERCHANT_APPLY_ACTION, entity_type="budget_allocations",
                     entity_id=merchant_id, details={"rows": changes})
    session.add(entry)
    session.flush()
    return _as_apply(entry, None)


def undo_recommendation(session: Session, merchant_id: str, apply_id: int, actor: str) -> dict[str, float]:
    """Restore the allocations a `budget.apply` changed, if none changed since; returns {channel: restored amount}."""
    entry = session.scalar(select(AuditLog).where(AuditLog.id == apply_id, AuditLog.merchant_id == merchant_id,
                                                  AuditLog.action == MERCHANT_APPLY_ACTION))
    if entry is None:
        raise RebalanceError(f"no applied budget recommendation {apply_id} for merchant {merchant_id!r}")
    undo = _undos(session, merchant_id).get(apply_id)
    if undo is not None:
        raise RebalanceError(f"budget recommendation {apply_id} was already undone by {undo.actor} at {undo.created_at:%Y-%m-%d %H:%M}")
    changes = entry.details.get("rows", [])
    rows = {}
    for change in changes:
        row = session.scalar(select(BudgetAllocation).where(BudgetAllocation.id == change["id"], BudgetAllocation.merchant_id == merchant_id))
        if row is None or abs(Decimal(row.allocated or 0) - Decimal(change["applied"])) > TOLERANCE:
            now = "was deleted" if row is None else f"is {float(row.allocated):,.2f}"
            raise RebalanceError(f"cannot undo budget recommendation {apply_id}: the allocation of {change['channel']} changed since "
                                 f"(set to {float(change['applied']):,.2f}, now {now}); change it by hand instead")
        rows[change["id"]] = row
    restored: dict[str, float] = {}
    for change in changes:
        rows[change["id"]].allocated = Decimal(change["previous"])
        restored[change["channel"]] = float(change["previous"])
    record(session, merchant_id, actor, MERCHANT_UNDO_ACTION, "budget_allocations", merchant_id, undoes=apply_id, restored=restored)
    return restored


def list_recommendation_applies(session: Session, merchant_id: str, limit: int = 20) -> list[RecommendationApply]:
    """The merchant's applied recommendations, newest first, with whether and when each was undone."""
    entries = session.scalars(select(AuditLog).where(AuditLog.merchant_id == merchant_id, AuditLog.action == MERCHANT_APPLY_ACTION)
                              .order_by(AuditLog.id.desc()).limit(limit)).all()
    undos = _undos(session, merchant_id) if entries else {}
    return [_as_apply(e, undos.get(e.id)) for e in entries]


def _undos(session: Session, merchant_id: str) -> dict[int, AuditLog]:
    """`budget.undo` entries by the id of the apply they undid."""
    entries = session.scalars(select(AuditLog).where(AuditLog.merchant_id == merchant_id, AuditLog.action == MERCHANT_UNDO_ACTION)).all()
    return {int(e.details["undoes"]): e for e in entries if (e.details or {}).get("undoes") is not None}


def _as_apply(entry: AuditLog, undo: AuditLog | None) -> RecommendationApply:
    changes = (entry.details or {}).get("rows", [])
    return RecommendationApply(
        id=entry.id, applied_at=entry.created_at, applied_by=entry.actor,
        previous={c["channel"]: float(c["previous"]) for c in changes}, applied={c["channel"]: float(c["applied"]) for c in changes},
        undone_at=undo.created_at if undo is not None else None, undone_by=undo.actor if undo is not None else None,
    )


__all__ = [
    "APPLY_ACTION", "MERCHANT_APPLY_ACTION", "MERCHANT_UNDO_ACTION", "UNDO_ACTION", "RecommendationApply", "apply_plan",
    "apply_recommendation", "current_allocations", "latest_allocation_rows", "latest_merchant_allocations", "list_rebalances",
    "list_recommendation_applies", "require_campaign", "undo_rebalance", "undo_recommendation", "write_campaign_recommendation",
    "write_recommendations",
]
