"""The Analytics page warns when Markov and Shapley are older than the rule-based marts it shows beside them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import streamlit as st

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.warehouse.staleness import DATA_DRIVEN, RULE_BASED, STAMPS_TABLE, stamp
from tests.campaigns.warehouse.test_staleness import BUILT, ROWS
from tests.dashboards.helpers import assert_clean


@pytest.fixture
def served_home(home: Path) -> Path:
    """A home whose served marts (Parquet snapshots) hold the attribution rows and stale stamps, and one merchant."""
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", "Acme")
    serving = home / "serving"
    serving.mkdir(parents=True)
    pl.DataFrame(ROWS, schema=["merchant_id", "model", "model_family", "channel", "conversions", "revenue"], orient="row").write_parquet(
        serving / "attribution_by_channel_all_models.parquet")
    rule_based = pl.DataFrame([r for r in ROWS if r[2] == "rule_based"], schema=["merchant_id", "model", "model_family", "channel", "conversions", "revenue"],
                              orient="row")
    rule_based.drop("model_family").write_parquet(serving / "attribution_by_channel.parquet")
    stamp(RULE_BASED, BUILT).vstack(stamp(DATA_DRIVEN, BUILT - timedelta(hours=5))).write_parquet(serving / f"{STAMPS_TABLE}.parquet")
    return home


def test_the_analytics_page_warns_when_markov_and_shapley_are_older(served_home: Path, app) -> None:
    at = app(get_settings())
    at.switch_page("views/analytics.py").run()
    assert_clean(at)
    warnings = [w.value for w in at.warning]
    assert any("Markov and Shapley (2026-03-02 01:00 UTC) are older than the rule-based marts" in w for w in warnings), warnings

    stamp(DATA_DRIVEN, BUILT + timedelta(hours=1)).vstack(stamp(RULE_BASED, BUILT)).write_parquet(served_home / "serving" / f"{STAMPS_TABLE}.parquet")
    st.cache_data.clear()  # the read layer caches for a minute
    at = app(get_settings())
    at.switch_page("views/analytics.py").run()
    assert_clean(at)
    assert not any("Markov and Shapley" in w.value for w in at.warning)


def test_the_budget_page_shows_the_same_warning(served_home: Path, app) -> None:
    columns = ["merchant_id", "channel", "current_daily_spend", "recommended_daily_spend", "marginal_roas", "current_daily_revenue",
               "predicted_daily_revenue", "budget_shadow_price", "gap", "status", "outside_observed_range"]
    pl.DataFrame(schema={c: pl.String if c in ("merchant_id", "channel", "status") else pl.Boolean if c == "outside_observed_range" else pl.Float64
                         for c in columns}).write_parquet(served_home / "serving" / "budget_recommendations.parquet")
    at = app(get_settings())
    at.switch_page("views/budget.py").run()
    assert_clean(at)
    assert any("Markov and Shapley (2026-03-02 01:00 UTC) are older than the rule-based marts" in w.value for w in at.warning), [w.value for w in at.warning]
