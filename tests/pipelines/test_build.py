"""Materialize the demo on the embedded default and on PostgreSQL; check the marts add up.

The expected totals are computed independently from the generator's frames with polars,
not from the warehouse.
"""

import math

import polars as pl
import pytest

from campaigns.demo.generator import generate
from campaigns.warehouse.connection import open_warehouse
from campaigns.warehouse.schema import AD_SPEND, CONVERSIONS, TOUCHPOINTS
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
    row = warehouse.query("select conversions, revenue from marts.overview_daily where merchant_id = 'demo' and activity_date = ?" if warehouse.dialect == "duckdb" else
                          "select conversions, revenue from marts.overview_daily where merchant_id = 'demo' and activity_date = %s", [AS_OF])
    assert row["conversions"].to_list() == [day.height]
    assert math.isclose(row["revenue"][0], day["revenue"].sum(), rel_tol=1e-9)
    staged = warehouse.query("select count(*) as n from staging.stg_touchpoints where channel = 'direct'")["n"][0]
    assert staged == frames[TOUCHPOINTS.name]["channel"].null_count()


@pytest.mark.slow
def test_demo_build_on_duckdb(built_home, truth_frames) -> None:
    _check_marts(built_home, truth_frames)
    serving = built_home.home_path / "serving" / "overview_daily.parquet"
    assert serving.exists()
    assert pl.read_parquet(serving).height == open_warehouse(built_home).count("marts", "overview_daily")


@pytest.mark.slow
@pytest.mark.postgres
def test_demo_build_on_postgres(built_postgres_home, truth_frames) -> None:
    assert built_postgres_home.warehouse == "postgres"
    _check_marts(built_postgres_home, truth_frames)
    from sqlalchemy import func, select

    from campaigns.store.db import session_scope
    from campaigns.store.models import Campaign

    with session_scope(built_postgres_home.store_url) as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 20
    assert built_postgres_home.store_url.startswith("postgresql+psycopg://")
