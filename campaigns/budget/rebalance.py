"""Rebalance one campaign's budget across its channels, apply it (audited) and undo it.

Three layers, so each can be tested on its own:
  curves    `campaign_curves(query, ...)`: the campaign's fitted curves from the
            marts.campaign_response_curves mart, or fitted now from the warehouse when
            the mart has none for it (a build from before campaign curves existed).
  plan      `plan_rebalance(curves, current)`: pure; solves with optimizers.allocation
            (exact budget = current total, each channel within +-max_change).
  store     `current_allocations`, `apply_plan`, `undo_rebalance`, `list_rebalances`:
            take a session and never commit; the caller's session_scope is the transaction.

Amounts are per PERIOD_DAYS (30) days, as budget_allocations are planned; the curves are daily,
so the plan divides by 30 to solve and multiplies back. A campaign's current split is its
latest budget_allocations row per channel, or, for a channel without one, its recent average
daily spend (the curve's current_daily_spend) x 30.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.store.models import BudgetAllocation, BudgetRebalance, Campaign

PERIOD_DAYS = 30
MAX_CHANGE = 0.3
CURVES_MART = "campaign_response_curves"
APPLY_ACTION, UNDO_ACTION = "budget.rebalance", "budget.rebalance_undo"
TOLERANCE = Decimal("0.01")  # money columns hold cents: a row "unchanged" within a cent

Query = Callable[[str, Sequence[Any] | None], pl.DataFrame]


class RebalanceError(ValueError):
    """Unknown campaign, no spend data, infeasible limits, or an undo that would overwrite a later change."""


# --- curves ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelCurve:
    channel: str
    family: str
    params: dict[str, float]
    current_daily_spend: float
    observed_min: float
    observed_max: float
    r2: float
    holdout_rmse: float
    bootstrap: list[dict[str, float]] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        return {"family": self.family, **self.params}


def curves_from_frame(frame: pl.DataFrame) -> list[ChannelCurve]:
    """Rows of a response-curves mart (params and bootstrap as JSON) as ChannelCurves."""
    out = []
    for r in frame.sort("channel").iter_rows(named=True):
        boot = r.get("bootstrap")
        out.append(ChannelCurve(
            channel=r["channel"], family=r["family"], params=json.loads(r["params"]),
            current_daily_spend=float(r["current_daily_spend"] or 0.0), observed_min=float(r["observed_min"]),
            observed_max=float(r["observed_max"]), r2=float(r["r2"]), holdout_rmse=float(r["holdout_rmse"]),
            bootstrap=json.loads(boot) if boot else [],
        ))
    return out


def campaign_curves(query: Query, placeholder: str, merchant_id: str, campaign_id: str, model: str,
                    marts: Sequence[str] = ()) -> list[ChannelCurve]:
    """The campaign's channel curves: from the mart when it has them, else fitted now from spend and attribution."""
    from assets.optimization.budget import CAMPAIGN_KEYS, campaign_series_sql, daily_series, fit_campaign_channels

    p = placeholder
    if CURVES_MART in marts:
        frame = query(f"select * from marts.{CURVES_MART} where merchant_id = {p} and campaign_id = {p}", [merchant_id, campaign_id])
        if frame.height:
            return curves_from_frame(frame)
    spend_sql, revenue_sql = campaign_series_sql(p, model, campaign_filter=True)
    spend = query(spend_sql, [merchant_id, campaign_id])
    if spend.height == 0:
        return []
    revenue = query(revenue_sql, [model, merchant_id, campaign_id])
    if revenue.height == 0:
        revenue = pl.DataFrame(schema={"merchant_id": pl.String, "campaign_id": pl.String, "channel": pl.String, "day": pl.Date, "revenue": pl.Float64})
    fitted = fit_campaign_channels(daily_series(spend, revenue, CAMPAIGN_KEYS))
    return curves_from_frame(fitted) if fitted.height else []


# --- the plan (pure) ---------------------------------------------------------------------------


@dataclass
class Change:
    channel: str
    before: float  # per PERIOD_DAYS
    after: float
    marginal_roas: float
    outside_observed_range: str | None  # "below" / "above" the spend the curve was fitted on


@dataclass
class RebalancePlan:
    campaign_id: str
    changes: list[Change]
    moves: list[str]  # plain language, per PERIOD_DAYS
    predicted_gain: float  # revenue per PERIOD_DAYS
    predicted_revenue: float
    current_revenue: float
    predicted_revenue_range: list[float] | None  # 5th-95th percentile over bootstrap curves, per PERIOD_DAYS
    status: str
    gap: float
    certificate: dict[str, Any]
    budget_shadow_price: float

    @property
    def moved(self) -> bool:
        return any(abs(c.after - c.before) >= 0.005 for c in self.changes)


def plan_rebalance(campaign_id: str, curves: Sequence[ChannelCurve], current: dict[str, float], *,
                   max_change: float = MAX_CHANGE) -> RebalancePlan:
    """The optimal split of the campaign's current total (per PERIOD_DAYS) across its fitted channels."""
    from optimizers.allocation import optimize
    from optimizers.errors import AllocationError
    from optimizers.recommendations import moves_for_result

    if not curves:
        raise RebalanceError(f"campaign {campaign_id!r} has no fitted response curve: it needs at least 14 days of spend per channel")
    if not math.isfinite(max_change) or max_change <= 0:
        raise RebalanceError(f"--max-change must be a number > 0, got {max_change!r}")
    daily = {c.channel: float(current.get(c.channel, c.current_daily_spend * PERIOD_DAYS)) / PERIOD_DAYS for c in curves}
    bad = [ch for ch, v in daily.items() if not math.isfinite(v) or v < 0]
    if bad:
        raise RebalanceError(f"current allocation of {', '.join(bad)} is negative or not a number; fix the budget_allocations row")
    total = sum(daily.values())
    if total <= 0:
        raise RebalanceError(f"campaign {campaign_id!r} has no current spend or allocation to rebalance")
    with_scenarios = all(c.bootstrap for c in curves) and len({len(c.bootstrap) for c in curves}) == 1
    channels = [{
        "name": c.channel, "curve": c.spec(), "current_spend": daily[c.channel], "observed_min": c.observed_min, "observed_max": c.observed_max,
        **({"scenarios": [{"family": c.family, **s} for s in c.bootstrap]} if with_scenarios else {}),
    } for c in curves]
    problem = {"budget": total, "budget_mode": "exact", "objective": "revenue", "max_change": max_change,
               "max_change_basis": "current", "channels": channels}
    # bootstrap curves give the predicted range; the point-estimate curves choose the split
    point = {**problem, "channels": [{k: v for k, v in c.items() if k != "scenarios"} for c in channels]}
    try:
        result = optimize(point)
        spread = _range(problem, result.allocation) if with_scenarios else None
    except AllocationError as exc:
        raise RebalanceError(f"campaign {campaign_id!r}: {exc}") from None
    moves = moves_for_result(point, result)
    scale = PERIOD_DAYS
    changes = [Change(c.channel, daily[c.channel] * scale, result.allocation[c.channel] * scale, result.marginal_roas[c.channel],
                      result.outside_observed_range.get(c.channel)) for c in curves]
    return RebalancePlan(
        campaign_id=campaign_id, changes=changes,
        moves=[_rescale_move(m.source, m.target, m.amount * scale, m.effect * scale) for m in moves],
        predicted_gain=result.gain * scale, predicted_revenue=result.predicted_revenue * scale, current_revenue=result.current_revenue * scale,
        predicted_revenue_range=[v * scale for v in spread] if spread else None, status=result.status, gap=result.gap,
        certificate=result.certificate, budget_shadow_price=result.budget_shadow_price,
    )


def _range(problem: dict[str, Any], allocation: dict[str, float]) -> list[float]:
    """5th-95th percentile of predicted revenue over the bootstrap curves at the allocation."""
    import numpy as np

    from optimizers.curves import CurveSpec

    n = len(problem["channels"][0]["scenarios"])
    totals = np.zeros(n)
    for c in problem["channels"]:
        for j, s in enumerate(c["scenarios"]):
            totals[j] += float(CurveSpec.model_validate(s).to_curve().value(allocation[c["name"]]))
    return [float(np.percentile(totals, 5)), float(np.percentile(totals, 95))]


def _rescale_move(source: str | None, target: str | None, amount: float, effect: float) -> str:
    from optimizers.recommendations import format_amount

    gain = f"{format_amount(effect, signed=True)} expected revenue"
    if source and target:
        return f"move {format_amount(amount)} from {source} to {target}: {gain}"
    if target:
        return f"add {format_amount(amount)} to {target}: {gain}"
    return f"cut {format_amount(amount)} from {source}: {gain}"


# --- the store ---------------------------------------------------------------------------------


def require_campaign(session: Session, merchant_id: str, campaign_id: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.merchant_id == merchant_id))
    if campaign is None:
        known = session.scalars(select(Campaign.id).where(Campaign.merchant_id == merchant_id).order_by(Campaign.id).limit(8)).all()
        raise RebalanceError(f"unknown campaign {campaign_id!r} for merchant {merchant_id!r}"
                             + (f" (known: {', '.join(known)}{', ...' if len(known) == 8 else ''})" if known else "; run `campaigns campaigns list`"))
    return campaign


def latest_allocation_rows(session: Session, merchant_id: str, campaign_id: str) -> dict[str, BudgetAllocation]:
    """The campaign's most recent budget_allocations row per channel (by period end, then id)."""
    rows = session.scalars(
        select(BudgetAllocation)
        .where(BudgetAllocation.merchant_id == merchant_id, BudgetAllocation.campaign_id == campaign_id)
        .order_by(BudgetAllocation.channel, BudgetAllocation.period_end.desc(), BudgetAllocation.id.desc())
    ).all()
    latest: dict[str, BudgetAllocation] = {}
    for row in rows:
        latest.setdefault(row.channel, row)
    return latest


def current_allocations(session: Session, merchant_id: str, campaign_id: str) -> dict[str, float]:
    return {ch: float(r.allocated or 0) for ch, r in latest_allocation_rows(session, merchant_id, campaign_id).items()}


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def apply_plan(session: Session, merchant_id: str, plan: RebalancePlan, actor: str, today: date | None = None) -> BudgetRebalance:
    """Set each channel's latest allocation to the plan (creating a row for a channel without one) and record it.

    Refuses when an allocation moved since the plan was made (its `before` no longer matches).
    """
    require_campaign(session, merchant_id, plan.campaign_id)
    if not plan.moved:
        raise RebalanceError(f"campaign {plan.campaign_id!r} is already at the recommended split; nothing to apply")
    today = today or datetime.now(timezone.utc).date()
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
    rebalance.undone_at = datetime.now(timezone.utc)
    record(session, merchant_id, actor, UNDO_ACTION, "budget_rebalance", str(rebalance.id), campaign_id=rebalance.campaign_id,
           restored=[{"channel": c["channel"], "to": c["before"]} for c in rebalance.changes])
    return rebalance


def list_rebalances(session: Session, merchant_id: str, campaign_id: str | None = None, limit: int = 50) -> list[BudgetRebalance]:
    query = select(BudgetRebalance).where(BudgetRebalance.merchant_id == merchant_id)
    if campaign_id is not None:
        query = query.where(BudgetRebalance.campaign_id == campaign_id)
    return list(session.scalars(query.order_by(BudgetRebalance.id.desc()).limit(limit)))


def warehouse_curves(settings: Any, merchant_id: str, campaign_id: str) -> list[ChannelCurve]:
    """campaign_curves against the configured warehouse (DuckDB file or PostgreSQL)."""
    from campaigns.warehouse.connection import open_warehouse

    if settings.warehouse != "postgres" and not settings.duckdb_path.exists():
        raise RebalanceError(f"no warehouse at {settings.duckdb_path} yet: no spend data to fit; run `campaigns demo-data` "
                             "or `campaigns import spend FILE`, then `campaigns build`")
    warehouse = open_warehouse(settings)
    try:
        relations = warehouse.relations()
        marts = relations.filter(pl.col("schema") == "marts")["name"].to_list() if relations.height else []
        if "stg_ad_spend" not in (relations["name"].to_list() if relations.height else []):
            raise RebalanceError("the warehouse has no spend data yet (staging.stg_ad_spend is missing); run `campaigns build`")
        p = "?" if warehouse.dialect == "duckdb" else "%s"
        return campaign_curves(warehouse.query, p, merchant_id, campaign_id, settings.curve_model, marts)
    except RebalanceError:
        raise
    except Exception as exc:  # a locked or unreachable warehouse: say which and what to do
        raise RebalanceError(f"cannot read the warehouse ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                             "wait for a running build to finish or check CAMPAIGNS_WAREHOUSE_URL") from exc
