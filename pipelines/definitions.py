"""The Dagster code location. Built lazily: nothing parses or connects at import time."""

import dagster as dg

from assets.analytics.dbt_models import dbt_model_assets, mart_keys
from assets.attribution import attribution_assets, attribution_checks
from assets.content.repurposing import new_blog_posts_sensor, repurposed_drafts
from assets.ingest.ad_spend import ad_spend_asset
from assets.ingest.freshness import freshness_checks, freshness_sensor
from assets.ingest.ga4 import ga4_sessions_asset
from assets.ingest.post_metrics import post_metrics_asset
from assets.ingest.raw_tables import raw_assets, touchpoints_present
from assets.optimization.budget import budget_allocation, response_curves
from assets.serving.snapshots import serving_asset
from campaigns.core.settings import Settings
from pipelines.automations import automations_job, automations_sensor
from pipelines.email_ab import email_ab_job, email_ab_sensor
from pipelines.email_sends import scheduled_emails_job, scheduled_emails_sensor
from pipelines.jobs import jobs, landed_spend_sensor, schedules
from pipelines.publishing import due_posts_sensor, publish_due_job
from pipelines.resources import build_resources
from pipelines.workflows import workflow_job, workflow_sensor


@dg.definitions
def defs() -> dg.Definitions:
    dbt_models = dbt_model_assets()
    attribution = attribution_assets()
    optimization = [response_curves, budget_allocation]
    freshness = freshness_checks()
    start = Settings().ingest_start_date
    served = [*mart_keys(dbt_models), *(a.key for a in attribution), *(a.key for a in optimization)]
    return dg.Definitions(
        assets=[
            *raw_assets(), ad_spend_asset(start), ga4_sessions_asset(start), post_metrics_asset(start), dbt_models, *attribution, *optimization,
            repurposed_drafts, serving_asset(served),
        ],
        asset_checks=[touchpoints_present, *attribution_checks(), *freshness],
        jobs=[*jobs(), publish_due_job, workflow_job, automations_job, email_ab_job, scheduled_emails_job],
        schedules=schedules(),
        sensors=[due_posts_sensor, workflow_sensor, new_blog_posts_sensor, freshness_sensor(freshness), automations_sensor, email_ab_sensor,
                 scheduled_emails_sensor, landed_spend_sensor],
        resources=build_resources(),
        executor=dg.in_process_executor,  # DuckDB allows one writer: steps run one after another
    )
