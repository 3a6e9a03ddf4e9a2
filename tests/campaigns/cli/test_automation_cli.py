"""`campaigns automations ...`: create from a file (errors by path, exit 2), list, show with counts, activate, pause, run-due sends once."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, EmailSend
from publishers.sandbox import read_outbox

runner = CliRunner()
FLOW = {"name": "Welcome", "trigger": {"type": "signup"}, "start": "mail", "steps": {
    "mail": {"type": "send_email", "subject": "Welcome!", "next": "wait"},
    "wait": {"type": "wait", "days": 1, "next": "done"},
    "done": {"type": "end"},
}}


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["automations", *args])
    assert result.exit_code == code, result.output
    return result.output


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


def test_create_refuses_an_invalid_flow_naming_each_path(store: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"trigger": {"type": "signup"}, "start": "a", "steps": {"a": {"type": "teleport"}, "b": {"type": "end"}}}))
    out = _run("create", "--file", str(bad), "--name", "x", code=2)
    assert "steps.a.type: unknown step type 'teleport'" in out
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert "not valid JSON" in _run("create", "--file", str(broken), code=2)


def test_create_activate_run_due_show_pause(store: str, tmp_path: Path) -> None:
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(FLOW))
    assert "created automation 1 'Welcome' (DRAFT)" in _run("create", "--file", str(flow))
    assert "is ACTIVE" in _run("activate", "1")
    with session_scope(store) as s:
        s.add_all([Contact(merchant_id="acme", email=f"c{i}@x.io", created_at=datetime.now(UTC) + timedelta(seconds=1)) for i in range(3)])
    # contacts created a moment after activation; run a second later so they count
    import time
    time.sleep(1.2)
    out = _run("run-due")
    assert "3 enrolled" in out and "3 emails sent" in out
    out = _run("run-due")
    assert "0 enrolled" in out and "0 emails sent" in out
    with session_scope(store) as s:
        assert s.scalar(select(func.count()).select_from(EmailSend)) == 3
    assert len([r for e in read_outbox(Path(get_settings().home_path) / "outbox" / "email.jsonl") for r in e["recipients"]]) == 3
    shown = _run("show", "1")
    lines = {line.split("│")[1].strip(): line for line in shown.splitlines() if line.count("│") >= 6}
    cells = [c.strip() for c in lines["mail"].split("│")]
    assert cells[-3:-1] == ["3", "0"]  # ran 3, here now 0
    cells = [c.strip() for c in lines["wait"].split("│")]
    assert cells[-3:-1] == ["3", "0"]
    cells = [c.strip() for c in lines["done"].split("│")]
    assert cells[-3:-1] == ["0", "3"]  # all three wait before the end step
    assert "Welcome" in _run("list") and "ACTIVE" in _run("list")
    assert "is PAUSED" in _run("pause", "1")
    assert "is PAUSED" in _run("pause", "1")  # pausing twice changes nothing
    assert "is ARCHIVED" in _run("archive", "1")
    assert "ARCHIVED; create it again" in _run("activate", "1", code=2)
    assert "no automation 9" in _run("show", "9", code=2)
