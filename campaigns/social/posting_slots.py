"""Best posting slots for an account: history from the warehouse's marts, the model from optimizers/.

The history is marts.social_post_history (the merchant's own published posts with the counters
read back from the platforms, plus imported or demo history), read as the app reads every mart: from the serving
snapshot on the embedded default (never blocked by a running pipeline), live on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.enums import QueueStatus
from campaigns.core.settings import Settings
from campaigns.core.store.models import SocialAccount, SocialQueueItem
from campaigns.warehouse.serving import MartsUnavailable, query_marts
from optimizers.posting_times import Heatmap, Slot, engagement_heatmap, next_best_slots

HISTORY_SQL = (
    # a counter the platform does not report (X reports no clicks) counts as 0, as in social_post_performance
    "select posted_at, impressions, coalesce(likes, 0) as likes, coalesce(shares, 0) as shares, coalesce(clicks, 0) as clicks "
    "from marts.social_post_history "
    "where merchant_id = ? and account_id = ? and platform = lower(?)"
)


def posting_history(settings: Settings, merchant_id: str, account: SocialAccount) -> tuple[pl.DataFrame, str]:
    """The account's past posts, and a note when the warehouse could not be read."""
    empty = pl.DataFrame(schema={"posted_at": pl.Datetime("us", "UTC"), "impressions": pl.Int64, "likes": pl.Int64, "shares": pl.Int64, "clicks": pl.Int64})
    try:
        return query_marts(settings, HISTORY_SQL, [merchant_id, account.id, account.platform]), ""
    except MartsUnavailable:
        return empty, " - no warehouse yet, using the platform's default curve"
    except Exception as exc:  # a missing mart (a build from before it existed): fall back to the prior, say why
        return empty, f" - no posting history ({type(exc).__name__}), using the platform's default curve"


def account_heatmap(settings: Settings, merchant_id: str, account: SocialAccount) -> tuple[Heatmap, str]:
    history, note = posting_history(settings, merchant_id, account)
    return engagement_heatmap(history, account.timezone, account.platform), note


def best_slots(settings: Settings, session: Session, merchant_id: str, account: SocialAccount, now: datetime, n: int = 1) -> tuple[list[Slot], str]:
    heatmap, note = account_heatmap(settings, merchant_id, account)
    taken = list(session.scalars(
        select(SocialQueueItem.scheduled_at).where(
            SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.account_id == account.id,
            SocialQueueItem.status.in_([QueueStatus.QUEUED, QueueStatus.PUBLISHING]), SocialQueueItem.scheduled_at >= now,
        )
    ))
    return next_best_slots(heatmap, n, now, taken=taken), note


def best_slot(settings: Settings, session: Session, merchant_id: str, account: SocialAccount, now: datetime) -> tuple[Slot, str]:
    slots, note = best_slots(settings, session, merchant_id, account, now, 1)
    if not slots:
        raise ValueError("no free slot in the next 7 days within the minimum gap and daily limit; pick a time with --at")
    return slots[0], note
