"""The Analytics and Budget pages with AppTest: the built demo, an empty home, and applying then undoing a budget recommendation."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import migrate, session_scope
from tests.dashboards.helpers import assert_clean

ANALYTICS, BUDGET = "views/analytics.py", "views/budget.py"


def _mart(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    """Read a published Parquet mart directly, not through the app's query layer."""
    con = duckdb.connect()
    try:
        return con.execute(sql.replace("MART", str(settings.home_path / "serving")), params or []).fetchall()
    finally:
        con.close()


def _allocations(settings: Settings) -> dict[int, tuple[float, float | None]]:
    con = sqlite3.connect(settings.home_path / "app.db")
    try:
        rows = con.execute("select id, allocated, recommended_allocation from budget_allocations where merchant_id = 'demo' and campaign_id is null")
        return {r[0]: (float(r[1]), None if r[2] is None else float(r[2])) for r in rows}
    finally:
        con.close()


def _frame_with(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.mark.slow
def test_analytics_with_the_demo(built_home, app) -> None:
    at = app(built_home)
    at.switch_page(ANALYTICS).run()
    assert_clean(at)
    assert at.title[0].value == "Analytics"
    keys = {w.key for w in [*at.date_input, *at.multiselect, *at.selectbox, *at.segmented_control]}
    assert {"analytics_dates", "analytics_campaigns", "analytics_roi_model", "analytics_measure"} <= keys
    assert len(at.get("download_button")) == 3
    # the date range spans the spend and the conversions of every model, read here from the fact snapshots
    ((first, last),) = _mart(built_home, "select min(d), max(d) from ("
                                         "select activity_date as d from 'MART/campaign_performance_daily.parquet' where merchant_id = 'demo' "
                                         "union all select cast(timezone('UTC', converted_at) as date) from 'MART/fct_attribution.parquet' "
                                         "where merchant_id = 'demo' union all select cast(timezone('UTC', converted_at) as date) "
                                         "from 'MART/fct_attribution_data_driven.parquet' where merchant_id = 'demo')")
    assert at.date_input(key="analytics_dates").value == (first, last)

    # every model side by side; the Markov revenue for google_ads equals the mart's, read independently
    wide = _frame_with(at, "markov")
    assert {"first_touch", "last_touch", "linear", "markov", "shapley"} <= set(wide.columns)
    (expected,) = _mart(built_home, "select revenue from 'MART/attribution_by_channel_data_driven.parquet' "
                                    "where merchant_id = 'demo' and model = 'markov' and channel = 'google_ads'")[0]
    shown = float(wide.loc[wide["channel"] == "google_ads", "markov"].iloc[0])
    assert shown == pytest.approx(expected, rel=1e-9)

    # one campaign: the trend's spend equals that campaign's spend in the performance mart
    at.multiselect(key="analytics_campaigns").set_value(["cmp_demo_16"]).run()
    assert_clean(at)
    (spend,) = _mart(built_home, "select sum(spend) from 'MART/campaign_performance_daily.parquet' "
                                 "where merchant_id = 'demo' and campaign_id = 'cmp_demo_16'")[0]
    assert at.metric[0].label == "Spend" and at.metric[0].value == f"${spend:,.0f}"
    # filtered attribution is summed from the per-conversion credits of that campaign
    (markov,) = _mart(built_home, "select sum(attributed_revenue) from 'MART/fct_attribution_data_driven.parquet' "
                                  "where merchant_id = 'demo' and model = 'markov' and campaign_id = 'cmp_demo_16' and channel = 'google_ads'")[0]
    wide = _frame_with(at, "markov")
    assert float(wide.loc[wide["channel"] == "google_ads", "markov"].iloc[0]) == pytest.approx(markov, rel=1e-9)
    roi = _frame_with(at, "roas")
    assert set(roi["campaign_id"]) == {"cmp_demo_16"}


@pytest.mark.slow
def test_budget_with_the_demo_then_apply_and_undo(demo_copy, app) -> None:
    before = _allocations(demo_copy)
    at = app(demo_copy)
    at.switch_page(BUDGET).run()
    assert_clean(at)
    assert at.title[0].value == "Budget"
    assert [m.label for m in at.metric][:3] == ["Current daily spend", "Recommended daily spend", "Predicted daily revenue"]
    # the merchant's predicted total, once (the mart repeats it on each channel row; a sum over rows overstated it 7x)
    totals = _mart(demo_copy, "select distinct predicted_daily_revenue, current_daily_revenue from 'MART/budget_recommendations.parquet' "
                              "where merchant_id = 'demo'")
    assert len(totals) == 1
    predicted, current = totals[0]
    assert at.metric[2].value == f"${predicted:,.0f}"
    assert at.metric[2].delta == f"+{(predicted / current - 1) * 100:.1f}%"
    recs = dict(_mart(demo_copy, "select channel, recommended_daily_spend from 'MART/budget_recommendations.parquet' where merchant_id = 'demo'"))
    table = _frame_with(at, "recommended_daily_spend")
    assert dict(zip(table["channel"], table["recommended_daily_spend"], strict=True)) == pytest.approx(recs)
    assert at.selectbox(key="budget_curve_channel").value in recs
    at.selectbox(key="budget_curve_channel").set_value("google_ads").run()
    assert_clean(at)
    assert any("Move" in m.value for m in at.markdown)  # the stored plain-language recommendation

    # apply asks first; confirming writes every latest channel row's recommendation and an audit entry
    at.button(key="budget_apply").click().run()
    assert_clean(at)
    assert _allocations(demo_copy) == before  # nothing written before confirmation
    at.button(key="budget_apply_confirm").click().run()
    assert_clean(at)
    after = _allocations(demo_copy)
    assert after == {i: (rec, rec) for i, (_, rec) in before.items()}
    assert "Applied the recommendation" in at.success[0].value
    con = sqlite3.connect(demo_copy.home_path / "app.db")
    try:
        assert con.execute("select count(*) from audit_log where action = 'budget.apply' and merchant_id = 'demo'").fetchone() == (1,)
    finally:
        con.close()

    # undo restores the previous values from the audit entry
    at.button(key="budget_undo").click().run()
    assert_clean(at)
    assert _allocations(demo_copy) == before
    assert any("Undone" in i.value for i in at.info)
    assert at.button(key="budget_apply")  # offered again


def test_both_pages_have_an_empty_state(home, app) -> None:
    settings = get_settings()
    migrate(settings.store_url)
    at = app(settings)
    for path, title in ((ANALYTICS, "Analytics"), (BUDGET, "Budget")):
        at.switch_page(path).run()
        assert_clean(at)
        assert at.title[0].value == title
        assert "campaigns demo-data" in at.info[0].value

    with session_scope(settings.store_url) as s:  # a merchant but nothing built
        ensure_merchant(s, "acme", "Acme", timezone="Europe/Berlin")
    at = app(settings)
    for path in (ANALYTICS, BUDGET):
        at.switch_page(path).run()
        assert_clean(at)
        assert "campaigns build" in at.info[0].value


def _campaign_allocations(settings: Settings, campaign_id: str) -> dict[str, float]:
    con = sqlite3.connect(settings.home_path / "app.db")
    try:
        rows = con.execute("select channel, allocated from budget_allocations where merchant_id = 'demo' and campaign_id = ?", [campaign_id])
        return {r[0]: float(r[1]) for r in rows}
    finally:
        con.close()


@pytest.mark.slow
def test_budget_campaign_rebalance_apply_history_and_undo(demo_copy, app) -> None:
    # the build wrote campaign x channel curves; cmp_demo_03 has four fitted channels and no allocation rows yet
    fitted = dict(_mart(demo_copy, "select channel, current_daily_spend from 'MART/campaign_response_curves.parquet' "
                                   "where merchant_id = 'demo' and campaign_id = 'cmp_demo_03'"))
    assert set(fitted) == {"facebook", "google_ads", "linkedin", "x"}
    assert _campaign_allocations(demo_copy, "cmp_demo_03") == {}
    at = app(demo_copy)
    at.switch_page(BUDGET).run()
    at.selectbox(key="rebalance_campaign").set_value("cmp_demo_03").run()
    assert_clean(at)
    table = next(d.value for d in at.dataframe if {"now", "recommended", "outside_observed_range"} <= set(d.value.columns))
    now = dict(zip(table["channel"], table["now"], strict=True))
    assert now == pytest.approx({ch: 30 * v for ch, v in fitted.items()})  # current = recent daily spend x 30
    rec = dict(zip(table["channel"], table["recommended"], strict=True))
    assert sum(rec.values()) == pytest.approx(sum(now.values()), rel=1e-9)
    assert all(0.7 * now[c] - 1e-6 <= rec[c] <= 1.3 * now[c] + 1e-6 for c in now)
    assert len(at.tabs) == 4  # one curve per channel

    at.button(key="rebalance_apply").click().run()
    assert _campaign_allocations(demo_copy, "cmp_demo_03") == {}  # nothing before confirmation
    at.button(key="rebalance_apply_confirm").click().run()
    assert_clean(at)
    assert _campaign_allocations(demo_copy, "cmp_demo_03") == pytest.approx({c: round(v, 2) for c, v in rec.items()}, abs=0.006)
    history = _frame_with(at, "predicted gain")
    assert len(history) == 1 and history["undone"].isna().all()

    at.button(key="rebalance_undo").click().run()
    assert _campaign_allocations(demo_copy, "cmp_demo_03")  # still applied until confirmed
    at.button(key="rebalance_undo_confirm").click().run()
    assert_clean(at)
    assert _campaign_allocations(demo_copy, "cmp_demo_03") == {}  # rows it created are gone
    assert any("Undone rebalance" in i.value for i in at.info)
    con = sqlite3.connect(demo_copy.home_path / "app.db")
    try:
        actions = [r[0] for r in con.execute("select action from audit_log where action like 'budget.rebalance%' order by id")]
    finally:
        con.close()
    assert actions == ["budget.rebalance", "budget.rebalance_undo"]
