"""The Email Designer's automations tab in AppTest: empty state, the flow chart with counts, activate and pause with confirmation."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboards.helpers import as_member

from campaigns.email import automations as auto
from campaigns.email import automation_runner as runner
from campaigns.email import automation_triggers as triggers
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact
from dashboards.views.email.automations_tab import STARTER_FLOW, flow_chart

SCRIPT = """
from dashboards.views.email import automations_tab
automations_tab.render("acme")
"""
FLOW = {"trigger": {"type": "signup"}, "start": "mail", "steps": {
    "mail": {"type": "send_email", "subject": "Hi", "next": "check"},
    "check": {"type": "condition", "previous_email": "opened", "then": "tag", "else": "done"},
    "tag": {"type": "update_field", "add_tags": ["warm"], "next": "done"},
    "done": {"type": "end"},
}}


@pytest.fixture
def url(home: Path) -> str:
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
    return url


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "success") for e in getattr(at, kind))


def test_empty_state_says_how_to_start(url: str) -> None:
    at = as_member(AppTest.from_string(SCRIPT, default_timeout=30), "acme").run()
    assert not at.exception
    assert "campaigns automations create --file" in at.info[0].value


def test_chart_counts_and_activate_then_pause_with_confirmation(url: str) -> None:
    now = datetime.now(UTC)
    with session_scope(url) as s:
        a = auto.create_automation(s, "acme", FLOW, actor="ana", name="Welcome")
        automation_id = a.id
        s.add_all([Contact(merchant_id="acme", email=f"c{i}@x.io", created_at=now + timedelta(minutes=1)) for i in range(2)])
    at = as_member(AppTest.from_string(SCRIPT, default_timeout=30), "acme").run()
    assert not at.exception and not at.error
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1 and '"rect"' in charts[0].proto.spec and '"text"' in charts[0].proto.spec
    at.button(key="automation_activate").click().run()
    assert "Activate automation #1 'Welcome'?" in at.warning[0].value
    with session_scope(url) as s:
        assert auto.get_automation(s, "acme", automation_id).status == "DRAFT"  # nothing until confirmed
    at.button(key="automation_confirm").click().run()
    assert not at.exception and not at.error
    with session_scope(url) as s:
        assert auto.get_automation(s, "acme", automation_id).status == "ACTIVE"
    triggers.enroll_due(url, now + timedelta(minutes=2))
    runner.run_due(url, now + timedelta(minutes=2), "t")
    at.run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 1
    at.button(key="automation_pause").click().run()
    at.button(key="automation_confirm").click().run()
    with session_scope(url) as s:
        assert auto.get_automation(s, "acme", automation_id).status == "PAUSED"


def test_flow_chart_draws_one_box_per_step_and_labels_branches(url: str) -> None:
    from campaigns.email.flows import layout, validate_flow

    nodes, edges = layout(validate_flow(FLOW))
    spec = flow_chart(nodes, edges, {"mail": {"passed": 2, "here": 0}, "done": {"passed": 2, "here": 0}}).to_dict()
    datasets = list(spec["datasets"].values())
    boxes = next(d for d in datasets if d and "counts" in d[0])
    lines = next(d for d in datasets if d and "label" in d[0] and "mx" in d[0])
    assert [b["id"] for b in boxes] == ["__trigger__", "mail", "check", "tag", "done"]
    assert next(b for b in boxes if b["id"] == "mail")["counts"] == "ran 2 · here 0"
    assert sorted(e["label"] for e in lines) == ["", "", "", "no", "yes"]


def test_a_flow_is_created_from_the_editor_or_its_problems_listed(url: str) -> None:
    at = as_member(AppTest.from_string(SCRIPT, default_timeout=30), "acme").run()
    # a dangling link and a loop without a wait: every problem named by its path, nothing written
    broken = {"name": "Broken", "trigger": {"type": "signup"}, "start": "a", "steps": {
        "a": {"type": "update_field", "add_tags": ["x"], "next": "b"}, "b": {"type": "condition", "previous_email": "opened",
                                                                          "then": "a", "else": "nowhere"}}}
    at.text_area(key="automation_new_json").input(json.dumps(broken))
    at.button(key="automation_create").click().run()
    assert not at.exception
    shown = _texts(at)
    assert "steps.b.else" in shown and "nowhere" in shown
    at.text_area(key="automation_new_json").input("{not json")
    at.button(key="automation_create").click().run()
    assert "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2" in _texts(at)
    with session_scope(url) as s:
        assert auto.list_automations(s, "acme") == []
    # the starter flow as it is: a DRAFT automation drawn as a flow
    at.text_area(key="automation_new_json").input(json.dumps(STARTER_FLOW))
    at.button(key="automation_create").click().run()
    assert not at.exception and not at.error
    with session_scope(url) as s:
        created = auto.list_automations(s, "acme")
        assert [(a.name, a.status) for a in created] == [("Welcome series", "DRAFT")]
    assert len(at.get("vega_lite_chart")) == 1
