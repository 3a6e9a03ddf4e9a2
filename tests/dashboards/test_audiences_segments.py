"""Audiences page: event and RFM rows in the rule builder, with a live size that matches an independent count."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.demo.generator import generate
from campaigns.demo.writer import write_demo
from campaigns.audiences import rfm
from campaigns.core.settings import Settings, get_settings
from tests.dashboards.helpers import PAGES, assert_clean
from dashboards.formatting import plain


@pytest.fixture
def demo_store(home) -> Settings:
    """The demo merchant in the store only (no warehouse build): enough for the Audiences page."""
    settings = get_settings()
    write_demo(settings, generate("demo", seed=7, as_of=date.today()))
    return settings


def _rows(settings: Settings, sql: str) -> list[tuple]:
    con = sqlite3.connect(settings.home_path / "app.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _opened_within(settings: Settings, days: int) -> int:
    """Contacts with an open in the last `days` days, counted in Python over raw rows."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = _rows(settings, "select contact_id, occurred_at from contact_events where merchant_id = 'demo' and kind = 'opened'")
    return len({cid for cid, at in rows if datetime.fromisoformat(at).replace(tzinfo=UTC) >= since})


def _in_buckets(settings: Settings, names: set[str]) -> int:
    """Buyers in the RFM buckets per the pure reference in campaigns.audiences.rfm, over raw rows."""
    rows = _rows(settings, "select contact_id, occurred_at, value from contact_events where merchant_id = 'demo' and kind = 'purchased'")
    now = datetime.now(UTC)
    purchases = [(cid, datetime.fromisoformat(at).replace(tzinfo=UTC), str(value) if value is not None else None) for cid, at, value in rows]
    return sum(1 for score in rfm.scores(rfm.summarise(purchases, now)).values() if score.bucket in names)


def test_event_and_rfm_rows_show_a_live_size(demo_store: Settings, app) -> None:
    at = app(demo_store)
    at.switch_page(PAGES["Audiences"]).run()
    at.button(key="aud_rules_add").click().run()
    field_key = next(s.key for s in at.selectbox if s.key.startswith("aud_rules_") and s.key.endswith("_field"))
    at.selectbox(key=field_key).set_value("event").run()
    assert_clean(at)
    uid = field_key.removeprefix("aud_rules_").removesuffix("_field")
    at.selectbox(key=f"aud_rules_{uid}_event").set_value("opened")
    at.selectbox(key=f"aud_rules_{uid}_event_op").set_value("within_days").run()
    at.number_input(key=f"aud_rules_{uid}_event_days").set_value(10).run()
    assert_clean(at)
    sizes = {m.label: m.value for m in at.metric}
    expected = _opened_within(demo_store, 10)
    assert 0 < expected < 400 and sizes["Contacts matching"] == f"{expected:,}"
    assert "opened an email in the last 10 days" in " ".join(str(c.value) for c in at.caption)

    # the same row as an RFM bucket
    at.selectbox(key=field_key).set_value("rfm").run()
    at.multiselect(key=f"aud_rules_{uid}_rfm").set_value(["at_risk", "cant_lose"]).run()
    assert_clean(at)
    expected = _in_buckets(demo_store, {"at_risk", "cant_lose"})
    assert 0 < expected and {m.label: m.value for m in at.metric}["Contacts matching"] == f"{expected:,}"

    # a bad event rule in JSON names its path
    at.toggle(key="aud_rules_json_mode").set_value(True).run()
    at.text_area(key="aud_rules_json_text").input(json.dumps({"all": [{"event": "opened", "op": "within_days"}]})).run()
    assert_clean(at)
    assert any(plain("rules.all[0].days: is missing") in str(m.value) for m in at.markdown)  # shown as text


def test_saved_demo_segments_with_events_and_rfm_are_countable(demo_store: Settings, app) -> None:
    at = app(demo_store)
    at.switch_page(PAGES["Audiences"]).run()
    assert_clean(at)
    table = at.dataframe[0].value
    rows = dict(zip(table["Segment"], table["Contacts"], strict=True))
    assert rows["Engaged readers"] == f"{_opened_within(demo_store, 30):,}"
    assert rows["Win back"] == f"{_in_buckets(demo_store, {'at_risk', 'cant_lose'}):,}"


def test_a_field_row_still_works_and_saves_with_an_event_row(demo_store: Settings, app) -> None:
    at = app(demo_store)
    at.switch_page(PAGES["Audiences"]).run()
    at.button(key="aud_rules_add").click().run()
    value_key = next(t.key for t in at.text_input if t.key.startswith("aud_rules_") and t.key.endswith("_value_text"))
    at.text_input(key=value_key).input("prospect").run()
    tags = [json.loads(t) for (t,) in _rows(demo_store, "select tags from contacts where merchant_id = 'demo'")]
    assert {m.label: m.value for m in at.metric}["Contacts matching"] == f"{sum('prospect' in t for t in tags):,}"
    at.button(key="aud_rules_add").click().run()
    second = [s.key for s in at.selectbox if s.key.startswith("aud_rules_") and s.key.endswith("_field")][1]
    at.selectbox(key=second).set_value("event").run()
    at.text_input(key="audience_name_None").input("Prospects who opened")
    at.button(key="audience_save").click().run()
    assert_clean(at)
    (saved,) = _rows(demo_store, "select rules from segments where merchant_id = 'demo' and name = 'Prospects who opened'")
    assert json.loads(saved[0]) == {"all": [{"field": "tags", "op": "contains", "value": "prospect"},
                                            {"event": "opened", "op": "within_days", "days": 30}]}
