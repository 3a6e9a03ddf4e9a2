"""`campaigns export`: attribution and ROI marts as CSV files for one merchant."""

from __future__ import annotations

# Start-up cost: polars and the warehouse drivers are imported inside the functions that use them, so
# `campaigns --help` and `campaigns export --help` do not load them.

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from campaigns.cli.context import merchant_or_default
from campaigns.cli.output import console, fail
from campaigns.core.settings import get_settings

if TYPE_CHECKING:
    import polars as pl

    from campaigns.warehouse.connection import Warehouse

app = typer.Typer(help="Export attribution and ROI tables as CSV.", no_args_is_help=True)

MARTS = "marts"
RULE_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
DATA_DRIVEN_MODELS = ("markov", "shapley")
MODELS = RULE_MODELS + DATA_DRIVEN_MODELS
BUILD_HINT = "run `campaigns build` (after `campaigns demo-data` or `campaigns import`)"


class Level(StrEnum):
    channel = "channel"
    campaign = "campaign"


# the dbt marts over every model, rule-based and data-driven, and the SQL of one merchant's rows
# (campaign level: the daily credits summed over the days, which equal attribution_by_campaign)
SOURCES = {
    Level.channel: ("attribution_by_channel_all_models", "select merchant_id, model, model_family, channel, conversions, revenue "
                    "from marts.attribution_by_channel_all_models where merchant_id = ?"),
    Level.campaign: ("attribution_daily_all_models", "select merchant_id, model, model_family, channel, campaign_id, sum(conversions) as conversions, "
                     "sum(revenue) as revenue from marts.attribution_daily_all_models where merchant_id = ? "
                     "group by merchant_id, model, model_family, channel, campaign_id"),
    "roi": ("roi_by_model_all_models", "select merchant_id, model, model_family, campaign_id, channel, spend, conversions, revenue, roas, roi "
            "from marts.roi_by_model_all_models where merchant_id = ?"),
}
COLUMNS = {
    Level.channel: ["model", "channel", "conversions", "revenue"],
    Level.campaign: ["model", "channel", "campaign_id", "conversions", "revenue"],
    "roi": ["model", "campaign_id", "channel", "spend", "conversions", "revenue", "roas", "roi"],
}


def _model_names(model: str) -> list[str]:
    name = model.strip().lower()
    if name == "all":
        return list(MODELS)
    if name not in MODELS:
        fail(f"unknown model {model!r}; use --model with one of {', '.join(MODELS)} or all")
    return [name]


def _open() -> tuple[Warehouse, set[str]]:
    """The warehouse and the names of its marts; exits with a fix when it is not there."""
    from campaigns.warehouse.connection import WarehouseBusyError, open_warehouse

    settings = get_settings()
    try:
        warehouse = open_warehouse(settings)
        tables = warehouse.relations()
    except FileNotFoundError:
        fail(f"no warehouse at {settings.duckdb_path} yet; {BUILD_HINT}")
    except WarehouseBusyError as exc:
        fail(str(exc))
    except ValueError as exc:  # e.g. CAMPAIGNS_WAREHOUSE=postgres without a URL
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a PostgreSQL warehouse that does not answer
        fail(f"cannot reach the warehouse ({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}); check CAMPAIGNS_WAREHOUSE_URL")
    marts = {name for schema, name in zip(tables["schema"].to_list(), tables["name"].to_list()) if schema == MARTS}
    return warehouse, marts


def _read(kind: Level | str, models: list[str], merchant: str) -> pl.DataFrame:
    """Rows of `models` for `merchant` from the dbt mart over every model."""
    import polars as pl

    from campaigns.warehouse.staleness import STAMPS_TABLE, data_driven_staleness

    warehouse, available = _open()
    mart, sql = SOURCES[kind]
    if mart not in available:
        fail(f"{MARTS}.{mart} does not exist yet; {BUILD_HINT}")
    frame = warehouse.query(sql, [merchant])
    if frame.height == 0:
        # never name other merchants here: the caller learns only about its own id
        if warehouse.query(f"select count(*) as n from {MARTS}.{mart}")["n"][0] == 0:
            fail(f"no attribution rows for merchant {merchant!r}: the warehouse has no conversions yet; {BUILD_HINT}")
        fail(f"no attribution rows for merchant {merchant!r}; check the merchant id, or {BUILD_HINT} for it")
    wanted_data_driven = [m for m in models if m in DATA_DRIVEN_MODELS]
    if wanted_data_driven and not frame.filter(pl.col("model_family") == "data_driven").height:
        if len(models) == 1:
            fail(f"no {models[0]} rows in {MARTS}.{mart} yet; run `campaigns build --select attribution` to compute {models[0]}")
        console.print(f"[yellow]note:[/] no markov/shapley rows yet in {MARTS}.{mart}; run `campaigns build --select attribution`")
    elif wanted_data_driven and STAMPS_TABLE in available:
        stale = data_driven_staleness(warehouse.query)
        if stale:
            console.print(f"[yellow]warning:[/] {escape(stale)}")
    order = {name: i for i, name in enumerate(MODELS)}
    return (
        frame.filter(pl.col("model").is_in(models))
        .with_columns(pl.col("model").replace_strict(order, return_dtype=pl.Int64).alias("_order"))
        .sort(["_order", "conversions", *(["spend"] if kind == "roi" else [])], descending=[False, True, *([True] if kind == "roi" else [])])
        .select(COLUMNS[kind])
    )


def _write(frame: pl.DataFrame, out: Path) -> None:
    from campaigns.core.safe_csv import write_csv  # polars: loaded only when an export runs

    if out.is_dir():
        fail(f"--out {out} is a folder; give a file name such as {out / 'attribution.csv'}")
    if not out.parent.exists():
        fail(f"folder {out.parent} does not exist; create it or choose another --out")
    try:
        write_csv(frame, out)  # cells a spreadsheet would run as formulas are neutralised
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}; choose a writable --out path")
    console.print(f"wrote {frame.height:,} rows to {out}")


@app.command("attribution")
def attribution(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    level: Annotated[Level, typer.Option(help="channel: model, channel, conversions, revenue; campaign: adds campaign_id.")] = Level.channel,
    model: Annotated[str, typer.Option(help=f"One of {', '.join(MODELS)}, or all.")] = "all",
    merchant: Annotated[str | None, typer.Option(help="Merchant (default CAMPAIGNS_DEFAULT_MERCHANT).")] = None,
) -> None:
    """Attributed conversions and revenue per model and channel (or campaign)."""
    models = _model_names(model)
    frame = _read(level, models, merchant_or_default(merchant))
    _write(frame, out)


@app.command("roi")
def roi(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    model: Annotated[str, typer.Option(help=f"One of {', '.join(MODELS)}, or all.")] = "all",
    merchant: Annotated[str | None, typer.Option(help="Merchant (default CAMPAIGNS_DEFAULT_MERCHANT).")] = None,
) -> None:
    """Spend, attributed conversions and revenue, ROAS and ROI per model, campaign and channel."""
    models = _model_names(model)
    frame = _read("roi", models, merchant_or_default(merchant))
    _write(frame, out)
