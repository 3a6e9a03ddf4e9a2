"""Publishing: every minute, a sensor looks for due posts and runs the publishing job when there are some.

A sensor rather than a bare schedule, so an idle queue costs one cheap query a minute
instead of a run a minute. The job itself is the exactly-once worker of the social queue.
"""

import os
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import func, select

from pipelines.resources import CampaignsResource


@dg.op(description="Publish every approved post that is due; what may have posted is reconciled, never re-sent.")
def publish_due_posts(context: dg.OpExecutionContext, campaigns: CampaignsResource) -> dg.Output:
    from campaigns.social.worker import run_worker

    settings = campaigns.settings()
    report = run_worker(settings, worker_id=f"dagster-{context.run_id[:8]}-{os.getpid()}", live=settings.publish_mode == "live")
    context.log.info(f"{settings.publish_mode}: {report.summary()}")
    return dg.Output(None, metadata={"mode": settings.publish_mode, **{k.lower(): v for k, v in report.counts().items()}})


@dg.job(description="Drain the social queue once.", executor_def=dg.in_process_executor)
def publish_due_job():
    publish_due_posts()


def due_count(campaigns: CampaignsResource, now: datetime) -> int:
    from campaigns.core.enums import QueueStatus
    from campaigns.core.store.db import migrate, session_scope
    from campaigns.core.store.models import SocialQueueItem

    settings = campaigns.settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as session:
        return session.scalar(
            select(func.count()).select_from(SocialQueueItem).where(
                SocialQueueItem.status == QueueStatus.QUEUED, SocialQueueItem.scheduled_at <= now
            )
        ) or 0


@dg.sensor(job=publish_due_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: run the publishing job when approved posts are due.")
def due_posts_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    now = datetime.now(UTC)
    due = due_count(campaigns, now)
    if not due:
        return dg.SkipReason("no post is due")
    # one run per minute at most: the run key is the minute
    return dg.RunRequest(run_key=now.strftime("publish-%Y%m%dT%H%M"), tags={"campaigns/due": str(due)})
