"""`campaigns email ...`: create, send once with a summary, unsubscribe, suppress; refusals exit 2 naming the fix."""

from pathlib import Path

import pytest
import typer
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from campaigns.cli import email_commands
from campaigns.lifecycle import service as campaign_service
from campaigns.core.merchants import ensure_merchant
from campaigns.audiences.segments import save_segment
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact
from publishers.sandbox import read_outbox

# registered by the main app as `campaigns email`; a local app keeps this test independent of main.py
app = typer.Typer()
app.add_typer(email_commands.app, name="email")
runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def store(home: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """The acme merchant with three contacts (one unsubscribed), a campaign and a segment; (campaign id, segment id)."""
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add_all([Contact(merchant_id="acme", email="ana@example.com", first_name="Ana"), Contact(merchant_id="acme", email="ben@example.com"),
                   Contact(merchant_id="acme", email="cat@example.com", subscribed=False)])
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return campaign.id, segment.id


def test_create_send_rerun_and_unsubscribe(home: Path, store: tuple[str, int]) -> None:
    campaign_id, segment_id = store
    created = _run("email", "create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id), "--subject", "Hi {{ first_name }}")
    assert "created email campaign 1 (DRAFT)" in created
    sent = _run("email", "send", "--merchant", "acme", "--campaign", campaign_id)  # a campaign id with exactly one email campaign
    assert "email campaign 1 via sandbox: SENT" in sent
    assert "sent" in sent and "suppressed" in sent
    outbox = read_outbox(home / "outbox" / "email.jsonl")
    assert [r["email"] for r in outbox[0]["recipients"]] == ["ana@example.com", "ben@example.com"]
    again = _run("email", "send", "--merchant", "acme", "--campaign", "1")
    assert "SENT" in again and len(read_outbox(home / "outbox" / "email.jsonl")) == 1  # nothing went out twice
    status = _run("email", "status", "--merchant", "acme", "--campaign", "1")
    assert "sent" in status and "2" in status

    header = outbox[0]["recipients"][1]["headers"]["List-Unsubscribe"]
    token = header.split("token=")[1].split(">")[0]
    assert "ben@example.com unsubscribed" in _run("email", "unsubscribe", token)
    assert "was already unsubscribed" in _run("email", "unsubscribe", token)
    assert "signature does not match" in _run("email", "unsubscribe", token[:-3] + "AAA", code=2)

    assert "foo@example.com suppressed (BOUNCED)" in _run("email", "suppress", "Foo@Example.com", "--reason", "BOUNCED", "--merchant", "acme")
    assert "already suppressed (BOUNCED)" in _run("email", "suppress", "foo@example.com", "--merchant", "acme")


def test_refusals_exit_2_and_name_the_fix(home: Path, store: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id, segment_id = store
    assert "create one with `campaigns email create" in _run("email", "send", "--merchant", "acme", "--campaign", campaign_id, code=2)
    assert "no segment 99" in _run("email", "create", "--merchant", "acme", "--campaign", campaign_id, "--segment", "99", "--subject", "x", code=2)
    assert "merge tags are" in _run("email", "create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id),
                                    "--subject", "Hi {{ nick }}", code=2)
    _run("email", "create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id), "--subject", "Hello")
    assert "--public-url" in _run("email", "send", "--merchant", "acme", "--campaign", "1", "--provider", "smtp", "--sender", "A <a@acme.example>", code=2)
    assert "CAMPAIGNS_SENDGRID_API_KEY" in _run("email", "send", "--merchant", "acme", "--campaign", "1", "--provider", "sendgrid", code=2)
    monkeypatch.delenv("CAMPAIGNS_TOKEN_KEY")
    get_settings.cache_clear()
    assert "CAMPAIGNS_TOKEN_KEY is not set" in _run("email", "send", "--merchant", "acme", "--campaign", "1", code=2)
    assert "no email send 1" in _run("email", "review", "1", "--outcome", "sent", "--merchant", "acme", code=2)
    assert "DRAFT" in _run("email", "status", "--merchant", "acme", "--campaign", "1")  # a send that could not start took no snapshot
    assert not (home / "outbox" / "email.jsonl").exists()
