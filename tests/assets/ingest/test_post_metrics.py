"""Post metrics: platform counters mapped by hand; a published sandbox post lands in its day's partition."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.resources import CampaignsResource
from assets.ingest.post_metrics import normalise, post_metrics_asset
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import list_queue, schedule_text
from campaigns.social.worker import run_worker
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.warehouse.connection import DuckDBWarehouse


def test_counters_are_mapped_per_platform() -> None:
    x = {"impression_count": 500, "like_count": 7, "retweet_count": 2, "quote_count": 1, "reply_count": 3}
    assert normalise("x", x) == {"impressions": 500, "likes": 7, "shares": 3, "comments": 3, "clicks": None}
    assert normalise("facebook", {"reactions": 12, "shares": 3, "comments": 4}) == {"impressions": None, "likes": 12, "shares": 3, "comments": 4, "clicks": None}
    assert normalise("linkedin", {"likes": 9, "unknown_counter": 5}) == {"impressions": None, "likes": 9, "shares": None, "comments": None, "clicks": None}


def test_published_post_lands_in_its_partition(home) -> None:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme")
        account = add_account(s, "acme", "x", "@acme", actor="ana")
        schedule_text(s, "acme", account_id=account.id, text="Metrics please", scheduled_at=datetime.now(UTC) - timedelta(minutes=1), author="ana")
    assert run_worker(settings, worker_id="t").counts() == {"PUBLISHED": 1}
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with session_scope(settings.store_url) as s:  # as if it went out yesterday: today's partition does not exist until tomorrow
        (item,) = list_queue(s, "acme")
        item.published_at = yesterday
    resource = CampaignsResource(home=str(home))
    asset = post_metrics_asset(yesterday.date() - timedelta(days=3))
    for _ in range(2):  # re-running a day replaces its rows
        assert dg.materialize([asset], resources={"campaigns": resource}, partition_key=yesterday.date().isoformat()).success
    rows = DuckDBWarehouse(settings.duckdb_path).query("select platform, post_id, sandbox, likes from raw.post_metrics")
    assert rows.height == 1
    platform, post_id, sandbox, likes = rows.row(0)
    assert platform == "x" and post_id.startswith("sandbox-x-") and sandbox is True and likes is None
