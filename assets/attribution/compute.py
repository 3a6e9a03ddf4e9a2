"""Data-driven attribution over the warehouse's journeys: polars frames in, polars frames out.

The dbt models hand over two relations:

* ``intermediate.int_paths_aggregated``: unique channel paths per merchant
  (``'email > x > google_ads'``) with conversions, revenue and non-conversions, the input of
  :func:`campaigns.attribution.markov_attribution` and
  :func:`campaigns.attribution.shapley_attribution`;
* ``intermediate.int_conversion_touchpoints``: every conversion's touches, to turn the
  per-path (Markov) or per-channel-set (Shapley) credits into rows shaped like
  ``marts.fct_attribution``.

A path's credit goes to the channels on it; a channel's credit within one conversion is
shared equally by that channel's touches, so every conversion's credits sum to 1 and the
campaign of each touch gets its part. Merchants without conversions give no rows.

No I/O here: the Dagster assets in :mod:`assets.attribution.assets` read and write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from campaigns.attribution import markov_attribution, markov_path_credits, shapley_attribution

#: Channel separator of int_paths_aggregated.path (dbt macro attribution_path_delimiter).
PATH_DELIMITER = " > "

#: The rule-based models of marts.fct_attribution (dbt macro attribution_rule_models).
RULE_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
#: The models computed here.
DATA_DRIVEN_MODELS = ("markov", "shapley")
ALL_MODELS = RULE_MODELS + DATA_DRIVEN_MODELS

UTC_TS = pl.Datetime("us", "UTC")

PATHS_SCHEMA: dict[str, pl.DataType] = {
    "merchant_id": pl.String(),
    "path": pl.String(),
    "conversions": pl.Int64(),
    "revenue": pl.Float64(),
    "non_conversions": pl.Int64(),
}

JOURNEYS_SCHEMA: dict[str, pl.DataType] = {
    "merchant_id": pl.String(),
    "conversion_id": pl.String(),
    "touchpoint_id": pl.String(),
    "touch_index": pl.Int64(),
    "channel": pl.String(),
    "campaign_id": pl.String(),
    "touched_at": UTC_TS,
    "converted_at": UTC_TS,
    "revenue": pl.Float64(),
}

#: marts.attribution_<model>_channels and marts.attribution_by_channel_data_driven.
CHANNELS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "merchant_id": pl.String(),
    "channel": pl.String(),
    "removal_effect": pl.Float64(),  # Markov only; null for Shapley
    "conversions": pl.Float64(),
    "revenue": pl.Float64(),
}

#: Same columns as marts.fct_attribution.
CREDITS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "merchant_id": pl.String(),
    "conversion_id": pl.String(),
    "touchpoint_id": pl.String(),
    "touch_index": pl.Int64(),
    "channel": pl.String(),
    "campaign_id": pl.String(),
    "touched_at": UTC_TS,
    "converted_at": UTC_TS,
    "credit": pl.Float64(),
    "attributed_revenue": pl.Float64(),
}

#: Same columns as marts.attribution_by_campaign.
CAMPAIGNS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "merchant_id": pl.String(),
    "campaign_id": pl.String(),
    "channel": pl.String(),
    "conversions": pl.Float64(),
    "revenue": pl.Float64(),
}

#: Same columns as marts.roi_by_model.
ROI_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "merchant_id": pl.String(),
    "campaign_id": pl.String(),
    "channel": pl.String(),
    "spend": pl.Float64(),
    "conversions": pl.Float64(),
    "revenue": pl.Float64(),
    "roas": pl.Float64(),
    "roi": pl.Float64(),
}

SPEND_SCHEMA: dict[str, pl.DataType] = {
    "merchant_id": pl.String(),
    "campaign_id": pl.String(),
    "channel": pl.String(),
    "spend": pl.Float64(),
}

TOTALS_SCHEMA: dict[str, pl.DataType] = {"merchant_id": pl.String(), "conversions": pl.Float64(), "revenue": pl.Float64()}

# per-path (Markov) or per-channel-set (Shapley) credit shares of one merchant's journeys
_KEY_CREDITS_SCHEMA: dict[str, pl.DataType] = {"merchant_id": pl.String(), "key": pl.String(), "channel": pl.String(), "credit": pl.Float64()}


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """`frame` with exactly `schema`'s columns and types (timestamps in UTC).

    Warehouse reads differ by backend: PostgreSQL names the zone ``Etc/UTC`` and an empty
    result has untyped (null) columns; both become the same frame here.
    """
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"expected column(s) {missing}, got {frame.columns}")
    columns = []
    for name, dtype in schema.items():
        column = pl.col(name)
        source = frame.schema[name]
        if isinstance(dtype, pl.Datetime) and isinstance(source, pl.Datetime) and source.time_zone:
            column = column.dt.convert_time_zone("UTC")
        columns.append(column.cast(dtype))
    return frame.select(columns)


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _merchant_paths(paths: pl.DataFrame) -> Iterable[tuple[str, pl.DataFrame]]:
    """Per merchant with conversions: the paths as the attribution functions' input frame."""
    for (merchant_id,), rows in paths.sort("merchant_id", "path").group_by("merchant_id", maintain_order=True):
        if rows["conversions"].sum() == 0:
            continue  # nothing to attribute (and Markov/Shapley have nothing to split)
        yield str(merchant_id), rows.select(
            pl.col("path").str.split(PATH_DELIMITER),
            "conversions",
            "revenue",
            "non_conversions",
        )


def markov_results(paths: pl.DataFrame, *, order: int = 1, collapse_repeats: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Markov removal-effect attribution per merchant.

    Returns ``(channels, path_credits)``: channels in :data:`CHANNELS_SCHEMA` (the global
    split: total conversions and revenue in proportion to removal effects), and the credit
    shares of every converting path's channels (key = the path string).
    """
    paths = conform(paths, PATHS_SCHEMA)
    channel_frames, credit_frames = [empty(CHANNELS_SCHEMA)], [empty(_KEY_CREDITS_SCHEMA)]
    for merchant_id, frame in _merchant_paths(paths):
        result = markov_attribution(frame, order=order, collapse_repeats=collapse_repeats)
        channel_frames.append(
            result.to_polars().select(
                pl.lit("markov").alias("model"), pl.lit(merchant_id).alias("merchant_id"), "channel", "removal_effect", "conversions", "revenue"
            )
        )
        credits = markov_path_credits(frame, result=result)
        credit_frames.append(
            credits.select(
                pl.lit(merchant_id).alias("merchant_id"),
                pl.col("path").list.join(PATH_DELIMITER).alias("key"),
                "channel",
                "credit",
            )
        )
    return pl.concat(channel_frames, how="vertical_relaxed"), pl.concat(credit_frames, how="vertical_relaxed")


def shapley_results(paths: pl.DataFrame, *, exact_limit: int = 15, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shapley attribution per merchant: ``(channels, set_credits)`` (key = the sorted
    channel set joined with the path delimiter). ``removal_effect`` is null."""
    paths = conform(paths, PATHS_SCHEMA)
    channel_frames, credit_frames = [empty(CHANNELS_SCHEMA)], [empty(_KEY_CREDITS_SCHEMA)]
    for merchant_id, frame in _merchant_paths(paths):
        result = shapley_attribution(frame, exact_limit=exact_limit, seed=seed)
        channel_frames.append(
            result.to_polars().select(
                pl.lit("shapley").alias("model"),
                pl.lit(merchant_id).alias("merchant_id"),
                "channel",
                pl.lit(None, dtype=pl.Float64).alias("removal_effect"),
                "conversions",
                "revenue",
            )
        )
        credit_frames.append(
            result.set_credits.select(
                pl.lit(merchant_id).alias("merchant_id"),
                pl.col("channel_set").list.join(PATH_DELIMITER).alias("key"),
                "channel",
                "credit",
            )
        )
    return pl.concat(channel_frames, how="vertical_relaxed"), pl.concat(credit_frames, how="vertical_relaxed")


def _journey_keys(journeys: pl.DataFrame) -> pl.DataFrame:
    """Per conversion: its path string (Markov key) and sorted channel set (Shapley key)."""
    return journeys.group_by("merchant_id", "conversion_id").agg(
        pl.col("channel").sort_by("touch_index").str.join(PATH_DELIMITER).alias("path_key"),
        pl.col("channel").unique().sort().str.join(PATH_DELIMITER).alias("set_key"),
    )


def touch_credits(model: str, journeys: pl.DataFrame, key_credits: pl.DataFrame) -> pl.DataFrame:
    """Rows shaped like marts.fct_attribution from per-path or per-set channel credits.

    A channel's credit in a conversion is shared equally by that channel's touches.
    Raises ``ValueError`` when a conversion's path has no credits (the journeys and the
    aggregated paths were read from different dbt builds).
    """
    if model not in DATA_DRIVEN_MODELS:
        raise ValueError(f"unknown data-driven model {model!r}; expected one of {DATA_DRIVEN_MODELS}")
    journeys = conform(journeys, JOURNEYS_SCHEMA)
    if journeys.height == 0:
        return empty(CREDITS_SCHEMA)
    key_column = "path_key" if model == "markov" else "set_key"
    touches = (
        journeys.join(_journey_keys(journeys), on=["merchant_id", "conversion_id"])
        .with_columns(pl.len().over("merchant_id", "conversion_id", "channel").alias("channel_touches"))
        .join(
            key_credits.rename({"key": key_column, "credit": "channel_credit"}),
            on=["merchant_id", key_column, "channel"],
            how="left",
        )
    )
    unmatched = touches.filter(pl.col("channel_credit").is_null())
    if unmatched.height:
        example = unmatched.row(0, named=True)
        raise ValueError(
            f"{unmatched['conversion_id'].n_unique()} conversion(s) have no {model} credits "
            f"(e.g. {example['conversion_id']} of merchant {example['merchant_id']} with "
            f"{key_column} {example[key_column]!r}); int_paths_aggregated and "
            "int_conversion_touchpoints come from different builds: rebuild the dbt models"
        )
    credited = touches.with_columns((pl.col("channel_credit") / pl.col("channel_touches")).alias("credit"))
    return credited.select(
        pl.lit(model).alias("model"),
        "merchant_id",
        "conversion_id",
        "touchpoint_id",
        "touch_index",
        "channel",
        "campaign_id",
        "touched_at",
        "converted_at",
        "credit",
        (pl.col("credit") * pl.col("revenue")).alias("attributed_revenue"),
    ).sort("merchant_id", "conversion_id", "touch_index")


def by_campaign(credits: pl.DataFrame) -> pl.DataFrame:
    """Per model × merchant × campaign × channel, like marts.attribution_by_campaign."""
    if credits.height == 0:
        return empty(CAMPAIGNS_SCHEMA)
    return (
        credits.group_by("model", "merchant_id", "campaign_id", "channel")
        .agg(pl.col("credit").sum().alias("conversions"), pl.col("attributed_revenue").sum().alias("revenue"))
        .sort("model", "merchant_id", "campaign_id", "channel", nulls_last=True)
        .select(list(CAMPAIGNS_SCHEMA))
    )


def roi(campaigns: pl.DataFrame, spend: pl.DataFrame, models: Sequence[str]) -> pl.DataFrame:
    """Like marts.roi_by_model: every model lists every campaign × channel with spend."""
    spend = conform(spend, SPEND_SCHEMA).group_by("merchant_id", "campaign_id", "channel").agg(pl.col("spend").sum())
    model_spend = pl.DataFrame({"model": list(models)}, schema={"model": pl.String}).join(spend, how="cross")
    keys = ["model", "merchant_id", "campaign_id", "channel"]
    joined = model_spend.join(conform(campaigns, CAMPAIGNS_SCHEMA), on=keys, how="full", coalesce=True, nulls_equal=False)
    joined = joined.with_columns(pl.col("spend", "conversions", "revenue").fill_null(0.0))
    spent = pl.col("spend") != 0
    return joined.select(
        *keys,
        "spend",
        "conversions",
        "revenue",
        pl.when(spent).then(pl.col("revenue") / pl.col("spend")).alias("roas"),
        pl.when(spent).then((pl.col("revenue") - pl.col("spend")) / pl.col("spend")).alias("roi"),
    ).sort(keys, nulls_last=True).pipe(conform, ROI_SCHEMA)


def conservation_failures(
    attributed: pl.DataFrame,
    totals: pl.DataFrame,
    models: Sequence[str],
    *,
    relative_tolerance: float = 1e-6,
) -> pl.DataFrame:
    """Per model × merchant, attributed vs actual conversions and revenue; the failing rows.

    ``attributed`` has model, merchant_id, conversions, revenue (any granularity, summed
    here); ``totals`` has merchant_id, conversions, revenue. A model missing for a
    merchant with conversions fails; so does a model or merchant that should not be there.
    """
    actual = attributed.group_by("model", "merchant_id").agg(
        pl.col("conversions").cast(pl.Float64).sum().alias("attributed_conversions"),
        pl.col("revenue").cast(pl.Float64).sum().alias("attributed_revenue"),
    )
    expected = (
        pl.DataFrame({"model": list(models)}, schema={"model": pl.String})
        .join(conform(totals, TOTALS_SCHEMA).filter(pl.col("conversions") > 0), how="cross")
        .rename({"conversions": "expected_conversions", "revenue": "expected_revenue"})
    )
    compared = expected.join(actual, on=["model", "merchant_id"], how="full", coalesce=True).with_columns(
        pl.col("expected_conversions", "expected_revenue", "attributed_conversions", "attributed_revenue").fill_null(0.0)
    )

    def off(a: str, e: str) -> pl.Expr:
        return (pl.col(a) - pl.col(e)).abs() > relative_tolerance * pl.max_horizontal(pl.col(e).abs(), pl.lit(1.0))

    return compared.filter(
        off("attributed_conversions", "expected_conversions") | off("attributed_revenue", "expected_revenue")
    ).sort("model", "merchant_id")


def markdown_table(frame: pl.DataFrame, limit: int = 12, digits: int = 4) -> str:
    """A small markdown preview for Dagster metadata."""
    head = frame.head(limit)

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.iter_rows()]
    if frame.height > limit:
        lines.append(f"\n{frame.height - limit} more rows")
    return "\n".join(lines)
