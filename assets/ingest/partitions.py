"""The daily partitioning of the ingest assets."""

from datetime import date

import dagster as dg


def daily_partitions(start: date, end_offset: int = 0) -> dg.DailyPartitionsDefinition:
    # end_offset=1 adds today's (still open) day: imported spend is dated up to today.
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=end_offset)


# Dagster's documented run tags for a single-run backfill of a partition range (one run, many days).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
