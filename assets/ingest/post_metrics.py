"""Engagement of published posts, pulled back from the platforms per day of publication.

Each platform names its counters differently; they are mapped onto impressions, likes,
shares, comments and clicks (a counter the platform does not report stays null). A post whose
metrics cannot be read is logged and skipped, so one deleted post never blocks the day.

The posts that reached a platform (not sandbox ones, whose counters are simulated) also land
in the posting history: one landing file per merchant for `raw.social_posts`, the table the
demo writer and imports fill the same way, so the best-time heatmap and Leo's predictions learn
from the merchant's own published posts. Newer counters of a post replace older ones (newest
landing row per post wins).
"""

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from assets.ingest.partitions import daily_partitions
from assets.resources import CampaignsResource
from campaigns.core.crypto import cipher_from_settings
from campaigns.core.enums import QueueStatus
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import SocialAccount, SocialQueueItem
from campaigns.social.accounts import account_ref, credentials_for
from campaigns.warehouse.landing import write_landing
from campaigns.warehouse.schema import LOADED_AT, RAW_SCHEMA, SOCIAL_POSTS
from publishers import build_publishers
from publishers.base import Credentials
from publishers.errors import PublishError

TABLE = "post_metrics"
# platform counter -> our column
COUNTERS: dict[str, dict[str, str]] = {
    "x": {"impression_count": "impressions", "like_count": "likes", "retweet_count": "shares", "quote_count": "shares", "reply_count": "comments"},
    "facebook": {"impressions": "impressions", "reactions": "likes", "shares": "shares", "comments": "comments", "clicks": "clicks"},
    "instagram": {"impressions": "impressions", "likes": "likes", "comments": "comments", "shares": "shares"},
    "linkedin": {"impressions": "impressions", "likes": "likes", "comments": "comments", "shares": "shares", "clicks": "clicks"},
}
COLUMNS = ("impressions", "likes", "shares", "comments", "clicks")
SCHEMA = {
    "merchant_id": pl.String, "queue_item_id": pl.Int64, "platform": pl.String, "post_id": pl.String, "published_at": pl.Datetime("us", "UTC"),
    "date": pl.Date, **{c: pl.Int64 for c in COLUMNS}, "sandbox": pl.Boolean, "fetched_at": pl.Datetime("us", "UTC"),
}


def normalise(platform: str, values: dict[str, int]) -> dict[str, int | None]:
    out: dict[str, int | None] = dict.fromkeys(COLUMNS)
    for counter, value in values.items():
        column = COUNTERS.get(platform, {}).get(counter)
        if column is not None:
            out[column] = (out[column] or 0) + int(value)
    return out


def post_metrics_asset(start_date: date) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, TABLE],
        group_name="ingest",
        kinds={"python", "httpx"},
        partitions_def=daily_partitions(start_date),
        backfill_policy=dg.BackfillPolicy.single_run(),
        description="Impressions, likes, shares, comments and clicks of the posts published on each day, read back from the platforms.",
    )
    def post_metrics(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
        return read_post_metrics(context, campaigns)

    return post_metrics


def read_post_metrics(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
    from sqlalchemy import select


    settings = campaigns.settings()
    live = settings.publish_mode == "live"
    publishers = build_publishers(settings.publisher_config(), live=live)
    cipher = cipher_from_settings(settings)
    window = context.partition_time_window
    started, now = time.perf_counter(), datetime.now(UTC)
    campaigns.store_url()  # the schema, checked once per process
    rows, history, failed = [], [], 0
    with session_scope(settings.store_url) as session:
        published = session.execute(
            select(SocialQueueItem, SocialAccount).join(SocialAccount, SocialAccount.id == SocialQueueItem.account_id).where(
                SocialQueueItem.status == QueueStatus.PUBLISHED, SocialQueueItem.published_at >= window.start, SocialQueueItem.published_at < window.end
            )
        ).all()
        for item, account in published:
            publisher = publishers.get(account.platform)
            if publisher is None or not item.platform_post_id:
                continue
            sandbox = bool(getattr(publisher, "sandbox", False))
            # a thread's first post carries the engagement of the thread
            ref = item.platform_post_id.split(",")[0]
            try:
                credentials = Credentials.of(account_ref(account)) if sandbox else credentials_for(account, cipher)
                metrics = publisher.fetch_metrics(ref, credentials)
            except PublishError as exc:
                failed += 1
                context.log.warning(f"post {item.id} ({account.platform} {ref}): metrics not read: {exc}")
                continue
            rows.append({"merchant_id": item.merchant_id, "queue_item_id": item.id, "platform": account.platform, "post_id": ref,
                         "published_at": item.published_at, "date": item.published_at.date(), **normalise(account.platform, metrics.values),
                         "sandbox": metrics.sandbox, "fetched_at": now})
            if not metrics.sandbox:
                history.append(history_row(item, account, ref, rows[-1]))
    frame = pl.DataFrame(rows, schema=SCHEMA).with_columns(pl.lit(now).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT))
    warehouse = campaigns.open_warehouse()
    # the window's days in one replacement (one transaction; on Spark one table swap, not one per day)
    start, end = window.start.date(), window.end.date()
    warehouse.replace_between(RAW_SCHEMA, TABLE, frame.filter((pl.col("date") >= start) & (pl.col("date") < end)), "date", start, end)
    landed = land_history(settings.landing_dir, history)
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height, "failed": failed, "live": live, "history_rows_landed": landed,
                                          "seconds": round(time.perf_counter() - started, 3)})


def history_row(item: SocialQueueItem, account: SocialAccount, ref: str, counters: dict[str, Any]) -> dict[str, Any]:
    """One `raw.social_posts` row for a published post with its fetched counters."""
    return {"merchant_id": item.merchant_id, "post_id": ref, "account_id": account.id, "platform": account.platform,
            "campaign_id": item.campaign_id, "posted_at": item.published_at, **{c: counters[c] for c in ("impressions", "likes", "shares", "clicks")}}


def land_history(landing_dir: Path, history: list[dict[str, Any]]) -> int:
    """Write the fetched posts as one landing file per merchant of `raw.social_posts`; returns the rows written."""
    if not history:
        return 0
    frame = pl.DataFrame(history, schema=SOCIAL_POSTS.polars_schema)
    for (_merchant,), rows in frame.group_by(["merchant_id"], maintain_order=True):
        write_landing(landing_dir, SOCIAL_POSTS, rows)
    return frame.height
