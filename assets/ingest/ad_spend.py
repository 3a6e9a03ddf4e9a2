"""Ad spend from `campaigns import spend`, one daily partition per spend date.

A partition (or a range of them, in one run) replaces exactly its days' rows for every
merchant in one transaction, from the landing files (the newest import of a key wins), so
re-importing and re-materializing never duplicates and a backfill over any range works.
`campaigns build` materializes, in one run, the range from the first to the last date that is
landed or already loaded (pipelines/build.py).
"""

import time
from datetime import date, timedelta

import dagster as dg

from assets.ingest.partitions import daily_partitions
from assets.resources import CampaignsResource
from campaigns.warehouse.ingest import landed_outside, load_landed_days
from campaigns.warehouse.schema import AD_SPEND, RAW_SCHEMA

# Read by pipelines/build.py: "<raw table>.<date column>" whose landed dates set the build's range.
LANDED_RANGE = "campaigns/landed_range"


def ad_spend_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    # Today is a partition too: spend is imported for the current day.
    return daily_partitions(start_date, end_offset=1)


def ad_spend_asset(start_date: date) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, AD_SPEND.name],
        group_name="ingest",
        kinds={"python", "parquet"},
        partitions_def=ad_spend_partitions(start_date),
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={LANDED_RANGE: f"{AD_SPEND.name}.date"},
        description="Spend, impressions and clicks per merchant, campaign, channel and day from the import landing zone; a partition replaces its day.",
    )
    def ad_spend(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        window = context.partition_time_window
        first, end = window.start.date(), window.end.date()
        settings = campaigns.settings()
        rows = load_landed_days(settings, campaigns.open_warehouse(), AD_SPEND, first, end)
        days = (end - first).days
        if rows == 0:
            context.log.info(f"no spend landed for {first}..{end - timedelta(days=1)}; those days are empty")
        keys = context.assets_def.partitions_def.get_partition_keys()
        outside = landed_outside(settings, AD_SPEND, date.fromisoformat(keys[0]), date.fromisoformat(keys[-1]) + timedelta(days=1))
        if outside:
            context.log.warning(
                f"{outside} landed spend rows are dated outside the partitions {keys[0]}..{keys[-1]} and are not loaded; "
                "set CAMPAIGNS_INGEST_START_DATE earlier for older spend (future dates load once their day comes)"
            )
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "days": days, "landed_outside_partitions": outside, "first_day": first.isoformat(),
                      "last_day": (end - timedelta(days=1)).isoformat(), "seconds": round(time.perf_counter() - started, 3)}
        )

    return ad_spend
