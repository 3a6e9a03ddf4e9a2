"""Send outcomes for the warehouse: per merchant, campaign, email campaign and UTC day (the ``raw.email_sends`` landing)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from campaigns.core.store.db import session_scope
from campaigns.core.store.models import EmailCampaign, EmailSend, EmailSendStatus

EMAIL_SENDS_COLUMNS: dict[str, pl.DataType] = {
    "merchant_id": pl.String(),
    "campaign_id": pl.String(),  # null when the email campaign belongs to no campaign
    "email_campaign_id": pl.Int64(),
    "date": pl.Date(),  # UTC day the rows reached their final state
    "sent": pl.Int64(),
    "failed": pl.Int64(),
    "suppressed": pl.Int64(),
    "needs_review": pl.Int64(),
}


def send_stats_frame(target: Session | str, merchant_id: str | None = None, since: date | None = None) -> pl.DataFrame:
    """Per merchant, campaign, email campaign and UTC day: how many rows were sent, failed, suppressed or sent to review.

    Aggregated in the database; one row per group, columns as `EMAIL_SENDS_COLUMNS`
    (key: merchant_id, email_campaign_id, date). Rows still PENDING or SENDING are not counted yet.
    """
    if isinstance(target, str):
        with session_scope(target) as session:
            return send_stats_frame(session, merchant_id, since)
    session = target
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", EmailSend.finished_at))
    else:
        day = func.date(EmailSend.finished_at)  # SQLite keeps UTC without a zone
    counted = {name: func.sum(case((EmailSend.status == status, 1), else_=0)) for name, status in (
        ("sent", EmailSendStatus.SENT), ("failed", EmailSendStatus.FAILED), ("suppressed", EmailSendStatus.SUPPRESSED),
        ("needs_review", EmailSendStatus.NEEDS_REVIEW))}
    query = (
        select(EmailSend.merchant_id, EmailCampaign.campaign_id, EmailSend.email_campaign_id, day.label("day"),
               *(value.label(name) for name, value in counted.items()))
        .join(EmailCampaign, and_(EmailCampaign.id == EmailSend.email_campaign_id, EmailCampaign.merchant_id == EmailSend.merchant_id))
        .where(EmailSend.finished_at.is_not(None))
        .group_by(EmailSend.merchant_id, EmailCampaign.campaign_id, EmailSend.email_campaign_id, day)
        .order_by(EmailSend.merchant_id, EmailSend.email_campaign_id, day)
    )
    if merchant_id is not None:
        query = query.where(EmailSend.merchant_id == merchant_id)
    if since is not None:
        query = query.where(EmailSend.finished_at >= datetime(since.year, since.month, since.day, tzinfo=UTC))
    records = [
        {"merchant_id": r.merchant_id, "campaign_id": r.campaign_id, "email_campaign_id": int(r.email_campaign_id),
         "date": r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day)[:10]),
         **{name: int(getattr(r, name) or 0) for name in counted}}
        for r in session.execute(query)
    ]
    return pl.DataFrame(records, schema=EMAIL_SENDS_COLUMNS, orient="row") if records else pl.DataFrame(schema=EMAIL_SENDS_COLUMNS)
