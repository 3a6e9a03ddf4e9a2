"""The budget assets on a small hand-made warehouse: curves fitted from the marts, recommendation in a mart and in the store."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from assets.optimization.budget import budget_allocation, response_curves
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import AuditLog, BudgetAllocation
from campaigns.warehouse.connection import DuckDBWarehouse
from assets.resources import CampaignsResource

TRUTH = {"search": (900.0, 300.0, 250.0), "social": (300.0, 80.0, 150.0)}  # revenue/day = a (1 - exp(-spend / b)); spend level


def _warehouse(home: Path, days: int = 60) -> DuckDBWarehouse:
    rng = np.random.default_rng(3)
    spend, credits = [], []
    for channel, (a, b, level) in TRUTH.items():
        for d in range(days):
            day = date(2026, 9, 1) + timedelta(days=d)
            x = level * rng.uniform(0.3, 1.7)
            spend.append({"merchant_id": "m", "campaign_id": "c1", "channel": channel, "spend_date": day, "spend": x})
            credits.append({"model": "markov", "merchant_id": "m", "campaign_id": "c1", "channel": channel, "conversion_date": day,
                            "revenue": a * (1 - np.exp(-x / b)) * rng.normal(1, 0.03)})
    warehouse = DuckDBWarehouse(home / "warehouse.duckdb")
    warehouse.replace_table("marts", "ad_spend_daily", pl.DataFrame(spend))
    # the curves read every model's daily revenue from the all-models mart; a second model's rows must not leak in
    both = pl.concat([pl.DataFrame(credits), pl.DataFrame(credits).with_columns(pl.lit("linear").alias("model"), pl.col("revenue") * 10)])
    warehouse.replace_table("marts", "attribution_daily_all_models", both)
    return warehouse


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAMPAIGNS_HOME", str(tmp_path))
    return tmp_path


def test_curves_and_recommendation_from_the_marts(home: Path) -> None:
    warehouse = _warehouse(home)
    resource = CampaignsResource(home=str(home))
    store_url = resource.settings().store_url
    migrate(store_url)
    with session_scope(store_url) as s:
        ensure_merchant(s, "m")
    result = dg.materialize([response_curves, budget_allocation], resources={"campaigns": resource})
    assert result.success

    curves = warehouse.query("select * from marts.response_curves order by channel")
    assert curves["channel"].to_list() == ["search", "social"] and set(curves["attribution_model"]) == {"markov"}
    for channel, params in zip(curves["channel"], curves["params"]):  # the linear rows (10x revenue) stayed out of the fit
        assert json.loads(params)["a"] < 2 * TRUTH[channel][0]
    by_campaign = warehouse.query("select * from marts.campaign_response_curves")
    assert set(zip(by_campaign["campaign_id"], by_campaign["channel"])) == {("c1", "search"), ("c1", "social")}
    recs = warehouse.query("select * from marts.budget_recommendations order by channel")
    assert recs["recommended_daily_spend"].sum() == pytest.approx(recs["current_daily_spend"].sum(), rel=1e-6)

    with session_scope(store_url) as s:
        rows = {r.channel: r for r in s.scalars(select(BudgetAllocation).where(BudgetAllocation.campaign_id.is_(None)))}
        assert set(rows) == {"search", "social"}
        for r in recs.iter_rows(named=True):  # stored per 30 days, to the cent
            assert float(rows[r["channel"]].recommended_allocation) == pytest.approx(r["recommended_daily_spend"] * 30, abs=0.006)
            assert float(rows[r["channel"]].allocated) == pytest.approx(r["current_daily_spend"] * 30, abs=0.006)
        assert s.scalar(select(AuditLog.action).where(AuditLog.action == "budget.recommend")) == "budget.recommend"


def test_no_curve_yet_writes_an_empty_recommendation(home: Path) -> None:
    warehouse = _warehouse(home, days=10)  # under the 14 days a curve needs
    result = dg.materialize([response_curves, budget_allocation], resources={"campaigns": CampaignsResource(home=str(home))})
    assert result.success
    assert warehouse.count("marts", "response_curves") == 0
    assert warehouse.count("marts", "budget_recommendations") == 0
