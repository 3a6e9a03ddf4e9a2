"""The Email Designer's Broadcasts tab and the campaign page's Emails section, in AppTest against a real store:
create (a bad field shows its error and writes nothing), the live size, a test send through a real SMTP server that
records no recipient, schedule then the email job sends once (frozen clock), send now, and what a viewer may not do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from campaigns.access.roles import Role
from campaigns.audiences.segments import save_segment
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactEvent, EmailCampaign, EmailSend, Merchant
from campaigns.email import broadcasts
from campaigns.lifecycle import service as campaign_service
from pipelines.email_sends import deliver_due_broadcasts
from publishers.sandbox import read_outbox
from tests.dashboards.helpers import APP, PAGES, assert_clean, run_tab, signed_in
from tests.publishers.conftest import Inbox, free_port

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Paris


def _page() -> None:
    from dashboards.views.email import broadcasts_tab

    broadcasts_tab.render("acme")


@pytest.fixture
def store(acme_store: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Acme in Paris with four contacts (one unsubscribed), a campaign and a segment of everyone; unsubscribe links signed."""
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    with session_scope(acme_store) as s:
        s.get(Merchant, "acme").timezone = "Europe/Paris"
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com", first_name=f"P{i}") for i in range(3)])
        s.add(Contact(merchant_id="acme", email="gone@example.com", subscribed=False))
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return {"url": acme_store, "campaign": campaign.id, "segment": segment.id}


def _draft(store: dict, subject: str = "Winter is here") -> int:
    with session_scope(store["url"]) as s:
        return broadcasts.create_email_campaign(s, "acme", campaign_id=store["campaign"], segment_id=store["segment"], subject=subject,
                                                actor="meg@example.com").id


def _emails(url: str) -> list[EmailCampaign]:
    with session_scope(url) as s:
        return list(s.scalars(select(EmailCampaign).order_by(EmailCampaign.id)))


def _sends(url: str) -> int:
    with session_scope(url) as s:
        return int(s.scalar(select(func.count()).select_from(EmailSend)))


def _texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning] + [s.value for s in at.success])


def test_a_bad_field_shows_its_error_and_writes_nothing_then_create(store: dict) -> None:
    at = run_tab(_page, role=Role.MARKETER)
    assert "Reaches **3** contacts now of 4 in the segment (left out: 1 unsubscribed)" in _texts(at)  # the snapshot's own count
    assert "No broadcast yet" in at.info[0].value
    at.text_input(key="bc_subject").input("Winter is here")
    at.text_input(key="bc_preview").input("x" * 151)
    at.button(key="bc_create").click().run()
    assert_clean(at)
    assert "preview text is at most 150 characters (this one has 151)" in _texts(at)
    at.text_input(key="bc_subject").input("   ")
    at.text_input(key="bc_preview").input("20% off this week")
    at.button(key="bc_create").click().run()
    assert "subject: write a subject line" in _texts(at)
    at.text_input(key="bc_subject").input("Hi {{ nickname }}")
    at.button(key="bc_create").click().run()
    assert "merge tags are" in _texts(at)
    assert _emails(store["url"]) == []  # nothing written on any error

    at.text_input(key="bc_subject").input("Winter is here")
    at.checkbox(key="bc_window_on").check().run()
    at.number_input(key="bc_window").set_value(12)
    at.button(key="bc_create").click().run()
    assert_clean(at)
    [email] = _emails(store["url"])
    assert (email.subject, email.preview_text, email.status, email.send_window_hours, email.campaign_id) == (
        "Winter is here", "20% off this week", EmailCampaignStatus.DRAFT, 12, store["campaign"])
    assert any(f"Created broadcast #{email.id} (DRAFT)" in s.value for s in at.success)
    assert at.selectbox(key="bc_pick").value == email.id
    assert "No recipients yet" in _texts(at)
    assert not [b for b in at.button if b.key in ("bc_schedule", "bc_send_now")]  # a marketer creates; sending needs an approver


@pytest.fixture
def smtp_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, configured as the app's provider."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {"CAMPAIGNS_EMAIL_PROVIDER": "smtp", "CAMPAIGNS_SMTP_HOST": "127.0.0.1", "CAMPAIGNS_SMTP_PORT": str(port),
                        "CAMPAIGNS_EMAIL_SENDER": "Acme <news@acme.example>", "CAMPAIGNS_PUBLIC_URL": "https://shop.acme.example"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield inbox
    finally:
        controller.stop()
        get_settings.cache_clear()


def test_a_test_send_reaches_the_provider_and_records_no_recipient(store: dict, smtp_inbox: Inbox) -> None:
    ec_id = _draft(store)
    at = run_tab(_page, role=Role.MARKETER, email="meg@example.com")
    assert at.text_input(key="bc_test_to").value == "meg@example.com"  # the signed-in user's address by default
    at.button(key="bc_test_send").click().run()
    assert_clean(at)
    assert any("Test sent to meg@example.com via smtp" in s.value for s in at.success)
    [(sender, rcpts, content)] = smtp_inbox.messages
    assert rcpts == ["meg@example.com"] and "news@acme.example" in sender
    assert b"[TEST] Winter is here" in content and b"P0" not in content  # a sample contact's values, never a real contact's
    assert _sends(store["url"]) == 0 and _emails(store["url"])[0].status is EmailCampaignStatus.DRAFT
    at.text_input(key="bc_test_to").input("not-an-address")
    at.button(key="bc_test_send").click().run()
    assert "is not an email address" in _texts(at) and len(smtp_inbox.messages) == 1
    assert ec_id == _emails(store["url"])[0].id


def test_schedule_in_the_merchants_zone_then_the_email_job_sends_once(store: dict) -> None:
    ec_id = _draft(store)
    with time_machine.travel(T0, tick=False):
        at = run_tab(_page, role=Role.APPROVER, email="apu@example.com")
        at.date_input(key=f"bc_day_{ec_id}").set_value(date(2026, 11, 24))
        at.time_input(key=f"bc_time_{ec_id}").set_value(time(9, 30))  # 08:30 UTC: already past
        at.button(key="bc_schedule").click().run()
        assert "is not in the future" in _texts(at) and not [b for b in at.button if b.key == "bc_confirm"]
        at.time_input(key=f"bc_time_{ec_id}").set_value(time(14, 0))  # 13:00 UTC
        at.button(key="bc_schedule").click().run()
        question = next(w.value for w in at.warning if "Schedule broadcast" in w.value)
        assert f"Schedule broadcast #{ec_id}" in question and "24 Nov 2026 14:00 CET" in question
        assert "**3** right now (1 left out" in question
        at.button(key="bc_confirm").click().run()
        assert_clean(at)
    [email] = _emails(store["url"])
    assert email.status is EmailCampaignStatus.SCHEDULED and email.scheduled_at == datetime(2026, 11, 24, 13, tzinfo=UTC)
    assert any("is SCHEDULED for 24 Nov 2026 14:00 CET" in s.value for s in at.success)

    settings = get_settings()
    early = deliver_due_broadcasts(settings, "w0", datetime(2026, 11, 24, 12, 59, tzinfo=UTC))
    assert early.metadata["started"] == 0 and _sends(store["url"]) == 0
    due = datetime(2026, 11, 24, 13, 1, tzinfo=UTC)
    first, again = deliver_due_broadcasts(settings, "w1", due), deliver_due_broadcasts(settings, "w2", due)
    assert (first.metadata["started"], first.metadata["sent"], first.problems) == (1, 3, [])
    assert (again.metadata["started"], again.metadata["sent"]) == (0, 0)
    sent = [r["email"] for e in read_outbox(settings.home_path / "outbox" / "email.jsonl") for r in e["recipients"]]
    assert sorted(sent) == ["p0@example.com", "p1@example.com", "p2@example.com"]  # each once; the unsubscribed contact never
    assert _emails(store["url"])[0].status is EmailCampaignStatus.SENT


def test_send_now_snapshots_the_recipients_and_the_tab_shows_their_counts(store: dict) -> None:
    ec_id = _draft(store)
    at = run_tab(_page, role=Role.APPROVER, email="apu@example.com")
    at.button(key="bc_send_now").click().run()
    question = next(w.value for w in at.warning if "Send broadcast" in w.value)
    assert f"Send broadcast #{ec_id}" in question and "now?" in question and "**3** right now" in question
    at.button(key="bc_confirm").click().run()
    assert_clean(at)
    assert any("is SENDING: 3 recipients queued, 1 left out" in s.value for s in at.success)
    with session_scope(store["url"]) as s:
        statuses = sorted(str(x.value) for x in s.scalars(select(EmailSend.status)))
    assert statuses == ["PENDING"] * 3 + ["SUPPRESSED"]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Queued"], metrics["Suppressed"], metrics["Opened"]) == ("3", "1", "0") and at.get("vega_lite_chart")
    assert not [b for b in at.button if b.key in ("bc_schedule", "bc_send_now")]  # sent: nothing left to schedule
    with session_scope(store["url"]) as s:  # what tracking and the provider's webhooks report, contacts counted once
        p0, p1 = s.scalars(select(Contact.id).where(Contact.email.in_(["p0@example.com", "p1@example.com"])).order_by(Contact.id))
        s.add_all([ContactEvent(merchant_id="acme", contact_id=contact, kind=kind, occurred_at=T0, email_campaign_id=ec_id, event_key=f"e{n}")
                   for n, (contact, kind) in enumerate([(p0, "opened"), (p0, "opened"), (p1, "opened"), (p0, "clicked"), (p1, "bounced")])])
    at.button(key="bc_refresh").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Opened"], metrics["Clicked"], metrics["Bounced"], metrics["Unsubscribed"]) == ("2", "1", "1", "0")


def test_a_viewer_sees_no_action_and_a_forged_send_is_refused(store: dict) -> None:
    ec_id = _draft(store)
    at = run_tab(_page, role=Role.VIEWER, email="vic@example.com")
    keys = {b.key for b in at.button}
    assert not keys & {"bc_create", "bc_test_send", "bc_schedule", "bc_send_now", "bc_unschedule"}
    assert "Reaches **3** contacts now" in _texts(at)  # reading is open to every role
    at.session_state["bc_pending"] = {"id": ec_id, "action": "send_now"}  # forged
    at.run()
    assert any("may not do this here" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "bc_confirm"]
    assert _sends(store["url"]) == 0 and _emails(store["url"])[0].status is EmailCampaignStatus.DRAFT


def test_the_campaign_page_lists_its_emails_and_opens_the_designer_on_it(store: dict) -> None:
    ec_id = _draft(store)
    with session_scope(store["url"]) as s:  # newer, so listed first: the designer would default to it
        campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Spring", type="CONVERSION"), actor="ana")
    at = signed_in(AppTest.from_file(APP, default_timeout=60), get_settings(), "meg@example.com", {"acme": Role.MARKETER})
    at.run()
    at.switch_page(PAGES["Campaigns"]).run()
    at.selectbox(key="campaign_pick").set_value(store["campaign"]).run()
    assert_clean(at)
    emails = next(d.value for d in at.dataframe if "subject" in d.value.columns)
    assert emails["email"].to_list() == [f"#{ec_id}"] and emails["status"].to_list() == ["DRAFT"]
    at.button(key="campaign_emails_open").click().run()
    assert_clean(at)
    assert at.selectbox(key="bc_campaign").value == store["campaign"]
    assert at.selectbox(key="bc_pick").value == ec_id
