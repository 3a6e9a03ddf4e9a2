"""`campaigns users ...` and `campaigns audit list|export`: passwords never as arguments, bad input exits 2 with the fix."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from campaigns.access import signin
from campaigns.cli.access_commands import audit_app, users_app
from campaigns.core.audit import record
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import MerchantPolicy, User

app = typer.Typer()
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
runner = CliRunner()
PW = "a long passphrase\n"


def _run(*args: str, code: int = 0, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def store(home: Path) -> str:
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        ensure_merchant(s, "globex")
    return url


def test_users_lifecycle(store: str) -> None:
    out = _run("users", "add", "Ana@example.com", "--name", "Ana", "--merchant", "acme", "--role", "owner", "--password-stdin", "--actor", "ops",
               stdin=PW)
    assert "Added ana@example.com as owner of acme" in out
    # typed twice at a hidden prompt
    _run("users", "add", "bo@example.com", stdin="another passphrase\nanother passphrase\n")
    _run("users", "add", "sso@example.com", "--sso-only")
    assert "bo@example.com is now approver of acme" in _run("users", "grant", "bo@example.com", "approver", "--merchant", "acme")
    listing = _run("users", "list")
    assert "acme: owner" in listing and "identity provider" in listing and "acme: approver" in listing
    assert "sso@example.com" not in _run("users", "list", "--merchant", "acme")
    with session_scope(store) as s:
        assert signin.sign_in(s, "bo@example.com", "another passphrase").ok
    assert "New password set" in _run("users", "reset-password", "bo@example.com", "--password-stdin", stdin="the reset passphrase\n")
    with session_scope(store) as s:
        assert signin.sign_in(s, "bo@example.com", "the reset passphrase").ok
    assert "no longer has a role on acme" in _run("users", "revoke", "bo@example.com", "--merchant", "acme")
    assert "Disabled bo@example.com" in _run("users", "disable", "bo@example.com")
    assert "disabled" in _run("users", "list")
    assert "Enabled" in _run("users", "enable", "bo@example.com")
    assert "Four-eyes rule on for acme" in _run("users", "four-eyes", "on", "--merchant", "acme")
    with session_scope(store) as s:
        assert s.get(MerchantPolicy, "acme").four_eyes
        assert s.scalar(select(User.password_hash).where(User.email == "sso@example.com")) is None


def test_users_bad_input_exits_2_with_the_fix(store: str) -> None:
    assert "at least 12" in _run("users", "add", "cy@example.com", "--password-stdin", stdin="short\n", code=2)
    assert "standard input is empty" in _run("users", "add", "cy@example.com", "--password-stdin", stdin="", code=2)
    assert "not an email address" in _run("users", "add", "cy", "--sso-only", code=2)
    assert "unknown role 'boss'" in _run("users", "add", "cy@example.com", "--sso-only", "--merchant", "acme", "--role", "boss", code=2)
    assert "campaigns users add" in _run("users", "grant", "nobody@example.com", "viewer", "--merchant", "acme", code=2)
    assert "on or off" in _run("users", "four-eyes", "maybe", code=2)
    assert "No users yet" in _run("users", "list")
    _run("users", "add", "ana@example.com", "--sso-only", "--merchant", "acme", "--role", "owner")
    assert "last owner" in _run("users", "revoke", "ana@example.com", "--merchant", "acme", code=2)


def test_audit_list_and_export_filter_and_escape(store: str, tmp_path: Path) -> None:
    with session_scope(store) as s:
        record(s, "acme", "ana@example.com", "content.approve", "campaign_content", "7", note="ok")
        record(s, "acme", "bo@example.com", "campaign.launch", "campaign", "cmp_1")
        record(s, "acme", "=cmd|' /C calc'!A0", "content.edit", "campaign_content", "7")
        record(s, "globex", "ana@example.com", "content.approve", "campaign_content", "8")
    listing = _run("audit", "list", "--merchant", "acme", "--action", "content.")
    assert "content.approve" in listing and "campaign.launch" not in listing and "campaign_content 8" not in listing
    assert "campaign.launch" in _run("audit", "list", "--merchant", "acme", "--actor", "bo@example.com", "--since", "2000-01-01")
    assert "No audit entries match" in _run("audit", "list", "--merchant", "acme", "--until", "2000-01-01")
    target = tmp_path / "audit.csv"
    assert "Wrote 4 entries" in _run("audit", "export", "--merchant", "acme", "--out", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["action"] for r in rows] == ["content.edit", "campaign.launch", "content.approve", "merchant.create"]
    assert rows[0]["actor"].startswith("'=")  # a formula is made inert
    out = _run("audit", "export", "--merchant", "acme", "--entity", "7")
    assert out.splitlines()[0] == "id,created_at,actor,action,entity_type,entity_id,details" and len(out.splitlines()) == 3
    assert '"{""note"": ""ok""}"' in out
    assert "unknown merchant" in _run("audit", "list", "--merchant", "nowhere", code=2)
    assert "cannot be written" in _run("audit", "export", "--merchant", "acme", "--out", str(tmp_path / "no" / "dir" / "a.csv"), code=2)
