"""Results of email campaigns: delivery counts from the send ledger, engagement from contact events.

Rates are per delivered email (status SENT): opens, clicks and purchases count distinct
contacts with at least one such event attributed to the email campaign, so a contact who
opens five times counts once. Revenue sums the value of the purchases attributed to it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from campaigns.core.store.models import ContactEvent, EmailCampaign, EmailSend, EmailSendStatus

ENGAGEMENT_KINDS = ("opened", "clicked", "purchased")


@dataclass(frozen=True)
class EmailResult:
    email_campaign_id: int
    campaign_id: str | None
    subject: str
    kind: str
    status: str
    created_at: datetime
    recipients: int
    sent: int
    suppressed: int
    failed: int
    waiting: int  # pending, sending or needs review
    opened: int
    clicked: int
    purchased: int
    revenue: Decimal

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def open_rate(self) -> float | None:
        return self._rate(self.opened, self.sent)

    @property
    def click_rate(self) -> float | None:
        return self._rate(self.clicked, self.sent)

    @property
    def conversion_rate(self) -> float | None:
        return self._rate(self.purchased, self.sent)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "open_rate": self.open_rate, "click_rate": self.click_rate, "conversion_rate": self.conversion_rate}


def email_results(session: Session, merchant_id: str, *, campaign_id: str | None = None, limit: int = 200) -> list[EmailResult]:
    """Newest email campaigns first, each with its delivery and engagement counts."""
    campaigns_q = select(EmailCampaign).where(EmailCampaign.merchant_id == merchant_id)
    if campaign_id is not None:
        campaigns_q = campaigns_q.where(EmailCampaign.campaign_id == campaign_id)
    campaigns = list(session.scalars(campaigns_q.order_by(EmailCampaign.created_at.desc(), EmailCampaign.id.desc()).limit(limit)))
    if not campaigns:
        return []
    ids = [ec.id for ec in campaigns]

    def count_status(*statuses: EmailSendStatus):
        return func.sum(case((EmailSend.status.in_(statuses), 1), else_=0))

    delivery = {
        row.email_campaign_id: row
        for row in session.execute(
            select(
                EmailSend.email_campaign_id,
                func.count().label("recipients"),
                count_status(EmailSendStatus.SENT).label("sent"),
                count_status(EmailSendStatus.SUPPRESSED).label("suppressed"),
                count_status(EmailSendStatus.FAILED).label("failed"),
                count_status(EmailSendStatus.PENDING, EmailSendStatus.SENDING, EmailSendStatus.NEEDS_REVIEW).label("waiting"),
            )
            .where(EmailSend.merchant_id == merchant_id, EmailSend.email_campaign_id.in_(ids))
            .group_by(EmailSend.email_campaign_id)
        )
    }
    engagement: dict[tuple[int, str], tuple[int, Decimal]] = {}
    for row in session.execute(
        select(
            ContactEvent.email_campaign_id,
            ContactEvent.kind,
            func.count(distinct(ContactEvent.contact_id)).label("contacts"),
            func.coalesce(func.sum(ContactEvent.value), 0).label("value"),
        )
        .where(ContactEvent.merchant_id == merchant_id, ContactEvent.email_campaign_id.in_(ids), ContactEvent.kind.in_(ENGAGEMENT_KINDS))
        .group_by(ContactEvent.email_campaign_id, ContactEvent.kind)
    ):
        engagement[(row.email_campaign_id, row.kind)] = (int(row.contacts), Decimal(str(row.value)))

    results = []
    for ec in campaigns:
        d = delivery.get(ec.id)
        opened, clicked, (purchased, revenue) = (
            engagement.get((ec.id, "opened"), (0, Decimal(0)))[0],
            engagement.get((ec.id, "clicked"), (0, Decimal(0)))[0],
            engagement.get((ec.id, "purchased"), (0, Decimal(0))),
        )
        results.append(EmailResult(
            email_campaign_id=ec.id, campaign_id=ec.campaign_id, subject=ec.subject, kind=ec.kind, status=ec.status.value,
            created_at=ec.created_at, recipients=int(d.recipients) if d else 0, sent=int(d.sent or 0) if d else 0,
            suppressed=int(d.suppressed or 0) if d else 0, failed=int(d.failed or 0) if d else 0, waiting=int(d.waiting or 0) if d else 0,
            opened=opened, clicked=clicked, purchased=purchased, revenue=revenue.quantize(Decimal("0.01")),
        ))
    return results


OUTCOME_KINDS = ("opened", "clicked", "bounced", "unsubscribed", "complained")


def engagement_counts(session: Session, merchant_id: str, email_campaign_id: int) -> dict[str, int]:
    """Distinct contacts per engagement or outcome event attributed to one email campaign (tracking and provider webhooks);
    every kind of `OUTCOME_KINDS` is present, 0 when none arrived (or tracking and webhooks are off)."""
    rows = session.execute(
        select(ContactEvent.kind, func.count(distinct(ContactEvent.contact_id)))
        .where(ContactEvent.merchant_id == merchant_id, ContactEvent.email_campaign_id == email_campaign_id, ContactEvent.kind.in_(OUTCOME_KINDS))
        .group_by(ContactEvent.kind)
    ).all()
    found = {kind: int(n) for kind, n in rows}
    return {kind: found.get(kind, 0) for kind in OUTCOME_KINDS}
