"""Local refinement of a global answer: exact KKT on the concave pieces around it.

A global method (branch and bound, MILP) tells which side of each S-curve's
inflection a channel belongs on.  Restricted to those pieces every curve is
concave, so the KKT multiplier search finds the exact optimum there and its
multipliers.  One channel may legitimately sit in its convex region (with a
single budget constraint at most one can, at a local optimum); that channel
gets a bounded 1-D search with the others re-solved exactly at each point.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from .curve_bank import CurveBank
from .separable import ConcaveModel, RoasInfeasible, SeparableSolution, solve_separable


def concave_pieces(bank: CurveBank, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes around x on which every curve is concave: past the inflection, or pinned at x."""
    infl = bank.inflection
    on_branch = x >= infl - 1e-12 * np.maximum(infl, 1.0)
    plo = np.where(on_branch, np.maximum(lo, np.minimum(infl, x)), x)
    phi = np.where(on_branch, hi, x)
    return plo, phi


def _objective(bank: CurveBank, x: np.ndarray, cost: float) -> float:
    return float(bank.value(x).sum() - cost * x.sum())


def polish(
    bank: CurveBank, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float, exact: bool, cost: float, roas: float | None
) -> SeparableSolution | None:
    plo, phi = concave_pieces(bank, x, lo, hi)
    try:
        best = solve_separable(ConcaveModel(bank, plo, phi), budget, exact, cost, roas)
    except RoasInfeasible:
        return None
    infl = bank.inflection
    convex = np.flatnonzero((x > lo) & (x < np.minimum(infl, hi)))
    if len(convex) != 1 or roas is not None:
        return best
    j = int(convex[0])
    left = float(lo[j])
    right = float(min(infl[j], hi[j]))

    def solve_at(xj: float) -> SeparableSolution | None:
        blo, bhi = plo.copy(), phi.copy()
        blo[j] = bhi[j] = xj
        if blo.sum() > budget * (1 + 1e-12) or (exact and bhi.sum() < budget * (1 - 1e-12)):
            return None
        return solve_separable(ConcaveModel(bank, blo, bhi), budget, exact, cost, None)

    def neg(xj: float) -> float:
        sol = solve_at(xj)
        return np.inf if sol is None else -sol.objective

    res = minimize_scalar(neg, bounds=(left, right), method="bounded", options={"xatol": 1e-9 * max(right, 1.0)})
    cand = solve_at(float(res.x))
    if cand is not None and cand.objective > best.objective:
        # the multiplier of a pinned channel's neighbours is the local shadow price
        best = cand
    return best
