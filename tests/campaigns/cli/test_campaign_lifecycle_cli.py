"""`campaigns campaigns tick|show|update|duplicate|pause|resume|cancel`: the scheduler for cron users and the campaign after DRAFT."""

import json
from datetime import datetime
from pathlib import Path

import time_machine
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.lifecycle import service
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import schedule_text

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_tick_show_pause_resume_update_duplicate_and_cancel(home: Path) -> None:
    _run("merchants", "add", "acme", "--timezone", "Europe/Berlin")
    created = _run("campaigns", "create", "--merchant", "acme", "--name", "Winter", "--type", "AWARENESS", "--channels", "x", "--budget", "1000",
                   "--start", "2026-12-01T00:00:00+01:00", "--end", "2026-12-08T00:00:00+01:00")
    cid = created.split()[1]
    broken = _run("campaigns", "create", "--merchant", "acme", "--name", "Later", "--type", "AWARENESS", "--channels", "x", "--budget", "5",
                  "--start", "2026-12-01T00:00:00+01:00", "--end", "2026-12-08T00:00:00+01:00").split()[1]
    _run("campaigns", "schedule", cid, "--merchant", "acme")
    _run("campaigns", "schedule", broken, "--merchant", "acme")
    with session_scope(get_settings().store_url) as s:
        account = add_account(s, "acme", "x", "@acme", actor="ana")
        schedule_text(s, "acme", account_id=account.id, text="Doors open", scheduled_at=datetime.fromisoformat("2026-12-01T10:00:00+01:00"),
                      author="ana", campaign_id=cid)
        service.get_campaign(s, "acme", broken).budget = None  # edited after scheduling: it cannot launch

    assert "no campaign starts or ends now" in _run("campaigns", "tick", "--at", "2026-11-30T22:59:00Z")
    ticked = _run("campaigns", "tick", "--at", "2026-11-30T23:00:00Z", code=3)  # a campaign that could not start: cron must notice
    assert f"{cid} (acme) activated at 2026-12-01 00:00 CET" in ticked and f"{broken} could not start" in ticked
    assert "has no time zone" in _run("campaigns", "tick", "--at", "2026-12-01T00:00:00", code=2)

    paused = _run("campaigns", "pause", cid, "--merchant", "acme")
    assert f"{cid} is now PAUSED; 1 queued items held (held: campaign paused)" in paused
    shown = _run("campaigns", "show", cid, "--merchant", "acme")
    assert "held: campaign paused" in shown and "post 1: Doors open" in shown and "allowed now: resume, complete, cancel" in shown
    data = json.loads(_run("campaigns", "show", cid, "--merchant", "acme", "--json"))
    assert data["status"] == "PAUSED" and [q["held"] for q in data["queued"]] == [True]

    with time_machine.travel(datetime.fromisoformat("2026-12-02T08:00:00+01:00"), tick=False):  # the post's moment passed while paused
        resumed = _run("campaigns", "resume", cid, "--merchant", "acme", "--reschedule-to", "2026-12-02T09:00:00+01:00")
    assert "is now ACTIVE; 0 queued items released; 1 whose moment passed while paused rescheduled to 2026-12-02 08:00 UTC" in resumed

    refused = _run("campaigns", "update", cid, "--merchant", "acme", "--start", "2026-12-02T00:00:00+01:00", code=2)
    assert "cannot change start_date of a ACTIVE campaign: it has already started" in refused
    assert "updated" in _run("campaigns", "update", cid, "--merchant", "acme", "--budget", "1500", "--end", "2026-12-10T00:00:00+01:00")
    assert "nothing to change" in _run("campaigns", "update", cid, "--merchant", "acme", code=2)
    assert "budget" in _run("campaigns", "update", cid, "--merchant", "acme", "--budget", "-1", code=2)

    cancelled = _run("campaigns", "cancel", cid, "--merchant", "acme")
    assert f"{cid} is now CANCELLED; 1 queued items cancelled" in cancelled
    assert "cancelled campaigns are final" in _run("campaigns", "resume", cid, "--merchant", "acme", code=2)
    copy = _run("campaigns", "duplicate", cid, "--merchant", "acme")
    assert "(Winter (copy)) as DRAFT" in copy and "campaigns campaigns update" in copy
    assert "no campaign" in _run("campaigns", "duplicate", "cmp_nope", "--merchant", "acme", code=2)
    assert "no campaign" in _run("campaigns", "show", "cmp_nope", "--merchant", "acme", code=2)
