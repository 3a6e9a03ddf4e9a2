"""When a broadcast goes out: send it now, schedule it for later, take the schedule back, and start the ones whose time has come.

* **Send now** checks the provider's configuration, then snapshots the recipients (`recipients.prepare_send`,
  the same as `campaigns email send` and the API); the email job (`pipelines/email_sends.py`) delivers each once.
* **Schedule** moves a DRAFT broadcast to SCHEDULED at a future instant; nothing is snapshotted yet, so the
  recipients are the segment as it is when the time comes.
* **Due**: `start_due_broadcasts`, called by the email job on every run, snapshots each SCHEDULED broadcast whose
  time has come (its campaign not paused); prepare_send claims the DRAFT/SCHEDULED -> SENDING transition with one
  conditional UPDATE, so two overlapping runs start it once, and the ledger sends each recipient once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.content.approvals import NotApprovedError
from campaigns.core import queue
from campaigns.core.audit import record
from campaigns.core.enums import CampaignStatus, EmailCampaignStatus
from campaigns.core.merchants import require_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Campaign, EmailCampaign
from campaigns.core.store.types import utcnow
from campaigns.email import config
from campaigns.email.broadcasts import get_email_campaign, require_approved
from campaigns.email.errors import EmailDeliveryError, EmailFieldError
from campaigns.email.recipients import BROADCAST, PrepareResult, prepare_send, segment_contacts
from campaigns.email.rendering import render_campaign, template_html

MAX_AHEAD = timedelta(days=366)  # a schedule further out is almost surely a typo in the year
ENDED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


def _sendable(session: Session, ec: EmailCampaign) -> None:
    """A broadcast whose segment exists, whose campaign has not ended, and whose current version is approved and renders."""
    if ec.kind != BROADCAST:
        raise EmailDeliveryError(f"email campaign {ec.id} is {ec.kind}: it is sent by its A/B test or automation, not scheduled here")
    if ec.segment_id is None:
        raise EmailFieldError("segment", f"email campaign {ec.id} has no segment (it was deleted?); create the email again with a segment")
    segment_contacts(session, ec.merchant_id, ec.segment_id, utcnow())
    if ec.campaign_id is not None:
        status = session.scalar(select(Campaign.status).where(Campaign.merchant_id == ec.merchant_id, Campaign.id == ec.campaign_id))
        if status in ENDED:
            raise EmailDeliveryError(f"campaign {ec.campaign_id} is {status.value}, which is final: its emails are not sent any more")
    render_campaign(ec.subject, ec.preview_text, template_html(session, ec), require_merchant(session, ec.merchant_id).name)
    require_approved(session, ec)


def schedule_broadcast(session: Session, merchant_id: str, email_campaign_id: int, at: datetime, actor: str,
                       now: datetime | None = None) -> EmailCampaign:
    """A DRAFT (or already SCHEDULED) broadcast goes out at `at` (timezone-aware, in the future); audited."""
    now = now or utcnow()
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    if ec.status not in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
        raise EmailDeliveryError(f"email campaign {ec.id} is {ec.status.value}; only a DRAFT or SCHEDULED one can be scheduled")
    if at.tzinfo is None:
        raise EmailFieldError("send_at", "send at: give the time with its time zone (the merchant's)")
    if at <= now:
        raise EmailFieldError("send_at", f"send at {at:%Y-%m-%d %H:%M %Z} is not in the future; pick a later time, or send now")
    if at > now + MAX_AHEAD:
        raise EmailFieldError("send_at", f"send at {at:%Y-%m-%d}: at most a year ahead; check the year")
    _sendable(session, ec)
    before, ec.status, ec.scheduled_at = ec.status, EmailCampaignStatus.SCHEDULED, at
    record(session, merchant_id, actor, "email.schedule", "email_campaign", str(ec.id), before=before.value, after=ec.status.value,
           at=at.isoformat())
    session.flush()
    return ec


def unschedule_broadcast(session: Session, merchant_id: str, email_campaign_id: int, actor: str) -> EmailCampaign:
    """A SCHEDULED broadcast goes back to DRAFT: it will not go out on its own; audited."""
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    if ec.status is not EmailCampaignStatus.SCHEDULED:
        raise EmailDeliveryError(f"email campaign {ec.id} is {ec.status.value}, not SCHEDULED; there is no schedule to take back")
    at, ec.status, ec.scheduled_at = ec.scheduled_at, EmailCampaignStatus.DRAFT, None
    record(session, merchant_id, actor, "email.unschedule", "email_campaign", str(ec.id), before="SCHEDULED", after="DRAFT",
           at=at.isoformat() if at else None)
    session.flush()
    return ec


def send_now(session: Session, settings: Settings, merchant_id: str, email_campaign_id: int, actor: str,
             now: datetime | None = None) -> PrepareResult:
    """Snapshot the recipients now (after checking the provider's configuration); the email job then delivers each once."""
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    if ec.status in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
        _sendable(session, ec)
    provider = settings.email_provider
    config.check_config(settings, provider, require_merchant(session, merchant_id).name)  # a send that could not start takes no snapshot
    return prepare_send(session, merchant_id, ec.id, actor, now=now, provider=provider)


def due_scheduled(session: Session, now: datetime) -> list[tuple[str, int]]:
    """(merchant, email campaign) of SCHEDULED broadcasts whose time has come, their campaign not paused."""
    rows = session.execute(
        select(EmailCampaign.merchant_id, EmailCampaign.id)
        .where(EmailCampaign.status == EmailCampaignStatus.SCHEDULED, EmailCampaign.kind == BROADCAST, EmailCampaign.scheduled_at <= now,
               queue.not_held(EmailCampaign.campaign_id))
        .order_by(EmailCampaign.scheduled_at, EmailCampaign.id)
    ).all()
    return [(merchant_id, ec_id) for merchant_id, ec_id in rows]


@dataclass
class StartReport:
    started: list[int] = field(default_factory=list)  # email campaigns moved to SENDING by this call
    problems: list[str] = field(default_factory=list)  # due ones that could not start, each naming the fix (they stay SCHEDULED)


def start_due_broadcasts(store_url: str, settings: Settings, now: datetime, actor: str) -> StartReport:
    """Snapshot every due SCHEDULED broadcast, each in its own transaction; one that cannot start does not stop the others."""
    report = StartReport()
    with session_scope(store_url) as session:
        due = due_scheduled(session, now)
    for merchant_id, ec_id in due:
        try:
            with session_scope(store_url) as session:
                ec = get_email_campaign(session, merchant_id, ec_id)
                if ec.status is not EmailCampaignStatus.SCHEDULED:
                    continue  # taken back or started since the list was read
                config.check_config(settings, settings.email_provider, require_merchant(session, merchant_id).name)
                result = prepare_send(session, merchant_id, ec_id, actor, now=now, provider=settings.email_provider)
        except (EmailDeliveryError, NotApprovedError, LookupError) as exc:
            report.problems.append(f"scheduled email campaign {ec_id} of {merchant_id} did not start: {exc}")
            continue
        if result.added:
            report.started.append(ec_id)
    return report
