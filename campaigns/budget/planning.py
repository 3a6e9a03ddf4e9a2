"""Budget planning: the revenue-optimal split of a budget across channels, from their response curves.

Pure (no I/O): every recommender of the project is here, all solving with
`optimizers.allocation.optimize` (exact budget, each channel within +-max_change of now):
  plan_merchant    per merchant, per day, from the rows of marts.response_curves (the budget asset)
  plan_rebalance   one campaign, per PERIOD_DAYS, from its ChannelCurves and current allocations
                   (`campaigns rebalance`, the Budget page)
  optimal_split    a daily budget over curves given as specs, no limit on moves (Ava's plan and rebalance step)
  split_by_return  without curves: planned shares weighted by observed return (Ava's rebalance step)

Amounts of a rebalance are per PERIOD_DAYS (30) days, as budget_allocations are planned; the
curves are daily, so the plan divides by 30 to solve and multiplies back. A campaign's current
split is its latest budget_allocations row per channel, or, for a channel without one, its
recent average daily spend (the curve's current_daily_spend) x 30.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from campaigns.budget.curves import ChannelCurve
from campaigns.budget.errors import RebalanceError
from campaigns.budget.models import MAX_CHANGE, PERIOD_DAYS, Change, RebalancePlan
from optimizers.allocation import AllocationResult, optimize
from optimizers.cents import split_cents
from optimizers.curves import CurveSpec
from optimizers.errors import AllocationError
from optimizers.recommendations import format_amount, moves_for_result

RETURN_FACTOR_BOUNDS = (0.5, 2.0)  # without curves a channel's share moves between half and double


def _problem(channels: list[dict[str, Any]], budget: float, max_change: float) -> dict[str, Any]:
    return {"budget": budget, "budget_mode": "exact", "objective": "revenue", "max_change": max_change,
            "max_change_basis": "current", "channels": channels}


# --- merchant level ------------------------------------------------------------------------------


def plan_merchant(curves: pl.DataFrame, max_change: float = MAX_CHANGE) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Optimal daily allocation per merchant from its channels' curves (rows of marts.response_curves).

    Returns the rows of marts.budget_recommendations and, per merchant, the plain-language moves.
    """
    rows, texts = [], {}
    for (merchant,), group in curves.group_by(["merchant_id"], maintain_order=True):
        channels = [
            {"name": r["channel"], "curve": {"family": r["family"], **json.loads(r["params"])}, "current_spend": r["current_daily_spend"],
             "observed_min": r["observed_min"], "observed_max": r["observed_max"]}
            for r in group.iter_rows(named=True)
        ]
        problem = _problem(channels, float(sum(c["current_spend"] for c in channels)), max_change)
        try:
            result = optimize(problem)
        except AllocationError as exc:
            texts[merchant] = [f"no recommendation: {exc}"]
            continue
        texts[merchant] = [m.text.replace(" expected revenue", " expected revenue per day") for m in moves_for_result(problem, result)]
        for c in channels:
            name = c["name"]
            rows.append({
                "merchant_id": merchant, "channel": name, "current_daily_spend": c["current_spend"], "recommended_daily_spend": result.allocation[name],
                "marginal_roas": result.marginal_roas[name], "predicted_daily_revenue": result.predicted_revenue, "current_daily_revenue": result.current_revenue,
                "budget_shadow_price": result.budget_shadow_price, "gap": result.gap, "status": result.status,
                "outside_observed_range": name in (result.outside_observed_range or {}),
            })
    return pl.DataFrame(rows), texts


# --- campaign level ------------------------------------------------------------------------------


def plan_rebalance(campaign_id: str, curves: Sequence[ChannelCurve], current: Mapping[str, float], *,
                   max_change: float = MAX_CHANGE) -> RebalancePlan:
    """The optimal split of the campaign's current total (per PERIOD_DAYS) across its fitted channels."""
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
    problem = _problem(channels, total, max_change)
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


def _range(problem: dict[str, Any], allocation: Mapping[str, float]) -> list[float]:
    """5th-95th percentile of predicted revenue over the bootstrap curves at the allocation."""
    n = len(problem["channels"][0]["scenarios"])
    totals = np.zeros(n)
    for c in problem["channels"]:
        for j, s in enumerate(c["scenarios"]):
            totals[j] += float(CurveSpec.model_validate(s).to_curve().value(allocation[c["name"]]))
    return [float(np.percentile(totals, 5)), float(np.percentile(totals, 95))]


def _rescale_move(source: str | None, target: str | None, amount: float, effect: float) -> str:
    gain = f"{format_amount(effect, signed=True)} expected revenue"
    if source and target:
        return f"move {format_amount(amount)} from {source} to {target}: {gain}"
    if target:
        return f"add {format_amount(amount)} to {target}: {gain}"
    return f"cut {format_amount(amount)} from {source}: {gain}"


# --- a budget of one's own (Ava) -----------------------------------------------------------------


def optimal_split(daily_budget: float, curves: Mapping[str, Mapping[str, Any]], *,
                  observed: Mapping[str, tuple[float, float]] | None = None, objective: str = "revenue") -> AllocationResult:
    """The best split of a daily budget over channels with curve specs ({"family", params...}); raises AllocationError."""
    observed = observed or {}
    specs = []
    for name, curve in curves.items():
        spec: dict[str, Any] = {"name": name, "curve": dict(curve), "current_spend": 0.0}
        if name in observed:
            spec["observed_min"], spec["observed_max"] = observed[name]
        specs.append(spec)
    return optimize({"budget": daily_budget, "budget_mode": "exact", "objective": objective, "channels": specs})


def split_by_return(total: Decimal, planned_shares: Mapping[str, float], spend_revenue: Mapping[str, tuple[float, float]]) -> dict[str, Decimal]:
    """Without curves: `total` over the planned shares, each weighted by its channel's return (revenue / spend) relative to the
    mean return, kept between half and double; a channel without spend keeps its planned share. Whole cents, summing to `total`."""
    returns = {c: spend_revenue[c][1] / spend_revenue[c][0] for c in planned_shares if c in spend_revenue and spend_revenue[c][0] > 0}
    mean = sum(returns.values()) / len(returns) if returns else 0.0
    low, high = RETURN_FACTOR_BOUNDS
    weights = {}
    for c, share in planned_shares.items():
        factor = min(max(returns[c] / mean, low), high) if c in returns and mean > 0 else 1.0
        weights[c] = float(share) * factor
    return split_cents(total, weights)
