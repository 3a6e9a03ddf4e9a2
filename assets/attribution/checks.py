"""Asset checks: every attribution model hands out exactly the conversions and revenue that
happened (per merchant, relative tolerance 1e-6), and writes rows when conversions exist."""

import dagster as dg
import polars as pl

from assets.attribution import compute
from assets.merchants import RunMerchants, run_merchants
from assets.attribution.assets import DATA_DRIVEN_KEY, MARKOV_KEY, MARTS, SHAPLEY_KEY, channels_table, credits_table
from campaigns.warehouse.connection import Warehouse
from assets.resources import CampaignsResource

RELATIVE_TOLERANCE = 1e-6
FCT_ATTRIBUTION_KEY = dg.AssetKey(["fct_attribution"])

TOTALS_SQL = "select merchant_id, count(*) as conversions, sum(revenue) as revenue from staging.stg_conversions{where} group by merchant_id"
EVERY_MERCHANT = RunMerchants([], every=True)


def _totals(warehouse: Warehouse, merchants: RunMerchants) -> pl.DataFrame:
    where, params = merchants.sql_filter()
    return compute.conform(warehouse.query(TOTALS_SQL.format(where=where), params), compute.TOTALS_SCHEMA)


def conservation_result(warehouse: Warehouse, tables: dict[str, tuple[str, str, list[str]]], merchants: RunMerchants = EVERY_MERCHANT) -> dg.AssetCheckResult:
    """Check `tables` (name -> (conversions column, revenue column, expected models)) in schema marts, for `merchants`.

    A merchant-partitioned asset's check covers the merchants of its run: another merchant's
    rows may come from an older build and are checked by that merchant's run.
    """
    totals = _totals(warehouse, merchants)
    where, params = merchants.sql_filter()
    failures: list[pl.DataFrame] = []
    rows: dict[str, int] = {}
    for table, (conversions_column, revenue_column, models) in tables.items():
        attributed = compute.conform(
            warehouse.query(
                f"select model, merchant_id, sum({conversions_column}) as conversions, sum({revenue_column}) as revenue, count(*) as n "
                f"from {MARTS}.{table}{where} group by model, merchant_id", params
            ),
            {"model": pl.String(), "merchant_id": pl.String(), "conversions": pl.Float64(), "revenue": pl.Float64(), "n": pl.Int64()},
        )
        rows[table] = int(attributed["n"].sum())
        failed = compute.conservation_failures(attributed, totals, models, relative_tolerance=RELATIVE_TOLERANCE)
        failures.append(failed.select(pl.lit(table).alias("table"), pl.all()))
    failed = pl.concat(failures, how="vertical_relaxed")
    expected_conversions = int(totals["conversions"].sum())
    empty_tables = [t for t, n in rows.items() if n == 0 and expected_conversions > 0]
    passed = failed.height == 0 and not empty_tables
    if passed:
        description = None
    elif empty_tables:
        description = f"no rows in {', '.join(empty_tables)} although {expected_conversions} conversion(s) exist"
    else:
        first = failed.row(0, named=True)
        description = (
            f"{failed.height} model × merchant total(s) off, e.g. {first['table']} {first['model']} for {first['merchant_id']}: "
            f"{first['attributed_conversions']:.6f} of {first['expected_conversions']:.0f} conversions, "
            f"{first['attributed_revenue']:.2f} of {first['expected_revenue']:.2f} revenue"
        )
    return dg.AssetCheckResult(
        passed=passed,
        description=description,
        metadata={
            "conversions": expected_conversions,
            "revenue": float(totals["revenue"].sum()),
            "rows": dg.MetadataValue.json(rows),
            "failures": failed.height,
            "failed": dg.MetadataValue.md(compute.markdown_table(failed)) if failed.height else "",
        },
    )


@dg.asset_check(
    asset=FCT_ATTRIBUTION_KEY,
    name="conserves_conversions_and_revenue",
    description="Each rule-based model attributes each merchant's conversions and revenue in full (relative tolerance 1e-6).",
)
def fct_attribution_conserves(campaigns: CampaignsResource) -> dg.AssetCheckResult:
    return conservation_result(
        campaigns.open_warehouse(), {"fct_attribution": ("credit", "attributed_revenue", list(compute.RULE_MODELS))}
    )


def _model_check(key: dg.AssetKey, model: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name="conserves_conversions_and_revenue",
        description=f"The {model} channel split and per-conversion credits attribute each merchant's conversions and revenue in full.",
    )
    def _check(context: dg.AssetCheckExecutionContext, campaigns: CampaignsResource) -> dg.AssetCheckResult:
        return conservation_result(
            campaigns.open_warehouse(),
            {
                channels_table(model): ("conversions", "revenue", [model]),
                credits_table(model): ("credit", "attributed_revenue", [model]),
            },
            run_merchants(context.op_execution_context),
        )

    return _check


@dg.asset_check(
    asset=DATA_DRIVEN_KEY,
    name="conserves_conversions_and_revenue",
    description="The data-driven marts attribute each merchant's conversions and revenue in full, per model.",
)
def data_driven_conserves(context: dg.AssetCheckExecutionContext, campaigns: CampaignsResource) -> dg.AssetCheckResult:
    models = list(compute.DATA_DRIVEN_MODELS)
    return conservation_result(
        campaigns.open_warehouse(),
        {
            "fct_attribution_data_driven": ("credit", "attributed_revenue", models),
            "attribution_by_channel_data_driven": ("conversions", "revenue", models),
            "attribution_by_campaign_data_driven": ("conversions", "revenue", models),
            "roi_by_model_data_driven": ("conversions", "revenue", models),
        },
        run_merchants(context.op_execution_context),
    )


def checks() -> list[dg.AssetChecksDefinition]:
    return [fct_attribution_conserves, _model_check(MARKOV_KEY, "markov"), _model_check(SHAPLEY_KEY, "shapley"), data_driven_conserves]
