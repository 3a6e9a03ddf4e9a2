"""Sign-up with double opt-in: form validation, the confirmation email, the signed link, the consent and the signed_up trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from campaigns.audiences.contacts import consent_history
from campaigns.audiences.suppression import UnsubscribeSigner, add_suppression
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AutomationEnrollment, Contact, ContactEvent, EmailCampaign, EmailSend, EmailSendStatus, Segment
from campaigns.email import automation_triggers as triggers
from campaigns.email import automations as auto
from campaigns.email import signup as su
from campaigns.email.broadcasts import approve_email_campaign
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.recipients import prepare_send
from publishers.base import Credentials
from publishers.sandbox import SandboxPublisher, read_outbox

KEY = Fernet.generate_key().decode()
T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
FORM = {"email": " Mia@Example.COM ", "first_name": "Mia", "consent": "on", "consent_text": "Yes, send me the Acme newsletter.",
        "source": "footer form", "tags": "newsletter;spring"}


@pytest.fixture
def mailer(tmp_path: Path) -> su.SignupMailer:
    publisher = SandboxPublisher("email", tmp_path / "outbox")
    return su.SignupMailer(publisher, Credentials(), "Acme <news@acme.example>", "https://shop.acme.example", su.ConfirmationSigner(KEY),
                           UnsubscribeSigner(KEY))


def _link(mailer: su.SignupMailer) -> str:
    [entry] = read_outbox(mailer.publisher.path)  # type: ignore[attr-defined]
    text = entry["message"]["text"]
    return text.split("\n")[1]


def test_form_validation_names_each_field() -> None:
    assert su.parse_form(FORM).tags == ["newsletter", "spring"]
    assert su.parse_request({**FORM, "merchant": "globex"}, "acme")[0] == "globex"
    assert su.parse_request(FORM, "acme")[0] == "acme"
    with pytest.raises(su.SignupError) as caught:
        su.parse_form({"email": "nope", "consent": "", "timezone": "Mars/Base"})
    assert caught.value.problems.keys() == {"consent"}
    assert "tick the consent box" in caught.value.problems["consent"]
    with pytest.raises(su.SignupError) as caught:
        su.parse_form({"email": "nope", "consent": True, "timezone": "Mars/Base"})
    assert set(caught.value.problems) == {"email", "timezone"}
    with pytest.raises(su.SignupError, match="admin: Extra inputs are not permitted"):
        su.parse_form({"email": "a@example.com", "consent": True, "admin": True})


def test_double_opt_in_from_form_to_consent_and_trigger(store_url: str, mailer: su.SignupMailer) -> None:
    with session_scope(store_url) as s:
        automation = auto.create_automation(s, "acme", {"trigger": {"type": "signup"}, "start": "done", "steps": {"done": {"type": "end"}}},
                                            actor="ana", name="welcome")
        auto.activate(s, "acme", automation.id, actor="ana", now=T0 - timedelta(hours=1))
        result = su.signup(s, "acme", su.parse_form(FORM), mailer, ip="203.0.113.7", user_agent="Firefox/140", now=T0)
    assert result.outcome == "confirmation_sent"
    [entry] = read_outbox(mailer.publisher.path)  # type: ignore[attr-defined]
    assert entry["recipients"][0]["email"] == "Mia@example.com" and entry["message"]["tag"] == "signup-confirm"
    link = _link(mailer)
    assert link.startswith("https://shop.acme.example/signup/confirm?token=c1.") and "Mia" not in link
    with session_scope(store_url) as s:
        contact = s.get(Contact, result.contact_id)
        assert (contact.status, contact.subscribed, contact.tags) == ("pending", False, ["newsletter", "spring"])
    # a pending contact is no recipient and no automation enrols it yet
    assert triggers.enroll_due(store_url, T0 + timedelta(minutes=1)) == 0
    token = link.split("token=")[1]
    with session_scope(store_url) as s:
        confirmed = su.confirm_signup(s, token, su.ConfirmationSigner(KEY), ip="203.0.113.8", now=T0 + timedelta(hours=2))
        assert confirmed.changed
        history = consent_history(s, "acme", result.contact_id)
        assert [(c.purpose, c.granted, c.source, c.ip) for c in history] == [
            ("signup_request", True, "footer form", "203.0.113.7"), ("email_marketing", True, "double opt-in (footer form)", "203.0.113.8")]
        assert history[1].wording == "Yes, send me the Acme newsletter." and history[0].user_agent == "Firefox/140"
        contact = s.get(Contact, result.contact_id)
        assert (contact.status, contact.subscribed) == ("active", True)
        assert s.scalar(select(ContactEvent.kind).where(ContactEvent.contact_id == contact.id)) == "signed_up"
    with session_scope(store_url) as s:
        assert not su.confirm_signup(s, token, su.ConfirmationSigner(KEY), now=T0 + timedelta(hours=3)).changed
    assert triggers.enroll_due(store_url, T0 + timedelta(hours=3)) == 1
    with session_scope(store_url) as s:
        assert s.scalar(select(AutomationEnrollment.contact_id)) == result.contact_id
        # signing up again once subscribed sends nothing
        assert su.signup(s, "acme", su.parse_form(FORM), mailer, now=T0).outcome == "already_subscribed"
    assert len(read_outbox(mailer.publisher.path)) == 1  # type: ignore[attr-defined]


def test_tokens_are_checked(store_url: str, mailer: su.SignupMailer) -> None:
    with session_scope(store_url) as s:
        su.signup(s, "acme", su.parse_form(FORM), mailer, now=T0)
    token = _link(mailer).split("token=")[1]
    signer = su.ConfirmationSigner(KEY)
    version, body, signature = token.split(".")
    for bad, message in ((f"{version}.{body}.{signature[:-2]}xx", "signature"), ("u1.abc.def", "malformed"), ("", "malformed"),
                         (f"{version}.bm90IGpzb24.{signer._signature(signer._keys[0], 'bm90IGpzb24')}", "cannot be read")):
        with session_scope(store_url) as s, pytest.raises(su.ConfirmationTokenError, match=message):
            su.confirm_signup(s, bad, signer, now=T0)
    with session_scope(store_url) as s, pytest.raises(su.ConfirmationTokenError, match="older than 7 days"):
        su.confirm_signup(s, token, signer, now=T0 + timedelta(days=8))
    # rotation: a new key first, the old one still listed, keeps the link working
    with session_scope(store_url) as s:
        assert su.confirm_signup(s, token, su.ConfirmationSigner(f"{Fernet.generate_key().decode()},{KEY}"), now=T0).changed
    with pytest.raises(su.ConfirmationTokenError, match="empty"):
        su.ConfirmationSigner(" , ")
    assert "hidden" in repr(signer)


def test_suppressed_addresses_get_no_email_and_an_unsubscribed_link_is_refused(store_url: str, mailer: su.SignupMailer) -> None:
    with session_scope(store_url) as s:
        add_suppression(s, "acme", "mia@example.com", "UNSUBSCRIBED", actor="test")
        assert su.signup(s, "acme", su.parse_form(FORM), mailer, now=T0) == su.SignupResult(None, "not_sent")
    assert read_outbox(mailer.publisher.path) == []  # type: ignore[attr-defined]
    with session_scope(store_url) as s:
        result = su.signup(s, "acme", su.parse_form({**FORM, "email": "leo@example.com"}), mailer, now=T0)
    token = read_outbox(mailer.publisher.path)[0]["message"]["text"].split("token=")[1].split("\n")[0]  # type: ignore[attr-defined]
    with session_scope(store_url) as s:
        add_suppression(s, "acme", "leo@example.com", "UNSUBSCRIBED", actor="test")
    with session_scope(store_url) as s, pytest.raises(su.ConfirmationTokenError, match="unsubscribed since"):
        su.confirm_signup(s, token, su.ConfirmationSigner(KEY), now=T0)
    with session_scope(store_url) as s:
        s.delete(s.get(Contact, result.contact_id))
    with session_scope(store_url) as s, pytest.raises(su.ConfirmationTokenError, match="no longer exists"):
        su.confirm_signup(s, token, su.ConfirmationSigner(KEY), now=T0)


def test_a_failed_send_writes_nothing(store_url: str, mailer: su.SignupMailer) -> None:
    class Down:
        def publish(self, message, credentials):
            raise ConnectionError("provider down")

    broken = su.SignupMailer(Down(), Credentials(), mailer.sender, mailer.public_url, mailer.confirmations, mailer.unsubscribes)  # type: ignore[arg-type]
    with pytest.raises(EmailDeliveryError, match="could not be sent"), session_scope(store_url) as s:
        su.signup(s, "acme", su.parse_form(FORM), broken, now=T0)
    with session_scope(store_url) as s:
        assert s.scalar(select(Contact.id)) is None


def test_mailer_from_settings(tmp_path: Path) -> None:
    mailer = su.mailer_from_settings(Settings(home=tmp_path, token_key=KEY, email_provider="sandbox"), "Acme")
    assert mailer.public_url.startswith("https://") and "Acme" in mailer.sender
    with pytest.raises(EmailDeliveryError, match="CAMPAIGNS_TOKEN_KEY"):
        su.mailer_from_settings(Settings(home=tmp_path, token_key=None, email_provider="sandbox"), "Acme")


def test_pending_contacts_get_no_marketing_email(store_url: str) -> None:
    """Recipients: a pending sign-up in the segment is snapshotted as suppressed (no consent), an active subscribed one is sent."""
    with session_scope(store_url) as s:
        s.add_all([Contact(merchant_id="acme", email="p@example.com", status="pending", subscribed=False),
                   Contact(merchant_id="acme", email="p2@example.com", status="pending", subscribed=True),
                   Contact(merchant_id="acme", email="a@example.com")])
        segment = Segment(merchant_id="acme", name="all", rules={})
        s.add(segment)
        s.flush()
        ec = EmailCampaign(merchant_id="acme", subject="Hi", segment_id=segment.id)
        s.add(ec)
        s.flush()
        ec_id = ec.id
    with session_scope(store_url) as s:
        approve_email_campaign(s, "acme", ec_id, "ana")
    with session_scope(store_url) as s:
        prepare_send(s, "acme", ec_id, "ana", now=T0, provider="sandbox")
        rows = dict(s.execute(select(EmailSend.email, EmailSend.reason_code).order_by(EmailSend.email)).all())
        status = dict(s.execute(select(EmailSend.email, EmailSend.status)).all())
    assert rows == {"a@example.com": None, "p2@example.com": "no_consent", "p@example.com": "no_consent"}
    assert status["a@example.com"] is EmailSendStatus.PENDING



def test_pages_escape_what_they_show() -> None:
    page = su.signup_page("acme", "<Acme & Co>", values={"email": "x'><script>"}, problems={"email": "not <valid>", "consent": "tick it"})
    assert "&lt;Acme &amp; Co&gt;" in page and "<script>" not in page and "not &lt;valid&gt;" in page and "tick it" in page
    assert "name='merchant' value='acme'" in page and "method='post' action='/signup'" in page
    assert "confirmation link" in su.signup_sent_page()
    assert "You are subscribed" in su.confirm_page() and "&lt;b&gt;" in su.confirm_page("<b>old</b>")
