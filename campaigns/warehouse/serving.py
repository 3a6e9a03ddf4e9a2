"""Reading the marts as the app and the commands do: never blocked by a running pipeline.

Embedded default: the marts are read from the Parquet snapshots the `serving` asset
publishes (``$CAMPAIGNS_HOME/serving/<mart>.parquet``), through an in-memory DuckDB whose
views carry the marts' names, so the same SQL (``marts.<name>``, ``?`` placeholders) runs
here and on PostgreSQL, where the marts are read directly (MVCC readers never block).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from campaigns.core.settings import Settings
from campaigns.warehouse.connection import PostgresWarehouse

MARTS_SCHEMA = "marts"


class MartsUnavailable(LookupError):
    """No marts yet: the pipeline has not run."""


def serving_dir(settings: Settings) -> Path:
    return settings.home_path / "serving"


def snapshot_files(settings: Settings) -> dict[str, Path]:
    folder = serving_dir(settings)
    return {p.stem: p for p in sorted(folder.glob("*.parquet"))} if folder.exists() else {}


def available_marts(settings: Settings) -> list[str]:
    """Names of the marts there are to read: the snapshots on the embedded default, the `marts` schema's tables on PostgreSQL."""
    if settings.warehouse == "postgres":
        frame = PostgresWarehouse(settings.postgres_warehouse_url).query(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [MARTS_SCHEMA]
        )
        return frame["table_name"].to_list() if frame.height else []
    return sorted(snapshot_files(settings))


def query_marts(settings: Settings, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Rows of `sql` (tables as marts.<name>, ``?`` placeholders) against the served marts."""
    if settings.warehouse == "postgres":
        return PostgresWarehouse(settings.postgres_warehouse_url).query(sql, params)
    files = snapshot_files(settings)
    if not files:
        raise MartsUnavailable("no marts yet: run `campaigns build`")
    cursor = _snapshot_views(str(serving_dir(settings)), tuple(p.name for p in files.values())).cursor()
    try:  # a cursor per query: a DuckDB connection is not used by two threads at once
        return pl.from_arrow(cursor.sql(sql, params=list(params) if params else None).to_arrow_table())  # type: ignore[return-value]
    finally:
        cursor.close()


@lru_cache(maxsize=4)
def _snapshot_views(folder: str, files: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per snapshot, built once per set of snapshot files and shared by every query.

    The views read their Parquet file at query time, so a snapshot the pipeline replaces (atomic rename) is seen at
    once; a snapshot added or removed changes `files` and so builds a new connection.
    """
    con = duckdb.connect()
    con.execute(f"create schema {MARTS_SCHEMA}")
    for name in files:
        path = str(Path(folder) / name).replace("'", "''")
        con.execute(f"create view {MARTS_SCHEMA}.\"{Path(name).stem}\" as select * from read_parquet('{path}')")
    return con
