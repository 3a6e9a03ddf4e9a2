"""Predicted performance of a repurposed output, from the merchant's own history.

The prediction is the middle half of what the merchant's past posts on the same platform
earned (clicks and impressions per post: median, 25th and 75th percentile), read from the
dbt mart ``marts.social_post_history``; for email, the click-to-open rate of past campaigns
from ``marts.email_engagement_daily`` and the UTC weekday and hour that drew the most clicks
from ``marts.email_engagement_by_hour``. The marts are read as the app reads them: from the
serving snapshot on the embedded default, live on PostgreSQL. Angles and wording are not modelled, so every variant of a format
gets the same range. Where there is no warehouse or too little history the prediction is
null and `reason` says why; ads get null (ad performance depends on bids, not on copy alone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from campaigns.warehouse.serving import MartsUnavailable, query_marts

MIN_POSTS = 5


class PerformanceHistory(Protocol):
    def predict(self, fmt: str) -> tuple[dict[str, Any] | None, str | None]: ...


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class NoHistory:
    reason: str = "no history: the warehouse has not been built (run `campaigns build`)"

    def predict(self, fmt: str) -> tuple[dict[str, Any] | None, str | None]:
        return None, self.reason


@dataclass
class PostHistory:
    """Per-platform lists of past posts' (impressions, clicks), and email opens/clicks per campaign."""

    posts: Mapping[str, list[tuple[float, float]]] = field(default_factory=dict)
    email: tuple[int, int] | None = None  # (opened, clicked) over past campaigns
    email_best: tuple[int, int] | None = None  # (weekday 0 = Monday, hour), UTC, with the most clicks

    def predict(self, fmt: str) -> tuple[dict[str, Any] | None, str | None]:
        if fmt == "ads":
            return None, "ad results depend on bids and budget, not on the copy alone; see the plan's prediction"
        if fmt == "email":
            if not self.email or self.email[0] < 50:
                return None, "fewer than 50 past email opens in the warehouse; no click-to-open estimate yet"
            opened, clicked = self.email
            out: dict[str, Any] = {"metric": "click_to_open_rate", "expected": round(clicked / opened, 4), "basis": f"{opened} opens of past emails"}
            if self.email_best is not None:
                out["best_weekday_utc"], out["best_hour_utc"] = self.email_best
            return out, None
        rows = self.posts.get(fmt, [])
        if len(rows) < MIN_POSTS:
            return None, f"{len(rows)} past {fmt} posts in the warehouse; at least {MIN_POSTS} are needed"
        clicks = [c for _, c in rows]
        impressions = [i for i, _ in rows]
        return {
            "metric": "clicks_per_post",
            "expected": round(_quantile(clicks, 0.5), 1),
            "low": round(_quantile(clicks, 0.25), 1),
            "high": round(_quantile(clicks, 0.75), 1),
            "impressions_expected": round(_quantile(impressions, 0.5)),
            "basis": f"median and middle half of {len(rows)} past {fmt} posts",
        }, None


def warehouse_history(settings: Any, merchant_id: str) -> PerformanceHistory:
    """History from the configured warehouse, or `NoHistory` with the reason it is missing."""

    if not re.fullmatch(r"[\w.-]{1,80}", merchant_id):
        return NoHistory(f"merchant id {merchant_id!r} is not a plain id")
    try:
        posts = query_marts(settings, "select platform, impressions, clicks from marts.social_post_history where merchant_id = ?", [merchant_id])
        events = query_marts(
            settings,
            "select event_type, sum(events) as n from marts.email_engagement_daily "
            "where merchant_id = ? and event_type in ('opened', 'clicked') group by event_type",
            [merchant_id],
        )
    except MartsUnavailable:
        return NoHistory()
    except Exception as exc:  # a missing mart (a build from before it existed): history is optional
        return NoHistory(f"no posting history in the warehouse ({type(exc).__name__}); run `campaigns build` after importing posts")
    by_platform: dict[str, list[tuple[float, float]]] = {}
    for platform, impressions, clicks in posts.iter_rows():
        by_platform.setdefault(platform, []).append((float(impressions or 0), float(clicks or 0)))
    counts = {row[0]: int(row[1]) for row in events.iter_rows()}
    email = (counts.get("opened", 0), counts.get("clicked", 0)) if counts else None
    return PostHistory(by_platform, email, _best_email_hour(settings, merchant_id))


def _best_email_hour(settings: Any, merchant_id: str) -> tuple[int, int] | None:
    """The UTC weekday and hour whose emails drew the most clicks (then opens), from marts.email_engagement_by_hour."""
    try:
        best = query_marts(settings, "select event_weekday, event_hour from marts.email_engagement_by_hour where merchant_id = ? and clicks > 0 "
                                     "order by clicks desc, opens desc, event_weekday, event_hour limit 1", [merchant_id])
    except Exception:  # a build from before the mart existed: the estimate stands without a best hour
        return None
    return (int(best.row(0)[0]), int(best.row(0)[1])) if best.height else None
