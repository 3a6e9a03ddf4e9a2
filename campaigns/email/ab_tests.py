"""Email A/B tests: cells, a stated decision rule, and the winner sent once to the rest of the audience.

Lifecycle of a test (``ab_tests.status``)::

    create_ab_test --> DRAFT: one ab_variant email campaign per variant; the audience (the segment's
                       subscribed, unsuppressed contacts, one per address) split by a seeded hash of
                       (test id, contact id) into cells of `cell_size` and the remainder, in one transaction
    start_ab_test  --> TESTING: every cell prepared (prepare_send takes its recipients from the assignments: `AbRecipients`)
    decide         --> DECIDED: after `min_hours`, the rule finds a winner (or the control, or the fallback
                       after `max_hours`); the posteriors and the reason are stored in ``decision`` and audited
    send_winner    --> WINNER_SENT: an ab_remainder email campaign with the winner's subject and body is
                       created once, prepared from the remainder assignments, and delivered exactly once

Re-running any step is safe: the transitions are compare-and-set updates, the remainder campaign is
created under a row lock of the test, and email_sends' idempotency keys keep one copy per address.
A contact is in exactly one cell or the remainder: (test, contact) is the assignments' primary key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from sqlalchemy import Select, and_, func, insert, select, update
from sqlalchemy.orm import Session

from campaigns.core.enums import EmailCampaignStatus
from optimizers import abtest
from campaigns.email import broadcasts, delivery, recipients
from campaigns.email.errors import EmailDeliveryError
from campaigns.audiences import segments as segment_rules
from campaigns.email import send_times
from campaigns.core.audit import jsonable, record
from campaigns.audiences.suppression import normalise_email, suppressed_emails
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import (
    AbTest,
    AbTestAssignment,
    AbTestVariant,
    Contact,
    ContactEvent,
    EmailCampaign,
    EmailSend,
    EmailSendStatus,
    EmailTemplate,
    Segment,
)
from campaigns.core.store.types import utcnow

AB_KINDS = ("ab_variant", "ab_remainder")
VARIABLES = ("subject", "content", "send_time")
EVENT_OF_METRIC = {"open": "opened", "click": "clicked", "conversion": "purchased", "revenue": "purchased"}
DRAFT, TESTING, DECIDED, WINNER_SENT, CANCELLED = "DRAFT", "TESTING", "DECIDED", "WINNER_SENT", "CANCELLED"


CHOICES = {"variable": VARIABLES, "metric": abtest.METRICS, "rule": abtest.RULES, "fallback": abtest.FALLBACKS}


class AbTestError(ValueError):
    """A test that cannot be created or moved on; the message names the field and the fix."""


class VariantInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    label: str = Field(default="", max_length=100)
    subject: str | None = Field(default=None, max_length=300)
    template: str | None = Field(default=None, max_length=200)
    preview_text: str | None = Field(default=None, max_length=150)
    send_hour: int | None = Field(default=None, ge=0, le=23)


class AbTestInput(BaseModel):
    """An A/B test as a marketer states it. Variant 1 (position 0) is the control."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    campaign_id: str = Field(min_length=1)
    segment_id: int
    variable: str
    variants: list[VariantInput] = Field(min_length=2, max_length=8)
    cell_size: int = Field(ge=1, le=1_000_000)
    metric: str = "open"
    rule: str = "bayesian"
    threshold: float = Field(default=0.95, gt=0.5, lt=1.0)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    min_hours: int = Field(default=4, ge=0, le=24 * 30)
    max_hours: int = Field(default=72, ge=1, le=24 * 60)
    fallback: str = "best_mean"
    subject: str = Field(default="", max_length=300)  # shared by variants that do not set their own
    template: str | None = None
    preview_text: str = Field(default="", max_length=150)
    send_window_hours: int | None = Field(default=None, ge=1, le=72)  # send-time optimisation of the remainder

    @field_validator("variable", "metric", "rule", "fallback")
    @classmethod
    def _one_of(cls, v: str, info: ValidationInfo) -> str:
        allowed = CHOICES[info.field_name]
        if v not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return v

    @model_validator(mode="after")
    def _variants_differ(self) -> AbTestInput:
        if self.max_hours <= self.min_hours:
            raise ValueError(f"max_hours ({self.max_hours}) must be more than min_hours ({self.min_hours})")
        field_of = {"subject": "subject", "content": "template", "send_time": "send_hour"}[self.variable]
        values = [getattr(v, field_of) for v in self.variants]
        if any(v is None or v == "" for v in values):
            raise ValueError(f"a {self.variable} test needs a {field_of} on every variant")
        if len(set(values)) != len(values):
            raise ValueError(f"the variants' {field_of}s must all differ (that is what the test compares)")
        if self.variable != "subject" and not self.subject:
            raise ValueError("subject: give the subject line the variants share")
        if self.variable == "send_time" and self.min_hours < 24:
            raise ValueError("a send_time test needs min_hours >= 24, so every variant's hour has come and had time to be read")
        return self


def parse_input(data: dict[str, Any]) -> AbTestInput:
    """Validate; the error names each bad field and its fix."""
    try:
        return AbTestInput.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'test'}: {e['msg']}" for e in exc.errors())
        raise AbTestError(problems) from None


# --- creating -----------------------------------------------------------------------------------


def assignment_order(test_id: int, contact_ids: list[int]) -> list[int]:
    """The contacts in the test's seeded random order: sha256 of (test id, contact id), so a re-run gives the same cells."""
    return sorted(contact_ids, key=lambda cid: (hashlib.sha256(f"ab-test:{test_id}:{cid}".encode()).hexdigest(), cid))


def audience(session: Session, merchant_id: str, segment: Segment, now: datetime) -> list[int]:
    """Contacts of the segment that can be emailed: subscribed, not suppressed, one contact per address (the lowest id)."""
    rows = session.execute(segment_rules.contacts_query(merchant_id, segment.rules, now, subscribed_only=True)
                           .with_only_columns(Contact.id, Contact.email).order_by(Contact.id)).all()
    suppressed = suppressed_emails(session, merchant_id, (r.email for r in rows))
    seen: set[str] = set()
    out = []
    for r in rows:
        address = normalise_email(r.email)
        if address in seen or address in suppressed:
            continue
        seen.add(address)
        out.append(r.id)
    return out


def create_ab_test(session: Session, merchant_id: str, data: AbTestInput | dict[str, Any], actor: str, now: datetime | None = None) -> AbTest:
    """A DRAFT test: its variant email campaigns and every audience contact's cell, in the caller's transaction."""
    now = now or utcnow()
    spec = data if isinstance(data, AbTestInput) else parse_input(data)
    segment = session.scalar(select(Segment).where(Segment.merchant_id == merchant_id, Segment.id == spec.segment_id))
    if segment is None:
        raise AbTestError(f"segment: no segment {spec.segment_id} for merchant {merchant_id!r}; save one in the app's Audiences page first")
    people = audience(session, merchant_id, segment, now)
    needed = spec.cell_size * len(spec.variants)
    if needed > len(people):
        raise AbTestError(f"cell_size: {len(spec.variants)} cells of {spec.cell_size} need {needed} contacts but segment {segment.name!r} has "
                          f"{len(people)} emailable ones; lower the cell size to at most {len(people) // len(spec.variants)}")
    config = {"alpha": spec.alpha, "max_hours": spec.max_hours, "fallback": spec.fallback, "send_window_hours": spec.send_window_hours}
    test = AbTest(merchant_id=merchant_id, campaign_id=spec.campaign_id, segment_id=segment.id, name=spec.name, variable=spec.variable,
                  metric=spec.metric, cell_size=spec.cell_size, decision_rule=spec.rule, threshold=spec.threshold, min_hours=spec.min_hours,
                  status=DRAFT, decision={"config": config})
    session.add(test)
    session.flush()
    for position, v in enumerate(spec.variants):
        label = v.label or f"{'ABCDEFGH'[position]}{' (control)' if position == 0 else ''}"
        try:
            ec = broadcasts.create_email_campaign(session, merchant_id, campaign_id=spec.campaign_id, segment_id=segment.id,
                                                subject=v.subject or spec.subject, actor=actor, template_name=v.template or spec.template,
                                                preview_text=v.preview_text if v.preview_text is not None else spec.preview_text)
        except EmailDeliveryError as exc:
            raise AbTestError(f"variants.{position}: {exc}") from None
        ec.kind, ec.ab_test_id = "ab_variant", test.id
        session.add(AbTestVariant(merchant_id=merchant_id, ab_test_id=test.id, position=position, label=label, email_campaign_id=ec.id,
                                  send_hour=v.send_hour))
    ordered = assignment_order(test.id, people)
    rows = [{"merchant_id": merchant_id, "ab_test_id": test.id, "contact_id": cid, "position": i // spec.cell_size if i < needed else None}
            for i, cid in enumerate(ordered)]
    for start in range(0, len(rows), 1000):
        session.execute(insert(AbTestAssignment), rows[start : start + 1000])
    session.flush()
    record(session, merchant_id, actor, "ab.create", "ab_test", str(test.id), variable=spec.variable, metric=spec.metric, rule=spec.rule,
           threshold=spec.threshold, cells=len(spec.variants), cell_size=spec.cell_size, remainder=len(people) - needed, **config)
    return test


def get_test(session: Session, merchant_id: str, test_id: int) -> AbTest:
    test = session.scalar(select(AbTest).where(AbTest.merchant_id == merchant_id, AbTest.id == test_id))
    if test is None:
        raise LookupError(f"no A/B test {test_id} for merchant {merchant_id!r}; create one with `campaigns email ab-create`")
    return test


def variants_of(session: Session, test: AbTest) -> list[AbTestVariant]:
    return list(session.scalars(select(AbTestVariant).where(AbTestVariant.ab_test_id == test.id).order_by(AbTestVariant.position)))


# --- recipients and send times (the selection prepare_send snapshots) -------------------------------------


class AbRecipients:
    """The `RecipientSelection` of an A/B test's email campaigns: a cell's assigned contacts (ab_variant) or the remainder (ab_remainder).

    Copies are due at the variant's local hour (send-time tests), at each contact's best hour (a remainder
    with a send window), or now.
    """

    def contacts(self, session: Session, ec: EmailCampaign, now: datetime) -> Select:
        if ec.kind not in AB_KINDS or ec.ab_test_id is None:
            raise AbTestError(f"email campaign {ec.id} is {ec.kind} but belongs to no A/B test")
        query = select(Contact).join(AbTestAssignment, and_(AbTestAssignment.contact_id == Contact.id, AbTestAssignment.ab_test_id == ec.ab_test_id)
                                     ).where(Contact.merchant_id == ec.merchant_id)
        if ec.kind == "ab_remainder":
            return query.where(AbTestAssignment.position.is_(None))
        variant = session.scalar(select(AbTestVariant).where(AbTestVariant.email_campaign_id == ec.id))
        if variant is None:
            raise AbTestError(f"email campaign {ec.id} is an A/B variant with no variant row")
        return query.where(AbTestAssignment.position == variant.position)

    def send_times(self, session: Session, ec: EmailCampaign, contacts: list[tuple[int, str | None]], now: datetime,
                   capacity: int | None) -> dict[int, datetime]:
        if ec.kind == "ab_variant":
            variant = session.scalar(select(AbTestVariant).where(AbTestVariant.email_campaign_id == ec.id))
            if variant is not None and variant.send_hour is not None:
                return send_times.plan_fixed_hour(contacts, now, variant.send_hour, capacity)
        if ec.send_window_hours:
            return send_times.plan_optimised(session, ec.merchant_id, contacts, now, ec.send_window_hours, capacity)
        return {}


AB_RECIPIENTS = AbRecipients()


# --- starting ---------------------------------------------------------------------------------------


def start_ab_test(session: Session, merchant_id: str, test_id: int, actor: str, now: datetime | None = None, provider: str | None = None) -> AbTest:
    """Prepare every cell (DRAFT -> TESTING); the clock of min_hours starts when the last cell's copies are due."""
    now = now or utcnow()
    test = get_test(session, merchant_id, test_id)
    moved = session.execute(update(AbTest).where(AbTest.id == test.id, AbTest.status == DRAFT).values(status=TESTING, updated_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    session.refresh(test)
    if moved != 1:
        if test.status == CANCELLED:
            raise AbTestError(f"A/B test {test.id} was cancelled; create a new one")
        return test  # already started
    for variant in variants_of(session, test):
        recipients.prepare_send(session, merchant_id, variant.email_campaign_id, actor, now=now, provider=provider, recipients=AB_RECIPIENTS)
    due = session.scalar(select(func.max(EmailSend.next_attempt_at)).join(AbTestVariant, AbTestVariant.email_campaign_id == EmailSend.email_campaign_id)
                         .where(AbTestVariant.ab_test_id == test.id))
    started = max(_utc(due), now) if due is not None else now
    test.decision = {**test.decision, "started_at": started.isoformat()}
    record(session, merchant_id, actor, "ab.start", "ab_test", str(test.id), before=DRAFT, after=TESTING, started_at=started.isoformat())
    session.flush()
    return test


def launch_ab_test(session: Session, merchant_id: str, data: AbTestInput | dict[str, Any], actor: str, now: datetime | None = None,
                   provider: str | None = None) -> AbTest:
    """Create the test and start it in the caller's transaction: both happen, or (on a refusal) neither."""
    test = create_ab_test(session, merchant_id, data, actor, now=now)
    return start_ab_test(session, merchant_id, test.id, actor, now=now, provider=provider)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- measuring --------------------------------------------------------------------------------------


def cell_data(session: Session, test: AbTest) -> list[abtest.CellData]:
    """Per variant: delivered copies (SENT rows) and, among those recipients, who did the metric (or their revenue)."""
    kind = EVENT_OF_METRIC[test.metric]
    cells = []
    for variant in variants_of(session, test):
        ec_id = variant.email_campaign_id
        sent = [EmailSend.merchant_id == test.merchant_id, EmailSend.email_campaign_id == ec_id, EmailSend.status == EmailSendStatus.SENT]
        n = int(session.scalar(select(func.count()).select_from(EmailSend).where(*sent)) or 0)
        joined = (and_(EmailSend.email_campaign_id == ContactEvent.email_campaign_id, EmailSend.contact_id == ContactEvent.contact_id))
        events = [ContactEvent.merchant_id == test.merchant_id, ContactEvent.email_campaign_id == ec_id, ContactEvent.kind == kind]
        if test.metric == "revenue":
            per_contact = session.execute(select(ContactEvent.contact_id, func.sum(ContactEvent.value)).join(EmailSend, joined)
                                          .where(*events, *sent).group_by(ContactEvent.contact_id)).all()
            values = [float(v or 0) for _, v in per_contact]
            cells.append(abtest.CellData(variant.position, variant.label, n, len(values), sum(values), sum(v * v for v in values)))
        else:
            k = int(session.scalar(select(func.count(func.distinct(ContactEvent.contact_id))).join(EmailSend, joined).where(*events, *sent)) or 0)
            cells.append(abtest.CellData(variant.position, variant.label, n, min(k, n)))
    return cells


def rule_in_words(test: AbTest) -> str:
    config = test.decision.get("config", {})
    metric = {"open": "open rate", "click": "click rate", "conversion": "conversion rate", "revenue": "revenue per recipient"}[test.metric]
    if test.decision_rule == "bayesian":
        prior = "uniform Beta(1, 1) prior" if test.metric != "revenue" else "normal approximation of the mean"
        rule = (f"Bayesian ({prior}) on {metric}: a variant wins when P(beats control) >= {test.threshold:g}; the control wins when every "
                f"variant's P(beats control) <= {1 - test.threshold:.3g}")
    else:
        rule = (f"sequential mixture SPRT on {metric} at alpha {config.get('alpha', 0.05):g} (Bonferroni over the variants): a variant wins "
                f"when it is ahead and its likelihood ratio reaches (variants / alpha)")
    fallback = "the variant with the highest posterior mean" if config.get("fallback", "best_mean") == "best_mean" else "the control"
    return (f"{rule}. Decided no earlier than {test.min_hours} h after the cells were due; after {config.get('max_hours', 72)} h without "
            f"a conclusive result, {fallback} is sent to the rest.")


def evaluate(session: Session, test: AbTest, now: datetime) -> abtest.Decision:
    """The rule applied to the cells as they stand now (nothing stored)."""
    config = test.decision.get("config", {})
    started = datetime.fromisoformat(test.decision["started_at"]) if test.decision.get("started_at") else None
    elapsed = (now - started) if started else timedelta(0)
    decision = abtest.decide(cell_data(session, test), test.metric, test.decision_rule, test.threshold, config.get("alpha", 0.05),
                             max_wait_reached=started is not None and elapsed >= timedelta(hours=config.get("max_hours", 72)),
                             fallback=config.get("fallback", "best_mean"))
    if started is None:
        return replace(decision, outcome="wait", winner_position=None, reason="the test has not started; run `campaigns email ab-create ... --start`")
    if elapsed < timedelta(hours=test.min_hours):
        return replace(decision, outcome="wait", winner_position=None,
                       reason=f"the minimum wait of {test.min_hours} h after the cells were due has not passed "
                              f"({elapsed.total_seconds() / 3600:.1f} h so far)")
    open_rows = session.scalar(select(func.count()).select_from(EmailSend).join(AbTestVariant, AbTestVariant.email_campaign_id == EmailSend.email_campaign_id)
                               .where(AbTestVariant.ab_test_id == test.id, EmailSend.status.in_((EmailSendStatus.PENDING, EmailSendStatus.SENDING))))
    if open_rows:
        return replace(decision, outcome="wait", winner_position=None, reason=f"{open_rows} copies of the cells are not delivered yet")
    return decision


def decide(session: Session, merchant_id: str, test_id: int, actor: str, now: datetime | None = None) -> abtest.Decision:
    """Evaluate a TESTING test and, when the rule concludes, store the decision (TESTING -> DECIDED, audited). Idempotent."""
    now = now or utcnow()
    test = get_test(session, merchant_id, test_id)
    if test.status in (DECIDED, WINNER_SENT):
        return stored_decision(test)
    if test.status != TESTING:
        raise AbTestError(f"A/B test {test.id} is {test.status}; start it first (`campaigns email ab-create ... --start`)")
    decision = evaluate(session, test, now)
    if decision.outcome == "wait":
        test.decision = {**test.decision, "last_evaluation": {"at": now.isoformat(), "reason": decision.reason}}
        return decision
    stored = {**test.decision, "result": jsonable(decision.to_json()), "decided_by": actor}
    moved = session.execute(update(AbTest).where(AbTest.id == test.id, AbTest.status == TESTING)
                            .values(status=DECIDED, winner_position=decision.winner_position, decided_at=now, decision=stored, updated_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    session.refresh(test)
    if moved != 1:
        return stored_decision(test)  # decided by someone else meanwhile
    record(session, merchant_id, actor, "ab.decide", "ab_test", str(test.id), before=TESTING, after=DECIDED, outcome=decision.outcome,
           winner_position=decision.winner_position, reason=decision.reason,
           p_beat_control={v.label: v.p_beat_control for v in decision.variants}, p_best={v.label: v.p_best for v in decision.variants})
    return decision


def stored_decision(test: AbTest) -> abtest.Decision:
    data = dict(test.decision["result"])
    variants = tuple(abtest.VariantStats(**v) for v in data.pop("variants"))
    return abtest.Decision(**data, variants=variants)


# --- the winner to the rest --------------------------------------------------------------------------


def prepare_winner(session: Session, merchant_id: str, test_id: int, actor: str, now: datetime | None = None,
                   provider: str | None = None) -> int:
    """Create the remainder email campaign once (the winner's subject, preview and body) and prepare it; returns its id."""
    now = now or utcnow()
    # the row lock (PostgreSQL) or the writer lock (SQLite) first: a concurrent call waits, then finds the remainder
    session.execute(update(AbTest).where(AbTest.merchant_id == merchant_id, AbTest.id == test_id).values(updated_at=now)
                    .execution_options(synchronize_session=False))
    test = get_test(session, merchant_id, test_id)
    session.refresh(test)
    if test.status not in (DECIDED, WINNER_SENT) or test.winner_position is None:
        raise AbTestError(f"A/B test {test.id} is {test.status}: no winner yet; run `campaigns email ab-decide {test.id}` first")
    if test.remainder_email_campaign_id is None:
        winner = next(v for v in variants_of(session, test) if v.position == test.winner_position)
        source = broadcasts.get_email_campaign(session, merchant_id, winner.email_campaign_id)
        broadcasts.require_approved(session, source)  # the winner's exact content was approved; the copy carries it
        template = session.get(EmailTemplate, source.template_id) if source.template_id else None
        remainder = broadcasts.create_email_campaign(session, merchant_id, campaign_id=source.campaign_id, segment_id=source.segment_id,
                                                   subject=source.subject, actor=actor, template_name=template.name if template else None,
                                                   preview_text=source.preview_text)
        remainder.kind, remainder.ab_test_id = "ab_remainder", test.id
        remainder.send_window_hours = test.decision.get("config", {}).get("send_window_hours")
        test.remainder_email_campaign_id = remainder.id
        session.flush()
        record(session, merchant_id, actor, "ab.remainder", "ab_test", str(test.id), email_campaign_id=remainder.id, winner=winner.label)
    remainder = broadcasts.get_email_campaign(session, merchant_id, test.remainder_email_campaign_id)
    if remainder.status in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
        recipients.prepare_send(session, merchant_id, remainder.id, actor, now=now, provider=provider, recipients=AB_RECIPIENTS)
    return remainder.id


@dataclass(frozen=True)
class WinnerSend:
    test_id: int
    email_campaign_id: int
    report: delivery.DeliveryReport
    status: str


def send_winner(url: str, settings: Settings, merchant_id: str, test_id: int, worker_id: str, now: datetime | None = None, *,
                provider: str | None = None, **deliver_kwargs: Any) -> WinnerSend:
    """Prepare the remainder (one transaction), then deliver it exactly once; WINNER_SENT when every copy is settled."""
    now = now or utcnow()
    provider = provider or settings.email_provider
    with session_scope(url) as session:
        ec_id = prepare_winner(session, merchant_id, test_id, worker_id, now, provider)
    report = delivery.deliver(url, settings, ec_id, worker_id, now, merchant_id=merchant_id, provider=provider, **deliver_kwargs)
    with session_scope(url) as session:
        if report.campaign_status == EmailCampaignStatus.SENT.value:
            done = session.execute(update(AbTest).where(AbTest.id == test_id, AbTest.status == DECIDED).values(status=WINNER_SENT, updated_at=now)
                                   .execution_options(synchronize_session=False)).rowcount
            if done:
                record(session, merchant_id, worker_id, "ab.winner_sent", "ab_test", str(test_id), before=DECIDED, after=WINNER_SENT,
                       email_campaign_id=ec_id, **report.stats)
        status = get_test(session, merchant_id, test_id).status
    return WinnerSend(test_id, ec_id, report, status)


def deliver_cells(url: str, settings: Settings, merchant_id: str, test_id: int, worker_id: str, now: datetime | None = None, *,
                  provider: str | None = None, on_progress: Callable[[int], None] | None = None, **deliver_kwargs: Any) -> list[delivery.DeliveryReport]:
    """Send the due copies of every cell (copies planned for a later hour wait for a later run)."""
    with session_scope(url) as session:
        ids = [v.email_campaign_id for v in variants_of(session, get_test(session, merchant_id, test_id))]
    return [delivery.deliver(url, settings, ec_id, worker_id, now, merchant_id=merchant_id, provider=provider or settings.email_provider,
                             on_progress=on_progress, **deliver_kwargs) for ec_id in ids]


def tests_to_run(session: Session) -> list[tuple[str, int, str]]:
    """(merchant, test, status) of every test the pipeline must move on: TESTING (deliver, decide) and DECIDED (send the winner)."""
    return [(r.merchant_id, r.id, r.status) for r in session.execute(
        select(AbTest.merchant_id, AbTest.id, AbTest.status).where(AbTest.status.in_((TESTING, DECIDED))).order_by(AbTest.id))]


# --- the report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbReport:
    test_id: int
    name: str
    status: str
    variable: str
    metric: str
    rule: str  # in words
    decision: abtest.Decision  # stored when decided, else the current evaluation
    decided: bool
    email_campaigns: dict[int, int]  # position -> email campaign id
    remainder_email_campaign_id: int | None
    remainder_size: int

    def to_json(self) -> dict[str, Any]:
        return jsonable({"test_id": self.test_id, "name": self.name, "status": self.status, "variable": self.variable, "metric": self.metric,
                         "rule": self.rule, "decided": self.decided, "decision": self.decision.to_json(),
                         "email_campaigns": {str(k): v for k, v in self.email_campaigns.items()},
                         "remainder_email_campaign_id": self.remainder_email_campaign_id, "remainder_size": self.remainder_size})


def report(session: Session, merchant_id: str, test_id: int, now: datetime | None = None) -> AbReport:
    now = now or utcnow()
    test = get_test(session, merchant_id, test_id)
    decided = test.status in (DECIDED, WINNER_SENT)
    decision = stored_decision(test) if decided else evaluate(session, test, now)
    remainder = int(session.scalar(select(func.count()).select_from(AbTestAssignment).where(
        AbTestAssignment.ab_test_id == test.id, AbTestAssignment.position.is_(None))) or 0)
    return AbReport(test.id, test.name, test.status, test.variable, test.metric, rule_in_words(test), decision, decided,
                    {v.position: v.email_campaign_id for v in variants_of(session, test)}, test.remainder_email_campaign_id, remainder)


def list_tests(session: Session, merchant_id: str) -> list[AbTest]:
    return list(session.scalars(select(AbTest).where(AbTest.merchant_id == merchant_id).order_by(AbTest.id.desc())))
