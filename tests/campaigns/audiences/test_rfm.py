"""RFM scores and buckets: the pure reference, against values worked out by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.audiences import rfm

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def test_five_distinct_values_score_one_to_five() -> None:
    assert rfm.quantile_scores({"a": 10, "b": 50, "c": 20, "d": 40, "e": 30}) == {"a": 1, "c": 2, "e": 3, "d": 4, "b": 5}


def test_ten_values_make_pairs_like_ntile() -> None:
    assert list(rfm.quantile_scores({i: i for i in range(10)}).values()) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_share_the_lowest_score() -> None:
    # ranks 1, 1, 1, 4 of n = 4: 1 + 5*0//4 = 1 and 1 + 5*3//4 = 4
    assert rfm.quantile_scores({"a": 1, "b": 1, "c": 1, "d": 2}) == {"a": 1, "b": 1, "c": 1, "d": 4}
    assert rfm.quantile_scores({"only": 7}) == {"only": 1}
    assert set(rfm.quantile_scores({i: 0 for i in range(6)}).values()) == {1}


def test_summarise_ignores_future_purchases_and_counts_missing_values_as_zero() -> None:
    got = rfm.summarise([("x", NOW - timedelta(days=3), "10.50"), ("x", NOW - timedelta(days=1), None),
                         ("x", NOW + timedelta(days=1), "99"), ("y", NOW - timedelta(days=9), 2)], NOW)
    assert got == {"x": rfm.Purchases(NOW - timedelta(days=1), 2, Decimal("10.50")), "y": rfm.Purchases(NOW - timedelta(days=9), 1, Decimal(2))}


def test_every_score_combination_lands_in_exactly_one_bucket() -> None:
    counts = Counter(rfm.bucket_of(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6))
    assert sum(counts.values()) == 125 and set(counts) == set(rfm.BUCKET_NAMES)
    # hand-counted region sizes (R values x F values x M values, minus earlier buckets)
    assert counts == {"champions": 2 * 2 * 2, "loyal": 3 * 2 * 5 - 8, "potential_loyalists": 2 * 2 * 5, "new": 2 * 1 * 5,
                      "promising": 1 * 3 * 5, "cant_lose": 1 * 2 * 2, "at_risk": 2 * 3 * 5 - 4, "hibernating": 1 * 2 * 5,
                      "lost": 1 * 2 * 5}


@pytest.mark.parametrize(("scores", "bucket"), [
    ((5, 5, 5), "champions"), ((4, 4, 3), "loyal"), ((3, 5, 5), "loyal"), ((5, 2, 1), "potential_loyalists"),
    ((4, 1, 5), "new"), ((3, 1, 1), "promising"), ((1, 5, 5), "cant_lose"), ((1, 5, 3), "at_risk"), ((2, 3, 1), "at_risk"),
    ((2, 2, 5), "hibernating"), ((1, 1, 5), "lost"),
])
def test_buckets_of_hand_picked_scores(scores, bucket: str) -> None:
    assert rfm.bucket_of(*scores) == bucket


def test_scores_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        rfm.bucket_of(0, 3, 3)


def test_scores_of_a_small_merchant() -> None:
    # a: bought yesterday 3 times for 30; b: 100 days ago once for 500; c: 10 days ago twice for 30
    purchases = [("a", NOW - timedelta(days=d), 10) for d in (1, 2, 3)] + [("b", NOW - timedelta(days=100), 500)] + \
                [("c", NOW - timedelta(days=10), 15), ("c", NOW - timedelta(days=12), 15)]
    got = rfm.scores(rfm.summarise(purchases, NOW))
    # n = 3; ranks -> 1 + 5*(rank-1)//3: rank1 -> 1, rank2 -> 2, rank3 -> 4; M: a and c tie at 30 (rank 1)
    assert got == {"a": rfm.RfmScore(4, 4, 1), "b": rfm.RfmScore(1, 1, 4), "c": rfm.RfmScore(2, 2, 1)}
    assert [got[k].bucket for k in "abc"] == ["loyal", "lost", "hibernating"]
    assert rfm.scores({}) == {}
