"""`campaigns email ab-create | ab-report | ab-decide`: a whole test from the shell; refusals exit 2 naming the fix."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from campaigns.cli import email_commands
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AbTestVariant, ContactEvent, EmailSend
from publishers.sandbox import read_outbox

app = typer.Typer()
app.add_typer(email_commands.app, name="email")
runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_create_decide_send_and_report(home: Path, ab_store, tmp_path) -> None:
    campaign_id, segment_id, url = ab_store
    out = _run("email", "ab-create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id), "--variable", "subject",
               "--variant", "Winter is here", "--variant", "20% off jackets", "--cell-size", "5", "--min-hours", "0")
    assert "created A/B test 1 (2 cells of 5)" in out and "cells: 10 sent now" in out
    with session_scope(url) as s:
        b = s.scalar(select(AbTestVariant).where(AbTestVariant.position == 1))
        for k, cid in enumerate(s.scalars(select(EmailSend.contact_id).where(EmailSend.email_campaign_id == b.email_campaign_id))):
            s.add(ContactEvent(merchant_id="acme", contact_id=cid, kind="opened", occurred_at=datetime.now(UTC), email_campaign_id=b.email_campaign_id,
                               event_key=f"o{k}"))
    # A: 0 of 5 -> Beta(1, 6); B: 5 of 5 -> Beta(6, 1); P(A > B) = int 6(1-x)^5 x^6 dx = 6 B(7, 6) = 6 * 6! 5! / 12! = 1/924,
    # so P(B > A) = 923/924 = 0.99892, printed to 3 places
    decided = _run("email", "ab-decide", "1", "--merchant", "acme", "--send")
    assert "Decision: winner: B beats the control A (control) with probability 0.999 >= 0.95" in decided
    assert "10 sent now" in decided and "WINNER_SENT" in decided
    again = _run("email", "ab-decide", "1", "--merchant", "acme", "--send")
    assert "0 sent now" in again
    emails = [r["email"] for e in read_outbox(home / "outbox" / "email.jsonl") for r in e["recipients"]]
    assert len(emails) == 20 and len(set(emails)) == 20

    target = tmp_path / "report.json"
    report = _run("email", "ab-report", "1", "--merchant", "acme", "--out", str(target))
    assert "P(beats control)" in report and "0.999" in report and "Beta(1, 1)" in report
    data = json.loads(target.read_text())
    assert data["status"] == "WINNER_SENT" and data["decision"]["winner_position"] == 1
    assert data["decision"]["variants"][1]["p_beat_control"] == pytest.approx(923 / 924, abs=1e-12)


def test_refusals_exit_2(home: Path, ab_store) -> None:
    campaign_id, segment_id, _ = ab_store
    base = ("email", "ab-create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id))
    out = _run(*base, "--variable", "send_time", "--subject", "Hi", "--variant", "9", "--variant", "25", "--cell-size", "2", code=2)
    assert "local hour 0..23" in out
    out = _run(*base, "--variable", "subject", "--variant", "a", "--variant", "b", "--cell-size", "11", code=2)
    assert "lower the cell size to at most 10" in out
    assert "no A/B test 7" in _run("email", "ab-report", "7", "--merchant", "acme", code=2)
    assert ".json" in _run("email", "ab-report", "7", "--merchant", "acme", "--out", "x.csv", code=2)
