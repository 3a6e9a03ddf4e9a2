"""Campaign workflows (Ava's execution engine): a sensor runs the due steps every minute.

The engine makes each step run exactly once, so a sensor tick that overlaps a slow run
does no harm; the sensor only asks for a run when some workflow is still open.
"""

from datetime import datetime

from sqlalchemy import and_, func, or_, select

from agents.ava.execution import run_due_steps
from campaigns.core.enums import WorkflowStepStatus
from campaigns.core.queue import lease_expired, not_held
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignWorkflow
from campaigns.workflows.engine import DEFAULT_LEASE
from pipelines.work_sensors import WorkResult, work_sensor


def advance_workflows(settings: Settings, worker_id: str, now: datetime) -> WorkResult:
    """Run every due, ready step once; an escalated step needs a person (a warning, not a failed run)."""
    report = run_due_steps(settings.store_url, now)
    counts = report.counts()
    escalated = [f"{run.campaign_id} step {run.step_order} ({run.step_type}) needs a person: {run.detail}"
                 for run in report.runs if run.outcome == "escalated"]
    # outcome counts (done, waiting, retry, escalated, ...) so the Dagster UI shows what needs a person
    return WorkResult({"steps_run": len(report.runs), **{f"steps_{k}": v for k, v in counts.items()}},
                      f"workflow steps run: {len(report.runs)} {counts}", warnings=escalated)


def open_steps(settings: Settings, now: datetime) -> int:
    with session_scope(settings.store_url) as session:
        return session.scalar(
            select(func.count()).select_from(CampaignWorkflow).where(
                or_(CampaignWorkflow.status.in_([WorkflowStepStatus.PENDING, WorkflowStepStatus.WAITING]),
                    # a step whose runner died: the engine takes it over once its lease has run out
                    and_(CampaignWorkflow.status == WorkflowStepStatus.RUNNING, lease_expired(CampaignWorkflow, now, DEFAULT_LEASE))),
                not_held(CampaignWorkflow.campaign_id),  # a paused campaign's steps wait without starting runs
            )
        ) or 0


workflows = work_sensor(
    "run_workflow_steps", work=advance_workflows, pending=open_steps, job_name="workflow_job", sensor_name="workflow_sensor",
    count_tag="campaigns/open_steps", key_prefix="workflows", idle="no open workflow step",
    description="Advance campaign workflows once: run every due, ready step of every active workflow.",
)
workflow_job, workflow_sensor = workflows.job, workflows.sensor
