"""`campaign_metrics`: each campaign's daily results per channel, from the marts into the store."""

import time

import dagster as dg

from assets.merchants import MERCHANTS, run_merchants
from assets.resources import CampaignsResource
from campaigns.budget.apply import record_spent
from campaigns.core.store.db import session_scope
from campaigns.lifecycle import results
from campaigns.social.scheduling import campaigns_of_posts

PERFORMANCE, EMAIL, SOCIAL = "campaign_performance_daily", "email_engagement_daily", "social_post_performance"


@dg.asset(
    key=["campaign_metrics"],
    group_name="results",
    kinds={"python", "sqlalchemy"},
    partitions_def=MERCHANTS,
    deps=[dg.AssetKey(PERFORMANCE), dg.AssetKey(EMAIL), dg.AssetKey(SOCIAL)],
    description=(
        "Each campaign's results per channel and day, written to the store's campaign_metrics (the days covered are replaced, "
        "so a rerun changes nothing): spend, delivery, conversions, revenue, ROAS and CPA under the performance attribution "
        "model; email sends, opens and clicks; the engagements of the campaign's published posts. Each campaign's spent and its "
        "allocations' spent follow. The campaign page and Ava's monitoring read it. Partitioned by merchant: a run writes its merchants' results."
    ),
)
def campaign_metrics(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    warehouse = campaigns.open_warehouse()
    where, params = run_merchants(context).sql_filter()
    performance = warehouse.query(f"select * from marts.{PERFORMANCE}{where}", params)
    email = warehouse.query(f"select * from marts.{EMAIL}{where}", params)
    social = warehouse.query(f"select * from marts.{SOCIAL}{where}", params)
    merchants = sorted({*performance["merchant_id"].to_list(), *email["merchant_id"].to_list(), *social["merchant_id"].to_list()})
    model = performance["attribution_model"][0] if performance.height else "linear"
    with session_scope(campaigns.store_url()) as session:
        frame = results.daily_results(performance, email, social, campaigns_of_posts(session, merchants))
        written = results.replace_results(session, frame, model)
        allocations = 0
        for merchant_id in merchants:  # the plan-vs-actual view: what each campaign and channel really spent
            for campaign_id, by_channel in results.spend_to_date(session, merchant_id).items():
                allocations += record_spent(session, merchant_id, campaign_id, by_channel)
    skipped = frame.height - written
    if skipped:
        context.log.warning(f"{skipped} row(s) name campaigns the store does not know; they are left out")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": written, "campaigns": frame["campaign_id"].n_unique() if frame.height else 0, "attribution_model": model,
        "unknown_campaign_rows": skipped, "allocations_updated": allocations, "seconds": round(time.perf_counter() - started, 2),
    })
