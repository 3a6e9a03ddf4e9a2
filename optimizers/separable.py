"""Exact solver for separable concave allocation: KKT via a 1-D multiplier search.

Problem:  max sum_i f_i(x_i) - cost * sum_i x_i
          s.t. sum_i x_i = B (or <= B),  lo_i <= x_i <= hi_i,
               optionally sum_i f_i(x_i) >= roas * sum_i x_i.
With f_i concave the KKT conditions say every channel sits where
f_i'(x_i) = sigma (or at a box end), sigma = (lambda + cost + mu*roas)/(1+mu).
So a search over sigma (spend is monotone in it) solves the budget, a search
over mu solves the ROAS constraint, and lambda is the budget's shadow price.
`lagrangian_bound` turns any (lambda, mu) into an independent upper bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .curve_bank import CurveBank
from .curves import Hill


class RoasInfeasible(Exception):
    def __init__(self, best_roas: float):
        super().__init__(best_roas)
        self.best_roas = best_roas


class SeparableModel(Protocol):
    lo: np.ndarray
    hi: np.ndarray

    def argmax(self, sigma: float) -> np.ndarray:
        """Per channel argmax over [lo, hi] of f_i(x) - sigma x."""

    def value(self, x: np.ndarray) -> np.ndarray:
        """Per channel f_i(x)."""

    def edge_slopes(self, at_hi: bool) -> np.ndarray:
        """Per channel slope of f_i at hi (from the left) or at lo (from the right)."""


@dataclass
class ConcaveModel:
    """Channels whose curves are concave on their boxes."""

    bank: CurveBank
    lo: np.ndarray
    hi: np.ndarray

    def argmax(self, sigma: float) -> np.ndarray:
        return self.bank.maximise_linear(sigma, self.lo, self.hi)

    def value(self, x: np.ndarray) -> np.ndarray:
        return self.bank.value(x)

    def edge_slopes(self, at_hi: bool) -> np.ndarray:
        return self.bank.derivative(self.hi if at_hi else self.lo)


def hill_envelope(curve: Hill, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concave envelope of S-shaped Hill curves on [lo, hi]: tangent point t and slope m.

    The envelope is the line from (lo, r(lo)) with slope m up to t, then r itself.
    t solves r'(t)(t - lo) = r(t) - r(lo) on the concave branch; when no such t
    lies inside the box the envelope is the chord (t = hi).
    """
    xi = curve.inflection()
    r_lo = curve.value(lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        chord = np.where(hi > lo, (curve.value(hi) - r_lo) / (hi - lo), curve.derivative(lo))

    def h(t: np.ndarray) -> np.ndarray:
        return curve.derivative(t) * (t - lo) - (curve.value(t) - r_lo)

    concave = lo >= xi
    use_chord = ~concave & ((hi <= xi) | (h(hi) >= 0))
    t = np.where(concave, lo, hi).astype(float)
    m = np.where(concave, curve.derivative(lo), chord)
    tangent = ~concave & ~use_chord
    if tangent.any():
        left, right = np.maximum(xi, lo)[tangent], hi[tangent]
        sub = Hill(*(np.asarray(p)[tangent] for p in (curve.a, curve.k, curve.s)))
        lo_t, r_lo_t = lo[tangent], r_lo[tangent]
        for _ in range(200):  # h decreasing on the concave branch: plain bisection
            mid = 0.5 * (left + right)
            hm = sub.derivative(mid) * (mid - lo_t) - (sub.value(mid) - r_lo_t)
            left = np.where(hm > 0, mid, left)
            right = np.where(hm > 0, right, mid)
            if np.all(right - left <= 1e-13 * np.maximum(right, 1.0)):
                break
        t[tangent] = right
        m[tangent] = sub.derivative(right)
    return t, m


@dataclass
class EnvelopeModel:
    """Concave relaxation: S-shaped single-Hill channels replaced by their envelope on the box."""

    bank: CurveBank
    lo: np.ndarray
    hi: np.ndarray
    s_idx: np.ndarray  # channels that are a single S-shaped Hill
    s_curve: Hill

    def __post_init__(self) -> None:
        self.t, self.m = hill_envelope(self.s_curve, self.lo[self.s_idx], self.hi[self.s_idx])
        self.branch_lo = self.lo.copy()
        self.branch_lo[self.s_idx] = self.t
        self.r_lo = self.s_curve.value(self.lo[self.s_idx])

    @property
    def jumps(self) -> np.ndarray:
        """Slopes at which a channel's spend jumps across its linear envelope piece."""
        return self.m[self.t > self.lo[self.s_idx]]

    def argmax(self, sigma: float) -> np.ndarray:
        x = self.bank.maximise_linear(sigma, self.branch_lo, self.hi)
        x[self.s_idx] = np.where(sigma > self.m, self.lo[self.s_idx], x[self.s_idx])
        return x

    def value(self, x: np.ndarray) -> np.ndarray:
        v = self.bank.value(x)
        xs = x[self.s_idx]
        line = self.r_lo + self.m * (xs - self.lo[self.s_idx])
        v[self.s_idx] = np.where(xs < self.t, line, v[self.s_idx])
        return v

    def edge_slopes(self, at_hi: bool) -> np.ndarray:
        d = self.bank.derivative(self.hi if at_hi else self.lo)
        lo_s, hi_s = self.lo[self.s_idx], self.hi[self.s_idx]
        if at_hi:  # the linear piece reaches hi when the envelope is a chord
            d[self.s_idx] = np.where(self.t >= hi_s, self.m, d[self.s_idx])
        else:
            d[self.s_idx] = np.where(self.t > lo_s, self.m, d[self.s_idx])
        return d

    def envelope_excess(self, x: np.ndarray) -> np.ndarray:
        """env(x) - r(x) on the S channels: how much the relaxation overstates."""
        xs = x[self.s_idx]
        line = self.r_lo + self.m * (xs - self.lo[self.s_idx])
        return np.where(xs < self.t, line - self.s_curve.value(xs), 0.0)


@dataclass
class SeparableSolution:
    x: np.ndarray
    sigma: float
    lam: float  # budget multiplier (shadow price of the objective)
    mu: float  # ROAS multiplier
    objective: float  # sum f_i(x_i) - cost * sum x_i under the model's f


def _edge_slope(model: SeparableModel, at_hi: bool) -> float:
    """Multiplier when every channel sits at a box end: the extreme slope of the (relaxed)
    curves there -- smallest left-slope at hi, largest right-slope at lo -- so the dual
    bound stays tight in these corner cases too."""
    free = model.hi > model.lo
    if not free.any():
        return 0.0
    slopes = model.edge_slopes(at_hi)[free]
    slopes = slopes[np.isfinite(slopes)]
    if not len(slopes):
        return 0.0
    return float(slopes.min() if at_hi else slopes.max())


def solve_budget(model: SeparableModel, budget: float, exact: bool, sigma_floor: float) -> tuple[np.ndarray, float]:
    """Find sigma with sum_i argmax_i(sigma) = budget (or the unconstrained point).

    `sigma_floor` is the slope at a zero budget multiplier; with budget <= B the
    budget only binds when spending at that slope would exceed it.
    """
    lo, hi = model.lo, model.hi
    tol = 1e-12 * max(budget, 1.0)
    if not exact:
        if sigma_floor > 0:
            x0 = model.argmax(sigma_floor)
            if x0.sum() <= budget + tol:
                return x0, sigma_floor
        elif hi.sum() <= budget + tol:
            return hi.copy(), 0.0
    if budget <= lo.sum() + tol:
        return lo.copy(), max(_edge_slope(model, at_hi=False), sigma_floor if not exact else 0.0)
    if exact and budget >= hi.sum() - tol:
        return hi.copy(), _edge_slope(model, at_hi=True)

    def excess(z: float) -> tuple[float, np.ndarray]:
        x = model.argmax(math.exp(z))
        return float(x.sum()) - budget, x

    # bracket in z = log(sigma): f(za) >= 0 >= f(zb)
    z = math.log(sigma_floor) if (not exact and sigma_floor > 0) else 0.0
    f, x = excess(z)
    if f >= 0:
        za, fa, xa = z, f, x
        zb = z
        while True:
            zb += math.log(16.0)
            fb, xb = excess(zb)
            if fb <= 0 or zb > 700:
                break
            za, fa, xa = zb, fb, xb
    else:
        zb, fb, xb = z, f, x
        za = z
        while True:
            za -= math.log(16.0)
            fa, xa = excess(za)
            if fa >= 0 or za < -700:
                break
            zb, fb, xb = za, fa, xa
    # Envelope channels jump from their minimum to their tangent point at sigma = m:
    # locate the root among those jumps by binary search, so no root-finder has to
    # creep up on a discontinuity.
    jumps = np.log(np.unique(getattr(model, "jumps", np.zeros(0))))
    jumps = jumps[(jumps > za) & (jumps < zb)]
    eps = 1e-13
    while len(jumps):
        zm = float(jumps[len(jumps) // 2])
        f_above, x_above = excess(zm + eps)  # sigma just above m: jump channels at their minimum
        if f_above > 0:
            za, fa, xa = zm + eps, f_above, x_above
            jumps = jumps[jumps > zm]
            continue
        f_below, x_below = excess(zm - eps)
        if f_below < 0:
            zb, fb, xb = zm - eps, f_below, x_below
            jumps = jumps[jumps < zm]
            continue
        za, fa, xa, zb, fb, xb = zm - eps, f_below, x_below, zm + eps, f_above, x_above
        break
    # Illinois false position in log-sigma (ga/gb are the down-weighted copies
    # of fa/fb it interpolates with), bisection every 4th step so jumps converge
    ga, gb = fa, fb
    side = 0
    for it in range(300):
        if 0 <= fa <= tol:
            return xa, math.exp(za)
        if -fb <= tol:
            return xb, math.exp(zb)
        if zb - za <= 3e-13:  # sigma known to ~1e-13 relative; the split below absorbs the rest
            break
        zc = 0.5 * (za + zb)
        if it % 4 != 3 and ga != gb:
            zi = (za * gb - zb * ga) / (gb - ga)
            if za < zi < zb:
                zc = zi
        fc, xc = excess(zc)
        if fc >= 0:
            za, fa, xa, ga = zc, fc, xc, fc
            if side == 1:
                gb *= 0.5
            side = 1
        else:
            zb, fb, xb, gb = zc, fc, xc, fc
            if side == -1:
                ga *= 0.5
            side = -1
    # spend jumps at sigma* (linear envelope pieces or ties): split the jump exactly
    sa, sb = xa.sum(), xb.sum()
    theta = 0.0 if sa <= sb else (budget - sb) / (sa - sb)
    x = xb + min(max(theta, 0.0), 1.0) * (xa - xb)
    return x, math.exp(0.5 * (za + zb))


def solve_separable(
    model: SeparableModel,
    budget: float,
    exact: bool,
    cost: float,
    roas: float | None = None,
) -> SeparableSolution:
    """Maximise sum f_i - cost*sum x under the budget, box and optional ROAS constraint."""

    def at_mu(mu: float) -> tuple[np.ndarray, float, float]:
        floor = (cost + mu * (roas or 0.0)) / (1.0 + mu)
        x, sigma = solve_budget(model, budget, exact, floor)
        lam = sigma * (1.0 + mu) - cost - mu * (roas or 0.0)
        if not exact:
            lam = max(lam, 0.0)
        return x, sigma, lam

    def slack(x: np.ndarray) -> float:
        return float(model.value(x).sum() - (roas or 0.0) * x.sum())

    def finish(x: np.ndarray, sigma: float, lam: float, mu: float) -> SeparableSolution:
        obj = float(model.value(x).sum() - cost * x.sum())
        return SeparableSolution(x, sigma, lam, mu, obj)

    x, sigma, lam = at_mu(0.0)
    scale = max(1.0, float(model.value(x).sum()))
    if roas is None or slack(x) >= -1e-10 * scale:
        return finish(x, sigma, lam, 0.0)

    # the most ROAS-friendly allocation: maximise sum f - roas * sum x
    x_inf, _ = solve_budget(model, budget, exact, roas)
    if slack(x_inf) < -1e-10 * scale:
        spend = x_inf.sum()
        raise RoasInfeasible(float(model.value(x_inf).sum() / spend) if spend > 0 else 0.0)
    # slack is nondecreasing in mu (it is the dual function's slope): bisect
    mu_lo, mu_hi = 0.0, 1.0
    worst = (x, sigma, lam)
    best = at_mu(mu_hi)
    while slack(best[0]) < 0:
        mu_lo, mu_hi, worst = mu_hi, mu_hi * 8, best
        if mu_hi > 1e12:
            return finish(x_inf, roas, 0.0, math.inf)
        best = at_mu(mu_hi)
    for _ in range(80):
        if mu_hi - mu_lo <= 1e-12 * max(mu_hi, 1e-12):
            break
        mid = 0.5 * (mu_lo + mu_hi)
        cand = at_mu(mid)
        if slack(cand[0]) >= 0:
            mu_hi, best = mid, cand
        else:
            mu_lo, worst = mid, cand
    # allocations jump at mu* when a linear envelope piece enters: the optimum is
    # the point of the jump segment where the ROAS constraint is exactly tight
    xa, xb = worst[0], best[0]
    x_opt = xb
    if slack(xb) > 1e-12 * scale and np.any(xa != xb):
        t_lo, t_hi = 0.0, 1.0
        for _ in range(60):
            t = 0.5 * (t_lo + t_hi)
            if slack(xb + t * (xa - xb)) >= 0:
                t_lo = t
            else:
                t_hi = t
        x_mix = xb + t_lo * (xa - xb)
        if model.value(x_mix).sum() - cost * x_mix.sum() >= model.value(xb).sum() - cost * xb.sum():
            x_opt = x_mix
    return finish(x_opt, best[1], best[2], mu_hi)


def lagrangian_bound(
    bank: CurveBank,
    lo: np.ndarray,
    hi: np.ndarray,
    budget: float,
    cost: float,
    lam: float,
    mu: float = 0.0,
    roas: float | None = None,
    grid: int = 33,
) -> float:
    """Upper bound on max sum r_i - cost*sum x over the box and budget, by weak duality.

    L(x) = sum_i [(1+mu) r_i(x_i) - (cost + mu*roas + lam) x_i] + lam*B  >=  objective
    for every feasible x (lam >= 0 needed when the budget is an inequality).
    Each channel's term is maximised exactly over its box: candidates are the box
    ends and the stationary point on the concave branch (r is convex before its
    inflection, so no maximum hides there); a grid adds a cheap safety net.
    """
    if not math.isfinite(mu):
        return math.inf
    w = 1.0 + mu
    coef = cost + mu * (roas or 0.0) + lam
    cands = [lo, hi]
    if coef > 0:
        branch_lo = np.clip(bank.inflection, lo, hi)
        cands.append(bank.stationary_by_bisection(coef / w, branch_lo, hi))
    elif not np.all(np.isfinite(hi)):
        return math.inf
    # mixtures containing S-shaped components can have several local maxima below
    # their last inflection: bound those channels segment by segment instead
    mixed = ~bank.concave & (bank.component_count > 1)
    frac = np.linspace(0.0, 1.0, grid)
    span = np.where(np.isfinite(hi), hi - lo, 0.0)
    best = np.full(bank.n, -np.inf)
    for c in cands:
        best = np.maximum(best, w * bank.value(c) - coef * c)
    for f in frac[1:-1]:
        c = lo + f * span
        best = np.maximum(best, w * bank.value(c) - coef * c)
    for i in np.flatnonzero(mixed):
        best[i] = _segment_bound(bank, i, float(lo[i]), float(hi[i]), w, coef)
    return float(best.sum() + lam * budget)


def _segment_bound(bank: CurveBank, i: int, lo: float, hi: float, w: float, coef: float, points: int = 4001) -> float:
    """Rigorous max over [lo, hi] of w * sum_c w_c r_c(x) - coef x for a mixture channel.

    Breakpoints include every component's inflection, so each component is convex
    or concave on each segment and lies within e_c = min(h |r_c'(l) - r_c'(r)| / 4,
    |r_c(r) - r_c(l)|) of its chord; the linear term has no chord error.  Hence on a
    segment the function is at most max(endpoint values) + w * sum_c w_c e_c.
    """
    if not hi > lo:
        return float(w * bank.value(np.full(bank.n, lo))[i] - coef * lo)
    comps = bank.components(i)
    infl = [float(c.inflection()) for _, c in comps]
    pts = np.unique(np.concatenate([np.linspace(lo, hi, points), [p for p in infl if lo < p < hi]]))
    h = np.diff(pts)
    phi = -coef * pts
    err = np.zeros(len(h))
    for wc, c in comps:
        v, d = c.value(pts), c.derivative(pts)
        phi = phi + w * wc * v
        with np.errstate(invalid="ignore"):
            by_slope = h * np.abs(d[:-1] - d[1:]) / 4.0
        err += wc * np.fmin(np.where(np.isfinite(by_slope), by_slope, np.inf), np.abs(np.diff(v)))
    return float(np.max(np.maximum(phi[:-1], phi[1:]) + w * err))
