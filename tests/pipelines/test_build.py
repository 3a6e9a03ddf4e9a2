"""Materialize the demo on the embedded default and on PostgreSQL; check the marts add up.

The expected totals are computed independently from the generator's frames with polars,
not from the warehouse.
"""

import math

import polars as pl
import pytest

from campaigns.demo.generator import generate
from campaigns.warehouse.connection import open_warehouse
from campaigns.warehouse.schema import AD_SPEND, CONVERSIONS, EMAIL_EVENTS, TOUCHPOINTS
from tests.conftest import AS_OF


@pytest.fixture(scope="module")
def truth_frames() -> dict[str, pl.DataFrame]:
    return generate("demo", seed=7, as_of=AS_OF).tables


def _check_marts(settings, frames) -> None:
    warehouse = open_warehouse(settings)
    assert warehouse.count("raw", "touchpoints") == frames[TOUCHPOINTS.name].height
    totals = warehouse.query("select sum(spend) as spend, sum(revenue) as revenue, sum(conversions) as conversions, sum(clicks) as clicks from marts.overview_daily where merchant_id = 'demo'").row(0, named=True)
    assert math.isclose(totals["spend"], frames[AD_SPEND.name]["spend"].sum(), rel_tol=1e-9)
    assert math.isclose(totals["revenue"], frames[CONVERSIONS.name]["revenue"].sum(), rel_tol=1e-9)
    assert totals["conversions"] == frames[CONVERSIONS.name].height
    assert totals["clicks"] == frames[AD_SPEND.name]["clicks"].sum()
    # one day checked by hand against the generator: conversions on the as-of day by UTC date
    day = frames[CONVERSIONS.name].filter(pl.col("converted_at").dt.date() == AS_OF)
    row = warehouse.query("select conversions, revenue from marts.overview_daily where merchant_id = 'demo' and activity_date = ?", [AS_OF])
    assert row["conversions"].to_list() == [day.height]
    assert math.isclose(row["revenue"][0], day["revenue"].sum(), rel_tol=1e-9)
    staged = warehouse.query("select count(*) as n from staging.stg_touchpoints where channel = 'direct'")["n"][0]
    assert staged == frames[TOUCHPOINTS.name]["channel"].null_count()
    # the dbt views over every model show the attribution assets' output of the same build (dbt ran once, before them)
    for mart, twin in (("attribution_by_channel_all_models", "attribution_by_channel_data_driven"), ("roi_by_model_all_models", "roi_by_model_data_driven")):
        union = warehouse.query(f"select count(*) as n, sum(revenue) as revenue from marts.{mart} where model_family = 'data_driven'").row(0, named=True)
        direct = warehouse.query(f"select count(*) as n, sum(revenue) as revenue from marts.{twin}").row(0, named=True)
        assert union["n"] == direct["n"] > 0 and math.isclose(union["revenue"], direct["revenue"], rel_tol=1e-9), mart
    markov = warehouse.query("select sum(revenue) as revenue from marts.attribution_daily_all_models where model = ?", ["markov"])["revenue"][0]
    assert math.isclose(markov, frames[CONVERSIONS.name]["revenue"].sum(), rel_tol=1e-9)
    assert warehouse.count("marts", "social_post_history") == warehouse.count("raw", "social_posts") > 0
    # the demo's email history reaches the warehouse as anyone's does: through the store's contact events
    assert warehouse.count("raw", "email_events") == frames[EMAIL_EVENTS.name].height > 0
    _check_campaign_results(settings, frames)


def _check_campaign_results(settings, frames) -> None:
    """The store's campaign_metrics against the generator: every campaign's spend, per channel, to the cent per row."""
    from sqlalchemy import func, select

    from campaigns.core.store.db import session_scope
    from campaigns.core.store.models import Campaign, CampaignMetric

    spend = frames[AD_SPEND.name].filter(pl.col("campaign_id").is_not_null()).group_by("campaign_id").agg(pl.col("spend").sum(), pl.len().alias("days"))
    with session_scope(settings.store_url) as session:
        stored = dict(session.execute(select(CampaignMetric.campaign_id, func.sum(CampaignMetric.spend)).group_by(CampaignMetric.campaign_id)).all())
        spent = dict(session.execute(select(Campaign.id, Campaign.spent)).all())
    assert stored, "campaign_metrics is empty after the build"
    for row in spend.iter_rows(named=True):
        if row["campaign_id"] in spent:  # campaigns the demo writes to the store
            assert math.isclose(float(stored[row["campaign_id"]]), row["spend"], abs_tol=0.005 * row["days"] + 0.01), row["campaign_id"]
            assert math.isclose(float(spent[row["campaign_id"]]), row["spend"], abs_tol=0.005 * row["days"] + 0.01), row["campaign_id"]


@pytest.mark.slow
def test_demo_build_on_duckdb(built_home, truth_frames) -> None:
    _check_marts(built_home, truth_frames)
    serving = built_home.home_path / "serving" / "overview_daily.parquet"
    assert serving.exists()
    assert pl.read_parquet(serving).height == open_warehouse(built_home).count("marts", "overview_daily")
    # what the Social, Analytics and Leo reads need is in the snapshot, with the Python assets' rows
    for mart in ("social_post_history", "email_engagement_daily", "attribution_by_channel_all_models", "attribution_daily_all_models", "roi_by_model_all_models"):
        snapshot = pl.read_parquet(built_home.home_path / "serving" / f"{mart}.parquet")
        assert snapshot.height == open_warehouse(built_home).count("marts", mart) > 0, mart
    assert "markov" in pl.read_parquet(built_home.home_path / "serving" / "roi_by_model_all_models.parquet")["model"].to_list()


@pytest.mark.slow
@pytest.mark.postgres
def test_demo_build_on_postgres(built_postgres_home, truth_frames) -> None:
    assert built_postgres_home.warehouse == "postgres"
    _check_marts(built_postgres_home, truth_frames)
    from sqlalchemy import func, select

    from campaigns.core.store.db import session_scope
    from campaigns.core.store.models import Campaign, CampaignWorkflow

    with session_scope(built_postgres_home.store_url) as session:
        # the 20 generated campaigns and the one Ava plans in demo-data, with its workflow
        names = set(session.scalars(select(Campaign.name)))
        assert len(names) == 21 and "Winter layering push (planned by Ava)" in names
        assert session.scalar(select(func.count()).select_from(CampaignWorkflow)) >= 7
    assert built_postgres_home.store_url.startswith("postgresql+psycopg://")


def test_build_loads_every_landed_spend_day_in_one_run(home) -> None:
    """The build's ad spend run spans the first to the last landed date, clamped to the partitions."""
    from datetime import date

    import dagster as dg
    from assets.ingest.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

    from campaigns.core.settings import get_settings
    from campaigns.warehouse.landing import write_landing
    from pipelines.build import _partitions_to_build
    from pipelines.definitions import defs

    settings = get_settings()
    graph = defs().resolve_asset_graph()
    key = dg.AssetKey(["raw", "ad_spend"])
    partitions = graph.get(key).partitions_def
    # nothing landed: the latest day, so the empty table exists for dbt
    assert _partitions_to_build(settings, graph, partitions, [key]) == (partitions.get_last_partition_key(), {})
    frame = pl.DataFrame(
        {"merchant_id": ["m", "m", "m"], "date": [date(2025, 12, 30), date(2026, 2, 3), date(2026, 5, 6)], "campaign_id": ["c"] * 3,
         "channel": ["x"] * 3, "spend": [1.0, 2.0, 3.0], "impressions": [1, 2, 3], "clicks": [0, 1, 1]},
        schema=AD_SPEND.polars_schema,
    )
    write_landing(settings.landing_dir, AD_SPEND, frame)
    # 2025-12-30 is before CAMPAIGNS_INGEST_START_DATE (2026-01-01): the range starts at the first partition
    assert _partitions_to_build(settings, graph, partitions, [key]) == (
        None, {PARTITION_RANGE_START_TAG: "2026-01-01", PARTITION_RANGE_END_TAG: "2026-05-06"}
    )
    # a day loaded earlier but no longer landed (a regenerated demo) is in the range, so it is emptied
    stale = frame.head(1).with_columns(pl.lit(date(2026, 6, 1)).alias("date"), pl.lit(AS_OF).cast(pl.Datetime("us", "UTC")).alias("_loaded_at"))
    open_warehouse(settings).replace_table("raw", "ad_spend", stale)
    assert _partitions_to_build(settings, graph, partitions, [key])[1][PARTITION_RANGE_END_TAG] == "2026-06-01"
