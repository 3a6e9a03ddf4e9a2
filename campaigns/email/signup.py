"""Sign-up with double opt-in: a website form (or a POST) asks, a signed link in an email confirms.

`signup` validates the form, creates the contact as ``pending`` (or finds the existing one), keeps the
request as evidence (a ``signup_request`` consent row with the wording shown, IP and user agent) and
emails a confirmation link through the configured email publisher. Nothing is sent for a suppressed
or erased address, and the answer is the same either way, so the form reveals nobody's status.

`confirm_signup` verifies the link, makes the contact active and records the consent to marketing
email (source ``double opt-in``), plus a ``signed_up`` event: the event and the now active contact
feed the ``signed_up`` automation trigger (campaigns.email.automation_triggers). Confirming twice
changes nothing.

Confirmation tokens are ``c1.<payload>.<signature>``: base64url JSON of (merchant, contact, issued at),
HMAC-SHA256 under a key derived from ``CAMPAIGNS_TOKEN_KEY`` with its own label, so an unsubscribe
token can never confirm anything. They expire after `TOKEN_DAYS` days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.audiences.contacts import (
    ACTIVE,
    PENDING,
    ConsentInput,
    ContactError,
    check_tags,
    check_time_zone,
    find_contact,
    normalise_address,
    record_consent,
)
from campaigns.audiences.events import record_event
from campaigns.audiences.suppression import UnsubscribeClaim, UnsubscribeSigner, erased_addresses, suppressed_emails, unsubscribe_url
from campaigns.core.audit import record
from campaigns.core.crypto import GENERATE_HINT
from campaigns.core.merchants import require_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.models import Contact, ContactConsent
from campaigns.core.store.types import utcnow
from campaigns.email.config import provider_config
from campaigns.email.errors import EmailDeliveryError
from publishers import build_email_publisher
from publishers.base import Credentials, EmailMessage, EmailRecipient, Publisher

TOKEN_VERSION = "c1"
TOKEN_DAYS = 7
_KEY_LABEL = b"campaigns/signup-confirm/v1"
SIGNUP_REQUEST = "signup_request"
DEFAULT_CONSENT_TEXT = "Yes, send me news and offers by email. I can unsubscribe at any time."


class SignupError(ValueError):
    """The form cannot be accepted; `problems` maps each field to its fix."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {fix}" for name, fix in problems.items()))


class ConfirmationTokenError(ValueError):
    pass


class SignupForm(BaseModel):
    """What a sign-up form or a website's JSON POST sends."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(max_length=320)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    timezone: str = Field(default="", max_length=64, description="IANA name; empty keeps UTC.")
    tags: list[str] = Field(default_factory=list, max_length=20)
    consent: bool = Field(description="The person ticked the consent box; must be true.")
    consent_text: str = Field(default=DEFAULT_CONSENT_TEXT, min_length=1, max_length=2000, description="The wording shown beside the box.")
    source: str = Field(default="signup form", min_length=1, max_length=100, description="Where the form is, e.g. 'footer form'.")

    @field_validator("consent")
    @classmethod
    def _ticked(cls, value: bool) -> bool:
        if not value:
            raise ValueError("tick the consent box to subscribe")
        return value


def parse_form(data: dict[str, object]) -> SignupForm:
    """The form from parsed input (HTML form fields or JSON); SignupError naming each bad field."""
    values = dict(data)
    if isinstance(values.get("tags"), str):
        values["tags"] = [t for t in str(values["tags"]).split(";") if t.strip()]
    if isinstance(values.get("consent"), str):
        values["consent"] = str(values["consent"]).strip().lower() in ("on", "true", "yes", "1")
    try:
        form = SignupForm.model_validate(values)
    except ValidationError as exc:
        raise SignupError({".".join(map(str, e["loc"])) or "form": e["msg"].removeprefix("Value error, ") for e in exc.errors()}) from None
    problems = {}
    for name, check in (("email", normalise_address), ("timezone", lambda z: check_time_zone(z) if z else z), ("tags", check_tags)):
        try:
            check(getattr(form, name))
        except ContactError as exc:
            problems[name] = str(exc)
    if problems:
        raise SignupError(problems)
    return form


def parse_request(data: dict[str, object], default_merchant: str) -> tuple[str, SignupForm]:
    """(merchant id, form) from a sign-up request's fields: ``merchant`` (default `default_merchant`) plus the form's fields."""
    values = dict(data)
    merchant = str(values.pop("merchant", "") or "").strip() or default_merchant
    return merchant, parse_form(values)


# --- tokens -------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ConfirmationSigner:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ConfirmationTokenError(f"CAMPAIGNS_TOKEN_KEY is empty, so confirmation links cannot be signed; {GENERATE_HINT}")
        self._keys = [hmac.new(k.encode(), _KEY_LABEL, hashlib.sha256).digest() for k in parts]

    def __repr__(self) -> str:
        return "ConfirmationSigner(<key hidden>)"

    def sign(self, merchant_id: str, contact_id: int, issued_at: datetime) -> str:
        body = _b64(json.dumps({"m": merchant_id, "c": contact_id, "t": int(issued_at.timestamp())}, separators=(",", ":")).encode())
        return f"{TOKEN_VERSION}.{body}.{self._signature(self._keys[0], body)}"

    def verify(self, token: str, now: datetime) -> tuple[str, int, datetime]:
        parts = (token or "").strip().split(".")
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            raise ConfirmationTokenError("this confirmation link is malformed; open the link from the email as it is")
        _, body, signature = parts
        if not any(hmac.compare_digest(self._signature(key, body), signature) for key in self._keys):
            raise ConfirmationTokenError("this confirmation link's signature does not match; sign up again to get a new link")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            merchant_id, contact_id, issued = str(payload["m"]), int(payload["c"]), datetime.fromtimestamp(int(payload["t"]), UTC)
        except (ValueError, KeyError, TypeError):
            raise ConfirmationTokenError("this confirmation link's payload cannot be read") from None
        if now - issued > timedelta(days=TOKEN_DAYS):
            raise ConfirmationTokenError(f"this confirmation link is older than {TOKEN_DAYS} days; sign up again to get a new one")
        return merchant_id, contact_id, issued

    @staticmethod
    def _signature(key: bytes, body: str) -> str:
        return _b64(hmac.new(key, f"{TOKEN_VERSION}.{body}".encode(), hashlib.sha256).digest()[:16])


def confirmation_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/signup/confirm?token={quote(token, safe='')}"


# --- the mailer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignupMailer:
    """How confirmation emails leave: the publisher, its credentials, the From address, the public https URL and the signers."""

    publisher: Publisher[EmailMessage]
    credentials: Credentials
    sender: str
    public_url: str
    confirmations: ConfirmationSigner
    unsubscribes: UnsubscribeSigner


def mailer_from_settings(settings: Settings, merchant_name: str, provider: str | None = None) -> SignupMailer:
    """The configured email provider (CAMPAIGNS_EMAIL_PROVIDER) set up for confirmation emails; EmailDeliveryError names a missing setting."""
    provider = provider or settings.email_provider
    unsubscribes, credentials, sender, public_url, _ = provider_config(settings, provider, merchant_name, None, None, None)
    publisher = build_email_publisher(settings.publisher_config(), provider)  # type: ignore[arg-type]
    return SignupMailer(publisher, credentials, sender, public_url, ConfirmationSigner(settings.token_key.get_secret_value()),  # type: ignore[union-attr]
                        unsubscribes)


# --- the flow -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignupResult:
    contact_id: int | None
    outcome: str  # "confirmation_sent", "already_subscribed", "not_sent" (suppressed or erased address)


def signup(session: Session, merchant_id: str, form: SignupForm, mailer: SignupMailer, *, ip: str | None = None, user_agent: str | None = None,
           now: datetime | None = None) -> SignupResult:
    """Record a sign-up request and email the confirmation link (the caller commits; a failed send raises and writes nothing)."""
    merchant = require_merchant(session, merchant_id)
    now = now or utcnow()
    address = normalise_address(form.email)
    if suppressed_emails(session, merchant_id, [address]) or erased_addresses(session, merchant_id, [address]):
        record(session, merchant_id, "signup", "contact.signup_refused", "merchant", merchant_id, reason="suppressed")
        return SignupResult(None, "not_sent")
    contact = find_contact(session, merchant_id, address)
    if contact is not None and contact.status == ACTIVE and contact.subscribed:
        return SignupResult(contact.id, "already_subscribed")
    if contact is None:
        contact = Contact(merchant_id=merchant_id, email=address, first_name=form.first_name, last_name=form.last_name,
                          timezone=form.timezone or "UTC", tags=check_tags(form.tags), attributes={}, subscribed=False, status=PENDING)
        session.add(contact)
        session.flush()
    session.add(ContactConsent(merchant_id=merchant_id, contact_id=contact.id, purpose=SIGNUP_REQUEST, granted=True, source=form.source,
                               wording=form.consent_text, occurred_at=now, ip=(ip or None) and ip[:64],
                               user_agent=(user_agent or None) and user_agent[:400], recorded_by="signup"))
    link = confirmation_url(mailer.public_url, mailer.confirmations.sign(merchant_id, contact.id, now))
    unsubscribe = unsubscribe_url(mailer.public_url, mailer.unsubscribes.sign(UnsubscribeClaim(merchant_id, contact.id)))
    name = html.escape(merchant.name)
    message = EmailMessage(
        sender=mailer.sender, subject=f"Confirm your subscription to {merchant.name}"[:300], tag="signup-confirm",
        html=(f"<p>Please confirm that you want email from {name}.</p><p><a href=\"{html.escape(link, quote=True)}\">Yes, subscribe me</a></p>"
              f"<p>If you did not ask for this, ignore this email: you will not be subscribed.</p>"),
        text=f"Please confirm that you want email from {merchant.name}:\n{link}\n\nIf you did not ask for this, ignore this email.",
        recipients=(EmailRecipient(email=address, name=f"{form.first_name} {form.last_name}".strip(), unsubscribe_url=unsubscribe),),
    )
    session.flush()
    record(session, merchant_id, "signup", "contact.signup", "contact", str(contact.id), source=form.source)
    try:
        mailer.publisher.publish(message, mailer.credentials)
    except Exception as exc:  # any publisher failure: the caller's transaction rolls back, the person can try again
        raise EmailDeliveryError(f"the confirmation email could not be sent ({type(exc).__name__}); try again later") from exc
    return SignupResult(contact.id, "confirmation_sent")


@dataclass(frozen=True)
class ConfirmResult:
    merchant_id: str
    contact_id: int
    changed: bool  # False when it was already confirmed


def confirm_signup(session: Session, token: str, signer: ConfirmationSigner, *, ip: str | None = None, user_agent: str | None = None,
                   now: datetime | None = None) -> ConfirmResult:
    """Verify the link, activate the contact, record the consent and a ``signed_up`` event (idempotent; the caller commits)."""
    now = now or utcnow()
    merchant_id, contact_id, issued = signer.verify(token, now)
    contact = session.scalar(select(Contact).where(Contact.merchant_id == merchant_id, Contact.id == contact_id))
    if contact is None or contact.status not in (ACTIVE, PENDING):
        raise ConfirmationTokenError("this confirmation link points at a contact that no longer exists; sign up again")
    if suppressed_emails(session, merchant_id, [contact.email]):
        raise ConfirmationTokenError("this address was unsubscribed since; sign up again to subscribe")
    if contact.status == ACTIVE and contact.subscribed:
        return ConfirmResult(merchant_id, contact_id, False)
    request = session.scalar(select(ContactConsent).where(ContactConsent.merchant_id == merchant_id, ContactConsent.contact_id == contact_id,
                                                          ContactConsent.purpose == SIGNUP_REQUEST).order_by(ContactConsent.id.desc()).limit(1))
    contact.status = ACTIVE
    record_consent(session, contact, True, ConsentInput(source=f"double opt-in ({request.source if request else 'signup'})",
                                                        wording=request.wording if request else DEFAULT_CONSENT_TEXT, occurred_at=now, ip=ip,
                                                        user_agent=user_agent), actor="signup")
    record_event(session, merchant_id, contact_id, "signed_up", now, event_key=f"signup:{contact_id}:{int(issued.timestamp())}",
                 details={"source": request.source if request else "signup"})
    return ConfirmResult(merchant_id, contact_id, True)


# --- pages for the public endpoint (the HTTP shell serves them as they are) -----------------------


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(title)}</title><body style='font:16px sans-serif;margin:3em auto;max-width:34em;padding:0 1em'>{body}</body></html>")


def signup_page(merchant_id: str, merchant_name: str, *, action: str = "/signup", values: dict[str, object] | None = None,
                problems: dict[str, str] | None = None, consent_text: str = DEFAULT_CONSENT_TEXT) -> str:
    """The sign-up form (GET /signup), or the form again with each problem under its field after a refused POST."""
    values, problems = values or {}, problems or {}
    esc = lambda value: html.escape(str(value or ""), quote=True)  # noqa: E731

    def field(name: str, label: str, kind: str = "text", required: bool = False) -> str:
        problem = f"<div style='color:#b00020' role='alert'>{esc(problems[name])}</div>" if name in problems else ""
        return (f"<p><label>{label}<br><input type='{kind}' name='{name}' value='{esc(values.get(name))}'{' required' if required else ''} "
                f"style='width:100%;padding:.4em'></label>{problem}</p>")

    consent_problem = f"<div style='color:#b00020' role='alert'>{esc(problems['consent'])}</div>" if "consent" in problems else ""
    form = (f"<h1>Get email from {esc(merchant_name)}</h1><form method='post' action='{esc(action)}'>"
            f"<input type='hidden' name='merchant' value='{esc(merchant_id)}'><input type='hidden' name='consent_text' value='{esc(consent_text)}'>"
            + field("email", "Email", "email", required=True) + field("first_name", "First name") + field("last_name", "Last name")
            + f"<p><label><input type='checkbox' name='consent' value='on'> {esc(consent_text)}</label>{consent_problem}</p>"
            + "<button type='submit'>Subscribe</button></form>")
    return _page(f"Subscribe to {merchant_name}", form)


def signup_sent_page() -> str:
    """After a POST that was accepted: the same words whatever happened to the address (no one's status is revealed)."""
    return _page("Check your inbox", "<h1>Check your inbox</h1><p>If the address can receive our email, a message with a confirmation "
                                     "link is on its way. Click it within 7 days to subscribe.</p>")


def confirm_form_page(token: str, *, action: str = "/signup/confirm") -> str:
    """GET /signup/confirm: one button that POSTs the token. Mail scanners follow links; only a person presses the button."""
    target = html.escape(f"{action}?{urlencode({'token': token})}", quote=True)
    return _page("Confirm your subscription", f"<h1>Confirm your subscription</h1><form method='post' action='{target}'>"
                                              "<button type='submit'>Yes, subscribe me</button></form>")


def confirm_page(error: str | None = None) -> str:
    """POST /signup/confirm: subscribed, or why not."""
    if error:
        return _page("Not confirmed", f"<h1>Not confirmed</h1><p>{html.escape(error)}</p>")
    return _page("Subscribed", "<h1>You are subscribed</h1><p>Thank you. Every email has a link to unsubscribe.</p>")
