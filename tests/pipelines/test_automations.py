"""The automation sensor asks for a run only while an automation is active; the job enrols, runs steps and sends once."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from cryptography.fernet import Fernet
from sqlalchemy import select

from assets.resources import CampaignsResource
from campaigns.email import automations as auto
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, EmailSend, EmailSendStatus
from pipelines.automations import automations_job, automations_sensor, run_automations_once
from publishers.sandbox import read_outbox

FLOW = {"trigger": {"type": "signup"}, "start": "mail", "steps": {
    "mail": {"type": "send_email", "subject": "Welcome aboard", "next": "later"},
    "later": {"type": "wait", "days": 3},
}}


def _setup(home, monkeypatch) -> str:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    settings = get_settings()
    migrate(settings.store_url)
    return settings.store_url


def test_sensor_skips_without_an_active_automation_then_the_job_sends_once(home, monkeypatch) -> None:
    url = _setup(home, monkeypatch)
    resource = CampaignsResource(home=str(home))
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        assert isinstance(automations_sensor(context), dg.SkipReason)
    now = datetime.now(UTC)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        a = auto.create_automation(s, "acme", FLOW, actor="ana", name="welcome")
        auto.activate(s, "acme", a.id, actor="ana", now=now - timedelta(minutes=5))
        s.add(Contact(merchant_id="acme", email="new@x.io", first_name="Nia", created_at=now - timedelta(minutes=1)))
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        request = automations_sensor(context)
    assert isinstance(request, dg.RunRequest) and request.tags["campaigns/automations"] == "1"
    for _ in range(2):  # the second run finds nothing new: no second email
        assert automations_job.execute_in_process(resources={"campaigns": resource}).success
    with session_scope(url) as s:
        rows = s.execute(select(EmailSend.email, EmailSend.status)).all()
    assert [tuple(r) for r in rows] == [("new@x.io", EmailSendStatus.SENT)]
    outbox = read_outbox(home / "outbox" / "email.jsonl")
    assert [r["email"] for e in outbox for r in e["recipients"]] == ["new@x.io"]


def test_the_op_body_is_callable_directly(home, monkeypatch) -> None:
    url = _setup(home, monkeypatch)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
    result = run_automations_once(get_settings(), "direct", datetime.now(UTC))
    assert result.metadata["enrolled"] == 0 and result.metadata["steps_run"] == 0 and result.problems == []
