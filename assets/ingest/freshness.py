"""Freshness of the raw data: a warning when an ingest asset has not been refreshed for a day."""

from datetime import timedelta

import dagster as dg

from campaigns.warehouse.schema import EMAIL_EVENTS, LANDED_TABLES, RAW_SCHEMA

RAW_KEYS = [dg.AssetKey([RAW_SCHEMA, table.name]) for table in (*LANDED_TABLES, EMAIL_EVENTS)]


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    # 26 h: a daily ingest that runs a little late still passes; a missed day warns.
    return list(dg.build_last_update_freshness_checks(assets=RAW_KEYS, lower_bound_delta=timedelta(hours=26)))


def freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    return dg.build_sensor_for_freshness_checks(freshness_checks=checks, name="raw_freshness_sensor")
