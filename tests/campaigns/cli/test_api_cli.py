"""`campaigns api-keys create | list | revoke` and `campaigns api` start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns.access.api_keys import verify_key
from campaigns.api import server as api_server
from campaigns.cli.main import app
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_keys_are_shown_once_listed_without_the_secret_and_revoked(home: Path) -> None:
    _run("merchants", "add", "acme")
    out = _run("api-keys", "create", "--merchant", "acme", "--name", "shop [backend]", "--role", "marketer", "--expires-in-days", "30")
    key = next(line for line in out.splitlines() if line.startswith("co_"))
    with session_scope(get_settings().store_url) as s:
        identity = verify_key(s, key)
    assert identity.merchant_id == "acme" and identity.role.value == "marketer" and identity.name == "shop [backend]"
    listed = _run("api-keys", "list", "--merchant", "acme")
    assert "shop [backend]" in listed and "marketer" in listed and key not in listed and key.split("_", 2)[1] in listed
    assert "revoked" in _run("api-keys", "revoke", str(identity.id), "--merchant", "acme")
    with session_scope(get_settings().store_url) as s, pytest.raises(ValueError, match="revoked"):
        verify_key(s, key)


def test_bad_input_exits_2_naming_the_fix(home: Path) -> None:
    _run("merchants", "add", "acme")
    assert "use one of owner, marketer, approver, viewer" in _run("api-keys", "create", "--merchant", "acme", "--name", "x", "--role", "boss", code=2)
    assert "unknown merchant" in _run("api-keys", "create", "--merchant", "nosuch", "--name", "x", code=2)
    assert "unknown merchant" in _run("api-keys", "list", "--merchant", "nosuch", code=2)
    assert "no API key 99" in _run("api-keys", "revoke", "99", "--merchant", "acme", code=2)


def test_api_serves_on_localhost_port_8700_by_default(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list = []
    monkeypatch.setattr(api_server, "serve", lambda app_, host, port, concurrency, workers: served.append((host, port, workers, app_)))
    out = _run("api")
    assert served[0][:3] == ("127.0.0.1", 8700, 1) and "http://127.0.0.1:8700/docs" in out
    _run("api", "--workers", "2")
    assert served[1][2] == 2 and "2 worker processes" in " ".join(_run("api", "--workers", "2").split())


def test_api_refuses_a_bad_webhook_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY", "paste-me")
    get_settings.cache_clear()
    assert "CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY" in _run("api", code=2)
