"""cvxpy formulation for concave curves: the reference solver and the CVaR solver.

Every concave family is DCP-representable exactly:
  exponential  a (1 - exp(-x/b))                      exp cone
  log          a log(1 + x/b)                         exp cone
  hill s <= 1  a x^s / (x^s + k^s) = a - a inv_pos(1 + power(x/k, s))
               (inv_pos is convex decreasing, power(., s<=1) concave: the composition is convex)
Variables are scaled to budget units so the conic solver sees O(1) numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cvxpy as cp
import numpy as np

from .curve_bank import CurveBank
from .curves import Exponential, Hill, Log


@dataclass
class CvxSolution:
    x: np.ndarray
    lam: float  # d objective / d budget
    mu: float  # ROAS constraint multiplier (objective units per unit of slack)
    status: str


def _bank_expression(bank: CurveBank, x: cp.Expression, value_scale: float) -> cp.Expression:
    """sum_i r_i(x_i) / value_scale as a concave cvxpy expression."""
    terms = []
    for g in bank.groups:
        c = g.curve
        xi = x[g.channel]
        w = g.weight / value_scale
        if isinstance(c, Exponential):
            terms.append(cp.sum(cp.multiply(w * c.a, 1 - cp.exp(cp.multiply(-1.0 / np.asarray(c.b), xi)))))
        elif isinstance(c, Log):
            terms.append(cp.sum(cp.multiply(w * c.a, cp.log1p(cp.multiply(1.0 / np.asarray(c.b), xi)))))
        elif isinstance(c, Hill):
            a, k, s = (np.asarray(p, dtype=float) for p in (c.a, c.k, c.s))
            if np.any(s > 1):
                raise ValueError("S-shaped Hill (s > 1) is not concave; cvxpy cannot take it")
            # a x^s/(x^s+k^s) = a (1 - 1/(1 + (x/k)^s)): inv_pos argument stays O(1)
            one = s == 1
            if one.any():
                ratio = cp.multiply(1.0 / k[one], xi[one])
                terms.append(cp.sum(cp.multiply(w[one] * a[one], 1 - cp.inv_pos(1 + ratio))))
            for j in np.flatnonzero(~one):  # power() needs a scalar exponent
                terms.append(w[j] * a[j] * (1 - cp.inv_pos(1 + cp.power(xi[j] / k[j], s[j]))))
    return cp.sum(cp.hstack(terms)) if len(terms) > 1 else terms[0]


def solve_cvxpy(
    scenario_banks: Sequence[CurveBank],
    lo: np.ndarray,
    hi: np.ndarray,
    budget: float,
    exact: bool,
    cost: float,
    roas: float | None = None,
    risk: str = "mean",
    alpha: float = 0.1,
    solver: str | None = None,
) -> CvxSolution:
    """max E[outcome] or CVaR_alpha[outcome] over scenarios, outcome_j = sum r_ij - cost * spend."""
    n = len(lo)
    scale = max(budget, 1.0)
    value_scale = max(1.0, float(np.mean([b.value(hi).sum() for b in scenario_banks])))
    z = cp.Variable(n)
    x = scale * z
    spend = cp.sum(z) * scale
    revenues = [_bank_expression(b, x, value_scale) for b in scenario_banks]
    outcomes = [r - cost * spend / value_scale for r in revenues]
    S = len(scenario_banks)
    cons = [z >= lo / scale]
    finite = np.isfinite(hi)
    if finite.any():
        cons.append(z[np.flatnonzero(finite)] <= hi[finite] / scale)
    budget_con = (cp.sum(z) == budget / scale) if exact else (cp.sum(z) <= budget / scale)
    cons.append(budget_con)
    roas_con = None
    if roas is not None:
        roas_con = sum(revenues) / S >= roas * spend / value_scale
        cons.append(roas_con)
    if risk == "cvar":
        t = cp.Variable()
        u = cp.Variable(S, nonneg=True)
        cons += [u[j] >= t - outcomes[j] for j in range(S)]
        objective = t - cp.sum(u) / (alpha * S)
    else:
        objective = sum(outcomes) / S
    prob = cp.Problem(cp.Maximize(objective), cons)
    prob.solve(solver=solver or "CLARABEL")
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy returned status {prob.status}")
    xv = np.clip(np.asarray(z.value, dtype=float) * scale, lo, hi)
    lam = float(budget_con.dual_value) * value_scale / scale
    mu = float(roas_con.dual_value) if roas_con is not None else 0.0
    return CvxSolution(xv, abs(lam) if not exact else lam, mu, prob.status)
