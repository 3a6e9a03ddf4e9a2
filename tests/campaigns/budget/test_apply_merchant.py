"""Merchant-level apply and undo of the budget asset's recommendation: audited, listed from the store, undone by id."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from campaigns.budget.apply import apply_recommendation, list_recommendation_applies, undo_recommendation
from campaigns.budget.errors import RebalanceError
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AuditLog, BudgetAllocation


def _rows(url: str) -> None:
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        ensure_merchant(s, "globex")
        s.flush()
        # an older period for email (ignored: only the latest row per channel counts), the latest period for both
        s.add(BudgetAllocation(merchant_id="acme", channel="email", allocated=Decimal("100"), recommended_allocation=Decimal("999"),
                               period_end=date(2026, 1, 1)))
        s.add(BudgetAllocation(merchant_id="acme", channel="email", allocated=Decimal("300"), recommended_allocation=Decimal("390"),
                               period_end=date(2026, 2, 1)))
        s.add(BudgetAllocation(merchant_id="acme", channel="x", allocated=Decimal("300"), recommended_allocation=Decimal("210"),
                               period_end=date(2026, 2, 1)))


def _latest(url: str) -> dict[str, float]:
    with session_scope(url) as s:
        rows = s.scalars(select(BudgetAllocation).where(BudgetAllocation.period_end == date(2026, 2, 1))).all()
        return {r.channel: float(r.allocated) for r in rows}


def test_apply_lists_and_undoes_by_id_across_sessions(store_url: str) -> None:
    _rows(store_url)
    with session_scope(store_url) as s:
        done = apply_recommendation(s, "acme", "ana")
    assert done is not None and done.applied == {"email": 390.0, "x": 210.0} and done.previous == {"email": 300.0, "x": 300.0}
    assert _latest(store_url) == {"email": 390.0, "x": 210.0}
    with session_scope(store_url) as s:  # a new session: what a reloaded page sees
        (listed,) = list_recommendation_applies(s, "acme")
        assert listed.id == done.id and listed.applied_by == "ana" and listed.undone_at is None
        assert list_recommendation_applies(s, "globex") == []
    with session_scope(store_url) as s:
        with pytest.raises(RebalanceError, match="no applied budget recommendation"):
            undo_recommendation(s, "globex", done.id, "bo")  # another merchant's id is invisible
        assert undo_recommendation(s, "acme", done.id, "bo") == {"email": 300.0, "x": 300.0}
    assert _latest(store_url) == {"email": 300.0, "x": 300.0}
    with session_scope(store_url) as s:
        (listed,) = list_recommendation_applies(s, "acme")
        assert listed.undone_by == "bo" and listed.undone_at is not None
        actions = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.action.like("budget.%")).order_by(AuditLog.id))]
        assert actions == ["budget.apply", "budget.undo"]
    with session_scope(store_url) as s, pytest.raises(RebalanceError, match="already undone by bo"):
        undo_recommendation(s, "acme", done.id, "bo")


def test_undo_refuses_when_an_allocation_changed_since(store_url: str) -> None:
    _rows(store_url)
    with session_scope(store_url) as s:
        apply_id = apply_recommendation(s, "acme", "ana").id
    with session_scope(store_url) as s:
        s.scalar(select(BudgetAllocation).where(BudgetAllocation.channel == "x", BudgetAllocation.period_end == date(2026, 2, 1))).allocated = Decimal("250")
    with session_scope(store_url) as s, pytest.raises(RebalanceError, match="allocation of x changed since"):
        undo_recommendation(s, "acme", apply_id, "bo")
    assert _latest(store_url) == {"email": 390.0, "x": 250.0}  # nothing restored


def test_nothing_recommended_applies_nothing(store_url: str) -> None:
    with session_scope(store_url) as s:
        ensure_merchant(s, "acme")
        s.flush()
        s.add(BudgetAllocation(merchant_id="acme", channel="email", allocated=Decimal("300")))
    with session_scope(store_url) as s:
        assert apply_recommendation(s, "acme", "ana") is None
        assert list_recommendation_applies(s, "acme") == []
