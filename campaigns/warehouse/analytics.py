"""Campaign analytics read from the served marts, scoped to one merchant: ROI by model, attribution, daily metrics.

Thin, typed reads for callers outside the app (the HTTP API): each returns plain rows, newest data as
the last build left it. `MartsUnavailable` when nothing was built yet.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import polars as pl

from campaigns.core.settings import Settings
from campaigns.warehouse.serving import MartsUnavailable, available_marts, query_marts, serving_dir

ROI = "roi_by_model_all_models"
ROI_COLUMNS = ("model", "model_family", "channel", "spend", "conversions", "revenue", "roas", "roi")
ATTRIBUTION = "attribution_by_channel_all_models"
PERFORMANCE = "campaign_performance_daily"
POSTS = "social_post_performance"
POST_COUNTERS = ("impressions", "likes", "shares", "comments", "clicks", "engagements")


def _need(settings: Settings, mart: str) -> None:
    if mart not in available_marts(settings):
        raise MartsUnavailable(f"no analytics yet ({mart} is not built): import data, then run `campaigns build`")


def _rows(settings: Settings, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return query_marts(settings, sql, params).to_dicts()


def models(settings: Settings, merchant_id: str) -> list[str]:
    _need(settings, ROI)
    return [r["model"] for r in _rows(settings, f"select distinct model from marts.{ROI} where merchant_id = ? order by model", [merchant_id])]


def campaign_roi(settings: Settings, merchant_id: str, campaign_id: str, model: str | None = None) -> list[dict[str, Any]]:
    """Spend, conversions, revenue, ROAS and ROI of one campaign per channel, for one attribution model or all."""
    if settings.warehouse != "postgres":  # the embedded snapshot: one read per published version, then lookups
        rows = loaded_campaign_roi(settings, merchant_id, campaign_id, model)
        if rows is not None:
            return rows
        path, version = _roi_snapshot(settings)
        grouped = _roi_by_campaign(path)
        with _ROI_LOCK:
            _ROI_LOADED.pop(path, None)
            while len(_ROI_LOADED) >= 2:  # a process serves one home; tests make many
                _ROI_LOADED.pop(next(iter(_ROI_LOADED)))
            _ROI_LOADED[path] = (version, grouped)
        return _pick(grouped, merchant_id, campaign_id, model)
    _need(settings, ROI)
    sql = (f"select {', '.join(ROI_COLUMNS)} from marts.{ROI} where merchant_id = ? and campaign_id = ?")
    params: list[Any] = [merchant_id, campaign_id]
    if model:
        sql, params = sql + " and model = ?", [*params, model]
    return _rows(settings, sql + " order by model, channel", params)


def loaded_campaign_roi(settings: Settings, merchant_id: str, campaign_id: str, model: str | None = None) -> list[dict[str, Any]] | None:
    """`campaign_roi` when it needs no reading (the embedded snapshot this process holds is the current one): a lookup,
    cheap enough for the event loop; None when `campaign_roi` has to read (a new snapshot, or the PostgreSQL warehouse)."""
    if settings.warehouse == "postgres":
        return None
    path, version = _roi_snapshot(settings)
    loaded = _ROI_LOADED.get(path)
    return _pick(loaded[1], merchant_id, campaign_id, model) if loaded is not None and loaded[0] == version else None


# snapshot path -> (its version, its rows by (merchant, campaign)); a snapshot the pipeline replaces (atomic rename) is read again
_ROI_LOADED: dict[str, tuple[tuple[int, int, int], dict[tuple[str, str], list[dict[str, Any]]]]] = {}
_ROI_LOCK = threading.Lock()


def _roi_snapshot(settings: Settings) -> tuple[str, tuple[int, int, int]]:
    """The ROI snapshot's path and version (inode, mtime, size)."""
    snapshot = serving_dir(settings) / f"{ROI}.parquet"
    try:
        stat = snapshot.stat()
    except FileNotFoundError:
        raise MartsUnavailable(f"no analytics yet ({ROI} is not built): import data, then run `campaigns build`") from None
    return str(snapshot), (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _pick(grouped: dict[tuple[str, str], list[dict[str, Any]]], merchant_id: str, campaign_id: str, model: str | None) -> list[dict[str, Any]]:
    return [dict(r) for r in grouped.get((merchant_id, campaign_id), []) if model is None or r["model"] == model]


def _roi_by_campaign(path: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The ROI snapshot grouped by (merchant, campaign), ordered by model and channel: a few rows per campaign, model and channel."""
    frame = pl.read_parquet(path, columns=["merchant_id", "campaign_id", *ROI_COLUMNS]).sort(["merchant_id", "campaign_id", "model", "channel"])
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        grouped.setdefault((row.pop("merchant_id"), row.pop("campaign_id")), []).append(row)
    return grouped


def attribution_by_channel(settings: Settings, merchant_id: str, model: str | None = None) -> list[dict[str, Any]]:
    _need(settings, ATTRIBUTION)
    sql = f"select model, model_family, channel, conversions, revenue from marts.{ATTRIBUTION} where merchant_id = ?"
    params: list[Any] = [merchant_id]
    if model:
        sql, params = sql + " and model = ?", [*params, model]
    return _rows(settings, sql + " order by model, channel", params)


def campaign_daily_metrics(settings: Settings, merchant_id: str, campaign_id: str, start: date | None = None, end: date | None = None,
                           model: str | None = None) -> list[dict[str, Any]]:
    _need(settings, PERFORMANCE)
    sql = (f"select activity_date, channel, attribution_model, impressions, clicks, conversions, spend, revenue, ctr, cvr, cpc, cpa, roas, roi "
           f"from marts.{PERFORMANCE} where merchant_id = ? and campaign_id = ?")
    params: list[Any] = [merchant_id, campaign_id]
    for clause, value in (("activity_date >= ?", start), ("activity_date <= ?", end), ("attribution_model = ?", model)):
        if value is not None:
            sql, params = f"{sql} and {clause}", [*params, value]
    return _rows(settings, sql + " order by activity_date, channel, attribution_model", params)


def post_metrics(settings: Settings, merchant_id: str, queue_item_id: int) -> dict[str, Any] | None:
    """The counters last fetched from the platform for one published post (`social_post_performance`), or None when
    they have not been fetched yet (the post is not published, the day's metrics have not been read, or nothing is built)."""
    if POSTS not in available_marts(settings):
        return None
    rows = _rows(settings, f"select {', '.join(POST_COUNTERS)}, engagement_rate, fetched_at, sandbox from marts.{POSTS} "
                           "where merchant_id = ? and queue_item_id = ? order by fetched_at desc limit 1", [merchant_id, queue_item_id])
    return rows[0] if rows else None
