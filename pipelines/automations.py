"""Automation workflows: every minute, a sensor runs the automation job while some automation is active.

The job enrols contacts whose trigger happened, runs every due step once (the engine's
per-step transactions make overlapping runs harmless), then sends the automation emails
those steps queued through the email delivery worker (exactly once per queued row).
"""

from datetime import datetime

from sqlalchemy import func, select

from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Automation, AutomationEnrollment
from campaigns.email import automation_runner as runner
from campaigns.email import automation_triggers as triggers
from pipelines.work_sensors import WorkResult, work_sensor


def run_automations_once(settings: Settings, worker_id: str, now: datetime) -> WorkResult:
    """Enrol, run due steps, deliver queued emails (callable without Dagster; the store must be migrated)."""
    url = settings.store_url
    enrolled = triggers.enroll_due(url, now)
    report = runner.run_due(url, now, worker_id)
    emails = runner.deliver_automation_emails(url, settings, worker_id, now)
    sent = sum(e.outcomes.get("SENT", 0) for e in emails)
    problems = [f"email campaign {e.email_campaign_id}: {e.error}" for e in emails if e.error]
    metadata = {"enrolled": enrolled, "claimed": report.claimed, "steps_run": report.steps_run, "completed": report.completed,
                "failed": report.failed, "retried": report.retried, "blocked": report.blocked, "exited": report.exited, "emails_sent": sent}
    return WorkResult(metadata, f"{enrolled} enrolled, {report.summary()}, {sent} emails sent", problems=problems)


def active_automations(settings: Settings, now: datetime) -> int:
    with session_scope(settings.store_url) as session:
        active = session.scalar(select(func.count()).select_from(Automation).where(Automation.status == "ACTIVE")) or 0
        # an archived automation's open enrollments still need one run to be exited
        to_exit = session.scalar(select(func.count()).select_from(AutomationEnrollment).where(
            AutomationEnrollment.status.in_(("ACTIVE", "WAITING")),
            AutomationEnrollment.automation_id.in_(select(Automation.id).where(Automation.status == "ARCHIVED")))) or 0
        return int(active) + int(to_exit)


automations = work_sensor(
    "run_automations", work=run_automations_once, pending=active_automations, job_name="automations_job", sensor_name="automations_sensor",
    count_tag="campaigns/automations", key_prefix="automations", idle="no active automation",
    description="Advance automation workflows once: enrol triggered contacts, run every due step once, send the emails the steps queued.",
)
automations_job, automations_sensor = automations.job, automations.sensor
