"""Automation workflows: every minute, a sensor runs the automation job while some automation is active.

The job enrols contacts whose trigger happened, runs every due step once (the engine's
per-step transactions make overlapping runs harmless), then sends the automation emails
those steps queued through the email delivery worker (exactly once per queued row).
"""


import os
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from sqlalchemy import func, select

from pipelines.resources import CampaignsResource


def run_automations_once(settings: Any, now: datetime, worker_id: str) -> dict[str, Any]:
    """Enrol, run due steps, deliver queued emails; returns counts for the run's metadata (callable without Dagster)."""
    from campaigns.email import automation_runner as runner
    from campaigns.email import automation_triggers as triggers
    from campaigns.core.store.db import migrate

    url = settings.store_url
    migrate(url)
    enrolled = triggers.enroll_due(url, now)
    report = runner.run_due(url, now, worker_id)
    emails = runner.deliver_automation_emails(url, settings, worker_id, now)
    sent = sum(e.outcomes.get("SENT", 0) for e in emails)
    problems = [f"email campaign {e.email_campaign_id}: {e.error}" for e in emails if e.error]
    return {"enrolled": enrolled, "claimed": report.claimed, "steps_run": report.steps_run, "completed": report.completed,
            "failed": report.failed, "retried": report.retried, "blocked": report.blocked, "exited": report.exited, "emails_sent": sent,
            "problems": problems, "summary": report.summary()}


@dg.op(description="Enrol triggered contacts, run every due automation step once, send the emails the steps queued.")
def run_automations(context: dg.OpExecutionContext, campaigns: CampaignsResource) -> dg.Output:
    result = run_automations_once(campaigns.settings(), datetime.now(UTC), f"dagster-{context.run_id[:8]}-{os.getpid()}")
    context.log.info(f"automations: {result['enrolled']} enrolled, {result['summary']}, {result['emails_sent']} emails sent")
    for problem in result["problems"]:
        context.log.warning(problem)
    return dg.Output(None, metadata={k: v for k, v in result.items() if k not in ("problems", "summary")} | {"problems": len(result["problems"])})


@dg.job(description="Advance automation workflows once.", executor_def=dg.in_process_executor)
def automations_job():
    run_automations()


def active_automations(campaigns: CampaignsResource) -> int:
    from campaigns.core.store.db import migrate, session_scope
    from campaigns.core.store.models import Automation, AutomationEnrollment

    settings = campaigns.settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as session:
        active = session.scalar(select(func.count()).select_from(Automation).where(Automation.status == "ACTIVE")) or 0
        # an archived automation's open enrollments still need one run to be exited
        to_exit = session.scalar(select(func.count()).select_from(AutomationEnrollment).where(
            AutomationEnrollment.status.in_(("ACTIVE", "WAITING")),
            AutomationEnrollment.automation_id.in_(select(Automation.id).where(Automation.status == "ARCHIVED")))) or 0
        return int(active) + int(to_exit)


@dg.sensor(job=automations_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: run the automation job while some automation is active (triggers are found by the job).")
def automations_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    active = active_automations(campaigns)
    if not active:
        return dg.SkipReason("no active automation")
    now = datetime.now(UTC)
    return dg.RunRequest(run_key=now.strftime("automations-%Y%m%dT%H%M"), tags={"campaigns/automations": str(active)})
