"""Contacts: normalising addresses, finding, searching, edits with consent, deletion and export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaigns.audiences import contacts as service
from campaigns.core.audit import entries
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactEvent

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "expected"), [(" Ana.Lopez@Example.COM ", "Ana.Lopez@example.com"), ("a+b@sub.example.co.uk", "a+b@sub.example.co.uk")])
def test_addresses_keep_their_local_part_and_lower_case_the_domain(raw: str, expected: str) -> None:
    assert service.normalise_address(raw) == expected


@pytest.mark.parametrize("raw", ["", "ana", "ana@", "@example.com", "Ana <ana@example.com>", "a b@example.com", "ana@example", "a@-x.com",
                                 "x" * 320 + "@example.com"])
def test_bad_addresses_name_the_fix(raw: str) -> None:
    with pytest.raises(service.ContactError, match="ana@example.com|at most 320"):
        service.normalise_address(raw)


def test_checks() -> None:
    assert service.check_time_zone(" Europe/Paris ") == "Europe/Paris"
    with pytest.raises(service.ContactError, match="IANA"):
        service.check_time_zone("CEST")
    assert service.check_tags([" a", "", "b", "a"]) == ["a", "b"]
    with pytest.raises(service.ContactError, match="longer than"):
        service.check_tags(["x" * 61])
    with pytest.raises(service.ContactError, match="lower-case"):
        service.check_attribute_name("Tier")


@pytest.fixture
def people(store_url: str) -> str:
    with session_scope(store_url) as s:
        s.add_all([Contact(merchant_id="acme", email="ana@example.com", first_name="Ana", tags=["vip"], subscribed=False),
                   Contact(merchant_id="acme", email="bo_x@example.com", first_name="Bo", last_name="Lund"),
                   Contact(merchant_id="acme", email="gone@example.com", status="erased"),
                   Contact(merchant_id="globex", email="ana@example.com", first_name="Other")])
    return store_url


def test_find_get_and_search(people: str) -> None:
    with session_scope(people) as s:
        ana = service.find_contact(s, "acme", "ANA@example.com")
        assert ana is not None and ana.first_name == "Ana"
        assert service.get_contact(s, "acme", str(ana.id)).id == ana.id
        assert service.get_contact(s, "acme", "Ana@Example.com").id == ana.id
        for ref in ("999", "nobody@example.com", "gone@example.com", "not an id"):
            with pytest.raises(service.ContactNotFoundError, match="campaigns contacts list"):
                service.get_contact(s, "acme", ref)
        rows, total = service.list_contacts(s, "acme")
        assert total == 2 and [c.email for c in rows] == ["ana@example.com", "bo_x@example.com"]
        assert [c.first_name for c in service.list_contacts(s, "acme", "LUND")[0]] == ["Bo"]
        assert [c.first_name for c in service.list_contacts(s, "acme", "vip")[0]] == ["Ana"]
        # _ and % are searched literally
        assert [c.first_name for c in service.list_contacts(s, "acme", "o_x")[0]] == ["Bo"]
        assert service.list_contacts(s, "acme", "%")[1] == 0
        assert service.list_contacts(s, "acme", limit=1, offset=1)[0][0].first_name == "Bo"


def test_update_records_consent_and_tag_events(people: str) -> None:
    with session_scope(people) as s:
        changes = service.ContactChanges(first_name=" Anna ", timezone="Europe/Madrid", tags=["vip", "newsletter"],
                                         attributes={"tier": "gold"}, subscribed=True, consent_source="phone call")
        contact, changed = service.update_contact(s, "acme", "ana@example.com", changes, actor="ops", now=NOW)
        assert changed == ["first_name", "timezone", "tags", "attributes", "subscribed"]
        assert (contact.first_name, contact.timezone, contact.tags, contact.attributes, contact.subscribed) == (
            "Anna", "Europe/Madrid", ["vip", "newsletter"], {"tier": "gold"}, True)
        [consent] = service.consent_history(s, "acme", contact.id)
        assert (consent.granted, consent.source, consent.recorded_by) == (True, "phone call", "ops")
        events = s.scalars(select(ContactEvent).where(ContactEvent.contact_id == contact.id)).all()
        assert [(e.kind, e.details) for e in events] == [("tag_added", {"tag": "newsletter"})]
        assert entries(s, "acme")[0].action == "contact.update" and entries(s, "acme")[0].details == {"fields": changed}
        assert service.update_contact(s, "acme", contact.id, changes, actor="ops")[1] == []
        _, changed = service.update_contact(s, "acme", contact.id, service.ContactChanges(attributes={"tier": None}, subscribed=False), actor="ops")
        assert changed == ["attributes", "subscribed"] and contact.attributes == {}
        assert [c.granted for c in service.consent_history(s, "acme", contact.id)] == [True, False]


@pytest.mark.parametrize(("changes", "message"), [
    (service.ContactChanges(subscribed=True), "needs their consent"),
    (service.ContactChanges(timezone="Moon/Base"), "IANA"),
    (service.ContactChanges(last_name="x" * 101), "at most 100"),
    (service.ContactChanges(attributes={"Bad Name": 1}), "lower-case"),
])
def test_bad_edits_name_the_fix(people: str, changes: service.ContactChanges, message: str) -> None:
    with session_scope(people) as s, pytest.raises(service.ContactError, match=message):
        service.update_contact(s, "acme", "ana@example.com", changes, actor="ops")


def test_consent_needs_a_source_and_a_zone(people: str) -> None:
    with session_scope(people) as s:
        ana = service.find_contact(s, "acme", "ana@example.com")
        with pytest.raises(service.ContactError, match="consent source is empty"):
            service.record_consent(s, ana, True, service.ConsentInput(" "), actor="ops")
        with pytest.raises(service.ContactError, match="no time zone"):
            service.record_consent(s, ana, True, service.ConsentInput("form", occurred_at=datetime(2026, 1, 1)), actor="ops")


def test_delete_and_export(people: str) -> None:
    with session_scope(people) as s:
        bo = service.find_contact(s, "acme", "bo_x@example.com")
        service.record_consent(s, bo, True, service.ConsentInput("form", occurred_at=NOW), actor="ops")
        bo.attributes = {"tier": "gold", "vip": True}
        rows = service.export_rows(s, "acme")
        assert [r["email"] for r in rows] == ["ana@example.com", "bo_x@example.com"]
        assert rows[1] == {"email": "bo_x@example.com", "first_name": "Bo", "last_name": "Lund", "timezone": "UTC", "tags": "", "subscribed": "true",
                           "consent_source": "form", "consented_at": NOW.isoformat(), "attr_tier": "gold", "attr_vip": "true"}
        assert rows[0]["attr_tier"] == "" and rows[0]["consent_source"] == ""
        assert service.delete_contact(s, "acme", "ana@example.com", actor="ops") > 0
        assert entries(s, "acme")[0].action == "contact.delete"
        assert service.list_contacts(s, "acme")[1] == 1
        assert service.list_contacts(s, "globex")[1] == 1
