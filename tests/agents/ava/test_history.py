"""Ava plans from the warehouse's fitted response curves when no --history file is given."""

import json

import duckdb
import pytest
from typer.testing import CliRunner

from agents.ava.history import plan_history_from_rows, warehouse_plan_history
from campaigns.cli.main import app
from campaigns.core.settings import Settings, get_settings

runner = CliRunner()


def test_rows_become_optimizer_curves_and_ranges() -> None:
    rows = [
        {"channel": "email", "family": "exponential", "params": json.dumps({"a": 500.0, "b": 120.0}), "observed_min": 10.0, "observed_max": 90.0},
        {"channel": "google_ads", "family": "hill", "params": {"a": 900.0, "k": 300.0, "s": 2.2}, "observed_min": None, "observed_max": None},
        {"channel": "carrier_pigeon", "family": "log", "params": "{}", "observed_min": 1.0, "observed_max": 2.0},
    ]
    history = plan_history_from_rows(rows)
    assert history.curves == {"email": {"family": "exponential", "a": 500.0, "b": 120.0},
                              "google_ads": {"family": "hill", "a": 900.0, "k": 300.0, "s": 2.2}}
    assert history.observed_spend == {"email": (10.0, 90.0)}


def test_no_warehouse_gives_the_reason(home) -> None:
    history, why = warehouse_plan_history(Settings(), "demo")
    assert history.curves == {} and "campaigns build" in why


def test_plan_uses_the_built_curves(built_home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_HOME", str(built_home.home_path))
    get_settings.cache_clear()
    with duckdb.connect(str(built_home.duckdb_path), read_only=True) as con:
        fitted = {row[0] for row in con.execute("select channel from marts.response_curves where merchant_id = 'demo'").fetchall()}
    assert fitted, "the demo build fits curves"
    history, why = warehouse_plan_history(get_settings(), "demo")
    assert why is None and set(history.curves) == fitted
    channels = sorted(fitted)[:3]
    result = runner.invoke(app, ["plan", "--goal", "CONVERSION", "--budget", "9000", "--start", "2026-12-01", "--end", "2026-12-30",
                                 "--channels", ",".join(channels), "--merchant", "demo"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["budget_allocation"]["method"] == "optimizer"
    assert {i["channel"]: i["source"] for i in plan["budget_allocation"]["items"]} == dict.fromkeys(channels, "optimizer")
    assert sum(float(i["amount"]) for i in plan["budget_allocation"]["items"]) == pytest.approx(9000.0, abs=1e-9)
