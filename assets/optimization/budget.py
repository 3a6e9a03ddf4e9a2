"""Response curves per channel and per campaign x channel, and the budget rebalance they recommend.

Curves are fitted per merchant and channel, and per merchant, campaign and channel, on daily
spend against the daily revenue the chosen attribution model (CAMPAIGNS_CURVE_MODEL, default
markov) gives it. Each fit keeps its quality (R^2, holdout RMSE), the observed spend range and
residual-bootstrap refits (for the uncertainty band and the predicted-revenue range). The
allocation keeps the last 28 days' average daily spend as the budget, moves at most 30% per
channel per rebalance, and is written as marts (for the app) and as budget_allocations rows
with plain-language recommendations (for people to apply). Campaign curves feed
`campaigns rebalance --campaign ID` and the Budget page's campaign section.
"""

import json
import time
from datetime import date, timedelta

import dagster as dg
import polars as pl

from pipelines.resources import CampaignsResource

GROUP = "optimization"
WINDOW_DAYS = 28
PERIOD_DAYS = 30  # recommendations are stated per 30 days, as budgets are planned
MAX_CHANGE = 0.3
MIN_DAYS = 14
BOOTSTRAP_SAMPLES = 20  # residual-bootstrap refits per curve; the 5-95% band needs no more at demo scale
CAMPAIGN_BOOTSTRAP_SAMPLES = 10  # ~40 campaign curves at demo scale: keeps the asset within a few seconds
CAMPAIGN_MAX_STARTS = 4  # short campaign series: a spread subset of the start grid, same holdout error, ~3x faster
CHANNEL_KEYS = ("merchant_id", "channel")
CAMPAIGN_KEYS = ("merchant_id", "campaign_id", "channel")

SPEND_SQL = "select merchant_id, channel, spend_date as day, sum(spend) as spend from staging.stg_ad_spend group by 1, 2, 3"
# revenue per day by the chosen model, rule-based or data-driven, from the dbt mart over every model
REVENUE_SQL = (
    "select merchant_id, channel, conversion_date as day, sum(revenue) as revenue "
    "from marts.attribution_daily_all_models where model = {p} group by 1, 2, 3"
)
# campaign x channel: spend without a campaign cannot be attributed to one, so it is left out
CAMPAIGN_SPEND_SQL = (
    "select merchant_id, campaign_id, channel, spend_date as day, sum(spend) as spend from staging.stg_ad_spend "
    "where campaign_id is not null{where} group by 1, 2, 3, 4"
)
CAMPAIGN_REVENUE_SQL = (
    "select merchant_id, campaign_id, channel, conversion_date as day, sum(revenue) as revenue "
    "from marts.attribution_daily_all_models where model = {p} and campaign_id is not null{where} group by 1, 2, 3, 4"
)


def campaign_series_sql(p: str, model: str, campaign_filter: bool) -> tuple[str, str]:
    """(spend SQL, revenue SQL) per campaign x channel x day; with `campaign_filter` both take (merchant_id, campaign_id) params."""
    where = f" and merchant_id = {p} and campaign_id = {p}" if campaign_filter else ""
    return CAMPAIGN_SPEND_SQL.format(where=where), CAMPAIGN_REVENUE_SQL.format(p=p, where=where)


def daily_series(spend: pl.DataFrame, revenue: pl.DataFrame, keys: tuple[str, ...] = CHANNEL_KEYS) -> pl.DataFrame:
    """One row per key (merchant, [campaign,] channel) and day between its first and last spend day."""
    keys = list(keys)
    spend = spend.with_columns(pl.col("day").cast(pl.Date), pl.col("spend").cast(pl.Float64))
    revenue = revenue.with_columns(pl.col("day").cast(pl.Date), pl.col("revenue").cast(pl.Float64))
    spans = spend.group_by(keys).agg(pl.col("day").min().alias("first"), pl.col("day").max().alias("last"))
    days = spans.with_columns(pl.date_ranges("first", "last").alias("day")).explode("day").select(*keys, "day")
    return (
        days.join(spend, on=[*keys, "day"], how="left")
        .join(revenue, on=[*keys, "day"], how="left")
        .with_columns(pl.col("spend").fill_null(0.0), pl.col("revenue").fill_null(0.0))
        .sort(*keys, "day")
    )


def fit_series(series: pl.DataFrame, keys: tuple[str, ...] = CHANNEL_KEYS, *, max_starts: int | None = None,
               bootstrap: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> pl.DataFrame:
    """Best curve per key: family, parameters (JSON), adstock, R^2, holdout RMSE, observed range, bootstrap refits (JSON)."""
    from optimizers.fitting import FittingError, fit_best

    keys = list(keys)
    rows = []
    for values, group in series.group_by(keys, maintain_order=True):
        if group.height < MIN_DAYS or group["spend"].max() <= 0:
            continue
        try:
            fit = fit_best(group["spend"].to_numpy(), group["revenue"].to_numpy(), max_starts=max_starts)
            samples = [s.root.model_dump(exclude={"family"}) for s in fit.bootstrap(bootstrap, seed=seed)] if bootstrap else []
        except FittingError:
            continue
        recent = group.tail(WINDOW_DAYS)
        rows.append({
            **dict(zip(keys, values)), "family": fit.family, "params": json.dumps(fit.params), "adstock_decay": fit.decay,
            "r2": fit.r2, "holdout_rmse": fit.holdout_rmse, "observed_min": fit.spend_range[0], "observed_max": fit.spend_range[1],
            "days": fit.n_obs, "current_daily_spend": float(recent["spend"].mean()), "recent_daily_revenue": float(recent["revenue"].mean()),
            "bootstrap": json.dumps(samples),
        })
    return pl.DataFrame(rows) if rows else pl.DataFrame(schema={k: pl.String for k in keys})


def fit_channels(series: pl.DataFrame) -> pl.DataFrame:
    return fit_series(series, CHANNEL_KEYS)


def fit_campaign_channels(series: pl.DataFrame) -> pl.DataFrame:
    return fit_series(series, CAMPAIGN_KEYS, max_starts=CAMPAIGN_MAX_STARTS, bootstrap=CAMPAIGN_BOOTSTRAP_SAMPLES)


@dg.asset(
    key=["response_curves"],
    group_name=GROUP,
    kinds={"python", "scipy"},
    deps=[dg.AssetKey("stg_ad_spend"), dg.AssetKey("data_driven_attribution"), dg.AssetKey("attribution_daily_all_models")],
    description=(
        "The best of exponential, hill and log curves (with adstock) of daily spend to attributed revenue: per merchant and "
        "channel (marts.response_curves) and per merchant, campaign and channel (marts.campaign_response_curves)."
    ),
)
def response_curves(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
    settings = campaigns.settings()
    warehouse = campaigns.open_warehouse()
    p = "?"  # the warehouse's one placeholder style
    model = settings.curve_model
    sql = REVENUE_SQL.format(p=p)
    started = time.perf_counter()
    curves = fit_channels(daily_series(warehouse.query(SPEND_SQL), warehouse.query(sql, [model])))
    curves = curves.with_columns(pl.lit(model).alias("attribution_model")) if curves.height else curves
    warehouse.replace_table("marts", "response_curves", curves)
    channel_seconds = time.perf_counter() - started
    spend_sql, revenue_sql = campaign_series_sql(p, model, campaign_filter=False)
    by_campaign = fit_campaign_channels(daily_series(warehouse.query(spend_sql), warehouse.query(revenue_sql, [model]), CAMPAIGN_KEYS))
    by_campaign = by_campaign.with_columns(pl.lit(model).alias("attribution_model")) if by_campaign.height else by_campaign
    warehouse.replace_table("marts", "campaign_response_curves", by_campaign)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": curves.height, "campaign_curves": by_campaign.height, "attribution_model": model,
        "seconds": round(time.perf_counter() - started, 2), "channel_seconds": round(channel_seconds, 2),
        "preview": dg.MetadataValue.md(curves.select("channel", "family", "r2", "holdout_rmse").to_pandas().to_markdown(index=False) if curves.height else "no curve"),
    })


def recommend(curves: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Optimal daily allocation per merchant from its channels' curves."""
    from optimizers.allocation import optimize
    from optimizers.errors import AllocationError
    from optimizers.recommendations import moves_for_result

    rows, texts = [], {}
    for (merchant,), group in curves.group_by(["merchant_id"], maintain_order=True):
        channels = [
            {"name": r["channel"], "curve": {"family": r["family"], **json.loads(r["params"])}, "current_spend": r["current_daily_spend"],
             "observed_min": r["observed_min"], "observed_max": r["observed_max"]}
            for r in group.iter_rows(named=True)
        ]
        problem = {"budget": float(sum(c["current_spend"] for c in channels)), "budget_mode": "exact", "objective": "revenue",
                   "max_change": MAX_CHANGE, "max_change_basis": "current", "channels": channels}
        try:
            result = optimize(problem)
        except AllocationError as exc:
            texts[merchant] = [f"no recommendation: {exc}"]
            continue
        texts[merchant] = [m.text.replace(" expected revenue", " expected revenue per day") for m in moves_for_result(problem, result)]
        for c in channels:
            name = c["name"]
            rows.append({
                "merchant_id": merchant, "channel": name, "current_daily_spend": c["current_spend"], "recommended_daily_spend": result.allocation[name],
                "marginal_roas": result.marginal_roas[name], "predicted_daily_revenue": result.predicted_revenue, "current_daily_revenue": result.current_revenue,
                "budget_shadow_price": result.budget_shadow_price, "gap": result.gap, "status": result.status,
                "outside_observed_range": name in (result.outside_observed_range or {}),
            })
    return pl.DataFrame(rows), texts


@dg.asset(
    key=["budget_allocation"],
    group_name=GROUP,
    kinds={"python", "cvxpy"},
    deps=[dg.AssetKey("response_curves")],
    description="Provably optimal daily budget per channel within ±30% of current spend, with plain-language moves written to the store.",
)
def budget_allocation(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:
    from campaigns.core.store.db import migrate, session_scope

    settings = campaigns.settings()
    warehouse = campaigns.open_warehouse()
    curves = warehouse.query("select * from marts.response_curves")
    if curves.height == 0:
        warehouse.replace_table("marts", "budget_recommendations", pl.DataFrame(schema={"merchant_id": pl.String, "channel": pl.String}))
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "note": "no fitted curve yet (needs 14 days of spend per channel)"})
    table, texts = recommend(curves)
    warehouse.replace_table("marts", "budget_recommendations", table)
    migrate(settings.store_url)
    with session_scope(settings.store_url) as session:
        written = write_allocations(session, table, texts, date.today())
    for merchant, lines in texts.items():
        for line in lines:
            context.log.info(f"{merchant}: {line}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": table.height, "store_rows": written,
        "recommendations": dg.MetadataValue.md("\n".join(f"- **{m}**: {t}" for m, lines in texts.items() for t in lines) or "none"),
    })


def write_allocations(session, table: pl.DataFrame, texts: dict[str, list[str]], today: date) -> int:
    """Replace this period's recommendation rows (campaign-less, per channel) in budget_allocations."""
    from decimal import Decimal

    from sqlalchemy import delete

    from campaigns.core.audit import record
    from campaigns.core.store.models import BudgetAllocation, Merchant

    start = today - timedelta(days=WINDOW_DAYS)
    known = {m.id for m in session.query(Merchant).all()}
    written = 0
    for (merchant,), group in table.group_by(["merchant_id"], maintain_order=True):
        if merchant not in known:
            continue
        session.execute(delete(BudgetAllocation).where(BudgetAllocation.merchant_id == merchant, BudgetAllocation.campaign_id.is_(None),
                                                       BudgetAllocation.period_end == today))
        summary = "; ".join(texts.get(merchant, []))
        for r in group.iter_rows(named=True):
            current = r["current_daily_spend"] * PERIOD_DAYS
            session.add(BudgetAllocation(
                merchant_id=merchant, campaign_id=None, channel=r["channel"], allocated=Decimal(f"{current:.2f}"),
                spent=Decimal(f"{r['current_daily_spend'] * WINDOW_DAYS:.2f}"), roi=None,
                recommended_allocation=Decimal(f"{r['recommended_daily_spend'] * PERIOD_DAYS:.2f}"), recommendation=summary,
                period_start=start, period_end=today,
            ))
            written += 1
        record(session, merchant, "optimizer", "budget.recommend", "merchant", merchant, moves=texts.get(merchant, []))
    return written
