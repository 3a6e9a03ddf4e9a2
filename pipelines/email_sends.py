"""Broadcast email campaigns still sending: rows held back for a recipient's best hour, and sends a crash left open.

`campaigns email send` sends what is due at once; rows that send-time optimisation planned for
later hours (or that wait for a retry) are sent by this job when their time comes. A/B test
cells and automation emails have their own jobs. Every delivery goes through the exactly-once
ledger, so a run that overlaps the CLI or dies half-way sends nothing twice.
"""

from datetime import datetime

from sqlalchemy import or_, select

from campaigns.core import queue
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import EmailCampaign, EmailSend, EmailSendStatus
from campaigns.email import delivery, errors
from pipelines.work_sensors import WorkResult, work_sensor

BROADCAST = "broadcast"


def due_broadcasts(store_url: str, now: datetime) -> list[tuple[str, int]]:
    """(merchant, email campaign) of SENDING broadcasts with a PENDING row that is due, or a SENDING row (a crashed worker's)."""
    due = or_(EmailSend.status == EmailSendStatus.SENDING,
              (EmailSend.status == EmailSendStatus.PENDING) & or_(EmailSend.next_attempt_at.is_(None), EmailSend.next_attempt_at <= now))
    with session_scope(store_url) as session:
        rows = session.execute(
            select(EmailCampaign.merchant_id, EmailCampaign.id).distinct()
            .join(EmailSend, EmailSend.email_campaign_id == EmailCampaign.id)
            .where(EmailCampaign.status == EmailCampaignStatus.SENDING, EmailCampaign.kind == BROADCAST, due,
                   queue.not_held(EmailCampaign.campaign_id))  # a paused campaign's rows wait without starting runs
            .order_by(EmailCampaign.id)
        ).all()
    return [(merchant_id, ec_id) for merchant_id, ec_id in rows]


def deliver_due_broadcasts(settings: Settings, worker_id: str, now: datetime) -> WorkResult:
    """Send the due rows of every broadcast still sending; a campaign that cannot send is a problem, the others still go."""
    counts = {"campaigns": 0, "sent": 0, "failed": 0, "stopped": 0}
    problems, warnings = [], []
    for merchant_id, ec_id in due_broadcasts(settings.store_url, now):
        counts["campaigns"] += 1
        try:
            report = delivery.deliver(settings.store_url, settings, ec_id, worker_id, now, merchant_id=merchant_id)
        except errors.EmailDeliveryError as exc:  # a configuration gap: say so, carry on with the others
            counts["stopped"] += 1
            problems.append(f"email campaign {ec_id} of {merchant_id}: {exc}")
            continue
        counts["sent"] += report.outcomes.get("SENT", 0)
        counts["failed"] += report.outcomes.get("FAILED", 0)
        if report.stopped:  # the rest waits for a later run; the reason names the fix
            counts["stopped"] += 1
            warnings.append(f"email campaign {ec_id} of {merchant_id} stopped: {report.stopped}")
    return WorkResult(counts, f"scheduled emails: {counts}", problems=problems, warnings=warnings)


def due_broadcast_count(settings: Settings, now: datetime) -> int:
    return len(due_broadcasts(settings.store_url, now))


scheduled_emails = work_sensor(
    "deliver_scheduled_emails", work=deliver_due_broadcasts, pending=due_broadcast_count, job_name="scheduled_emails_job",
    sensor_name="scheduled_emails_sensor", count_tag="campaigns/email_campaigns", key_prefix="scheduled-emails",
    idle="no broadcast email has rows due",
    description="Send broadcast email rows whose planned hour has come (send-time optimised or retrying).",
)
scheduled_emails_job, scheduled_emails_sensor = scheduled_emails.job, scheduled_emails.sensor
