"""Broadcasts with a send window: rows wait for each contact's hour, the scheduled job sends them when due, once."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from assets.resources import CampaignsResource
from campaigns.lifecycle import service as campaign_service
from campaigns.email import broadcasts, recipients
from campaigns.core.merchants import ensure_merchant
from campaigns.audiences.segments import save_segment
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, EmailSend, EmailSendStatus
from pipelines.email_sends import deliver_due_broadcasts, due_broadcasts, scheduled_emails_sensor
from publishers.sandbox import read_outbox


def test_rows_wait_for_their_hour_then_go_once(home, monkeypatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    settings = get_settings()
    migrate(settings.store_url)
    resource = CampaignsResource(home=str(home))
    now = datetime.now(UTC).replace(microsecond=0)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com", first_name=f"P{i}") for i in range(6)])
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        ec = broadcasts.create_email_campaign(s, "acme", campaign_id=campaign.id, segment_id=segment.id, subject="Hi", actor="ana",
                                            send_window_hours=24)
        recipients.prepare_send(s, "acme", ec.id, "ana", now=now, provider="sandbox")
        ec_id = ec.id
        # pin the plan by hand: two rows due now, four in three hours
        ids = list(s.scalars(select(EmailSend.id).where(EmailSend.email_campaign_id == ec_id).order_by(EmailSend.id)))
        s.execute(update(EmailSend).where(EmailSend.id.in_(ids[:2])).values(next_attempt_at=now - timedelta(minutes=1)))
        s.execute(update(EmailSend).where(EmailSend.id.in_(ids[2:])).values(next_attempt_at=now + timedelta(hours=3)))

    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        assert isinstance(scheduled_emails_sensor(context), dg.RunRequest)
    first = deliver_due_broadcasts(settings, "w1", now)
    assert first.metadata == {"campaigns": 1, "sent": 2, "failed": 0, "stopped": 0} and first.problems == [] and first.warnings == []
    assert due_broadcasts(settings.store_url, now) == []  # nothing else is due yet
    assert deliver_due_broadcasts(settings, "w1", now).metadata["campaigns"] == 0
    later = now + timedelta(hours=3, minutes=1)
    assert due_broadcasts(settings.store_url, later) == [("acme", ec_id)]
    assert deliver_due_broadcasts(settings, "w2", later).metadata["sent"] == 4
    assert deliver_due_broadcasts(settings, "w3", later + timedelta(hours=1)).metadata["campaigns"] == 0
    with session_scope(settings.store_url) as s:
        statuses = list(s.scalars(select(EmailSend.status).where(EmailSend.email_campaign_id == ec_id)))
        assert statuses == [EmailSendStatus.SENT] * 6
        assert broadcasts.get_email_campaign(s, "acme", ec_id).status.value == "SENT"
    emails = [r["email"] for e in read_outbox(home / "outbox" / "email.jsonl") for r in e["recipients"]]
    assert sorted(emails) == [f"p{i}@example.com" for i in range(6)]
