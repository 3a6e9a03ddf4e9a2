"""Publishing: every minute, a sensor looks for due posts and runs the publishing job when there are some.

A sensor rather than a bare schedule, so an idle queue costs one cheap query a minute
instead of a run a minute. The job itself is the exactly-once worker of the social queue.
"""

from datetime import datetime

from sqlalchemy import func, select

from campaigns.core import queue
from campaigns.core.enums import QueueStatus
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import SocialQueueItem
from campaigns.social.worker import run_worker
from pipelines.work_sensors import WorkResult, work_sensor


def publish_due(settings: Settings, worker_id: str, now: datetime) -> WorkResult:
    """Publish every approved post that is due; what may have posted is reconciled, never re-sent."""
    report = run_worker(settings, worker_id=worker_id, live=settings.publish_mode == "live")
    return WorkResult({"mode": settings.publish_mode, **{k.lower(): v for k, v in report.counts().items()}}, f"{settings.publish_mode}: {report.summary()}")


def due_count(settings: Settings, now: datetime) -> int:
    with session_scope(settings.store_url) as session:
        return session.scalar(
            select(func.count()).select_from(SocialQueueItem).where(
                SocialQueueItem.status == QueueStatus.QUEUED, SocialQueueItem.scheduled_at <= now,
                queue.not_held(SocialQueueItem.campaign_id),  # a paused campaign's posts wait without starting runs
            )
        ) or 0


publishing = work_sensor(
    "publish_due_posts", work=publish_due, pending=due_count, job_name="publish_due_job", sensor_name="due_posts_sensor",
    count_tag="campaigns/due", key_prefix="publish", idle="no post is due",
    description="Drain the social queue once: publish every approved post that is due; what may have posted is reconciled, never re-sent.",
)
publish_due_job, due_posts_sensor = publishing.job, publishing.sensor
