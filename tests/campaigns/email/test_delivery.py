"""Email delivery exactly once, on SQLite and PostgreSQL, against a real SMTP server (aiosmtpd) and the fake SendGrid.

Every test counts what the server received, so "sent once" means one message at the server.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from sqlalchemy import select
from werkzeug import Request, Response
from fastapi.testclient import TestClient

from campaigns.core import queue
from campaigns.core.enums import EmailCampaignStatus
from campaigns.lifecycle import service as campaign_service
from campaigns.email import broadcasts, delivery, errors, recipients, rendering, review, stats, throttle
from campaigns.content.approvals import NotApprovedError
from campaigns.core.audit import entries
from campaigns.core.merchants import ensure_merchant
from campaigns.audiences.segments import save_segment
from campaigns.api.app import create_app
from campaigns.audiences.suppression import UnsubscribeSigner, add_suppression, record_bounce, record_complaint, suppressed_emails
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, EmailCampaign, Merchant, EmailSend, EmailSendStatus, EmailTemplate, SuppressionReason, WorkAttempt
from publishers.errors import Retryable
from publishers.sandbox import read_outbox
from publishers.sendgrid import SendGridPublisher
from publishers.smtp import SmtpPublisher
from tests.publishers.conftest import Inbox, free_port
from tests.publishers.fake_platforms import FakeSendGrid, _json

KEY = Fernet.generate_key().decode()
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SENDER = "Acme Outdoors <news@acme.example>"
PUBLIC = "https://shop.acme.example"
UNTHROTTLED = {"smtp": throttle.ProviderLimits("smtp", 50, None), "sendgrid": throttle.ProviderLimits("sendgrid", 1000, None)}


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def store_url(store_url: str) -> str:
    """The shared store, acme named as the sender the tests expect."""
    with session_scope(store_url) as s:
        s.get(Merchant, "acme").name = "Acme Outdoors"
    return store_url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme Outdoors")
    return url


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class FaultySendGrid(FakeSendGrid):
    """The colleague's fake, plus two faults of the send route: ``accept_then_hang`` (accepted, no answer) and ``400``."""

    def route(self, request: Request) -> Response:
        fault = self.faults["send"][0] if self.faults["send"] else None
        if fault == "400":
            self._fault("send")
            return _json({"errors": [{"message": "The from address does not match a verified Sender Identity.", "field": "from"}]}, 403)
        if fault == "accept_then_hang":
            self._fault("send")
            super().route(request)  # accepted and kept, like a provider that queued it
            return self.hang()
        return super().route(request)


@pytest.fixture
def sendgrid() -> Iterator[FaultySendGrid]:
    fake = FaultySendGrid()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(home=tmp_path / "home", token_key=KEY, **overrides)


def _smtp_settings(tmp_path, port: int) -> Settings:
    return _settings(tmp_path, email_provider="smtp", smtp_host="127.0.0.1", smtp_port=port)


def _people(n: int, prefix: str = "user") -> list[dict]:
    return [{"email": f"{prefix}{i}@example.com", "first_name": f"Name{i}"} for i in range(n)]


def _seed(url: str, people: list[dict], *, rules: dict | None = None, subject: str = "Hi {{ first_name }}, winter is here",
          template_html: str | None = None, name: str = "Winter") -> int:
    """Contacts (added once), a campaign, a segment and a DRAFT email campaign; returns the email campaign id."""
    with session_scope(url) as s:
        known = set(s.scalars(select(Contact.email).where(Contact.merchant_id == "acme")))
        s.add_all([Contact(merchant_id="acme", **p) for p in people if p["email"] not in known])
        s.flush()
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name=name, type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", f"{name} audience", rules or {}, actor="ana")
        template = None
        if template_html is not None:
            s.add(EmailTemplate(merchant_id="acme", name=f"{name} template", html=template_html))
            template = f"{name} template"
        return broadcasts.create_email_campaign(s, "acme", campaign_id=campaign.id, segment_id=segment.id, subject=subject, actor="ana",
                                              template_name=template).id


def _prepare(url: str, ec_id: int) -> recipients.PrepareResult:
    with session_scope(url) as s:
        return recipients.prepare_send(s, "acme", ec_id, "ana", now=T0)


def _deliver(url: str, settings: Settings, ec_id: int, worker: str = "w1", now: datetime = T0, **kwargs) -> delivery.DeliveryReport:
    provider = kwargs.pop("provider", settings.email_provider)
    kwargs.setdefault("limits", UNTHROTTLED.get(provider))
    return delivery.deliver(url, settings, ec_id, worker, now, kwargs.pop("batch_size", 100), provider=provider, sender=SENDER,
                            public_url=PUBLIC, **kwargs)


def _rows(url: str, ec_id: int) -> dict[str, EmailSend]:
    with session_scope(url) as s:
        return {r.email.lower(): r for r in s.scalars(select(EmailSend).where(EmailSend.email_campaign_id == ec_id))}


def _campaign(url: str, ec_id: int) -> EmailCampaign:
    with session_scope(url) as s:
        return s.get(EmailCampaign, ec_id)


def _parsed(inbox: Inbox) -> list:
    return [message_from_bytes(raw, policy=policy.default) for _, _, raw in inbox.messages]


def _recipients(inbox: Inbox) -> list[str]:
    return [rcpt for _, rcpts, _ in inbox.messages for rcpt in rcpts]


def _token_of(message) -> str:
    https = next(part.strip("<> ") for part in message["List-Unsubscribe"].split(",") if "https://" in part)
    return parse_qs(urlparse(https).query)["token"][0]


def _assert_settled(rows: dict[str, EmailSend]) -> None:
    for row in rows.values():
        assert row.status in delivery.TERMINAL and row.reason_code and row.reason, (row.email, row.status, row.reason)


# --- sending -----------------------------------------------------------------------------------


def test_smtp_send_applies_suppressions_and_one_click_headers(store_url: str, smtp, tmp_path) -> None:
    port, inbox = smtp
    people = [
        {"email": "ana@example.com", "first_name": "Ana & <Bo>", "last_name": "O'Brien, Jr"},
        {"email": "ben@example.com", "first_name": "Ben"},
        {"email": "BEN@Example.com", "first_name": "Ben again"},  # one mailbox, two contacts: one copy
        {"email": "cat@example.com", "first_name": "Cat", "subscribed": False},
        {"email": "dan@example.com", "first_name": "Dan"},
        {"email": "eve@example.com", "first_name": "Eve"},
        {"email": "fay@example.com", "first_name": "Fay"},
        {"email": "gus@example.com", "first_name": "Gus", "tags": ["wholesale"]},
    ]
    ec_id = _seed(store_url, people, rules={"all": [{"field": "tags", "op": "not_contains", "value": "wholesale"}]})
    with session_scope(store_url) as s:
        record_bounce(s, "acme", "Dan@example.com", source="mailgun webhook")
        record_complaint(s, "acme", "eve@example.com", source="feedback loop")
        add_suppression(s, "acme", "fay@example.com", "MANUAL", actor="ana")
        add_suppression(s, "globex", "ben@example.com", "MANUAL", actor="gus")  # another merchant's list does not apply
    prepared = _prepare(store_url, ec_id)
    assert prepared.added == 6 and prepared.counts["pending"] == 2 and prepared.counts["suppressed"] == 4
    assert _prepare(store_url, ec_id).added == 0  # re-running adds nothing
    assert _campaign(store_url, ec_id).status is EmailCampaignStatus.SENDING

    report = _deliver(store_url, _smtp_settings(tmp_path, port), ec_id)
    assert report.outcomes == {"SENT": 2} and report.campaign_status == "SENT"
    assert sorted(_recipients(inbox)) == ["ana@example.com", "ben@example.com"]
    ana, ben = sorted(_parsed(inbox), key=lambda m: str(m["To"]))
    assert ana["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (part.strip() for part in ana["List-Unsubscribe"].split(","))
    assert https.startswith(f"<{PUBLIC}/unsubscribe?token=u1.") and mailto == "<mailto:unsubscribe@acme.example>"
    assert ana["Subject"] == "Hi Ana & Bo, winter is here" and ana["To"] == "Ana & Bo O'Brien Jr <ana@example.com>"
    html = ana.get_body(("html",)).get_content()
    assert "Hi Ana &amp; Bo," in html and "<Bo>" not in html
    assert f"{PUBLIC}/unsubscribe?token=" in ana.get_body(("plain",)).get_content()
    assert _token_of(ana) != _token_of(ben)

    rows = _rows(store_url, ec_id)
    _assert_settled(rows)
    assert {e: (r.status.value, r.reason_code) for e, r in rows.items()} == {
        "ana@example.com": ("SENT", "accepted"), "ben@example.com": ("SENT", "accepted"), "cat@example.com": ("SUPPRESSED", "unsubscribed"),
        "dan@example.com": ("SUPPRESSED", "bounced"), "eve@example.com": ("SUPPRESSED", "complained"), "fay@example.com": ("SUPPRESSED", "manual"),
    }
    assert rows["ana@example.com"].provider == "smtp" and rows["ana@example.com"].provider_message_id.startswith("<")
    assert _campaign(store_url, ec_id).stats == {"total": 6, "pending": 0, "sending": 0, "sent": 2, "failed": 0, "suppressed": 4, "needs_review": 0}

    again = _deliver(store_url, _smtp_settings(tmp_path, port), ec_id, now=T0 + timedelta(hours=1))
    assert again.outcomes == {} and len(inbox.messages) == 2
    with session_scope(store_url) as s, pytest.raises(errors.EmailDeliveryError, match="is SENT"):
        recipients.prepare_send(s, "acme", ec_id, "ana")
    with session_scope(store_url) as s:
        actions = [e.action for e in reversed(entries(s, "acme", str(ec_id))) if e.entity_type == "email_campaign"]
    assert actions == ["email.create", "content.approve", "email.prepare", "email.sent", "email.deliver"]


def test_one_click_unsubscribe_from_the_email_stops_later_sends(store_url: str, smtp, tmp_path) -> None:
    port, inbox = smtp
    settings = _smtp_settings(tmp_path, port)
    first = _seed(store_url, _people(3), name="First")
    _prepare(store_url, first)
    _deliver(store_url, settings, first)
    by_rcpt = {rcpts[0]: message_from_bytes(raw, policy=policy.default) for _, rcpts, raw in inbox.messages}
    client = TestClient(create_app(settings, store_url, api=False))  # the public app, as served
    # what a mail client does for List-Unsubscribe-Post: a POST with the one-click body to the https URL
    assert client.post(f"/unsubscribe?token={_token_of(by_rcpt['user1@example.com'])}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with session_scope(store_url) as s:
        assert s.scalar(select(Contact.subscribed).where(Contact.email == "user1@example.com")) is False
        assert suppressed_emails(s, "acme", ["user1@example.com"]) == {"user1@example.com": SuppressionReason.UNSUBSCRIBED}

    second = _seed(store_url, [], name="Second")
    assert _prepare(store_url, second).counts["suppressed"] == 1
    # user2 unsubscribes after the snapshot but before the send: the send-time check still catches it
    client.post(f"/unsubscribe?token={_token_of(by_rcpt['user2@example.com'])}", data={"List-Unsubscribe": "One-Click"})
    report = _deliver(store_url, settings, second)
    assert report.outcomes == {"SENT": 1, "SUPPRESSED": 1}
    assert Counter(_recipients(inbox)) == {"user0@example.com": 2, "user1@example.com": 1, "user2@example.com": 1}
    rows = _rows(store_url, second)
    assert rows["user2@example.com"].reason == "on the suppression list (UNSUBSCRIBED) when its turn came"
    _assert_settled(rows)


def test_sendgrid_batches_2500_recipients_into_requests_of_1000(store_url: str, sendgrid, tmp_path) -> None:
    ec_id = _seed(store_url, _people(2500))
    _prepare(store_url, ec_id)
    settings = _settings(tmp_path, email_provider="sendgrid", sendgrid_base_url=sendgrid.url(), sendgrid_api_key="SG.test-key")
    progress: list[int] = []
    report = _deliver(store_url, settings, ec_id, batch_size=2500, on_progress=progress.append)
    assert [len(body["personalizations"]) for body in sendgrid.accepted] == [1000, 1000, 500]
    emails = [p["to"][0]["email"] for body in sendgrid.accepted for p in body["personalizations"]]
    assert len(emails) == len(set(emails)) == 2500 and report.outcomes == {"SENT": 2500} and sum(progress) == 2500
    first = sendgrid.accepted[0]
    assert first["from"] == {"email": "news@acme.example", "name": "Acme Outdoors"} and first["categories"] == [f"email-campaign-{ec_id}"]
    personalization = first["personalizations"][0]
    assert personalization["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert personalization["headers"]["List-Unsubscribe"].endswith(", <mailto:unsubscribe@acme.example>")
    assert personalization["substitutions"]["{{first_name}}"] == "Name0" and "{{first_name}}" in first["subject"]
    ids = Counter(r.provider_message_id for r in _rows(store_url, ec_id).values())
    assert ids == {"sg-msg-1": 1000, "sg-msg-2": 1000, "sg-msg-3": 500}


def test_mailgun_batch_send_with_recipient_variables(sqlite_url: str, tmp_path) -> None:
    from tests.publishers.fake_platforms import FakeMailgun

    fake = FakeMailgun().start()
    try:
        ec_id = _seed(sqlite_url, _people(3))
        _prepare(sqlite_url, ec_id)
        settings = _settings(tmp_path, email_provider="mailgun", mailgun_base_url=fake.url(), mailgun_api_key="mg-key-1", mailgun_domain="mg.acme.example")
        report = delivery.deliver(sqlite_url, settings, ec_id, "w1", T0, public_url=PUBLIC, limits=throttle.ProviderLimits("mailgun", 1000, None))
    finally:
        fake.stop()
    assert report.outcomes == {"SENT": 3} and len(fake.accepted) == 1
    form = fake.accepted[0]
    assert form["from"] == ["Acme Outdoors <news@mg.acme.example>"] and form["subject"] == ["Hi %recipient.first_name%, winter is here"]
    assert form["h:List-Unsubscribe"] == ["<%recipient.unsubscribe_url%>, <mailto:unsubscribe@mg.acme.example>"]
    assert form["h:List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    assert {r.provider_message_id for r in _rows(sqlite_url, ec_id).values()} == {"<20261124.1@mg.acme.example>"}


def test_faults_500_is_retried_partial_batch_resends_only_the_rest(store_url: str, sendgrid, tmp_path) -> None:
    ec_id = _seed(store_url, _people(25))
    _prepare(store_url, ec_id)
    settings = _settings(tmp_path, email_provider="sendgrid", sendgrid_base_url=sendgrid.url(), sendgrid_api_key="SG.test-key")
    small = throttle.ProviderLimits("sendgrid", 10, None)
    sendgrid.faults["send"].extend(["ok", "500"])  # the first request of ten goes through, the second fails
    report = _deliver(store_url, settings, ec_id, limits=small)
    assert report.outcomes == {"SENT": 10, "PENDING": 15} and "asked to try later" in report.stopped
    rows = _rows(store_url, ec_id)
    waiting = [r for r in rows.values() if r.status is EmailSendStatus.PENDING]
    assert len(waiting) == 15 and all(r.next_attempt_at > T0 for r in waiting if r.reason_code == "retry")
    assert _campaign(store_url, ec_id).status is EmailCampaignStatus.SENDING
    assert _deliver(store_url, settings, ec_id, limits=small).outcomes == {}  # too early: nothing is due yet
    report = _deliver(store_url, settings, ec_id, now=T0 + timedelta(hours=2), limits=small)
    assert report.outcomes == {"SENT": 15} and report.campaign_status == "SENT"
    emails = [p["to"][0]["email"] for body in sendgrid.accepted for p in body["personalizations"]]
    assert len(emails) == len(set(emails)) == 25
    _assert_settled(_rows(store_url, ec_id))


def test_timeout_after_acceptance_goes_to_review_and_is_never_resent(store_url: str, sendgrid, tmp_path) -> None:
    ec_id = _seed(store_url, _people(12))
    _prepare(store_url, ec_id)
    settings = _settings(tmp_path, email_provider="sendgrid", sendgrid_base_url=sendgrid.url(), sendgrid_api_key="SG.test-key")
    small = throttle.ProviderLimits("sendgrid", 5, None)
    sendgrid.fail_next("send", "accept_then_hang")
    report = _deliver(store_url, settings, ec_id, limits=small, publisher=SendGridPublisher(sendgrid.url(), timeout=1.0))
    assert report.outcomes == {"NEEDS_REVIEW": 5, "PENDING": 7} and "did not answer" in report.stopped
    sendgrid.release.set()
    sendgrid.fail_next("send", "400")  # the next request is refused outright
    report = _deliver(store_url, settings, ec_id, now=T0 + timedelta(minutes=1), limits=small)
    assert report.outcomes == {"FAILED": 5, "SENT": 2} and report.campaign_status == "SENT"
    rows = _rows(store_url, ec_id)
    _assert_settled(rows)
    assert Counter((r.status.value, r.reason_code) for r in rows.values()) == {("NEEDS_REVIEW", "ambiguous"): 5, ("FAILED", "rejected"): 5, ("SENT", "accepted"): 2}
    emails = [p["to"][0]["email"] for body in sendgrid.accepted for p in body["personalizations"]]
    reviewed = sorted(e for e, r in rows.items() if r.status is EmailSendStatus.NEEDS_REVIEW)
    assert len(emails) == len(set(emails)) == 7 and set(reviewed) <= set(emails)  # accepted once, never sent again
    assert "verified Sender Identity" in next(r.reason for r in rows.values() if r.status is EmailSendStatus.FAILED)
    assert _campaign(store_url, ec_id).stats["needs_review"] == 5

    with session_scope(store_url) as s:
        review.resolve_review(s, "acme", rows[reviewed[0]].id, outcome="sent", actor="ana", note="in SendGrid's activity")
        review.resolve_review(s, "acme", rows[reviewed[1]].id, outcome="resend", actor="ana")
    assert _campaign(store_url, ec_id).status is EmailCampaignStatus.SENDING
    assert _deliver(store_url, settings, ec_id, now=T0 + timedelta(minutes=2), limits=small).outcomes == {"SENT": 1}
    assert _campaign(store_url, ec_id).stats["needs_review"] == 3


def test_smtp_partial_batch_refusals_and_deferrals(store_url: str, smtp, tmp_path) -> None:
    port, inbox = smtp
    people = [*_people(4), {"email": "bounce@example.com", "first_name": "B"}, {"email": "defer@example.com", "first_name": "D"}]
    ec_id = _seed(store_url, people)
    _prepare(store_url, ec_id)
    settings = _smtp_settings(tmp_path, port)
    inbox.defer_data_after = 2  # the server takes two messages, then answers 451 to the third
    report = _deliver(store_url, settings, ec_id)
    assert report.outcomes == {"SENT": 2, "PENDING": 4}
    inbox.defer_data_after = None
    report = _deliver(store_url, settings, ec_id, now=T0 + timedelta(hours=1))
    assert report.outcomes == {"SENT": 2, "FAILED": 1, "PENDING": 1}
    rows = _rows(store_url, ec_id)
    assert rows["bounce@example.com"].reason_code == "refused" and "550" in rows["bounce@example.com"].reason
    assert rows["defer@example.com"].status is EmailSendStatus.PENDING and "451" in rows["defer@example.com"].reason
    with session_scope(store_url) as s:
        assert suppressed_emails(s, "acme", ["bounce@example.com"]) == {"bounce@example.com": SuppressionReason.BOUNCED}
    report = _deliver(store_url, settings, ec_id, now=T0 + timedelta(days=1), max_attempts=2)
    assert report.outcomes == {"FAILED": 1} and report.campaign_status == "SENT"
    assert rows["defer@example.com"].attempts == 2 and _rows(store_url, ec_id)["defer@example.com"].reason_code == "gave_up"
    assert sorted(_recipients(inbox)) == [f"user{i}@example.com" for i in range(4)]
    _assert_settled(_rows(store_url, ec_id))


# --- crashes and concurrency ------------------------------------------------------------------


class Crash(BaseException):
    """The process dying: nothing after it runs, no handler records anything."""


class CrashAfterSend:
    def __init__(self, inner) -> None:
        self.inner, self.platform, self.sandbox = inner, inner.platform, inner.sandbox

    def validate(self, content):
        return self.inner.validate(content)

    def publish(self, content, credentials):
        self.inner.publish(content, credentials)
        raise Crash


def test_crash_mid_send_goes_to_review_and_rerun_never_sends_twice(store_url: str, smtp, tmp_path) -> None:
    port, inbox = smtp
    ec_id = _seed(store_url, _people(10))
    _prepare(store_url, ec_id)
    settings = _smtp_settings(tmp_path, port)
    small = throttle.ProviderLimits("smtp", 3, None)
    with pytest.raises(Crash):
        _deliver(store_url, settings, ec_id, worker="doomed", batch_size=6, limits=small, publisher=CrashAfterSend(SmtpPublisher("127.0.0.1", port)))
    assert len(inbox.messages) == 3
    left = Counter((r.status.value, r.handed_off_at is not None) for r in _rows(store_url, ec_id).values())
    assert left == {("SENDING", True): 3, ("SENDING", False): 3, ("PENDING", False): 4}

    early = _deliver(store_url, settings, ec_id, worker="w2", now=T0 + timedelta(minutes=5), limits=small)
    assert early.recovered == 0 and early.outcomes == {"SENT": 4} and early.campaign_status == "SENDING"  # the lease still holds

    late = _deliver(store_url, settings, ec_id, worker="w3", now=T0 + timedelta(minutes=11), limits=small)
    assert late.recovered == 6 and late.outcomes == {"NEEDS_REVIEW": 3, "PENDING": 3, "SENT": 3} and late.campaign_status == "SENT"
    assert Counter(_recipients(inbox)) == {f"user{i}@example.com": 1 for i in range(10)}
    rows = _rows(store_url, ec_id)
    _assert_settled(rows)
    review = [r for r in rows.values() if r.status is EmailSendStatus.NEEDS_REVIEW]
    assert len(review) == 3 and all("never reported back" in r.reason and "campaigns email review" in r.reason for r in review)


def test_sandbox_crash_after_send_is_settled_from_the_outbox(sqlite_url: str, tmp_path) -> None:
    ec_id = _seed(sqlite_url, _people(4))
    _prepare(sqlite_url, ec_id)
    settings = _settings(tmp_path)  # sandbox: the embedded default
    from publishers import build_email_publisher

    with pytest.raises(Crash):
        _deliver(sqlite_url, settings, ec_id, worker="doomed", publisher=CrashAfterSend(build_email_publisher(settings.publisher_config(), "sandbox")))
    report = _deliver(sqlite_url, settings, ec_id, worker="w2", now=T0 + timedelta(hours=1))
    assert report.recovered == 4 and report.outcomes == {"SENT": 4} and report.campaign_status == "SENT"
    outbox = read_outbox(settings.home_path / "outbox" / "email.jsonl")
    assert len(outbox) == 1 and len(outbox[0]["recipients"]) == 4
    assert {r.reason_code for r in _rows(sqlite_url, ec_id).values()} == {"reconciled"}


def test_concurrent_workers_send_each_address_exactly_once(store_url: str, smtp, tmp_path) -> None:
    port, inbox = smtp
    ec_id = _seed(store_url, _people(60))
    _prepare(store_url, ec_id)
    settings = _smtp_settings(tmp_path, port)
    reports, errors = [], []
    start = threading.Barrier(3)

    def worker(name: str) -> None:
        try:
            start.wait()
            reports.append(_deliver(store_url, settings, ec_id, worker=name, batch_size=4, limits=throttle.ProviderLimits("smtp", 2, None)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert Counter(_recipients(inbox)) == {f"user{i}@example.com": 1 for i in range(60)}  # none twice, none lost
    assert sum(r.outcomes.get("SENT", 0) for r in reports) == 60
    rows = _rows(store_url, ec_id)
    _assert_settled(rows)
    assert {r.status for r in rows.values()} == {EmailSendStatus.SENT} and _campaign(store_url, ec_id).status is EmailCampaignStatus.SENT


# --- content, approvals, stats -------------------------------------------------------------------


def test_templates_render_sandboxed_escaped_and_need_approval(store_url: str, tmp_path) -> None:
    with pytest.raises(errors.EmailTemplateError, match="merge tags are first_name"):
        _seed(store_url, _people(1), subject="Hi {{ nickname }}", name="Bad")
    with pytest.raises(errors.EmailTemplateError, match="does not render"):
        _seed(store_url, _people(1), template_html="{{ ''.__class__.__mro__ }}", name="Escape")
    html = "<h1>{{ merchant_name }}</h1><p>Hello {{ first_name }}</p><a href='{{ unsubscribe_url }}'>stop</a>"
    ec_id = _seed(store_url, _people(2), template_html=html, name="Templated")
    rendered = rendering.render_campaign("Hi {{ first_name }}", "", html, "Acme <&> Co")
    assert rendered.html.startswith("<h1>Acme &lt;&amp;&gt; Co</h1>")
    one = rendering.render_for_recipient(rendered, {"first_name": "<b>Zoe</b> & Al"}, f"{PUBLIC}/unsubscribe?token=t&x=1")
    assert "Hello bZoe/b &amp; Al" in one.html and "token=t&amp;x=1" in one.html and one.subject == "Hi bZoe/b & Al"
    assert "stop: https://shop.acme.example/unsubscribe?token=t&x=1" in one.text

    with session_scope(store_url) as s:
        s.scalar(select(EmailTemplate).where(EmailTemplate.name == "Templated template")).html = html + "<p>P.S. 50% off</p>"
    with session_scope(store_url) as s, pytest.raises(NotApprovedError, match="changed since it was approved"):
        recipients.prepare_send(s, "acme", ec_id, "ana")
    with session_scope(store_url) as s:
        broadcasts.approve_email_campaign(s, "acme", ec_id, "boss")
    assert _prepare(store_url, ec_id).counts["pending"] == 2
    report = _deliver(store_url, _settings(tmp_path), ec_id)
    outbox = read_outbox(tmp_path / "home" / "outbox" / "email.jsonl")
    assert report.outcomes == {"SENT": 2} and "P.S. 50% off" in outbox[0]["message"]["html"]


def test_a_base_layout_template_may_rely_on_the_footers_unsubscribe_link(store_url: str, tmp_path) -> None:
    """Creating checks the same source sending renders (template inside its layout), so the footer's link counts."""
    ec_id = _seed(store_url, _people(1), template_html="<h1>Hello {{ first_name }}</h1><p>New tents are in.</p>", name="Footer")
    _prepare(store_url, ec_id)
    assert _deliver(store_url, _settings(tmp_path), ec_id).outcomes == {"SENT": 1}
    html = read_outbox(tmp_path / "home" / "outbox" / "email.jsonl")[0]["message"]["html"]
    assert "New tents are in." in html and "{{unsubscribe_url}}" in html  # the layout's footer link, filled per recipient


def test_resolving_email_campaigns_and_tenant_scope(store_url: str, tmp_path) -> None:
    ec_id = _seed(store_url, _people(1))
    with session_scope(store_url) as s:
        campaign_id = s.get(EmailCampaign, ec_id).campaign_id
        assert broadcasts.resolve_email_campaign(s, "acme", str(ec_id)).id == ec_id
        assert broadcasts.resolve_email_campaign(s, "acme", campaign_id).id == ec_id
        with pytest.raises(errors.EmailCampaignNotFoundError):
            broadcasts.resolve_email_campaign(s, "globex", str(ec_id))
        segment_id = s.get(EmailCampaign, ec_id).segment_id
        broadcasts.create_email_campaign(s, "acme", campaign_id=campaign_id, segment_id=segment_id, subject="Second", actor="ana")
    with session_scope(store_url) as s, pytest.raises(errors.EmailCampaignNotFoundError, match="has 2 email campaigns"):
        broadcasts.resolve_email_campaign(s, "acme", campaign_id)
    with pytest.raises(errors.EmailDeliveryError, match="prepare it first"):
        _deliver(store_url, _settings(tmp_path), ec_id)
    with pytest.raises(errors.EmailCampaignNotFoundError):
        _deliver(store_url, _settings(tmp_path), ec_id, merchant_id="globex")
    _prepare(store_url, ec_id)
    with pytest.raises(errors.EmailDeliveryError, match="CAMPAIGNS_TOKEN_KEY is not set"):
        _deliver(store_url, Settings(home=tmp_path / "home", token_key=None), ec_id)
    with pytest.raises(errors.EmailDeliveryError, match="CAMPAIGNS_SENDGRID_API_KEY"):
        _deliver(store_url, _settings(tmp_path, email_provider="sendgrid"), ec_id)


def test_send_stats_frame_per_campaign_and_day(store_url: str, tmp_path) -> None:
    people = [*_people(3), {"email": "off@example.com", "first_name": "Off", "subscribed": False}]
    ec_id = _seed(store_url, people)
    _prepare(store_url, ec_id)
    _deliver(store_url, _settings(tmp_path), ec_id)
    frame = stats.send_stats_frame(store_url, merchant_id="acme")
    assert frame.schema == stats.EMAIL_SENDS_COLUMNS
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert (row["email_campaign_id"], row["sent"], row["suppressed"], row["failed"], row["needs_review"]) == (ec_id, 3, 1, 0, 0)
    assert row["campaign_id"].startswith("cmp_") and row["date"] == T0.date()  # prepared and sent at T0
    assert stats.send_stats_frame(store_url, merchant_id="globex").height == 0


def test_throttle_paces_batches_to_the_provider_rate() -> None:
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = throttle.Throttle(10.0, clock=lambda: now[0], sleep=sleep)
    assert [pacer.wait(5), pacer.wait(5), pacer.wait(20)] == [0.0, 0.5, 0.5]
    now[0] += 10  # idle time is not banked into a burst beyond one batch
    assert pacer.wait(1) == 0.0 and slept == [0.5, 0.5]
    assert throttle.Throttle(None).wait(10_000) == 0.0
    assert throttle.PROVIDER_LIMITS["sendgrid"].max_batch == 1000 and throttle.PROVIDER_LIMITS["mailgun"].max_batch == 1000


# --- the shared work queue: retry times and the attempt log ---------------------------------------------


class Busy:
    """A provider that takes nothing and names no retry time: the engine's own backoff decides."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def validate(self, content):
        return self.inner.validate(content)

    def publish(self, content, credentials):
        raise Retryable("busy, try later", platform="sandbox")


def _attempts(url: str, queue_name: str = "email") -> list[WorkAttempt]:
    with session_scope(url) as s:
        return list(s.scalars(select(WorkAttempt).where(WorkAttempt.queue == queue_name).order_by(WorkAttempt.id)))


def test_a_retry_waits_the_queue_backoff_and_every_hand_off_is_logged(store_url: str, tmp_path) -> None:
    from publishers import build_email_publisher

    ec_id = _seed(store_url, _people(3))
    _prepare(store_url, ec_id)
    settings = _settings(tmp_path)
    report = _deliver(store_url, settings, ec_id, publisher=Busy(build_email_publisher(settings.publisher_config(), "sandbox")))
    assert report.outcomes == {"PENDING": 3} and "asked to try later" in report.stopped
    rows = _rows(store_url, ec_id)
    # the first retry: one minute plus up to 10% jitter, per row (the run's clock moves on a little while it works)
    assert all(T0 + timedelta(minutes=1) <= r.next_attempt_at <= T0 + queue.max_backoff(1) + timedelta(seconds=30) for r in rows.values())
    assert all(r.attempts == 1 and r.claimed_by is None and r.handed_off_at is None for r in rows.values())
    assert _deliver(store_url, settings, ec_id, now=T0 + timedelta(minutes=1) - timedelta(seconds=1)).outcomes == {}  # not due yet
    report = _deliver(store_url, settings, ec_id, now=T0 + queue.max_backoff(1) + timedelta(seconds=31))
    assert report.outcomes == {"SENT": 3} and report.campaign_status == "SENT"
    logged = _attempts(store_url)
    by_row = {r.id: [(a.attempt, a.outcome) for a in logged if a.item_id == r.id] for r in _rows(store_url, ec_id).values()}
    assert set(map(tuple, by_row.values())) == {((1, "retry"), (2, "accepted"))}
    assert {a.merchant_id for a in logged} == {"acme"} and all(a.finished_at >= a.started_at for a in logged)


def test_a_dead_workers_hand_off_is_logged_when_it_is_settled(store_url: str, smtp, tmp_path) -> None:
    port, inbox = smtp
    ec_id = _seed(store_url, _people(4))
    _prepare(store_url, ec_id)
    settings = _smtp_settings(tmp_path, port)
    small = throttle.ProviderLimits("smtp", 2, None)
    with pytest.raises(Crash):
        _deliver(store_url, settings, ec_id, worker="doomed", batch_size=4, limits=small, publisher=CrashAfterSend(SmtpPublisher("127.0.0.1", port)))
    assert _attempts(store_url) == []  # the crash came before any outcome was written
    late = _deliver(store_url, settings, ec_id, worker="w2", now=T0 + delivery.DEFAULT_LEASE + timedelta(minutes=1), limits=small)
    assert late.recovered == 4 and late.outcomes == {"NEEDS_REVIEW": 2, "PENDING": 2, "SENT": 2}
    logged = [(a.worker_id, a.attempt, a.outcome) for a in _attempts(store_url)]
    assert sorted(logged) == [("doomed", 1, "lease_expired")] * 2 + [("w2", 1, "accepted")] * 2


def test_prepare_send_takes_recipients_and_due_times_from_the_selection_it_is_given(store_url: str) -> None:
    ec_id = _seed(store_url, _people(4))

    class FirstTwo:
        def contacts(self, session, ec, now):
            return select(Contact).where(Contact.merchant_id == ec.merchant_id, Contact.email.in_(["user0@example.com", "user1@example.com"]))

        def send_times(self, session, ec, contacts, now, capacity):
            return {contacts[0][0]: now + timedelta(hours=3)}

    with session_scope(store_url) as s:
        s.get(EmailCampaign, ec_id).kind = "ab_variant"
        with pytest.raises(errors.EmailDeliveryError, match="A/B test"):
            recipients.prepare_send(s, "acme", ec_id, "ana", now=T0)  # the segment is not its audience
        s.get(EmailCampaign, ec_id).kind = "broadcast"
        result = recipients.prepare_send(s, "acme", ec_id, "ana", now=T0, recipients=FirstTwo())
    assert result.added == 2
    due = sorted((r.email, r.next_attempt_at) for r in _rows(store_url, ec_id).values())
    assert due == [("user0@example.com", T0 + timedelta(hours=3)), ("user1@example.com", None)]
