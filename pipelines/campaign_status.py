"""Campaign status: a sensor moves SCHEDULED campaigns to ACTIVE at their start and ACTIVE ones to COMPLETED at their end.

The same function runs from `campaigns campaigns tick` for people who schedule with cron. Each change is a
compare-and-set in its own transaction, so a run that overlaps the CLI (or another run) changes a campaign once.
"""

from datetime import datetime

from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.lifecycle.service import due_changes
from campaigns.workflows.campaign_status import tick
from pipelines.work_sensors import WorkResult, work_sensor


def tick_campaigns(settings: Settings, worker_id: str, now: datetime) -> WorkResult:
    """Apply every due start and end; a campaign that cannot launch (no budget, no dates) is a problem to fix."""
    report = tick(settings.store_url, now)
    counts = {"activated": sum(c.action == "launch" for c in report.changed), "completed": sum(c.action == "complete" for c in report.changed),
              "skipped": report.skipped, "refused": len(report.refused)}
    problems = [f"campaign {campaign_id} could not start: {reason}" for campaign_id, reason in report.refused.items()]
    return WorkResult(counts, "; ".join(c.line() for c in report.changed) or f"campaign status: {counts}", problems=problems)


def due_count(settings: Settings, now: datetime) -> int:
    with session_scope(settings.store_url) as session:
        return len(due_changes(session, now))


campaign_status = work_sensor(
    "tick_campaign_status", work=tick_campaigns, pending=due_count, job_name="campaign_status_job", sensor_name="campaign_status_sensor",
    count_tag="campaigns/due_status_changes", key_prefix="campaign-status", idle="no campaign starts or ends now",
    description="Activate SCHEDULED campaigns at their start and complete ACTIVE ones at their end (audited, once).",
)
campaign_status_job, campaign_status_sensor = campaign_status.job, campaign_status.sensor
