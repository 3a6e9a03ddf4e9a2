"""Response curves per channel and per campaign x channel, and the budget recommendation they give.

Thin Dagster shells over the budget context: `campaigns.budget.curves` fits the curves from
the marts (CAMPAIGNS_CURVE_MODEL picks the attribution model, default markov) and
`campaigns.budget.planning.plan_merchant` splits each merchant's current daily spend (the last
28 days' average) moving at most 30% per channel. Results are written as marts (for the app)
and as budget_allocations rows with plain-language recommendations (for people to apply).
Campaign curves feed `campaigns rebalance --campaign ID` and the Budget page's campaign section.
"""

import time
from datetime import date

import dagster as dg
import polars as pl

from assets.resources import CampaignsResource
from campaigns.budget import apply, curves, planning
from campaigns.core.store.db import session_scope

GROUP = "optimization"


@dg.asset(
    key=["response_curves"],
    group_name=GROUP,
    kinds={"python", "scipy"},
    deps=[dg.AssetKey(curves.SPEND_MART), dg.AssetKey("data_driven_attribution"), dg.AssetKey(curves.REVENUE_MART)],
    description=(
        "The best of exponential, hill and log curves (with adstock) of daily spend to attributed revenue: per merchant and "
        "channel (marts.response_curves) and per merchant, campaign and channel (marts.campaign_response_curves)."
    ),
)
def response_curves(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
    model = campaigns.settings().curve_model
    warehouse = campaigns.open_warehouse()
    started = time.perf_counter()
    by_channel = curves.fit_merchant_curves(warehouse.query, model)
    warehouse.replace_table("marts", curves.CURVES_MART, by_channel)
    channel_seconds = time.perf_counter() - started
    by_campaign = curves.fit_all_campaign_curves(warehouse.query, model)
    warehouse.replace_table("marts", curves.CAMPAIGN_CURVES_MART, by_campaign)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": by_channel.height, "campaign_curves": by_campaign.height, "attribution_model": model,
        "seconds": round(time.perf_counter() - started, 2), "channel_seconds": round(channel_seconds, 2),
        "preview": dg.MetadataValue.md(by_channel.select("channel", "family", "r2", "holdout_rmse").to_pandas().to_markdown(index=False)
                                       if by_channel.height else "no curve"),
    })


@dg.asset(
    key=["budget_allocation"],
    group_name=GROUP,
    kinds={"python", "cvxpy"},
    deps=[dg.AssetKey("response_curves")],
    description="Provably optimal daily budget per channel within ±30% of current spend, with plain-language moves written to the store.",
)
def budget_allocation(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
    warehouse = campaigns.open_warehouse()
    fitted = warehouse.query(f"select * from marts.{curves.CURVES_MART}")
    if fitted.height == 0:
        warehouse.replace_table("marts", "budget_recommendations", pl.DataFrame(schema={"merchant_id": pl.String, "channel": pl.String}))
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "note": "no fitted curve yet (needs 14 days of spend per channel)"})
    table, texts = planning.plan_merchant(fitted)
    warehouse.replace_table("marts", "budget_recommendations", table)
    with session_scope(campaigns.store_url()) as session:
        written = apply.write_recommendations(session, table, texts, date.today())
    for merchant, lines in texts.items():
        for line in lines:
            context.log.info(f"{merchant}: {line}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": table.height, "store_rows": written,
        "recommendations": dg.MetadataValue.md("\n".join(f"- **{m}**: {t}" for m, lines in texts.items() for t in lines) or "none"),
    })
