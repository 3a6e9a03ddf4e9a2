"""The Spark warehouse's own session: a load is the first thing a process may do with it (the bench's ingest is), and
the session is the size the settings ask for, restarted when they ask for another (a JVM's heap is fixed at its start).
Runs in the Spark leg only (`make test-spark`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from campaigns.core.settings import Settings
from campaigns.warehouse.connection import open_warehouse
from campaigns.warehouse.schema import RAW_TABLES
from campaigns.warehouse.spark import SparkWarehouse, stop_spark

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture
def fresh(spark_available: None, tmp_path: Path):
    stop_spark()  # no session in this process: what a new process meets
    yield tmp_path
    stop_spark()


def test_a_load_may_be_the_first_use_of_the_session(fresh: Path) -> None:
    table = RAW_TABLES["conversions"]
    landed = fresh / "landing" / "acme" / "conversions.parquet"
    landed.parent.mkdir(parents=True)
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    pl.DataFrame({"merchant_id": ["acme", "acme"], "conversion_id": ["c1", "c2"], "user_id": ["u1", "u2"],
                  "converted_at": [at, at], "revenue": [10.0, 5.5]}, schema=table.polars_schema).write_parquet(landed)
    warehouse = SparkWarehouse(fresh / "spark")
    assert warehouse.load_raw(table, [landed]) == 2
    loaded = warehouse.query("select conversion_id, revenue from raw.conversions order by conversion_id")
    assert loaded.rows() == [("c1", 10.0), ("c2", 5.5)]


def test_the_session_has_the_settings_size_and_restarts_for_another(fresh: Path) -> None:
    small = open_warehouse(Settings(_env_file=None, home=fresh, warehouse="spark"))
    conf = small.spark.sparkContext.getConf()
    assert (conf.get("spark.driver.memory"), small.spark.conf.get("spark.sql.shuffle.partitions")) == ("1g", "2")

    larger = open_warehouse(Settings(_env_file=None, home=fresh, warehouse="spark", spark_driver_memory="1500m",
                                     spark_shuffle_partitions=8, spark_codegen=True))
    session = larger.spark
    assert session.sparkContext.getConf().get("spark.driver.memory") == "1500m"
    assert session.conf.get("spark.sql.shuffle.partitions") == "8"
    assert session.conf.get("spark.sql.codegen.wholeStage") == "true"
