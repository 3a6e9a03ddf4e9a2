"""Jobs and schedules.

Dagster runs one partitioning per job: ad spend's days (which include today, since spend is
imported for the current day) differ from GA4's and post metrics' (up to yesterday), so ad
spend has its own job, which a sensor runs after each spend import. `campaigns build` uses
Dagster's implicit asset job and runs everything.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.ingest.ad_spend import ad_spend_partitions
from assets.ingest.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from assets.resources import CampaignsResource
from campaigns.warehouse.landing import landing_files
from campaigns.warehouse.schema import AD_SPEND
from pipelines.instance import BUILD_MAX_RUNTIME, WAREHOUSE_POOL, pool_tags

AD_SPEND_KEY = dg.AssetKey(["raw", "ad_spend"])

build_all = dg.define_asset_job(
    "build_all",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(AD_SPEND_KEY),
    description="Ingest, dbt, analytics and serving: everything the app shows (ad spend days: the `ad_spend` job).",
    tags=pool_tags(WAREHOUSE_POOL, BUILD_MAX_RUNTIME),
)

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


JOBS = [build_all, ad_spend]
SCHEDULES = [daily_build]
