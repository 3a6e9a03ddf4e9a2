"""Ingest steps shared by the Dagster assets and the CLI: landing files and the store into `raw`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import select

from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Campaign
from campaigns.warehouse.connection import Warehouse
from campaigns.warehouse.landing import landing_files
from campaigns.warehouse.schema import CAMPAIGNS, LOADED_AT, RAW_SCHEMA, RawTable


def load_landed_table(settings: Settings, warehouse: Warehouse, table: RawTable) -> tuple[int, int]:
    """Rebuild raw.<table> from its landing files; returns (rows, files)."""
    files = landing_files(settings.landing_dir, table)
    return warehouse.load_raw(table, files), len(files)


def load_landed_merchants(settings: Settings, warehouse: Warehouse, table: RawTable, merchants: Sequence[str]) -> tuple[int, int]:
    """Replace the rows of `merchants` in raw.<table> with their landing files; returns (rows, files)."""
    files = landing_files(settings.landing_dir, table, merchants)
    return warehouse.load_raw_merchants(table, files, merchants), len(files)


def landed_dates(settings: Settings, table: RawTable, column: str = "date") -> tuple[date, date] | None:
    """First and last `column` date over a table's landing files (Parquet statistics), or None without files."""
    files = landing_files(settings.landing_dir, table)
    if not files:
        return None
    bounds = pl.scan_parquet(files).select(pl.col(column).min().alias("first"), pl.col(column).max().alias("last")).collect()
    first, last = bounds.row(0)
    return None if first is None else (first, last)


def loaded_dates(warehouse: Warehouse, table: RawTable, column: str = "date") -> tuple[date, date] | None:
    """First and last `column` date in raw.<table>, or None when it is empty or does not exist yet."""
    try:
        relations = warehouse.relations()
    except FileNotFoundError:  # no DuckDB file yet
        return None
    if not ((relations["schema"] == RAW_SCHEMA) & (relations["name"] == table.name)).any():
        return None
    bounds = warehouse.query(f'select min("{column}") as first, max("{column}") as last from {RAW_SCHEMA}.{table.name}')
    first, last = bounds.row(0)
    return None if first is None else (first, last)


def landed_outside(settings: Settings, table: RawTable, start: date, end: date, column: str = "date") -> int:
    """How many landed rows have `column` outside start <= column < end (they belong to no partition)."""
    files = landing_files(settings.landing_dir, table)
    if not files:
        return 0
    outside = (pl.col(column) < start) | (pl.col(column) >= end)
    return int(pl.scan_parquet(files).filter(outside).select(pl.len()).collect().item())


def landed_rows_between(settings: Settings, table: RawTable, start: date, end: date, column: str = "date") -> pl.DataFrame:
    """The landed rows with start <= column < end, all merchants, the newest import of each key winning."""
    files = landing_files(settings.landing_dir, table)
    if not files:
        return pl.DataFrame(schema=table.polars_schema)
    in_range = (pl.col(column) >= start) & (pl.col(column) < end)
    # The file's rank in import order decides which row of a re-imported key wins.
    frames = [pl.scan_parquet(f).filter(in_range).with_columns(pl.lit(i).alias("_file")) for i, f in enumerate(files)]
    frame = pl.concat(frames).collect()
    if len({f.parent for f in files}) < len(files):  # one file per merchant holds unique keys already
        frame = frame.sort("_file").unique(subset=list(table.key), keep="last", maintain_order=True)
    return frame.select(table.column_names).cast(table.polars_schema)  # type: ignore[arg-type]


def load_landed_days(settings: Settings, warehouse: Warehouse, table: RawTable, start: date, end: date, column: str = "date") -> int:
    """Replace raw.<table>'s days start <= column < end with their landed rows, in one transaction."""
    frame = landed_rows_between(settings, table, start, end, column)
    frame = frame.with_columns(pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT))
    return warehouse.replace_between(RAW_SCHEMA, table.name, frame, column, start, end)


def campaigns_snapshot(settings: Settings) -> pl.DataFrame:
    migrate(settings.store_url)
    with session_scope(settings.store_url) as session:
        rows = [
            {
                "merchant_id": c.merchant_id, "campaign_id": c.id, "name": c.name, "campaign_type": str(c.type),
                "status": str(c.status), "budget": float(c.budget) if c.budget is not None else None,
                "start_date": c.start_date, "end_date": c.end_date, "channels": json.dumps(c.channels), "updated_at": c.updated_at,
            }
            for c in session.scalars(select(Campaign).order_by(Campaign.merchant_id, Campaign.id))
        ]
    frame = pl.DataFrame(rows, schema=CAMPAIGNS.polars_schema) if rows else pl.DataFrame(schema=CAMPAIGNS.polars_schema)
    return frame.with_columns(pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT))


def load_campaigns_snapshot(settings: Settings, warehouse: Warehouse) -> int:
    return warehouse.replace_table(RAW_SCHEMA, CAMPAIGNS.name, campaigns_snapshot(settings))
