"""Email results: delivery counts from the ledger, engagement as distinct contacts, rates per delivered email."""

from datetime import UTC, datetime
from decimal import Decimal

from campaigns.core.enums import CampaignType, EmailCampaignStatus
from campaigns.email.results import email_results
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Campaign, Contact, ContactEvent, EmailCampaign, EmailSend, EmailSendStatus

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _setup(url: str) -> tuple[int, int]:
    with session_scope(url) as s:
        s.add(Campaign(id="cmp_mail", merchant_id="acme", name="Mail", type=CampaignType.CONVERSION))
        s.add(Campaign(id="cmp_other", merchant_id="globex", name="Other", type=CampaignType.CONVERSION))
        contacts = [Contact(merchant_id="acme", email=f"c{i}@example.com") for i in range(5)]
        outsider = Contact(merchant_id="globex", email="g@example.com")
        s.add_all([*contacts, outsider])
        s.flush()
        first = EmailCampaign(merchant_id="acme", campaign_id="cmp_mail", subject="First", status=EmailCampaignStatus.SENT, created_at=T0)
        second = EmailCampaign(merchant_id="acme", campaign_id="cmp_mail", subject="Second", status=EmailCampaignStatus.DRAFT,
                               created_at=T0.replace(day=21))
        theirs = EmailCampaign(merchant_id="globex", campaign_id="cmp_other", subject="Theirs", status=EmailCampaignStatus.SENT)
        s.add_all([first, second, theirs])
        s.flush()
        statuses = [EmailSendStatus.SENT, EmailSendStatus.SENT, EmailSendStatus.SENT, EmailSendStatus.SUPPRESSED, EmailSendStatus.FAILED]
        for i, (contact, status) in enumerate(zip(contacts, statuses, strict=True)):
            s.add(EmailSend(merchant_id="acme", email_campaign_id=first.id, contact_id=contact.id, email=contact.email,
                            idempotency_key=f"k{i}", status=status))
        s.add(EmailSend(merchant_id="globex", email_campaign_id=theirs.id, contact_id=outsider.id, email=outsider.email,
                        idempotency_key="g", status=EmailSendStatus.SENT))
        events = [
            # contact 0 opens twice and clicks once; contact 1 opens and buys twice; contact 2 does nothing
            (contacts[0], "opened", None), (contacts[0], "opened", None), (contacts[0], "clicked", None),
            (contacts[1], "opened", None), (contacts[1], "purchased", Decimal("40.00")), (contacts[1], "purchased", Decimal("2.50")),
        ]
        for n, (contact, kind, value) in enumerate(events):
            s.add(ContactEvent(merchant_id="acme", contact_id=contact.id, kind=kind, occurred_at=T0, email_campaign_id=first.id,
                               value=value, event_key=f"e{n}"))
        # an open of another merchant's email must not leak in
        s.add(ContactEvent(merchant_id="globex", contact_id=outsider.id, kind="opened", occurred_at=T0, email_campaign_id=theirs.id))
        return first.id, second.id


def test_counts_and_rates_by_hand(store_url: str) -> None:
    first_id, second_id = _setup(store_url)
    with session_scope(store_url) as s:
        results = email_results(s, "acme")
    assert [r.email_campaign_id for r in results] == [second_id, first_id]  # newest first
    empty, first = results
    assert (empty.recipients, empty.sent, empty.opened, empty.open_rate) == (0, 0, 0, None)
    assert (first.recipients, first.sent, first.suppressed, first.failed, first.waiting) == (5, 3, 1, 1, 0)
    assert (first.opened, first.clicked, first.purchased) == (2, 1, 1)
    assert first.revenue == Decimal("42.50")
    assert first.open_rate == 2 / 3 and first.click_rate == 1 / 3 and first.conversion_rate == 1 / 3
    assert first.to_dict()["open_rate"] == 2 / 3


def test_scoped_to_merchant_and_campaign(store_url: str) -> None:
    _setup(store_url)
    with session_scope(store_url) as s:
        assert [r.subject for r in email_results(s, "globex")] == ["Theirs"]
        assert email_results(s, "acme", campaign_id="cmp_none") == []
