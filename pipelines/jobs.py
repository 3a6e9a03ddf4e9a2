"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

build_all = dg.define_asset_job(
    "build_all",
    selection=dg.AssetSelection.all(),
    description="Ingest, dbt, analytics and serving: everything the app shows.",
)

daily_build = dg.ScheduleDefinition(job=build_all, cron_schedule="0 6 * * *", execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED)


def jobs() -> list:
    return [build_all]


def schedules() -> list:
    return [daily_build]
