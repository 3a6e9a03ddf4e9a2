"""Merchant response curves and the budget recommendation (plan_merchant) from daily series with a known truth."""

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from campaigns.budget.curves import daily_series, fit_channels
from campaigns.budget.planning import MAX_CHANGE, plan_merchant

TRUTH = {"search": (900.0, 300.0), "social": (300.0, 80.0)}  # revenue = a * (1 - exp(-spend / b)) per day


def _frames(days: int = 60, seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    spend_rows, revenue_rows = [], []
    for channel, (a, b) in TRUTH.items():
        level = 250.0 if channel == "search" else 150.0
        for d in range(days):
            day = date(2026, 9, 1) + timedelta(days=d)
            spend = level * rng.uniform(0.3, 1.7)
            spend_rows.append({"merchant_id": "m", "channel": channel, "day": day, "spend": spend})
            revenue_rows.append({"merchant_id": "m", "channel": channel, "day": day, "revenue": a * (1 - np.exp(-spend / b)) * rng.normal(1, 0.03)})
    return pl.DataFrame(spend_rows), pl.DataFrame(revenue_rows)


def test_daily_series_fills_days_without_spend_or_revenue() -> None:
    spend = pl.DataFrame({"merchant_id": ["m", "m"], "channel": ["x", "x"], "day": [date(2026, 1, 1), date(2026, 1, 3)], "spend": [10.0, 30.0]})
    revenue = pl.DataFrame({"merchant_id": ["m"], "channel": ["x"], "day": [date(2026, 1, 2)], "revenue": [5.0]})
    series = daily_series(spend, revenue)
    assert series.select("day", "spend", "revenue").rows() == [(date(2026, 1, 1), 10.0, 0.0), (date(2026, 1, 2), 0.0, 5.0), (date(2026, 1, 3), 30.0, 0.0)]


def test_fitted_curves_and_recommendation_beat_a_brute_force_grid_on_the_truth() -> None:
    curves = fit_channels(daily_series(*_frames()))
    assert set(curves["channel"]) == {"search", "social"}
    assert (curves["r2"] > 0.8).all()
    table, texts = plan_merchant(curves)
    rec = {r["channel"]: r["recommended_daily_spend"] for r in table.iter_rows(named=True)}
    cur = {r["channel"]: r["current_daily_spend"] for r in table.iter_rows(named=True)}
    budget = sum(cur.values())
    assert sum(rec.values()) == pytest.approx(budget, rel=1e-6)
    for ch in rec:  # at most 30% change per channel
        assert cur[ch] * (1 - MAX_CHANGE) - 1e-6 <= rec[ch] <= cur[ch] * (1 + MAX_CHANGE) + 1e-6

    def truth(alloc: dict[str, float]) -> float:
        return sum(a * (1 - np.exp(-alloc[c] / b)) for c, (a, b) in TRUTH.items())

    # independent reference: grid over the feasible band, evaluated on the generating curves
    best = max(
        truth({"search": s, "social": budget - s})
        for s in np.linspace(cur["search"] * (1 - MAX_CHANGE), cur["search"] * (1 + MAX_CHANGE), 2001)
        if cur["social"] * (1 - MAX_CHANGE) <= budget - s <= cur["social"] * (1 + MAX_CHANGE)
    )
    assert truth(rec) >= best * 0.995  # within fitting noise of the true optimum
    assert truth(rec) >= truth(cur)
    assert texts["m"] and all("expected revenue per day" in t for t in texts["m"])
    params = json.loads(curves.filter(pl.col("channel") == "social")["params"][0])
    assert params  # stored as JSON for the app


def test_too_short_history_gives_no_curve() -> None:
    spend, revenue = _frames(days=10)
    assert fit_channels(daily_series(spend, revenue)).height == 0
