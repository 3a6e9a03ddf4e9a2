"""Campaign rebalance: the plan against a hand-solved optimum; apply, undo and refusals on SQLite and PostgreSQL."""

import math
from decimal import Decimal

import pytest
from sqlalchemy import select

from campaigns.core.enums import CampaignType
from campaigns.budget.apply import APPLY_ACTION, UNDO_ACTION, apply_plan, current_allocations, undo_rebalance
from campaigns.budget.curves import ChannelCurve
from campaigns.budget.errors import RebalanceError
from campaigns.budget.planning import plan_rebalance
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AuditLog, BudgetAllocation, BudgetRebalance, Campaign

# revenue per day = a (1 - exp(-spend / b)); both channels spend 100/day now (3,000 per 30 days)
CURVES = [
    ChannelCurve("email", "exponential", {"a": 1000.0, "b": 100.0}, 100.0, 40.0, 160.0, 0.9, 10.0),
    ChannelCurve("search", "exponential", {"a": 1000.0, "b": 400.0}, 100.0, 40.0, 160.0, 0.9, 10.0),
]


def _rev(spend: float, b: float) -> float:
    return 1000.0 * (1 - math.exp(-spend / b))


def test_plan_matches_the_hand_solved_optimum() -> None:
    # unconstrained, equal marginals 10 e^{-x/100} = 2.5 e^{-(200-x)/400} give x = 150.9 for email, beyond the
    # +30% band (130/day), so email sits at 130/day and search takes the rest, 70/day
    plan = plan_rebalance("c1", CURVES, {"email": 3000.0, "search": 3000.0})
    after = {c.channel: c.after for c in plan.changes}
    assert after == pytest.approx({"email": 3900.0, "search": 2100.0}, rel=1e-6)
    gain = 30 * (_rev(130, 100) + _rev(70, 400) - _rev(100, 100) - _rev(100, 400))
    assert plan.predicted_gain == pytest.approx(gain, rel=1e-6)
    assert plan.status == "optimal" and plan.gap <= 1e-6
    assert 1000 < gain < 1050  # stated to two significant figures
    assert plan.moves == ["move 900 from search to email: +1,000 expected revenue"]
    assert {c.channel: c.outside_observed_range for c in plan.changes} == {"email": None, "search": None}


def test_plan_flags_spend_outside_the_observed_range_and_gives_a_bootstrap_range() -> None:
    boot = [{"a": 900.0, "b": 100.0}, {"a": 1100.0, "b": 100.0}]
    curves = [ChannelCurve("email", "exponential", {"a": 1000.0, "b": 100.0}, 100.0, 40.0, 110.0, 0.9, 10.0, boot),
              ChannelCurve("search", "exponential", {"a": 1000.0, "b": 400.0}, 100.0, 40.0, 160.0, 0.9, 10.0,
                           [{"a": 1000.0, "b": 400.0}] * 2)]
    plan = plan_rebalance("c1", curves, {})  # no allocation rows: current = recent daily spend x 30
    assert {c.channel: c.before for c in plan.changes} == {"email": 3000.0, "search": 3000.0}
    assert {c.channel: c.outside_observed_range for c in plan.changes} == {"email": "above", "search": None}
    low = 30 * (900 * (1 - math.exp(-1.3)) + _rev(70, 400))
    high = 30 * (1100 * (1 - math.exp(-1.3)) + _rev(70, 400))
    assert plan.predicted_revenue_range == pytest.approx([low + 0.05 * (high - low), low + 0.95 * (high - low)], rel=1e-9)


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(RebalanceError, match="no fitted response curve"):
        plan_rebalance("c1", [], {})
    with pytest.raises(RebalanceError, match="no current spend"):
        plan_rebalance("c1", CURVES, {"email": 0.0, "search": 0.0})
    nan = [ChannelCurve("email", "exponential", {"a": float("nan"), "b": 100.0}, 100.0, 0.0, 1.0, 0.0, 0.0)]
    with pytest.raises(RebalanceError, match="'a' must be a finite number"):
        plan_rebalance("c1", nan, {})


def _campaign(url: str, allocations: dict[str, str] | None) -> None:
    with session_scope(url) as s:
        s.add(Campaign(id="c1", merchant_id="acme", name="Spring", type=CampaignType.CONVERSION))
        s.flush()
        for channel, amount in (allocations or {}).items():
            s.add(BudgetAllocation(merchant_id="acme", campaign_id="c1", channel=channel, allocated=Decimal(amount)))


def _state(url: str) -> tuple[dict[str, float], int, list[str]]:
    with session_scope(url) as s:
        alloc = {r.channel: float(r.allocated) for r in s.scalars(select(BudgetAllocation).where(BudgetAllocation.campaign_id == "c1"))}
        rebalances = len(s.scalars(select(BudgetRebalance)).all())
        actions = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.action.like("budget.%")).order_by(AuditLog.id))]
    return alloc, rebalances, actions


def test_apply_then_undo(store_url: str) -> None:
    _campaign(store_url, {"email": "3000.00", "search": "3000.00"})
    with session_scope(store_url) as s:
        plan = plan_rebalance("c1", CURVES, current_allocations(s, "acme", "c1"))
        rid = apply_plan(s, "acme", plan, "ana").id
    alloc, n, actions = _state(store_url)
    assert alloc == {"email": 3900.0, "search": 2100.0} and n == 1 and actions == [APPLY_ACTION]
    with session_scope(store_url) as s:
        r = s.get(BudgetRebalance, rid)
        assert [(c["channel"], c["before"], c["after"]) for c in r.changes] == [("email", "3000.00", "3900.00"), ("search", "3000.00", "2100.00")]
        assert r.applied_by == "ana" and float(r.predicted_gain) == pytest.approx(plan.predicted_gain, abs=0.01)
    with session_scope(store_url) as s:
        undo_rebalance(s, "acme", rid, "bo")
    alloc, n, actions = _state(store_url)
    assert alloc == {"email": 3000.0, "search": 3000.0} and actions == [APPLY_ACTION, UNDO_ACTION]
    with session_scope(store_url) as s:
        assert s.get(BudgetRebalance, rid).undone_by == "bo"
        with pytest.raises(RebalanceError, match="already undone"):
            undo_rebalance(s, "acme", rid, "bo")
        with pytest.raises(RebalanceError, match="no rebalance"):
            undo_rebalance(s, "globex", rid, "bo")  # another merchant's id is invisible


def test_apply_creates_rows_from_spend_and_undo_removes_them(store_url: str) -> None:
    _campaign(store_url, None)
    with session_scope(store_url) as s:
        rid = apply_plan(s, "acme", plan_rebalance("c1", CURVES, {}), "ana").id
    assert _state(store_url)[0] == {"email": 3900.0, "search": 2100.0}
    with session_scope(store_url) as s:
        undo_rebalance(s, "acme", rid, "ana")
    assert _state(store_url)[0] == {}


def test_undo_is_refused_after_a_later_change(store_url: str) -> None:
    _campaign(store_url, {"email": "3000", "search": "3000"})
    with session_scope(store_url) as s:
        rid = apply_plan(s, "acme", plan_rebalance("c1", CURVES, current_allocations(s, "acme", "c1")), "ana").id
    with session_scope(store_url) as s:
        s.scalar(select(BudgetAllocation).where(BudgetAllocation.channel == "search")).allocated = Decimal("2500")
    with pytest.raises(RebalanceError, match="allocation of search changed"):
        with session_scope(store_url) as s:
            undo_rebalance(s, "acme", rid, "bo")
    alloc, _, actions = _state(store_url)
    assert alloc == {"email": 3900.0, "search": 2500.0} and actions == [APPLY_ACTION]


def test_nothing_is_written_when_the_plan_is_stale_or_infeasible(store_url: str) -> None:
    _campaign(store_url, {"email": "3000", "search": "3000"})
    plan = plan_rebalance("c1", CURVES, {"email": 3000.0, "search": 3000.0})
    with session_scope(store_url) as s:
        s.scalar(select(BudgetAllocation).where(BudgetAllocation.channel == "search")).allocated = Decimal("3100")
    with pytest.raises(RebalanceError, match="allocation of search changed since the plan"):
        with session_scope(store_url) as s:
            apply_plan(s, "acme", plan, "ana")
    with pytest.raises(RebalanceError):
        plan_rebalance("c1", [ChannelCurve("email", "cubic", {"a": 1.0}, 1.0, 0.0, 1.0, 0.0, 0.0)], {})
    with pytest.raises(RebalanceError, match="unknown campaign 'c2'"):
        with session_scope(store_url) as s:
            apply_plan(s, "acme", plan_rebalance("c2", CURVES, {}), "ana")
    alloc, n, actions = _state(store_url)
    assert alloc == {"email": 3000.0, "search": 3100.0} and n == 0 and actions == []
