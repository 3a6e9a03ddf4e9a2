"""Data protection: export of everything held about a person, and erasure scanned across every table of the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns.audiences import privacy
from campaigns.audiences.contact_import import import_contacts
from campaigns.audiences.contacts import ConsentInput, record_consent
from campaigns.audiences.events import record_event
from campaigns.audiences.suppression import suppressed_emails, unsubscribe_contacts, add_suppression
from campaigns.core.audit import entries, record
from campaigns.core.problems import ImportValidationError
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import (
    Automation,
    AutomationEnrollment,
    Base,
    Contact,
    ContactEvent,
    EmailCampaign,
    EmailSend,
    Segment,
    Suppression,
)

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
EMAIL, FIRST, LAST, ATTRIBUTE = "Zoe.Quintero@Example.org", "Zoeline", "Quinterova", "platinum-hummingbird"


@pytest.fixture
def person(store_url: str) -> int:
    """One person spread over many tables: contact, consent, events, a sent email, an automation run, audit entries."""
    with session_scope(store_url) as s:
        contact = Contact(merchant_id="acme", email=EMAIL, first_name=FIRST, last_name=LAST, tags=["vip"], attributes={"tier": ATTRIBUTE})
        other = Contact(merchant_id="acme", email="keep@example.org", first_name="Keep", attributes={"tier": "bronze"})
        s.add_all([contact, other])
        s.flush()
        record_consent(s, contact, True, ConsentInput("checkout opt-in", "news by email", NOW, ip="203.0.113.9", user_agent="Firefox"), actor="test")
        record_event(s, "acme", contact.id, "purchased", NOW, value=42, details={"order": "A-1", "email": EMAIL.lower()})
        record_event(s, "acme", other.id, "opened", NOW)
        ec = EmailCampaign(merchant_id="acme", subject="Spring")
        s.add(ec)
        s.flush()
        s.add(EmailSend(merchant_id="acme", email_campaign_id=ec.id, contact_id=contact.id, email=EMAIL, idempotency_key="es_zoe",
                        merge_values={"first_name": FIRST, "last_name": LAST, "tier": ATTRIBUTE}, reason=f"bounced for {EMAIL}"))
        automation = Automation(merchant_id="acme", name="Welcome", trigger={"type": "signup"}, steps={})
        s.add(automation)
        s.flush()
        s.add(AutomationEnrollment(merchant_id="acme", automation_id=automation.id, contact_id=contact.id, trigger_key="signup",
                                   context={"first_name": FIRST}))
        s.add(Segment(merchant_id="acme", name="VIPs", rules={"all": [{"field": "tags", "op": "contains", "value": "vip"}]}))
        record(s, "acme", "test", "contact.note", "contact", str(contact.id), first_name=FIRST)
        add_suppression(s, "acme", EMAIL, "BOUNCED", actor="webhook", source=f"bounce of {EMAIL}")
        return contact.id


def _clear_text_hits(url: str, *needles: str) -> list[str]:
    """Every (table, column) of the store whose value holds one of `needles`, case-insensitively."""
    hits = []
    with session_scope(url) as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).mappings():
                for column, value in row.items():
                    rendered = json.dumps(value, default=str, ensure_ascii=False).lower() if not isinstance(value, str) else value.lower()
                    hits += [f"{table.name}.{column}" for n in needles if n.lower() in rendered]
    return hits


def test_export_data_holds_everything_about_the_person(store_url: str, person: int) -> None:
    with session_scope(store_url) as s:
        data = privacy.export_data(s, "acme", "zoe.quintero@EXAMPLE.org", actor="dpo", now=NOW)
    [held] = data["contacts"]
    assert held["contact"]["first_name"] == FIRST and held["contact"]["attributes"] == {"tier": ATTRIBUTE}
    assert [(c["granted"], c["source"], c["ip"]) for c in held["consent_history"]] == [(True, "checkout opt-in", "203.0.113.9")]
    assert [e["kind"] for e in held["events"]] == ["purchased"]
    assert held["emails_sent"][0]["merge_values"]["first_name"] == FIRST
    assert held["segments"] == [{"id": held["segments"][0]["id"], "name": "VIPs"}]
    assert held["automations"][0]["status"] == "ACTIVE" and data["suppressed"] == "BOUNCED" and data["erased_before"] is False
    json.loads(privacy.to_json(data))
    with session_scope(store_url) as s:
        assert entries(s, "acme")[0].action == "contact.export_data"


def test_erase_leaves_no_clear_personal_data_in_any_table(store_url: str, person: int, tmp_path: Path) -> None:
    assert _clear_text_hits(store_url, EMAIL, FIRST, LAST, ATTRIBUTE)  # the scan does find them before
    with session_scope(store_url) as s:
        result = privacy.erase(s, "acme", EMAIL.upper(), actor="dpo")
    assert (result.contacts, result.events_anonymised, result.sends_cleared) == (1, 1, 1)
    assert _clear_text_hits(store_url, EMAIL, FIRST, LAST, ATTRIBUTE) == []
    with session_scope(store_url) as s:
        husk = s.get(Contact, person)
        assert husk.status == "erased" and not husk.subscribed and husk.email == f"erased-{person}@erased.invalid"
        # events kept for the counts and revenue, detached from the person
        event = s.scalar(select(ContactEvent).where(ContactEvent.contact_id == person))
        assert event.kind == "purchased" and event.value == 42 and event.details == {}
        # the other contact is untouched
        keep = s.scalar(select(Contact).where(Contact.email == "keep@example.org"))
        assert keep.first_name == "Keep" and keep.attributes == {"tier": "bronze"}
        # the address is suppressed as a salted hash only
        [row] = s.scalars(select(Suppression).where(Suppression.merchant_id == "acme")).all()
        assert row.email.startswith("erased:") and row.source == "erasure"
        assert s.scalar(select(EmailSend.email)) == "[erased]"
        assert entries(s, "acme")[0].action == "contact.erase"
        # export after erasure: nothing about the person, and it says the address was erased
        data = privacy.export_data(s, "acme", EMAIL, actor="dpo", now=NOW)
        assert data["contacts"] == [] and data["erased_before"] is True
    # a later import of the address is refused as suppressed, naming the row
    path = tmp_path / "again.csv"
    path.write_text(f"email,first_name\nnew@example.org,New\n{EMAIL.lower()},{FIRST}\n", encoding="utf-8")
    with session_scope(store_url) as s, pytest.raises(ImportValidationError, match=r"row 2 \(line 3\), column 'email': this person's data was erased"):
        import_contacts(s, "acme", path)
    assert _clear_text_hits(store_url, FIRST) == []
    # erasing again is harmless; a stranger is refused with the fix
    with session_scope(store_url) as s:
        assert privacy.erase(s, "acme", EMAIL, actor="dpo").contacts == 0
    with session_scope(store_url) as s, pytest.raises(privacy.NobodyToErase, match="holds nothing about"):
        privacy.erase(s, "acme", "nobody@example.org", actor="dpo")


def test_erase_is_scoped_to_the_merchant(store_url: str, person: int) -> None:
    with session_scope(store_url) as s:
        s.add(Contact(merchant_id="globex", email=EMAIL, first_name=FIRST))
    with session_scope(store_url) as s:
        privacy.erase(s, "acme", EMAIL, actor="dpo")
    with session_scope(store_url) as s:
        assert s.scalar(select(Contact.first_name).where(Contact.merchant_id == "globex")) == FIRST
        assert suppressed_emails(s, "globex", [EMAIL]) == {}


def test_unsubscribe_keeps_a_withdrawal_in_the_consent_history(store_url: str, person: int) -> None:
    with session_scope(store_url) as s:
        unsubscribe_contacts(s, "acme", EMAIL.lower(), "recipient", why="one-click")
        data = privacy.export_data(s, "acme", EMAIL, actor="dpo", now=NOW)
    assert [(c["granted"], c["source"]) for c in data["contacts"][0]["consent_history"]][-1] == (False, "one-click")



def test_an_address_only_on_the_suppression_list_is_hashed_too(store_url: str) -> None:
    with session_scope(store_url) as s:
        add_suppression(s, "acme", "Old@Example.org", "UNSUBSCRIBED", actor="recipient", note="left in 2024")
    with session_scope(store_url) as s:
        result = privacy.erase(s, "acme", "old@example.org", actor="dpo")
    assert result.contacts == 0 and result.values_redacted >= 1  # the unsubscribe's audit entry named the address
    assert _clear_text_hits(store_url, "old@example.org") == []
    with session_scope(store_url) as s:
        assert suppressed_emails(s, "acme", ["old@example.org"]) == {}
        assert privacy.export_data(s, "acme", "OLD@example.org", actor="dpo", now=NOW)["erased_before"] is True
