"""Reading the marts as the app and the commands do: never blocked by a running pipeline.

Embedded default: the marts are read from the Parquet snapshots the `serving` asset
publishes (``$CAMPAIGNS_HOME/serving/<mart>.parquet``), through an in-memory DuckDB whose
views carry the marts' names, so the same SQL (``marts.<name>``, ``?`` placeholders) runs
here and on PostgreSQL, where the marts are read directly (MVCC readers never block).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from campaigns.warehouse.connection import PostgresWarehouse

MARTS_SCHEMA = "marts"


class MartsUnavailable(LookupError):
    """No marts yet: the pipeline has not run."""


def serving_dir(settings: Any) -> Path:  # settings: campaigns.core.settings.Settings
    return settings.home_path / "serving"


def snapshot_files(settings: Any) -> dict[str, Path]:
    folder = serving_dir(settings)
    return {p.stem: p for p in folder.glob("*.parquet")} if folder.exists() else {}


def query_marts(settings: Any, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Rows of `sql` (tables as marts.<name>, ``?`` placeholders) against the served marts."""
    if settings.warehouse == "postgres":
        return PostgresWarehouse(settings.postgres_warehouse_url).query(sql, params)
    files = snapshot_files(settings)
    if not files:
        raise MartsUnavailable("no marts yet: run `campaigns build`")
    con = duckdb.connect()
    try:
        con.execute(f"create schema {MARTS_SCHEMA}")
        for name, path in files.items():
            con.execute(f"create view {MARTS_SCHEMA}.\"{name}\" as select * from read_parquet('{path}')")
        return pl.from_arrow(con.sql(sql, params=list(params) if params else None).to_arrow_table())  # type: ignore[return-value]
    finally:
        con.close()
