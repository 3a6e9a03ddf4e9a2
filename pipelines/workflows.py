"""Campaign workflows (Ava's execution engine): a sensor runs the due steps every minute.

The engine makes each step run exactly once, so a sensor tick that overlaps a slow run
does no harm; the sensor only asks for a run when some workflow is still open.
"""

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import func, select

from pipelines.resources import CampaignsResource


@dg.op(description="Run every due, ready step of every active campaign workflow once.")
def run_workflow_steps(context: dg.OpExecutionContext, campaigns: CampaignsResource) -> dg.Output:
    from agents.ava.execution import run_due_steps

    report = run_due_steps(campaigns.settings().store_url, datetime.now(UTC))
    counts = report.counts()
    context.log.info(f"workflow steps run: {len(report.runs)} {counts}")
    for run in report.runs:
        if run.outcome == "escalated":
            context.log.warning(f"{run.campaign_id} step {run.step_order} ({run.step_type}) needs a person: {run.detail}")
    # outcome counts (done, waiting, retry, escalated, ...) so the Dagster UI shows what needs a person
    return dg.Output(None, metadata={"steps_run": len(report.runs), **{f"steps_{k}": v for k, v in counts.items()}})


@dg.job(description="Advance campaign workflows once.", executor_def=dg.in_process_executor)
def workflow_job():
    run_workflow_steps()


@dg.sensor(job=workflow_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: advance campaign workflows that have open steps.")
def workflow_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    from campaigns.core.enums import WorkflowStepStatus
    from campaigns.core.store.db import migrate, session_scope
    from campaigns.core.store.models import CampaignWorkflow

    settings = campaigns.settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as session:
        open_steps = session.scalar(
            select(func.count()).select_from(CampaignWorkflow).where(
                CampaignWorkflow.status.in_([WorkflowStepStatus.PENDING, WorkflowStepStatus.WAITING])
            )
        ) or 0
    if not open_steps:
        return dg.SkipReason("no open workflow step")
    now = datetime.now(UTC)
    return dg.RunRequest(run_key=now.strftime("workflows-%Y%m%dT%H%M"), tags={"campaigns/open_steps": str(open_steps)})
