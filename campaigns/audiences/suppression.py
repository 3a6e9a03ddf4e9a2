"""The suppression list, bounces and complaints, and one-click unsubscribe (RFC 8058).

Addresses are kept lower-cased, one row per merchant and address; adding one twice keeps
the first row (and its reason) and writes nothing. Sending re-checks this list and each
contact's ``subscribed`` flag right before every batch goes out, so an unsubscribe that
lands in the middle of a send still stops the remaining copies.

Unsubscribe tokens are signed, not stored: ``u1.<payload>.<signature>`` where the payload
is base64url JSON of (merchant, contact, email campaign, send row) and the signature is
HMAC-SHA256 (first 16 bytes) under a key derived from ``CAMPAIGNS_TOKEN_KEY``. The key is
derived (HMAC of a fixed label) rather than used directly, so the Fernet key that encrypts
platform tokens is never itself used for another purpose. Rotation follows `campaigns.core.crypto`:
the first comma-separated key signs, every listed key verifies, so links in old emails keep
working as long as the old key stays listed. The payload holds ids, never the address, so
an unsubscribe URL leaked into a proxy log does not reveal who it belongs to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns.core.crypto import GENERATE_HINT, MissingTokenKeyError, settings_token_keys, token_keys
from campaigns.core.audit import record
from campaigns.core.outbox import emit
from campaigns.core.merchants import require_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope, dialect_insert as _insert
from campaigns.core.store.models import Contact, ContactConsent, EmailSend, PrivacySalt, Suppression, SuppressionReason
from campaigns.core.store.types import utcnow

TOKEN_VERSION = "u1"
_KEY_LABEL = b"campaigns/email-unsubscribe/v1"
_SIGNATURE_BYTES = 16
_CHUNK = 500  # bound parameters per IN (...) query


class UnsubscribeTokenError(ValueError):
    """The token is malformed, forged, or signed with a key that is no longer configured."""


class MissingUnsubscribeKeyError(MissingTokenKeyError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- the list ----------------------------------------------------------------------------------


def add_suppression(
    session: Session,
    merchant_id: str,
    email: str,
    reason: SuppressionReason | str,
    *,
    actor: str,
    source: str = "",
    note: str = "",
) -> tuple[Suppression, bool]:
    """(row, created). An address already on the list keeps its first reason; nothing is written then."""
    require_merchant(session, merchant_id)
    address = normalise_email(email)
    if "@" not in address:
        raise ValueError(f"{email!r} is not an email address like ana@example.com")
    try:
        reason = SuppressionReason(str(reason).upper())
    except ValueError:
        raise ValueError(f"unknown reason {reason!r}; use one of {', '.join(r.value for r in SuppressionReason)}") from None
    inserted = session.execute(
        _insert(session)(Suppression)
        .values(merchant_id=merchant_id, email=address, reason=reason, source=source[:200], note=note, created_at=utcnow())
        .on_conflict_do_nothing()  # another writer may add the same address at the same moment
        .returning(Suppression.id)
    ).scalar()
    row = session.scalar(select(Suppression).where(Suppression.merchant_id == merchant_id, Suppression.email == address)
                         .execution_options(populate_existing=True))
    if inserted is None or row is None:
        return row, False  # type: ignore[return-value]
    record(session, merchant_id, actor, "email.suppress", "suppression", str(row.id), email=address, reason=reason.value, source=source, note=note)
    return row, True



def suppressed_emails(session: Session, merchant_id: str, emails: Iterable[str]) -> dict[str, SuppressionReason]:
    """Lower-cased address -> reason, for the given addresses that are on the merchant's list."""
    wanted = sorted({normalise_email(e) for e in emails})
    found: dict[str, SuppressionReason] = {}
    for chunk in _chunks(wanted, _CHUNK):
        rows = session.execute(select(Suppression.email, Suppression.reason).where(Suppression.merchant_id == merchant_id, Suppression.email.in_(chunk)))
        found.update({row.email: SuppressionReason(row.reason) for row in rows})
    return found


# --- erased addresses: kept only as a salted hash -------------------------------------------------

ERASED_PREFIX = "erased:"


def _salt(session: Session, merchant_id: str, create: bool) -> str | None:
    salt = session.scalar(select(PrivacySalt.salt).where(PrivacySalt.merchant_id == merchant_id))
    if salt is None and create:
        session.execute(_insert(session)(PrivacySalt).values(merchant_id=merchant_id, salt=secrets.token_hex(32), created_at=utcnow())
                        .on_conflict_do_nothing())
        salt = session.scalar(select(PrivacySalt.salt).where(PrivacySalt.merchant_id == merchant_id))
    return salt


def erased_hash(salt: str, email: str) -> str:
    """What the suppression list keeps of an erased address: the merchant-salted SHA-256 of it, lower-cased."""
    return ERASED_PREFIX + hashlib.sha256(f"{salt}|{normalise_email(email)}".encode()).hexdigest()


def suppress_erased(session: Session, merchant_id: str, email: str, *, actor: str) -> Suppression:
    """Put an erased person's address on the list as a salted hash only (MANUAL, source "erasure"); drop its clear row."""
    digest = erased_hash(_salt(session, merchant_id, create=True) or "", email)
    session.execute(Suppression.__table__.delete().where(Suppression.merchant_id == merchant_id, Suppression.email == normalise_email(email)))
    session.execute(_insert(session)(Suppression).values(merchant_id=merchant_id, email=digest, reason=SuppressionReason.MANUAL,
                                                         source="erasure", note="erased at the person's request", created_at=utcnow())
                    .on_conflict_do_nothing())
    row = session.scalar(select(Suppression).where(Suppression.merchant_id == merchant_id, Suppression.email == digest))
    record(session, merchant_id, actor, "email.suppress", "suppression", str(row.id), email=digest, reason="MANUAL", source="erasure")  # type: ignore[union-attr]
    return row  # type: ignore[return-value]


def erased_addresses(session: Session, merchant_id: str, emails: Iterable[str]) -> set[str]:
    """The given addresses (lower-cased) that belong to a person whose data was erased."""
    salt = _salt(session, merchant_id, create=False)
    if salt is None:
        return set()
    by_hash = {erased_hash(salt, e): normalise_email(e) for e in emails}
    found: set[str] = set()
    for chunk in _chunks(sorted(by_hash), _CHUNK):
        rows = session.scalars(select(Suppression.email).where(Suppression.merchant_id == merchant_id, Suppression.email.in_(chunk)))
        found.update(by_hash[digest] for digest in rows)
    return found


def list_suppressions(session: Session, merchant_id: str, reason: SuppressionReason | None = None) -> list[Suppression]:
    query = select(Suppression).where(Suppression.merchant_id == merchant_id)
    if reason is not None:
        query = query.where(Suppression.reason == reason)
    return list(session.scalars(query.order_by(Suppression.created_at, Suppression.id)))


def record_bounce(session: Session, merchant_id: str, email: str, *, actor: str = "system", source: str = "", note: str = "") -> tuple[Suppression, bool]:
    """A hard bounce (the mailbox does not exist): never send to the address again. Consent is unchanged."""
    row, created = add_suppression(session, merchant_id, email, SuppressionReason.BOUNCED, actor=actor, source=source, note=note)
    if created:
        emit(session, merchant_id, "email.bounced", {"email": normalise_email(email), "source": source, "reason": note})
    return row, created


def record_complaint(session: Session, merchant_id: str, email: str, *, actor: str = "system", source: str = "", note: str = "") -> tuple[Suppression, bool]:
    """A spam complaint withdraws consent: suppress the address and mark its contacts unsubscribed."""
    row, created = add_suppression(session, merchant_id, email, SuppressionReason.COMPLAINED, actor=actor, source=source, note=note)
    unsubscribe_contacts(session, merchant_id, normalise_email(email), actor, why="complaint")
    return row, created


def unsubscribe_contacts(session: Session, merchant_id: str, address: str, actor: str, why: str) -> list[int]:
    # contacts are unique per exact address; two spellings of one mailbox are both switched off.
    # Compared lower-cased, not with ILIKE: an address may hold _ or %, which LIKE reads as wildcards
    contacts = session.scalars(select(Contact).where(Contact.merchant_id == merchant_id,
                                                     func.lower(func.trim(Contact.email)) == normalise_email(address))).all()
    changed = []
    for contact in contacts:
        if normalise_email(contact.email) == address and contact.subscribed:
            contact.subscribed = False
            changed.append(contact.id)
            # the consent history keeps the withdrawal beside the grant it ends
            session.add(ContactConsent(merchant_id=merchant_id, contact_id=contact.id, purpose="email_marketing", granted=False,
                                       source=why[:200], wording="", occurred_at=utcnow(), recorded_by=actor[:200]))
            record(session, merchant_id, actor, "contact.unsubscribe", "contact", str(contact.id), why=why)
            emit(session, merchant_id, "contact.unsubscribed", {"contact_id": contact.id, "email": contact.email, "why": why})
    return changed


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnsubscribeClaim:
    """What a verified token says: which merchant's contact asked, from which email."""

    merchant_id: str
    contact_id: int | None
    email_campaign_id: int | None = None
    send_id: int | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeSigner:
    def __init__(self, keys: str | tuple[str, ...]) -> None:
        text = ",".join(keys) if isinstance(keys, tuple) else keys
        if not text.replace(",", "").strip():
            raise MissingUnsubscribeKeyError(f"CAMPAIGNS_TOKEN_KEY is empty, so unsubscribe links cannot be signed; {GENERATE_HINT}")
        parts = token_keys(text)  # the one key loader: the same strength check as token storage
        self._keys = [hmac.new(k.encode(), _KEY_LABEL, hashlib.sha256).digest() for k in parts]

    def __repr__(self) -> str:
        return "UnsubscribeSigner(<key hidden>)"

    def sign(self, claim: UnsubscribeClaim) -> str:
        payload = {"m": claim.merchant_id, "c": claim.contact_id, "e": claim.email_campaign_id, "s": claim.send_id}
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{TOKEN_VERSION}.{body}.{self._signature(self._keys[0], body)}"

    def verify(self, token: str) -> UnsubscribeClaim:
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            raise UnsubscribeTokenError("this unsubscribe link is malformed; use the link from the email as it is")
        _, body, signature = parts
        if not any(hmac.compare_digest(self._signature(key, body), signature) for key in self._keys):
            raise UnsubscribeTokenError(
                "this unsubscribe link's signature does not match: it was altered, or signed with a key that is no longer in "
                "CAMPAIGNS_TOKEN_KEY (keep old keys listed after the new one)"
            )
        try:
            payload = json.loads(_unb64(body))
            return UnsubscribeClaim(str(payload["m"]), _int_or_none(payload.get("c")), _int_or_none(payload.get("e")), _int_or_none(payload.get("s")))
        except (ValueError, KeyError, TypeError):
            raise UnsubscribeTokenError("this unsubscribe link's payload cannot be read") from None

    @staticmethod
    def _signature(key: bytes, body: str) -> str:
        return _b64(hmac.new(key, f"{TOKEN_VERSION}.{body}".encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def signer_from_settings(settings: Settings) -> UnsubscribeSigner:
    keys = settings_token_keys(settings)
    if keys is None:
        raise MissingUnsubscribeKeyError(f"CAMPAIGNS_TOKEN_KEY is not set, so unsubscribe links cannot be signed or checked; {GENERATE_HINT}")
    return UnsubscribeSigner(keys)


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe?token={quote(token, safe='')}"


# --- unsubscribing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UnsubscribeResult:
    merchant_id: str
    email: str
    contact_id: int | None
    changed: bool  # False when the address was already suppressed and no contact was subscribed


def unsubscribe(
    target: Session | str,
    token: str,
    signer: UnsubscribeSigner | Settings,
    *,
    actor: str = "recipient",
    source: str = "one-click",
) -> UnsubscribeResult:
    """Verify `token`, put its address on the suppression list (UNSUBSCRIBED) and mark the contact unsubscribed.

    Idempotent: a second click changes and audits nothing. Given a URL the change is committed
    before returning; given a session the caller commits.
    """
    signer = signer_from_settings(signer) if isinstance(signer, Settings) else signer
    claim = signer.verify(token)
    if isinstance(target, str):
        with session_scope(target) as session:
            return _unsubscribe(session, claim, actor, source)
    result = _unsubscribe(target, claim, actor, source)
    target.flush()
    return result


def _unsubscribe(session: Session, claim: UnsubscribeClaim, actor: str, source: str) -> UnsubscribeResult:
    contact = None
    if claim.contact_id is not None:
        contact = session.scalar(select(Contact).where(Contact.merchant_id == claim.merchant_id, Contact.id == claim.contact_id))
    address = contact.email if contact is not None else None
    if address is None and claim.send_id is not None:
        # the contact was deleted since the email went out: the send row still knows the address
        address = session.scalar(select(EmailSend.email).where(EmailSend.merchant_id == claim.merchant_id, EmailSend.id == claim.send_id))
    if address is None:
        raise UnsubscribeTokenError("this unsubscribe link points at a contact that no longer exists; nothing to do")
    where = f"{source}:email_campaign:{claim.email_campaign_id}" if claim.email_campaign_id else source
    _, created = add_suppression(session, claim.merchant_id, address, SuppressionReason.UNSUBSCRIBED, actor=actor, source=where)
    changed = unsubscribe_contacts(session, claim.merchant_id, normalise_email(address), actor, why=where)
    return UnsubscribeResult(claim.merchant_id, normalise_email(address), contact.id if contact is not None else None, created or bool(changed))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
