"""`campaigns automations ...`: missing files and merchants, the empty list, approving the flow's emails, run-due without sending."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Automation

runner = CliRunner()
FLOW = {"name": "Welcome", "trigger": {"type": "signup"}, "start": "mail", "steps": {
    "mail": {"type": "send_email", "subject": "Welcome!", "next": "done"},
    "done": {"type": "end"},
}}


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["automations", *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


@pytest.fixture
def store(home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CAMPAIGNS_DEFAULT_MERCHANT", "acme")
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
    return url


def _automations(url: str) -> int:
    with session_scope(url) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Automation))


def test_create_needs_an_existing_file_and_merchant(store: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert f"{missing}: no such file" in _run("create", "--file", str(missing), code=2)
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(FLOW), encoding="utf-8")
    out = _run("create", "--file", str(flow), "--merchant", "nobody", code=2)
    assert f"{flow}: unknown merchant 'nobody'" in out and "campaigns merchants add nobody" in out
    assert _automations(store) == 0


def test_empty_list_says_how_to_start(store: str) -> None:
    assert _run("list") == "no automations yet; create one with `campaigns automations create --file flow.json`"


def test_approve_emails_before_and_after_activation(store: str, tmp_path: Path) -> None:
    assert "no automation 7" in _run("approve-emails", "7", code=2)
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(FLOW), encoding="utf-8")
    _run("create", "--file", str(flow))
    assert _run("approve-emails", "1") == "approved email campaigns (none yet: activate first)"
    _run("activate", "1")
    approved = _run("approve-emails", "1", "--note", "read it twice")
    assert approved.startswith("approved email campaigns ") and approved.split()[-1].isdigit()


def test_run_due_without_sending_says_nothing_about_emails(store: str) -> None:
    out = _run("run-due", "--no-send")
    assert "0 enrolled; 0 enrollments, 0 steps" in out and "emails sent" not in out
    assert "0 emails sent" in _run("run-due", "--merchant", "acme")
