"""Budget optimizer against the allocators of PyMC-Marketing and Robyn (a script, not a test).

    .venv/bin/python bench/bench_optimizer.py [--sizes 10 50 200 1000] [--seed 0] [--peer-time-cap 60]

Random instances mix exponential, log, concave Hill (s < 1) and S-shaped Hill
(1.5 <= s <= 3.5) channels, exact budget = 70% of current spend, each channel in
[0, 3 x current].  On the same instances, in the same run:
  ours    optimizers.allocation.optimize (KKT multiplier search / branch and bound)
  SLSQP   scipy.optimize.minimize(method="SLSQP") with analytic gradients from the
          scaled current allocation -- PyMC-Marketing's budget optimizer method
  nlopt   AUGLAG with SLSQP as local optimizer -- Robyn's allocator method
          (needs `nlopt`, in the project's `bench` extra; skipped when missing)
Peers get the same curves, bounds and budget; a peer run stops at --peer-time-cap
seconds.  Objective ratio > 1 means ours found more revenue; every objective is
re-evaluated on the true curves at the returned (budget-feasible) allocation.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizers.allocation import channel_boxes, optimize, scenario_banks  # noqa: E402
from optimizers.problem import parse_problem  # noqa: E402


def instance(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    chans = []
    for i in range(n):
        cur = float(rng.uniform(200, 2000))
        a = float(cur * rng.uniform(1.5, 5))
        kind = i % 4
        if kind == 0:
            curve = {"family": "exponential", "a": a, "b": float(cur * rng.uniform(0.5, 2))}
        elif kind == 1:
            curve = {"family": "hill", "a": a, "k": float(cur * rng.uniform(0.5, 2)), "s": float(rng.uniform(0.5, 1.0))}
        elif kind == 2:
            curve = {"family": "hill", "a": a, "k": float(cur * rng.uniform(0.5, 2)), "s": float(rng.uniform(1.5, 3.5))}
        else:
            curve = {"family": "log", "a": float(cur * rng.uniform(0.5, 2)), "b": float(cur * rng.uniform(0.3, 1))}
        chans.append({"name": f"c{i}", "curve": curve, "current_spend": cur, "max": 3 * cur})
    total = sum(c["current_spend"] for c in chans)
    return {"budget": 0.7 * total, "budget_mode": "exact", "objective": "revenue", "channels": chans}


class _TimeCap(Exception):
    pass


def peer_setup(problem: dict):
    prob = parse_problem(problem)
    bank = scenario_banks(prob)[0]
    boxes = channel_boxes(prob)
    lo, hi = boxes.lo, np.minimum(boxes.hi, prob.budget)
    cur = np.array([c.current_spend for c in prob.channels])
    x0 = np.clip(cur * prob.budget / cur.sum(), lo, hi)
    return bank, lo, hi, prob.budget, x0


def true_objective(bank, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> tuple[float, bool]:
    x = np.clip(x, lo, hi)
    feasible = abs(x.sum() - budget) <= 1e-6 * budget
    return float(bank.value(x).sum()), feasible


def run_slsqp(problem: dict, cap: float) -> dict:
    bank, lo, hi, budget, x0 = peer_setup(problem)
    start = time.perf_counter()
    best = {"x": x0}

    def f(x):
        return -float(bank.value(x).sum())

    def g(x):
        # Hill s < 1 has an infinite slope at 0; SLSQP needs a finite one
        return -bank.derivative(np.maximum(x, 1e-6))

    def callback(xk):
        best["x"] = xk.copy()
        if time.perf_counter() - start > cap:
            raise _TimeCap

    status = "converged"
    try:
        res = minimize(f, x0, jac=g, method="SLSQP", bounds=list(zip(lo, hi)), callback=callback,
                       constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget, "jac": lambda x: np.ones_like(x)}],
                       options={"maxiter": 1000, "ftol": 1e-10})
        x = res.x
        if not res.success:
            status = res.message.split(" (")[0][:28]
    except _TimeCap:
        x, status = best["x"], f"stopped at {cap:g}s"
    seconds = time.perf_counter() - start
    value, feasible = true_objective(bank, x, lo, hi, budget)
    return {"seconds": seconds, "objective": value, "feasible": feasible, "status": status}


def run_nlopt(problem: dict, cap: float, nlopt) -> dict:
    bank, lo, hi, budget, x0 = peer_setup(problem)
    n = len(x0)
    opt = nlopt.opt(nlopt.LD_AUGLAG, n)
    local = nlopt.opt(nlopt.LD_SLSQP, n)
    local.set_xtol_rel(1e-10)
    opt.set_local_optimizer(local)
    opt.set_lower_bounds(lo)
    opt.set_upper_bounds(hi)
    opt.set_xtol_rel(1e-10)
    opt.set_maxeval(100000)
    opt.set_maxtime(cap)

    def objective(x, grad):
        if grad.size:
            grad[:] = -bank.derivative(np.maximum(x, 1e-6))
        return -float(bank.value(x).sum())

    def budget_con(x, grad):
        if grad.size:
            grad[:] = 1.0
        return float(x.sum() - budget)

    opt.set_min_objective(objective)
    opt.add_equality_constraint(budget_con, 1e-8)
    start = time.perf_counter()
    status = "converged"
    try:
        x = opt.optimize(x0)
        if opt.last_optimize_result() == nlopt.MAXTIME_REACHED:
            status = f"stopped at {cap:g}s"
    except nlopt.RoundoffLimited:
        x, status = x0, "roundoff limited"
    except Exception as exc:  # nlopt raises generic failures on bad steps
        x, status = x0, f"failed: {type(exc).__name__}"
    seconds = time.perf_counter() - start
    value, feasible = true_objective(bank, x, lo, hi, budget)
    return {"seconds": seconds, "objective": value, "feasible": feasible, "status": status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200, 1000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-time-cap", type=float, default=60.0, help="seconds per peer solve")
    args = parser.parse_args()

    try:
        import nlopt
    except ImportError as exc:
        nlopt = None
        print(f"nlopt (Robyn's AUGLAG+SLSQP) skipped: cannot import nlopt ({exc}); install the project's bench extra to include it")

    optimize(instance(8, 99))  # warm imports and caches outside the timings
    rows = []
    for n in args.sizes:
        problem = instance(n, args.seed + n)
        start = time.perf_counter()
        res = optimize(problem)
        ours_s = time.perf_counter() - start
        row = {"n": n, "ours_s": ours_s, "ours_obj": res.objective_value, "method": res.method, "gap": res.gap,
               "status": res.status, "nodes": res.certificate.get("nodes", "-")}
        row["slsqp"] = run_slsqp(problem, args.peer_time_cap)
        row["nlopt"] = run_nlopt(problem, args.peer_time_cap, nlopt) if nlopt else None
        rows.append(row)
        print(f"  n={n}: done", flush=True)

    # concave-only timings (the S-shaped Hills made concave): the fast exact KKT path
    concave = []
    for n in args.sizes:
        problem = instance(n, args.seed + n)
        for c in problem["channels"]:
            if c["curve"]["family"] == "hill":
                c["curve"]["s"] = min(c["curve"]["s"], 0.9)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            res = optimize(problem)
            times.append(time.perf_counter() - start)
        concave.append((n, float(np.median(times)), res.method, res.gap))

    print()
    print("concave-only, ours (median of 5): " + "; ".join(f"n={n} {m} {t * 1000:.1f} ms gap {g:.1e}" for n, t, m, g in concave))
    print("ours: " + "; ".join(f"n={r['n']} {r['method']} {r['status']} gap {r['gap']:.1e} nodes {r['nodes']}" for r in rows))
    header = f"{'channels':>8} | {'ours s':>8} {'ours objective':>15} | {'peer':>6} {'peer s':>8} {'peer objective':>15} {'feasible':>8} {'peer status':>28} | {'time ours/peer':>14} {'obj ours/peer':>13}"
    print(header)
    print("-" * len(header))
    for r in rows:
        for name in ("slsqp", "nlopt"):
            peer = r[name]
            if peer is None:
                print(f"{r['n']:>8} | {r['ours_s']:>8.3f} {r['ours_obj']:>15,.1f} | {name:>6} {'skipped (nlopt not installed)':>62} |")
                continue
            print(
                f"{r['n']:>8} | {r['ours_s']:>8.3f} {r['ours_obj']:>15,.1f} | {name:>6} {peer['seconds']:>8.3f} {peer['objective']:>15,.1f} "
                f"{'yes' if peer['feasible'] else 'NO':>8} {peer['status']:>28} | {r['ours_s'] / peer['seconds']:>14.4f} {r['ours_obj'] / peer['objective']:>13.6f}"
            )


if __name__ == "__main__":
    main()
