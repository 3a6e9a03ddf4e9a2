"""Curve fitting recovers the parameters of synthetic data generated from each family."""

import numpy as np
import pytest

from optimizers.curves import CurveSpec, Exponential, Hill, Log, adstock
from optimizers.fitting import FittingError, fit_all, fit_best, fit_curve


def synthetic(curve, decay=0.5, days=364, seed=0, noise=0.03, top=9000.0):
    """Spend held at random levels for two weeks at a time, so adstocked spend spans the curve."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(0, top, days // 14 + 1)
    spend = np.repeat(levels, 14)[:days] * rng.uniform(0.8, 1.2, days)
    revenue = curve.value(adstock(spend, decay)) * (1 + noise * rng.standard_normal(days))
    return spend, revenue


# (truth, relative tolerance): a concave Hill's a and k trade off against each other
# within the noise, so it is recovered less tightly
TRUTHS = [
    (Exponential(5000.0, 1200.0), 0.05),
    (Hill(9000.0, 3000.0, 2.2), 0.05),
    (Hill(6000.0, 2500.0, 3.0), 0.05),
    (Log(800.0, 500.0), 0.05),
    (Hill(4000.0, 1500.0, 0.7), 0.12),
]


@pytest.mark.parametrize("truth, rel", TRUTHS, ids=lambda c: f"{c.family}-{c.params()}" if hasattr(c, "family") else "")
def test_recovers_known_parameters(truth, rel):
    spend, revenue = synthetic(truth)
    fit = fit_curve(spend, revenue, truth.family)
    for name, value in truth.params().items():
        assert fit.params[name] == pytest.approx(value, rel=rel), name
    assert fit.decay == pytest.approx(0.5, abs=0.03)
    assert fit.r2 > 0.98
    # holdout RMSE is close to the noise level (3% of revenue), not to the revenue itself
    assert fit.holdout_rmse < 0.1 * np.abs(revenue).mean()
    assert fit.spend_range == (spend.min(), spend.max())
    assert fit.holdout_metric == "rmse"


def test_fit_best_picks_lowest_holdout_error():
    spend, revenue = synthetic(Log(800.0, 500.0), seed=3)
    fits = fit_all(spend, revenue)
    best = fit_best(spend, revenue)
    assert best.holdout_rmse == min(f.holdout_rmse for f in fits.values())
    # (a 3-parameter concave Hill may legitimately tie with log on log data)


def test_fit_best_picks_the_generating_family_when_shapes_differ():
    for truth in (Exponential(5000.0, 1200.0), Hill(9000.0, 3000.0, 2.2)):
        spend, revenue = synthetic(truth, seed=3)
        assert fit_best(spend, revenue).family == truth.family


def test_concave_hill_option_keeps_slope_at_most_one():
    spend, revenue = synthetic(Hill(9000.0, 3000.0, 2.2))
    fit = fit_curve(spend, revenue, "hill", concave_hill=True)
    assert fit.params["s"] <= 1.0 + 1e-9


def test_bootstrap_samples_bracket_the_truth_and_are_reproducible():
    truth = Exponential(5000.0, 1200.0)
    spend, revenue = synthetic(truth, noise=0.05)
    fit = fit_curve(spend, revenue, "exponential")
    samples = fit.bootstrap(40, seed=7)
    assert len(samples) == 40 and all(isinstance(s, CurveSpec) for s in samples)
    a = np.array([s.root.a for s in samples])
    assert a.std() > 0
    assert a.min() < 5000.0 * 1.03 and a.max() > 5000.0 * 0.97
    again = fit.bootstrap(40, seed=7)
    assert [s.root.a for s in again] == list(a)


def test_fit_feeds_an_allocation_channel():
    spend, revenue = synthetic(Log(800.0, 500.0))
    fields = fit_curve(spend, revenue, "log").channel_fields()
    assert fields["curve"]["family"] == "log"
    assert fields["observed_min"] <= fields["observed_max"]


@pytest.mark.parametrize(
    "spend, revenue, family, words",
    [
        (np.ones(5), np.ones(5), "log", "at least 10"),
        (np.r_[np.ones(19), np.nan], np.ones(20), "log", "finite"),
        (np.r_[np.ones(19), -1.0], np.ones(20), "log", ">= 0"),
        (np.zeros(20), np.ones(20), "log", "zero every day"),
        (np.ones(20), np.ones(20), "gamma", "unknown family"),
    ],
)
def test_bad_data_raises(spend, revenue, family, words):
    with pytest.raises(FittingError, match=words):
        fit_curve(spend, revenue, family)
