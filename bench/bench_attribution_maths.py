"""Benchmark of the attribution maths (a script, not a test).

    .venv/bin/python bench/bench_attribution_maths.py [--journeys 5000000] [--channels 15]

Generates synthetic journeys (sticky channel sequences whose conversion
probability depends on the channels touched), aggregates them to unique paths
exactly as the warehouse does, then times ``markov_attribution`` (orders 1-3),
``markov_path_credits`` and ``shapley_attribution``.

If the optional GPL bench extra ``ChannelAttribution`` is importable, its
simulation-based ``markov_model`` is run on the same aggregated paths and the
time ratio and the largest relative difference of removal effects are
printed; otherwise the comparison is skipped with the reason.  (Its
``install_pro()`` is never called.)
"""

from __future__ import annotations

import argparse
import inspect
import time

import numpy as np
import polars as pl

from campaigns.attribution import (
    aggregate_paths,
    markov_attribution,
    markov_path_credits,
    shapley_attribution,
)

MAX_LEN = 15  # paths are keyed as base-16 digits in an int64


def synthetic_paths(n_journeys: int, n_channels: int, seed: int) -> pl.DataFrame:
    """Aggregated unique paths of ``n_journeys`` synthetic journeys."""
    if n_channels > 15:
        raise SystemExit("the generator encodes channels as hex digits: use at most 15")
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_channels + 1) ** 0.8
    popularity /= popularity.sum()
    effect = rng.uniform(-0.4, 0.9, size=n_channels)  # log-odds lift per channel touched

    lengths = np.minimum(rng.geometric(0.35, size=n_journeys), MAX_LEN)
    key = np.zeros(n_journeys, dtype=np.int64)
    touched = np.zeros((n_journeys, n_channels), dtype=bool)
    prev = rng.choice(n_channels, size=n_journeys, p=popularity)
    for t in range(MAX_LEN):
        active = lengths > t
        if not active.any():
            break
        fresh = rng.choice(n_channels, size=n_journeys, p=popularity)
        stay = rng.random(n_journeys) < 0.3  # repeat the previous channel
        cur = np.where((t > 0) & stay, prev, fresh) if t else prev
        key = np.where(active, key * 16 + (cur + 1), key)
        touched[np.flatnonzero(active), cur[active]] = True
        prev = cur
    logit = -3.2 + touched.astype(np.float64) @ effect + 0.15 * lengths
    converted = rng.random(n_journeys) < 1.0 / (1.0 + np.exp(-logit))
    revenue = np.where(converted, rng.gamma(2.0, 40.0, size=n_journeys), 0.0)

    uniq, inv = np.unique(key, return_inverse=True)
    conv = np.bincount(inv, weights=converted, minlength=uniq.size).astype(np.int64)
    total = np.bincount(inv, minlength=uniq.size).astype(np.int64)
    rev = np.bincount(inv, weights=revenue, minlength=uniq.size)

    # decode base-16 keys into channel-id lists
    digits = []
    rest = uniq.copy()
    while (rest > 0).any():
        digits.append(rest % 16)
        rest //= 16
    mat = np.stack(digits[::-1], axis=1) - 1  # (paths, max_len); -1 = leading padding
    names = np.array([f"ch{i:02d}" for i in range(n_channels)], dtype=object)
    row, col = np.nonzero(mat >= 0)
    touches = pl.DataFrame({"row": row, "channel": names[mat[row, col]].tolist()})
    paths = touches.group_by("row", maintain_order=True).agg(pl.col("channel").alias("path"))
    return pl.DataFrame(
        {
            "path": paths["path"],
            "conversions": conv,
            "revenue": rev,
            "non_conversions": total - conv,
        }
    )


def timed(label: str, fn, repeat: int):
    """Run ``fn`` ``repeat`` times; print the first (cold) and the best time."""
    times = []
    out = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    print(f"  {label:<42s} first {times[0]:7.3f} s   best {min(times):7.3f} s", flush=True)
    return out, min(times)


def compare_channelattribution(df: pl.DataFrame, ours, our_seconds: float) -> None:
    try:
        import ChannelAttribution as ca  # type: ignore[import-not-found]
    except ImportError as exc:
        try:
            import channelattribution as ca  # type: ignore[import-not-found,no-redef]
        except ImportError:
            print(
                "\nChannelAttribution comparison skipped: the optional GPL bench extra "
                f"is not installed ({exc}). It is listed under [project.optional-dependencies] "
                "bench (needs matplotlib)."
            )
            return
    pdf = df.select(
        pl.col("path").list.join(" > "),
        pl.col("conversions").alias("total_conversions"),
        pl.col("revenue").alias("total_conversion_value"),
        pl.col("non_conversions").alias("total_null"),
    ).to_pandas()
    kwargs = {
        "var_path": "path",
        "var_conv": "total_conversions",
        "var_value": "total_conversion_value",
        "var_null": "total_null",
        "order": 1,
        "out_more": True,
        "sep": ">",
        "verbose": False,
        "flg_adv": False,
    }
    accepted = set(inspect.signature(ca.markov_model).parameters)
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    t0 = time.perf_counter()
    out = ca.markov_model(pdf, **kwargs)
    ca_seconds = time.perf_counter() - t0
    table = out["removal_effects"] if isinstance(out, dict) else out
    name_col = "channel_name" if "channel_name" in table.columns else table.columns[0]
    re_col = next(c for c in table.columns if c.startswith("removal_effect"))
    theirs = dict(zip(table[name_col].astype(str).str.strip(), table[re_col].astype(float)))
    mine = ours.removal_effects()
    common = sorted(set(theirs) & set(mine))
    rel = max(abs(theirs[c] - mine[c]) / max(abs(mine[c]), 1e-12) for c in common)
    # ChannelAttribution may report normalised effects: compare shares too
    t_sum = sum(theirs[c] for c in common)
    m_sum = sum(mine[c] for c in common)
    rel_share = max(
        abs(theirs[c] / t_sum - mine[c] / m_sum) / max(mine[c] / m_sum, 1e-12) for c in common
    )
    print("\nChannelAttribution.markov_model (order 1, simulation):")
    print(
        f"  time {ca_seconds:.3f} s  vs ours {our_seconds:.3f} s"
        f"  -> ratio {ca_seconds / our_seconds:.1f}x"
    )
    print(f"  max relative difference of removal effects: {rel:.4f} (shares: {rel_share:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=5_000_000)
    parser.add_argument("--channels", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--orders", default="1,2,3")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is shown)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    df = synthetic_paths(args.journeys, args.channels, args.seed)
    gen = time.perf_counter() - t0
    print(
        f"{args.journeys:,} journeys, {args.channels} channels -> {df.height:,} unique paths "
        f"({int(df['conversions'].sum()):,} conversions; generated in {gen:.1f} s)"
    )
    r = args.repeat
    print(f"timings (first call, best of {r}):")
    ap, _ = timed("aggregate_paths (validate + encode)", lambda: aggregate_paths(df), r)
    order1, best = timed("markov order 1", lambda: markov_attribution(ap, order=1), r)
    for k in [int(x) for x in args.orders.split(",") if x.strip() and int(x) > 1]:
        res, _ = timed(f"markov order {k}", lambda k=k: markov_attribution(ap, order=k), r)
        print(
            f"      states {len(res.states) - 2:,}, solver {res.solver}, "
            f"error bound {res.error_bound:.1e}"
        )
    timed("markov order 1 from the polars frame", lambda: markov_attribution(df), r)
    credits, _ = timed(
        "markov_path_credits (reusing the result)",
        lambda: markov_path_credits(ap, result=order1),
        r,
    )
    print(f"      {credits.height:,} (path, channel) credit rows")
    sh, _ = timed("shapley (exact, sets <= 15 channels)", lambda: shapley_attribution(ap), r)
    sizes = sh.coalition_values["channel_set"].list.len()
    print(
        f"      {sh.coalition_values.height:,} distinct channel sets (max size {sizes.max()}), "
        f"{len(sh.sampled_sets)} sampled"
    )
    forced, _ = timed(
        "shapley, sets > 8 channels sampled",
        lambda: shapley_attribution(ap, exact_limit=8, epsilon=0.05),
        1,
    )
    if forced.sampled_sets:
        worst = max(s.relative_error_bound for s in forced.sampled_sets)
        perms = sum(s.n_permutations for s in forced.sampled_sets)
        print(
            f"      {len(forced.sampled_sets)} sets sampled, {perms:,} permutations, "
            f"worst relative bound {worst:.3f} (delta {forced.delta})"
        )
        key = ["channel_set", "channel"]
        both = (
            forced.set_credits.filter(~pl.col("exact"))
            .select(*key, pl.col("shapley_value").alias("est"), "error_bound")
            .join(sh.set_credits.select(*key, "shapley_value"), on=key)
        )
        ratio = ((both["est"] - both["shapley_value"]).abs() / both["error_bound"]).max()
        print(f"      max |sampled - exact| / stated bound: {ratio:.3f}")

    print("\nremoval effects (order 1) / Shapley conversion shares:")
    mk = order1.to_polars()
    sv = sh.to_polars()
    for i, ch in enumerate(order1.channels):
        print(
            f"  {ch}: RE {mk['removal_effect'][i]:.4f}"
            f"  markov {mk['conversions'][i] / order1.total_conversions:6.2%}"
            f"  shapley {sv['conversions'][i] / sh.total_conversions:6.2%}"
        )
    compare_channelattribution(df, order1, best)


if __name__ == "__main__":
    main()
