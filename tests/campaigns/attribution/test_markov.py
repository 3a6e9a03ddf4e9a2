"""Markov attribution checked against an independent dense reference solver.

The reference below is written from scratch in plain Python: it walks every
journey, builds an explicit ``{(from_state, to_state): count}`` dict over
k-tuples, then solves the absorbing chain with the dense fundamental matrix
``N = (I - Q)^-1`` (absorption probabilities ``B = N R``), and for removals
rebuilds Q with transitions into the removed channel sent to null.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl
import pytest

from campaigns.attribution import (
    DIRECT,
    PathCount,
    markov_attribution,
    markov_path_credits,
)

PAD = "<start>"
CONV = "<conversion>"
NULL = "<null>"


# --------------------------------------------------------------------------
# Independent reference
# --------------------------------------------------------------------------
def _ref_transition_counts(rows, order, collapse):
    counts: dict[tuple, float] = defaultdict(float)
    for path, conv, _rev, nonc in rows:
        path = tuple(path) or (DIRECT,)
        if collapse:
            path = tuple(c for i, c in enumerate(path) if i == 0 or c != path[i - 1])
        journeys = conv + nonc
        if journeys == 0:
            continue
        history = (PAD,) * order
        for ch in path:
            nxt = history[1:] + (ch,)
            counts[(history, nxt)] += journeys
            history = nxt
        counts[(history, CONV)] += conv
        counts[(history, NULL)] += nonc
    return counts


def _ref_absorption(counts, order, removed=None):
    """P(conversion) from start, dense fundamental matrix."""
    out_tot: dict = defaultdict(float)
    for (a, _b), w in counts.items():
        out_tot[a] += w
    states = sorted(out_tot)
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    r = np.zeros(len(states))
    for (a, b), w in counts.items():
        p = w / out_tot[a]
        if b == CONV:
            r[index[a]] += p
        elif b == NULL:
            continue
        elif removed is not None and b[-1] == removed:
            continue  # redirected to null
        else:
            q[index[a], index[b]] += p
    fundamental = np.linalg.inv(np.eye(len(states)) - q)
    return float((fundamental @ r)[index[(PAD,) * order]])


def reference_markov(rows, order=1, collapse=False):
    counts = _ref_transition_counts(rows, order, collapse)
    channels = sorted(
        {c for p, conv, _rev, nonc in rows if conv + nonc > 0 for c in (tuple(p) or (DIRECT,))}
    )
    base = _ref_absorption(counts, order)
    if base == 0:
        return base, {c: 0.0 for c in channels}
    effects = {c: 1.0 - _ref_absorption(counts, order, removed=c) / base for c in channels}
    return base, effects


def _random_rows(seed, n_channels=5, n_paths=60, max_len=6):
    rng = np.random.default_rng(seed)
    names = [f"c{i}" for i in range(n_channels)]
    rows = []
    for _ in range(n_paths):
        length = int(rng.integers(0, max_len + 1))
        path = tuple(names[int(i)] for i in rng.integers(0, n_channels, size=length))
        conv = int(rng.integers(0, 4))
        nonc = int(rng.integers(0, 6))
        rev = float(conv * rng.uniform(5, 50))
        rows.append((path, conv, rev, nonc))
    rows.append((("c0",), 1, 10.0, 1))  # make sure something converts
    return rows


def _as_frame(rows):
    return pl.DataFrame(
        {
            "path": [list(r[0]) for r in rows],
            "conversions": [r[1] for r in rows],
            "revenue": [r[2] for r in rows],
            "non_conversions": [r[3] for r in rows],
        },
        schema={
            "path": pl.List(pl.String),
            "conversions": pl.Int64,
            "revenue": pl.Float64,
            "non_conversions": pl.Int64,
        },
    )


# --------------------------------------------------------------------------
# Against the reference
# --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("collapse", [False, True])
def test_matches_dense_reference(seed, order, collapse):
    rows = _random_rows(seed)
    base, effects = reference_markov(rows, order=order, collapse=collapse)
    res = markov_attribution(_as_frame(rows), order=order, collapse_repeats=collapse)
    assert res.conversion_probability == pytest.approx(base, rel=1e-9)
    got = res.removal_effects()
    assert set(got) == set(effects)
    for ch, expected in effects.items():
        assert got[ch] == pytest.approx(expected, rel=1e-6, abs=1e-12), ch
    # attributed totals: ChannelAttribution's proportional split
    total_re = sum(effects.values())
    total_conv = sum(r[1] for r in rows)
    total_rev = sum(r[2] for r in rows)
    for i, ch in enumerate(res.channels):
        assert res.conversions[i] == pytest.approx(total_conv * effects[ch] / total_re, rel=1e-6)
        assert res.revenue[i] == pytest.approx(total_rev * effects[ch] / total_re, rel=1e-6)


@pytest.mark.parametrize("order", [2, 3])
def test_iterative_solver_matches_reference(order):
    rows = _random_rows(7, n_channels=6, n_paths=120)
    _base, effects = reference_markov(rows, order=order)
    res = markov_attribution(
        [PathCount(*r) for r in rows], order=order, solver="iterative", dense_max_states=0
    )
    assert res.solver.startswith("iterative")
    assert res.error_bound < 1e-9
    for ch, expected in effects.items():
        assert res.removal_effects()[ch] == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_sparse_direct_solver_matches_reference():
    rows = _random_rows(8, n_channels=4, n_paths=80)
    _base, effects = reference_markov(rows, order=2)
    res = markov_attribution(rows_as_pc(rows), order=2, solver="direct", dense_max_states=0)
    for ch, expected in effects.items():
        assert res.removal_effects()[ch] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_a_chain_too_large_to_count_densely_matches_reference():
    # order 3 over 14 channels: more than 2,000 states, so the counts are accumulated sparsely, not in a dense table
    rows = _random_rows(9, n_channels=14, n_paths=1500, max_len=8)
    _base, effects = reference_markov(rows, order=3)
    res = markov_attribution(rows_as_pc(rows), order=3)
    assert len(res.states) > 2_050  # (n + 2) * n cells > 2**22
    for ch, expected in effects.items():
        assert res.removal_effects()[ch] == pytest.approx(expected, rel=1e-6, abs=1e-12)


def rows_as_pc(rows):
    return [PathCount(*r) for r in rows]


def test_conversion_probability_equals_empirical_rate():
    # With maximum-likelihood transitions the expected absorptions reproduce
    # the observed flow, so P(conv) = conversions / journeys for any order.
    rows = _random_rows(3)
    rate = sum(r[1] for r in rows) / sum(r[1] + r[3] for r in rows)
    for order in (1, 2, 3):
        res = markov_attribution(rows_as_pc(rows), order=order)
        assert res.conversion_probability == pytest.approx(rate, rel=1e-12)


def test_value_iteration_cross_check():
    # A second, different reference: iterate x <- Q x + r to convergence.
    rows = _random_rows(4)
    counts = _ref_transition_counts(rows, 1, False)
    out_tot: dict = defaultdict(float)
    for (a, _b), w in counts.items():
        out_tot[a] += w

    def absorb(removed):
        x: dict = defaultdict(float)
        for _ in range(5000):
            new: dict = defaultdict(float)
            for (a, b), w in counts.items():
                p = w / out_tot[a]
                if b == CONV:
                    new[a] += p
                elif b != NULL and b[-1] != removed:
                    new[a] += p * x[b]
            if max(abs(new[k] - x[k]) for k in set(new) | set(x)) < 1e-15:
                break
            x = new
        return new[(PAD,)]

    base = absorb(None)
    res = markov_attribution(rows_as_pc(rows))
    for ch in res.channels:
        assert res.removal_effects()[ch] == pytest.approx(1 - absorb(ch) / base, rel=1e-9)


# --------------------------------------------------------------------------
# Hand-computed case
# --------------------------------------------------------------------------
def test_hand_computed_three_paths():
    # Paths: A -> conv (x1), A -> B -> null (x1), B -> conv (x1); 3 journeys.
    # Transitions: start->A 2/3, start->B 1/3; A->conv 1/2, A->B 1/2;
    #              B->conv 1/2 (from "B"), B->null 1/2 (from "A > B").
    # P(conv) = 2/3 * (1/2 + 1/2 * 1/2) + 1/3 * 1/2 = 1/2 + 1/6 = 2/3.
    # Remove A: start->A goes to null: P = 1/3 * 1/2 = 1/6 -> RE(A) = 1 - (1/6)/(2/3) = 3/4.
    # Remove B: A->B and start->B go to null: P = 2/3 * 1/2 = 1/3 -> RE(B) = 1/2.
    # Split of 2 conversions / revenue 15: A gets 0.75/1.25 = 60%, B 40%.
    rows = [
        PathCount(("A",), 1, 10.0, 0),
        PathCount(("A", "B"), 0, 0.0, 1),
        PathCount(("B",), 1, 5.0, 0),
    ]
    res = markov_attribution(rows)
    assert res.channels == ("A", "B")
    assert res.conversion_probability == pytest.approx(2 / 3)
    np.testing.assert_allclose(res.removal_effect, [0.75, 0.5], rtol=1e-12)
    np.testing.assert_allclose(res.conversions, [1.2, 0.8], rtol=1e-12)
    np.testing.assert_allclose(res.revenue, [9.0, 6.0], rtol=1e-12)

    trans = {(f, t): p for f, t, p in res.transitions().iter_rows()}
    assert trans[("(start)", "A")] == pytest.approx(2 / 3)
    assert trans[("(start)", "B")] == pytest.approx(1 / 3)
    assert trans[("A", "(conversion)")] == pytest.approx(0.5)
    assert trans[("A", "B")] == pytest.approx(0.5)
    assert trans[("B", "(null)")] == pytest.approx(0.5)
    # Rows of the (square) transition matrix are distributions.
    np.testing.assert_allclose(res.transition_matrix.sum(axis=1).A.ravel(), 1.0)
    assert res.transition_matrix.shape == (len(res.states), len(res.states))

    # Per-path credits: only converting paths "A" and "B", each single channel.
    credits = markov_path_credits(rows, result=res)
    assert credits["path"].to_list() == [["A"], ["B"]]
    assert credits["credit"].to_list() == [1.0, 1.0]
    assert credits["revenue"].to_list() == [10.0, 5.0]


def test_self_loops_kept_or_collapsed():
    rows = [PathCount(("A", "A", "B"), 1, 1.0, 0), PathCount(("B",), 0, 0.0, 1)]
    kept = dict(((f, t), p) for f, t, p in markov_attribution(rows).transitions().iter_rows())
    assert kept[("A", "A")] == pytest.approx(0.5)
    collapsed = markov_attribution(rows, collapse_repeats=True)
    pairs = {(f, t) for f, t, _ in collapsed.transitions().iter_rows()}
    assert ("A", "A") not in pairs
    assert ("A", "B") in pairs


def test_higher_order_state_labels():
    rows = [PathCount(("A", "B", "C"), 1, 1.0, 1)]
    res = markov_attribution(rows, order=2)
    assert set(res.states) == {
        "(start)",
        "(start) > A",
        "A > B",
        "B > C",
        "(conversion)",
        "(null)",
    }


# --------------------------------------------------------------------------
# Edge cases
# --------------------------------------------------------------------------
def test_single_channel_gets_everything():
    res = markov_attribution([PathCount(("A", "A"), 3, 30.0, 7)])
    assert res.removal_effect.tolist() == [1.0]
    assert res.conversions.tolist() == [3.0]
    assert res.revenue.tolist() == [30.0]


def test_channel_that_never_converts_gets_zero():
    # X only ever ends non-converting journeys: it cannot reach a conversion.
    rows = [
        PathCount(("A", "B"), 4, 40.0, 2),
        PathCount(("A", "X"), 0, 0.0, 5),
        PathCount(("X",), 0, 0.0, 3),
        PathCount(("B",), 1, 10.0, 1),
    ]
    res = markov_attribution(rows)
    effects = res.removal_effects()
    assert effects["X"] == 0.0
    assert res.conversions[res.channels.index("X")] == 0.0
    credits = markov_path_credits(rows, result=res)
    assert "X" not in credits["channel"].to_list()


def test_zero_revenue_conversions():
    rows = [PathCount(("A", "B"), 4, 0.0, 2), PathCount(("B",), 1, 0.0, 1)]
    res = markov_attribution(rows)
    assert res.revenue.tolist() == [0.0, 0.0]
    assert res.conversions.sum() == pytest.approx(5.0)


def test_all_direct_paths():
    rows = [PathCount((), 2, 20.0, 5), PathCount((), 1, 5.0, 0)]
    res = markov_attribution(rows)
    assert res.channels == (DIRECT,)
    assert res.conversions.tolist() == [3.0]
    assert res.revenue.tolist() == [25.0]


def test_nothing_converts():
    res = markov_attribution([PathCount(("A", "B"), 0, 0.0, 4)])
    assert res.conversion_probability == 0.0
    assert res.removal_effect.tolist() == [0.0, 0.0]
    assert res.conversions.tolist() == [0.0, 0.0]
    assert markov_path_credits([PathCount(("A", "B"), 0, 0.0, 4)]).height == 0


def test_empty_input_raises():
    with pytest.raises(ValueError, match="no paths given"):
        markov_attribution([])
    with pytest.raises(ValueError, match="missing column"):
        markov_attribution(pl.DataFrame({"path": [["a"]]}))
    with pytest.raises(ValueError, match="order"):
        markov_attribution([PathCount(("A",), 1, 1.0, 0)], order=0)


# --------------------------------------------------------------------------
# Per-path credits
# --------------------------------------------------------------------------
@pytest.mark.parametrize("order", [1, 2])
def test_path_credits_against_reference(order):
    rows = _random_rows(5)
    _base, effects = reference_markov(rows, order=order)
    credits = markov_path_credits(_as_frame(rows), order=order)

    expected: dict[tuple, dict[str, float]] = {}
    merged: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0])
    for path, conv, rev, _nonc in rows:
        key = tuple(path) or (DIRECT,)
        merged[key][0] += conv
        merged[key][1] += rev
    for path, (conv, rev) in merged.items():
        if conv == 0:
            continue
        distinct = sorted(set(path))
        tot = sum(effects[c] for c in distinct)
        expected[path] = {c: effects[c] / tot for c in distinct}

    got: dict[tuple, dict[str, float]] = defaultdict(dict)
    for path, ch, credit, conv, rev in credits.iter_rows():
        got[tuple(path)][ch] = credit
        assert conv == pytest.approx(credit * merged[tuple(path)][0])
        assert rev == pytest.approx(credit * merged[tuple(path)][1])
    assert set(got) == set(expected)
    for path, shares in expected.items():
        assert set(got[path]) == set(shares)
        for ch, share in shares.items():
            assert got[path][ch] == pytest.approx(share, rel=1e-9)

    # Each conversion's credits sum to 1; totals conserved.
    per_path = credits.group_by(pl.col("path").list.join(">")).agg(pl.col("credit").sum())
    np.testing.assert_allclose(per_path["credit"].to_numpy(), 1.0, rtol=1e-12)
    assert credits["conversions"].sum() == pytest.approx(sum(r[1] for r in rows))
    assert credits["revenue"].sum() == pytest.approx(sum(r[2] for r in rows))


def test_global_split_conserves_totals():
    rows = _random_rows(6)
    res = markov_attribution(rows_as_pc(rows))
    assert res.conversions.sum() == pytest.approx(sum(r[1] for r in rows), rel=1e-12)
    assert res.revenue.sum() == pytest.approx(sum(r[2] for r in rows), rel=1e-12)
    assert res.to_polars().columns == ["channel", "removal_effect", "conversions", "revenue"]


def test_collapsing_repeats_does_not_change_first_order_removal_effects():
    # A self-loop only delays absorption, so dropping it (what collapsing does
    # to the counts of a first-order chain) leaves every absorption
    # probability unchanged; for order 2 the states themselves change.
    rows = _random_rows(9)
    kept = markov_attribution(rows_as_pc(rows))
    collapsed = markov_attribution(rows_as_pc(rows), collapse_repeats=True)
    np.testing.assert_allclose(kept.removal_effect, collapsed.removal_effect, rtol=1e-12)
    _base, effects2 = reference_markov(rows, order=2, collapse=True)
    got2 = markov_attribution(rows_as_pc(rows), order=2, collapse_repeats=True).removal_effects()
    assert got2 == pytest.approx(effects2, rel=1e-9)
