"""`campaigns accounts connect|add|list|refresh` and `campaigns keys`: OAuth from the terminal, tokens never on the command line."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import typer
from cryptography.fernet import Fernet
from typer.testing import CliRunner

import campaigns.social.connect as connect_service
from campaigns.cli import connect_commands
from campaigns.cli.main import app
from campaigns.core.crypto import TokenCipher
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import SocialAccount
from tests.publishers.fake_oauth import FakeXOAuth, follow_consent

runner = CliRunner()


def _ok(args: list[str], **kw) -> str:
    result = runner.invoke(app, args, **kw)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def key(home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    value = Fernet.generate_key().decode()
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", value)
    get_settings.cache_clear()
    _ok(["merchants", "add", "acme"])
    return value


@pytest.fixture
def fake_x_oauth(key, monkeypatch: pytest.MonkeyPatch):
    fake = FakeXOAuth().start()
    for name, value in {"CAMPAIGNS_X_CLIENT_ID": fake.client_id, "CAMPAIGNS_X_CLIENT_SECRET": fake.client_secret,
                        "CAMPAIGNS_X_AUTHORIZE_URL": fake.url("/i/oauth2/authorize"), "CAMPAIGNS_X_BASE_URL": fake.url(),
                        "CAMPAIGNS_PUBLIC_URL": "https://app.example.com"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield fake
    fake.stop()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every connection the command starts (to act as the person's browser)."""
    seen: list = []
    real = connect_service.start_connection

    def recording(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(connect_service, "start_connection", recording)
    return seen


def _tokens(handle: str) -> tuple[str | None, str | None]:
    cipher = TokenCipher(get_settings().token_key.get_secret_value())
    with session_scope(get_settings().store_url) as s:
        account = s.query(SocialAccount).filter_by(handle=handle).one()
        return (cipher.decrypt(account.access_token_enc) if account.access_token_enc else None,
                cipher.decrypt(account.refresh_token_enc) if account.refresh_token_enc else None)


def test_tokens_come_from_stdin_a_file_or_a_prompt(key, tmp_path: Path) -> None:
    out = _ok(["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@stdin", "--access-token", "-"], input="tok-from-stdin\n")
    assert "tok-from-stdin" not in out and _tokens("@stdin") == ("tok-from-stdin", None)
    (tmp_path / "token.txt").write_text("tok-from-file\n")
    (tmp_path / "refresh.txt").write_text("ref-from-file")
    _ok(["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@file", "--access-token-file", str(tmp_path / "token.txt"),
         "--refresh-token-file", str(tmp_path / "refresh.txt")])
    assert _tokens("@file") == ("tok-from-file", "ref-from-file")
    prompted = _ok(["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@prompt", "--ask-token"], input="tok-typed\n")
    assert "tok-typed" not in prompted and _tokens("@prompt") == ("tok-typed", None)
    empty = runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@e", "--access-token", "-"], input="\n")
    assert empty.exit_code == 2 and "access token is empty" in empty.output
    both = runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@b", "--access-token", "t",
                               "--access-token-file", str(tmp_path / "token.txt")])
    assert both.exit_code == 2 and "one way" in both.output
    twice = runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@b", "--access-token", "t", "--ask-token"])
    assert twice.exit_code == 2 and "one way" in twice.output
    missing = runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@m", "--access-token-file",
                                  str(tmp_path / "nope.txt")])
    assert missing.exit_code == 2 and "cannot read the access token" in missing.output


def test_connect_waits_for_the_callback(fake_x_oauth, started, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect_commands, "POLL_SECONDS", 0.05)
    done = threading.Event()

    def browser_and_callback() -> None:
        while not started:
            done.wait(0.02)
        location = follow_consent(started[0].authorization_url)
        state = location.split("state=")[1].split("&")[0]
        code = location.split("code=")[1].split("&")[0]
        connect_service.complete_connection(get_settings().store_url, state, code=code, platform="x")  # what the public route does
        done.set()

    thread = threading.Thread(target=browser_and_callback, daemon=True)
    thread.start()
    out = _ok(["accounts", "connect", "--platform", "x", "--merchant", "acme", "--timezone", "Europe/Paris"])
    thread.join(5)
    assert "/i/oauth2/authorize?" in out and "https://app.example.com/oauth/callback/x" in out
    assert "@juniperfinch connected" in out and done.is_set()
    listed = _ok(["accounts", "list", "--merchant", "acme"])
    assert "@juniperfinch" in listed and "active" in listed and "Europe/Paris" in listed


def test_connect_with_a_pasted_redirect_and_its_failures(fake_x_oauth, started, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typer, "prompt", lambda *a, **k: follow_consent(started[-1].authorization_url))
    out = _ok(["accounts", "connect", "--platform", "x", "--merchant", "acme", "--paste"])
    assert "@juniperfinch connected" in out
    fake_x_oauth.deny = True
    denied = runner.invoke(app, ["accounts", "connect", "--platform", "x", "--merchant", "acme", "--paste"])
    assert denied.exit_code == 2 and "was not connected" in denied.output and "access_denied" in denied.output
    monkeypatch.setattr(typer, "prompt", lambda *a, **k: "https://app.example.com/oauth/callback/x?code=1")
    no_state = runner.invoke(app, ["accounts", "connect", "--platform", "x", "--merchant", "acme", "--paste"])
    assert no_state.exit_code == 2 and "no state parameter" in no_state.output
    unknown = runner.invoke(app, ["accounts", "connect", "--platform", "myspace", "--merchant", "acme"])
    assert unknown.exit_code == 2 and "unknown platform" in unknown.output
    monkeypatch.delenv("CAMPAIGNS_PUBLIC_URL")
    get_settings.cache_clear()
    no_url = runner.invoke(app, ["accounts", "connect", "--platform", "x", "--merchant", "acme"])
    assert no_url.exit_code == 2 and "CAMPAIGNS_PUBLIC_URL is not set" in no_url.output


def test_refresh_and_the_reconnect_state_in_the_list(fake_x_oauth, started, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typer, "prompt", lambda *a, **k: follow_consent(started[-1].authorization_url))
    _ok(["accounts", "connect", "--platform", "x", "--merchant", "acme", "--paste"])
    fake_x_oauth.revoke()
    out = _ok(["accounts", "refresh", "--within-hours", "3"])
    assert "0 refreshed, 1 need reconnecting" in out and "reconnect needed: x @juniperfinch" in out
    assert "reconnect" in _ok(["accounts", "list", "--merchant", "acme"])  # the narrow test terminal wraps the cell


def test_keys_generate_and_rotate(key, monkeypatch: pytest.MonkeyPatch) -> None:
    _ok(["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@acme", "--access-token", "-"], input="tok-1\n")
    new = _ok(["keys", "generate"]).strip()
    assert TokenCipher(new) and new != key
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", f"{new},{key}")
    get_settings.cache_clear()
    out = _ok(["keys", "rotate"])
    assert "re-encrypted 1 tokens of 1 accounts" in out and "can now be removed" in out
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", new)
    get_settings.cache_clear()
    assert _tokens("@acme") == ("tok-1", None)
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    lost = _ok(["keys", "rotate"])
    assert "1 accounts had tokens no key could read" in lost
    monkeypatch.delenv("CAMPAIGNS_TOKEN_KEY")
    get_settings.cache_clear()
    no_key = runner.invoke(app, ["keys", "rotate"])
    assert no_key.exit_code == 2 and "CAMPAIGNS_TOKEN_KEY is not set" in no_key.output
