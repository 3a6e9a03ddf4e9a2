"""Turn (current, recommended) allocations into plain-language budget moves.

Greedy pairing: the largest cut funds the largest increase, and so on.  Each
move's effect is computed from the curves with the moves applied in order, so
the effects add up to the total predicted change.  Amounts are rounded to two
significant figures in the text only; the numbers stay exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from .curves import ResponseCurve


@dataclass(frozen=True)
class Move:
    source: str | None  # None: extra budget
    target: str | None  # None: budget returned
    amount: float
    effect: float  # change in predicted outcome caused by this move
    text: str


def round_sensibly(value: float) -> float:
    """Two significant figures (1,234 -> 1,200), whole units from 10 up."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 1 - int(math.floor(math.log10(abs(value))))
    rounded = round(value, digits)
    return float(round(rounded)) if abs(value) >= 10 else rounded


def format_amount(value: float, signed: bool = False) -> str:
    r = round_sensibly(value)
    text = f"{abs(r):,.0f}" if abs(r) >= 10 or r == int(r) else f"{abs(r):,.2g}"
    sign = ("+" if r >= 0 else "-") if signed else ("-" if r < 0 else "")
    return sign + text


def recommend_moves(
    current: Mapping[str, float],
    recommended: Mapping[str, float],
    curves: Mapping[str, ResponseCurve],
    *,
    outcome: str = "revenue",
    min_amount: float | None = None,
) -> list[Move]:
    """Plain-language moves from current to recommended spend.

    Changes smaller than `min_amount` (default: 0.1% of total spend, at least 1)
    are left out as noise.
    """
    names = list(dict.fromkeys([*current, *recommended]))
    total = max(sum(current.values()), sum(recommended.values()))
    threshold = max(1.0, 0.001 * total) if min_amount is None else min_amount
    delta = {n: recommended.get(n, 0.0) - current.get(n, 0.0) for n in names}
    cuts = sorted(((-d, n) for n, d in delta.items() if d < -threshold), reverse=True)
    adds = sorted(((d, n) for n, d in delta.items() if d > threshold), reverse=True)
    state = {n: current.get(n, 0.0) for n in names}

    def change(name: str, amount: float) -> float:
        before = float(curves[name].value(state[name]))
        state[name] += amount
        return float(curves[name].value(state[name])) - before

    moves: list[Move] = []
    cut_left = [[amt, n] for amt, n in cuts]
    add_left = [[amt, n] for amt, n in adds]
    i = j = 0
    while i < len(cut_left) and j < len(add_left):
        amount = min(cut_left[i][0], add_left[j][0])
        src, dst = cut_left[i][1], add_left[j][1]
        effect = change(src, -amount) + change(dst, amount)
        text = f"move {format_amount(amount)} from {src} to {dst}: {format_amount(effect, signed=True)} expected {outcome}"
        moves.append(Move(src, dst, amount, effect, text))
        cut_left[i][0] -= amount
        add_left[j][0] -= amount
        if cut_left[i][0] <= threshold * 1e-9:
            i += 1
        if add_left[j][0] <= threshold * 1e-9:
            j += 1
    for amount, dst in add_left[j:]:
        if amount > threshold * 1e-9:
            effect = change(dst, amount)
            text = f"add {format_amount(amount)} to {dst} (new budget): {format_amount(effect, signed=True)} expected {outcome}"
            moves.append(Move(None, dst, amount, effect, text))
    for amount, src in cut_left[i:]:
        if amount > threshold * 1e-9:
            effect = change(src, -amount)
            text = f"cut {format_amount(amount)} from {src} (budget returned): {format_amount(effect, signed=True)} expected {outcome}"
            moves.append(Move(src, None, amount, effect, text))
    return moves


def moves_for_result(problem: "object", result: "object") -> list[Move]:
    """Moves for an optimize() result, using the problem's point-estimate curves."""
    from .problem import AllocationProblem, parse_problem
    from .result import AllocationResult

    assert isinstance(result, AllocationResult)
    prob: AllocationProblem = parse_problem(problem)  # type: ignore[arg-type]
    current = {c.name: c.current_spend for c in prob.channels}
    curves = {c.name: c.curve.to_curve() for c in prob.channels}
    outcome = "conversions" if prob.objective == "conversions" else "revenue"
    return recommend_moves(current, result.allocation, curves, outcome=outcome)
