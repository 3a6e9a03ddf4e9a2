"""Broadcasts from the app's services: the live audience size is the snapshot's size, schedule and take back, send now,
and due scheduled broadcasts started once (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from campaigns.audiences.segments import save_segment
from campaigns.audiences.suppression import add_suppression
from campaigns.core.audit import entries
from campaigns.core.enums import CampaignStatus, EmailCampaignStatus
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Campaign, Contact, EmailSend, EmailSendStatus, SuppressionReason
from campaigns.email import broadcasts, recipients, scheduling
from campaigns.email.errors import EmailDeliveryError, EmailFieldError
from campaigns.lifecycle import service as campaign_service

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(home=tmp_path / "home", token_key=Fernet.generate_key().decode(), **overrides)


def _seed(url: str) -> int:
    """Seven contacts, of whom four are reachable (one suppressed, one unsubscribed, one unconfirmed, one a duplicate mailbox)."""
    with session_scope(url) as s:
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com", first_name=f"P{i}") for i in range(4)])
        s.add_all([Contact(merchant_id="acme", email="P0@Example.com"),  # the same mailbox as p0: one copy
                   Contact(merchant_id="acme", email="gone@example.com", subscribed=False),
                   Contact(merchant_id="acme", email="new@example.com", status="pending"),
                   Contact(merchant_id="acme", email="blocked@example.com")])
        s.flush()
        add_suppression(s, "acme", "blocked@example.com", SuppressionReason.BOUNCED, actor="ana", source="test")
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return broadcasts.create_email_campaign(s, "acme", campaign_id=campaign.id, segment_id=segment.id, subject="Hi {{ first_name }}",
                                                actor="ana").id


def test_live_size_is_what_the_snapshot_sends(store_url: str) -> None:
    ec_id = _seed(store_url)
    with session_scope(store_url) as s:
        segment_id = broadcasts.get_email_campaign(s, "acme", ec_id).segment_id
        size = recipients.audience_size(s, "acme", segment_id, T0)
        assert (size.reachable, size.total) == (4, 7)
        assert size.excluded == {"bounced": 1, "unsubscribed": 1, "no_consent": 1}
        result = recipients.prepare_send(s, "acme", ec_id, "ana", now=T0, provider="sandbox")
    assert result.counts["pending"] == size.reachable and result.counts["suppressed"] == sum(size.excluded.values())
    with session_scope(store_url) as s, pytest.raises(EmailDeliveryError, match="segment 999 does not exist"):
        recipients.audience_size(s, "acme", 999, T0)


def test_schedule_checks_the_time_and_state_then_takes_it_back(store_url: str) -> None:
    ec_id = _seed(store_url)
    with session_scope(store_url) as s:
        with pytest.raises(EmailFieldError, match="not in the future") as past:
            scheduling.schedule_broadcast(s, "acme", ec_id, T0 - timedelta(minutes=1), "ana", now=T0)
        assert past.value.field == "send_at"
        with pytest.raises(EmailFieldError, match="time zone"):
            scheduling.schedule_broadcast(s, "acme", ec_id, datetime(2026, 11, 25, 9), "ana", now=T0)
        with pytest.raises(EmailFieldError, match="a year ahead"):
            scheduling.schedule_broadcast(s, "acme", ec_id, T0 + timedelta(days=400), "ana", now=T0)
        ec = scheduling.schedule_broadcast(s, "acme", ec_id, T0 + timedelta(hours=2), "ana", now=T0)
        assert ec.status is EmailCampaignStatus.SCHEDULED and ec.scheduled_at == T0 + timedelta(hours=2)
        assert s.scalar(select(func.count()).select_from(EmailSend)) == 0  # nothing snapshotted before its time
        assert scheduling.due_scheduled(s, T0 + timedelta(hours=1)) == []
        assert scheduling.due_scheduled(s, T0 + timedelta(hours=2)) == [("acme", ec_id)]
        ec = scheduling.unschedule_broadcast(s, "acme", ec_id, "ana")
        assert ec.status is EmailCampaignStatus.DRAFT and ec.scheduled_at is None
        with pytest.raises(EmailDeliveryError, match="not SCHEDULED"):
            scheduling.unschedule_broadcast(s, "acme", ec_id, "ana")
        assert [e.action for e in entries(s, "acme") if e.action.startswith("email.") and "schedule" in e.action] == ["email.unschedule", "email.schedule"]
        s.scalar(select(Campaign).where(Campaign.merchant_id == "acme")).status = CampaignStatus.CANCELLED
        with pytest.raises(EmailDeliveryError, match="CANCELLED, which is final"):
            scheduling.schedule_broadcast(s, "acme", ec_id, T0 + timedelta(hours=2), "ana", now=T0)
    with session_scope(store_url) as s, pytest.raises(LookupError):
        scheduling.schedule_broadcast(s, "globex", ec_id, T0 + timedelta(hours=2), "ana", now=T0)  # another merchant's email is not found


def test_send_now_takes_no_snapshot_when_the_provider_is_not_configured(store_url: str, tmp_path) -> None:
    ec_id = _seed(store_url)
    with session_scope(store_url) as s, pytest.raises(EmailDeliveryError, match="CAMPAIGNS_SENDGRID_API_KEY"):
        scheduling.send_now(s, _settings(tmp_path, email_provider="sendgrid"), "acme", ec_id, "ana", now=T0)
    with session_scope(store_url) as s:
        assert s.scalar(select(func.count()).select_from(EmailSend)) == 0
        assert broadcasts.get_email_campaign(s, "acme", ec_id).status is EmailCampaignStatus.DRAFT
        result = scheduling.send_now(s, _settings(tmp_path), "acme", ec_id, "ana", now=T0)
    assert result.added == 7 and result.counts["pending"] == 4


def test_due_scheduled_broadcasts_start_once_and_a_paused_campaign_waits(store_url: str, tmp_path) -> None:
    ec_id = _seed(store_url)
    settings = _settings(tmp_path)
    with session_scope(store_url) as s:
        scheduling.schedule_broadcast(s, "acme", ec_id, T0 + timedelta(hours=1), "ana", now=T0)
        s.scalar(select(Campaign).where(Campaign.merchant_id == "acme")).status = CampaignStatus.PAUSED
    due = T0 + timedelta(hours=1, minutes=1)
    assert scheduling.start_due_broadcasts(store_url, settings, T0, "w1").started == []  # not yet
    assert scheduling.start_due_broadcasts(store_url, settings, due, "w1").started == []  # held while paused
    with session_scope(store_url) as s:
        s.scalar(select(Campaign).where(Campaign.merchant_id == "acme")).status = CampaignStatus.ACTIVE
    first = scheduling.start_due_broadcasts(store_url, settings, due, "w1")
    again = scheduling.start_due_broadcasts(store_url, settings, due, "w2")
    assert (first.started, first.problems, again.started) == ([ec_id], [], [])
    with session_scope(store_url) as s:
        rows = list(s.scalars(select(EmailSend.status).where(EmailSend.email_campaign_id == ec_id)))
        assert rows.count(EmailSendStatus.PENDING) == 4 and len(rows) == 7
        assert broadcasts.get_email_campaign(s, "acme", ec_id).status is EmailCampaignStatus.SENDING


def test_a_due_broadcast_that_cannot_start_stays_scheduled_and_says_why(store_url: str, tmp_path) -> None:
    ec_id = _seed(store_url)
    with session_scope(store_url) as s:
        scheduling.schedule_broadcast(s, "acme", ec_id, T0 + timedelta(hours=1), "ana", now=T0)
    report = scheduling.start_due_broadcasts(store_url, _settings(tmp_path, email_provider="mailgun"), T0 + timedelta(hours=2), "w1")
    assert report.started == [] and "CAMPAIGNS_MAILGUN_API_KEY" in report.problems[0] and f"email campaign {ec_id}" in report.problems[0]
    with session_scope(store_url) as s:
        assert broadcasts.get_email_campaign(s, "acme", ec_id).status is EmailCampaignStatus.SCHEDULED


def test_under_the_four_eyes_rule_a_new_email_waits_for_a_second_person_instead_of_being_refused(store_url: str) -> None:
    from campaigns.access.users import set_four_eyes
    from campaigns.content.approvals import FourEyesError

    with session_scope(store_url) as s:
        campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Spring", type="CONVERSION"), actor="ana")
        set_four_eyes(s, "acme", True, "owner")
    ec_id = _seed(store_url)  # created by ana, who would have approved her own version without the rule
    with session_scope(store_url) as s:
        ec = broadcasts.get_email_campaign(s, "acme", ec_id)
        assert not broadcasts.is_approved(s, ec)
        broadcasts.update_email_campaign(s, "acme", ec_id, {"subject": "Hello {{ first_name }}"}, actor="ana")
        assert not broadcasts.is_approved(s, ec)
        with pytest.raises(FourEyesError):
            broadcasts.approve_email_campaign(s, "acme", ec_id, actor="ana")
    with session_scope(store_url) as s:
        broadcasts.approve_email_campaign(s, "acme", ec_id, actor="bo")
        assert broadcasts.is_approved(s, broadcasts.get_email_campaign(s, "acme", ec_id))


def test_a_large_snapshot_refreshes_the_send_tables_statistics_on_postgresql(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    if not store_url.startswith("postgresql"):
        pytest.skip("ANALYZE after a snapshot is PostgreSQL's (SQLite plans without table statistics here)")
    monkeypatch.setattr(recipients, "ANALYZE_AFTER", 3)
    ec_id = _seed(store_url)
    with session_scope(store_url) as s:
        assert s.scalar(text("select reltuples from pg_class where relname = 'email_sends'")) < 0  # never analysed yet
        result = recipients.prepare_send(s, "acme", ec_id, "ana", now=T0, provider="sandbox")
    with session_scope(store_url) as s:
        # the planner now knows the rows the workers are about to claim (the claim then walks ix_email_sends_claim_order)
        assert s.scalar(text("select reltuples from pg_class where relname = 'email_sends'")) == result.counts["pending"] + result.counts["suppressed"]
