"""SQL the pages run, cached with a TTL. Aggregation happens in the warehouse."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from campaigns.settings import Settings
from campaigns.store.db import migrate, session_scope
from dashboards.data import MartsUnavailable, available_marts, query_marts

TTL_SECONDS = 60


def settings() -> Settings:
    return Settings()


def source() -> str:
    """Identifies the store and warehouse, so cached results never leak between configurations."""
    s = settings()
    return f"{s.store_url}|{s.warehouse}|{s.warehouse_url or s.duckdb_path}"


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def merchants(source_key: str) -> list[tuple[str, str]]:
    from campaigns.services.merchants import list_merchants

    s = settings()
    migrate(s.store_url)
    with session_scope(s.store_url) as session:
        return [(m.id, m.name) for m in list_merchants(session)]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def has_overview(source_key: str) -> bool:
    return "overview_daily" in available_marts(settings())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def overview_daily(source_key: str, merchant_id: str) -> pl.DataFrame:
    try:
        return query_marts(
            settings(),
            "select activity_date, spend, impressions, clicks, conversions, revenue "
            "from marts.overview_daily where merchant_id = ? order by activity_date",
            [merchant_id],
        )
    except MartsUnavailable:
        return pl.DataFrame()


def period_totals(daily: pl.DataFrame, end: date, days: int) -> tuple[dict[str, float], dict[str, float]]:
    """Totals of the `days` ending at `end` and of the `days` before them."""

    def totals(start_offset: int, end_offset: int) -> dict[str, float]:
        window = daily.filter(
            (pl.col("activity_date") > pl.lit(end) - pl.duration(days=start_offset))
            & (pl.col("activity_date") <= pl.lit(end) - pl.duration(days=end_offset))
        )
        spend = float(window["spend"].sum() or 0)
        revenue = float(window["revenue"].sum() or 0)
        return {
            "spend": spend,
            "revenue": revenue,
            "conversions": float(window["conversions"].sum() or 0),
            "roas": revenue / spend if spend else float("nan"),
        }

    return totals(days, 0), totals(2 * days, days)
