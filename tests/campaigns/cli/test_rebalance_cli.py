"""`campaigns rebalance`: recommendation from the warehouse, confirmation, --yes, --undo, exit 2 on bad input."""

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.enums import CampaignType
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import BudgetAllocation, Campaign
from campaigns.warehouse.connection import DuckDBWarehouse

runner = CliRunner()


def _curve(campaign: str, channel: str, b: float) -> dict:
    return {"merchant_id": "demo", "campaign_id": campaign, "channel": channel, "family": "exponential",
            "params": json.dumps({"a": 1000.0, "b": b}), "adstock_decay": 0.0, "r2": 0.9, "holdout_rmse": 10.0,
            "observed_min": 40.0, "observed_max": 160.0, "days": 30, "current_daily_spend": 100.0, "recent_daily_revenue": 500.0,
            "bootstrap": "[]", "attribution_model": "markov"}


@pytest.fixture
def store(home: Path) -> str:
    """demo merchant with campaigns c1 (two fitted channels, allocations 3,000 each) and c2 (no spend)."""
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "demo")
        s.add_all([Campaign(id="c1", merchant_id="demo", name="one", type=CampaignType.CONVERSION),
                   Campaign(id="c2", merchant_id="demo", name="two", type=CampaignType.CONVERSION)])
        s.flush()
        s.add_all([BudgetAllocation(merchant_id="demo", campaign_id="c1", channel=ch, allocated=Decimal("3000")) for ch in ("email", "search")])
    wh = DuckDBWarehouse(settings.duckdb_path)
    wh.replace_table("marts", "campaign_response_curves", pl.DataFrame([_curve("c1", "email", 100.0), _curve("c1", "search", 400.0)]))
    return str(settings.home_path / "app.db")


def _alloc(db: str) -> dict[str, float]:
    con = sqlite3.connect(db)
    try:
        return {ch: float(v) for ch, v in con.execute("select channel, allocated from budget_allocations where campaign_id = 'c1'")}
    finally:
        con.close()


def _count(db: str, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.close()


def test_recommends_without_writing(store: str) -> None:
    result = runner.invoke(app, ["rebalance", "--campaign", "c1"])
    assert result.exit_code == 0, result.output
    # email +30% band (130/day = 3,900 per 30 days) binds: see tests/campaigns/budget/test_rebalance.py
    assert "move 900 from search to email: +1,000 expected revenue" in result.output
    assert "gap" in result.output and "certificate" in result.output
    assert _alloc(store) == {"email": 3000.0, "search": 3000.0}


def test_apply_asks_first_and_a_no_writes_nothing(store: str) -> None:
    result = runner.invoke(app, ["rebalance", "--campaign", "c1", "--apply"], input="n\n")
    assert "Apply this allocation to campaign c1?" in result.output
    assert result.exit_code == 1
    assert _alloc(store) == {"email": 3000.0, "search": 3000.0} and _count(store, "budget_rebalances") == 0

    result = runner.invoke(app, ["rebalance", "--campaign", "c1", "--apply"], input="y\n")
    assert result.exit_code == 0, result.output
    assert _alloc(store) == {"email": 3900.0, "search": 2100.0}
    assert _count(store, "budget_rebalances") == 1


def test_yes_skips_the_prompt_and_undo_restores(store: str) -> None:
    result = runner.invoke(app, ["rebalance", "--campaign", "c1", "--apply", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Apply this allocation" not in result.output
    assert "campaigns rebalance --undo 1" in result.output
    history = runner.invoke(app, ["rebalance", "--campaign", "c1", "--history"])
    assert history.exit_code == 0 and "rebalances of c1" in history.output and "2100.00" in history.output
    result = runner.invoke(app, ["rebalance", "--undo", "1", "--yes"])
    assert result.exit_code == 0, result.output
    assert _alloc(store) == {"email": 3000.0, "search": 3000.0}
    again = runner.invoke(app, ["rebalance", "--undo", "1", "--yes"])
    assert again.exit_code == 2 and "already undone" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (["--campaign", "nope"], "unknown campaign 'nope'"),
    (["--campaign", "c2"], "no spend data for campaign 'c2'"),
    (["--campaign", "c1", "--max-change", "0"], "--max-change must be a number > 0"),
    (["--undo", "99", "--yes"], "no rebalance 99"),
    ([], "give --campaign ID"),
])
def test_errors_exit_2_naming_the_problem(store: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["rebalance", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert _alloc(store) == {"email": 3000.0, "search": 3000.0} and _count(store, "budget_rebalances") == 0


def test_no_warehouse_yet_exits_2(home: Path) -> None:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "demo")
        s.add(Campaign(id="c1", merchant_id="demo", name="one", type=CampaignType.CONVERSION))
    result = runner.invoke(app, ["rebalance", "--campaign", "c1"])
    assert result.exit_code == 2 and "campaigns build" in result.output
