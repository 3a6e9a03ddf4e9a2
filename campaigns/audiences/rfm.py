"""RFM (recency, frequency, monetary) scores and buckets: pure maths, no I/O.

This is the reference the segment compiler's SQL (`campaigns.audiences.segments`) must agree
with; tests compute both on the same purchases.

Scores. Over the merchant's contacts with at least one purchase up to ``now``:

- recency: the time of the last purchase (later is better),
- frequency: how many purchases,
- monetary: the sum of purchase values (a missing value counts as 0).

Each metric becomes a score from 1 to 5 with ``1 + floor(5 * (rank - 1) / n)``, where ``n``
is the number of buyers and ``rank`` the competition rank ascending by the metric (ties share
the lowest rank). So five buyers with distinct values score 1..5; ties always get the same
score, low if many tie (everyone who bought once scores F=1 while most buyers bought once).
This is ``NTILE(5)`` for distinct values, but, unlike ``NTILE``, it never splits a tie
arbitrarily, so SQLite and PostgreSQL give the same answer.

Buckets. The first row of `BUCKETS` whose three ranges hold the scores names the bucket; every
one of the 125 score combinations lands in exactly one bucket.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

LEVELS = 5
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Bucket:
    name: str
    label: str
    description: str
    recency: tuple[int, int]  # inclusive score ranges
    frequency: tuple[int, int]
    monetary: tuple[int, int] = (1, 5)

    def holds(self, r: int, f: int, m: int) -> bool:
        return all(lo <= score <= hi for score, (lo, hi) in ((r, self.recency), (f, self.frequency), (m, self.monetary)))


# First match wins; the order matters (champions before loyal, cant_lose before at_risk).
BUCKETS: tuple[Bucket, ...] = (
    Bucket("champions", "Champions", "bought recently, often and spent the most", (4, 5), (4, 5), (4, 5)),
    Bucket("loyal", "Loyal", "buy often; recent enough", (3, 5), (4, 5)),
    Bucket("potential_loyalists", "Potential loyalists", "recent buyers with a few purchases", (4, 5), (2, 3)),
    Bucket("new", "New customers", "bought recently, once", (4, 5), (1, 1)),
    Bucket("promising", "Promising", "middling recency, few purchases", (3, 3), (1, 3)),
    Bucket("cant_lose", "Can't lose them", "were the best customers, long gone", (1, 1), (4, 5), (4, 5)),
    Bucket("at_risk", "At risk", "bought often, not lately", (1, 2), (3, 5)),
    Bucket("hibernating", "Hibernating", "low recency, few purchases", (2, 2), (1, 2)),
    Bucket("lost", "Lost", "longest gone, few purchases", (1, 1), (1, 2)),
)
BUCKET_NAMES = tuple(b.name for b in BUCKETS)


@dataclass(frozen=True)
class Purchases:
    last_at: datetime
    count: int
    total: Decimal


@dataclass(frozen=True)
class RfmScore:
    recency: int
    frequency: int
    monetary: int

    @property
    def bucket(self) -> str:
        return bucket_of(self.recency, self.frequency, self.monetary)


def bucket_of(r: int, f: int, m: int) -> str:
    for bucket in BUCKETS:
        if bucket.holds(r, f, m):
            return bucket.name
    raise ValueError(f"scores must be whole numbers from 1 to {LEVELS}; got R={r} F={f} M={m}")


def quantile_scores(values: Mapping[K, object]) -> dict[K, int]:
    """Score each key 1..5 by its value: ``1 + floor(5 * (rank - 1) / n)``, ties sharing the lowest rank."""
    n = len(values)
    ordered = sorted(values.values())  # type: ignore[type-var]
    return {key: 1 + (LEVELS * bisect_left(ordered, value)) // n for key, value in values.items()}


def summarise(purchases: Iterable[tuple[K, datetime, Decimal | float | int | None]], now: datetime) -> dict[K, Purchases]:
    """Per contact: last purchase time, number and total, over purchases up to `now`."""
    out: dict[K, Purchases] = {}
    for contact, at, value in purchases:
        if at > now:
            continue
        amount = Decimal(str(value)) if value is not None else Decimal(0)
        seen = out.get(contact)
        out[contact] = (Purchases(at, 1, amount) if seen is None
                        else Purchases(max(seen.last_at, at), seen.count + 1, seen.total + amount))
    return out


def scores(summaries: Mapping[K, Purchases]) -> dict[K, RfmScore]:
    if not summaries:
        return {}
    r = quantile_scores({k: s.last_at for k, s in summaries.items()})
    f = quantile_scores({k: s.count for k, s in summaries.items()})
    m = quantile_scores({k: s.total for k, s in summaries.items()})
    return {k: RfmScore(r[k], f[k], m[k]) for k in summaries}
