"""A campaign's email campaigns as its status changes: what its pause holds, what its resume may still send, what its end cancels.

The hold itself is the work queue's rule (`campaigns.core.queue.not_held`): delivery never claims a send
of a PAUSED campaign. These functions list, cancel and reschedule what has not gone out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.queue import QueuedItem
from campaigns.core.store.models import EmailCampaign, EmailSend, EmailSendStatus

OPEN = (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED, EmailCampaignStatus.SENDING)
GRACE = timedelta(hours=1)  # an email without a send window may still go out this late


def _open(session: Session, merchant_id: str, campaign_id: str, ids: Sequence[int] | None = None) -> list[EmailCampaign]:
    query = select(EmailCampaign).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.campaign_id == campaign_id,
                                        EmailCampaign.status.in_(OPEN))
    if ids is not None:
        query = query.where(EmailCampaign.id.in_(list(ids)))
    return list(session.scalars(query.order_by(EmailCampaign.id)))


def campaign_emails(session: Session, merchant_id: str, campaign_id: str) -> list[QueuedItem]:
    """The campaign's email campaigns still to go out: SCHEDULED ones, and SENDING ones with recipients PENDING.

    An email's moment lasts its send window (`send_window_hours`) from its first planned send, or an hour without one;
    a broadcast sent "now" (no time planned) has no moment to miss and continues when the campaign resumes.
    """
    items = []
    for ec in _open(session, merchant_id, campaign_id):
        if ec.status is EmailCampaignStatus.DRAFT:
            continue
        pending, first = session.execute(select(func.count(), func.min(EmailSend.next_attempt_at)).where(
            EmailSend.email_campaign_id == ec.id, EmailSend.status == EmailSendStatus.PENDING)).one()
        if ec.status is EmailCampaignStatus.SENDING and not pending:
            continue
        due = ec.scheduled_at or first
        window = timedelta(hours=ec.send_window_hours) if ec.send_window_hours else GRACE
        label = f"email {ec.id}: {ec.subject[:60]}" + (f" ({pending} recipients waiting)" if pending else "")
        items.append(QueuedItem("email", ec.id, due, label, None if due is None else due + window))
    return items


def cancel_campaign_emails(session: Session, merchant_id: str, campaign_id: str, reason: str, actor: str,
                           ids: Sequence[int] | None = None) -> int:
    """Cancel the campaign's email campaigns not yet sent (or only `ids`) and their PENDING recipients, with `reason`; returns how many."""
    cancelled = []
    for ec in _open(session, merchant_id, campaign_id, ids):
        session.execute(update(EmailSend).where(EmailSend.email_campaign_id == ec.id, EmailSend.status == EmailSendStatus.PENDING,
                                                EmailSend.claimed_by.is_(None))
                        .values(status=EmailSendStatus.CANCELLED, reason_code="campaign_ended", reason=reason)
                        .execution_options(synchronize_session=False))
        before = ec.status
        ec.status = EmailCampaignStatus.CANCELLED
        record(session, merchant_id, actor, "email.cancel", "email_campaign", str(ec.id), before=before.value, reason=reason)
        cancelled.append(ec.id)
    session.flush()
    return len(cancelled)


def reschedule_campaign_emails(session: Session, merchant_id: str, campaign_id: str, ids: Sequence[int], at: datetime, actor: str) -> int:
    """Move the campaign's email campaigns `ids` to `at`: a SCHEDULED one's time, a SENDING one's PENDING recipients."""
    moved = 0
    for ec in _open(session, merchant_id, campaign_id, ids):
        if ec.status is EmailCampaignStatus.DRAFT:
            continue
        if ec.status is EmailCampaignStatus.SCHEDULED:
            ec.scheduled_at = at
        session.execute(update(EmailSend).where(EmailSend.email_campaign_id == ec.id, EmailSend.status == EmailSendStatus.PENDING)
                        .values(next_attempt_at=at).execution_options(synchronize_session=False))
        record(session, merchant_id, actor, "email.reschedule", "email_campaign", str(ec.id), at=at.isoformat())
        moved += 1
    session.flush()
    return moved
