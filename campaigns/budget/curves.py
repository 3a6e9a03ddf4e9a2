"""Response curves: fit daily spend against attributed revenue, and load fitted curves from the marts.

Curves are fitted per merchant and channel, and per merchant, campaign and channel, on daily
spend (marts.ad_spend_daily) against the daily revenue the chosen attribution model gives it
(every model, rule-based and data-driven, from marts.attribution_daily_all_models). Each fit keeps its quality (R^2, holdout RMSE), the observed spend
range and residual-bootstrap refits (for the uncertainty band and the predicted-revenue range).
The budget asset writes them to marts.response_curves and marts.campaign_response_curves;
`campaign_curves` / `warehouse_curves` read the campaign ones back for planning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from campaigns.budget.errors import RebalanceError

WINDOW_DAYS = 28  # the current daily spend is the average over the last 28 days
MIN_DAYS = 14
BOOTSTRAP_SAMPLES = 20  # residual-bootstrap refits per curve; the 5-95% band needs no more at demo scale
CAMPAIGN_BOOTSTRAP_SAMPLES = 10  # ~40 campaign curves at demo scale: keeps the asset within a few seconds
CAMPAIGN_MAX_STARTS = 4  # short campaign series: a spread subset of the start grid, same holdout error, ~3x faster
CHANNEL_KEYS = ("merchant_id", "channel")
CAMPAIGN_KEYS = ("merchant_id", "campaign_id", "channel")
SPEND_MART = "ad_spend_daily"
REVENUE_MART = "attribution_daily_all_models"
CURVES_MART = "response_curves"
CAMPAIGN_CURVES_MART = "campaign_response_curves"

Query = Callable[[str, Sequence[Any] | None], pl.DataFrame]

SPEND_SQL = f"select merchant_id, channel, spend_date as day, sum(spend) as spend from marts.{SPEND_MART} group by 1, 2, 3"
# revenue per day under the chosen model, rule-based or data-driven, from the dbt mart over every model
REVENUE_SQL = (
    f"select merchant_id, channel, conversion_date as day, sum(revenue) as revenue from marts.{REVENUE_MART} "
    "where model = ? group by 1, 2, 3"
)
# campaign x channel: spend without a campaign cannot be attributed to one, so it is left out
CAMPAIGN_SPEND_SQL = (
    f"select merchant_id, campaign_id, channel, spend_date as day, sum(spend) as spend from marts.{SPEND_MART} "
    "where campaign_id is not null{where} group by 1, 2, 3, 4"
)
CAMPAIGN_REVENUE_SQL = (
    f"select merchant_id, campaign_id, channel, conversion_date as day, sum(revenue) as revenue from marts.{REVENUE_MART} "
    "where model = ? and campaign_id is not null{where} group by 1, 2, 3, 4"
)


def campaign_series_sql(campaign_filter: bool = False) -> tuple[str, str]:
    """(spend SQL, revenue SQL) per campaign x channel x day; with `campaign_filter` both take (merchant_id, campaign_id) params."""
    where = " and merchant_id = ? and campaign_id = ?" if campaign_filter else ""
    return CAMPAIGN_SPEND_SQL.format(where=where), CAMPAIGN_REVENUE_SQL.format(where=where)


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
    from optimizers.fitting import FittingError, fit_best  # scipy: loaded by the fitting asset only, not by the app or the CLI

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


def _with_model(curves: pl.DataFrame, model: str) -> pl.DataFrame:
    return curves.with_columns(pl.lit(model).alias("attribution_model")) if curves.height else curves


def fit_merchant_curves(query: Query, model: str) -> pl.DataFrame:
    """Every merchant's channel curves from the marts (the rows of marts.response_curves)."""
    return _with_model(fit_channels(daily_series(query(SPEND_SQL, None), query(REVENUE_SQL, [model]))), model)


def fit_all_campaign_curves(query: Query, model: str) -> pl.DataFrame:
    """Every campaign's channel curves from the marts (the rows of marts.campaign_response_curves)."""
    spend_sql, revenue_sql = campaign_series_sql()
    return _with_model(fit_campaign_channels(daily_series(query(spend_sql, None), query(revenue_sql, [model]), CAMPAIGN_KEYS)), model)


# --- fitted curves as values -------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelCurve:
    channel: str
    family: str
    params: dict[str, float]
    current_daily_spend: float
    observed_min: float
    observed_max: float
    r2: float
    holdout_rmse: float
    bootstrap: list[dict[str, float]] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        return {"family": self.family, **self.params}


def curves_from_frame(frame: pl.DataFrame) -> list[ChannelCurve]:
    """Rows of a response-curves mart (params and bootstrap as JSON) as ChannelCurves."""
    out = []
    for r in frame.sort("channel").iter_rows(named=True):
        boot = r.get("bootstrap")
        out.append(ChannelCurve(
            channel=r["channel"], family=r["family"], params=json.loads(r["params"]),
            current_daily_spend=float(r["current_daily_spend"] or 0.0), observed_min=float(r["observed_min"]),
            observed_max=float(r["observed_max"]), r2=float(r["r2"]), holdout_rmse=float(r["holdout_rmse"]),
            bootstrap=json.loads(boot) if boot else [],
        ))
    return out


def campaign_curves(query: Query, merchant_id: str, campaign_id: str) -> list[ChannelCurve]:
    """The campaign's fitted channel curves from marts.campaign_response_curves (empty when it has none)."""
    frame = query(f"select * from marts.{CAMPAIGN_CURVES_MART} where merchant_id = ? and campaign_id = ?", [merchant_id, campaign_id])
    return curves_from_frame(frame) if frame.height else []


def warehouse_curves(settings: Any, merchant_id: str, campaign_id: str) -> list[ChannelCurve]:
    """campaign_curves against the configured warehouse (DuckDB file or PostgreSQL)."""
    from campaigns.warehouse.connection import open_warehouse  # duckdb/psycopg load only for a command that reads the warehouse

    if settings.warehouse == "duckdb" and not settings.duckdb_path.exists():
        raise RebalanceError(f"no warehouse at {settings.duckdb_path} yet: no spend data to fit; run `campaigns demo-data` "
                             "or `campaigns import spend FILE`, then `campaigns build`")
    warehouse = open_warehouse(settings)
    try:
        relations = warehouse.relations()
        marts = relations.filter(pl.col("schema") == "marts")["name"].to_list() if relations.height else []
        if CAMPAIGN_CURVES_MART not in marts:
            raise RebalanceError(f"the warehouse has no response curves yet (marts.{CAMPAIGN_CURVES_MART} is missing); run `campaigns build`")
        return campaign_curves(warehouse.query, merchant_id, campaign_id)
    except RebalanceError:
        raise
    except Exception as exc:  # a locked or unreachable warehouse: say which and what to do
        raise RebalanceError(f"cannot read the warehouse ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                             "wait for a running build to finish or check CAMPAIGNS_WAREHOUSE_URL") from exc
