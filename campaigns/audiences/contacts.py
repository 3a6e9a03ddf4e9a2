"""Contacts: addresses normalised and matched case-insensitively, edits, deletion, export, and consent.

`subscribed` is the contact's current consent to marketing email. It only changes together with a
consent record (`record_consent`): granting writes who agreed, where, when and to what; withdrawing
(an unsubscribe, a complaint, an edit) writes a row too, so the history is never rewritten. Sending
already refuses unsubscribed contacts and suppressed addresses (campaigns.email.recipients), so
"subscribed" means "has consent" for every send path.

Addresses keep their local part as written and get a lower-cased domain (``Ana.Lopez@Example.COM``
becomes ``Ana.Lopez@example.com``); lookups compare lower-cased, so one mailbox is one contact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from campaigns.audiences.events import store_events
from campaigns.audiences.suppression import erased_addresses, suppressed_emails
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import Contact, ContactConsent, ContactEvent
from campaigns.core.store.types import utcnow

ACTIVE, PENDING, ERASED = "active", "pending", "erased"
EMAIL_MARKETING = "email_marketing"
MAX_EMAIL = 320
MAX_NAME = 100
MAX_TAG = 60
_EMAIL = re.compile(r"^[^@\s<>\",;:()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


class ContactError(ValueError):
    """A contact request that cannot be done; the message names the field and the fix."""


class ContactNotFoundError(LookupError):
    pass


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def normalise_address(raw: str) -> str:
    """Trimmed, with a lower-cased domain; raises ContactError naming the fix when it is not an address."""
    address = (raw or "").strip()
    if not address:
        raise ContactError("the email is empty; give an address like ana@example.com")
    local, at, domain = address.rpartition("@")
    if not at or not _EMAIL.match(address):
        raise ContactError(f"{address!r} is not an email address; write it like ana@example.com (one address, no name or spaces)")
    if len(address) > MAX_EMAIL:
        raise ContactError(f"the address is {len(address)} characters long; an email address has at most {MAX_EMAIL}")
    return f"{local}@{domain.lower()}"


def check_time_zone(zone: str) -> str:
    zone = zone.strip()
    if zone not in time_zones():
        raise ContactError(f"{zone!r} is not an IANA time zone; use a name like Europe/Paris or America/New_York")
    return zone


def check_tags(tags: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise ContactError(f"the tag {tag[:20]!r}... is longer than {MAX_TAG} characters; shorten it")
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def check_attribute_name(name: str) -> str:
    if not _ATTRIBUTE.match(name):
        raise ContactError(f"custom field {name!r}: use lower-case letters, digits and _ (starting with a letter), e.g. loyalty_tier")
    return name


# --- finding ------------------------------------------------------------------------------------


def find_contact(session: Session, merchant_id: str, email: str) -> Contact | None:
    """The merchant's (non-erased) contact with this address, compared case-insensitively."""
    address = normalise_address(email).lower()
    return session.scalar(select(Contact).where(Contact.merchant_id == merchant_id, func.lower(Contact.email) == address,
                                                Contact.status != ERASED).order_by(Contact.id).limit(1))


def get_contact(session: Session, merchant_id: str, ref: str | int) -> Contact:
    """A contact by id (a number) or address; ContactNotFoundError naming the fix otherwise."""
    text = str(ref).strip()
    contact = None
    if text.isdigit():
        contact = session.scalar(select(Contact).where(Contact.merchant_id == merchant_id, Contact.id == int(text), Contact.status != ERASED))
    elif "@" in text:
        try:
            contact = find_contact(session, merchant_id, text)
        except ContactError:
            contact = None
    if contact is None:
        raise ContactNotFoundError(f"no contact {text!r} for merchant {merchant_id!r}; give an id or address from `campaigns contacts list`")
    return contact


def list_contacts(session: Session, merchant_id: str, search: str = "", limit: int = 50, offset: int = 0,
                  after_id: int | None = None) -> tuple[list[Contact], int]:
    """(a page of contacts by id, the total matching): `search` matches address, names and tags, case-insensitively;
    `after_id` starts the page after that contact (a cursor that stays right while contacts are added)."""
    require_merchant(session, merchant_id)
    query = select(Contact).where(Contact.merchant_id == merchant_id, Contact.status != ERASED)
    words = search.strip().lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in
                                  (Contact.email, Contact.first_name, Contact.last_name, cast(Contact.tags, Text)))))
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if after_id is not None:
        query = query.where(Contact.id > after_id)
    rows = list(session.scalars(query.order_by(Contact.id).limit(limit).offset(offset)))
    return rows, total


# --- consent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentInput:
    source: str
    wording: str = ""
    occurred_at: datetime | None = None
    ip: str | None = None
    user_agent: str | None = None


def record_consent(session: Session, contact: Contact, granted: bool, consent: ConsentInput, *, actor: str) -> ContactConsent:
    """Append one consent decision and set the contact's `subscribed` to it (audited)."""
    if not consent.source.strip():
        raise ContactError("consent source is empty; say where the person agreed (e.g. 'checkout opt-in') or withdrew")
    occurred = consent.occurred_at or utcnow()
    if occurred.tzinfo is None:
        raise ContactError("consented_at has no time zone; give ISO 8601 with a zone, e.g. 2026-03-01T14:05:00Z")
    row = ContactConsent(merchant_id=contact.merchant_id, contact_id=contact.id, purpose=EMAIL_MARKETING, granted=granted,
                         source=consent.source.strip()[:200], wording=consent.wording, occurred_at=occurred,
                         ip=(consent.ip or None) and consent.ip[:64], user_agent=(consent.user_agent or None) and consent.user_agent[:400],
                         recorded_by=actor[:200])
    session.add(row)
    contact.subscribed = granted
    session.flush()
    record(session, contact.merchant_id, actor, "contact.consent" if granted else "contact.consent_withdrawn", "contact", str(contact.id),
           source=row.source, occurred_at=occurred.isoformat())
    return row


def consent_history(session: Session, merchant_id: str, contact_id: int) -> list[ContactConsent]:
    return list(session.scalars(select(ContactConsent).where(ContactConsent.merchant_id == merchant_id, ContactConsent.contact_id == contact_id)
                                .order_by(ContactConsent.occurred_at, ContactConsent.id)))


# --- creating one -------------------------------------------------------------------------------


class ContactExistsError(ContactError):
    """The merchant already has a contact with this address."""


@dataclass(frozen=True)
class NewContact:
    email: str
    first_name: str = ""
    last_name: str = ""
    timezone: str = "UTC"
    tags: list[str] | None = None
    attributes: Mapping[str, Any] | None = None
    subscribed: bool = False
    consent: ConsentInput | None = None  # required when subscribed: where, when and to what the person agreed


def create_contact(session: Session, merchant_id: str, new: NewContact, *, actor: str) -> Contact:
    """One contact, with its consent record when subscribed (audited without the address).

    Rules as for an import: an address the merchant already has is refused (edit that contact), one whose person was
    erased is refused, and one on the suppression list is created unsubscribed whatever was asked.
    """
    require_merchant(session, merchant_id)
    address = normalise_address(new.email)
    if erased_addresses(session, merchant_id, [address]):
        raise ContactError("this person's data was erased at their request and the address is suppressed; it cannot be added again")
    if find_contact(session, merchant_id, address) is not None:
        raise ContactExistsError("the merchant already has a contact with this address; edit it instead (search for it in the contact list)")
    for field in ("first_name", "last_name"):
        if len(getattr(new, field).strip()) > MAX_NAME:
            raise ContactError(f"{field}: at most {MAX_NAME} characters")
    attributes = {check_attribute_name(name): value for name, value in (new.attributes or {}).items() if value is not None}
    if new.subscribed and (new.consent is None or not new.consent.source.strip()):
        raise ContactError("a subscribed contact needs their consent: give consent_source (where they agreed, e.g. 'checkout opt-in') "
                           "and consented_at, or create them unsubscribed")
    subscribed = new.subscribed and not suppressed_emails(session, merchant_id, [address])
    contact = Contact(merchant_id=merchant_id, email=address, first_name=new.first_name.strip(), last_name=new.last_name.strip(),
                      timezone=check_time_zone(new.timezone), tags=check_tags(new.tags or []), attributes=attributes, subscribed=False,
                      status=ACTIVE)
    session.add(contact)
    session.flush()
    record(session, merchant_id, actor, "contact.create", "contact", str(contact.id), subscribed=subscribed, kept_suppressed=new.subscribed and not subscribed)
    if subscribed and new.consent is not None:
        record_consent(session, contact, True, new.consent, actor=actor)
    return contact


# --- edits --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactChanges:
    """What an edit changes; None leaves a field as it is."""

    first_name: str | None = None
    last_name: str | None = None
    timezone: str | None = None
    tags: list[str] | None = None  # the whole new list
    attributes: Mapping[str, Any] | None = None  # set these custom fields; a None value removes one
    subscribed: bool | None = None
    consent_source: str = ""  # required when subscribed becomes True
    consent_wording: str = ""


def update_contact(session: Session, merchant_id: str, ref: str | int, changes: ContactChanges, *, actor: str,
                   now: datetime | None = None) -> tuple[Contact, list[str]]:
    """Apply `changes` (validated, audited without the values); returns the contact and the changed field names."""
    contact = get_contact(session, merchant_id, ref)
    changed: list[str] = []
    for field in ("first_name", "last_name"):
        value = getattr(changes, field)
        if value is not None:
            value = value.strip()
            if len(value) > MAX_NAME:
                raise ContactError(f"{field}: at most {MAX_NAME} characters")
            if value != getattr(contact, field):
                setattr(contact, field, value)
                changed.append(field)
    if changes.timezone is not None and changes.timezone.strip() != contact.timezone:
        contact.timezone = check_time_zone(changes.timezone)
        changed.append("timezone")
    if changes.tags is not None:
        tags = check_tags(changes.tags)
        if tags != list(contact.tags or []):
            added = [t for t in tags if t not in (contact.tags or [])]
            contact.tags = tags
            changed.append("tags")
            _tag_events(session, contact, added, now or utcnow())
    if changes.attributes:
        attributes = dict(contact.attributes or {})
        for name, value in changes.attributes.items():
            check_attribute_name(name)
            if value is None:
                attributes.pop(name, None)
            else:
                attributes[name] = value
        if attributes != (contact.attributes or {}):
            contact.attributes = attributes
            changed.append("attributes")
    if changes.subscribed is not None and changes.subscribed != contact.subscribed:
        if changes.subscribed and not changes.consent_source.strip():
            raise ContactError("subscribing a contact needs their consent: give where and how they agreed (--consent-source 'phone call 3 May')")
        record_consent(session, contact, changes.subscribed, ConsentInput(changes.consent_source.strip() or f"edited by {actor}",
                                                                         changes.consent_wording, now), actor=actor)
        changed.append("subscribed")
    if changed:
        session.flush()
        record(session, merchant_id, actor, "contact.update", "contact", str(contact.id), fields=changed)
    return contact, changed


def _tag_events(session: Session, contact: Contact, tags: list[str], now: datetime) -> None:
    store_events(session, [{"merchant_id": contact.merchant_id, "contact_id": contact.id, "kind": "tag_added", "occurred_at": now,
                            "details": {"tag": tag}} for tag in tags])


def delete_contact(session: Session, merchant_id: str, ref: str | int, *, actor: str) -> int:
    """Delete the contact with its events and consent history (audited); the suppression list is kept."""
    contact = get_contact(session, merchant_id, ref)
    contact_id = contact.id
    session.delete(contact)
    session.flush()
    record(session, merchant_id, actor, "contact.delete", "contact", str(contact_id))
    return contact_id


# --- reading a contact whole --------------------------------------------------------------------


def contact_events(session: Session, merchant_id: str, contact_id: int, limit: int = 200) -> list[ContactEvent]:
    return list(session.scalars(select(ContactEvent).where(ContactEvent.merchant_id == merchant_id, ContactEvent.contact_id == contact_id)
                                .order_by(ContactEvent.occurred_at.desc(), ContactEvent.id.desc()).limit(limit)))


def contact_fields(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "email": contact.email, "first_name": contact.first_name, "last_name": contact.last_name,
            "timezone": contact.timezone, "tags": list(contact.tags or []), "attributes": dict(contact.attributes or {}),
            "subscribed": contact.subscribed, "status": contact.status, "created_at": contact.created_at.isoformat(),
            "updated_at": contact.updated_at.isoformat()}


def export_rows(session: Session, merchant_id: str) -> list[dict[str, Any]]:
    """Every contact in the import's columns (`attr_<name>` per custom field), so an export can be imported again."""
    require_merchant(session, merchant_id)
    contacts = session.scalars(select(Contact).where(Contact.merchant_id == merchant_id, Contact.status == ACTIVE).order_by(Contact.id)).all()
    latest: dict[int, ContactConsent] = {}
    for consent in session.scalars(select(ContactConsent).where(ContactConsent.merchant_id == merchant_id, ContactConsent.granted.is_(True))
                                   .order_by(ContactConsent.occurred_at, ContactConsent.id)):
        latest[consent.contact_id] = consent
    names = sorted({name for c in contacts for name in (c.attributes or {})})
    rows = []
    for c in contacts:
        consent = latest.get(c.id) if c.subscribed else None
        row = {"email": c.email, "first_name": c.first_name, "last_name": c.last_name, "timezone": c.timezone, "tags": ";".join(map(str, c.tags or [])),
               "subscribed": "true" if c.subscribed else "false", "consent_source": consent.source if consent else "",
               "consented_at": consent.occurred_at.isoformat() if consent else ""}
        row.update({f"attr_{name}": _cell((c.attributes or {}).get(name)) for name in names})
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
