"""Output of the optimizer, serialisable to the CLI's JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


def _clean(value: Any) -> Any:
    """JSON has no inf/nan: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass
class AllocationResult:
    status: str  # "optimal" (gap <= gap_tolerance) or "suboptimal" (limit hit; gap says how far)
    allocation: dict[str, float]
    predicted_revenue: float  # predicted outcome at the allocation (conversions for that objective; mean over scenarios)
    current_revenue: float  # same prediction at current spend
    marginal_roas: dict[str, float]  # d outcome / d spend at the allocation, per channel
    budget_shadow_price: float  # d objective / d budget: value of the next unit of budget
    gap: float  # (upper bound - objective) / max(|upper bound|, 1), from an independent bound
    solve_seconds: float
    # extras
    method: str = ""
    objective: str = "revenue"
    objective_value: float = 0.0  # what was maximised (revenue, conversions, profit, or its CVaR)
    gain: float = 0.0  # predicted_revenue - current_revenue
    total_spend: float = 0.0
    predicted_revenue_range: list[float] | None = None  # 5th-95th percentile over scenarios
    outside_observed_range: dict[str, str] = field(default_factory=dict)  # channel -> "below"/"above"
    certificate: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "status": self.status,
                "allocation": self.allocation,
                "predicted_revenue": self.predicted_revenue,
                "current_revenue": self.current_revenue,
                "marginal_roas": self.marginal_roas,
                "budget_shadow_price": self.budget_shadow_price,
                "gap": self.gap,
                "solve_seconds": self.solve_seconds,
                "method": self.method,
                "objective": self.objective,
                "objective_value": self.objective_value,
                "gain": self.gain,
                "total_spend": self.total_spend,
                "predicted_revenue_range": self.predicted_revenue_range,
                "outside_observed_range": self.outside_observed_range,
                "certificate": self.certificate,
            }
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)
