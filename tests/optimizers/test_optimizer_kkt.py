"""Hand-derived KKT solutions, and the fast KKT path against the cvxpy formulation."""

import math

import numpy as np
import pytest

from optimizers.allocation import optimize


def channel(name, curve, current=0.0, **kw):
    return {"name": name, "curve": curve, "current_spend": current, **kw}


def exp(a, b):
    return {"family": "exponential", "a": a, "b": b}


def test_two_exponentials_equal_b_closed_form():
    # a1 e^{-x1/b} = a2 e^{-x2/b}, x1 + x2 = B  =>  x1 = (B + b ln(a1/a2)) / 2
    a1, a2, b, B = 6000.0, 3000.0, 1000.0, 4000.0
    res = optimize({"budget": B, "channels": [channel("one", exp(a1, b)), channel("two", exp(a2, b))]})
    x1 = (B + b * math.log(a1 / a2)) / 2
    assert res.status == "optimal"
    assert res.allocation["one"] == pytest.approx(x1, rel=1e-9)
    assert res.allocation["two"] == pytest.approx(B - x1, rel=1e-9)
    lam = a1 / b * math.exp(-x1 / b)
    assert res.budget_shadow_price == pytest.approx(lam, rel=1e-8)
    assert res.marginal_roas["one"] == pytest.approx(lam, rel=1e-8)
    assert res.predicted_revenue == pytest.approx(a1 * (1 - math.exp(-x1 / b)) + a2 * (1 - math.exp(-(B - x1) / b)))


def test_log_channels_closed_form():
    # a_i / (b_i + x_i) = lambda  =>  lambda = sum a / (B + sum b)
    a, b, B = [800.0, 1200.0, 500.0], [500.0, 300.0, 200.0], 6000.0
    res = optimize({"budget": B, "channels": [channel(f"c{i}", {"family": "log", "a": a[i], "b": b[i]}) for i in range(3)]})
    lam = sum(a) / (B + sum(b))
    for i in range(3):
        assert res.allocation[f"c{i}"] == pytest.approx(a[i] / lam - b[i], rel=1e-9)
    assert res.budget_shadow_price == pytest.approx(lam, rel=1e-9)


def test_hill_slope_one_closed_form():
    # a k / (x + k)^2 = lambda  =>  x = sqrt(a k / lambda) - k; lambda = (sum sqrt(a k) / (B + sum k))^2
    a, k, B = [9000.0, 4000.0], [3000.0, 1000.0], 5000.0
    res = optimize({"budget": B, "channels": [channel(f"h{i}", {"family": "hill", "a": a[i], "k": k[i], "s": 1.0}) for i in range(2)]})
    lam = (sum(math.sqrt(a[i] * k[i]) for i in range(2)) / (B + sum(k))) ** 2
    for i in range(2):
        assert res.allocation[f"h{i}"] == pytest.approx(math.sqrt(a[i] * k[i] / lam) - k[i], rel=1e-9)


def test_profit_with_slack_budget_spends_until_marginal_roas_is_one():
    # r'(x) = 1  =>  x = b ln(a/b); the budget does not bind, so its shadow price is 0
    res = optimize({"budget": 1e5, "budget_mode": "at_most", "objective": "profit",
                    "channels": [channel("e", exp(5000.0, 1000.0))]})
    assert res.allocation["e"] == pytest.approx(1000.0 * math.log(5.0), rel=1e-9)
    assert res.budget_shadow_price == 0.0
    assert res.marginal_roas["e"] == pytest.approx(1.0, rel=1e-9)


def test_channel_at_its_max_leaves_the_rest_to_the_others():
    res = optimize({"budget": 4000.0, "channels": [channel("big", exp(50000.0, 1000.0), max=1000.0),
                                                     channel("a", exp(3000.0, 1000.0)), channel("b", exp(3000.0, 1000.0))]})
    assert res.allocation["big"] == pytest.approx(1000.0)
    assert res.allocation["a"] == pytest.approx(1500.0, rel=1e-9)
    assert res.allocation["b"] == pytest.approx(1500.0, rel=1e-9)
    assert res.marginal_roas["big"] > res.budget_shadow_price


def random_concave(seed, n=6, **extra):
    rng = np.random.default_rng(seed)
    chans = []
    for i in range(n):
        cur = float(rng.uniform(200, 2000))
        kind = i % 4
        if kind == 0:
            curve = exp(float(rng.uniform(1e3, 1e4)), float(rng.uniform(300, 3000)))
        elif kind == 1:
            curve = {"family": "log", "a": float(rng.uniform(200, 2000)), "b": float(rng.uniform(100, 1000))}
        elif kind == 2:
            curve = {"family": "hill", "a": float(rng.uniform(1e3, 1e4)), "k": float(rng.uniform(300, 3000)), "s": 1.0}
        else:
            curve = {"family": "hill", "a": float(rng.uniform(1e3, 1e4)), "k": float(rng.uniform(300, 3000)), "s": 0.75}
        chans.append(channel(f"c{i}", curve, cur, min=0.2 * cur, max=3 * cur))
    return {"budget": 900.0 * n, "channels": chans, **extra}


@pytest.mark.parametrize(
    "extra",
    [{}, {"objective": "profit", "budget_mode": "at_most"}, {"budget_mode": "at_most", "min_roas": 1.7}],
    ids=["revenue-exact", "profit-at_most", "roas-at_most"],
)
def test_fast_path_agrees_with_cvxpy(extra):
    problem = random_concave(3, **extra)
    fast = optimize(problem)
    ref = optimize(problem, method="cvxpy")
    assert fast.method == "kkt" and ref.method == "cvxpy"
    assert fast.objective_value == pytest.approx(ref.objective_value, rel=1e-7)
    assert fast.objective_value >= ref.objective_value - 1e-9 * abs(ref.objective_value)
    np.testing.assert_allclose(list(fast.allocation.values()), list(ref.allocation.values()), rtol=1e-3, atol=0.5)
    assert fast.budget_shadow_price == pytest.approx(ref.budget_shadow_price, rel=1e-3, abs=1e-6)
    assert fast.gap < 1e-9 and ref.gap < 1e-6
