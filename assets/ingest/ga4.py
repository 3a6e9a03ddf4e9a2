"""GA4 sessions, conversions and revenue by day, source, medium and campaign (daily partitions)."""

import time
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl

from assets.ingest.partitions import daily_partitions
from assets.resources import CampaignsResource
from campaigns.core.settings import Settings
from campaigns.warehouse.ga4 import fetch_day, ga4_client
from campaigns.warehouse.schema import GA4_SESSIONS, LOADED_AT, RAW_SCHEMA


def _credentials(settings: Settings):
    if settings.ga4_credentials_file == "anonymous":
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    if settings.ga4_credentials_file:
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_file(
            settings.ga4_credentials_file, scopes=["https://www.googleapis.com/auth/analytics.readonly"]
        )
    return None  # Google's application-default credentials


def _stamped(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT))


def ga4_sessions_asset(start_date: date) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, GA4_SESSIONS.name],
        group_name="ingest",
        kinds={"python", "googleanalytics"},
        partitions_def=daily_partitions(start_date),
        backfill_policy=dg.BackfillPolicy.single_run(),
        description="GA4 RunReport per day: sessions, key events and revenue by sessionSource, sessionMedium, sessionCampaignName.",
    )
    def ga4_sessions(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
        settings = campaigns.settings()
        warehouse = campaigns.open_warehouse()
        window = context.partition_time_window
        days = [window.start.date() + timedelta(days=i) for i in range((window.end - window.start).days)]
        merchant = settings.default_merchant
        if not settings.ga4_property_id:
            # Keep the table (and the staging model on top) in place, empty for these days.
            warehouse.replace_between(RAW_SCHEMA, GA4_SESSIONS.name, _stamped(pl.DataFrame(schema=GA4_SESSIONS.polars_schema)), "date",
                                      days[0], days[-1] + timedelta(days=1), match={"merchant_id": merchant})
            context.log.info("GA4 is not configured (CAMPAIGNS_GA4_PROPERTY_ID unset); nothing fetched")
            return dg.MaterializeResult(metadata={"configured": False, "days": len(days), "dagster/row_count": 0})
        client = ga4_client(settings.ga4_endpoint, _credentials(settings))
        started = time.perf_counter()
        frames = [fetch_day(client, settings.ga4_property_id, day, settings.ga4_conversion_metric, merchant) for day in days]
        # every day fetched first, then one replacement (one transaction; on Spark one table swap, not one per day)
        rows = warehouse.replace_between(RAW_SCHEMA, GA4_SESSIONS.name, _stamped(pl.concat(frames, how="vertical_relaxed")), "date",
                                         days[0], days[-1] + timedelta(days=1), match={"merchant_id": merchant})
        return dg.MaterializeResult(
            metadata={"configured": True, "days": len(days), "dagster/row_count": rows, "seconds": round(time.perf_counter() - started, 3)}
        )

    return ga4_sessions
