"""Social Scheduler and Content Studio with AppTest: render on the demo and an empty home, schedule, publish, approve, edit."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from sqlalchemy import select

from campaigns.domain.enums import ContentStatus, QueueStatus
from campaigns.services.approvals import KIND_REPURPOSED
from campaigns.settings import get_settings
from campaigns.store.db import migrate, session_scope
from campaigns.store.models import Approval, RepurposedContent, SocialAccount, SocialQueueItem
from tests.dashboards.helpers import assert_clean

SOCIAL = "views/social.py"
STUDIO = "views/studio.py"


def _texts(at) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.slow
def test_both_pages_render_with_the_demo(built_home, app) -> None:
    at = app(built_home)
    at.switch_page(SOCIAL).run()
    assert_clean(at)
    assert at.title[0].value == "Social Scheduler"
    assert len(at.selectbox(key="social_account").options) == 4
    assert "The queue is empty" in _texts(at)
    assert at.button(key="compose_schedule").disabled  # nothing written yet

    at.switch_page(STUDIO).run()
    assert_clean(at)
    assert at.title[0].value == "Content Studio"
    assert len(at.selectbox(key="studio_source").options) == 3
    assert "offline engine" in _texts(at) or "model" in _texts(at)
    assert any("Approvals inbox (54)" == t.label for t in at.tabs)
    assert {"Approvals inbox", "Orchestration"} <= {h.value for h in at.subheader}


def test_both_pages_have_an_empty_state(home, app) -> None:
    migrate(get_settings().store_url)
    at = app(get_settings())
    for path, title in ((SOCIAL, "Social Scheduler"), (STUDIO, "Content Studio")):
        at.switch_page(path).run()
        assert_clean(at)
        assert at.title[0].value == title
        assert "campaigns demo-data" in at.info[0].value


@pytest.mark.slow
def test_schedule_a_post_then_publish_it_to_the_sandbox(demo_copy, app) -> None:
    with session_scope(demo_copy.store_url) as s:
        account = s.scalar(select(SocialAccount).where(SocialAccount.merchant_id == "demo", SocialAccount.platform == "x"))
        account_id = account.id
    at = app(demo_copy)
    at.switch_page(SOCIAL).run()
    at.selectbox(key="social_account").set_value(account_id).run()
    at.text_area(key="compose_text").input("Autumn sale starts today: 20% off everything").run()
    assert_clean(at)
    assert "SANDBOX" in at.get("html")[0].proto.body  # the live preview, labelled as the sandbox
    at.radio(key="compose_when").set_value("Pick a time").run()
    at.date_input(key="compose_date").set_value(date(2026, 1, 5)).run()  # in the past: due at once
    at.time_input(key="compose_time").set_value(time(9, 0)).run()
    at.button(key="compose_schedule").click().run()
    assert_clean(at)
    assert "Scheduled post #" in _texts(at)

    with session_scope(demo_copy.store_url) as s:
        items = list(s.scalars(select(SocialQueueItem).where(SocialQueueItem.merchant_id == "demo")))
        assert [(i.account_id, i.status, i.text) for i in items] == [(account_id, QueueStatus.QUEUED, "Autumn sale starts today: 20% off everything")]
        item_id = items[0].id
    queue = at.dataframe[0].value
    assert list(queue["Id"]) == [item_id] and list(queue["Status"]) == ["QUEUED"]

    at.button(key="social_publish_due").click().run()
    assert_clean(at)
    assert f"#{item_id} PUBLISHED" in _texts(at)
    with session_scope(demo_copy.store_url) as s:
        assert s.get(SocialQueueItem, item_id).status is QueueStatus.PUBLISHED
    lines = (demo_copy.home_path / "outbox" / "x.jsonl").read_text().splitlines()
    assert len(lines) == 1 and "Autumn sale starts today" in lines[0]
    json.loads(lines[0])


@pytest.mark.slow
def test_approve_then_edit_a_repurposed_draft(demo_copy, app) -> None:
    at = app(demo_copy)
    at.switch_page(STUDIO).run()
    assert_clean(at)
    approve = next(b for b in at.button if str(b.key).startswith("studio_approve_"))
    rid = int(approve.key.removeprefix("studio_approve_"))
    approve.click().run()
    assert_clean(at)
    assert f"Approved rc-{rid}" in _texts(at)
    with session_scope(demo_copy.store_url) as s:
        row = s.get(RepurposedContent, rid)
        assert row.status is ContentStatus.APPROVED
        approved_hash = row.content_hash
        assert s.scalar(select(Approval).where(Approval.content_kind == KIND_REPURPOSED, Approval.content_id == rid,
                                               Approval.content_hash == approved_hash)) is not None

    edit = at.text_area(key=f"studio_edit_{rid}")
    edit.input(edit.value + " Edited.").run()
    at.button(key=f"studio_save_{rid}").click().run()
    assert_clean(at)
    assert f"Saved the edit of rc-{rid}" in _texts(at)
    with session_scope(demo_copy.store_url) as s:
        row = s.get(RepurposedContent, rid)
        assert row.status is ContentStatus.DRAFT and row.content_hash != approved_hash
        assert s.scalar(select(Approval).where(Approval.content_kind == KIND_REPURPOSED, Approval.content_id == rid,
                                               Approval.content_hash == row.content_hash)) is None


@pytest.mark.slow
def test_pause_a_campaign_workflow_from_the_studio(demo_copy, app) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from agents.ava import workflow as wf
    from agents.ava.models import Goal, PlanRequest
    from agents.ava.planner import plan_campaign
    from agents.settings import AgentSettings

    request = PlanRequest(goal=Goal(type="CONVERSION", target=150), budget=Decimal("5000"), start=date(2026, 12, 1), end=date(2026, 12, 21),
                          timezone="Europe/Berlin", channels=["x", "email"], variations=1)
    plan = plan_campaign(request, source=None, settings=AgentSettings(llm_engine="offline"), now=datetime(2026, 11, 20, 9, tzinfo=UTC))
    with session_scope(demo_copy.store_url) as s:
        campaign_id = wf.create_campaign_from_plan(s, "demo", plan, actor="test")[0].id
    at = app(demo_copy)
    at.switch_page(STUDIO).run()
    assert_clean(at)
    assert at.selectbox(key="studio_workflow").value == campaign_id
    at.button(key="workflow_pause").click().run()
    assert_clean(at)
    assert f"Workflow of {campaign_id}: pause done." in _texts(at)
    with session_scope(demo_copy.store_url) as s:
        assert wf.status(s, "demo", campaign_id)["state"] == "paused"
