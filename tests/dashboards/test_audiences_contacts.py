"""Audiences page, Contacts tab: upload (same validation, problems as a table), search, the contact page and its edits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaigns.audiences.events import record_event
from campaigns.audiences.suppression import add_suppression
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, ContactConsent, Segment
from dashboards import contacts_ui, queries
from tests.dashboards.helpers import PAGES, assert_clean

GOOD = ("email,first_name,last_name,timezone,tags,subscribed,consent_source,consented_at,attr_tier\n"
        "ana@example.com,Ana,Lopez,Europe/Madrid,vip,true,checkout opt-in,2026-03-01T10:00:00Z,gold\n"
        "ben@example.com,Ben,,,,,,,\n")


@pytest.fixture
def store(home) -> Settings:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add(Segment(merchant_id="acme", name="VIPs", rules={"all": [{"field": "tags", "op": "contains", "value": "vip"}]}))
    return settings


def _direct(action, service, *args, **kwargs):
    """The service without the app's session check (these calls run outside a script run; the matrix test covers the check)."""
    with session_scope(get_settings().store_url) as session:
        return service(session, *args, **kwargs)


def _upload(name: str, data: bytes, **kwargs):
    with pytest.MonkeyPatch.context() as patch:  # outside a script run there is no signed-in session to check
        patch.setattr(contacts_ui.ui, "write", _direct)
        patch.setattr(contacts_ui.ui, "actor", lambda: "tester@example.com")
        return contacts_ui.import_upload("acme", name, data, **kwargs)


def _contacts_page(app, settings: Settings):
    at = app(settings)
    at.selectbox(key="merchant_select").set_value("acme").run()
    at.switch_page(PAGES["Audiences"]).run()
    assert_clean(at)
    return at


def test_upload_problems_come_back_as_a_table_and_nothing_is_written(store: Settings) -> None:
    queries.clear_store_caches()
    bad = GOOD + "not-an-address,Cat,,Mars/Base,,,,,\n"
    outcome = _upload("people.csv", bad.encode())
    assert outcome.result is None and outcome.total == 2
    assert outcome.problems == [
        {"Row": 3, "Line": 4, "Column": "email", "Problem": "'not-an-address' is not an email address; write it like ana@example.com (one address, no name or spaces)"},
        {"Row": 3, "Line": 4, "Column": "timezone", "Problem": "'Mars/Base' is not an IANA time zone; use a name like Europe/Paris or America/New_York"},
    ]
    with session_scope(store.store_url) as s:
        assert s.scalar(select(Contact.id)) is None
    assert _upload("people.xlsx", b"x").problems[0]["Problem"].endswith("upload a .csv or .parquet file of contacts")
    done = _upload("../../people.csv", GOOD.encode())
    assert done.problems == [] and done.result.created == 2
    again = _upload("people.csv", GOOD.replace("Lopez", "López").encode(), update_existing=True)
    assert again.result.updated == 1


def test_edit_parsing() -> None:
    assert contacts_ui.parse_attributes("tier=gold\n\nold=\nbad line") == ({"tier": "gold", "old": None}, ["line 4 ('bad line'): write name=value, or name= to remove the field"])
    changes, problems = contacts_ui.edit_changes({"attributes": {"tier": "gold", "gone": "x"}}, "A", "B", "UTC", "a;b", "tier=silver", True, "form")
    assert problems == [] and changes.attributes == {"gone": None, "tier": "silver"} and changes.tags == ["a", "b"]
    assert contacts_ui.attributes_text({"b": 1, "a": "x"}) == "a=x\nb=1"


def test_search_open_and_edit_a_contact(store: Settings, app) -> None:
    _upload("people.csv", GOOD.encode())
    with session_scope(store.store_url) as s:
        ana = s.scalar(select(Contact).where(Contact.email == "ana@example.com"))
        record_event(s, "acme", ana.id, "purchased", datetime(2026, 3, 2, tzinfo=UTC), value=30)
        add_suppression(s, "acme", "ben@example.com", "BOUNCED", actor="test")
        ana_id = ana.id
    at = _contacts_page(app, store)
    assert at.metric[0].value == "2"
    at.text_input(key="contacts_search").set_value("lopez").run()
    assert_clean(at)
    assert list(at.dataframe[-1].value["Email"]) == ["ana@example.com"]
    at.selectbox(key="contact_open").set_value(ana_id).run()
    assert_clean(at)
    markdown = " ".join(m.value for m in at.markdown)
    assert "ana@example.com" in markdown and "VIPs" in markdown and "subscribed" in markdown
    consents = [d.value for d in at.dataframe if "Consent" in d.value.columns]
    assert list(consents[0]["Source"]) == ["checkout opt-in"]
    assert any("Event" in d.value.columns and list(d.value["Event"]) == ["purchased"] for d in at.dataframe)
    at.text_input(key=f"contact_{ana_id}_first").set_value("Anna")
    at.text_area(key=f"contact_{ana_id}_attrs").set_value("tier=platinum\nsince=2024")
    at.button(key=f"contact_{ana_id}_save").click().run()
    assert_clean(at)
    assert "Saved first_name, attributes." in [s.value for s in at.success]
    with session_scope(store.store_url) as s:
        ana = s.get(Contact, ana_id)
        assert ana.first_name == "Anna" and ana.attributes == {"tier": "platinum", "since": "2024"}
    # a bad time zone is refused with the fix, nothing written
    at.text_input(key=f"contact_{ana_id}_zone").set_value("Mars/Base")
    at.button(key=f"contact_{ana_id}_save").click().run()
    assert any("IANA" in m.value for m in at.markdown)
    # unsubscribing writes a withdrawal into the consent history
    at.text_input(key=f"contact_{ana_id}_zone").set_value("Europe/Madrid")
    at.checkbox(key=f"contact_{ana_id}_subscribed").uncheck()
    at.button(key=f"contact_{ana_id}_save").click().run()
    assert_clean(at)
    with session_scope(store.store_url) as s:
        assert [c.granted for c in s.scalars(select(ContactConsent).where(ContactConsent.contact_id == ana_id).order_by(ContactConsent.id))] == [True, False]


def test_suppression_shown_and_delete_after_confirming(store: Settings, app) -> None:
    _upload("people.csv", GOOD.encode())
    with session_scope(store.store_url) as s:
        add_suppression(s, "acme", "ben@example.com", "BOUNCED", actor="test")
        ben_id = s.scalar(select(Contact.id).where(Contact.email == "ben@example.com"))
    at = _contacts_page(app, store)
    at.selectbox(key="contact_open").set_value(ben_id).run()
    assert "suppressed: bounced" in " ".join(m.value for m in at.markdown)
    assert any("No consent recorded" in c.value for c in at.caption)
    # subscribing from the page needs where they agreed
    at.checkbox(key=f"contact_{ben_id}_subscribed").check().run()
    at.button(key=f"contact_{ben_id}_save").click().run()
    assert any("needs their consent" in m.value for m in at.markdown)
    at.button(key="contact_delete").click().run()
    at.button(key="contact_delete_confirm").click().run()
    assert_clean(at)
    assert "Deleted ben@example.com." in [s.value for s in at.success]
    with session_scope(store.store_url) as s:
        assert s.get(Contact, ben_id) is None


def test_empty_merchant_says_what_to_do(store: Settings, app) -> None:
    at = _contacts_page(app, store)
    assert any("Import your own in the Contacts tab" in i.value for i in at.info)
    assert any("No contacts yet: import a file above." in c.value for c in at.caption)
