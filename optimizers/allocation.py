"""`optimize(problem) -> AllocationResult`: route a problem to an exact method and certify it.

Routes (method="auto"):
  kkt               all curves concave, no CVaR: multiplier search in `separable`
                    (exact to ~1e-12, fast at 1,000 channels)
  branch_and_bound  some single S-shaped Hill curves: global optimum by
                    concave-envelope branch and bound, then a KKT polish
  cvxpy             CVaR over scenarios with concave curves (exp-cone program)
  milp              S-shaped curves mixed with scenarios: piecewise-linear MILP
Each route reports `gap` against an upper bound that does not trust the route:
a Lagrangian dual bound evaluated on the true curves, or the MILP bound plus the
piecewise-linear error bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .branch_and_bound import BranchAndBound
from .curve_bank import CurveBank
from .errors import AllocationError
from .problem import AllocationProblem, parse_problem
from .result import AllocationResult
from .refine import polish
from .separable import ConcaveModel, RoasInfeasible, lagrangian_bound, solve_separable

METHODS = ("auto", "kkt", "cvxpy", "branch_and_bound", "milp")

__all__ = ["AllocationError", "AllocationProblem", "AllocationResult", "optimize", "cvar", "METHODS"]


# ----------------------------------------------------------------------------
# Feasible boxes and budget reachability


@dataclass
class _Boxes:
    lo: np.ndarray
    hi: np.ndarray
    lo_reason: list[str]
    hi_reason: list[str]


def _fmt(v: float) -> str:
    return "inf" if not math.isfinite(v) else f"{v:,.6g}"


def channel_boxes(problem: AllocationProblem) -> _Boxes:
    """Per-channel [lo, hi] from min/max, locked and max_change; names the conflicting limits."""
    chans = problem.channels
    n = len(chans)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    lo_reason, hi_reason = ["min"] * n, ["no max"] * n
    base = np.array([c.current_spend for c in chans], dtype=float)
    if problem.max_change is not None and problem.max_change_basis == "scaled_current":
        # the band sits around the current mix rescaled to the new budget
        locked_spend = sum(c.current_spend for c in chans if c.locked)
        free_current = sum(c.current_spend for c in chans if not c.locked)
        if free_current > 0:
            base = base * max(problem.budget - locked_spend, 0.0) / free_current
    for i, c in enumerate(chans):
        lo[i] = c.min
        lo_reason[i] = f"min {_fmt(c.min)}"
        if c.max is not None:
            hi[i] = c.max
            hi_reason[i] = f"max {_fmt(c.max)}"
        if c.locked:
            lo[i] = hi[i] = c.current_spend
            lo_reason[i] = hi_reason[i] = f"locked at {_fmt(c.current_spend)}"
            continue
        if problem.max_change is not None:
            band_lo = base[i] * (1 - problem.max_change)
            band_hi = base[i] * (1 + problem.max_change)
            what = f"max_change {problem.max_change:g} around {_fmt(base[i])}"
            if band_lo > lo[i]:
                lo[i], lo_reason[i] = band_lo, f"{what} -> >= {_fmt(band_lo)}"
            if band_hi < hi[i]:
                hi[i], hi_reason[i] = band_hi, f"{what} -> <= {_fmt(band_hi)}"
            if lo[i] > hi[i] * (1 + 1e-12):
                raise AllocationError(
                    f"channel '{c.name}': {lo_reason[i]} conflicts with {hi_reason[i]}; "
                    "no spend satisfies both: relax max_change or the channel's min/max"
                )
            hi[i] = max(hi[i], lo[i])
    lo = np.maximum(lo, 0.0)
    return _Boxes(lo, hi, lo_reason, hi_reason)


def _check_reachable(problem: AllocationProblem, boxes: _Boxes) -> None:
    names = [c.name for c in problem.channels]
    budget = problem.budget
    tol = 1e-9 * max(budget, 1.0)
    lo_sum, hi_sum = float(boxes.lo.sum()), float(boxes.hi.sum())
    if lo_sum > budget + tol:
        parts = ", ".join(f"{names[i]} ({boxes.lo_reason[i]})" for i in np.argsort(-boxes.lo) if boxes.lo[i] > 0)
        raise AllocationError(
            f"budget {_fmt(budget)} is below the channels' lower limits, which add up to {_fmt(lo_sum)}: {parts}; "
            "raise the budget, lower a min, unlock a channel or relax max_change"
        )
    if problem.budget_mode == "exact" and hi_sum < budget - tol:
        parts = ", ".join(f"{names[i]} ({boxes.hi_reason[i]})" for i in np.argsort(boxes.hi))
        raise AllocationError(
            f"budget_mode 'exact' must spend {_fmt(budget)} but the channels' upper limits add up to "
            f"{_fmt(hi_sum)}: {parts}; raise a max, relax max_change, unlock a channel or use budget_mode 'at_most'"
        )


# ----------------------------------------------------------------------------
# Curves


def scenario_banks(problem: AllocationProblem) -> list[CurveBank]:
    """One bank per scenario; channels without scenarios keep their curve in all of them."""
    S = max(problem.scenario_count, 1)
    banks = []
    for j in range(S):
        curves = [(c.scenarios[j] if c.scenarios else c.curve).to_curve() for c in problem.channels]
        banks.append(CurveBank.from_curves(curves))
    return banks


def channel_scenario_curves(problem: AllocationProblem) -> list[list]:
    """[i][j]: channel i's curve in scenario j."""
    S = max(problem.scenario_count, 1)
    return [[(c.scenarios[j] if c.scenarios else c.curve).to_curve() for j in range(S)] for c in problem.channels]


def weighted_bank(problem: AllocationProblem, weights: np.ndarray | None = None) -> CurveBank:
    """Channel curve = sum_j w_j r_ij (mean over scenarios when weights is None)."""
    S = problem.scenario_count
    comps = []
    for c in problem.channels:
        if not c.scenarios:
            total = 1.0 if weights is None else float(np.sum(weights))
            comps.append([(total, c.curve.to_curve())])
        else:
            w = np.full(S, 1.0 / S) if weights is None else weights
            comps.append([(float(w[j]), c.scenarios[j].to_curve()) for j in range(S) if w[j] != 0])
            if not comps[-1]:
                comps[-1] = [(0.0, c.scenarios[0].to_curve())]
    return CurveBank.from_components(comps)


def cvar(values: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of an outcome (higher is better): mean of the worst alpha share of scenarios."""
    return float(np.dot(cvar_weights(values, alpha), values))


def cvar_weights(values: np.ndarray, alpha: float) -> np.ndarray:
    """The worst-case scenario weights q (0 <= q <= 1/(alpha S), sum 1) attaining the CVaR."""
    values = np.asarray(values, dtype=float)
    S = len(values)
    cap = 1.0 / (alpha * S)
    q = np.zeros(S)
    left = 1.0
    for j in np.argsort(values, kind="stable"):
        q[j] = min(cap, left)
        left -= q[j]
        if left <= 1e-15:
            break
    return q


# ----------------------------------------------------------------------------
# Routes


@dataclass
class _Solved:
    x: np.ndarray
    lam: float
    mu: float
    upper_bound: float
    method: str
    info: dict[str, Any] = field(default_factory=dict)


def _objective(bank: CurveBank, x: np.ndarray, cost: float) -> float:
    return float(bank.value(x).sum() - cost * x.sum())


def _roas_ok(bank: CurveBank, x: np.ndarray, roas: float | None) -> bool:
    if roas is None:
        return True
    rev = bank.value(x).sum()
    return rev >= roas * x.sum() - 1e-9 * max(rev, 1.0)


def _route_kkt(bank, lo, hi, budget, exact, cost, roas) -> _Solved:
    sol = solve_separable(ConcaveModel(bank, lo, hi), budget, exact, cost, roas)
    ub = lagrangian_bound(bank, lo, hi, budget, cost, sol.lam, sol.mu, roas)
    return _Solved(sol.x, sol.lam, sol.mu, ub, "kkt", {"bound": "lagrangian_dual"})


def _route_bnb(bank, lo, hi, budget, exact, cost, roas, gap_tol) -> _Solved:
    # aim well below the tolerance: the limits below stop it early if that is slow
    bb = BranchAndBound(bank, lo, hi, budget, exact, cost, roas, gap_tol=gap_tol * 1e-2)
    res = bb.run()
    x, lam, mu = res.x, res.lam, res.mu
    pol = polish(bank, x, lo, hi, budget, exact, cost, roas)
    if pol is not None and _roas_ok(bank, pol.x, roas) and _objective(bank, pol.x, cost) >= _objective(bank, x, cost) - 1e-9 * max(1.0, abs(res.objective)):
        x, lam, mu = pol.x, pol.lam, pol.mu
    upper = max(res.upper_bound, _objective(bank, x, cost))
    return _Solved(x, lam, mu, upper, "branch_and_bound", {"bound": "branch_and_bound", "nodes": res.nodes, "converged": res.converged})


def _route_cvxpy(problem, banks, mean_bank, lo, hi, budget, exact, cost, roas) -> _Solved:
    from .cvx_reference import solve_cvxpy  # cvxpy import is slow: only when used

    S = len(banks)
    risk = problem.risk if problem.scenario_count else "mean"
    sol = solve_cvxpy(banks, lo, hi, budget, exact, cost, roas, risk, problem.cvar_alpha)
    x = sol.x
    if risk == "mean":
        ub = lagrangian_bound(mean_bank, lo, hi, budget, cost, sol.lam, sol.mu, roas)
        return _Solved(x, sol.lam, sol.mu, ub, "cvxpy", {"bound": "lagrangian_dual", "solver_status": sol.status})
    q = cvar_weights(_outcomes(banks, x, cost), problem.cvar_alpha)
    ub, lam = _cvar_bound(problem, q, max(sol.mu, 0.0), lo, hi, budget, exact, cost, roas)
    return _Solved(x, lam, sol.mu, ub, "cvxpy", {"bound": "cvar_minimax_dual", "solver_status": sol.status, "scenarios": S})


def _cvar_bound(problem, q, mu, lo, hi, budget, exact, cost, roas, lam=None) -> tuple[float, float]:
    """Valid bound: CVaR(x) <= sum_j q_j R_j(x) for any admissible q, then Lagrangian in (lambda, mu)."""
    S = problem.scenario_count
    w = q + (mu / S if roas is not None else 0.0)
    bank_w = weighted_bank(problem, w)
    c = cost + (mu * roas if roas is not None else 0.0)
    if lam is None:  # concave (cvxpy route): the best lambda for this q, exactly
        lam = solve_separable(ConcaveModel(bank_w, lo, hi), budget, exact, c, None).lam
    return lagrangian_bound(bank_w, lo, hi, budget, c, lam), lam


def _outcomes(banks: list[CurveBank], x: np.ndarray, cost: float) -> np.ndarray:
    return np.array([_objective(b, x, cost) for b in banks])


def _route_milp(problem, banks, mean_bank, lo, hi, budget, exact, cost, roas) -> _Solved:
    from .pwl_milp import solve_pwl_milp

    n = len(lo)
    risk = problem.risk if problem.scenario_count else "mean"
    alpha = problem.cvar_alpha
    segments = int(max(16, min(200, 6000 // max(n, 1))))
    curves = channel_scenario_curves(problem)
    first = solve_pwl_milp(curves, lo, hi, budget, exact, cost, roas, risk, alpha, segments)
    upper = first.dual_bound + first.error_bound

    def score(x: np.ndarray) -> float:
        outs = _outcomes(banks, x, cost)
        return cvar(outs, alpha) if risk == "cvar" else float(outs.mean())

    candidates = [first.x]
    # local refinement: finer grids in shrinking windows around the answer
    x_c = first.x
    width = 8.0 * (hi - lo) / segments
    for _ in range(3):
        wlo, whi = np.maximum(lo, x_c - width), np.minimum(hi, x_c + width)
        if wlo.sum() > budget or (exact and whi.sum() < budget):
            break
        try:
            x_c = solve_pwl_milp(curves, wlo, whi, budget, exact, cost, roas, risk, alpha, max(16, segments // 2)).x
        except RuntimeError:
            break
        candidates.append(x_c)
        width = width * 16.0 / segments
    lam, mu = 0.0, 0.0
    if risk == "mean":
        pol = polish(mean_bank, candidates[-1], lo, hi, budget, exact, cost, roas)
        if pol is not None:
            candidates.append(pol.x)
            lam, mu = pol.lam, pol.mu
    feasible = [x for x in candidates if _roas_ok(mean_bank, x, roas)] or candidates
    x = max(feasible, key=score)
    milp_upper = upper
    dual_upper = math.inf
    if risk == "cvar":
        q = cvar_weights(_outcomes(banks, x, cost), alpha)
        bank_q = weighted_bank(problem, q)
        pol = polish(bank_q, x, lo, hi, budget, exact, cost, None)
        lam = pol.lam if pol is not None else 0.0
        if roas is None:  # CVaR(x) <= sum_j q_j R_j(x): a second, independent bound
            dual_upper = _cvar_bound(problem, q, 0.0, lo, hi, budget, exact, cost, None, lam=lam)[0]
    else:
        dual_upper = lagrangian_bound(mean_bank, lo, hi, budget, cost, lam, mu, roas)
    upper = min(milp_upper, dual_upper)
    info = {
        "bound": "min(milp_dual_bound + pwl_error, " + ("cvar_minimax_dual)" if risk == "cvar" else "lagrangian_dual)"),
        "segments": segments,
        "milp_dual_bound": first.dual_bound,
        "pwl_error_bound": first.error_bound,
        "dual_bound": dual_upper,
    }
    return _Solved(x, lam, mu, max(upper, score(x)), "milp", info)


# ----------------------------------------------------------------------------
# Entry point


def optimize(problem: AllocationProblem | Mapping[str, Any], *, method: str = "auto") -> AllocationResult:
    """Optimal budget split.  Raises AllocationError on bad or infeasible input."""
    start = time.perf_counter()
    if method not in METHODS:
        raise AllocationError(f"method {method!r} unknown; use one of {', '.join(METHODS)}")
    problem = parse_problem(problem)
    boxes = channel_boxes(problem)
    _check_reachable(problem, boxes)
    budget = problem.budget
    exact = problem.budget_mode == "exact"
    cost = 1.0 if problem.objective == "profit" else 0.0
    roas = problem.min_roas
    lo = boxes.lo
    # no channel can take more than the budget left after everyone's minimum: keeps boxes finite
    hi = np.maximum(np.minimum(boxes.hi, budget - (lo.sum() - lo)), lo)

    banks = scenario_banks(problem)
    mean_bank = weighted_bank(problem) if problem.scenario_count else banks[0]
    risk = problem.risk if problem.scenario_count else "mean"
    all_concave = bool(np.all(mean_bank.concave)) and all(bool(np.all(b.concave)) for b in banks)
    s_idx, _ = mean_bank.single_s_shaped_hills()
    bnb_ok = risk == "mean" and len(s_idx) == int((~mean_bank.concave).sum())

    route = method
    if route == "auto":
        if risk == "cvar":
            route = "cvxpy" if all_concave else "milp"
        else:
            route = "kkt" if all_concave else ("branch_and_bound" if bnb_ok else "milp")
    if route in ("kkt", "cvxpy") and not all_concave:
        raise AllocationError(f"method '{route}' needs concave curves; an S-shaped Hill (s > 1) is present")
    if route == "kkt" and risk == "cvar":
        raise AllocationError("method 'kkt' cannot optimise CVaR; use 'cvxpy' or 'milp'")
    if route == "branch_and_bound" and not bnb_ok:
        raise AllocationError("method 'branch_and_bound' takes single curves only (no CVaR, no S-shaped scenario mixtures)")

    try:
        if route == "kkt":
            solved = _route_kkt(mean_bank, lo, hi, budget, exact, cost, roas)
        elif route == "branch_and_bound":
            solved = _route_bnb(mean_bank, lo, hi, budget, exact, cost, roas, problem.gap_tolerance)
        elif route == "cvxpy":
            solved = _route_cvxpy(problem, banks, mean_bank, lo, hi, budget, exact, cost, roas)
        else:
            solved = _route_milp(problem, banks, mean_bank, lo, hi, budget, exact, cost, roas)
    except RoasInfeasible as exc:
        raise AllocationError(_roas_message(problem, mean_bank, lo, hi, exc.best_roas)) from None

    x = np.clip(solved.x, lo, hi)
    if roas is not None and not _roas_ok(mean_bank, x, roas):
        raise AllocationError(_roas_message(problem, mean_bank, lo, hi, None))
    _check_solution(problem, x, solved)
    return _build_result(problem, banks, mean_bank, x, solved, cost, risk, start)


BUDGET_TOLERANCE = 1e-6  # relative: an exact budget must be spent to within a millionth (cents are split afterwards)


def _check_solution(problem: AllocationProblem, x: np.ndarray, solved: _Solved) -> None:
    """A solution that breaks a constraint or is not finite is an error, never a "suboptimal" answer."""
    names = [c.name for c in problem.channels]
    broken = [name for name, value in zip(names, x) if not math.isfinite(float(value))]
    if broken:
        raise AllocationError(f"the solver returned no finite spend for {', '.join(broken)} ({solved.method}); "
                              "check the curves' parameters and the budget's scale")
    total = float(np.sum(x))
    if problem.budget_mode == "exact" and abs(total - problem.budget) > BUDGET_TOLERANCE * max(problem.budget, 1.0):
        raise AllocationError(f"the solver's allocation spends {_fmt(total)} where the budget is exactly {_fmt(problem.budget)} "
                              f"({solved.method}); the budget constraint is broken, so no allocation is returned")
    if problem.budget_mode == "at_most" and total > problem.budget * (1 + BUDGET_TOLERANCE) + BUDGET_TOLERANCE:
        raise AllocationError(f"the solver's allocation spends {_fmt(total)}, over the budget of {_fmt(problem.budget)} ({solved.method})")


def _roas_message(problem, bank, lo, hi, best: float | None) -> str:
    detail = f" (best reachable under these limits: {best:.4g})" if best else ""
    what = "conversions" if problem.objective == "conversions" else "revenue"
    fixes = "lower min_roas or relax channel minimums/locks"
    if problem.budget_mode == "exact":
        fixes += ", or use budget_mode 'at_most'"
    forced = [c.name for c, l in zip(problem.channels, lo) if l > 0]
    held = f"; spend that is forced: {', '.join(forced)}" if forced else ""
    return (
        f"min_roas {problem.min_roas:g} is unreachable: predicted {what} cannot reach "
        f"{problem.min_roas:g} x spend{detail} with budget {_fmt(problem.budget)} ({problem.budget_mode}){held}; {fixes}"
    )


def _build_result(problem, banks, mean_bank, x, solved: _Solved, cost, risk, start) -> AllocationResult:
    names = [c.name for c in problem.channels]
    current = np.array([c.current_spend for c in problem.channels])
    rev_by_scenario = np.array([b.value(x).sum() for b in banks])
    predicted = float(mean_bank.value(x).sum())
    current_rev = float(mean_bank.value(current).sum())
    if risk == "cvar":
        objective_value = cvar(rev_by_scenario - cost * x.sum(), problem.cvar_alpha)
    else:
        objective_value = predicted - cost * float(x.sum())
    upper = float(solved.upper_bound)
    raw_gap = (upper - objective_value) / max(abs(upper), 1.0)
    gap = max(raw_gap, 0.0)
    flags = {}
    for i, c in enumerate(problem.channels):
        if c.observed_min is not None and x[i] < c.observed_min * (1 - 1e-9):
            flags[c.name] = "below"
        elif c.observed_max is not None and x[i] > c.observed_max * (1 + 1e-9):
            flags[c.name] = "above"
    rng = None
    if problem.scenario_count:
        rng = [float(np.percentile(rev_by_scenario, 5)), float(np.percentile(rev_by_scenario, 95))]
    deriv = mean_bank.derivative(x)
    certificate = {
        "upper_bound": upper,
        "objective_value": objective_value,
        "raw_gap": raw_gap,
        "budget_multiplier": solved.lam,
        "roas_multiplier": solved.mu if math.isfinite(solved.mu) else None,
        **solved.info,
    }
    return AllocationResult(
        status="optimal" if gap <= problem.gap_tolerance else "suboptimal",
        allocation={n: float(v) for n, v in zip(names, x)},
        predicted_revenue=predicted,
        current_revenue=current_rev,
        marginal_roas={n: float(d) for n, d in zip(names, deriv)},
        budget_shadow_price=float(solved.lam),
        gap=gap,
        solve_seconds=time.perf_counter() - start,
        method=solved.method,
        objective=problem.objective,
        objective_value=objective_value,
        gain=predicted - current_rev,
        total_spend=float(x.sum()),
        predicted_revenue_range=rng,
        outside_observed_range=flags,
        certificate=certificate,
    )
