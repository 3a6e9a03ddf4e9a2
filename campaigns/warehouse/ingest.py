"""Ingest steps shared by the Dagster assets and the CLI: landing files and the store into `raw`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import select

from campaigns.settings import Settings
from campaigns.store.db import migrate, session_scope
from campaigns.store.models import Campaign
from campaigns.warehouse.connection import Warehouse
from campaigns.warehouse.landing import landing_files
from campaigns.warehouse.schema import CAMPAIGNS, LOADED_AT, RAW_SCHEMA, RawTable


def load_landed_table(settings: Settings, warehouse: Warehouse, table: RawTable) -> tuple[int, int]:
    """Rebuild raw.<table> from its landing files; returns (rows, files)."""
    files = landing_files(settings.landing_dir, table)
    return warehouse.load_raw(table, files), len(files)


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
