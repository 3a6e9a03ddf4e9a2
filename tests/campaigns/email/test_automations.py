"""The automation engine on SQLite and PostgreSQL: triggers, every step type, waits, exactly once under crashes and two workers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import delete, func, select

from campaigns.email import automations as auto
from campaigns.email import automation_runner as runner
from campaigns.email import automation_triggers as triggers
from campaigns.core import queue
from campaigns.core.audit import entries
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import (
    AutomationEnrollment,
    AutomationStepRun,
    Contact,
    ContactEvent,
    EmailCampaign,
    EmailSend,
    EmailSendStatus,
    WorkAttempt,
)
from publishers.sandbox import read_outbox

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

WELCOME = {
    "trigger": {"type": "signup"},
    "start": "hello",
    "steps": {
        "hello": {"type": "send_email", "subject": "Welcome {{ first_name }}", "next": "pause"},
        "pause": {"type": "wait", "days": 2, "next": "opened"},
        "opened": {"type": "condition", "previous_email": "opened", "then": "tag", "else": "done"},
        "tag": {"type": "update_field", "add_tags": ["engaged"], "remove_tags": ["new"], "set": {"stage": "warm"}, "next": "done"},
        "done": {"type": "end"},
    },
}


class Crash(BaseException):
    """A worker dying: not an Exception, so nothing in the engine catches it."""


def _contact(s, email: str, created: datetime = T0, **kw) -> int:
    c = Contact(merchant_id="acme", email=email, first_name=email.split("@")[0].title(), created_at=created, updated_at=created, **kw)
    s.add(c)
    s.flush()
    return c.id


def _automation(url: str, definition: dict, name: str = "flow", now: datetime = T0 - timedelta(hours=1)) -> int:
    with session_scope(url) as s:
        a = auto.create_automation(s, "acme", definition, actor="ana", name=name)
        auto.activate(s, "acme", a.id, actor="ana", now=now)
        return a.id


def _count(url: str, model, *where) -> int:
    with session_scope(url) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _enrollment(url: str, contact_id: int) -> AutomationEnrollment:
    with session_scope(url) as s:
        return s.scalars(select(AutomationEnrollment).where(AutomationEnrollment.contact_id == contact_id)).one()


def _settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", token_key=Fernet.generate_key().decode())


# --- triggers ---------------------------------------------------------------------------------------


def test_signup_enrols_contacts_created_or_signed_up_since_activation_once(store_url: str) -> None:
    with session_scope(store_url) as s:
        before = _contact(s, "old@x.io", created=T0 - timedelta(days=3))
        returning = _contact(s, "back@x.io", created=T0 - timedelta(days=3))
        new = _contact(s, "new@x.io", created=T0)
        s.add_all([ContactEvent(merchant_id="acme", contact_id=returning, kind="signed_up", occurred_at=T0),
                   ContactEvent(merchant_id="acme", contact_id=new, kind="signed_up", occurred_at=T0)])
    automation_id = _automation(store_url, WELCOME)
    assert triggers.enroll_due(store_url, T0 + timedelta(minutes=1)) == 2
    assert triggers.enroll_due(store_url, T0 + timedelta(minutes=2)) == 0  # idempotent
    with session_scope(store_url) as s:
        rows = s.execute(select(AutomationEnrollment.contact_id, AutomationEnrollment.trigger_key, AutomationEnrollment.current_step)
                         .where(AutomationEnrollment.automation_id == automation_id)).all()
    assert sorted(rows) == sorted([(returning, "signup", "hello"), (new, "signup", "hello")])
    assert before not in {r[0] for r in rows}


def test_tag_and_purchase_triggers_enrol_once_per_matching_event(store_url: str) -> None:
    with session_scope(store_url) as s:
        a, b = _contact(s, "a@x.io"), _contact(s, "b@x.io")
        s.add_all([
            ContactEvent(merchant_id="acme", contact_id=a, kind="tag_added", occurred_at=T0, details={"tag": "vip"}),
            ContactEvent(merchant_id="acme", contact_id=b, kind="tag_added", occurred_at=T0, details={"tag": "other"}),
            ContactEvent(merchant_id="acme", contact_id=a, kind="tag_added", occurred_at=T0 - timedelta(days=2), details={"tag": "vip"}),
            ContactEvent(merchant_id="acme", contact_id=a, kind="purchased", occurred_at=T0, value=Decimal("80")),
            ContactEvent(merchant_id="acme", contact_id=a, kind="purchased", occurred_at=T0 + timedelta(hours=1), value=Decimal("120")),
            ContactEvent(merchant_id="acme", contact_id=b, kind="purchased", occurred_at=T0, value=Decimal("20")),
            ContactEvent(merchant_id="acme", contact_id=b, kind="purchased", occurred_at=T0 + timedelta(days=9), value=Decimal("500")),
        ])
    end = {"start": "e", "steps": {"e": {"type": "end"}}}
    tag_id = _automation(store_url, {"trigger": {"type": "tag_added", "tag": "vip"}, **end}, name="vip")
    buy_id = _automation(store_url, {"trigger": {"type": "purchase", "min_value": 50}, **end}, name="buyers")
    assert triggers.enroll_due(store_url, T0 + timedelta(hours=2)) == 1 + 2  # the future purchase is not yet due
    assert triggers.enroll_due(store_url, T0 + timedelta(hours=2)) == 0
    assert _count(store_url, AutomationEnrollment, AutomationEnrollment.automation_id == tag_id) == 1
    assert _count(store_url, AutomationEnrollment, AutomationEnrollment.automation_id == buy_id, AutomationEnrollment.contact_id == a) == 2


def test_date_field_fires_at_the_local_hour_of_each_contacts_zone(store_url: str) -> None:
    with session_scope(store_url) as s:
        auckland = _contact(s, "nz@x.io", timezone="Pacific/Auckland", attributes={"renewal": "2026-11-25", "birthday": "1990-11-25"})
        la = _contact(s, "la@x.io", timezone="America/Los_Angeles", attributes={"renewal": "2026-11-25", "birthday": "1990-11-25"})
        _contact(s, "none@x.io", attributes={"renewal": "soon"})
    end = {"start": "e", "steps": {"e": {"type": "end"}}}
    since = T0 - timedelta(days=1)
    renewal = _automation(store_url, {"trigger": {"type": "date_field", "field": "renewal", "offset_days": -1, "at_hour": 9}, **end},
                          name="renewal", now=since)
    birthday = _automation(store_url, {"trigger": {"type": "date_field", "field": "birthday", "yearly": True, "at_hour": 9}, **end},
                           name="birthday", now=since)
    # by hand: the renewal fires on 24 Nov 09:00 local. Auckland is UTC+13 (NZDT) -> 23 Nov 20:00 UTC; Los Angeles UTC-8 -> 24 Nov 17:00 UTC.
    # the birthday fires on 25 Nov 09:00 local -> 24 Nov 20:00 UTC (Auckland) and 25 Nov 17:00 UTC (Los Angeles).
    def keys(automation_id):
        with session_scope(store_url) as s:
            return sorted(s.execute(select(AutomationEnrollment.contact_id, AutomationEnrollment.trigger_key)
                                    .where(AutomationEnrollment.automation_id == automation_id)).all())

    triggers.enroll_due(store_url, datetime(2026, 11, 23, 19, 59, tzinfo=UTC))
    assert keys(renewal) == [] and keys(birthday) == []
    triggers.enroll_due(store_url, datetime(2026, 11, 23, 20, 0, tzinfo=UTC))
    assert keys(renewal) == [(auckland, "date:renewal:2026-11-24")]
    triggers.enroll_due(store_url, datetime(2026, 11, 24, 17, 0, tzinfo=UTC))
    assert keys(renewal) == sorted([(auckland, "date:renewal:2026-11-24"), (la, "date:renewal:2026-11-24")])
    triggers.enroll_due(store_url, datetime(2026, 11, 24, 20, 30, tzinfo=UTC))
    assert keys(birthday) == [(auckland, "date:birthday:2026-11-25")]
    triggers.enroll_due(store_url, datetime(2026, 11, 25, 17, 5, tzinfo=UTC))
    assert keys(birthday) == sorted([(auckland, "date:birthday:2026-11-25"), (la, "date:birthday:2026-11-25")])
    assert len(keys(renewal)) == 2  # no second enrollment for the same date


# --- steps ------------------------------------------------------------------------------------------


def test_welcome_flow_runs_every_step_once_and_respects_the_wait(store_url: str) -> None:
    with session_scope(store_url) as s:
        opener = _contact(s, "opener@x.io", tags=["new"])
        silent = _contact(s, "silent@x.io", tags=["new"])
    automation_id = _automation(store_url, WELCOME)
    triggers.enroll_due(store_url, T0)
    report = runner.run_due(store_url, T0, "w1")
    assert report.claimed == 2 and report.steps == {"send_email": 2, "wait": 2}
    with session_scope(store_url) as s:
        sends = s.scalars(select(EmailSend).order_by(EmailSend.contact_id)).all()
        ec = s.get(EmailCampaign, sends[0].email_campaign_id)
        assert [(r.contact_id, r.status) for r in sends] == [(opener, EmailSendStatus.PENDING), (silent, EmailSendStatus.PENDING)]
        assert ec.kind == "automation" and ec.subject == "Welcome {{ first_name }}"
        s.add(ContactEvent(merchant_id="acme", contact_id=opener, kind="opened", occurred_at=T0 + timedelta(hours=3), email_campaign_id=ec.id))
    waiting = _enrollment(store_url, opener)
    assert (waiting.status, waiting.current_step, waiting.wake_at, waiting.step_seq) == ("WAITING", "opened", T0 + timedelta(days=2), 2)
    # one minute before the wait ends nothing happens
    assert runner.run_due(store_url, T0 + timedelta(days=2, minutes=-1), "w1").steps_run == 0
    report = runner.run_due(store_url, T0 + timedelta(days=2), "w1")
    assert report.completed == 2
    with session_scope(store_url) as s:
        runs = s.execute(select(AutomationStepRun.step_id, AutomationStepRun.outcome)
                         .join(AutomationEnrollment, AutomationEnrollment.id == AutomationStepRun.enrollment_id)
                         .where(AutomationEnrollment.contact_id == opener).order_by(AutomationStepRun.seq)).all()
        assert [tuple(r) for r in runs] == [("hello", "queued"), ("pause", "waiting"), ("opened", "yes"), ("tag", "done"), ("done", "completed")]
        c1, c2 = s.get(Contact, opener), s.get(Contact, silent)
        assert (c1.tags, c1.attributes) == (["engaged"], {"stage": "warm"})
        assert (c2.tags, c2.attributes) == (["new"], {})
        tag_events = s.scalars(select(ContactEvent).where(ContactEvent.kind == "tag_added")).all()
        assert [(e.contact_id, e.details["tag"]) for e in tag_events] == [(opener, "engaged")]
    assert _enrollment(store_url, silent).status == "COMPLETED"
    assert runner.run_due(store_url, T0 + timedelta(days=9), "w1").steps_run == 0
    with session_scope(store_url) as s:
        counts = auto.step_counts(s, "acme", automation_id)
    assert counts["hello"] == {"passed": 2, "here": 0} and counts["tag"] == {"passed": 1, "here": 0} and counts["done"]["passed"] == 2


def test_wait_until_a_local_hour_rules_condition_and_random_split(store_url: str) -> None:
    flow = {"trigger": {"type": "signup"}, "start": "morning", "steps": {
        "morning": {"type": "wait", "until_hour": 8, "next": "vip"},
        "vip": {"type": "condition", "rules": {"all": [{"field": "tags", "op": "contains", "value": "vip"}]}, "then": "split", "else": "e"},
        "split": {"type": "random_split", "branches": [{"weight": 1, "next": "a"}, {"weight": 1, "next": "b"}]},
        "a": {"type": "update_field", "set": {"arm": "a"}, "next": "e"},
        "b": {"type": "update_field", "set": {"arm": "b"}, "next": "e"},
        "e": {"type": "end"},
    }}
    with session_scope(store_url) as s:
        tokyo = _contact(s, "tokyo@x.io", timezone="Asia/Tokyo", tags=["vip"])  # T0 09:00 UTC is 18:00 in Tokyo
        ny = _contact(s, "ny@x.io", timezone="America/New_York")  # T0 is 04:00 in New York (EST)
    _automation(store_url, flow)
    triggers.enroll_due(store_url, T0)
    runner.run_due(store_url, T0, "w")
    # by hand: Tokyo's next 08:00 is 25 Nov 08:00 JST = 24 Nov 23:00 UTC; New York's is 24 Nov 08:00 EST = 13:00 UTC
    assert _enrollment(store_url, tokyo).wake_at == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert _enrollment(store_url, ny).wake_at == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    runner.run_due(store_url, T0 + timedelta(days=1), "w")
    with session_scope(store_url) as s:
        outcomes = dict(s.execute(select(AutomationStepRun.step_id, AutomationStepRun.outcome)
                                  .join(AutomationEnrollment, AutomationEnrollment.id == AutomationStepRun.enrollment_id)
                                  .where(AutomationEnrollment.contact_id == tokyo)).all())
        ny_outcomes = dict(s.execute(select(AutomationStepRun.step_id, AutomationStepRun.outcome)
                                     .join(AutomationEnrollment, AutomationEnrollment.id == AutomationStepRun.enrollment_id)
                                     .where(AutomationEnrollment.contact_id == ny)).all())
        arm = s.get(Contact, tokyo).attributes["arm"]
        enrollment_id = _enrollment(store_url, tokyo).id
    assert outcomes["vip"] == "yes" and ny_outcomes["vip"] == "no" and "split" not in ny_outcomes
    # the split is a hash of (enrollment, step, seq): recompute it independently of the engine's result
    import hashlib
    point = int.from_bytes(hashlib.sha256(f"{enrollment_id}|split|2".encode()).digest()[:8], "big") / 2**64 * 2
    assert arm == ("a" if point < 1 else "b") and outcomes["split"] == f"branch {0 if point < 1 else 1}"


# --- exactly once -------------------------------------------------------------------------------------


SEND_THEN_WAIT = {"trigger": {"type": "signup"}, "start": "mail", "steps": {
    "mail": {"type": "send_email", "subject": "Hello", "next": "later"},
    "later": {"type": "wait", "days": 1, "next": "mail2"},
    "mail2": {"type": "send_email", "subject": "Still there?"},
}}


def test_a_crash_inside_the_step_transaction_leaves_nothing_and_the_rerun_sends_once(store_url: str) -> None:
    with session_scope(store_url) as s:
        contact = _contact(s, "c@x.io")
    _automation(store_url, SEND_THEN_WAIT)
    triggers.enroll_due(store_url, T0)

    def die(step: runner.StepContext) -> None:
        if step.step_type == "send_email":
            raise Crash("power cut after the email row was written")

    with pytest.raises(Crash):
        runner.run_due(store_url, T0, "doomed", before_commit=die)
    assert _count(store_url, EmailSend) == 0 and _count(store_url, AutomationStepRun) == 0 and _count(store_url, WorkAttempt) == 0
    assert _enrollment(store_url, contact).step_seq == 0
    runner.run_due(store_url, T0 + timedelta(minutes=1), "survivor")
    runner.run_due(store_url, T0 + timedelta(minutes=2), "survivor")
    assert _count(store_url, EmailSend) == 1 and _count(store_url, AutomationStepRun) == 2
    assert _enrollment(store_url, contact).status == "WAITING"
    with session_scope(store_url) as s:  # each step run logged once, by the worker that ran it
        logged = s.execute(select(WorkAttempt.queue, WorkAttempt.worker_id, WorkAttempt.outcome).order_by(WorkAttempt.id)).all()
    assert [tuple(r) for r in logged] == [("automations", "survivor", "queued"), ("automations", "survivor", "waiting")]


def test_a_worker_killed_between_steps_is_resumed_without_a_second_email(store_url: str, tmp_path) -> None:
    with session_scope(store_url) as s:
        contact = _contact(s, "k@x.io")
    _automation(store_url, SEND_THEN_WAIT)
    triggers.enroll_due(store_url, T0)
    script = (
        "import os, sys\nfrom datetime import datetime\nfrom campaigns.email import automation_runner as runner\n"
        "def die(step):\n    os._exit(9) if step.step_type == 'send_email' else None\n"
        "runner.run_due(sys.argv[1], datetime.fromisoformat(sys.argv[2]), 'killed', after_commit=die)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, store_url, T0.isoformat()], cwd=os.getcwd(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    left = _enrollment(store_url, contact)
    assert (left.step_seq, left.current_step, left.claimed_by) == (1, "later", "killed")  # the email step committed, the wait did not run
    assert _count(store_url, EmailSend) == 1
    # within the lease nobody takes it over; after it, another worker resumes at the wait
    assert runner.run_due(store_url, T0 + timedelta(minutes=5), "next").claimed == 0
    report = runner.run_due(store_url, T0 + runner.DEFAULT_LEASE + timedelta(seconds=1), "next")
    assert report.steps == {"wait": 1}
    assert _count(store_url, EmailSend) == 1
    runner.run_due(store_url, T0 + timedelta(days=2), "next")
    assert _count(store_url, EmailSend) == 2 and _enrollment(store_url, contact).status == "COMPLETED"
    with session_scope(store_url) as s:
        seqs = s.scalars(select(AutomationStepRun.seq).order_by(AutomationStepRun.seq)).all()
    assert seqs == [0, 1, 2]


def test_two_concurrent_workers_send_each_email_exactly_once(store_url: str) -> None:
    with session_scope(store_url) as s:
        ids = [_contact(s, f"p{i}@x.io") for i in range(40)]
    _automation(store_url, SEND_THEN_WAIT)
    triggers.enroll_due(store_url, T0)
    reports: list[runner.RunReport] = []
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        barrier.wait()
        for _ in range(3):
            reports.append(runner.run_due(store_url, T0, name, limit=7))

    threads = [threading.Thread(target=work, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    runner.run_due(store_url, T0, "sweeper")  # whatever the two left
    with session_scope(store_url) as s:
        per_contact = Counter(s.scalars(select(EmailSend.contact_id)))
        runs = s.execute(select(AutomationStepRun.enrollment_id, AutomationStepRun.step_id)).all()
    assert per_contact == Counter({i: 1 for i in ids})
    assert Counter(step for _, step in runs) == {"mail": 40, "later": 40}
    assert sum(r.steps_run for r in reports) <= 80


# --- pausing, archiving, failures, approvals, delivery --------------------------------------------------


def test_paused_enrollments_wait_and_archived_ones_exit(store_url: str) -> None:
    with session_scope(store_url) as s:
        contact = _contact(s, "p@x.io")
    automation_id = _automation(store_url, SEND_THEN_WAIT)
    triggers.enroll_due(store_url, T0)
    with session_scope(store_url) as s:
        auto.pause(s, "acme", automation_id, actor="ana")
    assert runner.run_due(store_url, T0, "w").claimed == 0 and _count(store_url, EmailSend) == 0
    with session_scope(store_url) as s:
        auto.activate(s, "acme", automation_id, actor="ana", now=T0 + timedelta(days=5))
        assert auto.get_automation(s, "acme", automation_id).active_since == T0 - timedelta(hours=1)  # kept from the first activation
    runner.run_due(store_url, T0, "w")
    assert _count(store_url, EmailSend) == 1
    with session_scope(store_url) as s:
        auto.archive(s, "acme", automation_id, actor="ana")
        with pytest.raises(auto.AutomationError, match="ARCHIVED"):
            auto.activate(s, "acme", automation_id, actor="ana")
    report = runner.run_due(store_url, T0 + timedelta(days=2), "w")
    assert report.exited == 1 and _enrollment(store_url, contact).status == "EXITED" and _count(store_url, EmailSend) == 1
    with session_scope(store_url) as s:
        actions = [e.action for e in entries(s, "acme", str(automation_id))]
    assert {"automation.create", "automation.activate", "automation.paused", "automation.archived"} <= set(actions)


def test_a_failing_step_is_retried_with_backoff_then_failed(store_url: str) -> None:
    with session_scope(store_url) as s:
        contact = _contact(s, "f@x.io")
    automation_id = _automation(store_url, SEND_THEN_WAIT)
    triggers.enroll_due(store_url, T0)
    with session_scope(store_url) as s:
        ec_ids = auto.email_campaign_ids(auto.get_automation(s, "acme", automation_id))
        s.execute(delete(EmailCampaign).where(EmailCampaign.id == ec_ids["mail"]))
    report = runner.run_due(store_url, T0, "w", max_attempts=2)
    first = _enrollment(store_url, contact)
    assert report.retried == 1 and first.attempts == 1 and T0 + timedelta(minutes=1) <= first.wake_at <= T0 + queue.max_backoff(1)
    assert "no longer exists" in first.last_error and first.claimed_by is None
    assert runner.run_due(store_url, T0 + timedelta(seconds=30), "w", max_attempts=2).claimed == 0  # backing off
    report = runner.run_due(store_url, T0 + queue.max_backoff(1), "w", max_attempts=2)
    assert report.failed == 1 and _enrollment(store_url, contact).status == "FAILED"
    with session_scope(store_url) as s:
        logged = s.execute(select(WorkAttempt.attempt, WorkAttempt.outcome).where(WorkAttempt.queue == "automations").order_by(WorkAttempt.id)).all()
    assert [tuple(r) for r in logged] == [(1, "retry"), (2, "failed")]
    assert _count(store_url, AutomationStepRun) == 0
    with session_scope(store_url) as s:
        assert any(e.action == "automation.enrollment_failed" for e in entries(s, "acme"))


def test_an_edited_email_blocks_until_approved_again(store_url: str) -> None:
    with session_scope(store_url) as s:
        contact = _contact(s, "e@x.io")
    automation_id = _automation(store_url, SEND_THEN_WAIT)
    triggers.enroll_due(store_url, T0)
    with session_scope(store_url) as s:
        ec = s.get(EmailCampaign, auto.email_campaign_ids(auto.get_automation(s, "acme", automation_id))["mail"])
        ec.subject = "Hello (edited)"
    report = runner.run_due(store_url, T0, "w")
    blocked = _enrollment(store_url, contact)
    assert report.blocked == 1 and blocked.attempts == 0 and "approve" in blocked.last_error and _count(store_url, EmailSend) == 0
    with session_scope(store_url) as s:
        auto.approve_emails(s, "acme", automation_id, actor="lead")
    runner.run_due(store_url, T0 + runner.BLOCKED_RETRY, "w")
    assert _count(store_url, EmailSend) == 1


def test_activation_checks_templates_and_email_kinds(store_url: str) -> None:
    with session_scope(store_url) as s:
        a = auto.create_automation(s, "acme", {"trigger": {"type": "signup"}, "start": "m", "steps": {
            "m": {"type": "send_email", "subject": "Hi", "template": "Nope", "next": "n"},
            "n": {"type": "send_email", "email_campaign_id": 999999}}}, actor="ana", name="bad")
        with pytest.raises(auto.AutomationError) as caught:
            auto.activate(s, "acme", a.id, actor="ana")
        with pytest.raises(auto.AutomationError, match="already exists"):
            auto.create_automation(s, "acme", WELCOME, actor="ana", name="bad")
    assert "steps.m.template: no email template named 'Nope'" in str(caught.value)
    assert "steps.n.email_campaign_id: no email campaign 999999" in str(caught.value)


def test_queued_automation_emails_are_delivered_once_and_suppression_is_respected(store_url: str, tmp_path) -> None:
    with session_scope(store_url) as s:
        _contact(s, "yes@x.io")
        _contact(s, "gone@x.io", subscribed=False)
    _automation(store_url, SEND_THEN_WAIT)
    triggers.enroll_due(store_url, T0)
    runner.run_due(store_url, T0, "w")
    settings = _settings(tmp_path)
    for _ in range(2):
        runner.deliver_automation_emails(store_url, settings, "w", T0, provider="sandbox")
    with session_scope(store_url) as s:
        statuses = dict(s.execute(select(EmailSend.email, EmailSend.status)).all())
    assert statuses == {"yes@x.io": EmailSendStatus.SENT, "gone@x.io": EmailSendStatus.SUPPRESSED}
    outbox = read_outbox(settings.home_path / "outbox" / "email.jsonl")
    recipients = [r["email"] for entry in outbox for r in entry["recipients"]]
    assert recipients == ["yes@x.io"]
    assert outbox[0]["message"]["subject"] == "Hello"
