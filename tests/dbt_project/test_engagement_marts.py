"""Email and social marts on hand-made raw rows, on DuckDB and PostgreSQL.

Expected values are worked out by hand from the rows below (the models' YAML unit tests
cover the rate rules again inside dbt):
  email 1 (campaign c1) on 2026-03-01: 8 sent, 2 failed, 5 suppressed, 5 to review
      -> finished 20, delivery 8 / 10 = 0.8, suppression 5 / 20 = 0.25
  email 2 (no campaign) on 2026-03-01: 3 suppressed -> delivery null, suppression 1.0
  post 1 (x): 500 impressions, 7 likes, 2 + 1 shares, 3 comments, clicks not reported
      -> engagements 13, rate 0.026
  post 2 (linkedin, sandbox): no impressions reported -> engagements 9, rate null
  posting history: s1 by account 7 on x at 23:30 UTC on 2026-02-28 (dated that UTC day),
      s2 by account 7 on 'X' (-> x) the next day
  email events of campaign c1: contact 1 opens twice on 2026-03-01, contact 2 opens and
      clicks that day -> 3 opens by 2 contacts, 1 click by 1 contact
  by hour (UTC; 2026-03-01 is a Sunday, weekday 6): s1 on Saturday (5) at 23h, 400 impressions,
      5 + 1 + 6 = 12 engagements, rate 0.03; s2 on Sunday 9h, 100 impressions, 1 + 0 + 2 = 3,
      rate 0.03; all four email events at 08:00 on Sunday -> 3 opens, 1 click, 2 contacts
"""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import psycopg
import pytest

from assets.dbt_project import dbt_executable
from assets.ingest.post_metrics import SCHEMA as POST_METRICS_SCHEMA
from campaigns.email.stats import EMAIL_SENDS_COLUMNS
from campaigns.core.settings import Settings
from campaigns.warehouse.connection import open_warehouse
from campaigns.warehouse.schema import EMAIL_EVENTS, LOADED_AT, SOCIAL_POSTS

pytestmark = pytest.mark.slow

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = dbt_executable()  # as the product runs it: dbt behind campaigns-dbt (assets/dbt_guard.py)
LOADED = datetime(2026, 3, 3, tzinfo=UTC)
PUBLISHED = datetime(2026, 3, 1, 10, tzinfo=UTC)


def _stamped(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(LOADED).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT))


def _build(settings: Settings, work: Path) -> None:
    warehouse = open_warehouse(settings)
    sends = pl.DataFrame(
        [("m", "c1", 1, date(2026, 3, 1), 8, 2, 5, 5), ("m", None, 2, date(2026, 3, 1), 0, 0, 3, 0)],
        schema=EMAIL_SENDS_COLUMNS, orient="row",
    )
    warehouse.replace_table("raw", "email_send_stats", _stamped(sends))
    posts = pl.DataFrame(
        [
            ("m", 1, "x", "p1", PUBLISHED, PUBLISHED.date(), 500, 7, 3, 3, None, False, LOADED),
            ("m", 2, "linkedin", "p2", PUBLISHED, PUBLISHED.date(), None, 4, 1, 2, 2, True, LOADED),
        ],
        schema=POST_METRICS_SCHEMA, orient="row",
    )
    warehouse.replace_table("raw", "post_metrics", _stamped(posts))
    history = pl.DataFrame(
        [
            ("m", "s1", 7, "x", "c1", datetime(2026, 2, 28, 23, 30, tzinfo=UTC), 400, 5, 1, 6),
            ("m", "s2", 7, "X", None, datetime(2026, 3, 1, 9, tzinfo=UTC), 100, 1, 0, 2),
        ],
        schema=SOCIAL_POSTS.polars_schema, orient="row",
    )
    warehouse.replace_table("raw", "social_posts", _stamped(history))
    at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    events = pl.DataFrame(
        [("m", "e1", 1, "c1", "opened", at), ("m", "e2", 1, "c1", "opened", at), ("m", "e3", 2, "c1", "opened", at), ("m", "e4", 2, "c1", "clicked", at)],
        schema=EMAIL_EVENTS.polars_schema, orient="row",
    )
    warehouse.replace_table("raw", "email_events", _stamped(events))
    env = {**os.environ, **settings.dbt_env()}
    result = subprocess.run(
        [DBT, "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--select", "+email_performance_daily", "+social_post_performance",
         "+social_post_history", "+email_engagement_daily", "+social_engagement_by_hour", "+email_engagement_by_hour"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_path) -> Settings:
    if request.param == "duckdb":
        built = Settings(home=tmp_path, warehouse="duckdb")
        _build(built, tmp_path)
        yield built
        return
    server = request.getfixturevalue("pg_server")
    name = f"co_test_eng_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        built = Settings(home=tmp_path, warehouse="postgres", warehouse_url=f"{server}/{name}")
        _build(built, tmp_path)
        yield built
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


def test_email_and_social_marts(settings) -> None:
    warehouse = open_warehouse(settings)
    email = warehouse.query(
        "select email_campaign_id, campaign_id, sent, failed, suppressed, needs_review, finished, delivery_rate, suppression_rate "
        "from marts.email_performance_daily order by email_campaign_id"
    ).rows()
    assert email == [(1, "c1", 8, 2, 5, 5, 20, 0.8, 0.25), (2, None, 0, 0, 3, 0, 3, None, 1.0)]
    posts = warehouse.query("select post_id, platform, engagements, engagement_rate, sandbox from marts.social_post_performance order by post_id").rows()
    assert posts == [("p1", "x", 13, pytest.approx(0.026), False), ("p2", "linkedin", 9, None, True)]

    # one build per backend serves both checks (each build costs seconds)
    _check_posting_history_and_email_engagement(warehouse)


def _check_posting_history_and_email_engagement(warehouse) -> None:
    history = warehouse.query("select post_id, account_id, platform, posted_date, impressions, clicks from marts.social_post_history order by post_id").rows()
    assert history == [("s1", 7, "x", date(2026, 2, 28), 400, 6), ("s2", 7, "x", date(2026, 3, 1), 100, 2)]
    engagement = warehouse.query("select event_type, event_date, events, contacts from marts.email_engagement_daily where campaign_id = ? order by event_type",
                                 ["c1"]).rows()
    assert engagement == [("clicked", date(2026, 3, 1), 1, 1), ("opened", date(2026, 3, 1), 3, 2)]

    by_hour = warehouse.query("select account_id, posted_weekday, posted_hour, posts, impressions, engagements, engagement_rate "
                              "from marts.social_engagement_by_hour order by posted_weekday").rows()
    assert by_hour == [(7, 5, 23, 1, 400, 12, pytest.approx(0.03)), (7, 6, 9, 1, 100, 3, pytest.approx(0.03))]
    email_by_hour = warehouse.query("select merchant_id, event_weekday, event_hour, opens, clicks, contacts from marts.email_engagement_by_hour").rows()
    assert email_by_hour == [("m", 6, 8, 3, 1, 2)]
