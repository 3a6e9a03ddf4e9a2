"""All channels' curves packed into per-family arrays for vectorised evaluation.

Channel i's curve is a weighted sum of components sum_j w_ij r_ij(x): one
component for a plain curve, S components with weight 1/S for the mean over
bootstrap scenarios, dual weights q_j for the CVaR bound.  Evaluating a family
group is one numpy call; `np.bincount` folds components back onto channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .curves import CURVE_CLASSES, Exponential, Hill, Log, ResponseCurve

_NEWTON_ITERATIONS = 60


@dataclass(frozen=True)
class _Group:
    curve: ResponseCurve  # params are arrays of length m
    channel: np.ndarray  # component -> channel index
    weight: np.ndarray


class CurveBank:
    """n channel curves; value/derivative take and return arrays of length n."""

    def __init__(self, n: int, groups: Sequence[_Group]):
        self.n = n
        self.groups = [g for g in groups if len(g.channel)]
        counts = np.zeros(n, dtype=int)
        concave = np.ones(n, dtype=bool)
        inflection = np.zeros(n)
        for g in self.groups:
            np.add.at(counts, g.channel, 1)
            if isinstance(g.curve, Hill):
                s_shaped = np.asarray(g.curve.s) > 1
                concave[g.channel[s_shaped]] = False
                np.maximum.at(inflection, g.channel, g.curve.inflection())
        self.component_count = counts
        self.concave = concave
        # largest component inflection: every component is concave beyond it
        self.inflection = inflection
        self._closed_form = self._closed_form_groups()
        closed = np.zeros(n, dtype=bool)
        for idx, _ in self._closed_form:
            closed[idx] = True
        self._generic_idx = np.flatnonzero(~closed)
        self._generic = self if closed.sum() == 0 else (self.subset(self._generic_idx) if len(self._generic_idx) else None)

    # -- construction -------------------------------------------------------

    @classmethod
    def from_components(cls, components: Sequence[Sequence[tuple[float, ResponseCurve]]]) -> "CurveBank":
        """components[i] = [(weight, scalar curve), ...] for channel i."""
        by_family: dict[str, tuple[list[int], list[float], dict[str, list[float]]]] = {}
        for i, comps in enumerate(components):
            for w, curve in comps:
                chans, weights, params = by_family.setdefault(curve.family, ([], [], {}))
                chans.append(i)
                weights.append(float(w))
                for name, value in curve.params().items():
                    params.setdefault(name, []).append(float(value))
        groups = []
        for family, (chans, weights, params) in by_family.items():
            curve = CURVE_CLASSES[family](**{k: np.asarray(v) for k, v in params.items()})
            groups.append(_Group(curve, np.asarray(chans, dtype=int), np.asarray(weights)))
        return cls(len(components), groups)

    @classmethod
    def from_curves(cls, curves: Sequence[ResponseCurve]) -> "CurveBank":
        return cls.from_components([[(1.0, c)] for c in curves])

    def subset(self, idx: np.ndarray) -> "CurveBank":
        """The bank restricted to channels idx (renumbered 0..len(idx)-1)."""
        remap = np.full(self.n, -1)
        remap[idx] = np.arange(len(idx))
        groups = []
        for g in self.groups:
            keep = remap[g.channel] >= 0
            params = {k: np.asarray(v)[keep] for k, v in g.curve.params().items()}
            groups.append(_Group(type(g.curve)(**params), remap[g.channel[keep]], g.weight[keep]))
        return CurveBank(len(idx), groups)

    # -- evaluation -----------------------------------------------------------

    def _fold(self, method: str, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        out = np.zeros(self.n)
        for g in self.groups:
            vals = getattr(g.curve, method)(x[g.channel]) * g.weight
            out += np.bincount(g.channel, vals, minlength=self.n)
        return out

    def value(self, x: np.ndarray) -> np.ndarray:
        return self._fold("value", x)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        return self._fold("derivative", x)

    def second_derivative(self, x: np.ndarray) -> np.ndarray:
        return self._fold("second_derivative", x)

    # -- maximise r_i(x) - sigma x on a box ----------------------------------

    def _closed_form_groups(self) -> list[tuple[np.ndarray, object]]:
        """Single-component channels whose derivative inverts in closed form."""
        out = []
        for g in self.groups:
            single = self.component_count[g.channel] == 1
            if isinstance(g.curve, (Exponential, Log)):
                sel = single
            elif isinstance(g.curve, Hill):
                sel = single & (np.asarray(g.curve.s) == 1)
            else:  # pragma: no cover
                continue
            if sel.any():
                p = {k: np.asarray(v)[sel] for k, v in g.curve.params().items()}
                out.append((g.channel[sel], (type(g.curve)(**p), g.weight[sel])))
        return out

    def maximise_linear(self, sigma: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """argmax over [lo, hi] of r_i(x) - sigma x, valid where r_i is concave on [lo, hi].

        Closed form for exponential, log and hill s = 1; safeguarded Newton on
        the derivative for the rest (hill s != 1, mixtures).  `hi` must be finite.
        """
        x = np.empty(self.n)
        for idx, (curve, w) in self._closed_form:
            slope = sigma / w
            if isinstance(curve, Hill):  # s == 1: a k / (x + k)^2 = slope
                with np.errstate(divide="ignore"):
                    inv = np.where(slope > 0, np.sqrt(curve.a * curve.k / slope) - curve.k, np.inf)
            else:
                inv = curve.slope_inverse(slope)
            x[idx] = np.clip(inv, lo[idx], hi[idx])
        if self._generic is not None and len(self._generic_idx):
            gi = self._generic_idx
            x[gi] = self._generic._newton_inverse(sigma, lo[gi], hi[gi])
        return x

    def _newton_inverse(self, sigma: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Solve r'(x) = sigma on [lo, hi] where r' is decreasing: bracketed Newton.

        Channels whose answer is an end of the box get a zero-width bracket, so
        the whole vector iterates together without re-slicing the bank.
        """
        d_lo = self.derivative(lo)
        d_hi = self.derivative(hi)
        at_lo = d_lo <= sigma
        at_hi = ~at_lo & (d_hi >= sigma)
        left = np.where(at_hi, hi, lo).astype(float)
        right = np.where(at_lo, lo, hi).astype(float)
        x = np.where(left > 0, np.sqrt(left * right), 0.5 * (left + right))
        log_sigma = np.log(sigma)
        # invariant for open brackets: r'(left) > sigma > r'(right).  Newton runs on
        # log r' against log x: power-law-like derivatives (Hill near 0, tails) are
        # nearly linear there, so it converges in a handful of steps.
        frozen = np.zeros(self.n, dtype=bool)
        for _ in range(_NEWTON_ITERATIONS):
            d = self.derivative(x)
            f = d - sigma
            left = np.where(f > 0, x, left)
            right = np.where(f < 0, x, right)
            frozen |= (np.abs(f) <= 1e-15 * sigma) | (right - left <= 1e-14 * np.maximum(np.abs(right), 1.0))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                slope = x * self.second_derivative(x) / d  # d log r' / d log x
                step = x * np.exp(-(np.log(d) - log_sigma) / slope)
            bad = ~np.isfinite(step) | (step <= left) | (step >= right)
            fallback = np.where(left > 0, np.sqrt(left * right), 0.25 * right)
            x_new = np.where(bad, fallback, step)
            frozen |= np.abs(x_new - x) <= 1e-15 * np.maximum(np.abs(x), 1.0)
            x = np.where(frozen, x, x_new)
            if frozen.all():
                break
        return x

    def single_s_shaped_hills(self) -> tuple[np.ndarray, Hill]:
        """Channels that are exactly one S-shaped Hill curve (weight folded into a)."""
        idx: list[np.ndarray] = []
        params: dict[str, list[np.ndarray]] = {"a": [], "k": [], "s": []}
        for g in self.groups:
            if not isinstance(g.curve, Hill):
                continue
            sel = (np.asarray(g.curve.s) > 1) & (self.component_count[g.channel] == 1)
            idx.append(g.channel[sel])
            params["a"].append(np.asarray(g.curve.a)[sel] * g.weight[sel])
            params["k"].append(np.asarray(g.curve.k)[sel])
            params["s"].append(np.asarray(g.curve.s)[sel])
        if not idx:
            return np.zeros(0, dtype=int), Hill(np.zeros(0), np.ones(0), np.ones(0) * 2)
        order = np.argsort(np.concatenate(idx))
        return np.concatenate(idx)[order], Hill(*(np.concatenate(params[p])[order] for p in "aks"))

    def stationary_by_bisection(self, sigma: float, lo: np.ndarray, hi: np.ndarray, iterations: int = 100) -> np.ndarray:
        """Plain bisection for r'(x) = sigma on [lo, hi] (r' decreasing there).

        Slow but obviously correct: the dual bound uses it so that it does not
        share code -- or bugs -- with the Newton solver it is checking.
        """
        left, right = lo.astype(float).copy(), hi.astype(float).copy()
        for _ in range(iterations):
            mid = 0.5 * (left + right)
            above = self.derivative(mid) > sigma
            left = np.where(above, mid, left)
            right = np.where(above, right, mid)
        return 0.5 * (left + right)

    def components(self, i: int) -> list[tuple[float, ResponseCurve]]:
        """Channel i as (weight, scalar curve) pairs."""
        out = []
        for g in self.groups:
            for c in np.flatnonzero(g.channel == i):
                params = {k: float(np.asarray(v)[c]) for k, v in g.curve.params().items()}
                out.append((float(g.weight[c]), type(g.curve)(**params)))
        return out

