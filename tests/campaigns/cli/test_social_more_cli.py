"""`campaigns accounts list`, `campaigns social queue` as a table, and `publish-due --live` reporting why a post failed."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.settings import get_settings

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    return result.output


def _line(output: str, needle: str) -> str:
    return next(line for line in output.splitlines() if needle in line)


def test_accounts_list_shows_each_merchants_own_accounts(home: Path) -> None:
    _ok("merchants", "add", "acme")
    _ok("merchants", "add", "globex")
    _ok("accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@acme", "--timezone", "Europe/Berlin")
    _ok("accounts", "add", "--merchant", "globex", "--platform", "linkedin", "--handle", "urn:li:organization:7")
    listed = _ok("accounts", "list", "--merchant", "acme")
    row = _line(listed, "@acme")
    assert "x" in row.split() and "Europe/Berlin" in row
    assert "urn:li" not in listed


def test_queue_table_and_a_live_publish_without_a_token(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_X_BASE_URL", "http://127.0.0.1:9")  # nothing may leave the machine
    get_settings.cache_clear()
    _ok("merchants", "add", "acme")
    _ok("accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@acme")
    _ok("social", "schedule", "--merchant", "acme", "--account", "1", "--text", "Due long ago", "--at", "2020-01-01T10:00Z")
    _ok("social", "schedule", "--merchant", "acme", "--account", "1", "--text", "Far future", "--at", "2999-01-01T10:00Z")
    before = _ok("social", "queue", "--merchant", "acme")
    assert "QUEUED" in _line(before, "Due long ago") and "2020-01-01T10:00" in _line(before, "Due long ago")
    published = _ok("social", "publish-due", "--live")
    assert published.startswith("live: 1 failed")
    assert ("post 1: FAILED - x account @acme has no access token; reconnect it (`campaigns accounts connect` or the Social Scheduler's "
            "Connect button), then requeue the post" in _line(published, "post 1:"))
    after = _ok("social", "queue", "--merchant", "acme")
    due = _line(after, "Due long ago")
    assert "FAILED" in due and "has no access token" in due and " 1 " in due  # one attempt, and the reason
    assert "QUEUED" in _line(after, "Far future")
    assert not (home / "outbox" / "x.jsonl").exists()
