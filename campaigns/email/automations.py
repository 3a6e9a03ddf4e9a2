"""Automation workflows: their definitions and lifecycle (create, activate, pause, archive) and what they show.

The flow definition (trigger, start, steps) is described and validated in
`campaigns.email.flows`. Stored on `automations`: ``trigger`` and ``steps`` =
``{"start": ..., "steps": {...}, "emails": {step id: email campaign id}}`` (``emails`` is
filled on activation).

Contacts are enrolled on the trigger by `campaigns.email.automation_triggers` and walked through the
flow, one step exactly once, by `campaigns.email.automation_runner`. A PAUSED automation's
enrollments wait; an ARCHIVED automation's open enrollments are EXITED.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from campaigns.audiences import segments
from campaigns.content.approvals import AUTHOR_NOTE
from campaigns.core.audit import record
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import Automation, AutomationEnrollment, AutomationStepRun, EmailCampaign, EmailTemplate
from campaigns.core.store.types import utcnow
from campaigns.email import broadcasts
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.flows import Flow, SendEmailStep, validate_flow
from campaigns.email.rendering import render_campaign, template_body

DRAFT, ACTIVE, PAUSED, ARCHIVED = "DRAFT", "ACTIVE", "PAUSED", "ARCHIVED"
# enrollment states
RUNNING, WAITING, COMPLETED, EXITED, FAILED = "ACTIVE", "WAITING", "COMPLETED", "EXITED", "FAILED"
OPEN = (RUNNING, WAITING)
KIND_AUTOMATION = "automation"


class AutomationError(ValueError):
    """A request the automation's state or definition does not allow; the message names the fix."""


class AutomationNotFoundError(LookupError):
    pass


def zone_of(name: str | None) -> ZoneInfo:
    """A contact's time zone; UTC when unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


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
    html = template_body(template)  # as sending renders it: a base-layout footer carries the unsubscribe link
    try:
        render_campaign(step.subject or "", step.preview_text, html, merchant_name)
    except EmailDeliveryError as exc:
        raise AutomationError(f"{path}: {exc}") from None
    ec = EmailCampaign(merchant_id=merchant_id, campaign_id=None, segment_id=None, template_id=template.id if template else None,
                       subject=(step.subject or "").strip(), preview_text=step.preview_text.strip(), kind=KIND_AUTOMATION,
                       status=EmailCampaignStatus.SENDING)  # recipients arrive one enrollment at a time, never from a segment
    session.add(ec)
    session.flush()
    record(session, merchant_id, actor, "email.create", "email_campaign", str(ec.id), kind=KIND_AUTOMATION, automation_id=automation.id,
           step=step_id, template=step.template, subject=ec.subject)
    # the person activating chose this subject and template: like `campaigns email create`, that counts as their approval
    broadcasts.approve_email_campaign(session, merchant_id, ec.id, actor, note=AUTHOR_NOTE)
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
    return broadcasts.is_approved(session, ec)  # the one definition of "approved" for emails lives in broadcasts


def approve_emails(session: Session, merchant_id: str, automation_id: int, actor: str, note: str = "") -> list[int]:
    """Approve the current subject and body of every email the automation sends (after reviewing them)."""
    automation = get_automation(session, merchant_id, automation_id)
    ids = sorted(set(email_campaign_ids(automation).values()))
    for ec_id in ids:
        broadcasts.approve_email_campaign(session, merchant_id, ec_id, actor, note)
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
