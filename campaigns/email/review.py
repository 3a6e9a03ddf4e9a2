"""People settle what the machine could not: a NEEDS_REVIEW send (it may have gone out) is confirmed sent, closed, or sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.store.models import EmailSend, EmailSendStatus
from campaigns.core.store.types import utcnow
from campaigns.email.broadcasts import campaign_counts, get_email_campaign
from campaigns.email.errors import EmailCampaignNotFoundError, EmailDeliveryError

REVIEW_HINT = "check the provider's activity log, then run `campaigns email review SEND_ID --outcome sent|failed|resend`"


def resolve_review(
    session: Session,
    merchant_id: str,
    send_id: int,
    *,
    outcome: Literal["sent", "failed", "resend"],
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> EmailSend:
    """A person settles a NEEDS_REVIEW row after checking the provider: it went out, it did not and should not, or send it."""
    now = now or utcnow()
    row = session.scalar(select(EmailSend).where(EmailSend.merchant_id == merchant_id, EmailSend.id == send_id))
    if row is None:
        raise EmailCampaignNotFoundError(f"no email send {send_id} for merchant {merchant_id!r}")
    if row.status is not EmailSendStatus.NEEDS_REVIEW:
        raise EmailDeliveryError(f"email send {send_id} is {row.status.value}, not NEEDS_REVIEW; nothing to settle")
    suffix = f" ({note})" if note else ""
    if outcome == "sent":
        row.status, row.reason_code, row.reason, row.sent_at, row.finished_at = EmailSendStatus.SENT, "confirmed", f"confirmed sent by {actor}{suffix}", now, now
    elif outcome == "failed":
        row.status, row.reason_code, row.reason, row.finished_at = EmailSendStatus.FAILED, "closed", f"closed unsent by {actor}{suffix}", now
    elif outcome == "resend":
        row.status, row.reason_code, row.reason = EmailSendStatus.PENDING, "resend", f"resend asked by {actor}{suffix}"
        row.next_attempt_at = row.claimed_by = row.claimed_at = row.handed_off_at = row.finished_at = None
        ec = get_email_campaign(session, merchant_id, row.email_campaign_id)
        if ec.status is EmailCampaignStatus.SENT:
            ec.status = EmailCampaignStatus.SENDING
            record(session, merchant_id, actor, "email.reopen", "email_campaign", str(ec.id), before="SENT", after="SENDING", send_id=send_id)
    else:
        raise EmailDeliveryError("outcome must be sent, failed or resend")
    record(session, merchant_id, actor, "email.review", "email_send", str(row.id), outcome=outcome, note=note)
    ec = get_email_campaign(session, merchant_id, row.email_campaign_id)
    session.flush()
    ec.stats = campaign_counts(session, merchant_id, ec.id)
    return row
