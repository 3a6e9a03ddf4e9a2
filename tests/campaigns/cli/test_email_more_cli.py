"""`campaigns email status | suppress | review | send | serve-unsubscribe`: refusals, settling reviews, the endpoint's start-up."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from campaigns.access.users import set_four_eyes
from campaigns.api import server as api_server
from campaigns.audiences.segments import save_segment
from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, EmailCampaign, EmailSend, EmailSendStatus, Suppression
from campaigns.email.broadcasts import create_email_campaign, is_approved
from campaigns.lifecycle import service as campaign_service
from publishers.sandbox import read_outbox

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


@pytest.fixture
def sent(home: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """acme with two subscribed contacts, and email campaign 1 sent to both through the sandbox; returns its id."""
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add_all([Contact(merchant_id="acme", email="ana@example.com", first_name="Ana"), Contact(merchant_id="acme", email="ben@example.com")])
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        campaign_id, segment_id = campaign.id, segment.id
    _run("email", "create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id), "--subject", "Hello")
    assert "SENT" in _run("email", "send", "--merchant", "acme", "--campaign", "1")
    return 1


def _sends() -> dict[str, str]:
    with session_scope(get_settings().store_url) as s:
        return {row.email: row.status.value for row in s.scalars(sa.select(EmailSend))}


def _mark_needs_review(email: str) -> int:
    with session_scope(get_settings().store_url) as s:
        row = s.scalar(sa.select(EmailSend).where(EmailSend.email == email))
        row.status = EmailSendStatus.NEEDS_REVIEW  # as a worker leaves it when the provider's answer was lost
        return row.id


def test_status_of_an_unknown_campaign(sent: int) -> None:
    out = _run("email", "status", "--merchant", "acme", "--campaign", "42", code=2)
    assert "no email campaign 42 for merchant 'acme'; create one with `campaigns email create`" in out
    other = _run("email", "status", "--merchant", "globex", "--campaign", "1", code=2)  # another merchant's campaign is not found
    assert "no email campaign 1 for merchant 'globex'" in other


def test_suppress_refuses_what_is_not_an_address(sent: int) -> None:
    out = _run("email", "suppress", "not-an-email", "--merchant", "acme", code=2)
    assert "'not-an-email' is not an email address like ana@example.com" in out
    with session_scope(get_settings().store_url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_review_settles_sent_and_resend_sends_only_that_one(sent: int, home: Path) -> None:
    ana, ben = _mark_needs_review("ana@example.com"), _mark_needs_review("ben@example.com")
    refused = _run("email", "review", str(ben), "--outcome", "sent", "--merchant", "globex", code=2)
    assert f"no email send {ben} for merchant 'globex'" in refused
    assert _run("email", "review", str(ben), "--outcome", "resend", "--merchant", "acme", "--note", "not in the provider log") == (
        f"email send {ben} is now PENDING: run `campaigns email send` to send it")
    assert _sends() == {"ana@example.com": "NEEDS_REVIEW", "ben@example.com": "PENDING"}
    again = _run("email", "review", str(ben), "--outcome", "failed", "--merchant", "acme", code=2)
    assert "is PENDING, not NEEDS_REVIEW; nothing to settle" in again
    summary = _run("email", "send", "--merchant", "acme", "--campaign", "1", code=3)  # a script must notice
    assert "1 recipients need a person:" in summary  # ana is still waiting for a person
    assert "0 recipients FAILED and 1 NEED REVIEW in email campaign 1" in summary
    outbox = read_outbox(home / "outbox" / "email.jsonl")
    assert [r["email"] for r in outbox[-1]["recipients"]] == ["ben@example.com"] and len(outbox) == 2
    assert _run("email", "review", str(ana), "--outcome", "failed", "--merchant", "acme") == f"email send {ana} is now FAILED"
    assert _sends() == {"ana@example.com": "FAILED", "ben@example.com": "SENT"}
    assert "1 recipients FAILED and 0 NEED REVIEW" in _run("email", "send", "--merchant", "acme", "--campaign", "1", code=3)


def test_serve_unsubscribe_needs_the_token_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMPAIGNS_TOKEN_KEY", raising=False)
    get_settings.cache_clear()
    out = _run("email", "serve-unsubscribe", code=2)
    assert "CAMPAIGNS_TOKEN_KEY" in out


def test_serve_unsubscribe_refuses_a_bad_webhook_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY", "not a key")
    get_settings.cache_clear()
    out = _run("email", "serve-unsubscribe", code=2)
    assert "CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY is not a public key" in out


def test_serve_unsubscribe_listens_where_asked_and_lists_the_endpoints(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CAMPAIGNS_MAILGUN_WEBHOOK_SIGNING_KEY", "key-123")
    get_settings.cache_clear()
    served: list = []
    monkeypatch.setattr(api_server, "serve", lambda app, host, port, concurrency: served.extend([(host, port, app), "serving"]))
    out = _run("email", "serve-unsubscribe", "--host", "0.0.0.0", "--port", "8611")
    assert served[0][:2] == ("0.0.0.0", 8611) and served[1] == "serving"
    client = TestClient(served[0][2])  # the public app only: no API, no API documentation
    assert client.get("/unsubscribe?token=u1.x.y").status_code == 400 and client.get("/webhooks/mailgun").status_code == 405
    assert client.get("/marketing/campaigns").status_code == client.get("/openapi.json").status_code == 404
    assert "unsubscribe endpoint on http://0.0.0.0:8611/ (links point at CAMPAIGNS_PUBLIC_URL, unset)" in out
    assert "provider webhooks: POST /webhooks/mailgun" in out and "sendgrid" not in out.split("provider webhooks:")[1].split("open and")[0]


def test_approve_gives_a_second_persons_approval_under_the_four_eyes_rule(home: Path) -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        set_four_eyes(s, "acme", True, "owner")
        # as `campaigns content to-email` makes it under the rule: its maker's own version is not approved
        ec_id = create_email_campaign(s, "acme", campaign_id=campaign.id, segment_id=segment.id, subject="Hello", actor="ana",
                                      author_approves=False).id
    assert "wrote or edited email_campaign" in _run("email", "approve", "--merchant", "acme", "--campaign", str(ec_id), "--actor", "ana", code=2)
    assert f"approved email campaign {ec_id}" in _run("email", "approve", "--merchant", "acme", "--campaign", str(ec_id), "--actor", "bo")
    with session_scope(url) as s:
        assert is_approved(s, s.get(EmailCampaign, ec_id))
