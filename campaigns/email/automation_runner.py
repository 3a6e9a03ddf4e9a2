"""The automation step runner: each enrolled contact walked through its flow, one step exactly once, through the shared work queue.

Each enrolled contact is a row of ``automation_enrollments`` (the persisted state machine)::

    enroll_due -> ACTIVE (current_step = start)                         (campaigns.email.automation_triggers)
    run_due:   ACTIVE/WAITING and due --claim (lease)--> one step per transaction:
                   step run (enrollment, seq) + its side effect + the enrollment advanced, committed together
               -> ACTIVE (next step due now) | WAITING (until wake_at) | COMPLETED | EXITED (automation archived)
               a step that raises: rolled back entirely, attempts + 1, retried after `queue.backoff`, FAILED after MAX_ATTEMPTS

Exactly once: a step's transaction first moves ``step_seq`` from n to n+1 with a compare-and-set
(``WHERE step_seq = n AND claimed_by = me``, the lease renewed by `queue.renew`) and inserts
``automation_step_runs(enrollment, n)`` (unique). A crash before the commit leaves nothing behind, a
crash after it leaves the step done; a second worker finds ``step_seq`` moved on. An email step only
adds an ``email_sends`` row (PENDING) in that transaction, with an idempotency key per (enrollment,
seq); the email is then sent by `campaigns.email.delivery.deliver`, whose own exactly-once rules take
over (`deliver_automation_emails`).

Claims: due enrollments are leased with `queue.claim` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
compare-and-set on SQLite); a lease older than `DEFAULT_LEASE` (a dead worker) is taken over. A PAUSED
automation's enrollments are not claimed (they wait); an ARCHIVED automation's open enrollments are
EXITED. Every step attempt (run, failed, blocked) is logged in ``work_attempts`` (queue ``automations``)
in the transaction that records its outcome.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from campaigns.audiences import segments
from campaigns.audiences.suppression import normalise_email, suppressed_emails
from campaigns.content.approvals import NotApprovedError
from campaigns.core import queue
from campaigns.core.audit import record
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import (
    Automation,
    AutomationEnrollment,
    AutomationStepRun,
    Contact,
    ContactEvent,
    EmailCampaign,
    EmailSend,
    EmailSendStatus,
)
from campaigns.core.store.types import utcnow
from campaigns.email import delivery
from campaigns.email.automations import (
    ACTIVE,
    ARCHIVED,
    COMPLETED,
    EXITED,
    FAILED,
    KIND_AUTOMATION,
    OPEN,
    RUNNING,
    WAITING,
    AutomationError,
    email_is_approved,
    flow_of,
    zone_of,
)
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.flows import ConditionStep, EndStep, RandomSplitStep, SendEmailStep, UpdateFieldStep, WaitStep, split_branch, targets
from campaigns.email.template_engine import merge_snapshot

log = logging.getLogger(__name__)

QUEUE = "automations"  # the work_attempts queue name
DEFAULT_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_STEPS_PER_CLAIM = 25  # steps one enrollment may take in one run before it goes back to the pool (fairness)
BLOCKED_RETRY = timedelta(minutes=15)  # an unapproved email waits for a person; this is not counted as a failed attempt


class StepBlocked(Exception):
    """The step cannot run yet for a reason a person must fix (an email not approved); retried later without counting."""


@dataclass
class RunReport:
    worker_id: str
    claimed: int = 0
    steps: dict[str, int] = field(default_factory=dict)  # step type -> steps run
    completed: int = 0
    exited: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def steps_run(self) -> int:
        return sum(self.steps.values())

    def summary(self) -> str:
        parts = [f"{self.claimed} enrollments", f"{self.steps_run} steps"]
        parts += [f"{n} {label}" for n, label in ((self.completed, "completed"), (self.exited, "exited"), (self.retried, "retried"),
                                                  (self.failed, "failed"), (self.blocked, "blocked")) if n]
        return ", ".join(parts)


@dataclass(frozen=True)
class StepContext:
    """What a hook sees: the step that just ran (inside its transaction, or right after the commit)."""

    enrollment_id: int
    step_id: str
    step_type: str
    seq: int
    outcome: str
    status: str  # the enrollment's status after the step


Hook = Callable[[StepContext], None]


def due_count(session: Session, now: datetime, merchant_id: str | None = None) -> int:
    query = select(func.count()).select_from(AutomationEnrollment).where(*_due(now, DEFAULT_LEASE))
    if merchant_id is not None:
        query = query.where(AutomationEnrollment.merchant_id == merchant_id)
    return int(session.scalar(query) or 0)


def _due(now: datetime, lease: timedelta) -> list:
    enrollment = AutomationEnrollment
    return [
        enrollment.status.in_(OPEN),
        enrollment.wake_at.is_(None) | (enrollment.wake_at <= now),
        queue.free_or_expired(enrollment, now, lease),
        enrollment.automation_id.in_(select(Automation.id).where(Automation.status == ACTIVE)),
    ]


def _exit_archived(url: str, now: datetime, merchant_id: str | None) -> int:
    with session_scope(url) as session:
        archived = select(Automation.id).where(Automation.status == ARCHIVED)
        if merchant_id is not None:
            archived = archived.where(Automation.merchant_id == merchant_id)
        result = session.execute(update(AutomationEnrollment).where(AutomationEnrollment.status.in_(OPEN), AutomationEnrollment.automation_id.in_(archived))
                                 .values(status=EXITED, wake_at=None, claimed_by=None, claimed_at=None, updated_at=now,
                                         last_error="the automation was archived")
                                 .execution_options(synchronize_session=False))
        return result.rowcount or 0


def claim_due(url: str, worker_id: str, now: datetime, limit: int = 100, lease: timedelta = DEFAULT_LEASE,
              merchant_id: str | None = None) -> list[int]:
    """Lease up to `limit` due enrollments to `worker_id` (committed), soonest due first; returns their ids."""
    with session_scope(url) as session:
        condition = _due(now, lease)
        if merchant_id is not None:
            condition.append(AutomationEnrollment.merchant_id == merchant_id)
        claimed = queue.claim(session, AutomationEnrollment, where=condition, worker_id=worker_id, now=now, limit=limit,
                              order_by=[AutomationEnrollment.wake_at])
        return [c.id for c in claimed]


def run_due(
    url: str,
    now: datetime | None = None,
    worker_id: str = "automations",
    *,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
    max_attempts: int = MAX_ATTEMPTS,
    merchant_id: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    before_commit: Hook | None = None,
    after_commit: Hook | None = None,
) -> RunReport:
    """Claim due enrollments and run their steps, one transaction per step, until each waits, ends or fails.

    `before_commit` runs inside each step's transaction after its side effect, `after_commit`
    right after the commit (tracing, and the crash tests: raising there models a worker dying).
    """
    now = now or utcnow()
    report = RunReport(worker_id)
    report.exited += _exit_archived(url, now, merchant_id)
    ids = claim_due(url, worker_id, now, limit, lease, merchant_id)
    report.claimed = len(ids)
    for enrollment_id in ids:
        try:
            for _ in range(MAX_STEPS_PER_CLAIM):
                try:
                    ran = _run_step(url, enrollment_id, worker_id, now, report, before_commit)
                except StepBlocked as exc:
                    _step_failed(url, enrollment_id, worker_id, now, str(exc), max_attempts, report, blocked=True)
                    break
                except Exception as exc:  # a step's error is recorded on the enrollment; the run goes on with the others
                    log.warning("automation step of enrollment %s failed: %s", enrollment_id, exc)
                    _step_failed(url, enrollment_id, worker_id, now, f"{type(exc).__name__}: {exc}", max_attempts, report, blocked=False)
                    break
                if ran is None:
                    break
                if after_commit is not None:
                    after_commit(ran)
                if ran.status != RUNNING:
                    break
        finally:
            _release(url, enrollment_id, worker_id)
        if on_progress:
            on_progress(1)
    return report


def _release(url: str, enrollment_id: int, worker_id: str) -> None:
    with session_scope(url) as session:
        queue.release(session, AutomationEnrollment, [enrollment_id], worker_id)


def _log_attempt(session: Session, enrollment: AutomationEnrollment, attempt: int, worker_id: str, now: datetime, outcome: str,
                 detail: str) -> None:
    """One attempt at the enrollment's current step, in the transaction that records its outcome."""
    queue.record_attempt(session, queue=QUEUE, merchant_id=enrollment.merchant_id, item_id=enrollment.id, attempt=attempt, worker_id=worker_id,
                         started_at=now, finished_at=now, outcome=outcome, detail=f"step {enrollment.current_step}: {detail}")


def _step_failed(url: str, enrollment_id: int, worker_id: str, now: datetime, error: str, max_attempts: int, report: RunReport,
                 blocked: bool) -> None:
    with session_scope(url) as session:
        enrollment = session.get(AutomationEnrollment, enrollment_id, populate_existing=True)
        if enrollment is None or enrollment.claimed_by != worker_id or enrollment.status not in OPEN:
            return
        enrollment.last_error = error[:2000]
        enrollment.updated_at = now
        if blocked:
            enrollment.status, enrollment.wake_at = RUNNING, now + BLOCKED_RETRY
            report.blocked += 1
            _log_attempt(session, enrollment, enrollment.attempts + 1, worker_id, now, "blocked", error)
            return
        enrollment.attempts += 1
        _log_attempt(session, enrollment, enrollment.attempts, worker_id, now, "failed" if enrollment.attempts >= max_attempts else "retry", error)
        if enrollment.attempts >= max_attempts:
            enrollment.status, enrollment.wake_at = FAILED, None
            report.failed += 1
            record(session, enrollment.merchant_id, worker_id, "automation.enrollment_failed", "automation_enrollment", str(enrollment.id),
                   automation_id=enrollment.automation_id, contact_id=enrollment.contact_id, step=enrollment.current_step,
                   attempts=enrollment.attempts, error=error[:500])
        else:
            enrollment.status, enrollment.wake_at = RUNNING, now + queue.backoff(enrollment.attempts, f"automation_enrollment:{enrollment.id}")
            report.retried += 1
        report.errors.append(f"enrollment {enrollment_id} at step {enrollment.current_step}: {error}")


@dataclass
class _Result:
    outcome: str  # done, queued, suppressed, yes, no, branch N, waiting, completed
    next_step: str | None
    result: dict[str, Any] = field(default_factory=dict)
    wake_at: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)


def _run_step(url: str, enrollment_id: int, worker_id: str, now: datetime, report: RunReport, before_commit: Hook | None) -> StepContext | None:
    """Run the enrollment's current step in one transaction; None when there is nothing (more) to do for this worker."""
    with session_scope(url) as session:
        enrollment = session.get(AutomationEnrollment, enrollment_id, populate_existing=True)
        if enrollment is None or enrollment.claimed_by != worker_id or enrollment.status not in OPEN:
            return None
        if enrollment.wake_at is not None and enrollment.wake_at > now:
            return None
        automation = session.get(Automation, enrollment.automation_id)
        if automation is None or automation.status != ACTIVE:
            return None
        seq, step_id = enrollment.step_seq, enrollment.current_step
        # take this step (renewing the lease): the compare-and-set locks the row (PostgreSQL) or the database (SQLite)
        # until the commit, and a worker that lost the lease, or a second run of the same step, matches nothing here
        taken = queue.renew(session, AutomationEnrollment, [enrollment_id], worker_id, now, AutomationEnrollment.step_seq == seq,
                            AutomationEnrollment.status.in_(OPEN), values={"step_seq": seq + 1, "updated_at": now})
        if not taken:
            return None
        flow = flow_of(automation)
        step = flow.steps.get(step_id or "")
        if step_id is None:
            result, step_type = _Result("completed", None), "end"
        elif step is None:
            raise AutomationError(f"enrollment {enrollment_id} is at step {step_id!r}, which automation {automation.id} no longer has")
        else:
            step_type = step.type
            result = _execute(session, automation, enrollment, step_id, step, seq, now)
            session.add(AutomationStepRun(merchant_id=enrollment.merchant_id, enrollment_id=enrollment_id, seq=seq, step_id=step_id,
                                          step_type=step_type, outcome=result.outcome, result=result.result, ran_at=now))
            _log_attempt(session, enrollment, enrollment.attempts + 1, worker_id, now, result.outcome, f"{step_type} ran (seq {seq})")
        values: dict[str, Any] = {"current_step": result.next_step, "attempts": 0, "last_error": None, "updated_at": now,
                                  "context": {**(enrollment.context or {}), **result.context}}
        if result.wake_at is not None:
            values.update(status=WAITING, wake_at=result.wake_at)
        elif result.next_step is None:
            values.update(status=COMPLETED, wake_at=None)
        else:
            values.update(status=RUNNING, wake_at=None)
        session.execute(update(AutomationEnrollment).where(AutomationEnrollment.id == enrollment_id).values(**values)
                        .execution_options(synchronize_session=False))
        session.flush()
        ran = StepContext(enrollment_id, step_id or "", step_type, seq, result.outcome, values["status"])
        if before_commit is not None:
            before_commit(ran)
    report.steps[step_type] = report.steps.get(step_type, 0) + (1 if step_id is not None else 0)
    if values["status"] == COMPLETED:
        report.completed += 1
    return ran


def _execute(session: Session, automation: Automation, enrollment: AutomationEnrollment, step_id: str, step: Any, seq: int,
             now: datetime) -> _Result:
    nxt = {field_path: target for field_path, target, _ in targets(step)}
    if isinstance(step, EndStep):
        return _Result("completed", None)
    if isinstance(step, WaitStep):
        contact = session.get(Contact, enrollment.contact_id)
        wake = wake_time(step, now, zone_of(contact.timezone if contact else None))
        return _Result("waiting", step.next, {"until": wake.isoformat()}, wake_at=wake)
    if isinstance(step, RandomSplitStep):
        branch = split_branch(step, enrollment.id, step_id, seq)
        return _Result(f"branch {branch}", step.branches[branch].next, {"branch": branch})
    if isinstance(step, ConditionStep):
        matched = _condition(session, automation, enrollment, step, now)
        return _Result("yes" if matched else "no", nxt["then"] if matched else nxt["else"], {"matched": matched})
    if isinstance(step, UpdateFieldStep):
        return _update_contact(session, automation, enrollment, step_id, step, seq, now)
    if isinstance(step, SendEmailStep):
        return _queue_email(session, automation, enrollment, step_id, step, seq, now)
    raise AutomationError(f"step {step_id!r} has a type this engine does not run")


def wake_time(step: WaitStep, now: datetime, zone: ZoneInfo) -> datetime:
    """`now` plus the wait, then on to the next `until_hour` o'clock of the contact's local clock (if given)."""
    wake = now + timedelta(days=step.days or 0, hours=step.hours or 0)
    if step.until_hour is None:
        return wake
    local = wake.astimezone(zone)
    target = datetime.combine(local.date(), time(step.until_hour), zone)
    if target < local:
        target = datetime.combine(local.date() + timedelta(days=1), time(step.until_hour), zone)
    return target.astimezone(UTC)


def _condition(session: Session, automation: Automation, enrollment: AutomationEnrollment, step: ConditionStep, now: datetime) -> bool:
    if step.rules is not None:
        query = segments.contacts_query(automation.merchant_id, step.rules, now).where(Contact.id == enrollment.contact_id)
        return bool(session.scalar(select(exists(query.with_only_columns(Contact.id)))))
    last = (enrollment.context or {}).get("last_email")
    if not last:
        return False  # no email sent yet in this run through the flow
    # a click proves an open (opens are undercounted when images are blocked)
    kinds = ("opened", "clicked") if step.previous_email == "opened" else ("clicked",)
    sent_at = datetime.fromisoformat(last["at"])
    return bool(session.scalar(select(exists().where(
        ContactEvent.merchant_id == automation.merchant_id, ContactEvent.contact_id == enrollment.contact_id, ContactEvent.kind.in_(kinds),
        ContactEvent.email_campaign_id == int(last["email_campaign_id"]), ContactEvent.occurred_at >= sent_at))))


def _update_contact(session: Session, automation: Automation, enrollment: AutomationEnrollment, step_id: str, step: UpdateFieldStep,
                    seq: int, now: datetime) -> _Result:
    contact = session.get(Contact, enrollment.contact_id, populate_existing=True)
    if contact is None:
        raise AutomationError(f"contact {enrollment.contact_id} no longer exists")
    attributes = dict(contact.attributes or {})
    for key, value in step.set.items():
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    tags = list(contact.tags or [])
    added = [t for t in step.add_tags if t not in tags]
    tags = [t for t in tags + added if t not in step.remove_tags]
    removed = [t for t in step.remove_tags if t in (contact.tags or [])]
    contact.attributes, contact.tags, contact.updated_at = attributes, tags, now
    for tag in added:
        # recorded like any tag change, so another automation can start on it (only when the tag is new: no ping-pong)
        session.add(ContactEvent(merchant_id=automation.merchant_id, contact_id=contact.id, kind="tag_added", occurred_at=now,
                                 event_key=f"automation:{enrollment.id}:{seq}:{tag}"[:200],
                                 details={"tag": tag, "source": f"automation {automation.id} step {step_id}"}))
    return _Result("done", step.next, {"set": step.set, "added_tags": added, "removed_tags": removed})


def automation_send_key(email_campaign_id: int, enrollment_id: int, seq: int) -> str:
    """One email per (enrollment, step run): unique in email_sends, like every email's idempotency key."""
    return "es_" + hashlib.sha256(f"{email_campaign_id}|automation|{enrollment_id}|{seq}".encode()).hexdigest()[:60]


def _queue_email(session: Session, automation: Automation, enrollment: AutomationEnrollment, step_id: str, step: SendEmailStep, seq: int,
                 now: datetime) -> _Result:
    ec_id = step.email_campaign_id or (automation.steps.get("emails") or {}).get(step_id)
    if ec_id is None:
        raise AutomationError(f"step {step_id!r} has no email campaign; pause and activate the automation again")
    ec = session.scalar(select(EmailCampaign).where(EmailCampaign.merchant_id == automation.merchant_id, EmailCampaign.id == int(ec_id)))
    if ec is None:
        raise AutomationError(f"email campaign {ec_id} of step {step_id!r} no longer exists")
    if not email_is_approved(session, ec):
        raise StepBlocked(f"email campaign {ec.id} changed since it was approved; approve it with "
                          f"`campaigns automations approve-emails {automation.id}` and the contact continues")
    contact = session.get(Contact, enrollment.contact_id)
    if contact is None:
        raise AutomationError(f"contact {enrollment.contact_id} no longer exists")
    address = normalise_email(contact.email)
    row = EmailSend(merchant_id=automation.merchant_id, email_campaign_id=ec.id, contact_id=contact.id, email=contact.email.strip(),
                    idempotency_key=automation_send_key(ec.id, enrollment.id, seq), status=EmailSendStatus.PENDING, attempts=0,
                    merge_values=merge_snapshot(contact.first_name, contact.last_name, contact.email, contact.attributes),
                    created_at=now, updated_at=now)
    reason = suppressed_emails(session, automation.merchant_id, [address]).get(address)
    if reason is not None:
        row.status, row.reason_code, row.reason, row.finished_at = EmailSendStatus.SUPPRESSED, reason.value.lower(), f"on the suppression list ({reason.value})", now
    elif not contact.subscribed:
        row.status, row.reason_code, row.reason, row.finished_at = EmailSendStatus.SUPPRESSED, "unsubscribed", "the contact is unsubscribed", now
    session.add(row)
    session.flush()
    outcome = "queued" if row.status is EmailSendStatus.PENDING else "suppressed"
    return _Result(outcome, step.next, {"email_campaign_id": ec.id, "email_send_id": row.id},
                   context={"last_email": {"email_campaign_id": ec.id, "email_send_id": row.id, "step": step_id, "at": now.isoformat()}})


# --- delivering the queued emails ---------------------------------------------------------------------


@dataclass(frozen=True)
class EmailDeliveryOutcome:
    email_campaign_id: int
    merchant_id: str
    outcomes: dict[str, int]
    error: str | None = None


def automation_emails_with_work(session: Session, merchant_id: str | None = None) -> list[tuple[str, int]]:
    """(merchant, email campaign) of automation emails that have rows PENDING or SENDING."""
    query = (select(EmailCampaign.merchant_id, EmailCampaign.id).where(EmailCampaign.kind == KIND_AUTOMATION, exists().where(
        EmailSend.email_campaign_id == EmailCampaign.id, EmailSend.status.in_((EmailSendStatus.PENDING, EmailSendStatus.SENDING))))
        .order_by(EmailCampaign.id))
    if merchant_id is not None:
        query = query.where(EmailCampaign.merchant_id == merchant_id)
    return [(m, int(i)) for m, i in session.execute(query)]


def deliver_automation_emails(url: str, settings: Any, worker_id: str, now: datetime | None = None, merchant_id: str | None = None,
                              **deliver_options: Any) -> list[EmailDeliveryOutcome]:
    """Send the queued emails of every automation email campaign through `delivery.deliver` (its exactly-once rules apply)."""
    with session_scope(url) as session:
        work = automation_emails_with_work(session, merchant_id)
    results = []
    for owner, ec_id in work:
        try:
            report = delivery.deliver(url, settings, ec_id, worker_id, now, merchant_id=owner, **deliver_options)
        except (EmailDeliveryError, NotApprovedError, LookupError) as exc:
            results.append(EmailDeliveryOutcome(ec_id, owner, {}, str(exc)))
            continue
        results.append(EmailDeliveryOutcome(ec_id, owner, dict(report.outcomes), report.stopped))
    return results

