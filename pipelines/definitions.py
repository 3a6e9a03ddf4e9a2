"""The Dagster code location. Built lazily: nothing parses or connects at import time."""

import dagster as dg

from assets.analytics.dbt_models import dbt_model_assets, mart_keys
from assets.attribution import attribution_assets, attribution_checks
from assets.ingest.ga4 import ga4_sessions_asset
from assets.ingest.raw_tables import raw_assets, touchpoints_present
from assets.serving.snapshots import serving_asset
from campaigns.settings import Settings
from pipelines.jobs import jobs, schedules
from pipelines.publishing import due_posts_sensor, publish_due_job
from pipelines.resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    dbt_models = dbt_model_assets()
    attribution = attribution_assets()
    served = [*mart_keys(dbt_models), *(a.key for a in attribution)]
    return dg.Definitions(
        assets=[*raw_assets(), ga4_sessions_asset(Settings().ga4_start_date), dbt_models, *attribution, serving_asset(served)],
        asset_checks=[touchpoints_present, *attribution_checks()],
        jobs=[*jobs(), publish_due_job],
        schedules=schedules(),
        sensors=[due_posts_sensor],
        resources=build_resources(),
        executor=dg.in_process_executor,  # DuckDB allows one writer: steps run one after another
    )
