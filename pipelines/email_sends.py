"""Broadcast email campaigns still sending: rows held back for a recipient's best hour, and sends a crash left open.

`campaigns email send` sends what is due at once; rows that send-time optimisation planned for
later hours (or that wait for a retry) are sent by this job when their time comes. A/B test
cells and automation emails have their own jobs. Every delivery goes through the exactly-once
ledger, so a run that overlaps the CLI or dies half-way sends nothing twice.
"""

import os
from datetime import UTC, datetime

import dagster as dg

from pipelines.resources import CampaignsResource

BROADCAST = "broadcast"


def due_broadcasts(store_url: str, now: datetime) -> list[tuple[str, int]]:
    """(merchant, email campaign) of SENDING broadcasts with a PENDING row that is due, or a SENDING row (a crashed worker's)."""
    from sqlalchemy import or_, select

    from campaigns.core.enums import EmailCampaignStatus
    from campaigns.core.store.db import session_scope
    from campaigns.core.store.models import EmailCampaign, EmailSend, EmailSendStatus

    due = or_(EmailSend.status == EmailSendStatus.SENDING,
              (EmailSend.status == EmailSendStatus.PENDING) & or_(EmailSend.next_attempt_at.is_(None), EmailSend.next_attempt_at <= now))
    with session_scope(store_url) as session:
        rows = session.execute(
            select(EmailCampaign.merchant_id, EmailCampaign.id).distinct()
            .join(EmailSend, EmailSend.email_campaign_id == EmailCampaign.id)
            .where(EmailCampaign.status == EmailCampaignStatus.SENDING, EmailCampaign.kind == BROADCAST, due)
            .order_by(EmailCampaign.id)
        ).all()
    return [(merchant_id, ec_id) for merchant_id, ec_id in rows]


def deliver_due_broadcasts(campaigns: CampaignsResource, worker_id: str, now: datetime, log=None) -> dict[str, int]:
    from campaigns.email import delivery, errors
    from campaigns.core.store.db import migrate

    settings = campaigns.settings()
    migrate(settings.store_url)
    counts = {"campaigns": 0, "sent": 0, "failed": 0, "stopped": 0}
    for merchant_id, ec_id in due_broadcasts(settings.store_url, now):
        counts["campaigns"] += 1
        try:
            report = delivery.deliver(settings.store_url, settings, ec_id, worker_id, now, merchant_id=merchant_id)
        except errors.EmailDeliveryError as exc:  # configuration gap: say so, carry on with the others
            counts["stopped"] += 1
            if log is not None:
                log.error(f"email campaign {ec_id} of {merchant_id}: {exc}")
            continue
        counts["sent"] += report.outcomes.get("SENT", 0)
        counts["failed"] += report.outcomes.get("FAILED", 0)
        if report.stopped:
            counts["stopped"] += 1
            if log is not None:
                log.warning(f"email campaign {ec_id} of {merchant_id} stopped: {report.stopped}")
    return counts


@dg.op(description="Send the due rows of every broadcast email campaign that is still sending (send-time optimised or retrying).")
def deliver_scheduled_emails(context: dg.OpExecutionContext, campaigns: CampaignsResource) -> dg.Output:
    counts = deliver_due_broadcasts(campaigns, f"dagster-{context.run_id[:8]}-{os.getpid()}", datetime.now(UTC), context.log)
    context.log.info(f"scheduled emails: {counts}")
    return dg.Output(None, metadata=counts)


@dg.job(description="Send broadcast email rows whose planned hour has come.", executor_def=dg.in_process_executor)
def scheduled_emails_job():
    deliver_scheduled_emails()


@dg.sensor(job=scheduled_emails_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: run the email job when a broadcast has rows whose planned hour has come.")
def scheduled_emails_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    now = datetime.now(UTC)
    settings = campaigns.settings()
    from campaigns.core.store.db import migrate

    migrate(settings.store_url)
    due = due_broadcasts(settings.store_url, now)
    if not due:
        return dg.SkipReason("no broadcast email has rows due")
    return dg.RunRequest(run_key=f"scheduled-emails-{now:%Y%m%dT%H%M}", tags={"campaigns/email_campaigns": str(len(due))})
