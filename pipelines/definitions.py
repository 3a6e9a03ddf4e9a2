"""The Dagster code location. Built lazily: nothing parses or connects at import time."""

import dagster as dg

from assets.analytics.dbt_models import dbt_model_assets, mart_keys
from assets.ingest.ga4 import ga4_sessions_asset
from assets.ingest.raw_tables import raw_assets, touchpoints_present
from campaigns.settings import Settings
from assets.serving.snapshots import serving_asset
from pipelines.jobs import jobs, schedules
from pipelines.resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    dbt_models = dbt_model_assets()
    return dg.Definitions(
        assets=[*raw_assets(), ga4_sessions_asset(Settings().ga4_start_date), dbt_models, serving_asset(mart_keys(dbt_models))],
        asset_checks=[touchpoints_present],
        jobs=jobs(),
        schedules=schedules(),
        resources=build_resources(),
        executor=dg.in_process_executor,  # DuckDB allows one writer: steps run one after another
    )
