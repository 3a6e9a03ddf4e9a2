"""The one daily partitioning of the ingest assets (Dagster asks one job's assets to share it)."""

from datetime import date

import dagster as dg


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC")
