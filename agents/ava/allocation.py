"""Splitting a budget across channels, to the cent.

With response curves (daily spend -> daily outcome) for some or all channels, the budget
optimizer (`optimizers.allocation.optimize`, exact KKT or branch and bound) splits the
part of the budget those channels hold (`campaigns.budget.planning.optimal_split`); channels without a curve keep their prior share.
Without curves the documented prior shares of the goal are used (`agents.ava.priors`).

Amounts are whole cents and add up to the budget exactly (`optimizers.cents.split_cents`,
the largest-remainder method).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from agents.ava.models import AllocationItem, BudgetPlan, PlanHistory
from agents.ava.priors import PRIOR_SHARES
from campaigns.core.enums import CampaignType
from optimizers.cents import CENT, split_cents


def prior_shares(goal: CampaignType, channels: Sequence[str]) -> dict[str, float]:
    table = PRIOR_SHARES[goal]
    shares = {c: table.get(c, 0.0) for c in channels}
    if sum(shares.values()) <= 0:
        shares = {c: 1.0 for c in channels}
    mass = sum(shares.values())
    return {c: s / mass for c, s in shares.items()}


def allocate(budget: Decimal, channels: Sequence[str], goal: CampaignType, history: PlanHistory, days: int, currency: str) -> tuple[BudgetPlan, list[str]]:
    """The budget plan and notes (e.g. why the optimizer was not used)."""
    notes: list[str] = []
    shares = prior_shares(goal, channels)
    weights = dict(shares)
    sources = {c: "prior" for c in channels}
    curve_channels = [c for c in channels if c in history.curves]
    optimizer_info: dict[str, Any] | None = None
    method = "prior"
    if curve_channels and budget > 0:
        pool_share = sum(shares[c] for c in curve_channels)
        pool = float(budget) * pool_share
        try:
            result = _optimize(pool / days, curve_channels, history)
        except Exception as exc:  # AllocationError or a bad curve: the prior still gives a plan
            notes.append(f"the optimizer could not use the response curves ({exc}); prior shares used instead")
        else:
            daily_total = sum(result.allocation.values()) or 1.0
            for c in curve_channels:
                weights[c] = pool_share * result.allocation[c] / daily_total
                sources[c] = "optimizer"
            optimizer_info = {
                "method": result.method, "status": result.status, "gap": result.gap, "objective": result.objective,
                "predicted_daily_outcome": result.predicted_revenue, "predicted_daily_range": result.predicted_revenue_range,
                "marginal_return": result.marginal_roas, "outside_observed_range": result.outside_observed_range,
                "channels": curve_channels, "daily_budget": round(pool / days, 2),
            }
            method = "optimizer" if len(curve_channels) == len(channels) else "optimizer+prior"
    amounts = split_cents(budget, weights)
    items = [
        AllocationItem(channel=c, amount=amounts[c], share=round(float(amounts[c] / budget), 4) if budget else 0.0,
                       daily=(amounts[c] / days).quantize(CENT), source=sources[c])  # type: ignore[arg-type]
        for c in sorted(channels, key=lambda c: (-amounts[c], c))
    ]
    if method == "prior":
        explanation = f"documented prior shares for a {goal.value} goal (no response curves in the history)"
    elif method == "optimizer":
        explanation = "split by the budget optimizer on your response curves (daily spend to daily outcome, exact optimum)"
    else:
        explanation = (f"{', '.join(curve_channels)} split by the budget optimizer on your response curves; "
                       f"{', '.join(c for c in channels if c not in curve_channels)} keep their prior shares (no curve)")
    return BudgetPlan(method=method, total=budget, currency=currency, items=items, explanation=explanation, optimizer=optimizer_info), notes


def _optimize(daily_budget: float, channels: Sequence[str], history: PlanHistory):
    from campaigns.budget.planning import optimal_split  # numpy/scipy load only when curves exist

    objective = "conversions" if history.curve_outcome == "conversions" else "revenue"
    return optimal_split(daily_budget, {c: history.curves[c] for c in channels},
                         observed={c: history.observed_spend[c] for c in channels if c in history.observed_spend}, objective=objective)
