"""Shapley-value attribution over aggregated paths (order ignored, channel sets).

Game
----
The players are channels.  The value of a coalition ``S`` is the conversion
rate of the journeys whose *set* of channels is exactly ``S``::

    v(S) = conversions(S) / (conversions(S) + non_conversions(S))

and ``v(S) = 0`` where no journey has exactly that set (so ``v(empty) = 0``;
empty paths were already mapped to ``direct``).

Attribution
-----------
For every distinct channel set ``T`` that has conversions, the game is
restricted to the subsets of ``T`` and the Shapley values ``phi_i`` of the
channels in ``T`` are computed (raw values, summing to ``v(T)``).  The
conversions and revenue of all journeys with channel set ``T`` are split in
proportion to ``max(phi_i, 0)`` (negative values floored at 0, then
renormalised); if every floored value is 0 the split is equal (a guard only:
the raw values of a converting set sum to ``v(T) > 0``, for sampled
estimates too, so some value is positive).  Each distinct
set is solved once (journeys are grouped by set first), so the per-channel
totals add up to total conversions / revenue exactly.

Exact computation (``|T| <= exact_limit``, default 15): the weighted
marginal-contribution formula
``phi_i = sum_{S not containing i} |S|! (m-|S|-1)! / m! * (v(S+i) - v(S))``
written as one linear map of the ``2^m`` subset values (bitmask-indexed),
applied to all sets of the same size at once with a matrix product.

Sampling (``|T| > exact_limit``): ``K`` uniformly random permutations of
``T``; each channel's estimate is the mean of its marginal contributions.  A
marginal contribution lies in ``[-vmax, vmax]`` where ``vmax`` is the largest
observed ``v`` among the subsets of ``T``, so by Hoeffding's inequality with
a union bound over the ``m`` channels,

``P(max_i |phi_hat_i - phi_i| >= eps) <= delta``  for
``eps = 2 * vmax * sqrt(ln(2 m / delta) / (2 K))``.

``K`` is chosen so that ``eps <= epsilon * v(T)`` (``epsilon`` is relative to
the value being split), capped at ``max_permutations``; the bound actually
achieved is reported per set (``error_bound`` column, absolute, in
conversion-rate units; 0 for exact sets) together with ``delta``.  ``delta``
holds per sampled set (for all of them at once, union-bound: ``delta`` times
the number of sampled sets).  The estimates satisfy efficiency exactly (each permutation's marginals telescope
to ``v(T)``).

Limits: at most 64 distinct channels overall (subsets are 64-bit masks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from campaigns.attribution.paths import PathsInput, aggregate_paths

__all__ = ["SampledSet", "ShapleyAttribution", "shapley_attribution"]

_MAX_CHANNELS = 64
_MAX_EXACT_LIMIT = 20
_CHUNK_ENTRIES = 1 << 21  # subset values held at once while solving exactly


@dataclass(frozen=True)
class SampledSet:
    """How one channel set was estimated by permutation sampling."""

    channel_set: tuple[str, ...]
    n_permutations: int
    error_bound: float  # absolute bound on every |phi_hat - phi|, w.p. >= 1 - delta
    relative_error_bound: float  # error_bound / v(channel_set)
    delta: float


@dataclass(frozen=True, eq=False)
class ShapleyAttribution:
    """Result of :func:`shapley_attribution`.

    ``conversions`` / ``revenue`` are arrays aligned with ``channels``.
    ``set_credits`` has one row per (converting channel set, channel in it):
    ``channel_set`` (list[str], sorted), ``channel``, ``shapley_value`` (raw),
    ``credit`` (share, sums to 1 per set), ``conversions``, ``revenue``
    (the set's totals times ``credit``), ``exact`` (bool), ``error_bound``
    (absolute bound on ``shapley_value``; 0 when exact).
    ``coalition_values`` has one row per observed channel set:
    ``channel_set``, ``conversions``, ``non_conversions``, ``revenue``,
    ``conversion_rate`` (= v).
    """

    channels: tuple[str, ...]
    conversions: np.ndarray
    revenue: np.ndarray
    total_conversions: int
    total_revenue: float
    set_credits: pl.DataFrame
    coalition_values: pl.DataFrame
    sampled_sets: tuple[SampledSet, ...]
    exact_limit: int
    delta: float

    def to_polars(self) -> pl.DataFrame:
        """One row per channel: ``channel, conversions, revenue``."""
        return pl.DataFrame(
            {
                "channel": list(self.channels),
                "conversions": self.conversions,
                "revenue": self.revenue,
            },
            schema={"channel": pl.String, "conversions": pl.Float64, "revenue": pl.Float64},
        )

    def credits_for(self, channel_set: object) -> dict[str, float]:
        """Credit shares of one converting channel set (any iterable of names)."""
        key = sorted(set(channel_set))  # type: ignore[call-overload]
        wanted = pl.lit(key, dtype=pl.List(pl.String))
        rows = self.set_credits.filter(pl.col("channel_set") == wanted)
        if rows.height == 0:
            raise KeyError(f"no converting journeys with channel set {key}")
        return dict(zip(rows["channel"].to_list(), rows["credit"].to_list()))


@lru_cache(maxsize=_MAX_EXACT_LIMIT + 1)
def _subset_bits(m: int) -> np.ndarray:
    """``(2^m, m)`` bool matrix: bit ``j`` of subset mask ``s``."""
    masks = np.arange(1 << m, dtype=np.int64)
    return ((masks[:, None] >> np.arange(m)) & 1).astype(bool)


@lru_cache(maxsize=_MAX_EXACT_LIMIT + 1)
def _shapley_operator(m: int) -> np.ndarray:
    """``(2^m, m)`` matrix ``W`` with ``phi = v @ W`` for subset values ``v``.

    ``W[S, i] = w(|S| - 1)`` if ``i`` in ``S`` else ``-w(|S|)``, with
    ``w(s) = s! (m - s - 1)! / m!``.
    """
    bits = _subset_bits(m)
    size = bits.sum(axis=1)
    w = np.array(
        [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
        + [0.0]
    )
    inc = w[np.maximum(size - 1, 0)]
    exc = w[size]  # size == m only for the full set, whose members are all "in"
    out = np.where(bits, inc[:, None], -exc[:, None])
    out.setflags(write=False)
    return out


def _lookup(keys: np.ndarray, set_masks: np.ndarray, set_values: np.ndarray) -> np.ndarray:
    """Coalition values of ``keys`` (uint64 masks); 0 for unobserved sets."""
    idx = np.searchsorted(set_masks, keys)
    idx = np.minimum(idx, set_masks.size - 1)
    return np.where(set_masks[idx] == keys, set_values[idx], 0.0)


def _exact_batch(
    members: np.ndarray, set_masks: np.ndarray, set_values: np.ndarray
) -> np.ndarray:
    """Raw Shapley values for G games of size m (``members`` is ``(G, m)``)."""
    g, m = members.shape
    op = _shapley_operator(m)
    out = np.empty((g, m), dtype=np.float64)
    chunk = max(1, _CHUNK_ENTRIES >> m)
    for lo in range(0, g, chunk):
        mem = members[lo : lo + chunk]
        player_bits = np.left_shift(np.uint64(1), mem.astype(np.uint64))  # (g', m)
        # global mask of every local subset: subsets with top bit j are the
        # subsets below 2^j plus player j
        keys = np.zeros((mem.shape[0], 1 << m), dtype=np.uint64)
        for j in range(m):
            half = 1 << j
            np.bitwise_or(keys[:, :half], player_bits[:, j : j + 1], out=keys[:, half : 2 * half])
        vals = _lookup(keys, set_masks, set_values)
        out[lo : lo + chunk] = vals @ op
    return out


def _sampled(
    members: np.ndarray,
    mask: np.uint64,
    set_masks: np.ndarray,
    set_values: np.ndarray,
    epsilon: float,
    delta: float,
    max_permutations: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int, float]:
    m = members.size
    inside = (set_masks & ~mask) == 0
    vmax = float(set_values[inside].max())
    v_full = float(_lookup(np.array([mask], dtype=np.uint64), set_masks, set_values)[0])
    width = 2.0 * vmax
    log_term = math.log(2.0 * m / delta)
    target = epsilon * v_full
    k = math.ceil(width * width * log_term / (2.0 * target * target))
    k = int(max(1, min(k, max_permutations)))
    player_bits = np.left_shift(np.uint64(1), members.astype(np.uint64))
    total = np.zeros(m, dtype=np.float64)
    chunk = max(1, _CHUNK_ENTRIES // m)
    done = 0
    while done < k:
        c = min(chunk, k - done)
        perms = np.argsort(rng.random((c, m)), axis=1)
        prefix = np.cumsum(player_bits[perms], axis=1, dtype=np.uint64)
        vals = _lookup(prefix, set_masks, set_values)
        marg = np.diff(vals, axis=1, prepend=0.0)
        total += np.bincount(perms.ravel(), weights=marg.ravel(), minlength=m)
        done += c
    bound = width * math.sqrt(log_term / (2.0 * k))
    return total / k, k, bound


def shapley_attribution(
    paths: PathsInput,
    *,
    exact_limit: int = 15,
    epsilon: float = 0.01,
    delta: float = 0.05,
    max_permutations: int = 200_000,
    seed: int | None = 0,
) -> ShapleyAttribution:
    """Shapley attribution of conversions and revenue (see module docstring).

    Parameters
    ----------
    paths:
        Aggregated unique paths (polars frame, sequence of ``PathCount`` or
        ``AggregatedPaths``); only each path's channel set matters.
    exact_limit:
        Channel sets with at most this many channels are solved exactly
        (``2^m`` subsets; at most 20); larger ones are sampled.
    epsilon, delta:
        Sampling target: with probability ``>= 1 - delta`` every sampled raw
        Shapley value is within ``epsilon * v(T)`` of the exact one (unless
        ``max_permutations`` caps the sample; the achieved bound is reported).
    seed:
        Seed of the permutation sampler (results are deterministic for a
        fixed seed).
    """
    if not (1 <= exact_limit <= _MAX_EXACT_LIMIT):
        raise ValueError(f"exact_limit must be in 1..{_MAX_EXACT_LIMIT}, got {exact_limit}")
    if not (epsilon > 0 and 0 < delta < 1 and max_permutations >= 1):
        raise ValueError("need epsilon > 0, 0 < delta < 1 and max_permutations >= 1")
    ap = aggregate_paths(paths)
    n = ap.n_channels
    if n > _MAX_CHANNELS:
        raise ValueError(
            f"Shapley attribution supports at most {_MAX_CHANNELS} distinct channels, got {n}"
        )
    names = np.asarray(ap.channels, dtype=object)

    bits = np.left_shift(np.uint64(1), ap.flat.astype(np.uint64))
    path_masks = np.bitwise_or.reduceat(bits, ap.offsets[:-1])
    set_masks, inv = np.unique(path_masks, return_inverse=True)
    set_conv = np.bincount(inv, weights=ap.conversions, minlength=set_masks.size)
    set_nonc = np.bincount(inv, weights=ap.non_conversions, minlength=set_masks.size)
    set_rev = np.bincount(inv, weights=ap.revenue, minlength=set_masks.size)
    set_values = set_conv / (set_conv + set_nonc)

    membership = ((set_masks[:, None] >> np.arange(n, dtype=np.uint64)) & np.uint64(1)).astype(bool)
    set_sizes = membership.sum(axis=1).astype(np.int64)

    def members_of(ids: np.ndarray, m: int) -> np.ndarray:
        # row-major nonzero -> channel ids of each set, ascending, shape (len(ids), m)
        return np.nonzero(membership[ids])[1].reshape(ids.size, m).astype(np.int64)

    converting = np.flatnonzero(set_conv > 0)
    raw: dict[int, np.ndarray] = {}
    bound = np.zeros(set_masks.size, dtype=np.float64)  # 0 for exact sets
    sampled: list[SampledSet] = []
    exact_sets = converting[set_sizes[converting] <= exact_limit]
    for m in np.unique(set_sizes[exact_sets]).tolist():
        ids = exact_sets[set_sizes[exact_sets] == m]
        phi = _exact_batch(members_of(ids, m), set_masks, set_values)
        for row, i in enumerate(ids.tolist()):
            raw[i] = phi[row]
    rng = np.random.default_rng(seed)
    for i in converting[set_sizes[converting] > exact_limit].tolist():
        members = members_of(np.array([i]), int(set_sizes[i]))[0]
        phi, k, eps = _sampled(
            members, set_masks[i], set_masks, set_values, epsilon, delta, max_permutations, rng
        )
        raw[i] = phi
        bound[i] = eps
        sampled.append(
            SampledSet(
                channel_set=tuple(names[members].tolist()),
                n_permutations=k,
                error_bound=eps,
                relative_error_bound=float(eps / set_values[i]),
                delta=delta,
            )
        )

    conv_total = np.zeros(n)
    rev_total = np.zeros(n)
    cols: dict[str, list] = {
        "set_id": [],
        "channel_id": [],
        "shapley_value": [],
        "credit": [],
        "conversions": [],
        "revenue": [],
        "exact": [],
        "error_bound": [],
    }
    if converting.size:
        phis = [raw[i] for i in converting.tolist()]
        lengths = set_sizes[converting]
        flat_phi = np.concatenate(phis)
        set_idx = np.repeat(converting, lengths)
        ch_idx = np.nonzero(membership[converting])[1].astype(np.int64)
        floored = np.maximum(flat_phi, 0.0)
        sums = np.bincount(set_idx, weights=floored, minlength=set_masks.size)
        credit = np.where(
            sums[set_idx] > 0,
            floored / np.where(sums[set_idx] > 0, sums[set_idx], 1.0),
            1.0 / set_sizes[set_idx],
        )
        conv_share = credit * set_conv[set_idx]
        rev_share = credit * set_rev[set_idx]
        conv_total = np.bincount(ch_idx, weights=conv_share, minlength=n)
        rev_total = np.bincount(ch_idx, weights=rev_share, minlength=n)
        cols = {
            "set_id": set_idx,
            "channel_id": ch_idx,
            "shapley_value": flat_phi,
            "credit": credit,
            "conversions": conv_share,
            "revenue": rev_share,
            "exact": set_sizes[set_idx] <= exact_limit,
            "error_bound": bound[set_idx],
        }

    pair_set, pair_ch = np.nonzero(membership)
    set_lists = (
        pl.DataFrame(
            {"set_id": pair_set.astype(np.int64), "_ch": names[pair_ch].tolist()},
            schema={"set_id": pl.Int64, "_ch": pl.String},
        )
        .group_by("set_id", maintain_order=True)
        .agg(pl.col("_ch").alias("channel_set"))
    )
    set_credits = (
        pl.DataFrame(
            cols,
            schema={
                "set_id": pl.Int64,
                "channel_id": pl.Int64,
                "shapley_value": pl.Float64,
                "credit": pl.Float64,
                "conversions": pl.Float64,
                "revenue": pl.Float64,
                "exact": pl.Boolean,
                "error_bound": pl.Float64,
            },
        )
        .join(set_lists, on="set_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("channel_id")
            .replace_strict(dict(enumerate(ap.channels)), return_dtype=pl.String)
            .alias("channel")
        )
        .select(
            "channel_set",
            "channel",
            "shapley_value",
            "credit",
            "conversions",
            "revenue",
            "exact",
            "error_bound",
        )
    )
    coalition_values = set_lists.with_columns(
        pl.Series("conversions", set_conv.astype(np.int64)),
        pl.Series("non_conversions", set_nonc.astype(np.int64)),
        pl.Series("revenue", set_rev),
        pl.Series("conversion_rate", set_values),
    ).drop("set_id")
    return ShapleyAttribution(
        channels=ap.channels,
        conversions=conv_total,
        revenue=rev_total,
        total_conversions=int(ap.conversions.sum()),
        total_revenue=float(ap.revenue.sum()),
        set_credits=set_credits,
        coalition_values=coalition_values,
        sampled_sets=tuple(sampled),
        exact_limit=exact_limit,
        delta=delta,
    )
