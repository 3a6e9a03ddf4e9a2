"""Contact events (opened, clicked, purchased, ...): recorded idempotently, imported from CSV.

An event with an ``event_key`` is stored once per merchant whatever the number of retries,
webhook redeliveries or re-imports (``ON CONFLICT DO NOTHING`` on the unique key, on SQLite
and PostgreSQL alike). CSV rows without a key get one derived from their content, so a file
imported twice adds nothing the second time.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns.core.problems import ImportValidationError, Problem, encoding_problem
from campaigns.core.store.db import dialect_insert as _insert
from campaigns.core.store.models import Contact, ContactEvent, EmailCampaign
from campaigns.core.store.types import utcnow
from campaigns.warehouse.schema import EMAIL_EVENTS

EVENT_KINDS = ("sent", "delivered", "opened", "clicked", "purchased", "signed_up", "tag_added", "unsubscribed", "bounced", "complained")
CSV_COLUMNS = ("email", "contact_id", "kind", "occurred_at", "value", "event_key", "email_campaign_id")
MAX_KEY = 200
ZONE_HINT = "use ISO-8601 with a zone, such as 2026-03-01T14:05:00Z or 2026-03-01T09:05:00-05:00"


@dataclass(frozen=True)
class EventImport:
    rows: int  # rows in the file
    added: int  # new events stored
    already_there: int  # rows whose event_key was stored before



def store_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert validated event rows (dicts of ContactEvent columns); returns how many were new."""
    if not rows:
        return 0
    statement = (_insert(session)(ContactEvent).on_conflict_do_nothing(index_elements=["merchant_id", "event_key"])
                 .returning(ContactEvent.id))  # only inserted rows come back: an exact count on both dialects
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues") without recompiling each batch
    params = [{"details": {}, "email_campaign_id": None, "value": None, "event_key": None, **row} for row in rows]
    return len(session.execute(statement, params).all())


def record_event(
    session: Session,
    merchant_id: str,
    contact_id: int,
    kind: str,
    occurred_at: datetime | None = None,
    *,
    value: Decimal | float | None = None,
    event_key: str | None = None,
    email_campaign_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Store one event; False when an event with this key is already stored (nothing changes)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"kind: unknown event {kind!r}; use one of {', '.join(EVENT_KINDS)}")
    occurred_at = occurred_at or utcnow()
    if occurred_at.tzinfo is None:
        raise ValueError(f"occurred_at: {occurred_at.isoformat()} has no time zone; pass an aware datetime (UTC)")
    if event_key is not None and not 0 < len(event_key) <= MAX_KEY:
        raise ValueError(f"event_key: give 1 to {MAX_KEY} characters")
    amount = None if value is None else Decimal(str(value))
    if amount is not None and amount < 0:
        raise ValueError(f"value: {amount} is negative; a purchase value is its revenue, 0 or more")
    if session.scalar(select(Contact.id).where(Contact.id == contact_id, Contact.merchant_id == merchant_id)) is None:
        raise LookupError(f"contact_id: no contact {contact_id} for merchant {merchant_id!r}")
    row = {"merchant_id": merchant_id, "contact_id": contact_id, "kind": kind, "occurred_at": occurred_at, "value": amount,
           "event_key": event_key, "email_campaign_id": email_campaign_id, "details": dict(details or {})}
    return store_events(session, [row]) == 1


def add_tags(session: Session, merchant_id: str, contact_id: int, tags: Iterable[str], now: datetime | None = None) -> list[str]:
    """Add tags to a contact and record a ``tag_added`` event for each tag it did not have; returns those tags."""
    contact = session.scalar(select(Contact).where(Contact.id == contact_id, Contact.merchant_id == merchant_id))
    if contact is None:
        raise LookupError(f"contact_id: no contact {contact_id} for merchant {merchant_id!r}")
    now = now or utcnow()
    current = list(contact.tags or [])
    added: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            raise ValueError("tags: a tag must not be empty")
        if tag not in current and tag not in added:
            added.append(tag)
    if added:
        contact.tags = current + added  # a new list, so the JSON column is marked changed
        session.flush()
        store_events(session, [{"merchant_id": merchant_id, "contact_id": contact_id, "kind": "tag_added", "occurred_at": now,
                                "details": {"tag": tag}} for tag in added])
    return added


# --- CSV import ------------------------------------------------------------------------------
def import_events_csv(session: Session, merchant_id: str, path: Path) -> EventImport:
    """Validate the whole file, then store every event in the caller's transaction; all or nothing.

    Raises `ImportValidationError` naming file, row (1-based data row and file line) and column.
    """
    path = Path(path)
    if (problem := encoding_problem(path)) is not None:
        raise ImportValidationError(path, [problem])
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            records = list(reader)
    except FileNotFoundError:
        raise ImportValidationError(path, [Problem(None, None, "file not found; check the path")]) from None
    except UnicodeDecodeError as exc:
        raise ImportValidationError(path, [Problem(None, None, f"not UTF-8 text ({exc.reason}); save the CSV as UTF-8")]) from None
    except csv.Error as exc:
        raise ImportValidationError(path, [Problem(None, None, f"not a readable CSV ({exc})")]) from None
    _check_header(path, header)
    if not records:
        raise ImportValidationError(path, [Problem(None, None, "the file has no data rows")])
    contacts = _contacts_of(session, merchant_id)
    campaigns = set(session.scalars(select(EmailCampaign.id).where(EmailCampaign.merchant_id == merchant_id)))
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    first_row_of_key: dict[str, int] = {}
    for number, raw in enumerate(records, start=1):
        record = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:  # more cells than header columns
            problems.append(Problem(number, None, f"has {len(header) + len(raw[None])} cells but the header has {len(header)}; quote values holding commas"))
            continue
        row = _parse_row(record, number, merchant_id, contacts, campaigns, problems)
        if row is None:
            continue
        key = row["event_key"]
        if key in first_row_of_key:
            problems.append(Problem(number, "event_key", f"{key!r} repeats row {first_row_of_key[key]}; give each event its own key"))
            continue
        first_row_of_key[key] = number
        rows.append(row)
    if problems:
        raise ImportValidationError(path, problems)
    already = set(session.scalars(select(ContactEvent.event_key).where(
        ContactEvent.merchant_id == merchant_id, ContactEvent.event_key.in_(list(first_row_of_key)))))
    added = store_events(session, rows)
    return EventImport(rows=len(records), added=added, already_there=len(already))


def _check_header(path: Path, header: list[str]) -> None:
    problems = []
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        problems.append(Problem(None, unknown[0], f"unknown column; the columns are {', '.join(CSV_COLUMNS)}"))
    for required in ("kind", "occurred_at"):
        if required not in header:
            problems.append(Problem(None, required, "column is missing"))
    if "email" not in header and "contact_id" not in header:
        problems.append(Problem(None, "email", "column is missing; give each event's contact as email or contact_id"))
    if problems:
        raise ImportValidationError(path, problems)


def _contacts_of(session: Session, merchant_id: str) -> dict[str, dict[Any, int]]:
    rows = session.execute(select(Contact.id, func.lower(func.trim(Contact.email))).where(Contact.merchant_id == merchant_id)).all()
    return {"by_email": {email: cid for cid, email in rows}, "by_id": {cid: cid for cid, _ in rows}}


def _parse_row(record: dict[str, str], number: int, merchant_id: str, contacts: dict[str, dict[Any, int]], campaigns: set[int],
               problems: list[Problem]) -> dict[str, Any] | None:
    before = len(problems)

    def problem(column: str, message: str) -> None:
        problems.append(Problem(number, column, message))

    contact_id = None
    if record.get("contact_id"):
        text = record["contact_id"]
        if not text.isdigit() or int(text) not in contacts["by_id"]:
            problem("contact_id", f"{text!r} is not a contact of merchant {merchant_id!r}; use its id or leave it empty and give email")
        else:
            contact_id = int(text)
    if record.get("email"):
        found = contacts["by_email"].get(record["email"].lower())
        if found is None:
            problem("email", f"{record['email']!r} is not a contact of merchant {merchant_id!r}; add the contact first")
        elif contact_id is not None and found != contact_id:
            problem("email", f"{record['email']!r} is contact {found}, not contact_id {contact_id}; give one or make them agree")
        contact_id = found if contact_id is None else contact_id
    elif not record.get("contact_id"):
        problem("email", "is empty; give the contact's email or contact_id")
    kind = record.get("kind", "")
    if kind not in EVENT_KINDS:
        problem("kind", f"{kind!r} is not an event kind; use one of {', '.join(EVENT_KINDS)}")
    occurred_at = None
    try:
        occurred_at = datetime.fromisoformat(record.get("occurred_at", "").replace("Z", "+00:00"))
    except ValueError:
        problem("occurred_at", f"{record.get('occurred_at', '')!r} is not a date and time; {ZONE_HINT}")
    else:
        if occurred_at.tzinfo is None:
            problem("occurred_at", f"{record['occurred_at']!r} has no time zone; {ZONE_HINT}")
            occurred_at = None
    value = None
    if record.get("value"):
        try:
            value = Decimal(record["value"])
            if not value.is_finite() or value < 0:
                raise InvalidOperation
        except InvalidOperation:
            problem("value", f"{record['value']!r} is not an amount of 0 or more; write it like 49.90, without a currency sign")
            value = None
        else:
            if value.as_tuple().exponent < -2 or value >= Decimal("1e12"):
                problem("value", f"{record['value']!r} has more than 2 decimals or is too large; round it to cents")
    campaign_id = None
    if record.get("email_campaign_id"):
        text = record["email_campaign_id"]
        if not text.isdigit() or int(text) not in campaigns:
            problem("email_campaign_id", f"{text!r} is not an email campaign of merchant {merchant_id!r}; leave it empty or use its id")
        else:
            campaign_id = int(text)
    key = record.get("event_key") or ""
    if len(key) > MAX_KEY:
        problem("event_key", f"is {len(key)} characters; at most {MAX_KEY}")
    if len(problems) > before or contact_id is None or occurred_at is None:
        return None
    if not key:
        # a key from the content: the same row imported twice is the same event
        content = "|".join([str(contact_id), kind, occurred_at.astimezone(UTC).isoformat(), str(value or ""), str(campaign_id or "")])
        key = "csv:" + hashlib.sha256(content.encode()).hexdigest()[:40]
    return {"merchant_id": merchant_id, "contact_id": contact_id, "kind": kind, "occurred_at": occurred_at, "value": value,
            "event_key": key, "email_campaign_id": campaign_id, "details": {"source": "csv"}}


def anonymise_events(session: Session, merchant_id: str, contact_ids: Sequence[int]) -> int:
    """Clear the details of the contacts' events (an erasure): kind, time, email campaign and value stay for the counts.

    The events keep pointing at the contact ids, whose rows the erasure turns into husks; the warehouse's
    ``raw.email_events`` holds contact ids only, so it needs no rewrite. Returns how many events were touched.
    """
    if not contact_ids:
        return 0
    return session.execute(update(ContactEvent).where(ContactEvent.merchant_id == merchant_id, ContactEvent.contact_id.in_(list(contact_ids)))
                           .values(details={}).execution_options(synchronize_session=False)).rowcount


# Kinds that belong in the warehouse's email engagement (raw.email_events); a purchase only when an email led to it.
EMAIL_ENGAGEMENT_KINDS = ("sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed")


def email_events_frame(session: Session) -> pl.DataFrame:
    """Every merchant's email events of the store as `raw.email_events` rows (see campaigns.warehouse.schema.EMAIL_EVENTS).

    The store is where opens and clicks arrive (first-party tracking, provider webhooks, imports,
    the demo writer), so the warehouse's email engagement is a snapshot of it. `campaign_id` is
    the marketing campaign of the event's email campaign, else the one an import or the demo
    named in the event's details; `event_id` is the store's event id (stable across snapshots).
    """
    rows = session.execute(
        select(ContactEvent.merchant_id, ContactEvent.id, ContactEvent.contact_id, EmailCampaign.campaign_id, ContactEvent.details,
               ContactEvent.kind, ContactEvent.occurred_at, ContactEvent.email_campaign_id)
        .outerjoin(EmailCampaign, EmailCampaign.id == ContactEvent.email_campaign_id)
        .where(ContactEvent.kind.in_([*EMAIL_ENGAGEMENT_KINDS, "purchased"]))
        .order_by(ContactEvent.merchant_id, ContactEvent.id)
    )
    out: dict[str, list] = {name: [] for name in EMAIL_EVENTS.column_names}
    for merchant_id, event_id, contact_id, campaign_id, details, kind, occurred_at, email_campaign_id in rows:
        details = details or {}
        if kind == "purchased" and email_campaign_id is None and "campaign_id" not in details:
            continue  # a web-shop order no email led to
        out["merchant_id"].append(merchant_id)
        out["event_id"].append(str(event_id))
        out["contact_id"].append(contact_id)
        out["campaign_id"].append(campaign_id or details.get("campaign_id"))
        out["event_type"].append(kind)
        out["occurred_at"].append(occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC))
    return pl.DataFrame(out, schema=EMAIL_EVENTS.polars_schema)
