"""Split an amount of money across named parts in whole cents that add up exactly.

The largest-remainder method: every part's exact share is rounded down to a cent, and the
cents left over go one each to the parts with the largest remainders (ties to the part
named first). No part is ever more than a cent away from its exact share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

CENT = Decimal("0.01")


def split_cents(total: Decimal, weights: Mapping[str, float]) -> dict[str, Decimal]:
    """`total` split in proportion to `weights` (negative weights count as 0; all zero splits evenly), summing exactly to `total`."""
    total_cents = int((total / CENT).to_integral_value())
    if Decimal(total_cents) * CENT != total:
        raise ValueError(f"amount {total} has more than two decimals; round it to cents")
    positive = {k: max(float(w), 0.0) for k, w in weights.items()}
    if not positive:
        raise ValueError("no part to split the amount across")
    mass = sum(positive.values())
    if mass <= 0:
        positive = {k: 1.0 for k in positive}
        mass = float(len(positive))
    exact = {k: total_cents * w / mass for k, w in positive.items()}
    cents = {k: math.floor(v) for k, v in exact.items()}
    leftover = total_cents - sum(cents.values())
    position = {k: i for i, k in enumerate(exact)}
    order = sorted(exact, key=lambda k: (-(exact[k] - cents[k]), position[k]))
    for key in order[:leftover]:
        cents[key] += 1
    return {k: Decimal(v) * CENT for k, v in cents.items()}
