"""Independent references for the optimizer tests: brute-force grids and SciPy SLSQP.

Nothing here imports the optimizer's solvers; curves are re-implemented from
their formulas so a bug in optimizers.curves cannot hide in both sides.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize


def curve_value(spec: dict[str, Any], x: np.ndarray) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    f = spec["family"]
    if f == "exponential":
        return spec["a"] * (1.0 - np.exp(-x / spec["b"]))
    if f == "log":
        return spec["a"] * np.log(1.0 + x / spec["b"])
    if f == "hill":
        xs = x ** spec["s"]
        return spec["a"] * xs / (xs + spec["k"] ** spec["s"])
    raise AssertionError(f)


def curve_derivative(spec: dict[str, Any], x: np.ndarray) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=float), 1e-12)
    f = spec["family"]
    if f == "exponential":
        return spec["a"] / spec["b"] * np.exp(-x / spec["b"])
    if f == "log":
        return spec["a"] / (spec["b"] + x)
    a, k, s = spec["a"], spec["k"], spec["s"]
    return a * s * k**s * x ** (s - 1) / (x**s + k**s) ** 2


def boxes(problem: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel bounds written straight from the spec (max_change on the scaled basis)."""
    chans = problem["channels"]
    B = problem["budget"]
    mc = problem.get("max_change")
    basis = problem.get("max_change_basis", "scaled_current")
    locked = sum(c["current_spend"] for c in chans if c.get("locked"))
    free = sum(c["current_spend"] for c in chans if not c.get("locked"))
    scale = (B - locked) / free if (mc is not None and basis == "scaled_current" and free > 0) else 1.0
    lo, hi = [], []
    for c in chans:
        l, h = c.get("min", 0.0), c.get("max", math.inf)
        h = math.inf if h is None else h
        if c.get("locked"):
            l = h = c["current_spend"]
        elif mc is not None:
            base = c["current_spend"] * scale
            l, h = max(l, base * (1 - mc)), min(h, base * (1 + mc))
        lo.append(l)
        hi.append(min(h, B))
    return np.array(lo), np.array(hi)


def outcome_matrix(problem: dict[str, Any], xs: list[np.ndarray]) -> np.ndarray:
    """(scenarios, points) predicted outcome; one scenario when none are given."""
    chans = problem["channels"]
    S = max((len(c["scenarios"]) for c in chans if c.get("scenarios")), default=0)
    rows = []
    for j in range(max(S, 1)):
        total = 0.0
        for c, x in zip(chans, xs):
            spec = c["scenarios"][j] if c.get("scenarios") else c["curve"]
            total = total + curve_value(spec, x)
        rows.append(total)
    return np.array(rows)


def score(problem: dict[str, Any], xs: list[np.ndarray]) -> np.ndarray:
    """Objective as the spec defines it (mean or CVaR, minus spend for profit), -inf if infeasible."""
    rev = outcome_matrix(problem, xs)
    spend = sum(xs)
    out = rev - (spend if problem.get("objective") == "profit" else 0.0)
    if problem.get("risk", "mean") == "cvar":
        alpha = problem.get("cvar_alpha", 0.1)
        srt = np.sort(out, axis=0)
        S = srt.shape[0]
        k = alpha * S
        full = int(math.floor(k + 1e-12))
        val = srt[:full].sum(axis=0)
        if full < S and k - full > 1e-12:
            val = val + (k - full) * srt[full]
        obj = val / k
    else:
        obj = out.mean(axis=0)
    if problem.get("min_roas") is not None:
        obj = np.where(rev.mean(axis=0) >= problem["min_roas"] * spend - 1e-9, obj, -np.inf)
    return obj


def brute_force(problem: dict[str, Any], points: int | None = None) -> tuple[float, list[float]]:
    """Best objective on a grid.  Exact budget: the last channel takes the remainder.

    Default resolution keeps every grid near 2-4 million points (1-D lines get 20,001).
    """
    lo, hi = boxes(problem)
    n = len(lo)
    B = problem["budget"]
    exact = problem.get("budget_mode", "exact") == "exact"
    if points is None:
        points = 20001 if (exact and n == 2) else 1501 if n == 3 else 2001
    if exact:
        axes = [np.linspace(lo[i], hi[i], points) for i in range(n - 1)]
        mesh = [m.ravel() for m in np.meshgrid(*axes, indexing="ij")]
        last = B - sum(mesh)
        ok = (last >= lo[-1] - 1e-9) & (last <= hi[-1] + 1e-9)
        xs = [m[ok] for m in mesh] + [np.clip(last[ok], lo[-1], hi[-1])]
    elif n == 3 and problem.get("min_roas") is None and not any(c.get("scenarios") for c in problem["channels"]):
        # budget <= B, separable objective: grid the first two channels; the third
        # takes its best spend below the remaining budget (prefix max on a fine grid)
        cost = 1.0 if problem.get("objective") == "profit" else 0.0
        g3 = np.linspace(lo[2], hi[2], 50 * points)
        vals3 = curve_value(problem["channels"][2]["curve"], g3) - cost * g3
        running = np.maximum.accumulate(vals3)
        best_idx = np.maximum.accumulate(np.where(vals3 == running, np.arange(len(g3)), 0))
        axes = [np.linspace(lo[i], hi[i], points) for i in range(2)]
        mesh = [m.ravel() for m in np.meshgrid(*axes, indexing="ij")]
        cap = B - mesh[0] - mesh[1]
        ok = cap >= lo[2] - 1e-9
        k = np.clip(np.searchsorted(g3, cap[ok] + 1e-9, side="right") - 1, 0, len(g3) - 1)
        xs = [mesh[0][ok], mesh[1][ok], g3[best_idx[k]]]
    else:
        axes = [np.linspace(lo[i], hi[i], points) for i in range(n)]
        mesh = [m.ravel() for m in np.meshgrid(*axes, indexing="ij")]
        ok = sum(mesh) <= B + 1e-9
        xs = [m[ok] for m in mesh]
    obj = score(problem, xs)
    i = int(np.argmax(obj))
    return float(obj[i]), [float(x[i]) for x in xs]


def slsqp(problem: dict[str, Any], start: np.ndarray) -> tuple[float, np.ndarray] | None:
    """SciPy SLSQP (PyMC-Marketing's allocator method) from one start; None if it ends infeasible."""
    lo, hi = boxes(problem)
    B = problem["budget"]
    exact = problem.get("budget_mode", "exact") == "exact"
    chans = problem["channels"]
    cost = 1.0 if problem.get("objective") == "profit" else 0.0

    def neg(x: np.ndarray) -> float:
        return -float(score(problem, [np.array([v]) for v in x])[0]) if problem.get("min_roas") is None else -float(
            outcome_matrix(problem, [np.array([v]) for v in x]).mean() - cost * x.sum()
        )

    def grad(x: np.ndarray) -> np.ndarray:
        return -np.array([float(curve_derivative(c["curve"], v)) - cost for c, v in zip(chans, x)])

    cons = [{"type": "eq" if exact else "ineq", "fun": (lambda x: B - x.sum()), "jac": lambda x: -np.ones_like(x)}]
    if problem.get("min_roas") is not None:
        rho = problem["min_roas"]
        cons.append({"type": "ineq", "fun": lambda x: outcome_matrix(problem, [np.array([v]) for v in x]).mean() - rho * x.sum()})
    res = minimize(neg, start, jac=grad if not any(c.get("scenarios") for c in chans) else None, method="SLSQP",
                   bounds=list(zip(lo, hi)), constraints=cons, options={"maxiter": 500, "ftol": 1e-12})
    x = np.clip(res.x, lo, hi)
    feasible = (abs(x.sum() - B) <= 1e-6 * max(B, 1) if exact else x.sum() <= B * (1 + 1e-9))
    val = float(score(problem, [np.array([v]) for v in x])[0])
    if not feasible or not np.isfinite(val):
        return None
    return val, x
