"""Results come back: a merchant's own published posts, with counters read from a fake X, and its own email events in
the store land in the warehouse's raw tables through the ingest assets, go through dbt, and teach the best-time
heatmap and Leo's predictions, apart from the demo merchant's rows in the same tables.

Hand-computed (the account's zone is UTC; 2026-03-03 is a Tuesday, weekday 1):
  posts at 10:xx: 1000 impressions, 40 likes + 10 retweets -> 0.05; 1200, 50 + 10 -> 0.05; 800, 30 + 10 -> 0.05
  posts at 15:xx: 400, 2 + 0 -> 0.005; 600, 3 + 0 -> 0.005   (X reports no clicks: counted as 0)
  -> 5 posts, account rate (3 x 0.05 + 2 x 0.005) / 5 = 0.032; Tuesday 10h holds 3 posts, 15h 2
  -> Leo: median impressions of (1000, 1200, 800, 400, 600) = 800, clicks per post 0
  email: 4 contacts open 16 times each at 08:xx and click after every fourth open -> 64 opens, 16 clicks,
  click-to-open 16 / 64 = 0.25; a web order no email led to is left out
  the demo merchant: 10 posts on Tuesday 20h at a rate of 0.5 and 100 opens with 90 clicks, never mixed in
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from sqlalchemy import select

from agents.leo.performance import warehouse_history
from assets.dbt_project import dbt_executable
from assets.ingest.post_metrics import post_metrics_asset
from assets.ingest.raw_tables import raw_assets
from assets.resources import CampaignsResource
from assets.serving.snapshots import publish_marts
from campaigns.audiences.events import record_event
from campaigns.core.crypto import cipher_from_settings, generate_key
from campaigns.core.enums import QueueStatus
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, SocialAccount, SocialQueueItem
from campaigns.social.accounts import add_account
from campaigns.social.posting_slots import account_heatmap
from campaigns.warehouse.connection import DuckDBWarehouse
from campaigns.warehouse.landing import write_landing
from campaigns.warehouse.schema import SOCIAL_POSTS
from campaigns.warehouse.serving import query_marts, serving_dir
from tests.merchant_runs import materialize_for
from tests.publishers.fake_platforms import FakeX

pytestmark = pytest.mark.slow  # one dbt build

DBT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
DAY = date(2026, 3, 3)
POSTS = [(10, 1000, 40, 10), (10, 1200, 50, 10), (10, 800, 30, 10), (15, 400, 2, 0), (15, 600, 3, 0)]  # hour, impressions, likes, retweets


@pytest.fixture
def fake_x():
    fake = FakeX().start()
    yield fake
    fake.stop()


def _store(fake_x: FakeX) -> int:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme")
        ensure_merchant(s, "demo")
        account = add_account(s, "acme", "x", FakeX.USER_ID, actor="ana", access_token="x-access-1", refresh_token="x-refresh-1",
                              cipher=cipher_from_settings(settings))
        for i, (hour, impressions, likes, retweets) in enumerate(POSTS):
            at = datetime(DAY.year, DAY.month, DAY.day, hour, i, tzinfo=UTC)
            tweet = fake_x.add_tweet(f"post {i}", created_at=at, public_metrics={
                "impression_count": impressions, "like_count": likes, "retweet_count": retweets, "quote_count": 0, "reply_count": 1})
            s.add(SocialQueueItem(merchant_id="acme", account_id=account.id, text=f"post {i}", content_hash=f"{i}" * 64, idempotency_key=f"k{i}",
                                  status=QueueStatus.PUBLISHED, scheduled_at=at, published_at=at, platform_post_id=tweet))
        for merchant, contacts, opens, clicks_every in (("acme", 4, 16, 4), ("demo", 1, 100, 1)):
            for c in range(contacts):
                contact = Contact(merchant_id=merchant, email=f"c{c}@example.com")
                s.add(contact)
                s.flush()
                for n in range(opens):
                    at = datetime(DAY.year, DAY.month, DAY.day, 8, n % 60, tzinfo=UTC)
                    record_event(s, merchant, contact.id, "opened", at, event_key=f"o{c}-{n}")
                    if n % clicks_every == 0 and (merchant == "acme" or n < 90):
                        record_event(s, merchant, contact.id, "clicked", at + timedelta(seconds=30), event_key=f"k{c}-{n}")
            record_event(s, merchant, contact.id, "purchased", datetime(DAY.year, DAY.month, DAY.day, 8, 30, tzinfo=UTC), value=40,
                         event_key=f"order-{merchant}", details={"channel": "web"})
        return account.id


def _demo_history(account_id: int) -> None:
    """The demo merchant's history lands the way the demo writer lands it, in the same table, even with the same account id."""
    at = [datetime(DAY.year, DAY.month, DAY.day, 20, m, tzinfo=UTC) for m in range(10)]
    frame = pl.DataFrame({"merchant_id": ["demo"] * 10, "post_id": [f"post_x_{m:03d}" for m in range(10)], "account_id": [account_id] * 10,
                          "platform": ["x"] * 10, "campaign_id": [None] * 10, "posted_at": at, "impressions": [1000] * 10,
                          "likes": [400] * 10, "shares": [50] * 10, "clicks": [50] * 10}, schema=SOCIAL_POSTS.polars_schema)
    write_landing(get_settings().landing_dir, SOCIAL_POSTS, frame)


def _dbt_build(home: Path) -> None:
    settings = get_settings()
    env = {**os.environ, **settings.dbt_env()}
    result = subprocess.run(
        [dbt_executable(), "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
         "--target-path", str(home / "dbt_target"), "--log-path", str(home / "dbt_logs"),
         "--select", "+social_post_history", "+social_engagement_by_hour", "+email_engagement_daily", "+email_engagement_by_hour"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_own_posts_and_email_events_teach_best_times_and_predictions(home: Path, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_PUBLISH_MODE", "live")
    monkeypatch.setenv("CAMPAIGNS_X_BASE_URL", fake_x.url())
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", generate_key())
    get_settings.cache_clear()
    account_id = _store(fake_x)
    _demo_history(account_id)

    resource = CampaignsResource(home=str(home))
    metrics = post_metrics_asset(DAY - timedelta(days=3))
    assert dg.materialize([metrics], resources={"campaigns": resource}, partition_key=DAY.isoformat()).success
    assert fake_x.count("GET", r"/2/tweets/\d+") == 5  # each published post's counters, read from the platform
    wanted = {dg.AssetKey(["raw", "social_posts"]), dg.AssetKey(["raw", "email_events"])}
    loaders = [a for a in raw_assets() if a.key in wanted]
    assert materialize_for(loaders, ["m"], {"campaigns": resource}).success

    settings = get_settings()
    raw = DuckDBWarehouse(settings.duckdb_path)
    landed = raw.query("select merchant_id, count(*) as n, sum(impressions) as impressions from raw.social_posts group by 1 order by 1").rows()
    assert landed == [("acme", 5, 4000), ("demo", 10, 10000)]
    _dbt_build(home)
    publish_marts(raw, serving_dir(settings))

    with session_scope(settings.store_url) as s:
        account = s.scalar(select(SocialAccount).where(SocialAccount.id == account_id))
        heatmap, note = account_heatmap(settings, "acme", account)
    cells = {(c.weekday, c.hour): c for c in heatmap.cells}
    assert note == "" and heatmap.posts == 5 and heatmap.account_rate == pytest.approx(0.032)
    assert (cells[(1, 10)].posts, cells[(1, 15)].posts, cells[(1, 20)].posts) == (3, 2, 0)  # the demo's Tuesday 20h is not this merchant's

    history = warehouse_history(settings, "acme")
    posts, _ = history.predict("x")
    assert posts["impressions_expected"] == 800 and posts["expected"] == 0 and "5 past x posts" in posts["basis"]
    email, _ = history.predict("email")
    assert email["expected"] == 0.25 and email["basis"] == "64 opens of past emails"
    assert (email["best_weekday_utc"], email["best_hour_utc"]) == (1, 8)  # Tuesday 08h, from the by-hour mart
    by_hour = query_marts(settings, "select event_weekday, event_hour, opens, clicks, contacts from marts.email_engagement_by_hour "
                                    "where merchant_id = ?", ["acme"]).rows()
    assert by_hour == [(1, 8, 64, 16, 4)]
    social = query_marts(settings, "select posted_hour, posts, impressions, engagements from marts.social_engagement_by_hour "
                                   "where merchant_id = ? order by posted_hour", ["acme"]).rows()
    assert social == [(10, 3, 3000, 150), (15, 2, 1000, 5)]
