"""Automation triggers: every contact whose trigger happened since its automation's activation is enrolled, once.

Each enrolled contact is a row of ``automation_enrollments`` (ACTIVE at the flow's start step), run
by `campaigns.email.automation_runner`. Triggers: signup (a new contact or a ``signed_up`` event), a
tag added, a purchase (optionally above a value), and a date field (yearly or once, at a local hour).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Integer, String, cast, literal, select, true
from sqlalchemy.orm import Session

from campaigns.core.store.db import dialect_insert as _insert
from campaigns.core.store.db import with_session as _with_session
from campaigns.core.store.models import Automation, AutomationEnrollment, Contact, ContactEvent
from campaigns.core.store.types import UTCDateTime, utcnow
from campaigns.email.automations import ACTIVE, RUNNING, flow_of, zone_of
from campaigns.email.flows import DateFieldTrigger, Flow, FlowError, PurchaseTrigger, SignupTrigger, TagAddedTrigger

log = logging.getLogger(__name__)

DATE_CATCH_UP = timedelta(days=1)  # a date trigger missed by a stopped pipeline still fires within a day


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
            Contact.merchant_id == automation.merchant_id, Contact.created_at >= since, Contact.created_at <= now,
            Contact.status == "active"))  # a pending sign-up enrols when confirmed, through its signed_up event
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
        for day, moment in date_occurrences((attributes or {}).get(trigger.field), trigger, zone_of(zone_name), now):
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


