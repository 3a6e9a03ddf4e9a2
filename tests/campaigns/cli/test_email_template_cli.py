"""`campaigns email preview|test-send|templates ...`: files written, problems exit 2 with line numbers."""

from pathlib import Path

import pytest
import typer
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from typer.testing import CliRunner

from campaigns.cli import email_commands
from campaigns.lifecycle import service as campaign_service
from campaigns.email import broadcasts
from campaigns.core.merchants import ensure_merchant
from campaigns.audiences.segments import save_segment
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, EmailSend
from publishers.sandbox import read_outbox

app = typer.Typer()
app.add_typer(email_commands.app, name="email")
runner = CliRunner()
BODY = '<h1>Hi {{ first_name | default("there") }}</h1>\n<p>News from {{ merchant_name }}</p>\n<a href="{{ unsubscribe_url }}">Unsubscribe</a>\n'


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())  # rich wraps long lines at the terminal width


@pytest.fixture
def store(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CAMPAIGNS_PUBLIC_URL", "https://shop.acme.example")
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        ana, blank = Contact(merchant_id="acme", email="ana@example.com", first_name="Ana"), Contact(merchant_id="acme", email="b@example.com")
        s.add_all([ana, blank])
        s.flush()
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "All", {}, actor="ana")
        ids = {"ana": ana.id, "blank": blank.id, "campaign": campaign.id, "segment": segment.id}
    monkeypatch.setenv("CAMPAIGNS_DEFAULT_MERCHANT", "acme")
    get_settings.cache_clear()
    return ids


def test_templates_check_add_list_and_starters(store: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text("<p>Hi</p>\n<p>{{ nickname }}</p>\n<p>{{ ''.__class__ }}</p>\n", encoding="utf-8")
    out = _run("email", "templates", "check", "--file", str(bad), "--layout", "none", code=2)
    assert "line 2: unknown merge tag {{ nickname }}" in out and "line 3: access to '__class__' is not allowed" in out
    assert "marketing email needs an unsubscribe link" in out
    assert "3 problem(s)" in " ".join(out.split())
    out = _run("email", "templates", "check", "--file", str(bad), "--category", "transactional", "--layout", "none", code=2)
    assert "unsubscribe link" not in out and "2 problem(s)" in " ".join(out.split())
    broken = tmp_path / "broken.html"
    broken.write_text("<p>one</p>\n\n<p>{{ merchant_name }</p>\n<p>two</p>\n<p>three</p>\n", encoding="utf-8")
    assert "line 3: syntax error" in " ".join(_run("email", "templates", "check", "--file", str(broken), code=2).split())
    assert "does not exist" in _run("email", "templates", "check", "--file", str(tmp_path / "missing.html"), code=2)
    _run("email", "templates", "add", "Bad", "--file", str(bad), code=2)
    good = tmp_path / "good.html"
    good.write_text(BODY, encoding="utf-8")
    assert "no problems" in _run("email", "templates", "check", "--file", str(good))
    assert "saved email template 'Mine'" in _run("email", "templates", "add", "Mine", "--file", str(good), "--subject", "Hello")
    assert "installed 6 starter template(s)" in _run("email", "templates", "install-starters")
    assert "already installed" in _run("email", "templates", "install-starters")
    listing = _run("email", "templates", "list")
    assert "Mine" in listing and "Newsletter" in listing and "Bad" not in listing


def _email_campaign(store: dict) -> int:
    with session_scope(get_settings().store_url) as s:
        return broadcasts.create_email_campaign(s, "acme", campaign_id=store["campaign"], segment_id=store["segment"], actor="ana",
                                              template_name="Mine", subject='Hi {{ first_name | default("you") }}').id


def test_preview_writes_html_and_text_for_a_contact(store: dict, tmp_path: Path) -> None:
    good = tmp_path / "good.html"
    good.write_text(BODY, encoding="utf-8")
    _run("email", "templates", "add", "Mine", "--file", str(good))
    ec_id = _email_campaign(store)
    out = tmp_path / "prev" / "blank.html"
    printed = _run("email", "preview", str(ec_id), "--contact", str(store["blank"]), "--out", str(out))
    assert "subject: Hi you" in printed and "signed" in printed
    html, text = out.read_text(), out.with_suffix(".txt").read_text()
    assert ">Hi there</h1>" in html and "News from Acme" in html and "https://shop.acme.example/unsubscribe?token=" in html
    assert text.startswith("Subject: Hi you\nTo: b@example.com\n\nHi there\n========") and "{{" not in text
    _run("email", "preview", str(ec_id), "--contact", str(store["ana"]), "--out", str(out))
    assert ">Hi Ana</h1>" in out.read_text()
    assert "no contact 9999" in _run("email", "preview", str(ec_id), "--contact", "9999", "--out", str(out), code=2)
    assert "should end in .html" in _run("email", "preview", str(ec_id), "--contact", "1", "--out", str(tmp_path / "x.pdf"), code=2)
    assert "no email campaign 777" in _run("email", "preview", "777", "--contact", "1", "--out", str(out), code=2)


def test_test_send_goes_to_the_sandbox_only(store: dict, tmp_path: Path, home: Path) -> None:
    good = tmp_path / "good.html"
    good.write_text(BODY, encoding="utf-8")
    _run("email", "templates", "add", "Mine", "--file", str(good))
    ec_id = _email_campaign(store)
    printed = _run("email", "test-send", str(ec_id), "--to", "qa@acme.example", "--contact", str(store["ana"]))
    assert "test sent to qa@acme.example via sandbox" in printed
    [entry] = read_outbox(home / "outbox" / "email.jsonl")
    assert entry["recipients"][0]["email"] == "qa@acme.example" and entry["message"]["subject"] == "[TEST] Hi {{first_name__1}}"
    with session_scope(get_settings().store_url) as s:
        assert s.scalar(select(func.count()).select_from(EmailSend)) == 0
    assert "not an email address" in _run("email", "test-send", str(ec_id), "--to", "nobody", code=2)
