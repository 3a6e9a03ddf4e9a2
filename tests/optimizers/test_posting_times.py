"""Posting-time model: hand-computed shrinkage, truth recovery on demo history, slot rules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from optimizers.posting_times import DEFAULT_HOUR_CURVES, PRIOR_POSTS, engagement_heatmap, next_best_slots


def _posts(rows: list[tuple[datetime, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"posted_at": [r[0] for r in rows], "impressions": [r[1] for r in rows], "likes": [r[2] for r in rows], "shares": [0] * len(rows), "clicks": [0] * len(rows)},
        schema_overrides={"posted_at": pl.Datetime("us", "UTC")},
    )


def test_shrinkage_by_hand() -> None:
    # Two posts on Monday 09:00 New York (14:00 UTC in January): rates 0.10 and 0.06, mean 0.08.
    monday = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    heat = engagement_heatmap(_posts([(monday, 1000, 100), (monday + timedelta(days=7), 1000, 60)]), "America/New_York", "x")
    assert heat.account_rate == pytest.approx(0.08)
    curve = DEFAULT_HOUR_CURVES["x"]
    prior = 0.08 * curve[9] / (sum(curve) / 24)
    weight = 2 / (2 + PRIOR_POSTS)
    cell = heat.cell(0, 9)
    assert cell.posts == 2 and cell.confidence == pytest.approx(weight)
    assert cell.rate == pytest.approx(weight * 0.08 + (1 - weight) * prior)
    assert cell.confidence_label == "low"
    # an empty weekend cell is the prior with the weekend factor and no confidence
    assert heat.cell(6, 9).rate == pytest.approx(prior * 0.85) and heat.cell(6, 9).confidence == 0


def test_recovers_the_demo_truth_peak_hours() -> None:
    from datetime import date

    from campaigns.demo.generator import PEAK_HOURS, generate

    data = generate("demo", 7, date(2026, 11, 24))
    posts = data.tables["social_posts"].filter(pl.col("platform") == "facebook")
    heat = engagement_heatmap(posts, "America/New_York", "facebook")
    by_hour = heat.to_frame().filter(pl.col("weekday") < 5).group_by("hour").agg(pl.col("rate").mean()).sort("rate", descending=True)
    assert set(by_hour["hour"].head(4).to_list()) & set(PEAK_HOURS["facebook"])


def test_slots_keep_gaps_daily_limits_and_are_in_the_future() -> None:
    heat = engagement_heatmap(_posts([]), "Europe/Berlin", "linkedin")
    now = datetime(2026, 3, 27, 6, 30, tzinfo=UTC)  # DST starts in Berlin on Sunday 29 March
    taken = [datetime(2026, 3, 27, 7, 0, tzinfo=UTC)]
    slots = next_best_slots(heat, 6, now, taken=taken, min_gap=timedelta(hours=3), max_per_day=2)
    assert len(slots) == 6
    assert all(s.at > now for s in slots)
    everything = sorted([*taken, *(s.at for s in slots)])
    assert all(b - a >= timedelta(hours=3) for a, b in zip(everything, everything[1:], strict=False))
    per_day: dict = {}
    for t in everything:
        day = t.astimezone(ZoneInfo("Europe/Berlin")).date()
        per_day[day] = per_day.get(day, 0) + 1
    assert max(per_day.values()) <= 2
    # the best slot of a weekday under the LinkedIn prior is in the morning
    assert {s.local.hour for s in slots} <= {7, 8, 9, 10, 11, 12, 13}


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="no default engagement curve for platform 'myspace'"):
        engagement_heatmap(_posts([]), "UTC", "myspace")
    heat = engagement_heatmap(_posts([]), "UTC", "x")
    with pytest.raises(ValueError, match="timezone-aware"):
        next_best_slots(heat, 1, datetime(2026, 1, 1))
