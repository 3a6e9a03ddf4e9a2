"""Campaign x channel response curves recover known parameters from hand-made daily series."""

import json
import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from campaigns.budget.curves import CAMPAIGN_BOOTSTRAP_SAMPLES, CAMPAIGN_KEYS, MIN_DAYS, daily_series, fit_campaign_channels

# same channel, different saturation per campaign: revenue/day = a (1 - exp(-spend / b)), no carry-over
TRUTH = {("c1", "search"): (900.0, 300.0), ("c2", "search"): (400.0, 120.0), ("c1", "email"): (600.0, 60.0)}
LEVEL = {"search": 250.0, "email": 50.0}


def _frames(days: int = 40, seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    spend_rows, revenue_rows = [], []
    for (campaign, channel), (a, b) in TRUTH.items():
        for d in range(days):
            day = date(2026, 9, 1) + timedelta(days=d)
            spend = LEVEL[channel] * rng.uniform(0.3, 1.7)
            key = {"merchant_id": "m", "campaign_id": campaign, "channel": channel, "day": day}
            spend_rows.append({**key, "spend": spend})
            revenue_rows.append({**key, "revenue": a * (1 - math.exp(-spend / b)) * rng.normal(1, 0.02)})
    return pl.DataFrame(spend_rows), pl.DataFrame(revenue_rows)


def test_fits_each_campaign_channel_with_its_own_curve() -> None:
    spend, revenue = _frames()
    curves = fit_campaign_channels(daily_series(spend, revenue, CAMPAIGN_KEYS))
    assert {(r["campaign_id"], r["channel"]) for r in curves.iter_rows(named=True)} == set(TRUTH)
    for r in curves.iter_rows(named=True):
        a, b = TRUTH[(r["campaign_id"], r["channel"])]
        params = json.loads(r["params"])
        grid = np.linspace(0.3, 1.7, 15) * LEVEL[r["channel"]]
        from optimizers.curves import CurveSpec

        fitted = CurveSpec.model_validate({"family": r["family"], **params}).to_curve().value(grid)
        # within the observed range the fitted curve is the true one, up to the 2% noise
        assert np.allclose(fitted, a * (1 - np.exp(-grid / b)), rtol=0.05), (r["campaign_id"], r["channel"], r["family"], params)
        assert r["r2"] > 0.9 and r["holdout_rmse"] < 0.05 * a
        assert r["adstock_decay"] < 0.1
        sub = spend.filter((pl.col("campaign_id") == r["campaign_id"]) & (pl.col("channel") == r["channel"]))
        assert (r["observed_min"], r["observed_max"]) == pytest.approx((sub["spend"].min(), sub["spend"].max()))
        assert r["current_daily_spend"] == pytest.approx(sub.sort("day").tail(28)["spend"].mean())
        samples = json.loads(r["bootstrap"])
        assert len(samples) == CAMPAIGN_BOOTSTRAP_SAMPLES and all(set(s) == set(params) for s in samples)
        boot = [CurveSpec.model_validate({"family": r["family"], **s}).to_curve().value(LEVEL[r["channel"]]) for s in samples]
        truth_at_level = a * (1 - math.exp(-LEVEL[r["channel"]] / b))
        assert min(boot) < truth_at_level * 1.03 and max(boot) > truth_at_level * 0.97  # the spread covers the truth


def test_short_campaigns_are_skipped() -> None:
    spend, revenue = _frames(days=MIN_DAYS - 1)
    assert fit_campaign_channels(daily_series(spend, revenue, CAMPAIGN_KEYS)).height == 0
