"""Every asset, asset check and asset sensor of the code location, built when called (never at import)."""

from dataclasses import dataclass

import dagster as dg

from assets.analytics.dbt_models import dbt_model_assets, mart_keys
from assets.attribution import attribution_assets, attribution_checks
from assets.content.repurposing import new_blog_posts_sensor, repurposed_drafts
from assets.ingest.ad_spend import ad_spend_asset
from assets.ingest.freshness import freshness_checks, freshness_sensor
from assets.ingest.ga4 import ga4_sessions_asset
from assets.ingest.post_metrics import post_metrics_asset
from assets.ingest.raw_tables import raw_assets, touchpoints_present
from assets.merchants import merchant_partitions_sensor
from assets.optimization.budget import budget_allocation, response_curves
from assets.results.campaign_metrics import campaign_metrics
from assets.serving.snapshots import serving_asset
from campaigns.core.settings import Settings


@dataclass(frozen=True)
class Catalog:
    assets: list
    checks: list
    sensors: list[dg.SensorDefinition]


def asset_catalog() -> Catalog:
    """Parses the dbt manifest when it is stale: call it from the Definitions function, not at import."""
    dbt_models = dbt_model_assets()
    attribution = attribution_assets()
    optimization = [response_curves, budget_allocation]
    freshness = freshness_checks()
    start = Settings().ingest_start_date
    served = [*mart_keys(dbt_models), *(a.key for a in attribution), *(a.key for a in optimization)]
    return Catalog(
        assets=[*raw_assets(), ad_spend_asset(start), ga4_sessions_asset(start), post_metrics_asset(start), dbt_models, *attribution,
                *optimization, repurposed_drafts, campaign_metrics, serving_asset(served)],
        checks=[touchpoints_present, *attribution_checks(), *freshness],
        sensors=[new_blog_posts_sensor, freshness_sensor(freshness), merchant_partitions_sensor],
    )
