"""Curve families, adstock and CurveSpec validation, checked against formulas and finite differences."""

import math

import numpy as np
import pytest
from pydantic import ValidationError

from optimizers.curves import CurveSpec, Exponential, Hill, Log, adstock

CURVES = [Exponential(5000.0, 1200.0), Hill(9000.0, 3000.0, 2.2), Hill(4000.0, 800.0, 0.6), Hill(100.0, 10.0, 1.0), Log(800.0, 500.0)]


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: f"{c.family}")
def test_derivatives_match_central_differences(curve):
    x = np.linspace(50.0, 9000.0, 40)
    h = 1e-3
    fd1 = (curve.value(x + h) - curve.value(x - h)) / (2 * h)
    fd2 = (curve.derivative(x + h) - curve.derivative(x - h)) / (2 * h)
    np.testing.assert_allclose(curve.derivative(x), fd1, rtol=1e-6)
    np.testing.assert_allclose(curve.second_derivative(x), fd2, rtol=1e-4, atol=1e-12)


def test_values_match_formulas():
    x = np.array([0.0, 100.0, 3000.0, 1e6])
    np.testing.assert_allclose(Exponential(5000.0, 1200.0).value(x), 5000 * (1 - np.exp(-x / 1200)))
    np.testing.assert_allclose(Log(800.0, 500.0).value(x), 800 * np.log(1 + x / 500))
    np.testing.assert_allclose(Hill(9000.0, 3000.0, 2.2).value(x), 9000 * x**2.2 / (x**2.2 + 3000**2.2))
    assert Hill(9000.0, 3000.0, 2.2).value(3000.0) == pytest.approx(4500.0)


def test_vectorised_over_parameters():
    h = Hill(np.array([1.0, 2.0]), np.array([10.0, 20.0]), np.array([0.5, 3.0]))
    out = h.value(np.array([10.0, 20.0]))
    np.testing.assert_allclose(out, [0.5, 1.0])


def test_hill_inflection_is_where_curvature_changes_sign():
    h = Hill(9000.0, 3000.0, 2.2)
    xi = float(h.inflection())
    assert h.second_derivative(xi * 0.99) > 0 > h.second_derivative(xi * 1.01)
    assert float(Hill(1.0, 1.0, 0.8).inflection()) == 0.0


def test_hill_derivative_limits_at_zero():
    assert Hill(1.0, 1.0, 2.0).derivative(0.0) == 0.0
    assert Hill(2.0, 4.0, 1.0).derivative(0.0) == pytest.approx(0.5)
    assert math.isinf(Hill(1.0, 1.0, 0.5).derivative(0.0))


def test_adstock_matches_recursion():
    rng = np.random.default_rng(0)
    spend = rng.uniform(0, 100, 50)
    for decay in (0.0, 0.3, 0.9):
        y, prev = [], 0.0
        for x in spend:
            prev = (1 - decay) * x + decay * prev
            y.append(prev)
        np.testing.assert_allclose(adstock(spend, decay), y)
        raw, prev = [], 0.0
        for x in spend:
            prev = x + decay * prev
            raw.append(prev)
        np.testing.assert_allclose(adstock(spend, decay, normalize=False), raw)
    # normalised adstock of constant spend settles at that spend
    assert adstock(np.full(400, 7.0), 0.8)[-1] == pytest.approx(7.0)
    with pytest.raises(ValueError, match="decay"):
        adstock(spend, 1.0)


def test_curve_spec_round_trip():
    spec = CurveSpec.model_validate({"family": "hill", "a": 9000, "k": 3000, "s": 2.2})
    assert spec.family == "hill" and not spec.is_concave
    assert spec.to_curve().value(3000.0) == pytest.approx(4500.0)
    assert spec.model_dump() == {"family": "hill", "a": 9000.0, "k": 3000.0, "s": 2.2}


@pytest.mark.parametrize(
    "data, words",
    [
        ({"family": "exponential", "a": float("nan"), "b": 1.0}, ["'a'", "finite", "> 0"]),
        ({"family": "exponential", "a": 1.0, "b": float("inf")}, ["'b'", "finite"]),
        ({"family": "hill", "a": 1.0, "k": 1.0, "s": -2.0}, ["'s'", "> 0"]),
        ({"family": "log", "a": 0.0, "b": 1.0}, ["'a'", "> 0"]),
        ({"family": "weibull", "a": 1.0}, ["family", "weibull", "exponential, hill, log"]),
        ({"family": "hill", "a": 1.0, "k": 1.0}, ["s", "required"]),
        ({"family": "log", "a": 1.0, "b": 1.0, "c": 2.0}, ["c", "not permitted"]),
    ],
)
def test_curve_spec_rejects_bad_parameters(data, words):
    with pytest.raises(ValidationError) as exc:
        CurveSpec.model_validate(data)
    text = str(exc.value)
    for w in words:
        assert w in text
