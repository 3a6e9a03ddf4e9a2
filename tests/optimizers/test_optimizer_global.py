"""Global optimality: never worse than a brute-force grid or multi-start SLSQP, incl. S-shaped Hill."""

import numpy as np
import pytest

from tests.optimizers.optimizer_refs import brute_force, score, slsqp
from optimizers.allocation import optimize


def ch(name, curve, current=0.0, **kw):
    return {"name": name, "curve": curve, "current_spend": current, **kw}


HILL_22 = {"family": "hill", "a": 9000.0, "k": 3000.0, "s": 2.2}
HILL_3 = {"family": "hill", "a": 20000.0, "k": 4000.0, "s": 3.0}
EXP = {"family": "exponential", "a": 6000.0, "b": 2000.0}
LOG = {"family": "log", "a": 800.0, "b": 500.0}

CASES = {
    "s2.2+exp+log exact": {"budget": 7000.0, "channels": [ch("search", HILL_22, 1000), ch("email", EXP, 3000), ch("social", LOG, 500)]},
    "s3+exp exact": {"budget": 10000.0, "channels": [ch("tv", HILL_3, 100), ch("email", EXP, 9900)]},
    "s3+s2.2 small budget": {"budget": 3000.0, "channels": [ch("tv", HILL_3, 1500), ch("search", HILL_22, 1500)]},
    "s3+s2.2+exp at_most profit": {
        "budget": 9000.0, "budget_mode": "at_most", "objective": "profit",
        "channels": [ch("tv", HILL_3, 1000, max=8000), ch("search", HILL_22, 1000), ch("email", EXP, 1000, min=500)],
    },
    "s2.2 + roas": {"budget": 8000.0, "budget_mode": "at_most", "min_roas": 1.4,
                    "channels": [ch("search", HILL_22, 4000), ch("email", EXP, 2000, min=1000)]},
    "s3 locked + max_change": {"budget": 9000.0, "max_change": 0.5, "max_change_basis": "current",
                               "channels": [ch("tv", HILL_3, 4000), ch("search", HILL_22, 3000), ch("social", LOG, 1500, locked=True)]},
}


@pytest.mark.parametrize("name", list(CASES))
def test_never_worse_than_brute_force(name):
    problem = CASES[name]
    res = optimize(problem)
    grid_best, _ = brute_force(problem)
    ours = float(score(problem, [np.array([res.allocation[c["name"]]]) for c in problem["channels"]])[0])
    assert ours == pytest.approx(res.objective_value, rel=1e-12)  # our number is the spec's objective
    assert ours >= grid_best - 1e-9 * abs(grid_best)
    # the certified upper bound really is above everything the grid found
    assert res.certificate["upper_bound"] >= grid_best - 1e-9 * abs(grid_best)
    assert res.status == "optimal" and res.gap <= 1e-6


def test_local_method_from_current_point_gets_stuck_but_we_do_not():
    # tv's S-curve is flat at its current spend of 100, so gradient methods leave it there
    problem = CASES["s3+exp exact"]
    stuck = slsqp(problem, np.array([100.0, 9900.0]))
    res = optimize(problem)
    grid_best, grid_x = brute_force(problem)
    assert stuck is not None and stuck[0] < 0.5 * grid_best  # SLSQP alone: the local trap
    assert res.objective_value >= grid_best - 1e-9 * grid_best
    assert res.allocation["tv"] == pytest.approx(grid_x[0], abs=1.0)
    assert res.method == "branch_and_bound"


def test_branch_and_bound_agrees_with_the_piecewise_linear_milp():
    for name in ("s2.2+exp+log exact", "s3+s2.2 small budget", "s3+s2.2+exp at_most profit"):
        problem = CASES[name]
        bnb = optimize(problem)
        milp = optimize(problem, method="milp")
        assert bnb.objective_value >= milp.objective_value - 1e-9 * abs(milp.objective_value)
        assert milp.objective_value == pytest.approx(bnb.objective_value, rel=1e-6)


def random_mixed(seed, n):
    rng = np.random.default_rng(seed)
    chans = []
    for i in range(n):
        cur = float(rng.uniform(200, 2000))
        a = float(cur * rng.uniform(1.5, 5))
        kind = i % 4
        if kind == 0:
            curve = {"family": "exponential", "a": a, "b": float(cur * rng.uniform(0.5, 2))}
        elif kind == 1:
            curve = {"family": "hill", "a": a, "k": float(cur * rng.uniform(0.5, 2)), "s": float(rng.uniform(0.5, 1))}
        elif kind == 2:
            curve = {"family": "hill", "a": a, "k": float(cur * rng.uniform(0.5, 2)), "s": float(rng.uniform(1.5, 3.5))}
        else:
            curve = {"family": "log", "a": float(cur * rng.uniform(0.5, 2)), "b": float(cur * rng.uniform(0.3, 1))}
        chans.append(ch(f"c{i}", curve, cur, max=3 * cur))
    total = sum(c["current_spend"] for c in chans)
    return {"budget": float(rng.uniform(0.3, 1.5)) * total, "channels": chans}


@pytest.mark.parametrize("seed", range(6))
def test_multistart_slsqp_never_beats_us(seed):
    problem = random_mixed(seed, 8)
    res = optimize(problem)
    rng = np.random.default_rng(100 + seed)
    lo = np.zeros(8)
    hi = np.array([c["max"] for c in problem["channels"]])
    starts = [np.array([c["current_spend"] for c in problem["channels"]])]
    for _ in range(7):
        w = rng.dirichlet(np.ones(8))
        starts.append(np.clip(w * problem["budget"], lo, hi))
    best = max((r[0] for r in (slsqp(problem, s) for s in starts) if r is not None), default=-np.inf)
    assert res.objective_value >= best - 1e-7 * abs(best)
    assert res.status == "optimal"
