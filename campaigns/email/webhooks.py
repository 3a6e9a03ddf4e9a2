"""Provider event webhooks: SendGrid and Mailgun engagement lands in ``contact_events``.

Each request is verified first (SendGrid: ECDSA P-256 over timestamp header + raw body;
Mailgun: HMAC-SHA256 of timestamp + token), then parsed and validated whole, then written in
one transaction. Events are matched to the ``email_sends`` row they belong to by provider
message id and recipient address, because one provider id covers a whole batch of up to
1,000 recipients:

* SendGrid stores its ``X-Message-Id`` response header; the event's ``sg_message_id`` is that
  id followed by ``.`` and a suffix, so a send matches when its id is the event's id or a
  ``.``-separated prefix of it.
* Mailgun stores the ``id`` of its send response (``<...@domain>``); events carry the same
  Message-Id without the angle brackets.

Rows sent through the sandbox (provider ``sandbox``) match either webhook, so the whole loop
can be rehearsed locally. Events for messages this installation did not send are counted and
ignored: a provider account often sends for other systems too.

Every stored event is keyed ``<provider>:<provider event id>``, so redeliveries add nothing
(`contact_events.store_events` is ``ON CONFLICT DO NOTHING``) and their suppression side
effects run only the first time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns.audiences.events import MAX_KEY, store_events
from campaigns.audiences.suppression import unsubscribe_contacts, add_suppression, normalise_email, record_bounce, record_complaint
from campaigns.core import json_input
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import ContactEvent, EmailSend, SuppressionReason

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAILGUN_MAX_SKEW_SECONDS = 300  # Mailgun suggests a freshness check; 5 minutes tolerates clock drift and queueing
MAX_BODY_BYTES = 10 * 1024 * 1024  # SendGrid batches events; a few MB at most in practice
SANDBOX = "sandbox"
_CHUNK = 500

# provider event name -> contact event kind; names mapped to None are understood and deliberately not stored
SENDGRID_KINDS: dict[str, str | None] = {
    "delivered": "delivered", "open": "opened", "click": "clicked", "bounce": "bounced", "spamreport": "complained",
    "unsubscribe": "unsubscribed", "group_unsubscribe": "unsubscribed",
    "processed": None, "deferred": None, "dropped": None, "group_resubscribe": None,
}
MAILGUN_KINDS: dict[str, str | None] = {
    "delivered": "delivered", "opened": "opened", "clicked": "clicked", "failed": "bounced", "complained": "complained",
    "unsubscribed": "unsubscribed", "accepted": None, "rejected": None, "stored": None,
}


class WebhookError(ValueError):
    """A request that cannot be accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class WebhookConfigError(ValueError):
    """A webhook key setting that cannot be used; the message names the setting and the fix."""


@dataclass(frozen=True)
class ProviderEvent:
    provider: str  # sendgrid | mailgun
    event_key: str  # "<provider>:<provider event id>"
    name: str  # the provider's event name
    kind: str | None  # contact event kind; None: understood but not stored (processed, soft bounce, ...)
    email: str  # lower-cased recipient
    message_id: str  # as the event gives it
    occurred_at: datetime
    url: str | None = None
    reason: str = ""


@dataclass
class WebhookReport:
    received: int = 0  # events in the request
    stored: int = 0  # new contact events
    duplicates: int = 0  # already stored (redelivery)
    skipped: int = 0  # event types not stored (processed, deferred, soft bounces, ...)
    unknown: int = 0  # no email send of this installation matches (mail sent by another system)
    no_contact: int = 0  # matched a send whose contact was deleted: suppression only, no contact event
    suppressed: int = 0  # addresses newly added to the suppression list
    kinds: dict[str, int] = field(default_factory=dict)  # new contact events by kind

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- verification ------------------------------------------------------------------------------


def load_sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    """The Signed Event Webhook verification key: base64 DER as SendGrid shows it, or PEM."""
    setting = "CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY"
    text = text.strip()
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise WebhookConfigError(f"{setting} is not a public key; paste the verification key from SendGrid's Mail Settings > "
                                 "Signed Event Webhook as shown (base64) or as PEM") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise WebhookConfigError(f"{setting} is not an ECDSA P-256 key; SendGrid signs with P-256, copy its verification key again")
    return key


def verify_sendgrid(key: ec.EllipticCurvePublicKey, signature: str | None, timestamp: str | None, body: bytes) -> None:
    """Raise WebhookError(401) unless `signature` is SendGrid's ECDSA signature of timestamp + body."""
    if not signature or not timestamp:
        raise WebhookError(401, f"missing {SENDGRID_SIGNATURE_HEADER} or {SENDGRID_TIMESTAMP_HEADER}; "
                                "turn on the Signed Event Webhook in SendGrid's Mail Settings")
    try:
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookError(401, "SendGrid signature does not match; check CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY is this account's "
                                "verification key and that no proxy rewrites the body") from None


class MailgunTokens:
    """Tokens of requests already accepted, kept while their timestamps are fresh: a replay is refused.

    In-process only; after a restart the freshness window still limits a replay to 5 minutes,
    and a replayed genuine request is harmless anyway (its events are already stored).
    """

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def seen(self, token: str) -> bool:
        with self._lock:
            return token in self._seen

    def remember(self, token: str, timestamp: float, now: float) -> None:
        with self._lock:
            self._seen = {t: ts for t, ts in self._seen.items() if now - ts <= MAILGUN_MAX_SKEW_SECONDS}
            self._seen[token] = timestamp


def verify_mailgun(signing_key: str, signature: Any, now: float | None = None, tokens: MailgunTokens | None = None) -> tuple[str, float]:
    """Check the body's ``signature`` object; (token, timestamp) when it is genuine and fresh, else WebhookError(401)."""
    if not isinstance(signature, Mapping) or not all(isinstance(signature.get(k), str | int | float) for k in ("timestamp", "token", "signature")):
        raise WebhookError(401, "missing signature.timestamp, signature.token or signature.signature; send Mailgun's JSON webhook body")
    timestamp, token = str(signature["timestamp"]), str(signature["token"])
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature["signature"]).lower()):
        raise WebhookError(401, "Mailgun signature does not match; check CAMPAIGNS_MAILGUN_WEBHOOK_SIGNING_KEY is the HTTP webhook signing key")
    try:
        when = float(timestamp)
    except ValueError:
        raise WebhookError(401, f"signature.timestamp {timestamp!r} is not a unix time") from None
    now = time.time() if now is None else now
    if abs(now - when) > MAILGUN_MAX_SKEW_SECONDS:
        raise WebhookError(401, f"signature.timestamp is {abs(now - when):.0f} s away from this server's clock (at most "
                                f"{MAILGUN_MAX_SKEW_SECONDS} s); a stale or replayed request, or a server clock that needs NTP")
    if tokens is not None and tokens.seen(token):
        raise WebhookError(401, "signature.token was already used: a replayed request")
    return token, when


# --- parsing -----------------------------------------------------------------------------------


def _json(body: bytes) -> Any:
    """The body parsed within the JSON limits: a 100k-deep body is refused by a linear scan, before parsing or any signature work."""
    try:
        json_input.check_limits(body, what="the body", max_bytes=MAX_BODY_BYTES)
    except json_input.JsonInputError as exc:
        raise WebhookError(400, str(exc)) from None
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise WebhookError(400, "the body is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise WebhookError(400, f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _time(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise WebhookError(400, f"{where}: {value!r} is not a unix time in seconds")
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookError(400, f"{where}: {value!r} is not a unix time in seconds") from None


def _text(record: Mapping[str, Any], name: str, where: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise WebhookError(400, f"{where}.{name}: missing or not text")
    return value.strip()


def _key(provider: str, event_id: Any, *content: Any) -> str:
    if isinstance(event_id, str) and event_id.strip() and len(provider) + 1 + len(event_id.strip()) <= MAX_KEY:
        return f"{provider}:{event_id.strip()}"
    # no usable id: a key from the content, so a redelivery is still recognised
    return f"{provider}:sha256:" + hashlib.sha256("|".join(map(str, content)).encode()).hexdigest()


def parse_sendgrid(body: bytes) -> list[ProviderEvent]:
    """SendGrid's JSON array of events; WebhookError(400) naming the event index and field on the first problem."""
    data = _json(body)
    if not isinstance(data, list):
        raise WebhookError(400, "the body must be a JSON array of SendGrid events")
    events = []
    for index, record in enumerate(data):
        where = f"event {index}"
        if not isinstance(record, Mapping):
            raise WebhookError(400, f"{where}: not a JSON object")
        name = _text(record, "event", where)
        email = normalise_email(_text(record, "email", where))
        occurred_at = _time(record.get("timestamp"), f"{where}.timestamp")
        message_id = str(record.get("sg_message_id") or "").strip()
        kind = SENDGRID_KINDS.get(name)
        if name == "bounce" and str(record.get("type", "bounce")) != "bounce":
            kind = None  # "blocked": a temporary refusal, SendGrid retries; not a hard bounce
        reason = str(record.get("reason") or record.get("response") or "")[:500]
        url = record.get("url") if isinstance(record.get("url"), str) else None
        events.append(ProviderEvent("sendgrid", _key("sendgrid", record.get("sg_event_id"), message_id, email, name, occurred_at.isoformat(), url),
                                    name, kind, email, message_id, occurred_at, url, reason))
    return events


def parse_mailgun(data: Any) -> ProviderEvent:
    """The ``event-data`` of Mailgun's JSON webhook body (already verified)."""
    record = data.get("event-data") if isinstance(data, Mapping) else None
    if not isinstance(record, Mapping):
        raise WebhookError(400, "event-data: missing or not an object; configure Mailgun's current (JSON) webhooks, not legacy form posts")
    where = "event-data"
    name = _text(record, "event", where)
    email = normalise_email(_text(record, "recipient", where))
    occurred_at = _time(record.get("timestamp"), f"{where}.timestamp")
    message = record.get("message") if isinstance(record.get("message"), Mapping) else {}
    headers = message.get("headers") if isinstance(message.get("headers"), Mapping) else {}
    message_id = str(headers.get("message-id") or "").strip()
    kind = MAILGUN_KINDS.get(name)
    if name == "failed" and record.get("severity") != "permanent":
        kind = None  # a temporary failure: Mailgun retries the delivery itself
    status = record.get("delivery-status") if isinstance(record.get("delivery-status"), Mapping) else {}
    reason = str(status.get("description") or status.get("message") or record.get("reason") or "")[:500]
    url = record.get("url") if isinstance(record.get("url"), str) else None
    return ProviderEvent("mailgun", _key("mailgun", record.get("id"), message_id, email, name, occurred_at.isoformat(), url),
                         name, kind, email, message_id, occurred_at, url, reason)


# --- matching and writing ----------------------------------------------------------------------


def _candidate_ids(event: ProviderEvent) -> list[str]:
    """Stored provider ids this event's message id could belong to, most specific first."""
    mid = event.message_id
    if not mid:
        return []
    if event.provider == "sendgrid":
        parts = mid.split(".")
        return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
    bare = mid.strip("<>")
    return [f"<{bare}>", bare]


@dataclass(frozen=True)
class _Send:
    merchant_id: str
    email_campaign_id: int
    contact_id: int | None


def _sends(session: Session, provider: str, events: Sequence[ProviderEvent]) -> dict[tuple[str, str], _Send]:
    """(provider message id, lower-cased address) -> send, for every id the events could point at."""
    ids = sorted({c for e in events for c in _candidate_ids(e)})
    found: dict[tuple[str, str], _Send] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(EmailSend.provider_message_id, func.lower(EmailSend.email), EmailSend.merchant_id, EmailSend.email_campaign_id, EmailSend.contact_id)
            .where(EmailSend.provider.in_((provider, SANDBOX)), EmailSend.provider_message_id.in_(ids[start : start + _CHUNK]))
        )
        for message_id, email, merchant_id, ec_id, contact_id in rows:
            found[(message_id, normalise_email(email))] = _Send(merchant_id, ec_id, contact_id)
    return found


def _match(event: ProviderEvent, sends: Mapping[tuple[str, str], _Send]) -> _Send | None:
    for candidate in _candidate_ids(event):
        if (send := sends.get((candidate, event.email))) is not None:
            return send
    return None


def apply_events(session: Session, events: Sequence[ProviderEvent]) -> WebhookReport:
    """Store the events of one request in the caller's transaction; suppression for first-seen bounces, complaints, unsubscribes."""
    report = WebhookReport(received=len(events))
    if not events:
        return report
    sends = _sends(session, events[0].provider, events)
    matched: list[tuple[ProviderEvent, _Send]] = []
    for event in events:
        if event.kind is None:
            report.skipped += 1
        elif (send := _match(event, sends)) is None:
            report.unknown += 1
        else:
            matched.append((event, send))
    # keys already stored (redeliveries), per merchant: only first-seen events act
    already: set[tuple[str, str]] = set()
    for merchant_id in {s.merchant_id for _, s in matched}:
        keys = sorted({e.event_key for e, s in matched if s.merchant_id == merchant_id})
        for start in range(0, len(keys), _CHUNK):
            already.update((merchant_id, k) for k in session.scalars(select(ContactEvent.event_key).where(
                ContactEvent.merchant_id == merchant_id, ContactEvent.event_key.in_(keys[start : start + _CHUNK]))))
    rows: list[dict[str, Any]] = []
    for event, send in matched:
        if (send.merchant_id, event.event_key) in already:
            report.duplicates += 1
            continue
        already.add((send.merchant_id, event.event_key))  # the same event twice in one request acts once
        if send.contact_id is None:
            report.no_contact += 1
        else:
            details: dict[str, Any] = {"source": f"{event.provider}-webhook", "event": event.name}
            if event.url:
                details["url"] = event.url
            if event.reason:
                details["reason"] = event.reason
            rows.append({"merchant_id": send.merchant_id, "contact_id": send.contact_id, "kind": event.kind, "occurred_at": event.occurred_at,
                         "event_key": event.event_key, "email_campaign_id": send.email_campaign_id, "details": details})
            report.kinds[event.kind] = report.kinds.get(event.kind, 0) + 1  # type: ignore[index]
        report.suppressed += _suppress(session, event, send)
    report.stored = store_events(session, rows)
    report.duplicates += len(rows) - report.stored  # lost a race with a concurrent redelivery
    return report


def _suppress(session: Session, event: ProviderEvent, send: _Send) -> int:
    actor, source = f"{event.provider}-webhook", f"{event.provider}:email_campaign:{send.email_campaign_id}"
    if event.kind == "bounced":
        return int(record_bounce(session, send.merchant_id, event.email, actor=actor, source=source, note=event.reason)[1])
    if event.kind == "complained":
        return int(record_complaint(session, send.merchant_id, event.email, actor=actor, source=source, note=event.reason)[1])
    if event.kind == "unsubscribed":
        # the provider's own unsubscribe link or list-unsubscribe handling: the same effect as our one-click link
        _, created = add_suppression(session, send.merchant_id, event.email, SuppressionReason.UNSUBSCRIBED, actor=actor, source=source)
        unsubscribe_contacts(session, send.merchant_id, event.email, actor, why=source)
        return int(created)
    return 0


# --- request handling --------------------------------------------------------------------------


def handle_sendgrid(store_url: str, key: ec.EllipticCurvePublicKey, headers: Mapping[str, str], body: bytes) -> WebhookReport:
    """Verify, parse and store one SendGrid request: all of it in one transaction, or nothing."""
    verify_sendgrid(key, headers.get(SENDGRID_SIGNATURE_HEADER.lower()), headers.get(SENDGRID_TIMESTAMP_HEADER.lower()), body)
    events = parse_sendgrid(body)
    with session_scope(store_url) as session:
        return apply_events(session, events)


def handle_mailgun(store_url: str, signing_key: str, body: bytes, tokens: MailgunTokens | None = None, now: float | None = None) -> WebhookReport:
    """Verify, parse and store one Mailgun request (one event); the token is remembered once the write committed."""
    data = _json(body)
    token, when = verify_mailgun(signing_key, data.get("signature") if isinstance(data, Mapping) else None, now, tokens)
    event = parse_mailgun(data)
    with session_scope(store_url) as session:
        report = apply_events(session, [event])
    if tokens is not None:
        tokens.remember(token, when, time.time() if now is None else now)
    return report
