"""The demo built on Spark gives the marts DuckDB gives: every table and view of the `marts`
schema, read through each warehouse, rows ordered, numbers equal to 1e-9.

The whole build runs on both (ingest into raw tables, dbt build with its data and unit tests
and contracts, Markov/Shapley/curve assets reading the aggregated paths and writing back,
the serving snapshots), so a dialect difference anywhere shows up as a mart that differs.
Runs in the Spark leg only (`make test-spark`).
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from campaigns.core.settings import Settings
from campaigns.warehouse.connection import Warehouse, open_warehouse
from campaigns.warehouse.serving import snapshot_files

pytestmark = [pytest.mark.slow, pytest.mark.spark]

# Build-time stamps (the run's clock, not the data) differ between two builds by design.
CLOCK_COLUMNS = {"build_stamps": ("built_at",), "budget_curves": ("fitted_at",)}
# Outputs of iterative fits (curve fitting, the convex budget solver) on daily series whose sums
# differ in the last bits between engines: equal to the solvers' tolerance, not to 1e-9 (measured:
# at most 2e-6 relative). Their JSON columns (parameters, bootstrap refits) carry the same numbers as text.
FIT_TOLERANCE = {"response_curves": 1e-5, "budget_recommendations": 1e-5}
FIT_JSON_COLUMNS = {"response_curves": ("params", "bootstrap")}


def _marts(warehouse: Warehouse) -> list[str]:
    relations = warehouse.relations()
    return sorted(relations.filter(pl.col("schema") == "marts")["name"].to_list())


def fingerprint(frame: pl.DataFrame, drop: tuple[str, ...] = ()) -> pl.DataFrame:
    """`frame` comparable across engines: columns by name, instants as naive UTC, every number
    a Float64, integers and text exact; rows ordered by every column (floats rounded for the order only)."""
    frame = frame.drop([c for c in drop if c in frame.columns])
    frame = frame.select(sorted(frame.columns))
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            casts.append((pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else pl.col(name)).dt.cast_time_unit("us"))
        elif dtype.is_numeric():
            casts.append(pl.col(name).cast(pl.Float64))
        elif dtype == pl.Null:
            casts.append(pl.col(name).cast(pl.String))
    frame = frame.with_columns(casts)
    order = [pl.col(c).round(6) if frame.schema[c] == pl.Float64 else pl.col(c) for c in frame.columns]
    return frame.sort(order, nulls_last=True) if frame.columns else frame


def _assert_same(mart: str, actual: pl.DataFrame, expected: pl.DataFrame, tolerance: float = 1e-9) -> None:
    try:
        assert_frame_equal(actual, expected, check_dtypes=False, check_exact=False, rel_tol=tolerance, abs_tol=tolerance)
    except AssertionError as exc:
        raise AssertionError(f"marts.{mart} differs between Spark and DuckDB: {exc}") from None


def test_spark_builds_the_marts_duckdb_builds(built_home: Settings, built_spark_home: Settings) -> None:
    duckdb_warehouse, spark_warehouse = open_warehouse(built_home), open_warehouse(built_spark_home)
    marts = _marts(duckdb_warehouse)
    assert marts == _marts(spark_warehouse)
    assert {"fct_attribution", "roi_by_model", "attribution_markov_channels", "campaign_performance_daily"} <= set(marts)

    for mart in marts:
        drop = CLOCK_COLUMNS.get(mart, ()) + FIT_JSON_COLUMNS.get(mart, ())
        expected = fingerprint(duckdb_warehouse.query(f'select * from marts."{mart}"'), drop)
        actual = fingerprint(spark_warehouse.query(f'select * from marts."{mart}"'), drop)
        assert actual.columns == expected.columns, mart
        _assert_same(mart, actual, expected, FIT_TOLERANCE.get(mart, 1e-9))
    assert sum(duckdb_warehouse.count("marts", m) for m in marts) > 1000  # the demo, not empty tables


def test_spark_serving_snapshots_match(built_home: Settings, built_spark_home: Settings) -> None:
    """The app reads Parquet snapshots on Spark too (no JVM in the app): the same files as on DuckDB."""
    duckdb_files, spark_files = snapshot_files(built_home), snapshot_files(built_spark_home)
    assert sorted(spark_files) == sorted(duckdb_files)
    for name in ("roi_by_model", "attribution_by_channel_all_models", "overview_daily"):
        _assert_same(name, fingerprint(pl.read_parquet(spark_files[name])), fingerprint(pl.read_parquet(duckdb_files[name])))
