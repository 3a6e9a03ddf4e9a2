"""Shapley attribution checked against brute force over all permutations."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

from campaigns.attribution import DIRECT, PathCount, shapley_attribution


# --------------------------------------------------------------------------
# Independent reference
# --------------------------------------------------------------------------
def _coalition_values(rows) -> dict[frozenset, float]:
    conv: dict[frozenset, int] = defaultdict(int)
    total: dict[frozenset, int] = defaultdict(int)
    for path, c, _rev, n in rows:
        key = frozenset(path or (DIRECT,))
        conv[key] += c
        total[key] += c + n
    return {k: conv[k] / total[k] for k in total if total[k] > 0}


def brute_force_shapley(players, v) -> dict[str, float]:
    """Average marginal contribution over every ordering of ``players``."""
    phi = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for order in perms:
        before: frozenset = frozenset()
        for p in order:
            after = before | {p}
            phi[p] += v.get(after, 0.0) - v.get(before, 0.0)
            before = after
    return {p: x / len(perms) for p, x in phi.items()}


def _random_game_rows(seed, n_channels, coverage=0.8):
    rng = np.random.default_rng(seed)
    names = [chr(ord("A") + i) for i in range(n_channels)]
    rows = []
    for size in range(1, n_channels + 1):
        for subset in itertools.combinations(names, size):
            if rng.random() > coverage and size < n_channels:
                continue  # leave some coalitions unobserved (v = 0)
            # a random order and repeats: only the set matters
            path = list(subset) + list(rng.choice(subset, size=int(rng.integers(0, 3))))
            rng.shuffle(path)
            journeys = int(rng.integers(1, 40))
            conv = int(rng.binomial(journeys, rng.uniform(0.0, 0.6)))
            rows.append((tuple(path), conv, float(conv * rng.uniform(1, 20)), journeys - conv))
    rows.append((tuple(names), 1, 3.0, 0))  # the grand coalition converts
    return rows


def _sets(result) -> dict[frozenset, dict[str, tuple[float, float]]]:
    out: dict[frozenset, dict[str, tuple[float, float]]] = defaultdict(dict)
    for cs, ch, phi, credit in result.set_credits.select(
        "channel_set", "channel", "shapley_value", "credit"
    ).iter_rows():
        out[frozenset(cs)][ch] = (phi, credit)
    return out


# --------------------------------------------------------------------------
# Exact Shapley vs brute force
# --------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "n"), [(0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 6)])
def test_exact_matches_brute_force(seed, n):
    rows = _random_game_rows(seed, n)
    v = _coalition_values(rows)
    res = shapley_attribution([PathCount(*r) for r in rows])
    sets = _sets(res)
    converting = {k for k in v if v[k] > 0}
    assert set(sets) == converting
    for coalition in converting:
        expected = brute_force_shapley(sorted(coalition), v)
        got = sets[coalition]
        for ch, phi in expected.items():
            assert got[ch][0] == pytest.approx(phi, rel=1e-9, abs=1e-12)
        # efficiency: raw values sum to v(T) - v(empty) = v(T)
        assert sum(x[0] for x in got.values()) == pytest.approx(v[coalition], rel=1e-9)
        # shares: floored at 0 then renormalised
        floored = {ch: max(phi, 0.0) for ch, phi in expected.items()}
        tot = sum(floored.values())
        for ch in expected:
            assert got[ch][1] == pytest.approx(floored[ch] / tot, rel=1e-9, abs=1e-12)


def test_hand_computed_two_channels():
    # v(A) = 1/4, v(B) = 1/2, v(AB) = 3/4.
    # phi_A = 1/2 * (v(A) - 0) + 1/2 * (v(AB) - v(B)) = 1/8 + 1/8 = 1/4
    # phi_B = 1/2 * (v(B) - 0) + 1/2 * (v(AB) - v(A)) = 1/4 + 1/4 = 1/2
    # AB journeys (3 conv, revenue 30) split 1/3 : 2/3 -> A 1 conv / 10, B 2 conv / 20.
    # Totals: A = 1 (own) + 1 = 2 conv, 10 + 10 = 20; B = 1 + 2 = 3 conv, 5 + 20 = 25.
    rows = [
        PathCount(("A",), 1, 10.0, 3),
        PathCount(("B", "A", "B"), 3, 30.0, 1),
        PathCount(("B",), 1, 5.0, 1),
    ]
    res = shapley_attribution(rows)
    sets = _sets(res)
    assert sets[frozenset("AB")]["A"][0] == pytest.approx(0.25)
    assert sets[frozenset("AB")]["B"][0] == pytest.approx(0.5)
    assert res.credits_for(["B", "A"]) == pytest.approx({"A": 1 / 3, "B": 2 / 3})
    np.testing.assert_allclose(res.conversions, [2.0, 3.0])
    np.testing.assert_allclose(res.revenue, [20.0, 25.0])


def test_negative_shapley_values_are_floored():
    # v(A) = 1/2, v(B) = 0 (B alone never converts), v(AB) = 1/10.
    # phi_A = 1/2 * 1/2 + 1/2 * (1/10 - 0) = 0.3; phi_B = 1/2 * 0 + 1/2 * (1/10 - 1/2) = -0.2.
    # Floored: A 0.3, B 0 -> A takes all AB conversions.
    rows = [
        PathCount(("A",), 1, 1.0, 1),
        PathCount(("B",), 0, 0.0, 4),
        PathCount(("A", "B"), 1, 7.0, 9),
    ]
    res = shapley_attribution(rows)
    ab = _sets(res)[frozenset("AB")]
    assert ab["A"][0] == pytest.approx(0.3)
    assert ab["B"][0] == pytest.approx(-0.2)
    assert ab["A"][1] == 1.0
    assert ab["B"][1] == 0.0
    np.testing.assert_allclose(res.conversions, [2.0, 0.0])
    np.testing.assert_allclose(res.revenue, [8.0, 0.0])


# --------------------------------------------------------------------------
# Sampling path
# --------------------------------------------------------------------------
def test_sampling_within_stated_bound():
    rows = _random_game_rows(11, 6, coverage=1.0)
    v = _coalition_values(rows)
    res = shapley_attribution(
        [PathCount(*r) for r in rows], exact_limit=4, epsilon=0.05, delta=0.01, seed=3
    )
    sets = _sets(res)
    sampled = {frozenset(s.channel_set): s for s in res.sampled_sets}
    big = {k for k in v if v[k] > 0 and len(k) > 4}
    assert set(sampled) == big and big
    for coalition, info in sampled.items():
        expected = brute_force_shapley(sorted(coalition), v)
        assert info.n_permutations > 0
        assert info.delta == 0.01
        # stated bound: 2 * vmax * sqrt(ln(2m/delta) / (2K)), vmax over subsets of T
        vmax = max(x for k, x in v.items() if k <= coalition)
        m = len(coalition)
        stated = 2 * vmax * math.sqrt(math.log(2 * m / 0.01) / (2 * info.n_permutations))
        assert info.error_bound == pytest.approx(stated)
        # target met unless the permutation cap (default 200_000) was hit
        assert info.relative_error_bound <= 0.05 + 1e-12 or info.n_permutations == 200_000
        for ch, phi in expected.items():
            assert abs(sets[coalition][ch][0] - phi) <= info.error_bound
        # estimates still satisfy efficiency exactly
        assert sum(x[0] for x in sets[coalition].values()) == pytest.approx(v[coalition])
    flags = res.set_credits.group_by(pl.col("channel_set").list.len().alias("m")).agg(
        pl.col("exact").all(), pl.col("error_bound").max()
    )
    for m, exact, bound in flags.iter_rows():
        assert exact == (m <= 4)
        assert (bound == 0.0) == (m <= 4)


def test_sampling_is_deterministic_for_a_seed():
    rows = [PathCount(*r) for r in _random_game_rows(12, 6)]
    a = shapley_attribution(rows, exact_limit=3, epsilon=0.2, seed=9)
    b = shapley_attribution(rows, exact_limit=3, epsilon=0.2, seed=9)
    assert a.set_credits.equals(b.set_credits)


def test_max_permutations_caps_and_reports_achieved_bound():
    rows = [PathCount(*r) for r in _random_game_rows(13, 5, coverage=1.0)]
    res = shapley_attribution(rows, exact_limit=4, epsilon=1e-4, max_permutations=500)
    (info,) = res.sampled_sets
    assert info.n_permutations == 500
    assert info.relative_error_bound > 1e-4


# --------------------------------------------------------------------------
# Conservation and edge cases
# --------------------------------------------------------------------------
def test_credits_sum_to_one_and_totals_conserved():
    rows = _random_game_rows(21, 6)
    res = shapley_attribution([PathCount(*r) for r in rows], exact_limit=5, epsilon=0.2)
    per_set = res.set_credits.group_by(pl.col("channel_set").list.join(">")).agg(
        pl.col("credit").sum()
    )
    np.testing.assert_allclose(per_set["credit"].to_numpy(), 1.0, rtol=1e-12)
    assert res.conversions.sum() == pytest.approx(sum(r[1] for r in rows), rel=1e-12)
    assert res.revenue.sum() == pytest.approx(sum(r[2] for r in rows), rel=1e-12)
    assert res.to_polars()["conversions"].sum() == pytest.approx(res.total_conversions)


def test_coalition_values_table():
    rows = [PathCount(("A", "B"), 1, 2.0, 3), PathCount(("B", "A"), 1, 1.0, 0)]
    cv = shapley_attribution(rows).coalition_values
    assert cv.to_dicts() == [
        {
            "channel_set": ["A", "B"],
            "conversions": 2,
            "non_conversions": 3,
            "revenue": 3.0,
            "conversion_rate": 0.4,
        }
    ]


def test_single_channel_gets_everything():
    res = shapley_attribution([PathCount(("A", "A"), 3, 30.0, 7)])
    assert res.conversions.tolist() == [3.0]
    assert res.revenue.tolist() == [30.0]


def test_channel_that_never_converts_gets_zero():
    rows = [
        PathCount(("A",), 2, 20.0, 2),
        PathCount(("X",), 0, 0.0, 9),
        PathCount(("X", "Y"), 0, 0.0, 3),
        PathCount(("Y",), 1, 1.0, 0),
    ]
    res = shapley_attribution(rows)
    conv = dict(zip(res.channels, res.conversions.tolist()))
    assert conv == {"A": 2.0, "X": 0.0, "Y": 1.0}


def test_zero_revenue_conversions():
    res = shapley_attribution([PathCount(("A", "B"), 4, 0.0, 2), PathCount(("B",), 1, 0.0, 1)])
    assert res.revenue.tolist() == [0.0, 0.0]
    assert res.conversions.sum() == pytest.approx(5.0)


def test_all_direct_paths():
    res = shapley_attribution([PathCount((), 2, 20.0, 5), PathCount((), 1, 5.0, 0)])
    assert res.channels == (DIRECT,)
    assert res.conversions.tolist() == [3.0]
    assert res.revenue.tolist() == [25.0]


def test_nothing_converts():
    res = shapley_attribution([PathCount(("A", "B"), 0, 0.0, 4)])
    assert res.conversions.tolist() == [0.0, 0.0]
    assert res.set_credits.height == 0


def test_invalid_arguments():
    with pytest.raises(ValueError, match="no paths given"):
        shapley_attribution([])
    with pytest.raises(ValueError, match="exact_limit"):
        shapley_attribution([PathCount(("A",), 1, 1.0, 0)], exact_limit=0)
    too_many = [PathCount((f"c{i}",), 1, 1.0, 0) for i in range(65)]
    with pytest.raises(ValueError, match="at most 64"):
        shapley_attribution(too_many)


def test_additive_game_with_fifteen_channels_is_exact():
    # v(S) = sum of a_i over S (every coalition observed, 1000 journeys each):
    # in an additive game each player's Shapley value is its own a_i / 1000,
    # in every restricted game. Exercises the 2^15 exact path and chunking.
    weights = {f"c{i:02d}": i + 1 for i in range(15)}
    names = sorted(weights)
    rows = []
    for mask in range(1, 1 << 15):
        members = [names[j] for j in range(15) if mask >> j & 1]
        conv = sum(weights[c] for c in members)
        rows.append(PathCount(tuple(members), conv, 0.0, 1000 - conv))
    res = shapley_attribution(rows)
    assert not res.sampled_sets
    table = res.set_credits
    expected = table["channel"].replace_strict(weights, return_dtype=pl.Float64) / 1000
    np.testing.assert_allclose(table["shapley_value"].to_numpy(), expected.to_numpy(), atol=1e-12)
    assert table.height == 15 * 2**14
