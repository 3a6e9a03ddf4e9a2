"""`campaigns rebalance`: an optimal split applies nothing, recommendations outside the fitted range are flagged,
an empty history, and a declined undo."""

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


def _curve(campaign: str, channel: str, b: float, observed_max: float = 160.0) -> dict:
    return {"merchant_id": "demo", "campaign_id": campaign, "channel": channel, "family": "exponential",
            "params": json.dumps({"a": 1000.0, "b": b}), "adstock_decay": 0.0, "r2": 0.9, "holdout_rmse": 10.0,
            "observed_min": 40.0, "observed_max": observed_max, "days": 30, "current_daily_spend": 100.0, "recent_daily_revenue": 500.0,
            "bootstrap": "[]", "attribution_model": "markov"}


@pytest.fixture
def store(home: Path) -> str:
    """demo merchant: c1 with two different curves (email's fitted only up to 110/day), c3 with two identical ones; 3,000 each."""
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "demo")
        s.add_all([Campaign(id=cid, merchant_id="demo", name=cid, type=CampaignType.CONVERSION) for cid in ("c1", "c3")])
        s.flush()
        s.add_all([BudgetAllocation(merchant_id="demo", campaign_id=cid, channel=ch, allocated=Decimal("3000"))
                   for cid in ("c1", "c3") for ch in ("email", "search")])
    DuckDBWarehouse(settings.duckdb_path).replace_table("marts", "campaign_response_curves", pl.DataFrame([
        _curve("c1", "email", 100.0, observed_max=110.0), _curve("c1", "search", 400.0),
        _curve("c3", "email", 200.0), _curve("c3", "search", 200.0),
    ]))
    return str(settings.home_path / "app.db")


def _alloc(db: str, campaign: str) -> dict[str, float]:
    con = sqlite3.connect(db)
    try:
        return {ch: float(v) for ch, v in con.execute("select channel, allocated from budget_allocations where campaign_id = ?", [campaign])}
    finally:
        con.close()


def _rebalances(db: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("select count(*) from budget_rebalances").fetchone()[0]
    finally:
        con.close()


def _flat(output: str) -> str:
    return " ".join(output.split())


def test_an_optimal_split_has_nothing_to_apply(store: str) -> None:
    shown = runner.invoke(app, ["rebalance", "--campaign", "c3"])
    assert shown.exit_code == 0, shown.output
    assert "the current split is already optimal within the limits" in _flat(shown.output)
    assert "Apply it with" not in shown.output
    applied = runner.invoke(app, ["rebalance", "--campaign", "c3", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "Already at the recommended split: nothing to apply." in _flat(applied.output)
    assert "Apply this allocation" not in applied.output  # nothing to confirm
    assert _alloc(store, "c3") == {"email": 3000.0, "search": 3000.0} and _rebalances(store) == 0


def test_a_move_beyond_the_fitted_spend_is_flagged(store: str) -> None:
    shown = runner.invoke(app, ["rebalance", "--campaign", "c1"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "note: the recommendation for email is outside the spend its curve was fitted on; move in steps" in _flat(shown.output)
    assert "search" not in _flat(shown.output).split("note: the recommendation for")[1].split(";")[0]
    assert "Apply it with campaigns rebalance --campaign c1 --apply" in _flat(shown.output)


def test_history_before_any_rebalance(store: str) -> None:
    result = runner.invoke(app, ["rebalance", "--campaign", "c1", "--history"])
    assert result.exit_code == 0, result.output
    assert "no rebalance applied to c1 yet" in result.output


def test_declining_the_undo_keeps_the_rebalance(store: str) -> None:
    assert runner.invoke(app, ["rebalance", "--campaign", "c1", "--apply", "--yes"]).exit_code == 0
    applied = _alloc(store, "c1")
    assert applied != {"email": 3000.0, "search": 3000.0}
    declined = runner.invoke(app, ["rebalance", "--undo", "1"], input="n\n")
    assert declined.exit_code == 1
    assert "Undo rebalance 1 (restore the allocations it changed)?" in declined.output and "Not undone." in declined.output
    assert _alloc(store, "c1") == applied
    undone = runner.invoke(app, ["rebalance", "--undo", "1"], input="y\n")
    assert undone.exit_code == 0, undone.output
    assert "undone rebalance 1: " in _flat(undone.output) and _alloc(store, "c1") == {"email": 3000.0, "search": 3000.0}
