"""Editing after DRAFT (which fields each status allows, with the reason) and duplicating, on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from campaigns.core.audit import entries
from campaigns.core.enums import CampaignStatus as S
from campaigns.core.store.db import session_scope
from campaigns.lifecycle import service
from campaigns.lifecycle.states import EDITABLE, explain_edit_refusal
from campaigns.lifecycle.states import TransitionError

START, END = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 21, tzinfo=UTC)


def _active(url: str) -> str:
    with session_scope(url) as s:
        c = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="CONVERSION", channels=["x"], budget=Decimal("900"),
                                                                     start_date=START, end_date=END, goals={"kpi": "roas"}), actor="ana")
        service.transition(s, "acme", c.id, "launch", "ana")
        return c.id


def test_each_status_allows_its_fields_and_says_why_not() -> None:
    assert explain_edit_refusal(S.DRAFT, "type") is None and explain_edit_refusal(S.SCHEDULED, "start_date") is None
    assert "has already started; change its end date instead" in explain_edit_refusal(S.ACTIVE, "start_date")
    assert "duplicate it to run it with another type" in explain_edit_refusal(S.PAUSED, "type")
    assert "cancelled campaigns are final; duplicate it" in explain_edit_refusal(S.CANCELLED, "name")
    assert set(EDITABLE) == set(S)


def test_an_active_campaign_takes_a_new_budget_and_end_but_not_a_new_start(store_url: str) -> None:
    campaign_id = _active(store_url)
    later = datetime(2026, 12, 28, tzinfo=UTC)
    with session_scope(store_url) as s:
        c = service.update_campaign(s, "acme", campaign_id, service.CampaignUpdate(budget=Decimal("1200"), end_date=later), actor="bob")
        assert (c.budget, c.end_date) == (Decimal("1200"), later)
        unchanged = service.update_campaign(s, "acme", campaign_id, service.CampaignUpdate(start_date=START), actor="bob")  # same value: fine
        assert unchanged.start_date == START
    with session_scope(store_url) as s, pytest.raises(TransitionError, match="cannot change start_date of a ACTIVE campaign: it has already started"):
        service.update_campaign(s, "acme", campaign_id, service.CampaignUpdate(start_date=datetime(2026, 12, 2, tzinfo=UTC)), actor="bob")
    with session_scope(store_url) as s, pytest.raises(TransitionError, match="keeps its dates and budget"):
        service.update_campaign(s, "acme", campaign_id, service.CampaignUpdate(budget=None), actor="bob")


def test_duplicate_copies_a_finished_campaign_as_a_draft_without_dates(store_url: str) -> None:
    campaign_id = _active(store_url)
    with session_scope(store_url) as s:
        service.transition(s, "acme", campaign_id, "complete", "ana")
        with pytest.raises(TransitionError, match="completed campaigns are final"):
            service.update_campaign(s, "acme", campaign_id, service.CampaignUpdate(name="Again"), actor="bob")
        first = service.duplicate_campaign(s, "acme", campaign_id, "bob")
        second = service.duplicate_campaign(s, "acme", campaign_id, "bob")
        named = service.duplicate_campaign(s, "acme", campaign_id, "bob", name="Winter 2027")
        assert (first.name, second.name, named.name) == ("Winter (copy)", "Winter (copy) 2", "Winter 2027")
        assert (first.status, first.type.value, first.channels, first.budget, first.goals) == (S.DRAFT, "CONVERSION", ["x"], Decimal("900"), {"kpi": "roas"})
        assert first.start_date is None and first.end_date is None
        assert [e.details["source"] for e in entries(s, "acme", entity_id=first.id) if e.action == "campaign.duplicate"] == [campaign_id]
    with session_scope(store_url) as s, pytest.raises(service.CampaignNotFoundError):
        service.duplicate_campaign(s, "globex", campaign_id, "eve")  # another merchant's campaign does not exist for globex
