"""Automation workflows: enrol contacts on a trigger and walk each one through a flow, one step exactly once.

The flow definition (trigger, start, steps) is described and validated in
`campaigns.email.flows`. Stored on `automations`: ``trigger`` and ``steps`` =
``{"start": ..., "steps": {...}, "emails": {step id: email campaign id}}`` (``emails`` is
filled on activation).

Each enrolled contact is a row of ``automation_enrollments`` (the persisted state machine)::

    enroll_due -> ACTIVE (current_step = start)
    run_due:   ACTIVE/WAITING and due --claim (lease)--> one step per transaction:
                   step run (enrollment, seq) + its side effect + the enrollment advanced, committed together
               -> ACTIVE (next step due now) | WAITING (until wake_at) | COMPLETED | EXITED (automation archived)
               a step that raises: rolled back entirely, attempts + 1, retried with backoff, FAILED after MAX_ATTEMPTS

Exactly once: a step's transaction first moves ``step_seq`` from n to n+1 with a compare-and-set
(``WHERE step_seq = n AND claimed_by = me``) and inserts ``automation_step_runs(enrollment, n)``
(unique). A crash before the commit leaves nothing behind, a crash after it leaves the step done;
a second worker finds ``step_seq`` moved on. An email step only adds an ``email_sends`` row
(PENDING) in that transaction, with an idempotency key per (enrollment, seq); the email is then
sent by `email_delivery.deliver`, whose own exactly-once rules take over
(`deliver_automation_emails`).

Claims: due enrollments are leased (``claimed_by``, ``claimed_at``) with ``FOR UPDATE SKIP LOCKED``
on PostgreSQL and a compare-and-set per row on SQLite; a lease older than `DEFAULT_LEASE`
(a dead worker) is taken over. A PAUSED automation's enrollments are not claimed (they wait);
an ARCHIVED automation's open enrollments are EXITED.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import JSON, Integer, String, and_, cast, exists, func, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from campaigns.core.enums import EmailCampaignStatus
from campaigns.email.flows import (
    ConditionStep,
    DateFieldTrigger,
    EndStep,
    Flow,
    FlowError,
    PurchaseTrigger,
    RandomSplitStep,
    SendEmailStep,
    SignupTrigger,
    TagAddedTrigger,
    UpdateFieldStep,
    WaitStep,
    split_branch,
    targets,
    validate_flow,
)
from campaigns.email.template_engine import merge_snapshot
from campaigns.email import delivery as delivery
from campaigns.audiences import segments
from campaigns.content.approvals import AUTHOR_NOTE, NotApprovedError
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.audiences.suppression import normalise_email, suppressed_emails
from campaigns.core.store.db import session_scope, dialect_insert as _insert, with_session as _with_session
from campaigns.core.store.models import (
    Automation,
    AutomationEnrollment,
    AutomationStepRun,
    Contact,
    ContactEvent,
    EmailCampaign,
    EmailSend,
    EmailSendStatus,
    EmailTemplate,
)
from campaigns.core.store.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

DRAFT, ACTIVE, PAUSED, ARCHIVED = "DRAFT", "ACTIVE", "PAUSED", "ARCHIVED"
# enrollment states
RUNNING, WAITING, COMPLETED, EXITED, FAILED = "ACTIVE", "WAITING", "COMPLETED", "EXITED", "FAILED"
OPEN = (RUNNING, WAITING)
DEFAULT_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_STEPS_PER_CLAIM = 25  # steps one enrollment may take in one run before it goes back to the pool (fairness)
BLOCKED_RETRY = timedelta(minutes=15)  # an unapproved email waits for a person; this is not counted as a failed attempt
DATE_CATCH_UP = timedelta(days=1)  # a date trigger missed by a stopped pipeline still fires within a day
KIND_AUTOMATION = "automation"


class AutomationError(ValueError):
    """A request the automation's state or definition does not allow; the message names the fix."""


class AutomationNotFoundError(LookupError):
    pass


class StepBlocked(Exception):
    """The step cannot run yet for a reason a person must fix (an email not approved); retried later without counting."""


# --- definitions ------------------------------------------------------------------------------------


def parse_flow(definition: Any) -> Flow:
    """Validate a definition (segment rules in conditions included); raises FlowError with paths."""
    return validate_flow(definition, rules_check=segments.validate_rules)


def flow_of(automation: Automation) -> Flow:
    stored = automation.steps or {}
    return parse_flow({"trigger": automation.trigger, "start": stored.get("start"), "steps": stored.get("steps")})


def create_automation(session: Session, merchant_id: str, definition: Any, actor: str, name: str | None = None) -> Automation:
    """A DRAFT automation from a definition (validated); its name comes from `name` or the definition's ``name``."""
    require_merchant(session, merchant_id)
    flow = parse_flow(definition)
    name = (name or (definition.get("name") if isinstance(definition, dict) else None) or "").strip()
    if not name:
        raise AutomationError("name: give the automation a name (--name, or \"name\" in the file)")
    if len(name) > 200:
        raise AutomationError("name: at most 200 characters")
    if session.scalar(select(Automation.id).where(Automation.merchant_id == merchant_id, Automation.name == name)) is not None:
        raise AutomationError(f"name: an automation named {name!r} already exists; pick another name")
    automation = Automation(merchant_id=merchant_id, name=name, status=DRAFT, trigger=flow.trigger_json(), steps={**flow.to_json(), "emails": {}})
    session.add(automation)
    session.flush()
    record(session, merchant_id, actor, "automation.create", "automation", str(automation.id), name=name, trigger=flow.trigger_json(),
           steps=len(flow.steps))
    return automation


def get_automation(session: Session, merchant_id: str, automation_id: int) -> Automation:
    automation = session.scalar(select(Automation).where(Automation.merchant_id == merchant_id, Automation.id == automation_id))
    if automation is None:
        raise AutomationNotFoundError(f"no automation {automation_id} for merchant {merchant_id!r}; list them with `campaigns automations list`")
    return automation


def list_automations(session: Session, merchant_id: str) -> list[Automation]:
    return list(session.scalars(select(Automation).where(Automation.merchant_id == merchant_id).order_by(Automation.id)))


def email_campaign_ids(automation: Automation) -> dict[str, int]:
    """Step id -> the email campaign it sends (after activation, or given in the definition)."""
    stored = automation.steps or {}
    out = {k: int(v) for k, v in (stored.get("emails") or {}).items()}
    for step_id, raw in (stored.get("steps") or {}).items():
        if raw.get("type") == "send_email" and raw.get("email_campaign_id"):
            out[step_id] = int(raw["email_campaign_id"])
    return out


def activate(session: Session, merchant_id: str, automation_id: int, actor: str, now: datetime | None = None) -> Automation:
    """DRAFT or PAUSED -> ACTIVE. Creates the automation email campaigns on first activation; every email must be approved.

    Contacts are enrolled for triggers at or after the first activation (`active_since`); after a
    pause they continue where they were, and triggers that happened during the pause are enrolled.
    """
    now = now or utcnow()
    automation = get_automation(session, merchant_id, automation_id)
    if automation.status == ACTIVE:
        return automation
    if automation.status == ARCHIVED:
        raise AutomationError(f"automation {automation.id} is ARCHIVED; create it again to run it")
    flow = flow_of(automation)
    merchant = require_merchant(session, merchant_id)
    emails = dict((automation.steps or {}).get("emails") or {})
    problems: list[str] = []
    for step_id, step in flow.steps.items():
        if not isinstance(step, SendEmailStep):
            continue
        path = f"steps.{step_id}"
        try:
            if step.email_campaign_id is not None:
                _check_existing_email(session, merchant_id, step.email_campaign_id, actor, path)
            elif step_id not in emails:
                emails[step_id] = _create_email(session, merchant_id, merchant.name, automation, step_id, step, actor, path)
            else:
                _check_existing_email(session, merchant_id, int(emails[step_id]), actor, path)
        except AutomationError as exc:
            problems.append(str(exc))
    if problems:
        raise AutomationError("; ".join(problems))
    before = automation.status
    automation.steps = {**(automation.steps or {}), "emails": emails}
    automation.status = ACTIVE
    automation.active_since = automation.active_since or now
    record(session, merchant_id, actor, "automation.activate", "automation", str(automation.id), before=before, after=ACTIVE,
           active_since=automation.active_since, emails=emails)
    session.flush()
    return automation


def _template(session: Session, merchant_id: str, name: str | None, path: str) -> EmailTemplate | None:
    if not name:
        return None
    template = session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == merchant_id, EmailTemplate.name == name))
    if template is None:
        known = ", ".join(session.scalars(select(EmailTemplate.name).where(EmailTemplate.merchant_id == merchant_id).order_by(EmailTemplate.name)))
        raise AutomationError(f"{path}.template: no email template named {name!r} (known: {known or 'none yet'}); create it in the Templates page")
    return template


def _create_email(session: Session, merchant_id: str, merchant_name: str, automation: Automation, step_id: str, step: SendEmailStep,
                  actor: str, path: str) -> int:
    template = _template(session, merchant_id, step.template, path)
    html = delivery.template_body(template)  # as sending renders it: a base-layout footer carries the unsubscribe link
    try:
        delivery.render_campaign(step.subject or "", step.preview_text, html, merchant_name)
    except delivery.EmailDeliveryError as exc:
        raise AutomationError(f"{path}: {exc}") from None
    ec = EmailCampaign(merchant_id=merchant_id, campaign_id=None, segment_id=None, template_id=template.id if template else None,
                       subject=(step.subject or "").strip(), preview_text=step.preview_text.strip(), kind=KIND_AUTOMATION,
                       status=EmailCampaignStatus.SENDING)  # recipients arrive one enrollment at a time, never from a segment
    session.add(ec)
    session.flush()
    record(session, merchant_id, actor, "email.create", "email_campaign", str(ec.id), kind=KIND_AUTOMATION, automation_id=automation.id,
           step=step_id, template=step.template, subject=ec.subject)
    # the person activating chose this subject and template: like `campaigns email create`, that counts as their approval
    delivery.approve_email_campaign(session, merchant_id, ec.id, actor, note=AUTHOR_NOTE)
    return ec.id


def _check_existing_email(session: Session, merchant_id: str, ec_id: int, actor: str, path: str) -> None:
    ec = session.scalar(select(EmailCampaign).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.id == ec_id))
    if ec is None:
        raise AutomationError(f"{path}.email_campaign_id: no email campaign {ec_id} for merchant {merchant_id!r}")
    if ec.kind != KIND_AUTOMATION:
        raise AutomationError(f"{path}.email_campaign_id: email campaign {ec_id} is a {ec.kind} email; automation steps send emails of kind "
                              "automation (give subject and template instead, and one is created on activation)")
    if not email_is_approved(session, ec):
        raise AutomationError(f"{path}.email_campaign_id: email campaign {ec_id}'s current subject and body are not approved; review them, "
                              f"then approve with `campaigns automations approve-emails AUTOMATION_ID`")
    if ec.status in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
        before = ec.status.value
        ec.status = EmailCampaignStatus.SENDING
        record(session, merchant_id, actor, "email.open_for_automation", "email_campaign", str(ec.id), before=before, after="SENDING")


def email_is_approved(session: Session, ec: EmailCampaign) -> bool:
    return delivery.is_approved(session, ec)  # the one definition of "approved" for emails lives in email_delivery


def approve_emails(session: Session, merchant_id: str, automation_id: int, actor: str, note: str = "") -> list[int]:
    """Approve the current subject and body of every email the automation sends (after reviewing them)."""
    automation = get_automation(session, merchant_id, automation_id)
    ids = sorted(set(email_campaign_ids(automation).values()))
    for ec_id in ids:
        delivery.approve_email_campaign(session, merchant_id, ec_id, actor, note)
    return ids


def _set_status(session: Session, merchant_id: str, automation_id: int, actor: str, after: str, allowed: tuple[str, ...]) -> Automation:
    automation = get_automation(session, merchant_id, automation_id)
    if automation.status == after:
        return automation
    if automation.status not in allowed:
        raise AutomationError(f"automation {automation.id} is {automation.status}; only {' or '.join(allowed)} can become {after}")
    before, automation.status = automation.status, after
    record(session, merchant_id, actor, f"automation.{after.lower()}", "automation", str(automation.id), before=before, after=after)
    session.flush()
    return automation


def pause(session: Session, merchant_id: str, automation_id: int, actor: str) -> Automation:
    """ACTIVE -> PAUSED: no one is enrolled and no step runs; enrolled contacts wait where they are."""
    return _set_status(session, merchant_id, automation_id, actor, PAUSED, (ACTIVE,))


def archive(session: Session, merchant_id: str, automation_id: int, actor: str) -> Automation:
    """Any state -> ARCHIVED: open enrollments are EXITED at the next run; cannot be undone."""
    return _set_status(session, merchant_id, automation_id, actor, ARCHIVED, (DRAFT, ACTIVE, PAUSED))


# --- enrolling ------------------------------------------------------------------------------------




def enroll_due(session_or_url: Session | str, now: datetime | None = None, merchant_id: str | None = None) -> int:
    """Enrol every contact whose trigger happened since its automation's `active_since` (ACTIVE automations); returns how many were new.

    Idempotent: each occurrence has a trigger key and (automation, contact, key) is unique, so
    re-running inserts nothing twice (INSERT ... ON CONFLICT DO NOTHING on both backends).
    """
    now = now or utcnow()

    def work(session: Session) -> int:
        query = select(Automation).where(Automation.status == ACTIVE, Automation.active_since.is_not(None))
        if merchant_id is not None:
            query = query.where(Automation.merchant_id == merchant_id)
        added = 0
        for automation in session.scalars(query.order_by(Automation.id)).all():
            try:
                flow = flow_of(automation)
            except FlowError as exc:
                log.error("automation %s has an invalid stored definition: %s", automation.id, exc)
                continue
            added += _enroll(session, automation, flow, now)
        return added

    return _with_session(session_or_url, work)


def _enroll(session: Session, automation: Automation, flow: Flow, now: datetime) -> int:
    since = automation.active_since
    trigger = flow.trigger
    if isinstance(trigger, DateFieldTrigger):
        return _enroll_dates(session, automation, flow, trigger, now)
    sources = []
    if isinstance(trigger, SignupTrigger):
        key = literal("signup", String())
        sources.append(select(Contact.id.label("contact_id"), key.label("trigger_key")).where(
            Contact.merchant_id == automation.merchant_id, Contact.created_at >= since, Contact.created_at <= now))
        sources.append(select(ContactEvent.contact_id, key).where(*_event(automation, "signed_up", since, now)).distinct())
    else:
        key = literal("event:", String()) + cast(ContactEvent.id, String())
        conditions = []
        if isinstance(trigger, TagAddedTrigger):
            conditions = [*_event(automation, "tag_added", since, now), ContactEvent.details["tag"].as_string() == trigger.tag]
        elif isinstance(trigger, PurchaseTrigger):
            conditions = _event(automation, "purchased", since, now)
            if trigger.min_value is not None:
                conditions.append(ContactEvent.value >= trigger.min_value)
        sources.append(select(ContactEvent.contact_id, key).where(*conditions))
    added = 0
    for source in sources:
        sub = source.subquery()
        rows = select(
            literal(automation.merchant_id, String()), literal(automation.id, Integer()), sub.c[0], sub.c[1], literal(RUNNING, String()),
            literal(flow.start, String()), literal(0, Integer()), literal(0, Integer()), literal({}, JSON()),
            literal(now, UTCDateTime()), literal(now, UTCDateTime()),
        ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT, or it misreads the ON
        statement = _insert(session)(AutomationEnrollment).from_select(
            ["merchant_id", "automation_id", "contact_id", "trigger_key", "status", "current_step", "step_seq", "attempts", "context",
             "created_at", "updated_at"], rows).on_conflict_do_nothing().returning(AutomationEnrollment.id)
        added += len(session.execute(statement).all())
    return added


def _event(automation: Automation, kind: str, since: datetime, now: datetime) -> list:
    return [ContactEvent.merchant_id == automation.merchant_id, ContactEvent.kind == kind, ContactEvent.occurred_at >= since,
            ContactEvent.occurred_at <= now]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def date_occurrences(value: Any, trigger: DateFieldTrigger, zone: ZoneInfo, now: datetime) -> list[tuple[date, datetime]]:
    """(the day the trigger fires, the UTC moment: that day's `at_hour` in `zone`) for the occurrences near `now`."""
    base = _as_date(value)
    if base is None:
        return []
    if trigger.yearly:
        local_year = now.astimezone(zone).year
        days = []
        for year in (local_year - 1, local_year, local_year + 1):
            try:
                anniversary = base.replace(year=year)
            except ValueError:  # 29 February in a common year: the day before
                anniversary = date(year, 2, 28)
            days.append(anniversary + timedelta(days=trigger.offset_days))
    else:
        days = [base + timedelta(days=trigger.offset_days)]
    return [(day, datetime.combine(day, time(trigger.at_hour), zone).astimezone(UTC)) for day in days]


def _enroll_dates(session: Session, automation: Automation, flow: Flow, trigger: DateFieldTrigger, now: datetime) -> int:
    since = automation.active_since
    contacts = session.execute(select(Contact.id, Contact.timezone, Contact.attributes).where(
        Contact.merchant_id == automation.merchant_id, Contact.attributes[trigger.field].as_string().is_not(None))).all()
    rows = []
    for contact_id, zone_name, attributes in contacts:
        for day, moment in date_occurrences((attributes or {}).get(trigger.field), trigger, _zone(zone_name), now):
            # fires from its local hour on; a pipeline stopped for less than a day still catches up
            if since <= moment <= now and now - moment < DATE_CATCH_UP:
                rows.append({"merchant_id": automation.merchant_id, "automation_id": automation.id, "contact_id": contact_id,
                             "trigger_key": f"date:{trigger.field}:{day.isoformat()}", "status": RUNNING, "current_step": flow.start,
                             "step_seq": 0, "attempts": 0, "context": {}, "created_at": now, "updated_at": now})
    added = 0
    for start in range(0, len(rows), 500):
        result = session.execute(_insert(session)(AutomationEnrollment).on_conflict_do_nothing().returning(AutomationEnrollment.id), rows[start : start + 500])
        added += len(result.all())
    return added


# --- running steps --------------------------------------------------------------------------------


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
        or_(enrollment.wake_at.is_(None), enrollment.wake_at <= now),
        or_(enrollment.claimed_by.is_(None), enrollment.claimed_at < now - lease),
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
    """Lease up to `limit` due enrollments to `worker_id` (committed); returns their ids."""
    with session_scope(url) as session:
        condition = _due(now, lease)
        if merchant_id is not None:
            condition.append(AutomationEnrollment.merchant_id == merchant_id)
        candidates = select(AutomationEnrollment.id).where(*condition).order_by(AutomationEnrollment.wake_at, AutomationEnrollment.id).limit(limit)
        values = {"claimed_by": worker_id, "claimed_at": now}
        if session.get_bind().dialect.name == "postgresql":
            # rows another worker is claiming right now are skipped, not waited for
            ids = list(session.scalars(candidates.with_for_update(skip_locked=True, of=AutomationEnrollment)))
            if ids:
                session.execute(update(AutomationEnrollment).where(AutomationEnrollment.id.in_(ids)).values(**values)
                                .execution_options(synchronize_session=False))
            return ids
        claimed = []
        for enrollment_id in session.scalars(candidates).all():
            # SQLite has no row locks: repeating the due test makes each claim a compare-and-set
            result = session.execute(update(AutomationEnrollment).where(AutomationEnrollment.id == enrollment_id, *condition).values(**values)
                                     .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                claimed.append(enrollment_id)
        return claimed


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
            _release(url, enrollment_id, worker_id, now)
        if on_progress:
            on_progress(1)
    return report


def _release(url: str, enrollment_id: int, worker_id: str, now: datetime) -> None:
    with session_scope(url) as session:
        session.execute(update(AutomationEnrollment).where(AutomationEnrollment.id == enrollment_id, AutomationEnrollment.claimed_by == worker_id)
                        .values(claimed_by=None, claimed_at=None).execution_options(synchronize_session=False))


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, capped at an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


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
            return
        enrollment.attempts += 1
        if enrollment.attempts >= max_attempts:
            enrollment.status, enrollment.wake_at = FAILED, None
            report.failed += 1
            record(session, enrollment.merchant_id, worker_id, "automation.enrollment_failed", "automation_enrollment", str(enrollment.id),
                   automation_id=enrollment.automation_id, contact_id=enrollment.contact_id, step=enrollment.current_step,
                   attempts=enrollment.attempts, error=error[:500])
        else:
            enrollment.status, enrollment.wake_at = RUNNING, now + retry_delay(enrollment.attempts)
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
        # take this step: the compare-and-set locks the row (PostgreSQL) or the database (SQLite) until the commit,
        # and a worker that lost the lease, or a second run of the same step, matches nothing here
        taken = session.execute(update(AutomationEnrollment).where(
            AutomationEnrollment.id == enrollment_id, AutomationEnrollment.step_seq == seq, AutomationEnrollment.claimed_by == worker_id,
            AutomationEnrollment.status.in_(OPEN)).values(step_seq=seq + 1, updated_at=now).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
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
        wake = wake_time(step, now, _zone(contact.timezone if contact else None))
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
    """Send the queued emails of every automation email campaign through `email_delivery.deliver` (its exactly-once rules apply)."""
    with session_scope(url) as session:
        work = automation_emails_with_work(session, merchant_id)
    results = []
    for owner, ec_id in work:
        try:
            report = delivery.deliver(url, settings, ec_id, worker_id, now, merchant_id=owner, **deliver_options)
        except (delivery.EmailDeliveryError, NotApprovedError, LookupError) as exc:
            results.append(EmailDeliveryOutcome(ec_id, owner, {}, str(exc)))
            continue
        results.append(EmailDeliveryOutcome(ec_id, owner, dict(report.outcomes), report.stopped))
    return results


# --- reading ----------------------------------------------------------------------------------------


def step_counts(session: Session, merchant_id: str, automation_id: int) -> dict[str, dict[str, int]]:
    """Per step: ``passed`` (contacts that ran it, each run once) and ``here`` (open enrollments now at it, waiting or due)."""
    counts: dict[str, dict[str, int]] = {}
    passed = session.execute(
        select(AutomationStepRun.step_id, func.count(func.distinct(AutomationStepRun.enrollment_id)))
        .join(AutomationEnrollment, and_(AutomationEnrollment.id == AutomationStepRun.enrollment_id))
        .where(AutomationStepRun.merchant_id == merchant_id, AutomationEnrollment.automation_id == automation_id)
        .group_by(AutomationStepRun.step_id))
    for step_id, n in passed:
        counts.setdefault(step_id, {"passed": 0, "here": 0})["passed"] = int(n)
    here = session.execute(
        select(AutomationEnrollment.current_step, func.count()).where(
            AutomationEnrollment.merchant_id == merchant_id, AutomationEnrollment.automation_id == automation_id,
            AutomationEnrollment.status.in_(OPEN), AutomationEnrollment.current_step.is_not(None))
        .group_by(AutomationEnrollment.current_step))
    for step_id, n in here:
        counts.setdefault(step_id, {"passed": 0, "here": 0})["here"] = int(n)
    return counts


def enrollment_counts(session: Session, merchant_id: str, automation_id: int) -> dict[str, int]:
    rows = session.execute(select(AutomationEnrollment.status, func.count()).where(
        AutomationEnrollment.merchant_id == merchant_id, AutomationEnrollment.automation_id == automation_id).group_by(AutomationEnrollment.status))
    counts = {s: 0 for s in (RUNNING, WAITING, COMPLETED, EXITED, FAILED)}
    counts.update({status: int(n) for status, n in rows})
    return counts
