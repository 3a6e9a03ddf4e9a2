"""Email campaigns sent exactly once per recipient.

Lifecycle of one recipient (a row of ``email_sends``)::

    prepare_send: snapshot of the segment --> PENDING, or SUPPRESSED (suppression list, unsubscribed contact)
    deliver:  PENDING --claim--> SENDING --hand-off (committed) --> provider
                 SENDING --accepted---------------------------------> SENT (provider message id)
                         |-- Retryable / 4xx deferral ----------------> PENDING (backoff), FAILED after MAX_ATTEMPTS
                         |-- Rejected / Duplicate / 5xx refusal ------> FAILED (reason)
                         |-- Ambiguous (sent, no answer) -------------> NEEDS_REVIEW (never resent by itself)
                         |-- suppressed since the snapshot ------------> SUPPRESSED (checked right before sending)
                         '-- lease expired: never handed off ---------> PENDING
                                            handed off ---------------> NEEDS_REVIEW, or SENT if the sandbox outbox has it

Guarantees:

* One row per (email campaign, address): the idempotency key is sha256 of the email campaign
  and the lower-cased address, unique in the table, so re-running `prepare_send` adds nothing.
* Two workers never hold the same row: claims are one ``UPDATE ... RETURNING`` over ids picked
  with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and over a sub-select under SQLite's single
  writer lock. Every later write re-checks ``status = SENDING AND claimed_by = me``.
* A row is handed to the provider only after a committed write saying so (``handed_off_at``),
  so after a crash the store knows which rows may have gone out: those go to a person
  (NEEDS_REVIEW) instead of out again; rows never handed off are simply sent.
* A batch the provider partly accepted marks the accepted recipients SENT; only the rest is retried.

Rendering (campaigns.email.template_engine: static check, Jinja2's immutable sandbox with HTML autoescaped
and StrictUndefined, the base layout, inlined CSS, a generated text part) turns the campaign once per
batch into the provider's per-recipient placeholder form (``{{first_name}}``); the publisher then fills each recipient's
values (SMTP locally with HTML escaping, SendGrid substitutions, Mailgun recipient variables),
so 1,000 recipients stay one SendGrid request. Merge tags: first_name, last_name, email,
unsubscribe_url (per recipient) and merchant_name, subject, preview_text (per campaign).
With CAMPAIGNS_EMAIL_TRACKING on, the rendered HTML also gets an open pixel and click redirects
(campaigns.email.tracking), filled per recipient as open_url and click_url next to the unsubscribe URL.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from typing import Any, Literal

import polars as pl
from jinja2 import TemplateError
from pydantic import ValidationError
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from campaigns.core.enums import EmailCampaignStatus
from campaigns.email import template_engine as email_templates
from campaigns.email import tracking
from campaigns.email.layout import with_layout
from campaigns.audiences import segments as segment_rules
from campaigns.content.approvals import KIND_EMAIL, NotApprovedError, approval_for, approve, content_hash, record_author_approval
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.audiences.suppression import (
    MissingUnsubscribeKeyError,
    UnsubscribeClaim,
    UnsubscribeSigner,
    normalise_email,
    record_bounce,
    record_complaint,
    signer_from_settings,
    suppressed_emails,
    unsubscribe,
    unsubscribe_url,
)
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope, dialect_insert as _insert
from campaigns.core.store.models import (
    Campaign,
    Contact,
    EmailCampaign,
    EmailSend,
    EmailSendStatus,
    EmailTemplate,
    Merchant,
    Segment,
)
from campaigns.core.store.types import utcnow
from publishers.base import Credentials, EmailMessage, EmailRecipient, Publisher, Receipt, fill_placeholders, placeholder_pattern
from publishers.errors import Ambiguous, AuthExpired, Duplicate, PublishError, Rejected, Retryable
from publishers.mailgun import MAX_BATCH as MAILGUN_MAX_BATCH
from publishers.sendgrid import MAX_PERSONALIZATIONS as SENDGRID_MAX_BATCH

__all__ = [
    "EMAIL_SENDS_COLUMNS", "MERGE_FIELDS", "PROVIDER_LIMITS", "DeliveryReport", "EmailCampaignNotFoundError", "EmailDeliveryError",
    "EmailTemplateError", "PrepareResult", "ProviderLimits", "Throttle", "approve_email_campaign", "campaign_counts", "check_config",
    "create_email_campaign",
    "deliver", "get_email_campaign", "prepare_send", "record_bounce", "record_complaint", "render_campaign", "render_for_recipient",
    "resolve_email_campaign", "resolve_review", "send_stats_frame", "unsubscribe",
]

log = logging.getLogger(__name__)

Provider = Literal["sandbox", "smtp", "sendgrid", "mailgun"]
MERGE_FIELDS = ("first_name", "last_name", "email")
CAMPAIGN_FIELDS = ("merchant_name", "subject", "preview_text")
DEFAULT_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
DEFAULT_BATCH = 1000  # rows per claim; also caps the provider batch, so the default fills one SendGrid/Mailgun request
SANDBOX_PUBLIC_URL = "https://unsubscribe.sandbox.invalid"  # the sandbox sends nothing, so no endpoint has to exist
REVIEW_HINT = "check the provider's activity log, then run `campaigns email review SEND_ID --outcome sent|failed|resend`"
TERMINAL = (EmailSendStatus.SENT, EmailSendStatus.FAILED, EmailSendStatus.SUPPRESSED, EmailSendStatus.NEEDS_REVIEW)

DEFAULT_HTML = """<div style="display:none">{{ preview_text }}</div>
<p>Hi {{ first_name }},</p>
<p>{{ subject }}</p>
<p style="font-size:12px;color:#666">You get this email from {{ merchant_name }}.
<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"""


@dataclass(frozen=True)
class ProviderLimits:
    """How much one provider takes: recipients per publish call (one request for HTTP APIs) and messages per second.

    The rates are conservative defaults per worker process; raise them to what the account's plan allows.
    """

    provider: str
    max_batch: int
    per_second: float | None  # None: not throttled


PROVIDER_LIMITS: dict[str, ProviderLimits] = {
    "sandbox": ProviderLimits("sandbox", 1000, None),
    "smtp": ProviderLimits("smtp", 50, 10.0),  # one connection, one message per recipient
    "sendgrid": ProviderLimits("sendgrid", SENDGRID_MAX_BATCH, 1000.0),
    "mailgun": ProviderLimits("mailgun", MAILGUN_MAX_BATCH, 500.0),
}


class EmailDeliveryError(ValueError):
    """A state or setting that stops a send before anything goes out; the message names the fix."""


class EmailCampaignNotFoundError(LookupError):
    pass


class EmailTemplateError(EmailDeliveryError):
    pass


# --- email campaigns ---------------------------------------------------------------------------


def get_email_campaign(session: Session, merchant_id: str, email_campaign_id: int) -> EmailCampaign:
    ec = session.scalar(select(EmailCampaign).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.id == email_campaign_id))
    if ec is None:
        raise EmailCampaignNotFoundError(f"no email campaign {email_campaign_id} for merchant {merchant_id!r}; create one with `campaigns email create`")
    return ec


def resolve_email_campaign(session: Session, merchant_id: str, ref: str) -> EmailCampaign:
    """`ref` is an email campaign id (digits) or a campaign id (``cmp_...``) that has exactly one email campaign."""
    ref = ref.strip()
    if ref.isdigit():
        return get_email_campaign(session, merchant_id, int(ref))
    ids = list(session.scalars(select(EmailCampaign.id).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.campaign_id == ref)
                               .order_by(EmailCampaign.id)))
    if len(ids) == 1:
        return get_email_campaign(session, merchant_id, ids[0])
    if not ids:
        raise EmailCampaignNotFoundError(f"campaign {ref!r} of merchant {merchant_id!r} has no email campaign; create one with `campaigns email create --campaign {ref}`")
    raise EmailCampaignNotFoundError(f"campaign {ref!r} has {len(ids)} email campaigns ({', '.join(map(str, ids))}); pass one of these ids instead")


def template_body(template: EmailTemplate | None) -> str:
    """The source an email is rendered from: the template inside its layout, or the built-in body.

    Every check (create, activate, preview) and every send renders this same source; the layout
    rides along as a first-line Jinja comment, so the approval hash covers it too.
    """
    return with_layout(template.html, template.layout) if template is not None and template.html.strip() else DEFAULT_HTML


def template_html(session: Session, ec: EmailCampaign) -> str:
    if ec.template_id is None:
        return DEFAULT_HTML
    return template_body(session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == ec.merchant_id, EmailTemplate.id == ec.template_id)))


def email_content_hash(subject: str, preview_text: str, template_html: str) -> str:
    """What an approval of an email campaign covers: subject, preview text and body, exactly."""
    return content_hash("\n\u241e\n".join((subject, preview_text, template_html)))


def _current_hash(session: Session, ec: EmailCampaign) -> str:
    return email_content_hash(ec.subject, ec.preview_text, template_html(session, ec))


def create_email_campaign(
    session: Session,
    merchant_id: str,
    *,
    campaign_id: str,
    segment_id: int,
    subject: str,
    actor: str,
    template_name: str | None = None,
    preview_text: str = "",
    send_window_hours: int | None = None,
) -> EmailCampaign:
    """A DRAFT email campaign. The author's own subject and body count as approved by them (recorded as such)."""
    merchant = require_merchant(session, merchant_id)
    subject, preview_text = subject.strip(), preview_text.strip()
    if not subject:
        raise EmailDeliveryError("subject: write a subject line")
    if send_window_hours is not None and not 1 <= send_window_hours <= 72:
        raise EmailDeliveryError(f"send window {send_window_hours} h: use 1 to 72 hours (each contact gets the email at their best hour within it)")
    if len(subject) > 300 or len(preview_text) > 150:
        raise EmailDeliveryError("subject is at most 300 characters and preview text at most 150; shorten it")
    campaign = session.scalar(select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id))
    if campaign is None:
        raise EmailDeliveryError(f"no campaign {campaign_id!r} for merchant {merchant_id!r}; list them with `campaigns campaigns list`")
    segment = session.scalar(select(Segment).where(Segment.merchant_id == merchant_id, Segment.id == segment_id))
    if segment is None:
        raise EmailDeliveryError(f"no segment {segment_id} for merchant {merchant_id!r}; save one in the app's Audiences page first")
    template = None
    if template_name:
        template = session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == merchant_id, EmailTemplate.name == template_name))
        if template is None:
            known = ", ".join(session.scalars(select(EmailTemplate.name).where(EmailTemplate.merchant_id == merchant_id).order_by(EmailTemplate.name))) or "none yet"
            raise EmailDeliveryError(f"no email template named {template_name!r} (known: {known})")
    ec = EmailCampaign(merchant_id=merchant_id, campaign_id=campaign.id, segment_id=segment.id, template_id=template.id if template else None,
                       subject=subject, preview_text=preview_text, status=EmailCampaignStatus.DRAFT, send_window_hours=send_window_hours)
    render_campaign(subject, preview_text, template_body(template), merchant.name)
    session.add(ec)
    session.flush()
    record(session, merchant_id, actor, "email.create", "email_campaign", str(ec.id), campaign_id=campaign.id, segment_id=segment.id,
           template=template_name, subject=subject)
    record_author_approval(session, merchant_id, KIND_EMAIL, ec.id, _current_hash(session, ec), actor)
    return ec


def approve_email_campaign(session: Session, merchant_id: str, email_campaign_id: int, actor: str, note: str = ""):
    """Approve the email campaign's current subject, preview text and body."""
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    return approve(session, merchant_id, KIND_EMAIL, ec.id, _current_hash(session, ec), actor, note)


def is_approved(session: Session, ec: EmailCampaign) -> bool:
    """Whether the email campaign's current subject, preview text and body carry an approval."""
    return approval_for(session, ec.merchant_id, KIND_EMAIL, ec.id, _current_hash(session, ec)) is not None


def require_approved(session: Session, ec: EmailCampaign) -> None:
    if not is_approved(session, ec):
        raise NotApprovedError(
            f"email campaign {ec.id}'s subject, preview text or body changed since it was approved (or it never was); "
            f"approve the current version, then send"
        )


# --- rendering ---------------------------------------------------------------------------------

# Rendering lives in campaigns.email.template_engine (static check, immutable sandbox, layout, CSS inlining, text part);
# this section adapts it to email campaigns, which are marketing mail and so always need an unsubscribe link.
RenderedCampaign = email_templates.RenderedEmail


def render_campaign(subject: str, preview_text: str, template_html: str, merchant_name: str) -> RenderedCampaign:
    """Subject, HTML and text with per-recipient placeholders; `template_html` may start with the base-layout directive."""
    try:
        rendered = email_templates.render_email(subject, preview_text, template_html, merchant_name, category="marketing")
    except (email_templates.TemplateProblemsError, TemplateError) as exc:
        problems = "; ".join(map(str, email_templates.problems_of(exc)))
        raise EmailTemplateError(f"the subject or template does not render ({problems}); merge tags are {email_templates.known_tags()}") from None
    text = rendered.text
    if "{{unsubscribe_url}}" not in text:
        text += "\n\nUnsubscribe: {{unsubscribe_url}}"
    allowed = {*rendered.merge, *MERGE_FIELDS, "unsubscribe_url"}
    for part in (rendered.subject, rendered.html, text):
        if stray := {m.group(1) for m in placeholder_pattern().finditer(part)} - allowed:
            raise EmailTemplateError(f"the rendered email still holds {{{{ {', '.join(sorted(stray))} }}}}; remove the braces from the subject or preview text")
    if not rendered.subject:
        raise EmailTemplateError("the subject renders empty; write a subject line")
    return RenderedCampaign(rendered.subject, rendered.html, text, rendered.merge)


def _html_to_text(body: str) -> str:
    return email_templates.html_to_text(body)


def _merge_value(value: Any) -> str:
    return email_templates.merge_value(value)


def _display_name(values: Mapping[str, str]) -> str:
    name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
    return re.sub(r'[,;:<>"()\[\]\\@]', "", name).strip()  # a comma would split the To header into two addresses


def render_for_recipient(rendered: RenderedCampaign, values: Mapping[str, str], unsubscribe: str) -> RenderedCampaign:
    """What one recipient sees (for previews and tests); the publishers do the same substitution."""
    merged = {**rendered.recipient_values(values), "unsubscribe_url": unsubscribe}  # defaults and filters applied per recipient
    return RenderedCampaign(fill_placeholders(rendered.subject, merged), fill_placeholders(rendered.html, merged, escape=True),
                            fill_placeholders(rendered.text, merged))


# --- preparing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrepareResult:
    email_campaign_id: int
    added: int  # rows written by this call (0 when sending had already started)
    counts: dict[str, int]


def idempotency_key(email_campaign_id: int, email: str) -> str:
    return "es_" + hashlib.sha256(f"{email_campaign_id}|{normalise_email(email)}".encode()).hexdigest()[:60]



def prepare_send(session: Session, merchant_id: str, email_campaign_id: int, actor: str, now: datetime | None = None,
                 provider: str | None = None) -> PrepareResult:
    """Snapshot the recipients into PENDING/SUPPRESSED rows and move the email campaign to SENDING (audited).

    Recipients: the segment (broadcast), or the contacts assigned to the A/B cell (ab_variant) or to the
    remainder (ab_remainder). With `send_window_hours` (or a send-time A/B variant) each row's
    next_attempt_at is the contact's best hour, spread within `provider`'s hourly capacity (default: the
    configured provider). One transaction (the caller's). Already SENDING: nothing is added, the counts come back.
    """
    now = now or utcnow()
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    if ec.status is EmailCampaignStatus.SENDING:
        return PrepareResult(ec.id, 0, campaign_counts(session, merchant_id, ec.id))
    if ec.status not in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
        raise EmailDeliveryError(f"email campaign {ec.id} is {ec.status.value}; only DRAFT or SCHEDULED ones can be sent (create a new one to send again)")
    from campaigns.email import ab_tests

    if ec.kind not in ab_tests.AB_KINDS and ec.segment_id is None:
        raise EmailDeliveryError(f"email campaign {ec.id} has no segment (it was deleted?); create the email campaign again with --segment")
    segment = session.scalar(select(Segment).where(Segment.merchant_id == merchant_id, Segment.id == ec.segment_id))
    if segment is None and ec.kind not in ab_tests.AB_KINDS:
        raise EmailDeliveryError(f"segment {ec.segment_id} of email campaign {ec.id} does not exist")
    merchant = require_merchant(session, merchant_id)
    rendered = render_campaign(ec.subject, ec.preview_text, template_html(session, ec), merchant.name)
    require_approved(session, ec)
    # claim the transition first: a second prepare running at the same moment waits here, then finds SENDING
    before = ec.status
    moved = session.execute(update(EmailCampaign).where(EmailCampaign.id == ec.id, EmailCampaign.status.in_(
        (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED))).values(status=EmailCampaignStatus.SENDING, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(ec)
    if moved != 1:
        return PrepareResult(ec.id, 0, campaign_counts(session, merchant_id, ec.id))
    columns = (Contact.id, Contact.email, Contact.first_name, Contact.last_name, Contact.subscribed, Contact.timezone, Contact.attributes)
    if ec.kind in ab_tests.AB_KINDS:
        query = ab_tests.recipients_query(session, ec).with_only_columns(*columns).order_by(Contact.id)
    else:
        query = segment_rules.contacts_query(merchant_id, segment.rules, now).with_only_columns(*columns).order_by(Contact.id)
    contacts = session.execute(query).all()
    send_at = ab_tests.planned_send_times(session, ec, [(c.id, c.timezone) for c in contacts], now, _hourly_capacity(provider))
    suppressed = suppressed_emails(session, merchant_id, (c.email for c in contacts))
    rows, seen = [], set()
    for contact in contacts:
        address = normalise_email(contact.email)
        if address in seen:
            continue  # two contacts spelling one mailbox differently get one copy
        seen.add(address)
        row: dict[str, Any] = {
            "merchant_id": merchant_id, "email_campaign_id": ec.id, "contact_id": contact.id, "email": contact.email.strip(),
            "idempotency_key": idempotency_key(ec.id, address), "status": EmailSendStatus.PENDING, "attempts": 0,
            # contact fields plus the custom fields the email prints, as they are now (defaults apply when filled)
            "merge_values": email_templates.merge_snapshot(contact.first_name, contact.last_name, contact.email, contact.attributes, rendered),
            "reason_code": None, "reason": None, "finished_at": None, "created_at": now, "updated_at": now,
            "next_attempt_at": send_at.get(contact.id),
        }
        if address in suppressed:
            reason = suppressed[address]
            row.update(status=EmailSendStatus.SUPPRESSED, reason_code=reason.value.lower(), finished_at=now,
                       reason=f"on the suppression list ({reason.value})")
        elif not contact.subscribed:
            row.update(status=EmailSendStatus.SUPPRESSED, reason_code="unsubscribed", finished_at=now, reason="the contact is unsubscribed")
        rows.append(row)
    added = 0
    for start in range(0, len(rows), 500):
        result = session.execute(_insert(session)(EmailSend).on_conflict_do_nothing().returning(EmailSend.id), rows[start : start + 500])
        added += len(result.all())
    counts = campaign_counts(session, merchant_id, ec.id)
    ec.stats = counts
    record(session, merchant_id, actor, "email.prepare", "email_campaign", str(ec.id), before=before.value, after=EmailCampaignStatus.SENDING.value,
           segment_id=ec.segment_id, kind=ec.kind, recipients=len(rows), scheduled=len(send_at),
           **{k: v for k, v in counts.items() if k in ("pending", "suppressed")})
    session.flush()
    return PrepareResult(ec.id, added, counts)


def _hourly_capacity(provider: str | None) -> int | None:
    from optimizers.send_time import hourly_capacity
    from campaigns.core.settings import get_settings

    limits = PROVIDER_LIMITS.get(provider or get_settings().email_provider)
    return hourly_capacity(limits.per_second) if limits else None


def campaign_counts(session: Session, merchant_id: str, email_campaign_id: int) -> dict[str, int]:
    """Rows per status, lower-cased, always with total, sent, suppressed, failed, needs_review, pending and sending."""
    rows = session.execute(select(EmailSend.status, func.count()).where(EmailSend.merchant_id == merchant_id, EmailSend.email_campaign_id == email_campaign_id)
                           .group_by(EmailSend.status)).all()
    counts = {s.value.lower(): 0 for s in EmailSendStatus}
    for status, n in rows:
        counts[EmailSendStatus(status).value.lower()] = int(n)
    return {"total": sum(counts.values()), **counts}


# --- throttling --------------------------------------------------------------------------------


class Throttle:
    """Paces batches to `per_second` messages: each batch waits until the previous ones' share of time has passed."""

    def __init__(self, per_second: float | None, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_second, self.clock, self.sleep = per_second, clock, sleep
        self._next: float | None = None

    def wait(self, messages: int) -> float:
        if not self.per_second:
            return 0.0
        now = self.clock()
        delay = max(0.0, self._next - now) if self._next is not None else 0.0
        if delay:
            self.sleep(delay)
        self._next = max(self._next or now, now) + messages / self.per_second
        return delay


# --- delivering --------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    email_campaign_id: int
    worker_id: str
    provider: str
    outcomes: dict[str, int] = field(default_factory=dict)  # what this run did, per resulting status
    batches: int = 0
    recovered: int = 0  # rows of dead workers settled by this run
    stopped: str | None = None  # why the run ended early, naming the fix
    campaign_status: str = ""
    stats: dict[str, int] = field(default_factory=dict)

    def add(self, status: EmailSendStatus | str, n: int = 1) -> None:
        if n:
            key = str(status.value if isinstance(status, EmailSendStatus) else status)
            self.outcomes[key] = self.outcomes.get(key, 0) + n


@dataclass(frozen=True)
class _Row:
    id: int
    contact_id: int | None
    email: str
    merge_values: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    status: EmailSendStatus
    code: str
    reason: str | None = None
    message_id: str | None = None
    retry_at: datetime | None = None
    hard_bounce: bool = False  # the server said the mailbox does not exist (5xx at RCPT)


@dataclass
class _Run:
    url: str
    merchant_id: str
    ec_id: int
    campaign_id: str | None
    worker_id: str
    now: datetime
    provider: str
    publisher: Any
    credentials: Credentials
    limits: ProviderLimits
    lease: timedelta
    max_attempts: int
    signer: UnsubscribeSigner
    sender: str
    public_url: str
    mailto: str | None
    rendered: RenderedCampaign
    throttle: Throttle
    report: DeliveryReport
    on_progress: Callable[[int], None] | None
    resume_at: datetime | None = None  # when rows not sent because the run stopped become due again
    started: float = field(default_factory=time.monotonic)
    tracker: tracking.TrackingSigner | None = None  # set when CAMPAIGNS_EMAIL_TRACKING is on

    def clock(self) -> datetime:
        # `now` may be a test's or a schedule's time; it advances with real elapsed time from there
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    @property
    def tag(self) -> str:
        return f"email-campaign-{self.ec_id}"

    def progress(self, n: int) -> None:
        if self.on_progress and n:
            self.on_progress(n)


def deliver(
    store_url: str,
    settings: Settings,
    email_campaign_id: int,
    worker_id: str,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    *,
    merchant_id: str | None = None,
    provider: Provider | None = None,
    publisher: Publisher[EmailMessage] | None = None,
    lease: timedelta = DEFAULT_LEASE,
    max_attempts: int = MAX_ATTEMPTS,
    limits: ProviderLimits | None = None,
    sleep: Callable[[float], None] = time.sleep,
    sender: str | None = None,
    public_url: str | None = None,
    unsubscribe_mailto: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DeliveryReport:
    """Send every due PENDING row of one email campaign (SENDING), `batch_size` rows per claim; safe to run in parallel and to re-run.

    Rows whose worker died are settled first (see the module doc). When no row is PENDING
    or SENDING any more, the email campaign becomes SENT and its `stats` hold the counts.
    Configuration gaps (no API key, no token key, no sender) raise EmailDeliveryError before anything is claimed.
    """
    provider = provider or settings.email_provider
    if provider not in PROVIDER_LIMITS:
        raise EmailDeliveryError(f"unknown email provider {provider!r}; use one of {', '.join(PROVIDER_LIMITS)}")
    run = _start(store_url, settings, email_campaign_id, worker_id, now or utcnow(), batch_size, merchant_id=merchant_id, provider=provider,
                 publisher=publisher, lease=lease, max_attempts=max_attempts, limits=limits, sleep=sleep, sender=sender, public_url=public_url,
                 mailto=unsubscribe_mailto, on_progress=on_progress)
    if isinstance(run, DeliveryReport):
        return run
    try:
        _recover_stale(run)
        per_claim = max(1, batch_size)
        while run.report.stopped is None:
            rows = _claim(run, per_claim)
            if not rows:
                break
            _send_claimed(run, rows)
    finally:
        if publisher is None:
            close = getattr(run.publisher, "close", None)
            if close:
                close()
    _finalize(run)
    return run.report


def _start(url: str, settings: Settings, ec_id: int, worker_id: str, now: datetime, batch_size: int, *, merchant_id: str | None, provider: str,
           publisher: Any, lease: timedelta, max_attempts: int, limits: ProviderLimits | None, sleep: Callable[[float], None],
           sender: str | None, public_url: str | None, mailto: str | None, on_progress: Callable[[int], None] | None) -> _Run | DeliveryReport:
    with session_scope(url) as session:
        query = select(EmailCampaign).where(EmailCampaign.id == ec_id)
        if merchant_id is not None:
            query = query.where(EmailCampaign.merchant_id == merchant_id)
        ec = session.scalar(query)
        if ec is None:
            owner = f" for merchant {merchant_id!r}" if merchant_id else ""
            raise EmailCampaignNotFoundError(f"no email campaign {ec_id}{owner}; list campaigns with `campaigns campaigns list`")
        merchant = session.get(Merchant, ec.merchant_id)
        report = DeliveryReport(ec.id, worker_id, provider, campaign_status=ec.status.value, stats=dict(ec.stats or {}))
        if ec.status in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
            raise EmailDeliveryError(f"email campaign {ec.id} is {ec.status.value}: prepare it first (prepare_send, or `campaigns email send` does both)")
        if ec.status is not EmailCampaignStatus.SENDING and not _open_rows(session, ec.merchant_id, ec.id):
            return report  # finished: nothing to send
        require_approved(session, ec)
        rendered = render_campaign(ec.subject, ec.preview_text, template_html(session, ec), merchant.name)
        merchant_id, merchant_name, campaign_id = ec.merchant_id, merchant.name, ec.campaign_id
    tracker = _tracker(settings, public_url) if settings.email_tracking else None
    signer, credentials, sender, public_url, mailto = provider_config(settings, provider, merchant_name, sender, public_url, mailto)
    if tracker is not None:
        rendered = RenderedCampaign(rendered.subject, tracking.track_html(rendered.html, ec_id, tracker), rendered.text, rendered.merge)
    if publisher is None:
        from publishers import build_email_publisher

        publisher = build_email_publisher(settings.publisher_config(), provider)  # type: ignore[arg-type]
    base = limits or PROVIDER_LIMITS[provider]
    limits = ProviderLimits(base.provider, max(1, min(base.max_batch, batch_size)), base.per_second)
    return _Run(url, merchant_id, ec_id, campaign_id, worker_id, now, provider, publisher, credentials, limits, lease, max_attempts, signer, sender,
                public_url, mailto, rendered, Throttle(limits.per_second, sleep=sleep), report, on_progress, tracker=tracker)


def check_config(settings: Settings, provider: str, merchant_name: str = "", sender: str | None = None, public_url: str | None = None) -> None:
    """Raise EmailDeliveryError naming the fix when a send through `provider` could not start (call it before `prepare_send`)."""
    if provider not in PROVIDER_LIMITS:
        raise EmailDeliveryError(f"unknown email provider {provider!r}; use one of {', '.join(PROVIDER_LIMITS)}")
    provider_config(settings, provider, merchant_name or "Sender", sender, public_url, None)
    if settings.email_tracking:
        _tracker(settings, public_url)


def _tracker(settings: Settings, public_url: str | None) -> tracking.TrackingSigner:
    from campaigns.email.tracking_events import TrackingConfigError, tracker_from_settings

    try:
        return tracker_from_settings(settings, public_url)
    except TrackingConfigError as exc:
        raise EmailDeliveryError(str(exc)) from None


def provider_config(settings: Settings, provider: str, merchant_name: str, sender: str | None, public_url: str | None,
                    mailto: str | None) -> tuple[UnsubscribeSigner, Credentials, str, str, str]:
    try:
        signer = signer_from_settings(settings)
    except MissingUnsubscribeKeyError as exc:
        raise EmailDeliveryError(str(exc)) from None
    credentials = _credentials(settings, provider)
    sender = _sender(settings, provider, merchant_name, sender)
    public_url = _public_url(settings, provider, public_url)
    mailto = mailto or settings.email_unsubscribe_mailto or f"unsubscribe@{parseaddr(sender)[1].rpartition('@')[2]}"
    return signer, credentials, sender, public_url, mailto


def _credentials(settings: Settings, provider: str) -> Credentials:
    secret = lambda value: value.get_secret_value() if value is not None else ""  # noqa: E731
    if provider == "smtp":
        return Credentials.of(settings.smtp_user or "", secret(settings.smtp_password))
    if provider == "sendgrid":
        if not secret(settings.sendgrid_api_key):
            raise EmailDeliveryError("CAMPAIGNS_SENDGRID_API_KEY is not set; create a Mail Send API key in SendGrid and set it (in .env or the environment)")
        return Credentials.of("", secret(settings.sendgrid_api_key))
    if provider == "mailgun":
        if not secret(settings.mailgun_api_key) or not settings.mailgun_domain:
            raise EmailDeliveryError("set CAMPAIGNS_MAILGUN_API_KEY and CAMPAIGNS_MAILGUN_DOMAIN (the sending domain, e.g. mg.acme.example)")
        return Credentials.of(settings.mailgun_domain, secret(settings.mailgun_api_key))
    return Credentials()


def _sender(settings: Settings, provider: str, merchant_name: str, sender: str | None) -> str:
    sender = sender or settings.email_sender
    if not sender and provider == "mailgun" and settings.mailgun_domain:
        sender = f"{merchant_name} <news@{settings.mailgun_domain}>"
    if not sender and provider == "sandbox":
        sender = f"{merchant_name} <news@sandbox.invalid>"
    if not sender or "@" not in parseaddr(sender)[1]:
        raise EmailDeliveryError('give the From address, e.g. --sender "Acme <news@acme.example>" (a domain the provider is allowed to send for)')
    return sender


def _public_url(settings: Settings, provider: str, public_url: str | None) -> str:
    public_url = public_url or settings.public_url or (SANDBOX_PUBLIC_URL if provider == "sandbox" else None)
    if not public_url or not public_url.startswith("https://"):
        raise EmailDeliveryError("give the https:// address where the unsubscribe endpoint is served, e.g. --public-url https://shop.acme.example "
                                 "(one-click unsubscribe needs https)")
    return public_url.rstrip("/")


def _open_rows(session: Session, merchant_id: str, ec_id: int) -> int:
    return int(session.scalar(select(func.count()).where(EmailSend.merchant_id == merchant_id, EmailSend.email_campaign_id == ec_id,
                                                          EmailSend.status.in_((EmailSendStatus.PENDING, EmailSendStatus.SENDING)))) or 0)


def _claim(run: _Run, limit: int) -> list[_Row]:
    now = run.clock()
    due = [EmailSend.merchant_id == run.merchant_id, EmailSend.email_campaign_id == run.ec_id, EmailSend.status == EmailSendStatus.PENDING,
           or_(EmailSend.next_attempt_at.is_(None), EmailSend.next_attempt_at <= now)]
    with session_scope(run.url) as session:
        picked = select(EmailSend.id).where(*due).order_by(EmailSend.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            # rows another worker is claiming are skipped, not waited for; the ids are fetched first because
            # PostgreSQL may re-run a LIMIT sub-select inside an UPDATE and so claim more than `limit`
            ids = list(session.scalars(picked.with_for_update(skip_locked=True)))
            target = EmailSend.id.in_(ids)
        else:
            # one statement under SQLite's single writer lock; the repeated status test makes it a compare-and-set
            target = EmailSend.id.in_(picked.scalar_subquery())
        claimed = session.execute(
            update(EmailSend).where(target, *due)
            .values(status=EmailSendStatus.SENDING, claimed_by=run.worker_id, claimed_at=now, handed_off_at=None, provider=run.provider, updated_at=now)
            .returning(EmailSend.id, EmailSend.contact_id, EmailSend.email, EmailSend.merge_values, EmailSend.attempts)
            .execution_options(synchronize_session=False)
        ).all()
    return sorted((_Row(r.id, r.contact_id, r.email, dict(r.merge_values or {}), r.attempts) for r in claimed), key=lambda r: r.id)


def _send_claimed(run: _Run, rows: list[_Row]) -> None:
    rows = _drop_suppressed(run, rows)
    recipients: dict[int, EmailRecipient] = {}
    invalid: dict[int, _Outcome] = {}
    for row in rows:
        values = run.rendered.recipient_values(row.merge_values)  # every placeholder, defaults applied
        token = run.signer.sign(UnsubscribeClaim(run.merchant_id, row.contact_id, run.ec_id, row.id))
        if run.tracker is not None:  # names the send row only, never the address
            track = run.tracker.token(row.id)
            values = {**values, "open_url": tracking.open_url(run.public_url, track), "click_url": tracking.click_url(run.public_url, track)}
        try:
            recipients[row.id] = EmailRecipient(email=row.email, name=_display_name(values), unsubscribe_url=unsubscribe_url(run.public_url, token),
                                                variables=values)
        except ValidationError as exc:
            invalid[row.id] = _Outcome(EmailSendStatus.FAILED, "invalid_address", f"not sendable: {exc.errors()[0]['msg']}")
    if invalid:
        _record(run, invalid)
        run.progress(len(invalid))
    sendable = [row for row in rows if row.id in recipients]
    chunks = [sendable[i : i + run.limits.max_batch] for i in range(0, len(sendable), run.limits.max_batch)]
    for number, chunk in enumerate(chunks):
        if run.report.stopped is not None:
            _release([r for c in chunks[number:] for r in c], run, run.resume_at, "not sent in this run: " + run.report.stopped)
            return
        run.throttle.wait(len(chunk))
        held = _hand_off(run, chunk)
        if held:
            _publish(run, held, recipients)
        run.progress(len(chunk))


def _drop_suppressed(run: _Run, rows: list[_Row]) -> list[_Row]:
    """Rows whose address was suppressed, or whose contact unsubscribed, since the snapshot: settled here, never sent."""
    with session_scope(run.url) as session:
        listed = suppressed_emails(session, run.merchant_id, (r.email for r in rows))
        contact_ids = [r.contact_id for r in rows if r.contact_id is not None]
        unsubscribed: set[int] = set()
        for start in range(0, len(contact_ids), 500):
            unsubscribed.update(session.scalars(select(Contact.id).where(Contact.merchant_id == run.merchant_id, Contact.id.in_(contact_ids[start : start + 500]),
                                                                         Contact.subscribed.is_(False))))
    settled: dict[int, _Outcome] = {}
    for row in rows:
        if (reason := listed.get(normalise_email(row.email))) is not None:
            settled[row.id] = _Outcome(EmailSendStatus.SUPPRESSED, reason.value.lower(), f"on the suppression list ({reason.value}) when its turn came")
        elif row.contact_id in unsubscribed:
            settled[row.id] = _Outcome(EmailSendStatus.SUPPRESSED, "unsubscribed", "the contact unsubscribed before its turn came")
    if settled:
        _record(run, settled)
        run.progress(len(settled))
    return [row for row in rows if row.id not in settled]


def _hand_off(run: _Run, chunk: list[_Row]) -> list[_Row]:
    """Commit that these rows are about to leave (renewing the lease); only rows this worker still holds are sent."""
    now = run.clock()
    with session_scope(run.url) as session:
        held = set(session.scalars(
            update(EmailSend).where(EmailSend.id.in_([r.id for r in chunk]), EmailSend.status == EmailSendStatus.SENDING,
                                    EmailSend.claimed_by == run.worker_id)
            .values(handed_off_at=now, claimed_at=now, attempts=EmailSend.attempts + 1, updated_at=now)
            .returning(EmailSend.id).execution_options(synchronize_session=False)
        ))
    if len(held) < len(chunk):
        log.warning("%d rows of email campaign %s were taken over before %s could send them", len(chunk) - len(held), run.ec_id, run.worker_id)
    return [_Row(r.id, r.contact_id, r.email, r.merge_values, r.attempts + 1) for r in chunk if r.id in held]


def _message(run: _Run, recipients: Sequence[EmailRecipient]) -> EmailMessage:
    return EmailMessage(sender=run.sender, subject=run.rendered.subject, html=run.rendered.html, text=run.rendered.text, recipients=tuple(recipients),
                        unsubscribe_mailto=run.mailto, tag=run.tag)


def _publish(run: _Run, chunk: list[_Row], recipients: Mapping[int, EmailRecipient]) -> None:
    run.report.batches += 1
    by_address = {normalise_email(r.email): r for r in chunk}
    try:
        receipt = run.publisher.publish(_message(run, [recipients[r.id] for r in chunk]), run.credentials)
    except PublishError as exc:
        outcomes = _accepted(run, exc.accepted, exc.partial_ids, by_address)
        rest = [r for r in chunk if r.id not in outcomes]
        outcomes.update(_failure(run, exc, rest))
        _record(run, outcomes)
        return
    except Exception as exc:  # a bug, not a provider answer: the batch may be out, so a person looks
        log.exception("sending a batch of email campaign %s failed unexpectedly", run.ec_id)
        _record(run, {r.id: _Outcome(EmailSendStatus.NEEDS_REVIEW, "unexpected", f"unexpected error while sending ({type(exc).__name__}: {exc}); {REVIEW_HINT}")
                      for r in chunk})
        return
    _record(run, _receipt_outcomes(run, receipt, chunk, by_address))


def _ids_for(accepted: Sequence[str], ids: Sequence[str], batch: int) -> list[str | None]:
    """The provider id of each accepted address: one per message (SMTP) or one per request of `batch` recipients (HTTP APIs)."""
    if not ids:
        return [None] * len(accepted)
    if len(ids) == len(accepted):
        return list(ids)
    return [ids[min(i // batch, len(ids) - 1)] for i in range(len(accepted))]


def _accepted(run: _Run, accepted: Sequence[str], ids: Sequence[str], by_address: Mapping[str, _Row]) -> dict[int, _Outcome]:
    out: dict[int, _Outcome] = {}
    for address, message_id in zip(accepted, _ids_for(accepted, ids, run.limits.max_batch), strict=True):
        row = by_address.get(normalise_email(address))
        if row is not None:
            out[row.id] = _Outcome(EmailSendStatus.SENT, "accepted", f"accepted by {run.provider}", message_id)
    return out


def _receipt_outcomes(run: _Run, receipt: Receipt, chunk: list[_Row], by_address: Mapping[str, _Row]) -> dict[int, _Outcome]:
    detail = receipt.detail or {}
    refused = {normalise_email(k): v for k, v in (detail.get("refused") or {}).items()}
    deferred = {normalise_email(k): v for k, v in (detail.get("deferred") or {}).items()}
    accepted = [r.email for r in chunk if normalise_email(r.email) not in refused and normalise_email(r.email) not in deferred]
    outcomes = _accepted(run, accepted, receipt.post_ids or (receipt.post_id,), by_address)
    for row in chunk:
        address = normalise_email(row.email)
        if address in refused:
            outcomes[row.id] = _Outcome(EmailSendStatus.FAILED, "refused", f"refused by {run.provider}: {refused[address]}",
                                        hard_bounce=str(refused[address]).startswith("5"))
        elif address in deferred:
            outcomes[row.id] = _retry(run, row, f"deferred by {run.provider}: {deferred[address]}", None)
    return outcomes


def _failure(run: _Run, exc: PublishError, rows: list[_Row]) -> dict[int, _Outcome]:
    provider = run.provider
    if isinstance(exc, AuthExpired):
        # refused before anything was accepted: a configuration problem, so stop and keep the rows for the next run
        run.report.stopped = f"{provider} refused the credentials ({exc.reason}); fix the {provider} API key or login, then run the send again"
        return {r.id: _Outcome(EmailSendStatus.PENDING, "auth_refused", f"not sent: {exc.reason}") for r in rows}
    if isinstance(exc, Ambiguous):
        run.report.stopped = f"{provider} did not answer after a batch was sent ({exc.reason}); the rest waits for the next run"
        return {r.id: _Outcome(EmailSendStatus.NEEDS_REVIEW, "ambiguous", f"{exc.reason}; it may have been delivered: {REVIEW_HINT}") for r in rows}
    if isinstance(exc, Retryable):
        when = run.resume_at = _retry_time(run, exc)
        run.report.stopped = f"{provider} asked to try later ({exc.reason}); run the send again after {when:%Y-%m-%d %H:%M:%S} UTC"
        return {r.id: _retry(run, r, exc.reason, exc) for r in rows}
    if isinstance(exc, Duplicate):
        return {r.id: _Outcome(EmailSendStatus.FAILED, "duplicate", f"duplicate: {exc.reason}") for r in rows}
    if isinstance(exc, Rejected):
        return {r.id: _Outcome(EmailSendStatus.FAILED, "rejected", f"rejected by {provider}: {exc.reason}") for r in rows}
    return {r.id: _Outcome(EmailSendStatus.NEEDS_REVIEW, exc.kind, f"unclassified {provider} error: {exc.reason}; {REVIEW_HINT}") for r in rows}


def retry_delay(attempts: int, send_id: int) -> timedelta:
    """1, 2, 4 ... minutes, capped at an hour, plus a few seconds that differ per row so retries spread out."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600) + send_id % 17)


def _retry_time(run: _Run, exc: Retryable | None, row: _Row | None = None) -> datetime:
    now = run.clock()
    if exc is not None and exc.retry_at is not None:
        return max(exc.retry_at, now)  # the provider said when its limit resets
    if exc is not None and exc.retry_after is not None:
        return now + timedelta(seconds=exc.retry_after)
    return now + retry_delay(row.attempts if row else 1, row.id if row else 0)


def _retry(run: _Run, row: _Row, reason: str, exc: Retryable | None) -> _Outcome:
    if row.attempts >= run.max_attempts:
        return _Outcome(EmailSendStatus.FAILED, "gave_up", f"gave up after {row.attempts} attempts: {reason}")
    when = _retry_time(run, exc, row)
    return _Outcome(EmailSendStatus.PENDING, "retry", f"attempt {row.attempts} not accepted, retrying at {when:%Y-%m-%d %H:%M:%S} UTC: {reason}",
                    retry_at=when)


def _record(run: _Run, outcomes: Mapping[int, _Outcome]) -> None:
    """Write outcomes in one transaction, each only if this worker still holds the row (one UPDATE per distinct outcome)."""
    if not outcomes:
        return
    now = run.clock()
    groups: dict[_Outcome, list[int]] = {}
    for send_id, outcome in outcomes.items():
        groups.setdefault(outcome, []).append(send_id)
    written: dict[EmailSendStatus, int] = {}
    with session_scope(run.url) as session:
        for outcome, ids in groups.items():
            values: dict[str, Any] = {"status": outcome.status, "reason_code": outcome.code, "reason": outcome.reason, "updated_at": now}
            if outcome.status is EmailSendStatus.PENDING:
                values.update(next_attempt_at=outcome.retry_at, claimed_by=None, claimed_at=None, handed_off_at=None)
            else:
                values["finished_at"] = now
            if outcome.status is EmailSendStatus.SENT:
                values.update(sent_at=now, provider_message_id=(outcome.message_id or "")[:300] or None)
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                result = session.execute(update(EmailSend).where(EmailSend.id.in_(part), EmailSend.status == EmailSendStatus.SENDING,
                                                                 EmailSend.claimed_by == run.worker_id)
                                         .values(**values).execution_options(synchronize_session=False))
                written[outcome.status] = written.get(outcome.status, 0) + result.rowcount
                if result.rowcount != len(part):
                    log.warning("%d email sends were taken over before %s could record %s", len(part) - result.rowcount, run.worker_id, outcome.status.value)
            if outcome.hard_bounce:
                # the mailbox does not exist: keep it off every later send of this merchant
                for address in session.scalars(select(EmailSend.email).where(EmailSend.id.in_(ids))):
                    record_bounce(session, run.merchant_id, address, actor=run.worker_id, source=f"{run.provider}:email_campaign:{run.ec_id}",
                                  note=outcome.reason or "")
    for status, n in written.items():
        run.report.add(status, n)


def _release(rows: Sequence[_Row], run: _Run, when: datetime | None, reason: str) -> None:
    """Give claimed rows that were never handed off back to PENDING, without counting an attempt."""
    _record(run, {r.id: _Outcome(EmailSendStatus.PENDING, "released", reason, retry_at=when) for r in rows})


def _recover_stale(run: _Run) -> None:
    """Rows left SENDING by a worker whose lease expired: never handed off -> PENDING; handed off -> the outbox, else NEEDS_REVIEW."""
    now = run.clock()
    stale = [EmailSend.merchant_id == run.merchant_id, EmailSend.email_campaign_id == run.ec_id, EmailSend.status == EmailSendStatus.SENDING,
             EmailSend.claimed_at < now - run.lease]
    with session_scope(run.url) as session:
        # take the stale rows over first (compare-and-set on the old claim), so two recovering workers never both settle one
        taken = session.execute(
            update(EmailSend).where(*stale).values(claimed_by=run.worker_id, claimed_at=now, updated_at=now)
            .returning(EmailSend.id, EmailSend.email, EmailSend.handed_off_at, EmailSend.provider).execution_options(synchronize_session=False)
        ).all()
    if not taken:
        return
    outbox = _sandbox_outbox(run) if any(r.provider == "sandbox" for r in taken if r.handed_off_at is not None) else {}
    outcomes: dict[int, _Outcome] = {}
    for row in taken:
        if row.handed_off_at is None:
            outcomes[row.id] = _Outcome(EmailSendStatus.PENDING, "lease_expired", "its worker stopped before handing it to the provider; nothing was sent")
        elif row.provider == "sandbox" and normalise_email(row.email) in outbox:
            outcomes[row.id] = _Outcome(EmailSendStatus.SENT, "reconciled", "its worker stopped after sending; found in the sandbox outbox",
                                        outbox[normalise_email(row.email)])
        else:
            at = row.handed_off_at.astimezone(UTC)
            outcomes[row.id] = _Outcome(EmailSendStatus.NEEDS_REVIEW, "lease_expired",
                                        f"its worker handed it to {row.provider} at {at:%Y-%m-%d %H:%M:%S} UTC and never reported back; "
                                        f"it may have been delivered: {REVIEW_HINT}")
    _record(run, outcomes)
    run.report.recovered += len(taken)


def _sandbox_outbox(run: _Run) -> dict[str, str]:
    """Address -> outbox id of every copy of this campaign the sandbox recorded (the sandbox's own receipt book)."""
    from publishers.sandbox import read_outbox

    path = getattr(run.publisher, "path", None)
    if path is None:
        return {}
    found: dict[str, str] = {}
    for entry in read_outbox(path):
        if (entry.get("message") or {}).get("tag") != run.tag:
            continue
        for recipient in entry.get("recipients", []):
            found[normalise_email(recipient["email"])] = entry["post_ids"][0]
    return found


def _finalize(run: _Run) -> None:
    now = run.clock()
    with session_scope(run.url) as session:
        counts = campaign_counts(session, run.merchant_id, run.ec_id)
        ec = session.get(EmailCampaign, run.ec_id)
        ec.stats = counts
        if counts["pending"] == 0 and counts["sending"] == 0:
            done = session.execute(update(EmailCampaign).where(EmailCampaign.id == run.ec_id, EmailCampaign.status == EmailCampaignStatus.SENDING)
                                   .values(status=EmailCampaignStatus.SENT, sent_at=now, updated_at=now).execution_options(synchronize_session=False))
            if done.rowcount == 1:
                record(session, run.merchant_id, run.worker_id, "email.sent", "email_campaign", str(run.ec_id), before="SENDING", after="SENT", **counts)
        if run.report.outcomes or run.report.recovered:
            record(session, run.merchant_id, run.worker_id, "email.deliver", "email_campaign", str(run.ec_id), provider=run.provider,
                   outcomes=run.report.outcomes, recovered=run.report.recovered, stopped=run.report.stopped)
        session.flush()
        session.refresh(ec)
        run.report.campaign_status, run.report.stats = ec.status.value, counts


# --- people settle what the machine could not -----------------------------------------------------


def resolve_review(
    session: Session,
    merchant_id: str,
    send_id: int,
    *,
    outcome: Literal["sent", "failed", "resend"],
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> EmailSend:
    """A person settles a NEEDS_REVIEW row after checking the provider: it went out, it did not and should not, or send it."""
    now = now or utcnow()
    row = session.scalar(select(EmailSend).where(EmailSend.merchant_id == merchant_id, EmailSend.id == send_id))
    if row is None:
        raise EmailCampaignNotFoundError(f"no email send {send_id} for merchant {merchant_id!r}")
    if row.status is not EmailSendStatus.NEEDS_REVIEW:
        raise EmailDeliveryError(f"email send {send_id} is {row.status.value}, not NEEDS_REVIEW; nothing to settle")
    suffix = f" ({note})" if note else ""
    if outcome == "sent":
        row.status, row.reason_code, row.reason, row.sent_at, row.finished_at = EmailSendStatus.SENT, "confirmed", f"confirmed sent by {actor}{suffix}", now, now
    elif outcome == "failed":
        row.status, row.reason_code, row.reason, row.finished_at = EmailSendStatus.FAILED, "closed", f"closed unsent by {actor}{suffix}", now
    elif outcome == "resend":
        row.status, row.reason_code, row.reason = EmailSendStatus.PENDING, "resend", f"resend asked by {actor}{suffix}"
        row.next_attempt_at = row.claimed_by = row.claimed_at = row.handed_off_at = row.finished_at = None
        ec = get_email_campaign(session, merchant_id, row.email_campaign_id)
        if ec.status is EmailCampaignStatus.SENT:
            ec.status = EmailCampaignStatus.SENDING
            record(session, merchant_id, actor, "email.reopen", "email_campaign", str(ec.id), before="SENT", after="SENDING", send_id=send_id)
    else:
        raise EmailDeliveryError("outcome must be sent, failed or resend")
    record(session, merchant_id, actor, "email.review", "email_send", str(row.id), outcome=outcome, note=note)
    ec = get_email_campaign(session, merchant_id, row.email_campaign_id)
    session.flush()
    ec.stats = campaign_counts(session, merchant_id, ec.id)
    return row


# --- stats for the warehouse ----------------------------------------------------------------------

EMAIL_SENDS_COLUMNS: dict[str, pl.DataType] = {
    "merchant_id": pl.String(),
    "campaign_id": pl.String(),  # null when the email campaign belongs to no campaign
    "email_campaign_id": pl.Int64(),
    "date": pl.Date(),  # UTC day the rows reached their final state
    "sent": pl.Int64(),
    "failed": pl.Int64(),
    "suppressed": pl.Int64(),
    "needs_review": pl.Int64(),
}


def send_stats_frame(target: Session | str, merchant_id: str | None = None, since: date | None = None) -> pl.DataFrame:
    """Per merchant, campaign, email campaign and UTC day: how many rows were sent, failed, suppressed or sent to review.

    Aggregated in the database; one row per group, columns as `EMAIL_SENDS_COLUMNS`
    (key: merchant_id, email_campaign_id, date). Rows still PENDING or SENDING are not counted yet.
    """
    if isinstance(target, str):
        with session_scope(target) as session:
            return send_stats_frame(session, merchant_id, since)
    session = target
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", EmailSend.finished_at))
    else:
        day = func.date(EmailSend.finished_at)  # SQLite keeps UTC without a zone
    counted = {name: func.sum(case((EmailSend.status == status, 1), else_=0)) for name, status in (
        ("sent", EmailSendStatus.SENT), ("failed", EmailSendStatus.FAILED), ("suppressed", EmailSendStatus.SUPPRESSED),
        ("needs_review", EmailSendStatus.NEEDS_REVIEW))}
    query = (
        select(EmailSend.merchant_id, EmailCampaign.campaign_id, EmailSend.email_campaign_id, day.label("day"),
               *(value.label(name) for name, value in counted.items()))
        .join(EmailCampaign, and_(EmailCampaign.id == EmailSend.email_campaign_id, EmailCampaign.merchant_id == EmailSend.merchant_id))
        .where(EmailSend.finished_at.is_not(None))
        .group_by(EmailSend.merchant_id, EmailCampaign.campaign_id, EmailSend.email_campaign_id, day)
        .order_by(EmailSend.merchant_id, EmailSend.email_campaign_id, day)
    )
    if merchant_id is not None:
        query = query.where(EmailSend.merchant_id == merchant_id)
    if since is not None:
        query = query.where(EmailSend.finished_at >= datetime(since.year, since.month, since.day, tzinfo=UTC))
    records = [
        {"merchant_id": r.merchant_id, "campaign_id": r.campaign_id, "email_campaign_id": int(r.email_campaign_id),
         "date": r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day)[:10]),
         **{name: int(getattr(r, name) or 0) for name in counted}}
        for r in session.execute(query)
    ]
    return pl.DataFrame(records, schema=EMAIL_SENDS_COLUMNS, orient="row") if records else pl.DataFrame(schema=EMAIL_SENDS_COLUMNS)
