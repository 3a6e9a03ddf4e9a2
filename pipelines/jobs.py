"""Jobs and schedules.

Dagster runs one partitioning per job: ad spend's days (which include today, since spend is
imported for the current day) differ from GA4's and post metrics' (up to yesterday), so ad
spend has its own job, which a sensor runs after each spend import. The merchant-partitioned
assets have two jobs, `merchant_ingest` and `merchant_results`, one run per merchant (tagged with
it); the daily order is merchant_ingest for each merchant, build_all (dbt once for everyone),
merchant_results for each merchant. `campaigns build` uses Dagster's implicit asset job and
runs everything.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.ingest.ad_spend import ad_spend_partitions
from assets.attribution.assets import DATA_DRIVEN_KEY, MARKOV_KEY, SHAPLEY_KEY
from assets.ingest.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from assets.merchants import MERCHANTS, merchant_tags
from assets.resources import CampaignsResource
from campaigns.warehouse.landing import landing_files
from campaigns.warehouse.schema import AD_SPEND, LANDED_TABLES, RAW_SCHEMA
from pipelines.instance import BUILD_MAX_RUNTIME, WAREHOUSE_POOL, pool_tags

AD_SPEND_KEY = dg.AssetKey(["raw", "ad_spend"])
# The merchant-partitioned assets (assets/merchants.py): the landed raw tables, then the Python attribution and the results.
MERCHANT_INGEST_KEYS = [dg.AssetKey([RAW_SCHEMA, t.name]) for t in LANDED_TABLES if t is not AD_SPEND]
MERCHANT_RESULTS_KEYS = [MARKOV_KEY, SHAPLEY_KEY, DATA_DRIVEN_KEY, dg.AssetKey("campaign_metrics")]

build_all = dg.define_asset_job(
    "build_all",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(AD_SPEND_KEY, *MERCHANT_INGEST_KEYS, *MERCHANT_RESULTS_KEYS),
    description="The store snapshots, GA4 and post metrics, dbt, curves, budget and serving, for every merchant "
                "(ad spend days: the `ad_spend` job; per merchant: `merchant_ingest` before it, `merchant_results` after it).",
    tags=pool_tags(WAREHOUSE_POOL, BUILD_MAX_RUNTIME),
)


def _merchant_job(name: str, keys: list[dg.AssetKey], description: str) -> dg.UnresolvedAssetJobDefinition:
    # Each run is one merchant's, tagged with it: the run coordinator lets one run per merchant go at a time.
    config = dg.PartitionedConfig(partitions_def=MERCHANTS, run_config_for_partition_key_fn=lambda _key: {}, tags_for_partition_key_fn=merchant_tags)
    return dg.define_asset_job(name, selection=dg.AssetSelection.assets(*keys), partitions_def=MERCHANTS, config=config, description=description,
                               tags=pool_tags(WAREHOUSE_POOL, BUILD_MAX_RUNTIME))


merchant_ingest = _merchant_job(
    "merchant_ingest", MERCHANT_INGEST_KEYS,
    "One merchant's landed raw tables (touchpoints, conversions, ...): its rows replaced from its landing files; the other merchants' stay.")
merchant_results = _merchant_job(
    "merchant_results", MERCHANT_RESULTS_KEYS,
    "One merchant's Markov, Shapley and data-driven marts and its campaign_metrics, from the marts dbt built for every merchant.")

ad_spend = dg.define_asset_job(
    "ad_spend",
    selection=dg.AssetSelection.assets(AD_SPEND_KEY),
    description="Load imported ad spend into raw.ad_spend: pick days or a range (one run replaces those days).",
    tags=pool_tags(WAREHOUSE_POOL, BUILD_MAX_RUNTIME),
)

@dg.sensor(job=ad_spend, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: after `campaigns import spend`, reload the days the new landing files cover.")
def landed_spend_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    # Landing file names start with their UTC import stamp: the cursor is the newest name seen.
    settings, seen = campaigns.settings(), context.cursor or ""
    new = [f for f in landing_files(settings.landing_dir, AD_SPEND) if f.name > seen]
    if not new:
        return dg.SkipReason("no new spend import")
    newest = max(f.name for f in new)
    context.update_cursor(newest)
    span = spend_range(new, ad_spend_partitions(settings.ingest_start_date))
    if span is None:
        return dg.SkipReason(f"{len(new)} new spend file(s), but no row is dated inside the partitions")
    start, end = span
    return dg.RunRequest(run_key=f"spend-{newest}", tags={PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end})


def spend_range(files: list[Path], partitions_def: dg.PartitionsDefinition) -> tuple[str, str] | None:
    """First and last partition key covered by the spend dates in `files`, clamped to the partitions."""
    bounds = pl.scan_parquet(files).select(pl.col("date").min().alias("first"), pl.col("date").max().alias("last")).collect()
    first, last = bounds.row(0)
    keys = partitions_def.get_partition_keys()
    if first is None or not keys:
        return None
    start, end = max(first.isoformat(), keys[0]), min(last.isoformat(), keys[-1])  # ISO dates sort as dates
    return (start, end) if start <= end else None


daily_build = dg.ScheduleDefinition(job=build_all, cron_schedule="0 6 * * *", execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED)


def merchant_run_requests(instance: dg.DagsterInstance, run_key_prefix: str) -> list[dg.RunRequest]:
    """One run request per merchant partition, each tagged with its merchant."""
    return [dg.RunRequest(run_key=f"{run_key_prefix}-{m}", partition_key=m, tags=merchant_tags(m)) for m in instance.get_dynamic_partitions(MERCHANTS.name)]


@dg.schedule(job=merchant_ingest, cron_schedule="0 5 * * *", execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Every day at 05:00 UTC, an hour before `daily_build`: one `merchant_ingest` run per merchant, side by side.")
def daily_merchant_ingest(context: dg.ScheduleEvaluationContext):
    return merchant_run_requests(context.instance, f"ingest-{context.scheduled_execution_time:%Y%m%d}")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[build_all], request_job=merchant_results,
                      default_status=dg.DefaultSensorStatus.STOPPED, name="merchant_results_after_build",
                      description="When `build_all` succeeds: one `merchant_results` run per merchant, side by side, on the marts it built.")
def merchant_results_after_build(context: dg.RunStatusSensorContext):
    return merchant_run_requests(context.instance, f"results-{context.dagster_run.run_id[:8]}")


JOBS = [build_all, ad_spend, merchant_ingest, merchant_results]
SCHEDULES = [daily_build, daily_merchant_ingest]
SENSORS = [landed_spend_sensor, merchant_results_after_build]
