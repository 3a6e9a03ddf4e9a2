"""Exact Markov-chain (removal-effect) attribution over aggregated paths.

Model
-----
An absorbing Markov chain with transient states ``(start)`` and the channel
states, and two absorbing states ``(conversion)`` and ``(null)``.  Transition
counts are taken over *all journeys*, weighted by their counts: every unique
path ``c1 > c2 > ... > cL`` with ``conv`` conversions and ``nonc``
non-conversions contributes

* ``start -> c1`` and ``c_i -> c_{i+1}`` with weight ``conv + nonc``,
* ``cL -> (conversion)`` with weight ``conv`` and ``cL -> (null)`` with
  weight ``nonc``;

transition probabilities are the row-normalised counts (maximum likelihood).

Repeated consecutive touches of the same channel (``A > A > B``) are kept as
self-loops by default (``collapse_repeats=False``).  With
``collapse_repeats=True`` runs are collapsed first (``A > A > B`` becomes
``A > B``).  For order 1 the choice changes only the transition matrix, not
``P(conv)`` nor any removal effect: collapsing removes exactly the self-loop
counts, and a self-loop only delays absorption.  For order >= 2 it changes the
states (``A > A`` exists only without collapsing) and hence the results.

Order ``k`` (``order=2, 3, ...``): the states are the tuples of the last ``k``
channels, left-padded with the start symbol (``(start) > A`` is the state
after the first touch ``A`` in an order-2 chain).  A path of length ``L``
visits ``L`` such states.

Conversion probability
----------------------
``P(conv)`` is the absorption probability into ``(conversion)`` from
``(start)``: the solution of ``(I - Q) x = r`` (``Q`` the transient block,
``r`` the column into ``(conversion)``), solved exactly by linear algebra,
not by simulation.  States that cannot reach ``(conversion)`` have ``x = 0``
structurally and are left out of the system.  (With maximum-likelihood
transitions ``P(conv)`` equals total conversions / total journeys, for every
order; the solve is still needed for the removals.)

Removal effect
--------------
Removing channel ``c`` redirects every transition *into* ``c`` to
``(null)``; for order ``k`` every transition into a state whose *newest*
element is ``c`` goes to ``(null)`` (so states that merely remember ``c``
in an older slot become unreachable too).  Then
``removal_effect(c) = 1 - P_without_c(conv) / P(conv)``, computed without
cancellation as ``(P - P_without_c) / P`` where the drop ``d = x - x'``
solves ``(I - Q)_RR d_R = Q_{R,S} x_S`` (``S`` the removed states, ``R`` the
rest), one solve per channel.  A channel whose states cannot reach a
conversion has removal effect exactly 0.  If nothing converts at all, every
removal effect is 0.

Solvers: small systems (order 1, up to ``dense_max_states`` states) use a
dense LU per removal; larger ones (typically order >= 2 with many channels,
where sparse LU fill-in is nearly dense) use restarted GMRES to a relative
residual of 1e-13, falling back to sparse LU if that does not converge (sparse
LU is also what ``solver="direct"`` uses above ``dense_max_states``; it is
exact but slow on large order >= 2 chains).  The result carries an
a-posteriori bound ``error_bound`` on the absolute error of ``P(conv)`` and of
every ``P_without_c(conv)``, built from the solve residuals ``r`` and
``T = ||(I-Q)^-1||_inf``, the largest expected number of steps to absorption
(itself solved for; removal systems have entrywise smaller inverses):
``T * max r * (2 + T)``.

Attribution
-----------
Global split (:func:`markov_attribution`, ChannelAttribution's convention):
total conversions and total revenue are split across channels in proportion
to their removal effects, ``conversions_c = total * RE_c / sum(RE)``.

Per-path split (:func:`markov_path_credits`): each unique *converting* path's
conversions and revenue are split among the distinct channels on that path in
proportion to their global removal effects, renormalised over those channels
(equal split if they are all 0; that cannot happen for a converting path,
whose first channel always has a positive removal effect, but is guarded).
Summed per channel this generally differs from the global split, because channels are weighted by
their removal effect only where they occur; both are exposed on purpose: the
global split is the model's channel answer, the per-path split gives
per-conversion credits that add up to each conversion (for row-level tables
in dbt / Dagster).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import breadth_first_order

from campaigns.attribution.paths import AggregatedPaths, PathsInput, aggregate_paths

__all__ = [
    "CONVERSION_STATE",
    "NULL_STATE",
    "START_STATE",
    "MarkovAttribution",
    "markov_attribution",
    "markov_path_credits",
]

START_STATE = "(start)"
CONVERSION_STATE = "(conversion)"
NULL_STATE = "(null)"

Solver = Literal["auto", "direct", "iterative"]

_GMRES_RTOL = 1e-13


@dataclass(frozen=True, eq=False)
class MarkovAttribution:
    """Result of :func:`markov_attribution`.

    Arrays are aligned with ``channels`` (sorted channel names).

    Attributes
    ----------
    removal_effect:
        ``1 - P(conv without c) / P(conv)`` per channel, in ``[0, 1]``.
    conversions, revenue:
        Total conversions / revenue split in proportion to removal effects
        (sum to ``total_conversions`` / ``total_revenue`` when anything
        converts).
    conversion_probability:
        ``P(conv)`` from ``(start)``.
    states:
        Labels of the rows/columns of ``transition_matrix``: ``(start)``, the
        channel states (order 1: channel names; order k: ``"A > B"``, with a
        ``"(start) > "`` prefix for states that still contain padding), then
        ``(conversion)`` and ``(null)``.
    transition_matrix:
        Square CSR matrix of transition probabilities over ``states``;
        absorbing states have a self-loop of 1.
    error_bound:
        Bound on the absolute error of ``P(conv)`` and of every
        ``P(conv without c)`` (see module docstring); ~1e-14 for dense LU.
    """

    channels: tuple[str, ...]
    removal_effect: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray
    conversion_probability: float
    total_conversions: int
    total_revenue: float
    total_journeys: int
    order: int
    collapse_repeats: bool
    states: tuple[str, ...]
    transition_matrix: sp.csr_matrix
    solver: str
    error_bound: float

    def to_polars(self) -> pl.DataFrame:
        """One row per channel: ``channel, removal_effect, conversions, revenue``."""
        return pl.DataFrame(
            {
                "channel": list(self.channels),
                "removal_effect": self.removal_effect,
                "conversions": self.conversions,
                "revenue": self.revenue,
            },
            schema={
                "channel": pl.String,
                "removal_effect": pl.Float64,
                "conversions": pl.Float64,
                "revenue": pl.Float64,
            },
        )

    def removal_effects(self) -> dict[str, float]:
        return dict(zip(self.channels, self.removal_effect.tolist()))

    def transitions(self) -> pl.DataFrame:
        """Non-zero transitions in long form: ``from_state, to_state, probability``."""
        coo = self.transition_matrix.tocoo()
        labels = np.asarray(self.states, dtype=object)
        return pl.DataFrame(
            {
                "from_state": labels[coo.row].tolist(),
                "to_state": labels[coo.col].tolist(),
                "probability": coo.data,
            },
            schema={"from_state": pl.String, "to_state": pl.String, "probability": pl.Float64},
        )


@dataclass(frozen=True, eq=False)
class _Chain:
    n_states: int  # transient states, state 0 = (start)
    counts: sp.csr_matrix  # (n_states, n_states + 2); last two columns conversion, null
    newest: np.ndarray  # newest channel id per transient state (-1 for start)
    codes: np.ndarray  # base-(n+1) code per transient state (start included)


def _build_chain(ap: AggregatedPaths, order: int, collapse_repeats: bool) -> _Chain:
    # One pass over every touch of every unique path (33M at 10x scale): the arrays of that length are kept few and
    # narrow (channel ids and states int32, masks bool), because on first use the kernel must hand over and zero each
    # page, and that cost more than the arithmetic (about 7 s of system time against 0.7 s of user time at 4.1 GB).
    n = ap.n_channels
    flat = ap.flat
    lengths = ap.lengths
    if collapse_repeats:
        keep = np.ones(flat.size, dtype=bool)
        keep[1:] = flat[1:] != flat[:-1]
        keep[ap.offsets[:-1]] = True
        flat = flat[keep]
        lengths = np.bincount(ap.row_ids[keep], minlength=ap.n_paths).astype(np.int64)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    first = np.zeros(flat.size, dtype=bool)  # the first touch of its path (paths are never empty)
    first[offsets[:-1]] = True

    base = n + 1
    pad = n
    if order * np.log2(base) > 62:
        raise ValueError(f"order {order} is too high for {n} channels")
    code = flat  # lag 0: the touch's own channel
    if order > 1:
        code = flat.astype(np.int64)
        pos = np.arange(flat.size, dtype=np.int64) - np.repeat(offsets[:-1], lengths)  # place in its path
        mult = base
        for lag in range(1, order):
            digit = np.full(flat.size, pad, dtype=np.int64)  # before the path's start: the start symbol
            digit[lag:] = np.where(pos[lag:] >= lag, flat[:-lag], pad)
            code += digit * mult
            mult *= base
        del pos, digit
    start_code = sum(pad * base**j for j in range(order))

    n_codes = base**order
    if n_codes <= 1 << 24:  # O(N) relabelling through a lookup table
        present = np.bincount(code, minlength=n_codes) > 0
        uniq = np.flatnonzero(present)
        relabel = np.cumsum(present) - 1
        state_type = np.int32 if uniq.size < (1 << 31) - 2 else np.int64
        state = (relabel + 1).astype(state_type)[code]  # 0 is (start)
    else:
        uniq, inv = np.unique(code, return_inverse=True)
        state = inv.astype(np.int64) + 1
    del code
    n_states = uniq.size + 1
    prev = np.empty_like(state)  # the state a touch is reached from: the previous touch's, or (start)
    prev[1:] = state[:-1]
    prev[first] = 0
    del first

    journeys = (ap.conversions + ap.non_conversions).astype(np.float64)
    last = state[offsets[1:] - 1].astype(np.int64)
    conv_col, null_col = n_states, n_states + 1
    n_cols = n_states + 2
    conversions, non_conversions = ap.conversions.astype(np.float64), ap.non_conversions.astype(np.float64)
    if n_states * n_cols <= 1 << 22:  # small chains: dense accumulation, no sort
        # the transitions between states and those into the two absorbing columns fill disjoint cells, so three
        # counts summed give each cell the same sum as one count over all of them
        size = n_states * n_cols
        cell = prev.astype(np.int32)
        cell *= n_cols
        cell += state
        dense = np.bincount(cell, weights=np.repeat(journeys, lengths), minlength=size)
        del cell
        dense += np.bincount(last * n_cols + conv_col, weights=conversions, minlength=size)
        dense += np.bincount(last * n_cols + null_col, weights=non_conversions, minlength=size)
        counts = sp.csr_matrix(dense.reshape(n_states, n_cols))
    else:
        r = np.concatenate([prev, last, last]).astype(np.int64, copy=False)
        c = np.concatenate([state, np.full(last.size, conv_col, np.int64), np.full(last.size, null_col, np.int64)]).astype(np.int64, copy=False)
        w = np.concatenate([np.repeat(journeys, lengths), conversions, non_conversions])
        nz = w > 0
        counts = sp.coo_matrix((w[nz], (r[nz], c[nz])), shape=(n_states, n_cols)).tocsr()
        counts.sum_duplicates()
    counts.eliminate_zeros()
    newest = np.concatenate([[-1], uniq % base]).astype(np.int64)
    codes = np.concatenate([[start_code], uniq]).astype(np.int64)
    return _Chain(n_states=n_states, counts=counts, newest=newest, codes=codes)


def _state_labels(chain: _Chain, channels: tuple[str, ...], order: int) -> tuple[str, ...]:
    base = len(channels) + 1
    pad = len(channels)
    labels = [START_STATE]
    for code in chain.codes[1:].tolist():
        digits = []
        for _ in range(order):
            digits.append(code % base)
            code //= base
        digits.reverse()  # oldest first
        parts = [channels[d] for d in digits if d != pad]
        prefix = f"{START_STATE} > " if digits[0] == pad and order > 1 else ""
        labels.append(prefix + " > ".join(parts))
    return tuple(labels) + (CONVERSION_STATE, NULL_STATE)


class _Solver:
    """Solves systems with principal submatrices of ``A = I - Q`` (on the
    states that can reach a conversion) and tracks an error bound."""

    def __init__(self, a: sp.csr_matrix, method: str, dense_max_states: int) -> None:
        self.a = a
        m = a.shape[0]
        if method == "auto":
            method = "direct" if m <= dense_max_states else "iterative"
        self.method = method
        self.dense = a.toarray() if (method == "direct" and m <= dense_max_states) else None
        self.max_residual = 0.0
        self.used_fallback = False

    def solve(self, keep: np.ndarray | None, b: np.ndarray) -> np.ndarray:
        """Solve ``A[keep][:, keep] y = b`` (``keep`` None means all states)."""
        if self.dense is not None:
            mat = self.dense if keep is None else self.dense[np.ix_(keep, keep)]
            y = np.linalg.solve(mat, b)
            res = mat @ y - b
        else:
            sub = (self.a if keep is None else self.a[keep][:, keep]).tocsc()
            y = None
            if self.method == "iterative":
                y, info = spla.gmres(sub, b, rtol=_GMRES_RTOL, atol=0.0, restart=60, maxiter=200)
                if info != 0 or not np.all(np.isfinite(y)):
                    self.used_fallback = True
                    y = None
            if y is None:
                y = spla.splu(sub).solve(b)
            res = sub @ y - b
        self.max_residual = max(self.max_residual, float(np.max(np.abs(res), initial=0.0)))
        return y


def _as_channel_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    return int(order)


def markov_attribution(
    paths: PathsInput,
    *,
    order: int = 1,
    collapse_repeats: bool = False,
    solver: Solver = "auto",
    dense_max_states: int = 400,
) -> MarkovAttribution:
    """Removal-effect Markov attribution, solved exactly (see module docstring).

    Parameters
    ----------
    paths:
        Aggregated unique paths (polars frame, sequence of ``PathCount`` or
        ``AggregatedPaths``).
    order:
        Markov order ``k`` (1, 2, 3 ...).
    collapse_repeats:
        Collapse consecutive repeats of a channel before counting transitions
        (default keeps them as self-loops).
    solver:
        ``"auto"`` (dense LU up to ``dense_max_states`` transient states, else
        GMRES), ``"direct"`` (dense / sparse LU) or ``"iterative"``.
    """
    order = _as_channel_order(order)
    if solver not in ("auto", "direct", "iterative"):
        raise ValueError(f"solver must be 'auto', 'direct' or 'iterative', got {solver!r}")
    ap = aggregate_paths(paths)
    chain = _build_chain(ap, order, collapse_repeats)
    n_states = chain.n_states
    n_ch = ap.n_channels

    row_tot = np.asarray(chain.counts.sum(axis=1)).ravel()
    probs = sp.diags(1.0 / row_tot) @ chain.counts
    probs = probs.tocsr()
    q = probs[:, :n_states].tocsr()
    r_conv = probs[:, n_states].toarray().ravel()

    # Transition matrix for inspection (absorbing states loop on themselves).
    absorbing = sp.csr_matrix(
        (np.ones(2), ([0, 1], [n_states, n_states + 1])), shape=(2, n_states + 2)
    )
    transition = sp.vstack([probs, absorbing], format="csr")

    total_conv = int(ap.conversions.sum())
    total_rev = float(ap.revenue.sum())
    total_journeys = int(ap.journeys.sum())

    # States that can reach (conversion): BFS from (conversion) on reversed edges.
    conv_node = n_states
    q_coo = q.tocoo()
    src = np.concatenate([q_coo.col, np.full(np.count_nonzero(r_conv), conv_node)])
    dst = np.concatenate([q_coo.row, np.flatnonzero(r_conv)])
    rev_graph = sp.csr_matrix(
        (np.ones(src.size), (src, dst)), shape=(n_states + 1, n_states + 1)
    )
    reach = breadth_first_order(rev_graph, conv_node, directed=True, return_predecessors=False)
    live = np.sort(reach[reach != conv_node])

    removal = np.zeros(n_ch, dtype=np.float64)
    p_conv = 0.0
    error_bound = 0.0
    used = "none"
    if live.size and live[0] == 0:  # (start) can reach a conversion
        a = (sp.identity(live.size, format="csr") - q[live][:, live]).tocsr()
        slv = _Solver(a, solver, dense_max_states)
        x = slv.solve(None, r_conv[live])
        np.clip(x, 0.0, 1.0, out=x)
        p_conv = float(x[0])
        newest_live = chain.newest[live]
        q_live = q[live][:, live].tocsr()
        for ch in np.unique(newest_live[newest_live >= 0]).tolist():
            removed = newest_live == ch
            keep = ~removed
            rhs = q_live[keep][:, removed] @ x[removed]
            d = slv.solve(keep, rhs)
            # keep[0] is True (start is never removed) -> d[0] is the drop at start
            removal[ch] = min(max(float(d[0]) / p_conv, 0.0), 1.0)
        # ||A^-1||_inf = T = max expected number of steps to absorption; an
        # error e in x enters each drop's right-hand side with weight <= 1, so
        # |error of P| <= T r and |error of P_without_c| <= T r (2 + T).
        steps = slv.solve(None, np.ones(live.size))
        t_max = float(np.max(np.abs(steps)))
        error_bound = t_max * slv.max_residual * (2.0 + t_max)
        used = slv.method + ("+lu-fallback" if slv.used_fallback else "")

    re_sum = removal.sum()
    if re_sum > 0:
        share = removal / re_sum
    else:
        share = np.zeros(n_ch)
    return MarkovAttribution(
        channels=ap.channels,
        removal_effect=removal,
        conversions=share * total_conv,
        revenue=share * total_rev,
        conversion_probability=p_conv,
        total_conversions=total_conv,
        total_revenue=total_rev,
        total_journeys=total_journeys,
        order=order,
        collapse_repeats=collapse_repeats,
        states=_state_labels(chain, ap.channels, order),
        transition_matrix=transition,
        solver=used,
        error_bound=error_bound,
    )


def markov_path_credits(
    paths: PathsInput,
    *,
    result: MarkovAttribution | None = None,
    order: int = 1,
    collapse_repeats: bool = False,
    solver: Solver = "auto",
) -> pl.DataFrame:
    """Per-path credits: each unique converting path split among its channels.

    A converting path's credit goes to the *distinct* channels on it in
    proportion to their global removal effects, renormalised over those
    channels (equal split if all are 0).  ``result`` reuses an existing
    :func:`markov_attribution` result (its channels must cover the paths);
    otherwise one is computed with ``order`` / ``collapse_repeats`` /
    ``solver``.

    Returns a long polars frame, one row per (converting unique path, channel
    on it), in input path order:

    ``path`` (list[str]), ``channel`` (str), ``credit`` (f64, sums to 1 per
    path), ``conversions`` (f64, ``credit * path conversions``), ``revenue``
    (f64, ``credit * path revenue``).
    """
    ap = aggregate_paths(paths)
    if result is None:
        result = markov_attribution(
            ap, order=order, collapse_repeats=collapse_repeats, solver=solver
        )
    lookup = dict(zip(result.channels, result.removal_effect.tolist()))
    missing = [c for c in ap.channels if c not in lookup]
    if missing:
        raise ValueError(f"result has no removal effect for channel(s) {missing}")
    re = np.array([lookup[c] for c in ap.channels], dtype=np.float64)

    conv_rows = np.flatnonzero(ap.conversions > 0)
    n = ap.n_channels
    local_of = np.full(ap.n_paths, -1, dtype=np.int64)
    local_of[conv_rows] = np.arange(conv_rows.size)
    touch_rows = local_of[ap.row_ids]
    sel = touch_rows >= 0
    local_row = touch_rows[sel]
    ch = ap.flat[sel].astype(np.int64)
    # distinct (path, channel) pairs, ordered by path then channel id
    if conv_rows.size * n <= 50_000_000:
        present = np.zeros((conv_rows.size, n), dtype=bool)
        present[local_row, ch] = True
        prow, pch = np.nonzero(present)
    else:
        key = np.unique(local_row * n + ch)
        prow, pch = key // n, key % n
    w = re[pch]
    tot = np.bincount(prow, weights=w, minlength=conv_rows.size)
    cnt = np.bincount(prow, minlength=conv_rows.size)
    safe_tot = np.where(tot > 0, tot, 1.0)
    credit = np.where(tot[prow] > 0, w / safe_tot[prow], 1.0 / np.maximum(cnt[prow], 1))
    src = conv_rows[prow]
    channel_names = pl.Series("channel", pch, dtype=pl.Int64).replace_strict(
        dict(enumerate(ap.channels)), return_dtype=pl.String
    )
    return pl.DataFrame(
        [
            ap.path_series().gather(src),
            channel_names,
            pl.Series("credit", credit, dtype=pl.Float64),
            pl.Series("conversions", credit * ap.conversions[src], dtype=pl.Float64),
            pl.Series("revenue", credit * ap.revenue[src], dtype=pl.Float64),
        ]
    )
