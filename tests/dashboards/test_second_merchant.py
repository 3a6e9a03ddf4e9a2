"""A second merchant beside the built demo: the marts exist but hold nothing of theirs, so each section says what to do.

Also the Analytics date filter on the demo itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from dashboards import queries
from tests.dashboards.helpers import assert_clean

ANALYTICS, BUDGET = "views/analytics.py", "views/budget.py"


@pytest.fixture
def with_acme(demo_copy: Settings) -> Settings:
    with session_scope(demo_copy.store_url) as s:
        ensure_merchant(s, "acme", "Acme Outdoor", timezone="Europe/Berlin")
    queries.clear_store_caches()
    return demo_copy


def _as_acme(app: Callable[[Settings], AppTest], settings: Settings, page: str) -> AppTest:
    at = app(settings)
    assert "Acme Outdoor" in at.selectbox(key="merchant_select").options  # the sidebar offers both merchants by name
    at.selectbox(key="merchant_select").set_value("acme").run()
    at.switch_page(page).run()
    assert_clean(at)
    return at


@pytest.mark.slow
def test_analytics_for_a_merchant_without_data_explains_each_section(with_acme: Settings, app) -> None:
    at = _as_acme(app, with_acme, ANALYTICS)
    info = [i.value for i in at.info]
    assert any("No attributed conversions for this selection" in i for i in info), info
    assert any("No campaign ROI yet" in i and "campaigns build" in i for i in info), info
    assert any("No spend or revenue in this selection" in i for i in info), info
    assert not at.metric  # no totals made up from nothing


@pytest.mark.slow
def test_budget_for_a_merchant_without_spend_says_how_to_import_it(with_acme: Settings, app) -> None:
    at = _as_acme(app, with_acme, BUDGET)
    assert at.title[0].value == "Budget"
    assert "No recommendation for this merchant yet" in at.info[0].value
    assert "campaigns import spend FILE --merchant acme" in at.info[0].value
    assert not at.metric


@pytest.mark.slow
def test_analytics_date_filter_narrows_the_trend(built_home: Settings, app) -> None:
    at = app(built_home)
    at.switch_page(ANALYTICS).run()
    first, last = at.date_input(key="analytics_dates").value
    whole = at.metric[0].value
    assert at.metric[0].label == "Spend"
    at.date_input(key="analytics_dates").set_value((last, last)).run()
    assert_clean(at)
    assert at.metric[0].value != whole  # one day's spend, not the whole history's
    captions = " ".join(c.value for c in at.caption)
    assert "For the selected dates and campaigns" in captions or "cover all dates and campaigns" in captions


def _rewrite(settings: Settings, mart: str, select_sql: str) -> None:
    """Replace one published mart snapshot of a private demo copy, as a later pipeline run would."""
    import duckdb

    path = settings.home_path / "serving" / f"{mart}.parquet"
    tmp = path.with_suffix(".new.parquet")
    con = duckdb.connect()
    try:
        con.execute(f"copy ({select_sql.replace('MART', str(path))}) to '{tmp}' (format parquet)")
    finally:
        con.close()
    tmp.replace(path)


@pytest.mark.slow
def test_budget_warns_about_a_shaky_recommendation_and_explains_missing_curves(demo_copy: Settings, app) -> None:
    _rewrite(demo_copy, "budget_recommendations",
             "select * replace (case when channel = 'google_ads' then 'time_limit' else status end as status, "
             "channel = 'google_ads' as outside_observed_range) from 'MART'")
    for mart in ("response_curves", "campaign_response_curves"):
        (demo_copy.home_path / "serving" / f"{mart}.parquet").unlink()
    at = app(demo_copy)
    at.switch_page(BUDGET).run()
    assert_clean(at)
    warnings = [w.value for w in at.warning]
    assert any("The optimiser reported optimal, time_limit: treat the recommendation with care." == w for w in warnings), warnings
    assert any(w.startswith("Recommended spend for Google Ads lies outside the spend seen so far") for w in warnings), warnings
    info = [i.value for i in at.info]
    assert any("No response curves for this merchant yet" in i for i in info), info
    assert any("No campaign response curves yet" in i and "14 days" in i for i in info), info
    assert [m.label for m in at.metric][:3] == ["Current daily spend", "Recommended daily spend", "Predicted daily revenue"]


@pytest.mark.slow
def test_analytics_without_the_daily_marts_shows_all_time_totals_and_says_so(demo_copy: Settings, app) -> None:
    for mart in ("attribution_daily_all_models", "campaign_performance_daily"):
        (demo_copy.home_path / "serving" / f"{mart}.parquet").unlink()
    at = app(demo_copy)
    at.switch_page(ANALYTICS).run()
    assert_clean(at)
    assert not at.date_input  # no daily marts: no day range to pick from
    whole = next(d.value for d in at.dataframe if "markov" in d.value.columns)
    at.multiselect(key="analytics_campaigns").set_value(["cmp_demo_16"]).run()
    assert_clean(at)
    captions = [c.value for c in at.caption]
    assert "The attribution facts are not built, so these totals cover all dates and campaigns." in captions, captions
    shown = next(d.value for d in at.dataframe if "markov" in d.value.columns)
    assert shown.equals(whole)  # the all-time split, not an empty "no conversions" answer
    assert any("The daily performance mart is not built yet: run `campaigns build`." == i.value for i in at.info)


@pytest.mark.slow
def test_budget_refuses_an_undo_over_a_later_change_and_says_which_channel(demo_copy: Settings, app) -> None:
    import sqlite3

    at = app(demo_copy)
    at.switch_page(BUDGET).run()
    at.button(key="budget_apply").click().run()
    at.button(key="budget_apply_confirm").click().run()
    assert_clean(at)
    assert "Applied the recommendation" in at.success[0].value
    con = sqlite3.connect(demo_copy.home_path / "app.db")
    try:  # someone changes one applied allocation afterwards (the CLI, another tab)
        with con:
            (details,) = con.execute("select details from audit_log where action = 'budget.apply' and merchant_id = 'demo'").fetchone()
            first = json.loads(details)["rows"][0]
            allocation_id, channel = first["id"], first["channel"]
            con.execute("update budget_allocations set allocated = allocated + 123 where id = ?", [allocation_id])
        changed = con.execute("select allocated from budget_allocations where id = ?", [allocation_id]).fetchone()[0]
    finally:
        con.close()
    at.button(key="budget_undo").click().run()
    assert_clean(at)
    assert any("cannot undo budget recommendation" in w.value and f"the allocation of {channel} changed since" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    con = sqlite3.connect(demo_copy.home_path / "app.db")
    try:
        assert con.execute("select allocated from budget_allocations where id = ?", [allocation_id]).fetchone()[0] == changed  # kept
    finally:
        con.close()
    assert at.button(key="budget_undo")  # still offered: the apply was not undone


def _store(settings: Settings, sql: str) -> None:
    import sqlite3

    con = sqlite3.connect(settings.home_path / "app.db")
    try:
        with con:
            con.execute(sql)
    finally:
        con.close()


@pytest.mark.slow
def test_budget_without_stored_allocations_says_the_build_writes_them(demo_copy: Settings, app) -> None:
    _store(demo_copy, "delete from budget_allocations where merchant_id = 'demo' and campaign_id is null")
    at = app(demo_copy)
    at.switch_page(BUDGET).run()
    assert_clean(at)
    assert any("No budget allocations stored yet" in i.value and "campaigns build" in i.value for i in at.info), [i.value for i in at.info]
    assert "budget_apply" not in [b.key for b in at.button]  # nothing to apply to


@pytest.mark.slow
def test_budget_already_at_the_recommendation_says_so_and_offers_no_apply(demo_copy: Settings, app) -> None:
    _store(demo_copy, "update budget_allocations set recommended_allocation = allocated, recommendation = '' "
                      "where merchant_id = 'demo' and campaign_id is null")
    at = app(demo_copy)
    at.switch_page(BUDGET).run()
    assert_clean(at)
    captions = [c.value for c in at.caption]
    assert "The current split is already the recommended one." in captions
    assert "The stored allocations already match the recommendation." in captions
    assert "budget_apply" not in [b.key for b in at.button]
