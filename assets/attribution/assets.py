"""Markov and Shapley attribution assets, and the data-driven tables built from them.

They run after dbt (stage `attribution` of `campaigns build`), read the journeys dbt built
and write into schema `marts`:

* ``markov_attribution``  -> marts.attribution_markov_channels (removal effects and the
  global split per channel), marts.attribution_markov_credits (per conversion × touch);
* ``shapley_attribution`` -> marts.attribution_shapley_channels, marts.attribution_shapley_credits;
* ``data_driven_attribution`` -> the data-driven twins of the dbt marts, same columns:
  marts.fct_attribution_data_driven, marts.attribution_by_channel_data_driven,
  marts.attribution_by_campaign_data_driven, marts.roi_by_model_data_driven.

These tables are dbt sources (source `attribution`, dbt_project/models/marts/__python_sources.yml,
which declares their columns; dbt's on-run-start hook creates them empty when missing). The
marts that union them with the rule-based models (attribution_by_channel_all_models,
attribution_daily_all_models, roi_by_model_all_models) are dbt views over them, so dbt keeps
running once, before these assets, and the views still show their latest output. The assets
therefore replace the rows and keep the tables (`Warehouse.replace_contents`): dropping one
would drop the views over it on PostgreSQL.

All three are partitioned by merchant (assets/merchants.py): a run reads its merchants' paths
and journeys and replaces their rows only (`Warehouse.replace_merchants`), so a large
merchant's Markov run never holds another merchant's; a run over every merchant (the build)
replaces whole tables as before and alone stamps the data-driven family as built.
"""

import time
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from assets.attribution import compute
from assets.merchants import MERCHANTS, RunMerchants, run_merchants
from campaigns.warehouse.connection import Warehouse
from campaigns.warehouse.staleness import DATA_DRIVEN, STAMPS_TABLE, stamp
from assets.resources import CampaignsResource

GROUP = "attribution"
MARTS = "marts"

PATHS_KEY = dg.AssetKey(["int_paths_aggregated"])
JOURNEYS_KEY = dg.AssetKey(["int_conversion_touchpoints"])
SPEND_KEY = dg.AssetKey(["stg_ad_spend"])
MARKOV_KEY = dg.AssetKey(["markov_attribution"])
SHAPLEY_KEY = dg.AssetKey(["shapley_attribution"])
DATA_DRIVEN_KEY = dg.AssetKey(["data_driven_attribution"])

PATHS_SQL = "select merchant_id, path, conversions, revenue, non_conversions from intermediate.int_paths_aggregated"
JOURNEYS_SQL = (
    "select merchant_id, conversion_id, touchpoint_id, touch_index, channel, campaign_id, touched_at, converted_at, revenue "
    "from intermediate.int_conversion_touchpoints"
)
SPEND_SQL = "select merchant_id, campaign_id, channel, spend from staging.stg_ad_spend"


def channels_table(model: str) -> str:
    return f"attribution_{model}_channels"


def credits_table(model: str) -> str:
    return f"attribution_{model}_credits"


class MarkovConfig(dg.Config):
    order: int = 1
    collapse_repeats: bool = False


class ShapleyConfig(dg.Config):
    exact_limit: int = 15
    seed: int = 0


def _read(warehouse: Warehouse, sql: str, schema: dict[str, pl.DataType], merchants: RunMerchants) -> pl.DataFrame:
    where, params = merchants.sql_filter()
    return compute.conform(warehouse.query(sql + where, params), schema)


def _replace(warehouse: Warehouse, table: str, frame: pl.DataFrame, merchants: RunMerchants) -> int:
    """Every merchant: empty the table and write (merchants gone from the data disappear); some: replace only theirs."""
    if merchants.every:
        return warehouse.replace_contents(MARTS, table, frame)
    return warehouse.replace_merchants(MARTS, table, frame, merchants.ids)


def _write_model(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    model: str,
    channels: pl.DataFrame,
    credits: pl.DataFrame,
    paths: pl.DataFrame,
    timings: dict[str, float],
    merchants: RunMerchants,
) -> dg.MaterializeResult:
    started = time.perf_counter()
    _replace(warehouse, channels_table(model), channels, merchants)
    _replace(warehouse, credits_table(model), credits, merchants)
    timings["write"] = time.perf_counter() - started
    if paths["conversions"].sum() == 0:
        context.log.warning(f"no conversions in int_paths_aggregated: {model} has nothing to attribute (tables are empty)")
    preview = channels.sort("merchant_id", "conversions", descending=[False, True])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": credits.height,
            "channel_rows": channels.height,
            "merchants": channels["merchant_id"].n_unique(),
            "whole_table": merchants.every,
            "unique_paths": paths.height,
            "conversions": int(paths["conversions"].sum()),
            "tables": dg.MetadataValue.json([f"{MARTS}.{channels_table(model)}", f"{MARTS}.{credits_table(model)}"]),
            "seconds": dg.MetadataValue.json({k: round(v, 3) for k, v in timings.items()}),
            "preview": dg.MetadataValue.md(compute.markdown_table(preview)),
        }
    )


@dg.asset(
    key=MARKOV_KEY,
    group_name=GROUP,
    partitions_def=MERCHANTS,
    kinds={"python", "polars"},
    deps=[PATHS_KEY, JOURNEYS_KEY],
    description=(
        "Exact removal-effect Markov attribution per merchant from int_paths_aggregated: "
        f"{MARTS}.{channels_table('markov')} (removal effect, conversions and revenue split by removal effect) and "
        f"{MARTS}.{credits_table('markov')} (each converting path split over its channels by removal effect, "
        "a channel's share shared by its touches)."
    ),
)
def markov_attribution(context: dg.AssetExecutionContext, config: MarkovConfig, campaigns: CampaignsResource) -> dg.MaterializeResult:
    return _run_model(context, campaigns, "markov", lambda paths: compute.markov_results(paths, order=config.order, collapse_repeats=config.collapse_repeats))


@dg.asset(
    key=SHAPLEY_KEY,
    group_name=GROUP,
    partitions_def=MERCHANTS,
    kinds={"python", "polars"},
    deps=[PATHS_KEY, JOURNEYS_KEY],
    description=(
        "Shapley attribution per merchant over channel sets from int_paths_aggregated: "
        f"{MARTS}.{channels_table('shapley')} and {MARTS}.{credits_table('shapley')} (each converting journey "
        "split over its channels by their Shapley values, a channel's share shared by its touches)."
    ),
)
def shapley_attribution(context: dg.AssetExecutionContext, config: ShapleyConfig, campaigns: CampaignsResource) -> dg.MaterializeResult:
    return _run_model(context, campaigns, "shapley", lambda paths: compute.shapley_results(paths, exact_limit=config.exact_limit, seed=config.seed))


def _run_model(context: dg.AssetExecutionContext, campaigns: CampaignsResource, model: str, solve) -> dg.MaterializeResult:
    """Read the run's merchants' journeys, solve `model` on the aggregated paths, spread credits to touches, write."""
    warehouse = campaigns.open_warehouse()
    merchants = run_merchants(context)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    paths = _read(warehouse, PATHS_SQL, compute.PATHS_SCHEMA, merchants)
    journeys = _read(warehouse, JOURNEYS_SQL, compute.JOURNEYS_SCHEMA, merchants)
    timings["read"] = time.perf_counter() - started
    started = time.perf_counter()
    channels, group_credits = solve(paths)
    credits = compute.touch_credits(model, journeys, group_credits)
    timings["compute"] = time.perf_counter() - started
    return _write_model(context, warehouse, model, channels, credits, paths, timings, merchants)


@dg.asset(
    key=DATA_DRIVEN_KEY,
    group_name=GROUP,
    partitions_def=MERCHANTS,
    kinds={"python", "polars"},
    deps=[MARKOV_KEY, SHAPLEY_KEY, SPEND_KEY],
    description=(
        "The data-driven twins of the dbt attribution marts, same columns, models markov and shapley: "
        "fct_attribution_data_driven, attribution_by_channel_data_driven (Markov: the global removal-effect split), "
        "attribution_by_campaign_data_driven and roi_by_model_data_driven, all in schema marts."
    ),
)
def data_driven_attribution(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    warehouse = campaigns.open_warehouse()
    merchants = run_merchants(context)
    credits = pl.concat([_read(warehouse, f"select * from {MARTS}.{credits_table(m)}", compute.CREDITS_SCHEMA, merchants) for m in compute.DATA_DRIVEN_MODELS])
    channels = pl.concat([_read(warehouse, f"select * from {MARTS}.{channels_table(m)}", compute.CHANNELS_SCHEMA, merchants) for m in compute.DATA_DRIVEN_MODELS])
    spend = _read(warehouse, SPEND_SQL, compute.SPEND_SCHEMA, merchants)
    campaigns_frame = compute.by_campaign(credits)
    roi = compute.roi(campaigns_frame, spend, compute.DATA_DRIVEN_MODELS)
    by_channel = channels.select("model", "merchant_id", "channel", "conversions", "revenue", "removal_effect")
    counts = {
        "fct_attribution_data_driven": _replace(warehouse, "fct_attribution_data_driven", credits, merchants),
        "attribution_by_channel_data_driven": _replace(warehouse, "attribution_by_channel_data_driven", by_channel, merchants),
        "attribution_by_campaign_data_driven": _replace(warehouse, "attribution_by_campaign_data_driven", campaigns_frame, merchants),
        "roi_by_model_data_driven": _replace(warehouse, "roi_by_model_data_driven", roi, merchants),
    }
    # Last: the data-driven family is as new as the rule-based marts only once all of it is written, for every
    # merchant; a run over some merchants leaves the stamp alone (the others' rows may be older).
    if merchants.every:
        warehouse.replace_rows(MARTS, STAMPS_TABLE, stamp(DATA_DRIVEN, datetime.now(UTC)), {"family": DATA_DRIVEN})
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": credits.height,
            "rows": dg.MetadataValue.json(counts),
            "merchants": len(merchants.ids),
            "whole_table": merchants.every,
            "seconds": round(time.perf_counter() - started, 3),
            "preview": dg.MetadataValue.md(compute.markdown_table(by_channel.sort("model", "merchant_id", "conversions", descending=[False, False, True]))),
        }
    )
