"""Data protection: everything held about a person (export) and the right to erasure.

`export_data` gathers, for one address, the contact rows, consent history, events, emails sent,
suppression, segment memberships, automation runs, A/B cells and the audit entries about them.

`erase` removes the person from the store in one transaction:

- each matching contact becomes a pseudonymous husk (``erased-<id>@erased.invalid``, no name,
  tags or custom fields, unsubscribed, status ``erased``), so the events that reference it keep
  campaign counts and revenue right while no longer pointing at anybody;
- the events' details, consent records, the recipient copies of sent emails (address and merge
  values), automation run contexts and the audit entries about the contact are cleared;
- every remaining text or JSON value of the merchant's tables that still holds the address
  (an audit entry of an unsubscribe, an error message, ...) has it replaced by ``[erased]``;
- the address goes on the suppression list as a merchant-salted hash only, so a later import of
  it is refused while the list holds nothing readable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from campaigns.audiences import segments as segment_rules
from campaigns.audiences.contacts import ERASED, contact_fields, normalise_address
from campaigns.audiences.events import anonymise_events
from campaigns.audiences.suppression import erased_addresses, suppress_erased, suppressed_emails
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import (
    AbTestAssignment,
    AuditLog,
    AutomationEnrollment,
    AutomationStepRun,
    Base,
    Contact,
    ContactConsent,
    ContactEvent,
    EmailSend,
    Segment,
)
from campaigns.core.store.types import utcnow

REDACTED = "[erased]"


class NobodyToErase(LookupError):
    pass


def _contacts(session: Session, merchant_id: str, email: str) -> list[Contact]:
    address = normalise_address(email).lower()
    return list(session.scalars(select(Contact).where(Contact.merchant_id == merchant_id, func.lower(Contact.email) == address,
                                                      Contact.status != ERASED).order_by(Contact.id)))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_data(session: Session, merchant_id: str, email: str, *, actor: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything the store holds about the person at `email`, as JSON-ready data (the request is audited)."""
    require_merchant(session, merchant_id)
    address = normalise_address(email)
    now = now or utcnow()
    people = []
    for contact in _contacts(session, merchant_id, address):
        consents = session.scalars(select(ContactConsent).where(ContactConsent.merchant_id == merchant_id, ContactConsent.contact_id == contact.id)
                                   .order_by(ContactConsent.occurred_at, ContactConsent.id))
        events = session.scalars(select(ContactEvent).where(ContactEvent.merchant_id == merchant_id, ContactEvent.contact_id == contact.id)
                                 .order_by(ContactEvent.occurred_at, ContactEvent.id))
        sends = session.scalars(select(EmailSend).where(EmailSend.merchant_id == merchant_id,
                                                        or_(EmailSend.contact_id == contact.id, func.lower(EmailSend.email) == address.lower()))
                                .order_by(EmailSend.id))
        enrollments = session.scalars(select(AutomationEnrollment).where(AutomationEnrollment.merchant_id == merchant_id,
                                                                         AutomationEnrollment.contact_id == contact.id).order_by(AutomationEnrollment.id))
        cells = session.scalars(select(AbTestAssignment).where(AbTestAssignment.merchant_id == merchant_id, AbTestAssignment.contact_id == contact.id))
        audit = session.scalars(select(AuditLog).where(AuditLog.merchant_id == merchant_id, AuditLog.entity_type == "contact",
                                                       AuditLog.entity_id == str(contact.id)).order_by(AuditLog.id))
        people.append({
            "contact": contact_fields(contact),
            "consent_history": [{"granted": c.granted, "purpose": c.purpose, "source": c.source, "wording": c.wording, "occurred_at": _iso(c.occurred_at),
                                 "ip": c.ip, "user_agent": c.user_agent} for c in consents],
            "events": [{"kind": e.kind, "occurred_at": _iso(e.occurred_at), "email_campaign_id": e.email_campaign_id,
                        "value": str(e.value) if e.value is not None else None, "details": e.details} for e in events],
            "emails_sent": [{"email_campaign_id": s.email_campaign_id, "address": s.email, "status": s.status.value, "sent_at": _iso(s.sent_at),
                             "merge_values": s.merge_values} for s in sends],
            "segments": segment_memberships(session, merchant_id, contact.id, now),
            "automations": [{"automation_id": e.automation_id, "status": e.status, "started_at": _iso(e.created_at)} for e in enrollments],
            "ab_test_cells": [{"ab_test_id": a.ab_test_id, "variant_position": a.position} for a in cells],
            "changes": [{"action": a.action, "actor": a.actor, "at": _iso(a.created_at), "details": a.details} for a in audit],
        })
    suppression = suppressed_emails(session, merchant_id, [address]).get(address.lower())
    data = {"merchant_id": merchant_id, "email": address, "exported_at": now.isoformat(), "contacts": people,
            "suppressed": suppression.value if suppression is not None else None,
            "erased_before": address.lower() in erased_addresses(session, merchant_id, [address])}
    record(session, merchant_id, actor, "contact.export_data", "merchant", merchant_id, contacts=[p["contact"]["id"] for p in people])
    return data


def segment_memberships(session: Session, merchant_id: str, contact_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """The saved segments whose rules match the contact now (id, name); a segment with a broken rule is skipped."""
    found = []
    for segment in session.scalars(select(Segment).where(Segment.merchant_id == merchant_id).order_by(Segment.id)):
        try:
            query = segment_rules.contacts_query(merchant_id, segment.rules, now).with_only_columns(Contact.id).where(Contact.id == contact_id)
            if session.scalar(query) is not None:
                found.append({"id": segment.id, "name": segment.name})
        except segment_rules.RuleError:
            continue
    return found


@dataclass(frozen=True)
class Erasure:
    contacts: int
    events_anonymised: int
    sends_cleared: int
    values_redacted: int


def erase(session: Session, merchant_id: str, email: str, *, actor: str) -> Erasure:
    """Remove the person at `email` from the store (see the module doc); audited without the address. Idempotent."""
    require_merchant(session, merchant_id)
    address = normalise_address(email)
    lower = address.lower()
    contacts = _contacts(session, merchant_id, address)
    known_before = lower in erased_addresses(session, merchant_id, [address])
    if not contacts and not known_before and not _mentioned(session, merchant_id, lower):
        raise NobodyToErase(f"merchant {merchant_id!r} holds nothing about {address}; check the spelling (`campaigns contacts list --search ...`)")
    ids = [c.id for c in contacts]
    events = sends = 0
    if ids:
        events = anonymise_events(session, merchant_id, ids)
        session.execute(ContactConsent.__table__.delete().where(ContactConsent.merchant_id == merchant_id, ContactConsent.contact_id.in_(ids)))
        enrollment_ids = select(AutomationEnrollment.id).where(AutomationEnrollment.merchant_id == merchant_id, AutomationEnrollment.contact_id.in_(ids))
        session.execute(update(AutomationStepRun).where(AutomationStepRun.enrollment_id.in_(enrollment_ids)).values(result={})
                        .execution_options(synchronize_session=False))
        session.execute(update(AutomationEnrollment).where(AutomationEnrollment.id.in_(enrollment_ids)).values(context={}, last_error=None)
                        .execution_options(synchronize_session=False))
        session.execute(update(AuditLog).where(AuditLog.merchant_id == merchant_id, AuditLog.entity_type == "contact",
                                               AuditLog.entity_id.in_([str(i) for i in ids])).values(details={"redacted": "erasure"})
                        .execution_options(synchronize_session=False))
    send_rows = session.execute(select(EmailSend.id).where(EmailSend.merchant_id == merchant_id, or_(
        EmailSend.contact_id.in_(ids), func.lower(EmailSend.email) == lower))).scalars().all()
    for send_id in send_rows:
        session.execute(update(EmailSend).where(EmailSend.id == send_id).values(email=REDACTED, merge_values={}, idempotency_key=f"erased_{send_id}")
                        .execution_options(synchronize_session=False))
    sends = len(send_rows)
    for contact in contacts:
        contact.email = f"erased-{contact.id}@erased.invalid"
        contact.first_name = contact.last_name = ""
        contact.tags, contact.attributes = [], {}
        contact.timezone, contact.subscribed, contact.status = "UTC", False, ERASED
    session.flush()
    suppress_erased(session, merchant_id, address, actor=actor)
    redacted = _redact_everywhere(session, merchant_id, lower)
    record(session, merchant_id, actor, "contact.erase", "merchant", merchant_id, contacts=ids, events_anonymised=events, sends_cleared=sends,
           values_redacted=redacted)
    session.flush()
    return Erasure(len(ids), events, sends, redacted)


def _text_columns(table) -> list:
    return [c for c in table.columns if isinstance(c.type, String | Text | JSON) and not c.primary_key and c.name != "merchant_id"]


def _pattern(lower: str) -> str:
    return "%" + lower.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _mentioned(session: Session, merchant_id: str, lower: str) -> bool:
    for table in Base.metadata.sorted_tables:
        columns = _text_columns(table)
        if "merchant_id" not in table.c or not columns:
            continue
        hit = select(table.c.merchant_id).where(table.c.merchant_id == merchant_id, or_(
            *(func.lower(cast(c, Text)).like(_pattern(lower), escape="\\") for c in columns))).limit(1)
        if session.execute(hit).first() is not None:
            return True
    return False


def _redact_everywhere(session: Session, merchant_id: str, lower: str) -> int:
    """Replace the address in every text and JSON value of the merchant's rows; returns how many values changed."""
    changed = 0
    spelled = re.compile(re.escape(lower), re.IGNORECASE)
    for table in Base.metadata.sorted_tables:
        columns = _text_columns(table)
        if "merchant_id" not in table.c or not columns or not list(table.primary_key):
            continue
        keys = list(table.primary_key)
        for column in columns:
            rows = session.execute(select(*keys, column).where(table.c.merchant_id == merchant_id,
                                                               func.lower(cast(column, Text)).like(_pattern(lower), escape="\\"))).all()
            for row in rows:
                value = row[-1]
                new = _scrub(value, spelled)
                if new != value:
                    session.execute(table.update().where(*(k == row[i] for i, k in enumerate(keys))).values({column.name: new}))
                    changed += 1
    return changed


def _scrub(value: Any, spelled: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return spelled.sub(REDACTED, value)
    if isinstance(value, dict):
        return {_scrub(k, spelled): _scrub(v, spelled) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, spelled) for v in value]
    return value


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
