"""Piecewise-linear MILP (HiGHS via scipy.optimize.milp) for what the exact paths can't take:
S-shaped curves together with scenarios (mean of S-mixtures, or CVaR).

Each channel's spend is split into segments x = lo + sum_k d_k, 0 <= d_k <= h_k.
Segments of channels whose curves are concave in every scenario fill in order on
their own (filling an earlier, steeper segment first is never worse in any
scenario); other channels get the standard binaries y_k forcing order.

Certificate: the true optimum is at most (MILP dual bound) + E, where E bounds
how far the piecewise-linear model can be above the true curves.  Breakpoints
include every inflection, so on each segment r' is monotone and the chord error
is at most h * |r'(left) - r'(right)| / 4.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from .curve_bank import CurveBank
from .curves import ResponseCurve


@dataclass
class MilpSolution:
    x: np.ndarray
    model_objective: float  # objective of the piecewise-linear model at x
    dual_bound: float  # HiGHS bound on the piecewise-linear optimum
    error_bound: float  # max amount the PWL model can overstate the true objective
    lam: float | None


class _ChannelCurves:
    """Channel i's curve in every scenario, evaluated at one point in one call."""

    def __init__(self, curves: Sequence[ResponseCurve]):
        self.bank = CurveBank.from_curves(curves)
        self.S = len(curves)

    def at(self, x: float) -> tuple[np.ndarray, np.ndarray]:
        pts = np.full(self.S, x)
        return self.bank.value(pts), self.bank.derivative(pts)


def _segment_error(v0, d0, v1, d1, h):
    """Max |curve - chord| on a segment where the curve is convex or concave (per scenario).

    h |r'(l) - r'(r)| / 4 from the monotone derivative, or |r(r) - r(l)| when the
    slope is unbounded (Hill s < 1 at zero): chord and curve both lie in that band.
    """
    with np.errstate(invalid="ignore"):
        by_slope = h * np.abs(d0 - d1) / 4.0
    return np.fmin(np.where(np.isfinite(by_slope), by_slope, np.inf), np.abs(v1 - v0))


def _adaptive_grid(cc: _ChannelCurves, lo: float, hi: float, segments: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Breakpoints (with every inflection) refined where the chord error is largest.

    Returns points, values (S, points) and the channel's worst-scenario error bound.
    """
    infl = [p for p in np.unique(cc.bank.inflection) if lo < p < hi]
    pts = sorted(set(np.linspace(lo, hi, max(segments // 4, 2) + 1).tolist()) | set(infl))
    cache = {p: cc.at(p) for p in pts}

    def err(a: float, b: float) -> float:
        (va, da), (vb, db) = cache[a], cache[b]
        return float(np.max(_segment_error(va, da, vb, db, b - a)))

    heap = [(-err(a, b), a, b) for a, b in zip(pts[:-1], pts[1:])]
    heapq.heapify(heap)
    while len(heap) < segments:
        e, a, b = heapq.heappop(heap)
        if -e <= 0 or b - a <= 1e-9 * max(abs(b), 1.0):
            heapq.heappush(heap, (e, a, b))
            break
        m = 0.5 * (a + b)
        cache[m] = cc.at(m)
        heapq.heappush(heap, (-err(a, m), a, m))
        heapq.heappush(heap, (-err(m, b), m, b))
    pts_arr = np.array(sorted(cache))
    values = np.stack([cache[p][0] for p in pts_arr], axis=1)
    return pts_arr, values, float(-min(heap)[0]) if heap else 0.0


def solve_pwl_milp(
    channel_curves: Sequence[Sequence[ResponseCurve]],
    lo: np.ndarray,
    hi: np.ndarray,
    budget: float,
    exact: bool,
    cost: float,
    roas: float | None,
    risk: str,
    alpha: float,
    segments: int,
    time_limit: float = 60.0,
) -> MilpSolution:
    """channel_curves[i][j]: channel i's curve in scenario j."""
    n, S = len(lo), len(channel_curves[0])
    seg_owner, seg_len, seg_slopes = [], [], []
    base_value = np.zeros(S)  # sum_i r_ij(lo_i)
    err = np.zeros(S)  # worst-case PWL error per scenario, summed over channels
    seg_start = []
    nonconcave = np.zeros(n, dtype=bool)
    grids = []
    for i in range(n):
        cc = _ChannelCurves(channel_curves[i])
        nonconcave[i] = not bool(np.all(cc.bank.concave))
        seg_start.append(len(seg_owner))
        if hi[i] <= lo[i]:
            base_value += cc.at(lo[i])[0]
            grids.append(np.array([lo[i]]))
            continue
        pts, vals, e = _adaptive_grid(cc, float(lo[i]), float(hi[i]), segments)
        grids.append(pts)
        h = np.diff(pts)
        base_value += vals[:, 0]
        err += e
        seg_slopes.append(np.diff(vals, axis=1) / h)
        seg_owner += [i] * len(h)
        seg_len += list(h)
    n_seg = len(seg_owner)
    seg_owner_arr = np.asarray(seg_owner, dtype=int)
    seg_len_arr = np.asarray(seg_len)
    slopes_all = np.concatenate(seg_slopes, axis=1) if n_seg else np.zeros((S, 0))

    y_pairs = []  # (segment k, segment k+1) linked by a binary
    for i, pts in enumerate(grids):
        if nonconcave[i]:
            first = seg_start[i]
            for k in range(len(pts) - 2):
                y_pairs.append((first + k, first + k + 1))
    n_y = len(y_pairs)
    cvar = risk == "cvar"
    n_var = n_seg + n_y + (1 + S if cvar else 0)
    t_col = n_seg + n_y
    u_cols = np.arange(t_col + 1, t_col + 1 + S)

    lo_sum = float(lo.sum())
    # objective (maximise): outcome_j = base_j + slopes_j . d - cost * (lo_sum + sum d)
    c = np.zeros(n_var)
    const = float(np.mean(base_value)) - cost * lo_sum
    if cvar:
        c[t_col] = 1.0
        c[u_cols] = -1.0 / (alpha * S)
    else:
        c[:n_seg] = slopes_all.mean(axis=0) - cost

    rows, cols, vals, lb, ub = [], [], [], [], []

    def add_row(cidx: Sequence[int], cval: Sequence[float], low: float, up: float) -> None:
        r = len(lb)
        rows.extend([r] * len(cidx))
        cols.extend(cidx)
        vals.extend(cval)
        lb.append(low)
        ub.append(up)

    seg_cols = list(range(n_seg))
    add_row(seg_cols, [1.0] * n_seg, (budget - lo_sum) if exact else -np.inf, budget - lo_sum)
    if roas is not None:  # mean revenue >= roas * spend
        coef = slopes_all.mean(axis=0) - roas
        add_row(seg_cols, list(coef), roas * lo_sum - float(np.mean(base_value)), np.inf)
    for k, (a, b) in enumerate(y_pairs):
        ycol = n_seg + k
        add_row([a, ycol], [1.0, -seg_len_arr[a]], 0.0, np.inf)  # y=1 -> segment a full
        add_row([b, ycol], [1.0, -seg_len_arr[b]], -np.inf, 0.0)  # y=0 -> segment b empty
    if cvar:
        for j in range(S):  # u_j - t + outcome_j >= 0
            coef_j = list(slopes_all[j] - cost) + [-1.0, 1.0]
            add_row(seg_cols + [t_col, int(u_cols[j])], coef_j, -(base_value[j] - cost * lo_sum), np.inf)

    A = coo_matrix((vals, (rows, cols)), shape=(len(lb), n_var)).tocsr()
    var_lo = np.zeros(n_var)
    var_hi = np.concatenate([seg_len_arr, np.ones(n_y), np.full(1 + S, np.inf) if cvar else []])
    if cvar:
        var_lo[t_col] = -np.inf
    integrality = np.zeros(n_var)
    integrality[n_seg : n_seg + n_y] = 1
    res = milp(
        -c,
        constraints=LinearConstraint(A, lb, ub),
        integrality=integrality,
        bounds=Bounds(var_lo, var_hi),
        options={"time_limit": time_limit, "mip_rel_gap": 1e-9, "disp": False},
    )
    if res.x is None:
        raise RuntimeError(f"HiGHS MILP failed: {res.message}")
    d = res.x[:n_seg]
    x = lo + np.bincount(seg_owner_arr, d, minlength=n) if n_seg else lo.copy()
    x = np.clip(x, lo, hi)
    model_obj = float(-res.fun) + (0.0 if cvar else const)
    bound = getattr(res, "mip_dual_bound", None)
    dual_bound = (float(-bound) + (0.0 if cvar else const)) if bound is not None and np.isfinite(bound) else model_obj
    dual_bound = max(dual_bound, model_obj)
    return MilpSolution(x, model_obj, dual_bound, float(err.max()), None)
