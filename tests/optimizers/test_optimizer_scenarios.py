"""Uncertainty-aware allocation over bootstrap-style scenarios: mean and CVaR against brute force."""

import copy

import numpy as np
import pytest

from optimizers.allocation import cvar, optimize
from tests.optimizers.optimizer_refs import brute_force, outcome_matrix, score


def with_scenarios(problem, S, seed, spread=0.2):
    rng = np.random.default_rng(seed)
    p = copy.deepcopy(problem)
    for ch in p["channels"]:
        samples = []
        for _ in range(S):
            c = dict(ch["curve"])
            c["a"] *= float(np.exp(spread * rng.standard_normal()))
            key = "k" if c["family"] == "hill" else "b"
            c[key] *= float(np.exp(spread * rng.standard_normal()))
            samples.append(c)
        ch["scenarios"] = samples
    return p


CONCAVE = {"budget": 6000.0, "channels": [
    {"name": "email", "curve": {"family": "exponential", "a": 5000.0, "b": 1200.0}, "current_spend": 2000.0},
    {"name": "social", "curve": {"family": "hill", "a": 7000.0, "k": 2500.0, "s": 0.8}, "current_spend": 4000.0}]}
S_SHAPED = {"budget": 6000.0, "channels": [
    {"name": "email", "curve": {"family": "exponential", "a": 5000.0, "b": 1200.0}, "current_spend": 2000.0},
    {"name": "tv", "curve": {"family": "hill", "a": 9000.0, "k": 3000.0, "s": 2.5}, "current_spend": 4000.0}]}


@pytest.mark.parametrize("base", [CONCAVE, S_SHAPED], ids=["concave", "s-shaped"])
@pytest.mark.parametrize("risk", ["mean", "cvar"])
def test_never_worse_than_brute_force(base, risk):
    problem = with_scenarios(base, 12, seed=4)
    problem.update(risk=risk, cvar_alpha=0.25)
    res = optimize(problem)
    grid_best, _ = brute_force(problem)
    ours = float(score(problem, [np.array([res.allocation[c["name"]]]) for c in problem["channels"]])[0])
    assert ours == pytest.approx(res.objective_value, rel=1e-9)
    assert ours >= grid_best - 1e-9 * abs(grid_best)
    assert res.certificate["upper_bound"] >= grid_best - 1e-9 * abs(grid_best)
    assert res.status == "optimal"
    expected = {("mean", "concave"): "kkt", ("cvar", "concave"): "cvxpy"}.get((risk, "concave" if base is CONCAVE else "s"), "milp")
    assert res.method == expected


def test_cvar_solvers_agree_on_concave_curves():
    problem = with_scenarios(CONCAVE, 15, seed=9)
    problem.update(risk="cvar", cvar_alpha=0.2)
    conic = optimize(problem)
    milp = optimize(problem, method="milp")
    assert conic.objective_value == pytest.approx(milp.objective_value, rel=1e-6)


def test_cvar_protects_the_tail_and_mean_maximises_the_average():
    problem = with_scenarios(S_SHAPED, 20, seed=2, spread=0.35)
    mean_res = optimize({**problem, "risk": "mean"})
    cvar_res = optimize({**problem, "risk": "cvar", "cvar_alpha": 0.2})

    def outcomes(res):
        return outcome_matrix(problem, [np.array([res.allocation[c["name"]]]) for c in problem["channels"]])[:, 0]

    assert cvar(outcomes(cvar_res), 0.2) >= cvar(outcomes(mean_res), 0.2) - 1e-6
    assert outcomes(mean_res).mean() >= outcomes(cvar_res).mean() - 1e-6


def test_predicted_revenue_range_is_the_5_95_percentile_of_scenarios():
    problem = with_scenarios(CONCAVE, 30, seed=1)
    res = optimize(problem)
    totals = outcome_matrix(problem, [np.array([res.allocation[c["name"]]]) for c in problem["channels"]])[:, 0]
    lo, hi = res.predicted_revenue_range
    assert lo == pytest.approx(np.percentile(totals, 5)) and hi == pytest.approx(np.percentile(totals, 95))
    assert lo < res.predicted_revenue < hi
    assert res.predicted_revenue == pytest.approx(totals.mean())


def test_cvar_helper_matches_definition():
    values = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert cvar(values, 0.4) == pytest.approx(1.5)  # worst two of five
    assert cvar(values, 0.3) == pytest.approx((1.0 + 0.5 * 2.0) / 1.5)  # one and a half scenarios
    assert cvar(values, 1.0) == pytest.approx(values.mean())
