"""Contracts of the raw tables that imports and ingest assets fill.

One source of truth for column names, portable SQL types and polars dtypes, so the import
validator, the landing files, the loaders and dbt's sources agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

RAW_SCHEMA = "raw"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # portable across DuckDB and PostgreSQL
    dtype: pl.DataType
    nullable: bool = False


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # a re-import of the same key replaces the row instead of adding one

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}


UTC_TS = pl.Datetime("us", "UTC")

TOUCHPOINTS = RawTable(
    "touchpoints",
    (
        Column("merchant_id", "varchar", pl.String()),
        Column("touchpoint_id", "varchar", pl.String()),
        Column("user_id", "varchar", pl.String()),
        Column("touched_at", "timestamp with time zone", UTC_TS),
        Column("channel", "varchar", pl.String(), nullable=True),
        Column("campaign_id", "varchar", pl.String(), nullable=True),
        Column("source", "varchar", pl.String(), nullable=True),
        Column("medium", "varchar", pl.String(), nullable=True),
    ),
    key=("merchant_id", "touchpoint_id"),
)

CONVERSIONS = RawTable(
    "conversions",
    (
        Column("merchant_id", "varchar", pl.String()),
        Column("conversion_id", "varchar", pl.String()),
        Column("user_id", "varchar", pl.String()),
        Column("converted_at", "timestamp with time zone", UTC_TS),
        Column("revenue", "double precision", pl.Float64()),
    ),
    key=("merchant_id", "conversion_id"),
)

AD_SPEND = RawTable(
    "ad_spend",
    (
        Column("merchant_id", "varchar", pl.String()),
        Column("date", "date", pl.Date()),
        Column("campaign_id", "varchar", pl.String()),
        Column("channel", "varchar", pl.String()),
        Column("spend", "double precision", pl.Float64()),
        Column("impressions", "bigint", pl.Int64()),
        Column("clicks", "bigint", pl.Int64()),
    ),
    key=("merchant_id", "date", "campaign_id", "channel"),
)

# Snapshot of the operational store's campaigns, for names, types and budgets in the marts.
CAMPAIGNS = RawTable(
    "campaigns",
    (
        Column("merchant_id", "varchar", pl.String()),
        Column("campaign_id", "varchar", pl.String()),
        Column("name", "varchar", pl.String()),
        Column("campaign_type", "varchar", pl.String()),
        Column("status", "varchar", pl.String()),
        Column("budget", "double precision", pl.Float64(), nullable=True),
        Column("start_date", "timestamp with time zone", UTC_TS, nullable=True),
        Column("end_date", "timestamp with time zone", UTC_TS, nullable=True),
        Column("channels", "varchar", pl.String(), nullable=True),
        Column("updated_at", "timestamp with time zone", UTC_TS),
    ),
    key=("merchant_id", "campaign_id"),
)

# Email engagement of contacts (sends, opens, clicks, email-led purchases): a snapshot of the store's
# contact events (campaigns.audiences.events.email_events_frame), the demo's included.
EMAIL_EVENTS = RawTable(
    "email_events",
    (
        Column("merchant_id", "varchar", pl.String()),
        Column("event_id", "varchar", pl.String()),
        Column("contact_id", "bigint", pl.Int64()),
        Column("campaign_id", "varchar", pl.String(), nullable=True),
        Column("event_type", "varchar", pl.String()),
        Column("occurred_at", "timestamp with time zone", UTC_TS),
    ),
    key=("merchant_id", "event_id"),
)

# Posting history of social accounts with the engagement each post earned: the product's own
# published posts with the counters read back from the platforms (assets/ingest/post_metrics.py)
# and the demo merchant's history, both through landing files.
SOCIAL_POSTS = RawTable(
    "social_posts",
    (
        Column("merchant_id", "varchar", pl.String()),
        Column("post_id", "varchar", pl.String()),
        Column("account_id", "bigint", pl.Int64()),
        Column("platform", "varchar", pl.String()),
        Column("campaign_id", "varchar", pl.String(), nullable=True),
        Column("posted_at", "timestamp with time zone", UTC_TS),
        # null where the platform does not report the counter (X reports no clicks)
        Column("impressions", "bigint", pl.Int64(), nullable=True),
        Column("likes", "bigint", pl.Int64(), nullable=True),
        Column("shares", "bigint", pl.Int64(), nullable=True),
        Column("clicks", "bigint", pl.Int64(), nullable=True),
    ),
    key=("merchant_id", "post_id"),
)

# GA4 sessions by day, source, medium and campaign (RunReport), one partition per day.
GA4_SESSIONS = RawTable(
    "ga4_sessions",
    (
        Column("merchant_id", "varchar", pl.String()),
        Column("date", "date", pl.Date()),
        Column("source", "varchar", pl.String(), nullable=True),
        Column("medium", "varchar", pl.String(), nullable=True),
        Column("campaign_name", "varchar", pl.String(), nullable=True),
        Column("sessions", "bigint", pl.Int64()),
        Column("conversions", "double precision", pl.Float64()),
        Column("revenue", "double precision", pl.Float64()),
    ),
    key=("merchant_id", "date", "source", "medium", "campaign_name"),
)

IMPORTABLE: dict[str, RawTable] = {"touchpoints": TOUCHPOINTS, "conversions": CONVERSIONS, "spend": AD_SPEND}
RAW_TABLES: dict[str, RawTable] = {t.name: t for t in (TOUCHPOINTS, CONVERSIONS, AD_SPEND, EMAIL_EVENTS, SOCIAL_POSTS, CAMPAIGNS)}
# Snapshots of the operational store (the store is where campaigns are made and where opens and clicks arrive).
STORE_SNAPSHOTS = (CAMPAIGNS, EMAIL_EVENTS)
LANDED_TABLES = [t for t in RAW_TABLES.values() if t not in STORE_SNAPSHOTS]
LOADED_AT = "_loaded_at"
