"""The campaign's status runs its channels, on SQLite and PostgreSQL with the clock injected.

The scheduler's tick activates a campaign at its start instant (a Berlin merchant's midnight) and completes
it at its end, once even when two ticks run at the same moment; pause holds the posts, email sends and
workflow steps (the real workers claim nothing); resume releases what is still in its window and reports
(or reschedules) what is not; complete and cancel cancel what remains with the reason.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from campaigns.audiences.segments import save_segment
from campaigns.core import queue
from campaigns.core.audit import entries
from campaigns.core.enums import CampaignStatus, EmailCampaignStatus, QueueStatus, WorkflowStepStatus
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignWorkflow, Contact, EmailCampaign, EmailSend, EmailSendStatus, Merchant, SocialQueueItem
from campaigns.email import broadcasts, delivery, recipients, throttle
from campaigns.lifecycle import service
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import schedule_text
from campaigns.social.worker import claim_due
from campaigns.workflows import campaign_status
from campaigns.workflows.engine import create_workflow, run_due_steps
from campaigns.workflows.models import Outcome, StepSpec

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 1, tzinfo=BERLIN).astimezone(UTC)  # 2026-11-30 23:00 UTC
END = datetime(2026, 12, 8, tzinfo=BERLIN).astimezone(UTC)
POST1, POST2 = START + timedelta(hours=10), START + timedelta(days=3)


def _campaign(url: str, status: CampaignStatus = CampaignStatus.SCHEDULED, name: str = "Winter") -> str:
    with session_scope(url) as s:
        s.get(Merchant, "acme").timezone = "Europe/Berlin"
        c = service.create_campaign(s, "acme", service.CampaignInput(name=name, type="CONVERSION", channels=["x", "email"], budget=Decimal("1000"),
                                                                     start_date=START, end_date=END), actor="ana")
        if status is not CampaignStatus.DRAFT:
            service.transition(s, "acme", c.id, "schedule", "ana")
        return c.id


def _channels(url: str, campaign_id: str) -> dict[str, int]:
    """Two posts, a workflow step and an email campaign of two recipients, all of `campaign_id`."""
    with session_scope(url) as s:
        account = add_account(s, "acme", "x", "@acme", actor="ana", timezone="Europe/Berlin")
        posts = [schedule_text(s, "acme", account_id=account.id, text=f"Winter is here ({n})", scheduled_at=at, author="ana",
                               campaign_id=campaign_id).id for n, at in ((1, POST1), (2, POST2))]
        create_workflow(s, "acme", campaign_id, {"name": "plan"}, [StepSpec(1, "monitor", {"due_at": (START + timedelta(hours=1)).isoformat()})],
                        actor="ava", now=START - timedelta(days=1))
        s.add_all([Contact(merchant_id="acme", email=f"user{i}@example.com") for i in range(2)])
        s.flush()
        segment = save_segment(s, "acme", f"everyone {campaign_id}", {}, actor="ana")
        ec = broadcasts.create_email_campaign(s, "acme", campaign_id=campaign_id, segment_id=segment.id, subject="Winter is here", actor="ana",
                                              send_window_hours=2)
        return {"post1": posts[0], "post2": posts[1], "email": ec.id}


def _status(url: str, campaign_id: str) -> CampaignStatus:
    with session_scope(url) as s:
        return service.get_campaign(s, "acme", campaign_id).status


def _change(url: str, campaign_id: str, action: str, now: datetime, **kwargs) -> campaign_status.StatusChange:
    with session_scope(url) as s:
        return campaign_status.change_status(s, "acme", campaign_id, action, "ana", now=now, **kwargs)


def _posts(url: str) -> dict[int, SocialQueueItem]:
    with session_scope(url) as s:
        return {p.id: p for p in s.scalars(select(SocialQueueItem))}


def test_tick_activates_at_the_local_start_and_completes_at_the_end_once_under_two_concurrent_ticks(store_url: str) -> None:
    campaign_id = _campaign(store_url)
    ids = _channels(store_url, campaign_id)

    early = campaign_status.tick(store_url, START - timedelta(seconds=1))
    assert early.changed == [] and _status(store_url, campaign_id) is CampaignStatus.SCHEDULED

    reports: list[campaign_status.TickReport] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        reports.append(campaign_status.tick(store_url, START))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changed = [c for r in reports for c in r.changed]
    assert [c.line() for c in changed] == [f"{campaign_id} (acme) activated at 2026-12-01 00:00 CET"]
    assert _status(store_url, campaign_id) is CampaignStatus.ACTIVE
    with session_scope(store_url) as s:
        launches = [e for e in entries(s, "acme", entity_id=campaign_id) if e.action == "campaign.launch"]
        assert [(e.actor, e.details["before"], e.details["after"]) for e in launches] == [("scheduler", "SCHEDULED", "ACTIVE")]

    assert campaign_status.tick(store_url, END - timedelta(seconds=1)).changed == []
    done = campaign_status.tick(store_url, END)
    assert [c.action for c in done.changed] == ["complete"] and _status(store_url, campaign_id) is CampaignStatus.COMPLETED
    posts = _posts(store_url)
    assert {posts[i].status for i in (ids["post1"], ids["post2"])} == {QueueStatus.CANCELLED}
    assert posts[ids["post2"]].last_error == "cancelled: campaign completed"
    with session_scope(store_url) as s:
        assert s.get(EmailCampaign, ids["email"]).status is EmailCampaignStatus.CANCELLED  # a draft never went out either
        steps = list(s.scalars(select(CampaignWorkflow).where(CampaignWorkflow.step_order > 0)))
        assert [(st.status, st.error) for st in steps] == [(WorkflowStepStatus.CANCELLED, "cancelled: campaign completed")]
    assert campaign_status.tick(store_url, END + timedelta(days=1)).changed == []  # idempotent


def test_tick_catches_up_a_missed_flight_and_reports_a_campaign_it_cannot_launch(store_url: str) -> None:
    missed = _campaign(store_url)
    broken = _campaign(store_url, name="No budget")
    with session_scope(store_url) as s:
        service.get_campaign(s, "acme", broken).budget = None  # edited after scheduling, e.g. by an import
    report = campaign_status.tick(store_url, END + timedelta(hours=1))
    assert [(c.campaign_id, c.action) for c in report.changed] == [(missed, "launch"), (missed, "complete")]
    assert "set a budget above zero" in report.refused[broken]
    assert _status(store_url, missed) is CampaignStatus.COMPLETED and _status(store_url, broken) is CampaignStatus.SCHEDULED


def _email_settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", token_key=Fernet.generate_key().decode())


def test_pause_holds_every_channel_and_resume_releases_what_is_still_in_its_window(store_url: str, tmp_path) -> None:
    campaign_id = _campaign(store_url)
    ids = _channels(store_url, campaign_id)
    campaign_status.tick(store_url, START)
    with session_scope(store_url) as s:
        recipients.prepare_send(s, "acme", ids["email"], "ana", now=START)

    paused = _change(store_url, campaign_id, "pause", START + timedelta(minutes=5))
    assert {i.channel for i in paused.held} == {"social", "email", "workflow"} and len(paused.held) == 4
    assert "4 queued items held (held: campaign paused)" in paused.summary()

    late = POST1 + timedelta(hours=2)
    assert claim_due(store_url, "w1", late) == []  # the social worker takes nothing of a paused campaign
    ran = run_due_steps(store_url, late, handlers={"monitor": lambda ctx: Outcome({"ok": True})})
    assert ran.runs == []
    report = delivery.deliver(store_url, _email_settings(tmp_path), ids["email"], "w1", START + timedelta(minutes=10), provider="sandbox",
                              limits=throttle.ProviderLimits("sandbox", 1000, None))
    assert report.stopped is not None and report.stopped.startswith("held: campaign paused: 2 recipients wait")
    with session_scope(store_url) as s:
        assert {r.status for r in s.scalars(select(EmailSend))} == {EmailSendStatus.PENDING}
        assert queue.is_held(s, campaign_id) and not queue.is_held(s, None)

    resumed = _change(store_url, campaign_id, "resume", late)
    assert [i.id for i in resumed.passed if i.channel == "social"] == [ids["post1"]]  # its 30-minute grace is over
    assert {i.channel for i in resumed.passed} == {"social", "email"}  # the email's hour passed too
    assert [i.channel for i in resumed.released] == ["social", "workflow"]
    assert "2 not sent because their moment passed while paused" in resumed.summary()
    posts = _posts(store_url)
    assert posts[ids["post1"]].status is QueueStatus.CANCELLED
    assert posts[ids["post1"]].last_error == "not sent: its moment passed while the campaign was paused"
    assert posts[ids["post2"]].status is QueueStatus.QUEUED and posts[ids["post2"]].scheduled_at == POST2
    with session_scope(store_url) as s:
        assert {r.status for r in s.scalars(select(EmailSend))} == {EmailSendStatus.CANCELLED}
    assert [p.id for p in claim_due(store_url, "w1", POST2)] == [ids["post2"]]  # released: the worker takes it at its time


def test_resume_can_reschedule_what_passed_and_cancel_cancels_what_remains(store_url: str) -> None:
    campaign_id = _campaign(store_url)
    ids = _channels(store_url, campaign_id)
    campaign_status.tick(store_url, START)
    with session_scope(store_url) as s:
        recipients.prepare_send(s, "acme", ids["email"], "ana", now=START)
    _change(store_url, campaign_id, "pause", START + timedelta(minutes=5))
    late = POST1 + timedelta(days=1)
    resumed = _change(store_url, campaign_id, "resume", late, reschedule_to=late + timedelta(hours=1))
    assert [(i.channel, i.id) for i in resumed.passed] == [("social", ids["post1"]), ("email", ids["email"])]
    with session_scope(store_url) as s:
        assert {r.next_attempt_at for r in s.scalars(select(EmailSend))} == {late + timedelta(hours=1)}  # both recipients moved
    assert "2 whose moment passed while paused rescheduled to 2026-12-02 10:00 UTC" in resumed.summary()
    assert _posts(store_url)[ids["post1"]].scheduled_at == late + timedelta(hours=1)

    cancelled = _change(store_url, campaign_id, "cancel", late + timedelta(minutes=1))
    assert cancelled.after == "CANCELLED" and "queued items cancelled" in cancelled.summary()
    posts = _posts(store_url)
    assert {p.status for p in posts.values()} == {QueueStatus.CANCELLED}
    assert {p.last_error for p in posts.values()} == {"cancelled: campaign cancelled"}
    with session_scope(store_url) as s:
        ec = s.get(EmailCampaign, ids["email"])
        assert ec.status is EmailCampaignStatus.CANCELLED
        assert {(r.status, r.reason) for r in s.scalars(select(EmailSend))} == {(EmailSendStatus.CANCELLED, "cancelled: campaign cancelled")}
        assert [e.details["reason"] for e in entries(s, "acme", entity_id=str(ids["email"])) if e.action == "email.cancel"] == [
            "cancelled: campaign cancelled"]
    with pytest.raises(service.TransitionError, match="CANCELLED campaign: cancelled campaigns are final"):
        _change(store_url, campaign_id, "resume", late + timedelta(minutes=2))


def test_a_stale_read_loses_the_compare_and_set(store_url: str) -> None:
    campaign_id = _campaign(store_url)
    with session_scope(store_url) as slow:
        seen = service.get_campaign(slow, "acme", campaign_id)  # read SCHEDULED, then someone else acts
        assert seen.status is CampaignStatus.SCHEDULED
        with session_scope(store_url) as fast:
            service.transition(fast, "acme", campaign_id, "launch", "bob")
        with pytest.raises(service.ConcurrentChangeError, match="changed meanwhile \\(it is no longer SCHEDULED\\)"):
            service.transition(slow, "acme", campaign_id, "launch", "ana")
    with session_scope(store_url) as s:
        assert service.get_campaign(s, "acme", campaign_id).status is CampaignStatus.ACTIVE
        assert [e.actor for e in entries(s, "acme", entity_id=campaign_id) if e.action == "campaign.launch"] == ["bob"]
