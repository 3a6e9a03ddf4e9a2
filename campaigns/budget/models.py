"""The values the budget context passes around: a campaign's rebalance plan and the limits it is planned within.

Kept apart from `planning` (which loads the optimizer, numpy and scipy) so that the store side
(`apply`) and the app's reads stay light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PERIOD_DAYS = 30  # recommendations are stated per 30 days, as budgets are planned
MAX_CHANGE = 0.3  # the largest move per channel per rebalance, as a fraction of its current spend


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
