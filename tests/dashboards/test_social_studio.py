"""Social Scheduler and Content Studio with AppTest: render on the demo and an empty home, schedule, publish, approve, edit."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns.core.enums import ContentStatus, QueueStatus
from campaigns.content.approvals import KIND_REPURPOSED
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Approval, RepurposedContent, SocialAccount, SocialQueueItem
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
    assert "Approvals inbox" in {h.value for h in at.subheader}
    assert "Orchestration" not in {t.label for t in at.tabs}  # Ava's workflows have their own page


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


def test_the_approvals_inbox_approves_and_rejects_campaign_content_and_drafts(home, app, tmp_path) -> None:
    from agents.leo.repurpose import repurpose
    from agents.leo.store import save_result
    from agents.settings import AgentSettings
    from agents.source import read_post
    from campaigns.lifecycle.service import CampaignInput, create_campaign
    from campaigns.core.merchants import ensure_merchant
    from campaigns.core.store.models import CampaignContent

    url = get_settings().store_url
    migrate(url)
    post = read_post(Path(__file__).resolve().parents[1] / "agents" / "posts" / "short.md")
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        campaign = create_campaign(s, "acme", CampaignInput(name="Zips", type="ENGAGEMENT"), "test")
        saved = save_result(s, "acme", repurpose(post, ["x"], 2, settings=AgentSettings(llm_engine="offline")), actor="test", campaign_id=campaign.id)
        loose = save_result(s, "acme", repurpose(post, ["facebook"], 1, settings=AgentSettings(llm_engine="offline")), actor="test")
    at = app(get_settings())
    at.switch_page(STUDIO).run()
    assert_clean(at)
    options = at.selectbox(key="studio_inbox_item").options
    labels = {o.split(" · ")[0] for o in options}  # AppTest lists the shown labels
    assert {f"campaign content {saved[0].content_id}", f"campaign content {saved[1].content_id}", f"repurposed {loose[0].repurposed_id}"} <= labels
    at.selectbox(key="studio_inbox_item").set_value(f"cc-{saved[0].content_id}").run()
    at.button(key="studio_inbox_approve").click().run()
    assert_clean(at)
    assert f"Approved cc-{saved[0].content_id}" in _texts(at)
    at.selectbox(key="studio_inbox_item").set_value(f"rc-{loose[0].repurposed_id}").run()
    at.button(key="studio_inbox_reject").click().run()
    assert_clean(at)
    with session_scope(url) as s:
        content = s.get(CampaignContent, saved[0].content_id)
        assert content.status is ContentStatus.APPROVED
        assert s.get(RepurposedContent, saved[0].repurposed_id).status is ContentStatus.APPROVED  # the same version, both rows
        assert s.scalar(select(Approval).where(Approval.content_id == content.id, Approval.content_hash == content.content_hash)) is not None
        assert s.get(RepurposedContent, loose[0].repurposed_id).status is ContentStatus.REJECTED
    assert f"campaign content {saved[0].content_id}" not in {o.split(" · ")[0] for o in at.selectbox(key="studio_inbox_item").options}


def test_each_variant_shows_its_angle_and_its_source_sentences(home, app) -> None:
    from agents.leo.repurpose import repurpose
    from agents.leo.store import save_result
    from agents.settings import AgentSettings
    from agents.source import read_post
    from campaigns.core.merchants import ensure_merchant

    url = get_settings().store_url
    migrate(url)
    post = read_post(Path(__file__).resolve().parents[1] / "agents" / "leo" / "corpus" / "05-opinion.md")
    result = repurpose(post, ["linkedin"], 2, settings=AgentSettings(llm_engine="offline"))
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        save_result(s, "acme", result, actor="test")
    at = app(get_settings())
    at.switch_page(STUDIO).run()
    assert_clean(at)
    labels = [e.label for e in at.expander if e.label.startswith("Why Leo wrote this")]
    assert len(labels) == 2
    for output in result.outputs:
        assert any(f"{output.angle} angle, {len(output.source_sentences)} source sentence(s)" in label for label in labels)
    shown = {t.value for t in at.text}
    for ref in result.outputs[0].source_sentences:
        assert f"{ref.id}: {ref.text}" in shown
    assert any("Angle: benefit — lead with the post's main claim" in c.value for c in at.caption)
