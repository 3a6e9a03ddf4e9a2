"""Read access for the app: marts and the store, never blocked by a running pipeline.

Embedded default: the marts are read from the Parquet snapshots the `serving` asset
publishes, through an in-memory DuckDB whose views carry the marts' names, so the same
SQL runs here and on PostgreSQL, where the app reads the marts directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from campaigns.core.settings import Settings
from campaigns.warehouse.connection import PostgresWarehouse


class MartsUnavailable(LookupError):
    """No marts yet: the pipeline has not run."""


def serving_dir(settings: Settings) -> Path:
    return settings.home_path / "serving"


def available_marts(settings: Settings) -> list[str]:
    if settings.warehouse == "postgres":
        frame = PostgresWarehouse(settings.postgres_warehouse_url).query(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        )
        return frame["table_name"].to_list() if frame.height else []
    folder = serving_dir(settings)
    return sorted(p.stem for p in folder.glob("*.parquet")) if folder.exists() else []


def query_marts(settings: Settings, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    """Run `sql` (portable; tables as marts.<name>) against the marts."""
    if settings.warehouse == "postgres":
        return PostgresWarehouse(settings.postgres_warehouse_url).query(sql.replace("?", "%s"), params)
    folder = serving_dir(settings)
    files = tuple(sorted(p.name for p in folder.glob("*.parquet"))) if folder.exists() else ()
    if not files:
        raise MartsUnavailable("no marts yet")
    cursor = _snapshot_views(str(folder), files).cursor()  # a cursor per query: DuckDB connections are not shared across threads
    try:
        return pl.from_arrow(cursor.sql(sql, params=params).to_arrow_table())  # type: ignore[return-value]
    finally:
        cursor.close()


@lru_cache(maxsize=4)
def _snapshot_views(folder: str, files: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per snapshot, built once per set of snapshot files.

    The views read their Parquet file at query time, so a snapshot the pipeline replaces is seen at once; a snapshot
    added or removed changes `files` and so builds a new connection.
    """
    con = duckdb.connect()
    con.execute("create schema marts")
    for name in files:
        path = str(Path(folder) / name).replace("'", "''")
        con.execute(f"create view marts.\"{Path(name).stem}\" as select * from read_parquet('{path}')")
    return con
