"""The Orchestration page with AppTest on a fresh store: Ava's plan, workflow steps, confirmed overrides, step edits, new plans, cost."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agents.ava import execution as ava
from agents.ava.models import Goal, PlanRequest
from agents.ava.planner import plan_campaign
from agents.settings import AgentSettings
from agents.source import read_post
from campaigns.core.enums import ContentStatus, WorkflowStepStatus
from campaigns.core.audit import entries
from campaigns.core.merchants import ensure_merchant
from campaigns.demo.owner import DEMO_OWNER
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.workflows.engine import workflow_plan
from campaigns.core.store.models import Approval, Campaign, CampaignContent, CampaignWorkflow
from tests.dashboards.helpers import assert_clean

PAGE = "views/orchestration.py"
POSTS = Path(__file__).resolve().parents[1] / "agents" / "posts"
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _texts(at) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def _store() -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as session:
        ensure_merchant(session, "acme", timezone="Europe/Berlin")
    return url


def _planned(url: str, *, blog: bool = True) -> str:
    request = PlanRequest(goal=Goal(type="CONVERSION", target=150), budget=Decimal("10000"), start=date(2026, 12, 1), end=date(2026, 12, 21),
                          timezone="Europe/Berlin", channels=["x", "email", "google_ads"], variations=1)
    plan = plan_campaign(request, source=read_post(POSTS / "short.md") if blog else None, settings=AgentSettings(llm_engine="offline"), now=NOW)
    with session_scope(url) as session:
        return ava.create_campaign_from_plan(session, "acme", plan, actor="test", now=NOW)[0].id


def _open(app):
    at = app(get_settings())
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def _spec(at) -> str:
    return " ".join(c.proto.spec for c in at.get("vega_lite_chart"))


def _frame(at, *columns: str):
    """The first table showing these columns (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def _confirm(at, reason: str = "") -> None:
    assert at.button(key="orch_confirm")  # asked first, nothing done yet
    if reason:
        at.text_input(key="orch_reason").input(reason).run()
    at.button(key="orch_confirm").click().run()
    assert_clean(at)


def test_empty_state_says_how_to_plan(home, app) -> None:
    _store()
    at = _open(app)
    assert at.title[0].value == "Orchestration"
    assert "campaigns plan --goal CONVERSION" in at.info[0].value
    assert at.expander[0].proto.expanded  # the plan form is open for a first plan


def test_the_plan_is_shown_with_timeline_channels_budget_contingencies_and_prediction(home, app) -> None:
    url = _store()
    campaign_id = _planned(url)
    with session_scope(url) as session:
        plan = workflow_plan(session, "acme", campaign_id)
    at = _open(app)
    assert at.selectbox(key="orch_campaign").value == campaign_id
    spec = _spec(at)
    for phase in plan["timeline"]:
        assert phase["name"] in spec
    assert "step 5: monitor" in spec and "step 7: monitor" in spec
    channels = _frame(at, "channel", "reason")
    assert sorted(channels["channel"]) == ["email", "google_ads", "x"] and all(channels["reason"].str.len() > 10)
    allocation = _frame(at, "amount", "share")
    assert sum(Decimal(a) for a in allocation["amount"]) == Decimal("10000")
    assert "10,000.00 allocated of a 10,000.00 USD budget" in _texts(at)
    contingencies = _frame(at, "trigger", "when")
    assert set(contingencies["trigger"]) == {c["trigger"] for c in plan["contingencies"]} and len(contingencies) >= 3
    metrics = {m.label: m.value for m in at.metric}
    p = plan["prediction"]
    assert metrics["Expected conversions"] == f"{p['expected']:,.1f}"
    assert metrics[f"Range ({p['interval']:.0%})"] == f"{p['low']:,.1f} – {p['high']:,.1f}"
    assert metrics["LLM cost"] == "$0.0000" and metrics["Workflow"] == "active"
    steps = _frame(at, "step", "attempts")
    assert list(steps["step"]) == list(range(8)) and set(steps["status"]) == {"DONE", "PENDING"}
    assert steps["due (UTC)"][5] == "2026-12-11 11:00"  # mid-flight: Berlin's Dec 1-21 is Nov 30 23:00 to Dec 21 23:00 UTC


def test_overrides_ask_first_and_are_audited(home, app) -> None:
    url = _store()
    campaign_id = _planned(url)
    at = _open(app)
    at.button(key="orch_pause").click().run()
    assert "Pause the workflow?" in _texts(at)
    with session_scope(url) as session:
        assert ava.status(session, "acme", campaign_id)["state"] == "active"  # not before the confirmation
    _confirm(at, "legal review")
    assert f"Workflow of {campaign_id}: pause done." in _texts(at)
    at.button(key="orch_resume").click().run()
    at.button(key="orch_cancel").click().run()  # changed their mind
    assert_clean(at)
    with session_scope(url) as session:
        assert ava.status(session, "acme", campaign_id)["state"] == "paused"
        pause = next(e for e in entries(session, "acme", campaign_id) if e.action == "workflow.pause")
        assert pause.actor == DEMO_OWNER and pause.details["reason"] == "legal review"
    at.button(key="orch_resume").click().run()
    _confirm(at)
    at.selectbox(key="orch_step").set_value(4).run()
    at.button(key="orch_skip").click().run()
    _confirm(at, "posting by hand")
    assert "skip step 4 done" in _texts(at)
    with session_scope(url) as session:
        assert ava.status(session, "acme", campaign_id)["state"] == "active"
        row = session.scalar(select(CampaignWorkflow).where(CampaignWorkflow.campaign_id == campaign_id, CampaignWorkflow.step_order == 4))
        assert row.status is WorkflowStepStatus.SKIPPED and row.result["skip_reason"] == "posting by hand"
    at.selectbox(key="orch_step").set_value(4).run()
    assert at.button(key="orch_retry").disabled  # only a FAILED step can be retried
    at.button(key="orch_cancel").click().run()
    _confirm(at)
    with session_scope(url) as session:
        assert ava.status(session, "acme", campaign_id)["state"] == "cancelled"
    assert at.button(key="orch_resume").disabled and at.button(key="orch_cancel").disabled


def test_drafts_are_approved_or_rejected_from_the_page(home, app) -> None:
    url = _store()
    campaign_id = _planned(url)
    ava.run_due_steps(url, NOW, settings=AgentSettings(llm_engine="offline"))  # generate the drafts
    with session_scope(url) as session:
        drafts = [c.id for c in session.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id).order_by(CampaignContent.id))]
    assert len(drafts) >= 2
    at = _open(app)
    at.selectbox(key="orch_content").set_value(drafts[0]).run()
    at.button(key="orch_approve").click().run()
    _confirm(at)
    at.selectbox(key="orch_content").set_value(drafts[1]).run()
    at.button(key="orch_reject").click().run()
    _confirm(at, "off brand")
    with session_scope(url) as session:
        first, second = session.get(CampaignContent, drafts[0]), session.get(CampaignContent, drafts[1])
        assert first.status is ContentStatus.APPROVED and second.status is ContentStatus.REJECTED
        assert session.scalar(select(Approval).where(Approval.content_id == first.id, Approval.content_hash == first.content_hash,
                                                     Approval.approved_by == DEMO_OWNER)) is not None
    left = at.selectbox(key="orch_content").options  # the shown labels: "cc-ID · channel · text"
    assert not any(o.startswith(f"cc-{drafts[0]} ") or o.startswith(f"cc-{drafts[1]} ") for o in left) and len(left) == len(drafts) - 2


def test_edit_a_step_shows_errors_by_field_then_saves(home, app) -> None:
    url = _store()
    campaign_id = _planned(url)
    at = _open(app)
    at.selectbox(key="orch_edit_step").set_value(5).run()
    prefix = f"orch_edit_{campaign_id}_5_"
    at.text_input(key=prefix + "due_at").input("next tuesday")  # form fields count on submit: no run in between
    at.number_input(key=prefix + "max_attempts").set_value(0)
    at.button(key="orch_edit_save").click().run()
    assert_clean(at)
    shown = _texts(at)
    assert "due_at 'next tuesday' is not ISO-8601" in shown and "max_attempts must be a whole number from 1 to 20" in shown
    with session_scope(url) as session:
        row = session.scalar(select(CampaignWorkflow).where(CampaignWorkflow.campaign_id == campaign_id, CampaignWorkflow.step_order == 5))
        assert row.config["max_attempts"] == 3 and row.due_at == datetime(2026, 12, 11, 11, tzinfo=UTC)
    at.text_input(key=prefix + "due_at").input("2026-12-12T09:00:00+01:00")
    at.number_input(key=prefix + "max_attempts").set_value(5)
    at.button(key="orch_edit_save").click().run()
    assert_clean(at)
    assert "Step 5 (monitor) updated: due_at, max_attempts." in _texts(at)
    with session_scope(url) as session:
        row = session.scalar(select(CampaignWorkflow).where(CampaignWorkflow.campaign_id == campaign_id, CampaignWorkflow.step_order == 5))
        assert row.config["max_attempts"] == 5 and row.due_at == datetime(2026, 12, 12, 8, tzinfo=UTC)
        edit = next(e for e in entries(session, "acme", campaign_id) if e.action == "workflow.step_edit")
        assert edit.actor == DEMO_OWNER and edit.details["after"]["due_at"] == "2026-12-12T08:00:00+00:00"


def test_a_new_plan_from_the_page_saves_the_campaign_and_its_workflow(home, app) -> None:
    url = _store()
    at = _open(app)
    at.text_input(key="orch_plan_budget").input("lots")  # form fields count on submit: no run in between
    at.date_input(key="orch_plan_start").set_value(date(2026, 12, 21))
    at.date_input(key="orch_plan_end").set_value(date(2026, 12, 1))
    at.button(key="orch_plan_submit").click().run()
    assert_clean(at)
    shown = _texts(at)
    assert "'lots' is not a number" in shown and "before start" in shown
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    at.text_input(key="orch_plan_budget").input("5000")
    at.date_input(key="orch_plan_start").set_value(date(2026, 12, 1))
    at.date_input(key="orch_plan_end").set_value(date(2026, 12, 14))
    at.multiselect(key="orch_plan_channels").set_value(["x", "email"])
    at.number_input(key="orch_plan_target").set_value(40.0)
    at.text_area(key="orch_plan_blog").input((POSTS / "short.md").read_text())
    at.button(key="orch_plan_submit").click().run()
    assert_clean(at)
    with session_scope(url) as session:
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.budget == Decimal("5000.00") and campaign.goals["target"] == 40.0
        assert session.scalar(select(func.count()).select_from(CampaignWorkflow).where(CampaignWorkflow.campaign_id == campaign.id)) == 8
        generate = session.scalar(select(CampaignWorkflow).where(CampaignWorkflow.campaign_id == campaign.id, CampaignWorkflow.step_order == 1))
        assert generate.status is WorkflowStepStatus.PENDING and generate.config["content_from_plan"] is True
    assert f"Planned and saved {campaign.id}" in _texts(at)
    assert at.selectbox(key="orch_campaign").value == campaign.id


def test_cost_per_campaign_comes_from_the_usage_rows(home, app) -> None:
    from agents.usage import CallUsage, UsageLedger, persist

    url = _store()
    campaign_id = _planned(url, blog=False)
    ledger = UsageLedger()
    for _ in range(2):  # 1200 in x $3 + 300 out x $15 per million = $0.0081 a call
        ledger.add(CallUsage(task="strategy", model="claude-sonnet-4-5", input_tokens=1200, output_tokens=300, cost_usd=0.0081))
    with session_scope(url) as session:
        persist(session, "acme", ledger.totals(), actor="test", purpose="plan", campaign_id=campaign_id)
    at = _open(app)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["LLM cost"] == "$0.0162" and metrics["Cost (USD)"] == "$0.0162" and metrics["Calls"] == "2"
    costs = _frame(at, "cost_usd", "runs")
    assert list(costs["id"]) == [campaign_id] and costs["cost_usd"][0] == pytest.approx(0.0162)

