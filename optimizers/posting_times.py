"""Best posting times per account: engagement by local weekday x hour, shrunk toward a prior.

Pure functions (polars in, dataclasses out). A post's engagement rate is
(likes + shares + clicks) / impressions. Each weekday x hour cell's rate is the mean of its
posts' rates shrunk toward a prior (the platform's default daily curve scaled to the
account's own mean rate) with weight n / (n + PRIOR_POSTS): with no posts a cell is the
prior, with many posts it is the data. The stated confidence is that weight, and the 90%
interval uses the between-post spread of the account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

PRIOR_POSTS = 5.0  # a cell's own posts outweigh the prior once it has more than five
Z90 = 1.645

# Relative engagement by local hour before any history: a documented default, not data.
# Mornings and early evenings on professional networks; lunch and evenings elsewhere.
DEFAULT_HOUR_CURVES: dict[str, tuple[float, ...]] = {
    "x": (0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.3, 1.2, 1.1, 1.1, 1.3, 1.1, 1.0, 1.0, 1.1, 1.3, 1.2, 1.1, 1.0, 0.9, 0.7, 0.5),
    "linkedin": (0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.3, 1.5, 1.4, 1.2, 1.2, 1.4, 1.1, 1.0, 1.0, 1.1, 1.1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2),
    "facebook": (0.3, 0.2, 0.2, 0.2, 0.3, 0.4, 0.6, 0.8, 0.9, 1.0, 1.0, 1.1, 1.3, 1.3, 1.1, 1.0, 1.0, 1.1, 1.2, 1.4, 1.4, 1.2, 0.9, 0.6),
    "instagram": (0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.2, 1.1, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4, 1.4, 1.3, 1.0, 0.6),
}
WEEKEND_FACTOR = 0.85  # weekend days before history says otherwise


@dataclass(frozen=True)
class Cell:
    weekday: int  # 0 = Monday, local time of the account
    hour: int
    posts: int
    rate: float  # shrunk engagement rate
    low: float  # 90% interval
    high: float
    confidence: float  # weight of the cell's own data, 0..1

    @property
    def confidence_label(self) -> str:
        return "high" if self.confidence >= 0.7 else "medium" if self.confidence >= 0.4 else "low"


@dataclass(frozen=True)
class Heatmap:
    platform: str
    timezone: str
    account_rate: float
    posts: int
    cells: tuple[Cell, ...]  # 7 x 24, weekday-major

    def cell(self, weekday: int, hour: int) -> Cell:
        return self.cells[weekday * 24 + hour]

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [{"weekday": c.weekday, "hour": c.hour, "posts": c.posts, "rate": c.rate, "low": c.low, "high": c.high, "confidence": c.confidence} for c in self.cells]
        )


def engagement_heatmap(posts: pl.DataFrame, timezone: str, platform: str, default_rate: float = 0.03) -> Heatmap:
    """`posts`: columns posted_at (UTC), impressions, likes, shares, clicks."""
    curve = DEFAULT_HOUR_CURVES.get(platform)
    if curve is None:
        raise ValueError(f"no default engagement curve for platform {platform!r}; use one of {', '.join(DEFAULT_HOUR_CURVES)}")
    ZoneInfo(timezone)  # fail early on an unknown zone
    usable = posts.filter(pl.col("impressions") > 0)
    rated = usable.with_columns(
        ((pl.col("likes") + pl.col("shares") + pl.col("clicks")) / pl.col("impressions")).alias("rate"),
        pl.col("posted_at").dt.convert_time_zone(timezone).alias("local"),
    ).with_columns((pl.col("local").dt.weekday() - 1).alias("weekday"), pl.col("local").dt.hour().cast(pl.Int64).alias("hour"))
    account_rate = float(rated["rate"].mean()) if rated.height else default_rate
    spread = float(rated["rate"].std()) if rated.height > 1 else account_rate * 0.5
    by_cell = {(r["weekday"], r["hour"]): (r["n"], r["mean"]) for r in rated.group_by("weekday", "hour").agg(pl.len().alias("n"), pl.col("rate").mean().alias("mean")).iter_rows(named=True)}
    mean_curve = sum(curve) / 24
    cells = []
    for weekday in range(7):
        for hour in range(24):
            prior = account_rate * curve[hour] / mean_curve * (WEEKEND_FACTOR if weekday >= 5 else 1.0)
            n, mean = by_cell.get((weekday, hour), (0, 0.0))
            weight = n / (n + PRIOR_POSTS)
            rate = weight * mean + (1 - weight) * prior
            half = Z90 * spread / math.sqrt(n + PRIOR_POSTS)
            cells.append(Cell(weekday, hour, int(n), rate, max(0.0, rate - half), rate + half, weight))
    return Heatmap(platform, timezone, account_rate, rated.height, tuple(cells))


@dataclass(frozen=True)
class Slot:
    at: datetime  # UTC
    local: datetime
    rate: float
    confidence: str


def next_best_slots(
    heatmap: Heatmap,
    n: int,
    now: datetime,
    taken: list[datetime] | None = None,
    min_gap: timedelta = timedelta(hours=3),
    max_per_day: int = 3,
    horizon_days: int = 7,
) -> list[Slot]:
    """The `n` best future hour slots in the next `horizon_days`, at least `min_gap` from any
    taken or chosen slot and at most `max_per_day` posts per local day (rate limits)."""
    if n < 1:
        raise ValueError("ask for at least one slot")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(heatmap.timezone)
    local_now = now.astimezone(zone)
    start = (local_now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    candidates = []
    for offset in range(horizon_days * 24):
        # step in UTC so DST changes neither skip nor repeat an hour
        at = (start.astimezone(ZoneInfo("UTC")) + timedelta(hours=offset)).astimezone(zone)
        cell = heatmap.cell(at.weekday(), at.hour)
        candidates.append((cell.rate, at, cell))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    chosen: list[Slot] = []
    blocked = [t.astimezone(zone) for t in (taken or [])]
    per_day: dict = {}
    for t in blocked:
        per_day[t.date()] = per_day.get(t.date(), 0) + 1
    for rate, at, cell in candidates:
        if any(abs(at - b) < min_gap for b in blocked):
            continue
        if per_day.get(at.date(), 0) >= max_per_day:
            continue
        chosen.append(Slot(at.astimezone(ZoneInfo("UTC")), at, rate, cell.confidence_label))
        blocked.append(at)
        per_day[at.date()] = per_day.get(at.date(), 0) + 1
        if len(chosen) == n:
            break
    return sorted(chosen, key=lambda s: s.at)
