"""The delivery engine: the PENDING rows of one email campaign sent exactly once per recipient, through the shared work queue.

Lifecycle of one recipient (a row of ``email_sends``, snapshotted by campaigns.email.recipients)::

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
* Two workers never hold the same row: rows are claimed through `campaigns.core.queue.claim`
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a compare-and-set on SQLite). Every later write
  re-checks ``status = SENDING AND claimed_by = me``.
* A row is handed to the provider only after a committed write saying so (``handed_off_at``, the
  lease renewed with `queue.renew`), so after a crash the store knows which rows may have gone out:
  those go to a person (NEEDS_REVIEW) instead of out again; rows never handed off are simply sent.
* A batch the provider partly accepted marks the accepted recipients SENT; only the rest is retried,
  after `queue.backoff` (1, 2, 4 ... minutes, capped at an hour, plus up to 10% jitter per row) unless
  the provider said when.
* Every hand-off's outcome is logged in ``work_attempts`` (queue ``email``) in the transaction that records it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns.audiences.suppression import UnsubscribeClaim, UnsubscribeSigner, normalise_email, record_bounce, suppressed_emails, unsubscribe_url
from campaigns.core import queue
from campaigns.core.audit import record
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.outbox import emit
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, EmailCampaign, EmailSend, EmailSendStatus, Merchant
from campaigns.core.store.types import utcnow
from campaigns.email import tracking
from campaigns.email.broadcasts import campaign_counts, require_approved
from campaigns.email.config import provider_config, tracker
from campaigns.email.errors import EmailCampaignNotFoundError, EmailDeliveryError
from campaigns.email.rendering import RenderedCampaign, display_name, render_campaign, template_html
from campaigns.email.review import REVIEW_HINT
from campaigns.email.throttle import PROVIDER_LIMITS, ProviderLimits, Throttle
from publishers import build_email_publisher
from publishers.base import Credentials, EmailMessage, EmailRecipient, Publisher, Receipt
from publishers.errors import Ambiguous, AuthExpired, Duplicate, PublishError, Rejected, Retryable
from publishers.sandbox import read_outbox

log = logging.getLogger(__name__)

Provider = Literal["sandbox", "smtp", "sendgrid", "mailgun"]
QUEUE = "email"  # the work_attempts queue name
DEFAULT_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
DEFAULT_BATCH = 1000  # rows per claim; also caps the provider batch, so the default fills one SendGrid/Mailgun request
TERMINAL = (EmailSendStatus.SENT, EmailSendStatus.FAILED, EmailSendStatus.SUPPRESSED, EmailSendStatus.NEEDS_REVIEW)


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
    handed_off_at: datetime | None = None  # set once this worker committed the hand-off


@dataclass(frozen=True)
class _Attempt:
    """One hand-off to the provider, logged in work_attempts with the outcome that settles it."""

    number: int
    started_at: datetime
    worker_id: str


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
    signer_of_links = tracker(settings, public_url) if settings.email_tracking else None
    signer, credentials, sender, public_url, mailto = provider_config(settings, provider, merchant_name, sender, public_url, mailto)
    if signer_of_links is not None:
        rendered = RenderedCampaign(rendered.subject, tracking.track_html(rendered.html, ec_id, signer_of_links), rendered.text, rendered.merge)
    if publisher is None:
        publisher = build_email_publisher(settings.publisher_config(), provider)  # type: ignore[arg-type]
    base = limits or PROVIDER_LIMITS[provider]
    limits = ProviderLimits(base.provider, max(1, min(base.max_batch, batch_size)), base.per_second)
    return _Run(url, merchant_id, ec_id, campaign_id, worker_id, now, provider, publisher, credentials, limits, lease, max_attempts, signer, sender,
                public_url, mailto, rendered, Throttle(limits.per_second, sleep=sleep), report, on_progress, tracker=signer_of_links)


def _open_rows(session: Session, merchant_id: str, ec_id: int) -> int:
    return int(session.scalar(select(func.count()).where(EmailSend.merchant_id == merchant_id, EmailSend.email_campaign_id == ec_id,
                                                          EmailSend.status.in_((EmailSendStatus.PENDING, EmailSendStatus.SENDING)))) or 0)


def _claim(run: _Run, limit: int) -> list[_Row]:
    now = run.clock()
    due = [EmailSend.merchant_id == run.merchant_id, EmailSend.email_campaign_id == run.ec_id, EmailSend.status == EmailSendStatus.PENDING,
           (EmailSend.next_attempt_at.is_(None)) | (EmailSend.next_attempt_at <= now),
           queue.not_held(select(EmailCampaign.campaign_id).where(EmailCampaign.id == EmailSend.email_campaign_id).scalar_subquery())]
    with session_scope(run.url) as session:
        claimed = queue.claim(session, EmailSend, where=due, worker_id=run.worker_id, now=now, limit=limit,
                              values={"status": EmailSendStatus.SENDING, "handed_off_at": None, "provider": run.provider, "updated_at": now})
        if not claimed:
            return []
        rows = session.execute(select(EmailSend.id, EmailSend.contact_id, EmailSend.email, EmailSend.merge_values, EmailSend.attempts)
                               .where(EmailSend.id.in_([c.id for c in claimed])).order_by(EmailSend.id)).all()
    return [_Row(r.id, r.contact_id, r.email, dict(r.merge_values or {}), r.attempts) for r in rows]

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
            recipients[row.id] = EmailRecipient(email=row.email, name=display_name(values), unsubscribe_url=unsubscribe_url(run.public_url, token),
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
        held = queue.renew(session, EmailSend, [r.id for r in chunk], run.worker_id, now, EmailSend.status == EmailSendStatus.SENDING,
                           values={"handed_off_at": now, "attempts": EmailSend.attempts + 1, "updated_at": now})
    if len(held) < len(chunk):
        log.warning("%d rows of email campaign %s were taken over before %s could send them", len(chunk) - len(held), run.ec_id, run.worker_id)
    return [_Row(r.id, r.contact_id, r.email, r.merge_values, r.attempts + 1, now) for r in chunk if r.id in held]

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
        _record(run, outcomes, _handed_off(run, chunk))
        return
    except Exception as exc:  # a bug, not a provider answer: the batch may be out, so a person looks
        log.exception("sending a batch of email campaign %s failed unexpectedly", run.ec_id)
        _record(run, {r.id: _Outcome(EmailSendStatus.NEEDS_REVIEW, "unexpected", f"unexpected error while sending ({type(exc).__name__}: {exc}); {REVIEW_HINT}")
                      for r in chunk}, _handed_off(run, chunk))
        return
    _record(run, _receipt_outcomes(run, receipt, chunk, by_address), _handed_off(run, chunk))


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


def _retry_time(run: _Run, exc: Retryable | None, row: _Row | None = None) -> datetime:
    now = run.clock()
    if exc is not None and exc.retry_at is not None:
        return max(exc.retry_at, now)  # the provider said when its limit resets
    if exc is not None and exc.retry_after is not None:
        return now + timedelta(seconds=exc.retry_after)
    return now + queue.backoff(row.attempts if row else 1, f"email_send:{row.id if row else 0}")


def _retry(run: _Run, row: _Row, reason: str, exc: Retryable | None) -> _Outcome:
    if row.attempts >= run.max_attempts:
        return _Outcome(EmailSendStatus.FAILED, "gave_up", f"gave up after {row.attempts} attempts: {reason}")
    when = _retry_time(run, exc, row)
    return _Outcome(EmailSendStatus.PENDING, "retry", f"attempt {row.attempts} not accepted, retrying at {when:%Y-%m-%d %H:%M:%S} UTC: {reason}",
                    retry_at=when)


def _handed_off(run: _Run, rows: Sequence[_Row]) -> dict[int, _Attempt]:
    return {r.id: _Attempt(r.attempts, r.handed_off_at, run.worker_id) for r in rows if r.handed_off_at is not None}


def _record(run: _Run, outcomes: Mapping[int, _Outcome], attempts: Mapping[int, _Attempt] | None = None) -> None:
    """Write outcomes in one transaction, each only if this worker still holds the row (one UPDATE per distinct outcome).

    The rows in `attempts` were handed to the provider: each one's attempt is logged with its outcome, in the same transaction.
    """
    if not outcomes:
        return
    now = run.clock()
    groups: dict[_Outcome, list[int]] = {}
    for send_id, outcome in outcomes.items():
        groups.setdefault(outcome, []).append(send_id)
    written: dict[EmailSendStatus, int] = {}
    holding = EmailSend.status == EmailSendStatus.SENDING
    with session_scope(run.url) as session:
        for outcome, ids in groups.items():
            values: dict[str, Any] = {"status": outcome.status, "reason_code": outcome.code, "reason": outcome.reason, "updated_at": now}
            if outcome.status is not EmailSendStatus.PENDING:
                values["finished_at"] = now
            if outcome.status is EmailSendStatus.SENT:
                values.update(sent_at=now, provider_message_id=(outcome.message_id or "")[:300] or None)
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                if outcome.status is EmailSendStatus.PENDING:  # back to the queue: the lease is given up
                    done = queue.release(session, EmailSend, part, run.worker_id, holding,
                                         values={**values, "next_attempt_at": outcome.retry_at, "handed_off_at": None})
                else:
                    done = set(session.scalars(update(EmailSend).where(EmailSend.id.in_(part), holding, EmailSend.claimed_by == run.worker_id)
                                               .values(**values).returning(EmailSend.id).execution_options(synchronize_session=False)))
                written[outcome.status] = written.get(outcome.status, 0) + len(done)
                if len(done) != len(part):
                    log.warning("%d email sends were taken over before %s could record %s", len(part) - len(done), run.worker_id, outcome.status.value)
                for send_id in sorted(done):
                    if (attempt := (attempts or {}).get(send_id)) is not None:
                        queue.record_attempt(session, queue=QUEUE, merchant_id=run.merchant_id, item_id=send_id, attempt=attempt.number,
                                             worker_id=attempt.worker_id, started_at=attempt.started_at, finished_at=now, outcome=outcome.code,
                                             detail=f"{outcome.status.value}: {outcome.reason or ''}")
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
             queue.lease_expired(EmailSend, now, run.lease)]
    with session_scope(run.url) as session:
        found = {r.id: r for r in session.execute(select(EmailSend.id, EmailSend.email, EmailSend.handed_off_at, EmailSend.provider, EmailSend.attempts,
                                                         EmailSend.claimed_by).where(*stale))}
        # take the stale rows over first (compare-and-set on the old claim), so two recovering workers never both settle one
        taken = [found[c.id] for c in queue.claim(session, EmailSend, where=stale, worker_id=run.worker_id, now=now, limit=max(1, len(found)),
                                                  values={"updated_at": now}) if c.id in found] if found else []
    if not taken:
        return
    outbox = _sandbox_outbox(run) if any(r.provider == "sandbox" for r in taken if r.handed_off_at is not None) else {}
    outcomes: dict[int, _Outcome] = {}
    attempts: dict[int, _Attempt] = {}
    for row in taken:
        if row.handed_off_at is None:
            outcomes[row.id] = _Outcome(EmailSendStatus.PENDING, "lease_expired", "its worker stopped before handing it to the provider; nothing was sent")
            continue
        attempts[row.id] = _Attempt(row.attempts, row.handed_off_at, row.claimed_by or run.worker_id)
        if row.provider == "sandbox" and normalise_email(row.email) in outbox:
            outcomes[row.id] = _Outcome(EmailSendStatus.SENT, "reconciled", "its worker stopped after sending; found in the sandbox outbox",
                                        outbox[normalise_email(row.email)])
        else:
            at = row.handed_off_at.astimezone(UTC)
            outcomes[row.id] = _Outcome(EmailSendStatus.NEEDS_REVIEW, "lease_expired",
                                        f"its worker handed it to {row.provider} at {at:%Y-%m-%d %H:%M:%S} UTC and never reported back; "
                                        f"it may have been delivered: {REVIEW_HINT}")
    _record(run, outcomes, attempts)
    run.report.recovered += len(taken)

def _sandbox_outbox(run: _Run) -> dict[str, str]:
    """Address -> outbox id of every copy of this campaign the sandbox recorded (the sandbox's own receipt book)."""
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
                emit(session, run.merchant_id, "email.sent", {"email_campaign_id": run.ec_id, "counts": counts})
        if run.report.outcomes or run.report.recovered:
            record(session, run.merchant_id, run.worker_id, "email.deliver", "email_campaign", str(run.ec_id), provider=run.provider,
                   outcomes=run.report.outcomes, recovered=run.report.recovered, stopped=run.report.stopped)
        session.flush()
        session.refresh(ec)
        run.report.campaign_status, run.report.stats = ec.status.value, counts
        if counts["pending"] and run.report.stopped is None and queue.is_held(session, ec.campaign_id):
            run.report.stopped = f"{queue.HELD}: {counts['pending']} recipients wait; resume campaign {ec.campaign_id} to send them"

