"""Contact events: idempotent recording, tag events and the all-or-nothing CSV import, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns.core.problems import ImportValidationError
from campaigns.audiences import events as ce
from campaigns.audiences import segments as sg
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactEvent, EmailCampaign

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def people(store_url: str) -> dict[str, int]:
    with session_scope(store_url) as s:
        ids = {}
        for merchant, email in (("acme", "Ada@Example.com"), ("acme", "bo@example.com"), ("globex", "gus@example.com")):
            contact = Contact(merchant_id=merchant, email=email, tags=["customer"])
            s.add(contact)
            s.flush()
            ids[email.lower()] = contact.id
        s.add(EmailCampaign(merchant_id="acme", subject="Hello"))
    return ids


def _events(url: str, merchant: str = "acme") -> list[tuple]:
    with session_scope(url) as s:
        rows = s.execute(select(ContactEvent.contact_id, ContactEvent.kind, ContactEvent.occurred_at, ContactEvent.value,
                                ContactEvent.event_key).where(ContactEvent.merchant_id == merchant).order_by(ContactEvent.id)).all()
    return [tuple(r) for r in rows]


def test_an_event_key_is_stored_once(store_url: str, people) -> None:
    ada = people["ada@example.com"]
    with session_scope(store_url) as s:
        assert ce.record_event(s, "acme", ada, "purchased", AT, value=Decimal("49.90"), event_key="order-1") is True
    for _ in range(2):  # a retry, a webhook redelivery: nothing new
        with session_scope(store_url) as s:
            assert ce.record_event(s, "acme", ada, "purchased", AT, value=Decimal("49.90"), event_key="order-1") is False
    with session_scope(store_url) as s:  # the same key in another merchant is another event
        assert ce.record_event(s, "globex", people["gus@example.com"], "opened", AT, event_key="order-1") is True
        # events without a key are never merged
        assert ce.record_event(s, "acme", ada, "opened", AT) and ce.record_event(s, "acme", ada, "opened", AT)
    assert _events(store_url) == [(ada, "purchased", AT, Decimal("49.90"), "order-1"), (ada, "opened", AT, None, None),
                                  (ada, "opened", AT, None, None)]


def test_record_event_refuses_bad_input(store_url: str, people) -> None:
    ada = people["ada@example.com"]
    with session_scope(store_url) as s:
        with pytest.raises(ValueError, match="^kind: unknown event 'open'"):
            ce.record_event(s, "acme", ada, "open", AT)
        with pytest.raises(ValueError, match="^occurred_at: .* no time zone"):
            ce.record_event(s, "acme", ada, "opened", datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="^value: .* negative"):
            ce.record_event(s, "acme", ada, "purchased", AT, value=-1)
        with pytest.raises(LookupError, match="^contact_id: no contact"):
            ce.record_event(s, "globex", ada, "opened", AT)  # ada is acme's
    assert _events(store_url) == []


def test_add_tags_records_one_event_per_new_tag(store_url: str, people) -> None:
    bo = people["bo@example.com"]
    with session_scope(store_url) as s:
        assert ce.add_tags(s, "acme", bo, ["vip", "customer", "vip", " early "], now=AT) == ["vip", "early"]
    with session_scope(store_url) as s:
        assert s.get(Contact, bo).tags == ["customer", "vip", "early"]
        assert ce.add_tags(s, "acme", bo, ["vip"], now=AT) == []
        rules = {"all": [{"event": "tag_added", "op": "within_days", "days": 7}, {"field": "tags", "op": "contains", "value": "vip"}]}
        assert [c.id for c in s.scalars(sg.contacts_query("acme", rules, AT))] == [bo]
    with session_scope(store_url) as s:
        details = s.scalars(select(ContactEvent.details).where(ContactEvent.kind == "tag_added").order_by(ContactEvent.id)).all()
    assert details == [{"tag": "vip"}, {"tag": "early"}]


GOOD_CSV = """email,contact_id,kind,occurred_at,value,event_key,email_campaign_id
ADA@example.com,,purchased,2026-11-20T04:30:00-05:00,49.90,order-7,
,{bo},opened,2026-11-21T08:00:00Z,,,{ec}
bo@example.com,,clicked,2026-11-21T08:05:00+00:00,,,
"""


def _write(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_import_then_reimport_adds_nothing(store_url: str, people, tmp_path: Path) -> None:
    with session_scope(store_url) as s:
        ec = s.scalar(select(EmailCampaign.id))
    path = _write(tmp_path, GOOD_CSV.format(bo=people["bo@example.com"], ec=ec))
    with session_scope(store_url) as s:
        assert ce.import_events_csv(s, "acme", path) == ce.EventImport(rows=3, added=3, already_there=0)
    with session_scope(store_url) as s:
        assert ce.import_events_csv(s, "acme", path) == ce.EventImport(rows=3, added=0, already_there=3)
    events = _events(store_url)
    assert len(events) == 3
    # -05:00 is stored as the same instant in UTC
    assert events[0][:4] == (people["ada@example.com"], "purchased", AT, Decimal("49.90"))
    assert events[0][4] == "order-7" and events[1][4].startswith("csv:")
    with session_scope(store_url) as s:
        assert s.scalar(select(ContactEvent.email_campaign_id).where(ContactEvent.kind == "opened")) == ec


CSV_ERRORS = [
    ("email,kind,occurred_at\nada@example.com,opened,2026-11-21 08:00\n", "row 1 (line 2), column 'occurred_at': '2026-11-21 08:00' has no time zone"),
    ("email,kind,occurred_at\nada@example.com,opened,yesterday\n", "row 1 (line 2), column 'occurred_at': 'yesterday' is not a date"),
    ("email,kind,occurred_at\nada@example.com,opened,2026-11-21T08:00Z\nnobody@example.com,opened,2026-11-21T08:00Z\n",
     "row 2 (line 3), column 'email': 'nobody@example.com' is not a contact of merchant 'acme'"),
    ("email,kind,occurred_at\ngus@example.com,opened,2026-11-21T08:00Z\n", "column 'email': 'gus@example.com' is not a contact"),
    ("email,kind,occurred_at\nada@example.com,open,2026-11-21T08:00Z\n", "row 1 (line 2), column 'kind': 'open' is not an event kind"),
    ("email,kind,occurred_at,value\nada@example.com,purchased,2026-11-21T08:00Z,$12\n", "column 'value': '$12' is not an amount"),
    ("email,kind,occurred_at,value\nada@example.com,purchased,2026-11-21T08:00Z,1.005\n", "column 'value': '1.005' has more than 2 decimals"),
    ("email,kind,occurred_at,email_campaign_id\nada@example.com,opened,2026-11-21T08:00Z,999999\n",
     "column 'email_campaign_id': '999999' is not an email campaign"),
    ("email,kind,occurred_at,event_key\nada@example.com,opened,2026-11-21T08:00Z,k1\nbo@example.com,opened,2026-11-21T08:00Z,k1\n",
     "row 2 (line 3), column 'event_key': 'k1' repeats row 1"),
    ("kind,occurred_at\nopened,2026-11-21T08:00Z\n", "column 'email': column is missing; give each event's contact as email or contact_id"),
    ("email,kind,when\nada@example.com,opened,2026-11-21T08:00Z\n", "column 'when': unknown column"),
    ("email,kind,occurred_at\n", "the file has no data rows"),
    ("email,kind,occurred_at\nada@example.com,opened,2026-11-21T08:00Z,extra\n", "row 1 (line 2): has 4 cells but the header has 3"),
    ("email,contact_id,kind,occurred_at\n,,opened,2026-11-21T08:00Z\n", "column 'email': is empty"),
]


def test_csv_errors_name_row_and_column_and_write_nothing(store_url: str, people, tmp_path: Path) -> None:
    wrong = []
    for text, expected in CSV_ERRORS:  # one database for all cases
        path = _write(tmp_path, text)
        with session_scope(store_url) as s, pytest.raises(ImportValidationError) as caught:
            ce.import_events_csv(s, "acme", path)
        message = str(caught.value)
        if "events.csv was not imported; nothing was written" not in message or expected not in message:
            wrong.append(f"expected {expected!r} in {message!r}")
    assert not wrong, "\n".join(wrong)
    assert _events(store_url) == []


def test_one_bad_row_stops_the_good_ones(store_url: str, people, tmp_path: Path) -> None:
    path = _write(tmp_path, "email,kind,occurred_at\nada@example.com,opened,2026-11-21T08:00Z\nbo@example.com,opened,2026-13-01T08:00Z\n")
    with session_scope(store_url) as s, pytest.raises(ImportValidationError, match=r"row 2 \(line 3\), column 'occurred_at'"):
        ce.import_events_csv(s, "acme", path)
    assert _events(store_url) == []


def test_csv_import_in_a_transaction_that_fails_later_leaves_nothing(store_url: str, people, tmp_path: Path) -> None:
    path = _write(tmp_path, "email,kind,occurred_at\nada@example.com,opened,2026-11-21T08:00Z\n")
    with pytest.raises(RuntimeError), session_scope(store_url) as s:
        assert ce.import_events_csv(s, "acme", path).added == 1
        raise RuntimeError("the caller's transaction fails after the import")
    with session_scope(store_url) as s:
        assert s.scalar(select(func.count()).select_from(ContactEvent)) == 0
