"""One campaign's rebalance from start to end, for callers that are not the CLI's interactive flow (the HTTP API).

The same steps as `campaigns rebalance`: the campaign's current split, its fitted curves from the
warehouse, the optimal plan; and, when asked, the audited apply.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from campaigns.budget import apply as allocations
from campaigns.budget.curves import warehouse_curves
from campaigns.budget.errors import RebalanceError
from campaigns.budget.models import RebalancePlan
from campaigns.budget.planning import plan_rebalance


def recommend_rebalance(session: Session, settings: Any, merchant_id: str, campaign_id: str, *, max_change: float = 0.3) -> RebalancePlan:
    allocations.require_campaign(session, merchant_id, campaign_id)
    current = allocations.current_allocations(session, merchant_id, campaign_id)
    curves = warehouse_curves(settings, merchant_id, campaign_id)
    if not curves:
        raise RebalanceError(f"no spend data for campaign {campaign_id!r}: it needs at least 14 days of spend on a channel; "
                             f"import it with `campaigns import spend FILE --merchant {merchant_id}`, then `campaigns build`")
    return plan_rebalance(campaign_id, curves, current, max_change=max_change)


def rebalance(session: Session, settings: Any, merchant_id: str, campaign_id: str, actor: str, *, apply: bool,
              max_change: float = 0.3) -> tuple[RebalancePlan, int | None]:
    """The plan, and with apply=True the id of the applied rebalance (None when the split is already optimal)."""
    plan = recommend_rebalance(session, settings, merchant_id, campaign_id, max_change=max_change)
    if not apply or not plan.moved:
        return plan, None
    return plan, allocations.apply_plan(session, merchant_id, plan, actor).id
