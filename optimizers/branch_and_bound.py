"""Global optimum for separable problems with S-shaped Hill channels.

Branch and bound over the S channels' spend boxes (sigmoidal programming):
each node replaces every S-shaped curve by its concave envelope on the node's
box, which makes the node an exactly solvable concave problem (`separable`).
 * node upper bound: the Lagrangian dual bound of the TRUE curves on the box at
   the node's multipliers -- valid by weak duality whatever the relaxation did;
 * node lower bound: the true objective at the relaxed solution (it is feasible);
 * branch on the channel where the envelope overstates most, splitting its box
   at the relaxed spend, so the envelope tightens there in both children.
With one coupling constraint at most one channel is usually fractional, so the
tree stays small.  Stops when (best bound - incumbent) <= gap_tol * |bound|.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from .curve_bank import CurveBank
from .separable import EnvelopeModel, RoasInfeasible, lagrangian_bound, solve_separable


@dataclass
class _Node:
    lo: np.ndarray
    hi: np.ndarray
    x: np.ndarray
    lam: float
    mu: float
    upper: float
    true_objective: float
    feasible: bool
    excess: np.ndarray  # (1+mu) * (envelope - curve) on the S channels
    relaxed_objective: float
    model: EnvelopeModel


@dataclass
class BranchAndBoundResult:
    x: np.ndarray
    objective: float
    upper_bound: float
    lam: float
    mu: float
    nodes: int
    converged: bool


class BranchAndBound:
    def __init__(
        self,
        bank: CurveBank,
        lo: np.ndarray,
        hi: np.ndarray,
        budget: float,
        exact: bool,
        cost: float,
        roas: float | None,
        gap_tol: float = 1e-7,
        max_nodes: int = 5000,
        time_limit: float = 60.0,
    ):
        self.bank, self.lo, self.hi = bank, lo, hi
        self.budget, self.exact, self.cost, self.roas = budget, exact, cost, roas
        self.gap_tol, self.max_nodes, self.time_limit = gap_tol, max_nodes, time_limit
        self.s_idx, self.s_curve = bank.single_s_shaped_hills()
        self.best_x: np.ndarray | None = None
        self.best_obj = -math.inf
        self.best_mult = (0.0, 0.0)
        self.evaluations = 0

    def _evaluate(self, lo: np.ndarray, hi: np.ndarray) -> _Node | None:
        self.evaluations += 1
        model = EnvelopeModel(self.bank, lo, hi, self.s_idx, self.s_curve)
        try:
            sol = solve_separable(model, self.budget, self.exact, self.cost, self.roas)
        except RoasInfeasible:
            return None  # even the relaxation misses min_roas: nothing feasible below
        x = sol.x
        upper = lagrangian_bound(self.bank, lo, hi, self.budget, self.cost, sol.lam, sol.mu, self.roas)
        revenue = self.bank.value(x)
        true_obj = float(revenue.sum() - self.cost * x.sum())
        feasible = self.roas is None or revenue.sum() >= self.roas * x.sum() - 1e-9 * max(1.0, revenue.sum())
        excess = (1.0 + (sol.mu if math.isfinite(sol.mu) else 0.0)) * model.envelope_excess(x)
        node = _Node(lo, hi, x, sol.lam, sol.mu, upper, true_obj, feasible, excess, sol.objective, model)
        if feasible and true_obj > self.best_obj:
            self.best_obj, self.best_x, self.best_mult = true_obj, x.copy(), (sol.lam, sol.mu)
        return node

    def _tight(self, node: _Node) -> bool:
        return not len(node.excess) or float(node.excess.max()) <= 1e-10 * max(1.0, abs(node.upper))

    def _dive(self, node: _Node) -> None:
        """Cheap incumbent: pin fractional S channels to an end of their linear piece."""
        for _ in range(len(self.s_idx) + 1):
            if node is None or self._tight(node):
                return
            j = int(np.argmax(node.excess))
            ch = self.s_idx[j]
            children = []
            lo_a, hi_a = node.lo.copy(), node.hi.copy()
            hi_a[ch] = lo_a[ch]  # channel off (at its minimum)
            lo_b, hi_b = node.lo.copy(), node.hi.copy()
            lo_b[ch] = node.model.t[j]  # channel on its concave branch
            for lo, hi in ((lo_a, hi_a), (lo_b, hi_b)):
                if lo.sum() <= self.budget + 1e-9 and (not self.exact or hi.sum() >= self.budget - 1e-9):
                    child = self._evaluate(lo, hi)
                    if child is not None:
                        children.append(child)
            if not children:
                return
            node = max(children, key=lambda n: n.relaxed_objective)

    def run(self) -> BranchAndBoundResult:
        start = time.perf_counter()
        root = self._evaluate(self.lo.copy(), self.hi.copy())
        if root is None:
            raise RoasInfeasible(0.0)
        self._dive(root)
        counter = itertools.count()
        heap: list[tuple[float, int, _Node]] = [(-root.upper, next(counter), root)]
        nodes = 1
        converged = True
        closed_upper = -math.inf  # bounds of boxes dropped without being proved tight
        while heap:
            upper = -heap[0][0]
            if upper - self.best_obj <= self.gap_tol * max(abs(upper), 1.0):
                break
            if nodes >= self.max_nodes or time.perf_counter() - start > self.time_limit:
                converged = False
                break
            _, _, node = heapq.heappop(heap)
            if self._tight(node):
                if node.upper - node.true_objective <= self.gap_tol * max(abs(node.upper), 1.0):
                    continue  # relaxation exact on this box: its point is already an incumbent candidate
                # relaxed point is on the curve but the bound is loose: split the most
                # non-concave box half-way along its linear envelope piece to make progress
                width = node.model.t - node.lo[self.s_idx]
                if not np.any(width > 1e-9 * np.maximum(node.model.t, 1.0)):
                    closed_upper = max(closed_upper, node.upper)  # concave box: keep its bound
                    continue
                j = int(np.argmax(width))
                ch = self.s_idx[j]
                split = float(node.lo[ch] + 0.5 * width[j])
            else:
                j = int(np.argmax(node.excess))
                ch = self.s_idx[j]
                split = float(node.x[ch])
            for side in (0, 1):
                lo, hi = node.lo.copy(), node.hi.copy()
                if side == 0:
                    hi[ch] = split
                else:
                    lo[ch] = split
                child = self._evaluate(lo, hi)
                nodes += 1
                if child is not None and child.upper > self.best_obj + self.gap_tol * max(abs(child.upper), 1.0):
                    heapq.heappush(heap, (-child.upper, next(counter), child))
        upper = max(self.best_obj, closed_upper, -heap[0][0] if heap else -math.inf)
        if self.best_x is None:
            raise RoasInfeasible(0.0)
        return BranchAndBoundResult(
            self.best_x, self.best_obj, upper, self.best_mult[0], self.best_mult[1], nodes, converged
        )
