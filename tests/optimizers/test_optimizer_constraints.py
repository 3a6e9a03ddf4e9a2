"""Constraints hold, the shadow price is the derivative of the optimum, bad input is refused, output shape."""

import copy
import json

import numpy as np
import pytest

from optimizers.allocation import AllocationError, optimize
from optimizers.problem import AllocationProblem
from tests.optimizers.optimizer_refs import boxes, curve_value

EXAMPLE = {
    "budget": 10000, "budget_mode": "exact", "objective": "revenue", "max_change": 0.3,
    "channels": [
        {"name": "email", "curve": {"family": "exponential", "a": 5000, "b": 1200}, "current_spend": 1000, "min": 0, "max": 5000},
        {"name": "search", "curve": {"family": "hill", "a": 9000, "k": 3000, "s": 2.2}, "current_spend": 4000},
        {"name": "social", "curve": {"family": "log", "a": 800, "b": 500}, "current_spend": 500, "locked": False},
    ],
}
REQUIRED_KEYS = {"status", "allocation", "predicted_revenue", "current_revenue", "marginal_roas", "budget_shadow_price", "gap", "solve_seconds"}


def test_example_json_solves_optimally():
    res = optimize(json.loads(json.dumps(EXAMPLE)))
    assert res.status == "optimal" and res.gap <= 1e-6
    out = json.loads(res.to_json())
    assert REQUIRED_KEYS <= set(out)
    assert set(out["allocation"]) == {"email", "search", "social"} == set(out["marginal_roas"])
    assert sum(out["allocation"].values()) == pytest.approx(10000)
    assert out["predicted_revenue"] > out["current_revenue"]
    assert out["predicted_revenue_range"] is None
    # also accepted as a validated model
    assert optimize(AllocationProblem.model_validate(EXAMPLE)).allocation == pytest.approx(res.allocation)


def random_problem(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 7))
    chans = []
    for i in range(n):
        cur = float(rng.uniform(300, 3000))
        kind = int(rng.integers(4))
        curve = [
            {"family": "exponential", "a": float(cur * rng.uniform(2, 5)), "b": float(cur * rng.uniform(0.5, 2))},
            {"family": "log", "a": float(cur * rng.uniform(0.5, 2)), "b": float(cur * rng.uniform(0.3, 1))},
            {"family": "hill", "a": float(cur * rng.uniform(2, 5)), "k": float(cur * rng.uniform(0.5, 2)), "s": float(rng.uniform(0.5, 1))},
            {"family": "hill", "a": float(cur * rng.uniform(2, 5)), "k": float(cur * rng.uniform(0.5, 2)), "s": float(rng.uniform(1.5, 3))},
        ][kind]
        c = {"name": f"c{i}", "curve": curve, "current_spend": cur}
        if rng.random() < 0.3:
            c["min"] = cur * 0.5
        if rng.random() < 0.3:
            c["max"] = cur * 1.5
        if rng.random() < 0.15:
            c["locked"] = True
        chans.append(c)
    total = sum(c["current_spend"] for c in chans)
    p = {"budget": total * float(rng.uniform(0.8, 1.2)), "budget_mode": str(rng.choice(["exact", "at_most"])),
         "objective": str(rng.choice(["revenue", "profit", "conversions"])), "channels": chans}
    if rng.random() < 0.5:
        p["max_change"] = 0.4
        p["max_change_basis"] = str(rng.choice(["scaled_current", "current"]))
    if rng.random() < 0.3:
        p["min_roas"] = 1.2
    return p


@pytest.mark.parametrize("seed", range(25))
def test_constraints_respected(seed):
    problem = random_problem(seed)
    try:
        res = optimize(problem)
    except AllocationError as exc:
        assert any(w in str(exc) for w in ("min_roas", "budget", "max_change"))
        return
    x = np.array([res.allocation[c["name"]] for c in problem["channels"]])
    lo, hi = boxes(problem)  # min/max, locked and max_change band, derived independently
    B = problem["budget"]
    tol = 1e-7 * B
    assert np.all(x >= lo - tol) and np.all(x <= hi + tol)
    if problem["budget_mode"] == "exact":
        assert x.sum() == pytest.approx(B, rel=1e-9)
    else:
        assert x.sum() <= B + tol
    for c, v in zip(problem["channels"], x):
        if c.get("locked"):
            assert v == pytest.approx(c["current_spend"])
        if problem.get("max_change") and problem["max_change_basis"] == "current" and not c.get("locked"):
            assert abs(v - c["current_spend"]) <= 0.4 * c["current_spend"] + tol
    if problem.get("min_roas"):
        rev = sum(float(curve_value(c["curve"], v)) for c, v in zip(problem["channels"], x))
        assert rev >= problem["min_roas"] * x.sum() * (1 - 1e-9)
    assert res.status == "optimal"


def optimum(problem, budget):
    p = copy.deepcopy(problem)
    p["budget"] = budget
    return optimize(p).objective_value


@pytest.mark.parametrize(
    "problem",
    [
        {"budget": 6000.0, "channels": [
            {"name": "e", "curve": {"family": "exponential", "a": 5000, "b": 1200}, "current_spend": 0},
            {"name": "h", "curve": {"family": "hill", "a": 4000, "k": 900, "s": 0.7}, "current_spend": 0},
            {"name": "l", "curve": {"family": "log", "a": 800, "b": 500}, "current_spend": 0}]},
        {"budget": 7000.0, "objective": "profit", "channels": [
            {"name": "s", "curve": {"family": "hill", "a": 9000, "k": 3000, "s": 2.2}, "current_spend": 0},
            {"name": "e", "curve": {"family": "exponential", "a": 6000, "b": 2000}, "current_spend": 0, "max": 2500}]},
        {"budget": 9000.0, "budget_mode": "at_most", "channels": [
            {"name": "e", "curve": {"family": "exponential", "a": 8000, "b": 1500}, "current_spend": 0},
            {"name": "l", "curve": {"family": "log", "a": 900, "b": 300}, "current_spend": 0}]},
    ],
    ids=["concave", "s-shaped-profit", "at_most-binding"],
)
def test_shadow_price_is_the_derivative_of_the_optimum(problem):
    res = optimize(problem)
    B = problem["budget"]
    h = 1e-3 * B
    fd = (optimum(problem, B + h) - optimum(problem, B - h)) / (2 * h)
    assert res.budget_shadow_price == pytest.approx(fd, rel=1e-4, abs=1e-8)


def test_slack_budget_is_worth_nothing():
    problem = {"budget": 1e6, "budget_mode": "at_most", "objective": "profit",
               "channels": [{"name": "e", "curve": {"family": "exponential", "a": 5000, "b": 1000}, "current_spend": 0}]}
    res = optimize(problem)
    assert res.budget_shadow_price == 0.0
    assert optimum(problem, 2e6) == pytest.approx(res.objective_value)


def bad(mutate):
    p = copy.deepcopy(EXAMPLE)
    mutate(p)
    return p


BAD_INPUTS = {
    "sum of mins above budget": (bad(lambda p: (p.pop("max_change"), p["channels"][0].update(min=4000), p["channels"][1].update(min=7000))),
                                 ["lower limits", "email", "search", "budget"]),
    "negative budget": (bad(lambda p: p.update(budget=-5)), ["budget", ">= 0"]),
    "infinite budget": (bad(lambda p: p.update(budget=float("inf"))), ["budget", "finite"]),
    "nan parameter": (bad(lambda p: p["channels"][1]["curve"].update(k=float("nan"))), ["search", "'k'", "finite"]),
    "unknown family": (bad(lambda p: p["channels"][2]["curve"].update(family="weibull")), ["social", "family", "weibull"]),
    "min above max": (bad(lambda p: p["channels"][0].update(min=6000)), ["email", "min 6000 > max 5000"]),
    "max_change makes budget unreachable": (bad(lambda p: p.update(max_change_basis="current")),
                                            ["exact", "max_change", "email", "search", "social", "at_most"]),
    "max_change conflicts with a min": (bad(lambda p: p["channels"][2].update(min=2000)), ["social", "max_change", "min 2,000"]),
    "min_roas unreachable": (bad(lambda p: p.update(min_roas=5.0)), ["min_roas 5", "unreachable"]),
    "locked outside bounds": (bad(lambda p: p["channels"][0].update(locked=True, min=2000)), ["email", "locked"]),
    "duplicate names": (bad(lambda p: p["channels"][1].update(name="email")), ["duplicate", "email"]),
    "no channels": (bad(lambda p: p.update(channels=[])), ["channels"]),
    "unknown objective": (bad(lambda p: p.update(objective="clicks")), ["objective", "revenue"]),
    "unknown field": (bad(lambda p: p["channels"][0].update(maximum=3)), ["email", "maximum"]),
    "cvar without scenarios": (bad(lambda p: p.update(risk="cvar")), ["cvar", "scenarios"]),
    "scenario counts differ": (bad(lambda p: (p["channels"][0].update(scenarios=[p["channels"][0]["curve"]] * 2),
                                             p["channels"][2].update(scenarios=[p["channels"][2]["curve"]] * 3))), ["scenarios", "email", "social"]),
    "negative current spend": (bad(lambda p: p["channels"][2].update(current_spend=-1)), ["social", "current_spend"]),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_raises_allocation_error_naming_the_problem(name):
    problem, words = BAD_INPUTS[name]
    with pytest.raises(AllocationError) as exc:
        optimize(problem)
    assert isinstance(exc.value, ValueError)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_unknown_method_is_refused():
    with pytest.raises(AllocationError, match="method"):
        optimize(EXAMPLE, method="simplex")
    with pytest.raises(AllocationError, match="concave"):
        optimize(EXAMPLE, method="kkt")


def test_observed_range_flags():
    p = copy.deepcopy(EXAMPLE)
    p["channels"][0].update(observed_min=0, observed_max=1500)
    p["channels"][2].update(observed_min=2000, observed_max=3000)
    res = optimize(p)
    assert res.outside_observed_range == {"email": "above", "social": "below"}


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.9, 1.7, 4.0])
def test_lagrangian_bound_is_above_the_brute_force_optimum_for_any_multiplier(lam):
    """Weak duality, checked numerically: lambda*B + sum_i max_box(r_i - lambda x) >= optimum."""
    from optimizers.allocation import channel_boxes, scenario_banks
    from optimizers.problem import parse_problem
    from optimizers.separable import lagrangian_bound
    from tests.optimizers.optimizer_refs import brute_force

    problem = {"budget": 7000.0, "budget_mode": "at_most", "channels": [
        {"name": "s", "curve": {"family": "hill", "a": 9000, "k": 3000, "s": 2.2}, "current_spend": 0},
        {"name": "e", "curve": {"family": "exponential", "a": 6000, "b": 2000}, "current_spend": 0, "max": 5000},
        {"name": "l", "curve": {"family": "log", "a": 800, "b": 500}, "current_spend": 0}]}
    prob = parse_problem(problem)
    bx = channel_boxes(prob)
    hi = np.minimum(bx.hi, prob.budget)
    bound = lagrangian_bound(scenario_banks(prob)[0], bx.lo, hi, prob.budget, 0.0, lam)
    grid_best, _ = brute_force(problem)
    assert bound >= grid_best - 1e-9 * grid_best
    if lam == 0.9:  # near the optimal multiplier the bound is nearly tight
        assert bound <= optimize(problem).objective_value * 1.05


def test_amounts_beyond_the_limit_are_input_errors() -> None:
    from optimizers.errors import AllocationError
    from optimizers.problem import MAX_AMOUNT, parse_problem

    channel = {"name": "a", "curve": {"family": "log", "a": 10, "b": 5}, "current_spend": 1}
    for change in ({"budget": 1e308}, {"budget": MAX_AMOUNT * 10}, {"channels": [{**channel, "current_spend": 1e300}]},
                   {"channels": [{**channel, "max": 1e200}]}):
        with pytest.raises(AllocationError, match="amounts may be at most 1e\\+12"):
            parse_problem({"budget": 100, "channels": [channel], **change})
    assert parse_problem({"budget": MAX_AMOUNT, "channels": [channel]}).budget == MAX_AMOUNT


def test_a_solution_that_breaks_the_budget_is_an_error_not_suboptimal() -> None:
    import numpy as np

    from optimizers import allocation
    from optimizers.errors import AllocationError
    from optimizers.problem import parse_problem

    problem = parse_problem({"budget": 100, "budget_mode": "exact", "channels": [
        {"name": "a", "curve": {"family": "log", "a": 10, "b": 5}, "current_spend": 1},
        {"name": "b", "curve": {"family": "log", "a": 10, "b": 5}, "current_spend": 1}]})
    solved = allocation._Solved(np.array([40.0, 50.0]), 0.0, 0.0, 1.0, "test", {})
    with pytest.raises(AllocationError, match="spends 90 where the budget is exactly 100"):
        allocation._check_solution(problem, np.array([40.0, 50.0]), solved)
    with pytest.raises(AllocationError, match="no finite spend for b"):
        allocation._check_solution(problem, np.array([50.0, np.nan]), solved)
    at_most = problem.model_copy(update={"budget_mode": "at_most"})
    with pytest.raises(AllocationError, match="over the budget"):
        allocation._check_solution(at_most, np.array([60.0, 50.0]), solved)
    allocation._check_solution(problem, np.array([50.0, 50.0]), solved)
    big = parse_problem({"budget": 1e12, "budget_mode": "exact", "channels": [
        {"name": "a", "curve": {"family": "log", "a": 10, "b": 5}, "current_spend": 1},
        {"name": "b", "curve": {"family": "hill", "a": 9000, "k": 3000, "s": 2.2}, "current_spend": 1}]})
    result = allocation.optimize(big)
    assert abs(sum(result.allocation.values()) - 1e12) <= 1e12 * allocation.BUDGET_TOLERANCE
