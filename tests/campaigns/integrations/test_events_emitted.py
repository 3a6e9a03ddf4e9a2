"""The services write their events to the outbox in the same transaction as the change."""

from datetime import UTC, datetime

from sqlalchemy import select

from campaigns.audiences.suppression import record_bounce, unsubscribe_contacts
from campaigns.content.approvals import KIND_CONTENT, approve
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, OutboxEvent
from campaigns.lifecycle import service as svc


def _events(store_url: str, merchant: str = "acme") -> list[tuple[str, dict]]:
    with session_scope(store_url) as s:
        return [(e.type, e.payload) for e in s.scalars(select(OutboxEvent).where(OutboxEvent.merchant_id == merchant).order_by(OutboxEvent.id))]


def test_status_changes_approvals_bounces_and_unsubscribes_are_emitted_once(store_url) -> None:
    with session_scope(store_url) as s:
        cid = svc.create_campaign(s, "acme", svc.CampaignInput(
            name="Winter", type="CONVERSION", channels=["email"], budget=100,
            start_date=datetime(2026, 12, 1, tzinfo=UTC), end_date=datetime(2026, 12, 31, tzinfo=UTC)), actor="ana").id
        svc.launch_campaign(s, "acme", cid, actor="ana")
        svc.pause_campaign(s, "acme", cid, actor="ana")
        s.add(Contact(merchant_id="acme", email="Ann@Example.com"))
    with session_scope(store_url) as s:
        approve(s, "acme", KIND_CONTENT, 7, "a" * 64, actor="bo")
        approve(s, "acme", KIND_CONTENT, 7, "a" * 64, actor="bo")  # the same version again: no second event
        record_bounce(s, "acme", "gone@example.com", source="sendgrid")
        record_bounce(s, "acme", "gone@example.com", source="sendgrid")
        unsubscribe_contacts(s, "acme", "ann@example.com", "link", why="one-click")
        unsubscribe_contacts(s, "acme", "ann@example.com", "link", why="one-click")
    events = _events(store_url)
    assert [t for t, _ in events] == ["campaign.status_changed", "campaign.status_changed", "content.approved", "email.bounced",
                                      "contact.unsubscribed"]
    assert events[0][1] == {"campaign_id": cid, "name": "Winter", "action": "launch", "from": "DRAFT", "to": "ACTIVE"}
    assert events[2][1]["approved_by"] == "bo" and events[3][1]["email"] == "gone@example.com"
    assert _events(store_url, "globex") == []
