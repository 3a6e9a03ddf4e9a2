"""`campaigns content schedule`: an approved draft onto the queue from the shell; refusals exit 2 naming the fix."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import time_machine
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.content.approvals import approve_content
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import CampaignContent, RepurposedContent
from campaigns.lifecycle import service
from campaigns.social import scheduling
from campaigns.social.accounts import add_account

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_schedule_an_approved_draft_at_a_time_or_its_best_slot(home: Path) -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", timezone="Europe/Berlin")
        c = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="AWARENESS", channels=["x"], budget=Decimal("100"),
                                                                     start_date=datetime(2026, 12, 1, tzinfo=UTC), end_date=datetime(2026, 12, 5, tzinfo=UTC)),
                                    actor="ana")
        draft = CampaignContent(merchant_id="acme", campaign_id=c.id, channel="SOCIAL", platform="x", body="Winter is here")
        unapproved = CampaignContent(merchant_id="acme", campaign_id=c.id, channel="SOCIAL", platform="x", body="Not yet")
        s.add_all([draft, unapproved])
        s.flush()
        approve_content(s, "acme", draft.id, "ana")
        loose = RepurposedContent(merchant_id="acme", source_title="Post", source_hash="h", format="x", engine="offline", payload={})
        linked = RepurposedContent(merchant_id="acme", source_title="Post", source_hash="h", format="x", engine="offline",
                                   payload={"campaign_content_id": draft.id})
        s.add_all([loose, linked])
        s.flush()
        account = add_account(s, "acme", "x", "@acme", actor="ana", timezone="Europe/Berlin")
        ids = (draft.id, unapproved.id, loose.id, linked.id, account.id)
    draft_id, unapproved_id, loose_id, linked_id, account_id = ids

    at = _run("content", "schedule", "--draft", f"cc-{draft_id}", "--account", str(account_id), "--at", "2026-12-02T10:00", "--merchant", "acme")
    assert f"(cc-{draft_id}) for 2026-12-02 09:00 UTC: at the time given" in at  # local Berlin time
    # the same draft again, another way and at another time: one post per account, never a second
    again = _run("content", "schedule", "--draft", f"rc-{linked_id}", "--account", str(account_id), "--at", "2026-12-03T10:00", "--merchant", "acme")
    assert "already on the queue as item 1 (QUEUED, 2026-12-02 09:00 UTC)" in again
    with session_scope(url) as s:
        assert len(scheduling.list_queue(s, "acme")) == 1
        scheduling.cancel(s, "acme", 1, "ana", "moved")  # cancelled, it may be scheduled again
    with time_machine.travel(datetime(2026, 11, 20, tzinfo=UTC), tick=False):
        best = _run("content", "schedule", "--draft", f"rc-{linked_id}", "--account", str(account_id), "--merchant", "acme")
    assert f"(cc-{draft_id}) for 2026-12-0" in best and "best slot" in best
    assert "has no approval for its current version" in _run("content", "schedule", "--draft", str(unapproved_id), "--account", str(account_id),
                                  "--at", "2026-12-02T12:00", "--merchant", "acme", code=2)
    assert "outside campaign" in _run("content", "schedule", "--draft", f"cc-{draft_id}", "--account", str(account_id),
                                      "--at", "2027-01-02T12:00", "--merchant", "acme", code=2)
    assert "is not stored with a campaign" in _run("content", "schedule", "--draft", f"rc-{loose_id}", "--account", str(account_id),
                                                   "--merchant", "acme", code=2)
    assert "is not a draft id" in _run("content", "schedule", "--draft", "post-7", "--account", str(account_id), "--merchant", "acme", code=2)
    assert "not both" in _run("content", "schedule", "--draft", "cc-1", "--account", "1", "--at", "2026-12-02T10:00", "--best", code=2)


def test_to_email_makes_one_email_campaign_from_an_approved_draft(home: Path) -> None:
    from campaigns.audiences.segments import save_segment
    from campaigns.core.store.models import EmailCampaign
    from campaigns.email.templates import install_starters

    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        c = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="AWARENESS", channels=["email"]), actor="ana")
        body = "Subject: Winter is here\nPreview: Stay warm\n\nCold days ahead.\n\nRead more: https://acme.example/winter"
        draft = CampaignContent(merchant_id="acme", campaign_id=c.id, channel="email", content_type="email", body=body)
        pending = CampaignContent(merchant_id="acme", campaign_id=c.id, channel="email", content_type="email", body=body + "!")
        other = CampaignContent(merchant_id="acme", campaign_id=c.id, channel="email", content_type="email", body=body + "?")
        s.add_all([draft, pending, other])
        s.flush()
        approve_content(s, "acme", draft.id, "bo")
        approve_content(s, "acme", other.id, "bo")
        install_starters(s, "acme")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana").id
        draft_id, pending_id, other_id = draft.id, pending.id, other.id

    first = _run("content", "to-email", "--draft", f"cc-{draft_id}", "--segment", str(segment), "--template", "Article", "--merchant", "acme")
    assert f"(a DRAFT) from draft cc-{draft_id} in template 'Article'" in first and "campaigns email send --campaign" in first
    again = _run("content", "to-email", "--draft", f"cc-{draft_id}", "--segment", str(segment), "--template", "Article", "--merchant", "acme")
    assert "already became email campaign" in again
    with session_scope(url) as s:
        assert [e.source_content_id for e in s.query(EmailCampaign)] == [draft_id]
    refused = _run("content", "to-email", "--draft", f"cc-{pending_id}", "--segment", str(segment), "--template", "Article", "--merchant", "acme", code=2)
    assert f"campaigns approve cc-{pending_id}" in refused
    assert "no {{ content }} slot" in _run("content", "to-email", "--draft", f"cc-{other_id}", "--segment", str(segment), "--template",
                                           "Newsletter", "--merchant", "acme", code=2)
    assert "no email template 'Nope'" in _run("content", "to-email", "--draft", f"cc-{other_id}", "--segment", str(segment),
                                              "--template", "Nope", "--merchant", "acme", code=2)
    assert "no segment 999" in _run("content", "to-email", "--draft", f"cc-{other_id}", "--segment", "999", "--template", "Article",
                                    "--merchant", "acme", code=2)
