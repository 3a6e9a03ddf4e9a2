"""The workflow engine running Ava's plans on SQLite and PostgreSQL: steps run once, in order, with retries, escalation,
recovery of a dead runner's step, and human overrides."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agents.ava import execution as ava
from agents.ava.models import Goal, PlanRequest
from agents.ava.planner import plan_campaign
from agents.ava.steps import HANDLERS
from agents.settings import AgentSettings
from agents.source import read_post
from campaigns.access.users import set_four_eyes
from campaigns.audiences.segments import save_segment
from campaigns.core.enums import CampaignStatus, EmailCampaignStatus, QueueStatus, WorkflowStepStatus
from campaigns.email import broadcasts
from campaigns.email.templates import install_starters
from campaigns.core.audit import entries
from campaigns.social.accounts import add_account
from campaigns.social.worker import publish_due
from campaigns.core import queue
from campaigns.core.store.db import session_scope
from campaigns.lifecycle.alerts import list_alerts
from campaigns.core.store.models import (AuditLog, BudgetAllocation, Campaign, CampaignContent, CampaignMetric, CampaignWorkflow, EmailCampaign,
                                        SocialQueueItem)
from campaigns.workflows import engine
from campaigns.workflows.models import Handler
from publishers.sandbox import sandbox_publishers

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
START, END = date(2026, 12, 1), date(2026, 12, 21)
SETTINGS = AgentSettings(llm_engine="offline")


def _plan(posts_dir: Path | None, channels=("x", "facebook", "linkedin", "email", "google_ads"), budget="10000", segments=("Subscribers",)):
    request = PlanRequest(goal=Goal(type="CONVERSION", target=150), budget=Decimal(budget), start=START, end=END, timezone="Europe/Berlin",
                          channels=list(channels), variations=2, segments=list(segments))
    source = read_post(posts_dir / "long.md") if posts_dir else None
    return plan_campaign(request, source=source, settings=SETTINGS, now=NOW)


def _create(store_url: str, plan, **kwargs) -> str:
    with session_scope(store_url) as session:
        campaign, _ = ava.create_campaign_from_plan(session, "acme", plan, actor="planner", now=NOW, **kwargs)
        return campaign.id


def _connect_accounts(store_url: str, platforms=("x", "facebook", "linkedin")) -> None:
    handles = {"x": "1234", "facebook": "5678", "linkedin": "urn:li:organization:42", "instagram": "91011"}
    with session_scope(store_url) as session:
        for platform in platforms:
            add_account(session, "acme", platform, handles[platform], actor="test")


def _email_ready(store_url: str, segment: str = "Subscribers") -> int:
    """The plan's segment saved and the starter templates (Article has a content slot) installed; the segment's id."""
    with session_scope(store_url) as session:
        install_starters(session, "acme")
        return save_segment(session, "acme", segment, {}, actor="test").id


def _run(store_url: str, when: datetime):
    return ava.run_due_steps(store_url, when, settings=SETTINGS)


def _steps(store_url: str, campaign_id: str) -> dict[int, CampaignWorkflow]:
    with session_scope(store_url) as session:
        rows = session.scalars(select(CampaignWorkflow).where(CampaignWorkflow.campaign_id == campaign_id)).all()
        return {r.step_order: r for r in rows}


def _status(store_url: str, campaign_id: str) -> dict[int, str]:
    return {order: row.status.value for order, row in _steps(store_url, campaign_id).items()}


def _approve_all(store_url: str, campaign_id: str) -> None:
    with session_scope(store_url) as session:
        for content in session.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id)):
            ava.approve(session, "acme", content.id, "boss")


def _audit_count(store_url: str, action: str, campaign_id: str) -> int:
    with session_scope(store_url) as session:
        return session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action, AuditLog.entity_id == campaign_id))


def test_a_plan_runs_from_drafts_to_the_final_report(store_url, posts_dir, tmp_path) -> None:
    plan = _plan(posts_dir)
    campaign_id = _create(store_url, plan)
    assert _status(store_url, campaign_id)[0] == "DONE"

    first = _run(store_url, NOW)
    assert [(r.step_order, r.outcome) for r in first.runs] == [(1, "done"), (2, "waiting")]
    with session_scope(store_url) as session:
        drafts = session.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id)).all()
        assert len(drafts) == 10 and {c.status.value for c in drafts} == {"DRAFT"}

    _approve_all(store_url, campaign_id)
    _connect_accounts(store_url)
    segment_id = _email_ready(store_url)
    second = _run(store_url, NOW + timedelta(minutes=1))
    assert [(r.step_order, r.outcome) for r in second.runs] == [(2, "done"), (3, "done")]
    with session_scope(store_url) as session:
        assert session.get(Campaign, campaign_id).status is CampaignStatus.SCHEDULED
        items = session.scalars(select(SocialQueueItem).where(SocialQueueItem.campaign_id == campaign_id)).all()
        assert len(items) == 6 and all(START <= i.scheduled_at.date() <= END for i in items)
        # each approved email is an email campaign of the campaign, for the plan's segment, scheduled at its slot
        emails = session.scalars(select(EmailCampaign).where(EmailCampaign.campaign_id == campaign_id)).all()
        assert len(emails) == 2 and {e.status for e in emails} == {EmailCampaignStatus.SCHEDULED} and {e.segment_id for e in emails} == {segment_id}
        assert all(START <= e.scheduled_at.date() <= END and e.body_markdown and e.source_content_id for e in emails)
    schedule = _steps(store_url, campaign_id)[3].result
    assert len(schedule["email"]) == 2 and len(schedule["ads"]) == 2 and not schedule["unqueued"]
    assert {e["email_campaign_id"] for e in schedule["email"]} == {e.id for e in emails}
    # the ads copy is in the two import files, recorded on the step
    assert len(schedule["ads_export"]["exported"]) == 2 and len(schedule["ads_export"]["files"]) == 2
    google, meta = (Path(f) for f in schedule["ads_export"]["files"])
    assert google.read_text(encoding="utf-8").startswith("Campaign,Ad group,Ad type,Headline 1") and meta.name == "meta_bulk_upload.csv"
    assert campaign_id in schedule["ads"][0]["note"] and "Google Ads Editor" in schedule["ads"][0]["note"]

    # the publishing worker (a separate schedule) sends the posts when they are due
    after_flight = datetime(2026, 12, 22, 12, tzinfo=UTC)
    publish_due(store_url, sandbox_publishers(tmp_path / "outbox"), "worker-1", after_flight)
    with session_scope(store_url) as session:
        statuses = {i.status for i in session.scalars(select(SocialQueueItem).where(SocialQueueItem.campaign_id == campaign_id))}
        assert statuses == {QueueStatus.PUBLISHED}
        # the metrics land: the campaign spent little and earned less than it spent
        for day in range(10):
            session.add(CampaignMetric(merchant_id="acme", campaign_id=campaign_id, date=START + timedelta(days=day), channel="google_ads",
                                       impressions=1000, clicks=30, conversions=1, spend=Decimal("100"), revenue=Decimal("20")))
            session.add(CampaignMetric(merchant_id="acme", campaign_id=campaign_id, date=START + timedelta(days=day), channel="email",
                                       impressions=500, clicks=20, conversions=2, spend=Decimal("10"), revenue=Decimal("50"), email_clicks=7))

    middle = datetime(2026, 12, 11, 12, tzinfo=UTC)
    third = _run(store_url, middle)
    assert [(r.step_order, r.outcome) for r in third.runs] == [(4, "done"), (5, "done"), (6, "done")]
    monitor = _steps(store_url, campaign_id)[5].result
    triggers = {t["trigger"] for t in monitor["triggered"]}
    assert {"under_pacing", "roas_below_target"} <= triggers
    assert monitor["metrics"]["spend"] == 1100 and monitor["metrics"]["email_clicks"] == 70  # read from campaign_metrics
    # the fired triggers became alerts for the app; pacing by hand: the flight is Nov 30 23:00 to Dec 21 23:00 UTC (504 h),
    # Dec 11 12:00 is 253 h in, so the plan had spent 10000 * 253 / 504 = 5019.84 and 1100 / 5019.84 = 0.2191 of it
    with session_scope(store_url) as session:
        alerts = {a.kind: a for a in list_alerts(session, "acme", campaign_id)}
        assert {"under_pacing", "roas_below_target"} <= set(alerts) and "roas_drop" not in alerts  # an even return did not drop
        assert alerts["under_pacing"].details["value"] == 0.2191 and alerts["under_pacing"].times_raised == 1
    rebalance = _steps(store_url, campaign_id)[6].result
    assert rebalance["rebalanced"] is True
    with session_scope(store_url) as session:
        rows = session.scalars(select(BudgetAllocation).where(BudgetAllocation.campaign_id == campaign_id)).all()
        assert sum(r.recommended_allocation for r in rows) == Decimal(rebalance["remaining"]) == Decimal("10000") - Decimal("1100")
        by_channel = {r.channel: r for r in rows}
        # email earned 5x its spend and ads 0.2x: the recommendation leans towards email
        assert by_channel["email"].recommended_allocation / by_channel["email"].allocated > by_channel["google_ads"].recommended_allocation / by_channel["google_ads"].allocated

    final = _run(store_url, datetime(2026, 12, 23, 12, tzinfo=UTC))
    assert (7, "done") in [(r.step_order, r.outcome) for r in final.runs]
    assert set(_status(store_url, campaign_id).values()) == {"DONE"}
    assert _steps(store_url, campaign_id)[7].result["final"] is True
    with session_scope(store_url) as session:  # the final monitor updated the open alerts instead of adding copies
        again = list_alerts(session, "acme", campaign_id)
        assert len(again) == len({a.kind for a in again}) and next(a for a in again if a.kind == "roas_below_target").times_raised == 2
    # every step ran exactly once
    assert _audit_count(store_url, "workflow.step_done", campaign_id) == 7
    assert _run(store_url, datetime(2027, 1, 1, tzinfo=UTC)).runs == []


def test_re_runs_and_concurrent_runners_do_each_step_once(store_url, posts_dir) -> None:
    campaign_id = _create(store_url, _plan(posts_dir))
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(_run(store_url, NOW))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _run(store_url, NOW)
    with session_scope(store_url) as session:
        assert session.scalar(select(func.count()).select_from(CampaignContent).where(CampaignContent.campaign_id == campaign_id)) == 10
    assert _audit_count(store_url, "workflow.step_done", campaign_id) == 1
    outcomes = [r.outcome for report in reports for r in report.runs if r.step_order == 1]
    assert outcomes.count("done") == 1


def test_failures_are_retried_with_backoff_then_escalated(store_url, monkeypatch) -> None:
    campaign_id = _create(store_url, _plan(None))
    calls = []

    def broken(ctx):
        calls.append(ctx.now)
        raise RuntimeError("warehouse unreachable")

    monkeypatch.setitem(HANDLERS, "await_approval", Handler(broken))
    assert [r.outcome for r in _run(store_url, NOW).runs] == ["retry"]
    assert _run(store_url, NOW + timedelta(seconds=30)).runs == []  # not due before the backoff
    assert [r.outcome for r in _run(store_url, NOW + queue.max_backoff(1)).runs] == ["retry"]
    report = _run(store_url, NOW + timedelta(minutes=4))
    assert [r.outcome for r in report.runs] == ["escalated"]
    step = _steps(store_url, campaign_id)[2]
    assert step.status is WorkflowStepStatus.FAILED and step.attempts == 3 and "warehouse unreachable" in step.error
    assert len(calls) == 3
    with session_scope(store_url) as session:
        escalation = next(e for e in entries(session, "acme", campaign_id) if e.action == "workflow.escalate")
        assert "campaigns workflow retry" in escalation.details["reason"]
    assert _run(store_url, NOW + timedelta(hours=1)).runs == []  # FAILED waits for a person

    monkeypatch.undo()
    with session_scope(store_url) as session:
        engine.retry_step(session, "acme", campaign_id, 2, "boss")
    assert [(r.step_order, r.outcome) for r in _run(store_url, NOW + timedelta(hours=1)).runs][0] == (2, "done")


def test_pause_resume_cancel_skip_and_edit_are_audited(store_url, posts_dir) -> None:
    campaign_id = _create(store_url, _plan(posts_dir))
    with session_scope(store_url) as session:
        assert engine.pause(session, "acme", campaign_id, "boss", "legal review") == "paused"
    assert _run(store_url, NOW).runs == []
    with session_scope(store_url) as session:
        engine.resume(session, "acme", campaign_id, "boss")
        ava.edit_step(session, "acme", campaign_id, 1, {"due_at": "2026-11-21T09:00:00+00:00"}, "boss")
    assert _run(store_url, NOW).runs == []  # generation moved to tomorrow
    assert [r.step_order for r in _run(store_url, NOW + timedelta(days=1)).runs] == [1, 2]
    with session_scope(store_url) as session:
        engine.skip_step(session, "acme", campaign_id, 2, "boss", "approved by phone")
        with pytest.raises(engine.WorkflowError, match="only a FAILED step"):
            engine.retry_step(session, "acme", campaign_id, 3, "boss")
        with pytest.raises(engine.WorkflowError, match="editable"):
            ava.edit_step(session, "acme", campaign_id, 3, {"engine": "x"}, "boss")
        with pytest.raises(engine.WorkflowError, match="no time zone"):
            ava.edit_step(session, "acme", campaign_id, 3, {"due_at": "2026-12-01T09:00:00"}, "boss")
        with pytest.raises(engine.WorkflowError, match="only PENDING, WAITING or FAILED"):
            engine.skip_step(session, "acme", campaign_id, 1, "boss")
        with pytest.raises(engine.WorkflowError, match="holds the plan"):
            engine.skip_step(session, "acme", campaign_id, 0, "boss")
        assert engine.cancel(session, "acme", campaign_id, "boss", "budget cut") == "cancelled"
        with pytest.raises(engine.WorkflowError, match="cancelled"):
            engine.resume(session, "acme", campaign_id, "boss")
    assert _run(store_url, NOW + timedelta(days=2)).runs == []
    statuses = _status(store_url, campaign_id)
    assert statuses[2] == "SKIPPED" and {statuses[o] for o in (3, 4, 5, 6, 7)} == {"CANCELLED"}
    with session_scope(store_url) as session:
        actions = [e.action for e in entries(session, "acme", campaign_id, limit=100)]
        for action in ("workflow.pause", "workflow.resume", "workflow.step_edit", "workflow.step_skip", "workflow.cancel"):
            assert action in actions
        status = ava.status(session, "acme", campaign_id)
        assert status["state"] == "cancelled" and len(status["steps"]) == 8
        with pytest.raises(LookupError):
            ava.status(session, "globex", campaign_id)


def test_posts_that_cannot_be_queued_wait_for_a_person(store_url, posts_dir) -> None:
    campaign_id = _create(store_url, _plan(posts_dir, channels=("x", "instagram", "email")))
    _run(store_url, NOW)
    _approve_all(store_url, campaign_id)
    _connect_accounts(store_url, ("instagram",))
    report = _run(store_url, NOW + timedelta(minutes=1))
    assert [(r.step_order, r.outcome) for r in report.runs] == [(2, "done"), (3, "waiting")]
    result = _steps(store_url, campaign_id)[3].result
    reasons = " ".join(u["reason"] for u in result["unqueued"])
    assert "no active x account" in reasons and "needs an image" in reasons
    _run(store_url, NOW + timedelta(minutes=2))
    assert _audit_count(store_url, "workflow.escalate", campaign_id) == 1  # escalated once, not every minute
    with session_scope(store_url) as session:
        engine.skip_step(session, "acme", campaign_id, 3, "boss", "posting by hand this time")
    assert _status(store_url, campaign_id)[3] == "SKIPPED"


def test_failed_posts_escalate_the_publish_step(store_url, posts_dir) -> None:
    campaign_id = _create(store_url, _plan(posts_dir, channels=("x", "email")))
    _run(store_url, NOW)
    _approve_all(store_url, campaign_id)
    _connect_accounts(store_url, ("x",))
    _email_ready(store_url)
    _run(store_url, NOW + timedelta(minutes=1))
    with session_scope(store_url) as session:
        item = session.scalars(select(SocialQueueItem).where(SocialQueueItem.campaign_id == campaign_id)).first()
        item.status = QueueStatus.NEEDS_REVIEW
    report = _run(store_url, datetime(2026, 12, 22, tzinfo=UTC))
    assert (4, "escalated") in [(r.step_order, r.outcome) for r in report.runs]
    assert "need review" in _steps(store_url, campaign_id)[4].error


def test_a_workflow_without_content_in_the_plan_repurposes_the_post_itself(store_url, posts_dir) -> None:
    plan = _plan(None, channels=("x", "email"))
    campaign_id = _create(store_url, plan, source_markdown=(posts_dir / "short.md").read_text(), source_name="short.md")
    report = _run(store_url, NOW)
    assert [(r.step_order, r.outcome) for r in report.runs] == [(1, "done"), (2, "waiting")]
    contents = _steps(store_url, campaign_id)[1].result["contents"]
    assert {c["format"] for c in contents} == {"x", "email"}


def test_the_generate_step_writes_in_the_merchants_brand_voice(store_url, posts_dir) -> None:
    from campaigns.core.merchants import set_brand_voice

    with session_scope(store_url) as session:
        set_brand_voice(session, "acme", actor="test", sign_off="Stay warm, the Juniper Finch team", hashtag_count=0)
    campaign_id = _create(store_url, _plan(None, channels=("x", "email")), source_markdown=(posts_dir / "short.md").read_text(),
                          source_name="short.md")
    assert _steps(store_url, campaign_id)[1].config["brand_voice"]["sign_off"] == "Stay warm, the Juniper Finch team"
    _run(store_url, NOW)
    with session_scope(store_url) as session:
        bodies = session.scalars(select(CampaignContent.body).where(CampaignContent.campaign_id == campaign_id)).all()
    assert bodies and all("Stay warm, the Juniper Finch team" in b for b in bodies)
    assert all("#" not in b.split("utm_content")[0].split("http")[0] for b in bodies)


def test_a_campaign_gets_one_workflow(store_url, posts_dir) -> None:
    plan = _plan(None)
    campaign_id = _create(store_url, plan)
    with session_scope(store_url) as session:
        with pytest.raises(engine.WorkflowError, match="already has a workflow"):
            ava.create_workflow(session, "acme", campaign_id, plan, actor="planner")
    assert _status(store_url, campaign_id)[1] == "SKIPPED"  # no post: nothing to generate


def test_due_times_live_in_the_column(store_url, posts_dir) -> None:
    campaign_id = _create(store_url, _plan(posts_dir))
    steps = _steps(store_url, campaign_id)
    # the monitor is due at mid-flight: Dec 1 to Dec 21 in Berlin is Nov 30 23:00 UTC to Dec 21 23:00 UTC, so Dec 11 11:00 UTC
    assert steps[5].due_at == datetime(2026, 12, 11, 11, tzinfo=UTC)
    assert all(row.due_at == datetime.fromisoformat(row.config["due_at"]) for order, row in steps.items() if order > 0)
    assert steps[0].due_at is None
    with session_scope(store_url) as session:
        ava.edit_step(session, "acme", campaign_id, 1, {"due_at": "2026-11-22T10:00:00+01:00"}, "boss")
        row = session.scalar(select(CampaignWorkflow).where(CampaignWorkflow.campaign_id == campaign_id, CampaignWorkflow.step_order == 1))
        assert row.due_at == datetime(2026, 11, 22, 9, tzinfo=UTC) and row.config["due_at"] == "2026-11-22T09:00:00+00:00"
        edit = next(e for e in entries(session, "acme", campaign_id) if e.action == "workflow.step_edit")
        assert edit.details["before"]["due_at"] == NOW.isoformat()
        # the column wins over a stale config value
        row.config = {**row.config, "due_at": NOW.isoformat()}
    assert _run(store_url, NOW).runs == []
    with session_scope(store_url) as session:
        assert ava.status(session, "acme", campaign_id)["steps"][1]["due_at"] == "2026-11-22T09:00:00+00:00"


def test_an_email_without_a_segment_waits_with_the_fix_and_goes_once_a_person_sets_one(store_url, posts_dir) -> None:
    campaign_id = _create(store_url, _plan(posts_dir, channels=("email",), segments=()))
    _run(store_url, NOW)
    _approve_all(store_url, campaign_id)
    with session_scope(store_url) as session:
        install_starters(session, "acme")
    assert [(r.step_order, r.outcome) for r in _run(store_url, NOW + timedelta(minutes=1)).runs] == [(2, "done"), (3, "waiting")]
    unqueued = _steps(store_url, campaign_id)[3].result["unqueued"]
    assert len(unqueued) == 2 and all(f"campaigns workflow edit {campaign_id} 3 --set email_segment=ID" in u["reason"] for u in unqueued)
    with session_scope(store_url) as session:
        segment = save_segment(session, "acme", "Regulars", {}, actor="test")
        ava.edit_step(session, "acme", campaign_id, 3, {"email_segment": "Regulars"}, "boss")
        # one email is edited after its approval: it waits for a new one, the other goes out
        edited = session.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id).order_by(CampaignContent.id)).first()
        edited.body += " (edited)"
        edited_id = edited.id
    _run(store_url, NOW + timedelta(minutes=2))
    result = _steps(store_url, campaign_id)[3].result
    assert [u["content_id"] for u in result["unqueued"]] == [edited_id] and "campaigns approve cc-" in result["unqueued"][0]["reason"]
    with session_scope(store_url) as session:
        ava.approve(session, "acme", edited_id, "boss")
    _run(store_url, NOW + timedelta(minutes=3))
    _run(store_url, NOW + timedelta(minutes=4))  # nothing runs twice
    assert _status(store_url, campaign_id)[3] == "DONE"
    with session_scope(store_url) as session:
        emails = session.scalars(select(EmailCampaign).where(EmailCampaign.campaign_id == campaign_id)).all()
        assert len(emails) == 2 and {e.segment_id for e in emails} == {segment.id}


def test_under_four_eyes_ava_holds_her_emails_until_another_person_approves_them(store_url, posts_dir) -> None:
    """Ava makes each approved email draft an email campaign; under the four-eyes rule her own version is not an approval, so she
    schedules nothing (the step waits, naming the approval to give) until a person approved it, then schedules it at its slot."""
    campaign_id = _create(store_url, _plan(posts_dir, channels=("email",)))
    _run(store_url, NOW)
    _approve_all(store_url, campaign_id)
    _email_ready(store_url)
    with session_scope(store_url) as session:
        set_four_eyes(session, "acme", True, "owner")
    assert [(r.step_order, r.outcome) for r in _run(store_url, NOW + timedelta(minutes=1)).runs] == [(2, "done"), (3, "waiting")]
    held = _steps(store_url, campaign_id)[3].result["unqueued"]
    with session_scope(store_url) as session:
        emails = session.scalars(select(EmailCampaign).where(EmailCampaign.campaign_id == campaign_id).order_by(EmailCampaign.id)).all()
        assert len(emails) == 2 and {e.status for e in emails} == {EmailCampaignStatus.DRAFT} and all(e.scheduled_at is None for e in emails)
        assert [u["email_campaign_id"] for u in held] == [e.id for e in emails]
        assert all(f"campaigns email approve --campaign {u['email_campaign_id']}" in u["reason"] for u in held)
        first, second = (e.id for e in emails)
        broadcasts.approve_email_campaign(session, "acme", first, "boss")
    _run(store_url, NOW + timedelta(minutes=2))
    with session_scope(store_url) as session:
        assert session.get(EmailCampaign, first).status is EmailCampaignStatus.SCHEDULED
        assert session.get(EmailCampaign, second).status is EmailCampaignStatus.DRAFT
        assert [u["email_campaign_id"] for u in _steps(store_url, campaign_id)[3].result["unqueued"]] == [second]
        broadcasts.approve_email_campaign(session, "acme", second, "boss")
    _run(store_url, NOW + timedelta(minutes=3))
    assert _status(store_url, campaign_id)[3] == "DONE"
    with session_scope(store_url) as session:
        emails = session.scalars(select(EmailCampaign).where(EmailCampaign.campaign_id == campaign_id)).all()
        assert {e.status for e in emails} == {EmailCampaignStatus.SCHEDULED} and all(START <= e.scheduled_at.date() <= END for e in emails)
        scheduled_by = session.scalars(select(AuditLog.actor).where(AuditLog.action == "email.schedule")).all()
        assert scheduled_by == ["ava", "ava"]  # through the scheduling service, audited
