"""Assets that (re)build the raw tables from the landing zone and the store."""


import time

import dagster as dg

from assets.merchants import MERCHANTS, run_merchants
from assets.resources import CampaignsResource
from campaigns.audiences.events import email_events_frame
from campaigns.core.store.db import session_scope
from campaigns.email.stats import send_stats_frame
from campaigns.warehouse.ingest import load_campaigns_snapshot, load_landed_merchants, load_landed_table
from campaigns.warehouse.schema import AD_SPEND, CAMPAIGNS, EMAIL_EVENTS, LANDED_TABLES, LOADED_AT, RAW_SCHEMA, SOCIAL_POSTS, RawTable

GROUP = "ingest"
# the post metrics asset lands the fetched posts in the posting history: load them after it
LANDED_AFTER = {SOCIAL_POSTS.name: [dg.AssetKey([RAW_SCHEMA, "post_metrics"])]}


def _landed_asset(table: RawTable) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, table.name],
        group_name=GROUP,
        kinds={"python", "parquet"},
        deps=LANDED_AFTER.get(table.name, []),
        partitions_def=MERCHANTS,
        description=f"raw.{table.name} from validated landing files (newest row per {', '.join(table.key)} wins), per merchant: "
                    "a merchant's partition replaces its rows; a run over every merchant rebuilds the table.",
    )
    def _asset(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        merchants = run_merchants(context)
        if merchants.every:
            rows, files = load_landed_table(campaigns.settings(), campaigns.open_warehouse(), table)
        else:
            rows, files = load_landed_merchants(campaigns.settings(), campaigns.open_warehouse(), table, merchants.ids)
        if files == 0:
            context.log.warning(f"no landing files for {table.name} ({'every merchant' if merchants.every else ', '.join(merchants.ids)}); "
                                "their rows are empty (run `campaigns import` or `campaigns demo-data`)")
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "landing_files": files, "merchants": len(merchants.ids), "whole_table": merchants.every,
                      "seconds": round(time.perf_counter() - started, 3)}
        )

    return _asset


@dg.asset(
    key=[RAW_SCHEMA, CAMPAIGNS.name],
    group_name=GROUP,
    kinds={"python", "sqlalchemy"},
    description="Snapshot of the operational store's campaigns, for names, types and budgets in the marts.",
)
def raw_campaigns(campaigns: CampaignsResource) -> dg.MaterializeResult:
    rows = load_campaigns_snapshot(campaigns.settings(), campaigns.open_warehouse())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


def raw_assets() -> list[dg.AssetsDefinition]:
    # ad spend is partitioned by day: assets/ingest/ad_spend.py
    return [*(_landed_asset(t) for t in LANDED_TABLES if t is not AD_SPEND), raw_campaigns, raw_email_send_stats, raw_email_events]


@dg.asset_check(asset=dg.AssetKey([RAW_SCHEMA, "touchpoints"]), description="Touchpoints exist once any conversion exists.")
def touchpoints_present(campaigns: CampaignsResource) -> dg.AssetCheckResult:
    warehouse = campaigns.open_warehouse()
    touches, conversions = warehouse.count(RAW_SCHEMA, "touchpoints"), warehouse.count(RAW_SCHEMA, "conversions")
    return dg.AssetCheckResult(
        passed=touches > 0 or conversions == 0,
        metadata={"touchpoints": touches, "conversions": conversions},
        description=None if touches or not conversions else "conversions without any touchpoint: every journey will be `direct`",
    )


@dg.asset(
    key=[RAW_SCHEMA, "email_send_stats"],
    group_name=GROUP,
    kinds={"python", "sqlalchemy"},
    description="Email delivery outcomes per merchant, email campaign and UTC day (sent, failed, suppressed, needs review), from the store.",
)
def raw_email_send_stats(campaigns: CampaignsResource) -> dg.MaterializeResult:
    from datetime import UTC, datetime

    import polars as pl


    frame = send_stats_frame(campaigns.store_url()).with_columns(pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias("_loaded_at"))
    rows = campaigns.open_warehouse().replace_table(RAW_SCHEMA, "email_send_stats", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(
    key=[RAW_SCHEMA, EMAIL_EVENTS.name],
    group_name=GROUP,
    kinds={"python", "sqlalchemy"},
    description="Email sends, opens, clicks and email-led purchases of every merchant, from the store's contact events "
                "(tracking, provider webhooks, imports and the demo writer all record them there).",
)
def raw_email_events(campaigns: CampaignsResource) -> dg.MaterializeResult:
    from datetime import UTC, datetime

    import polars as pl

    with session_scope(campaigns.store_url()) as session:
        frame = email_events_frame(session)
    frame = frame.with_columns(pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT))
    rows = campaigns.open_warehouse().replace_table(RAW_SCHEMA, EMAIL_EVENTS.name, frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "merchants": frame["merchant_id"].n_unique()})
