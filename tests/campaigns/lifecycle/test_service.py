"""Campaign services on SQLite and PostgreSQL: scoping, lifecycle, validation and the audit log."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from campaigns.core.enums import CampaignStatus
from campaigns.lifecycle.states import TransitionError
from campaigns.lifecycle import service as svc
from campaigns.core.audit import entries
from campaigns.core.merchants import UnknownMerchantError
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Campaign


def _input(**overrides) -> svc.CampaignInput:
    base = dict(
        name="Winter sale", type="CONVERSION", channels=["email", "google_ads"], budget=5000,
        start_date=datetime(2026, 12, 1, tzinfo=UTC), end_date=datetime(2026, 12, 31, tzinfo=UTC),
    )
    return svc.CampaignInput(**{**base, **overrides})


def test_create_launch_pause_resume_complete_with_audit(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = svc.create_campaign(s, "acme", _input(), actor="ana").id
    for action, expected in [("launch", "ACTIVE"), ("pause", "PAUSED"), ("resume", "ACTIVE"), ("complete", "COMPLETED")]:
        with session_scope(store_url) as s:
            assert svc.transition(s, "acme", cid, action, actor="ana").status.value == expected
    with session_scope(store_url) as s:
        actions = [e.action for e in reversed(entries(s, "acme", cid))]
        assert actions == ["campaign.create", "campaign.launch", "campaign.pause", "campaign.resume", "campaign.complete"]
        assert entries(s, "acme", cid)[0].details == {"before": "ACTIVE", "after": "COMPLETED"}
        with pytest.raises(TransitionError, match="COMPLETED"):
            svc.launch_campaign(s, "acme", cid, actor="ana")


def test_every_read_is_scoped_to_one_merchant(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = svc.create_campaign(s, "acme", _input(), actor="ana").id
        svc.create_campaign(s, "globex", _input(name="Globex only"), actor="gus")
    with session_scope(store_url) as s:
        assert [c.name for c in svc.list_campaigns(s, "acme")] == ["Winter sale"]
        with pytest.raises(svc.CampaignNotFoundError):
            svc.get_campaign(s, "globex", cid)
        with pytest.raises(svc.CampaignNotFoundError):
            svc.pause_campaign(s, "globex", cid, actor="gus")


def test_failed_transition_writes_nothing(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = svc.create_campaign(s, "acme", _input(budget=None), actor="ana").id
    with pytest.raises(TransitionError, match="budget"), session_scope(store_url) as s:
        svc.launch_campaign(s, "acme", cid, actor="ana")
    with session_scope(store_url) as s:
        assert svc.get_campaign(s, "acme", cid).status is CampaignStatus.DRAFT
        assert [e.action for e in entries(s, "acme", cid)] == ["campaign.create"]


def test_update_delete_and_duplicates(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = svc.create_campaign(s, "acme", _input(), actor="ana").id
        with pytest.raises(ValueError, match="already exists"):
            svc.create_campaign(s, "acme", _input(), actor="ana")
    with session_scope(store_url) as s:
        updated = svc.update_campaign(s, "acme", cid, svc.CampaignUpdate(budget=7500, name="Winter sale 2"), actor="ana")
        assert float(updated.budget) == 7500.0
        with pytest.raises(ValueError, match="end_date must be after start_date"):
            svc.update_campaign(s, "acme", cid, svc.CampaignUpdate(end_date=datetime(2026, 11, 1, tzinfo=UTC)), actor="ana")
    with session_scope(store_url) as s:
        svc.launch_campaign(s, "acme", cid, actor="ana")
        with pytest.raises(TransitionError, match="only drafts can be deleted"):
            svc.delete_campaign(s, "acme", cid, actor="ana")
    with session_scope(store_url) as s:
        draft = svc.create_campaign(s, "acme", _input(name="Scratch"), actor="ana").id
        svc.delete_campaign(s, "acme", draft, actor="ana")
        assert s.scalar(select(Campaign).where(Campaign.id == draft)) is None


def test_unknown_merchant_and_bad_input(store_url: str) -> None:
    with session_scope(store_url) as s, pytest.raises(UnknownMerchantError, match="unknown merchant 'nobody'"):
        svc.create_campaign(s, "nobody", _input(), actor="ana")
    with pytest.raises(ValidationError, match="unknown channel 'tv'"):
        _input(channels=["tv"])
    with pytest.raises(ValidationError, match="give a time zone"):
        _input(start_date=datetime(2026, 12, 1))
    with pytest.raises(ValidationError, match="end_date must be after start_date"):
        _input(end_date=datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        _input(budget=-1)


def test_times_come_back_in_utc_with_zone(store_url: str) -> None:
    from zoneinfo import ZoneInfo

    berlin = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with session_scope(store_url) as s:
        cid = svc.create_campaign(s, "acme", _input(start_date=berlin), actor="ana").id
    with session_scope(store_url) as s:
        start = svc.get_campaign(s, "acme", cid).start_date
        assert start.utcoffset().total_seconds() == 0 and start.hour == 8
