"""Email Designer page: every tab renders on the demo store, the Audience tab saves a segment, Results counts by hand."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from campaigns.demo.generator import generate
from campaigns.demo.writer import write_demo
from campaigns.core.settings import Settings, get_settings
from tests.dashboards.helpers import PAGES, assert_clean


@pytest.fixture
def demo_store(home) -> Settings:
    settings = get_settings()
    write_demo(settings, generate("demo", seed=7, as_of=date.today()))
    return settings


def test_tabs_render_and_audience_saves(demo_store: Settings, app) -> None:
    at = app(demo_store)
    at.switch_page(PAGES["Email Designer"]).run()
    assert_clean(at)
    assert [t.label for t in at.tabs] [:5] == ["Templates", "Audience", "A/B tests", "Automations", "Results"]
    # no email campaign in the demo store yet: the Results tab says what to do
    assert any("No email campaigns yet" in str(i.value) for i in at.info)
    # the demo installs the starter templates, which the Templates tab offers
    con = sqlite3.connect(demo_store.home_path / "app.db")
    try:
        starters = con.execute("select count(*) from email_templates where merchant_id = 'demo' and starter is not null").fetchone()[0]
        before = con.execute("select count(*) from segments where merchant_id = 'demo'").fetchone()[0]
    finally:
        con.close()
    assert starters == 6
    # the Templates tab opens the first saved template, so a new user starts from a preview, not a blank editor
    assert at.text_input(key="tpl_name").value and "<" in at.text_area(key="tpl_html").value

    at.selectbox(key="email_aud_start").set_value("Opened in the last 30 days").run()
    # a form's values travel with its submit button, in the same run
    at.text_input(key="email_aud_name").input("Recent openers")
    at.button(key="FormSubmitter:email_aud_save-Save segment").click().run()
    assert_clean(at)
    con = sqlite3.connect(demo_store.home_path / "app.db")
    try:
        rows = con.execute("select name, rules from segments where merchant_id = 'demo' order by id").fetchall()
    finally:
        con.close()
    assert len(rows) == before + 1 and rows[-1][0] == "Recent openers" and '"opened"' in rows[-1][1]
