"""dbt stamps the rule-based marts when a run builds marts (on-run-end hook), on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import psycopg
import pytest

from assets.dbt_project import dbt_executable
from campaigns.core.settings import Settings
from campaigns.warehouse.connection import open_warehouse
from campaigns.warehouse.schema import LOADED_AT, SOCIAL_POSTS
from campaigns.warehouse.staleness import data_driven_staleness

pytestmark = pytest.mark.slow

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = dbt_executable()  # as the product runs it: dbt behind campaigns-dbt (assets/dbt_guard.py)


def _dbt_build(settings: Settings, work: Path, select: str) -> None:
    env = {**os.environ, **settings.dbt_env()}
    result = subprocess.run(
        [DBT, "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--select", select],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_path):
    if request.param == "duckdb":
        yield Settings(home=tmp_path, warehouse="duckdb")
        return
    server = request.getfixturevalue("pg_server")
    name = f"co_test_stamps_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        yield Settings(home=tmp_path, warehouse="postgres", warehouse_url=f"{server}/{name}")
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


def test_a_run_that_builds_marts_stamps_them(settings: Settings, tmp_path: Path) -> None:
    warehouse = open_warehouse(settings)
    loaded = datetime(2026, 3, 3, tzinfo=UTC)
    posts = pl.DataFrame([("m", "s1", 7, "x", "c1", datetime(2026, 2, 28, 23, 30, tzinfo=UTC), 400, 5, 1, 6)],
                         schema=SOCIAL_POSTS.polars_schema, orient="row")
    warehouse.replace_table("raw", "social_posts", posts.with_columns(pl.lit(loaded).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT)))

    _dbt_build(settings, tmp_path, "stg_social_posts")  # staging only: no mart built, no stamp
    assert warehouse.query("select * from marts.build_stamps").is_empty()

    _dbt_build(settings, tmp_path, "+social_post_history")
    (family, built_at), = warehouse.query("select family, built_at from marts.build_stamps").rows()
    # the run's start in UTC (dbt runs with the real clock, which a shifted test clock would not match)
    assert family == "rule_based" and isinstance(built_at, datetime) and built_at.tzinfo is None
    warning = data_driven_staleness(warehouse.query)
    assert warning and "Markov and Shapley have not been computed since the rule-based marts were built" in warning
