"""`campaigns email templates ...`, `preview` and `test-send`: unreadable files, unknown merchants and campaigns, the empty list."""

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import EmailTemplate

runner = CliRunner()
HTML = "<p>Hello {{ first_name }}</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>"


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["email", *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


@pytest.fixture
def acme(home: Path) -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
    return url


def _templates(url: str) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(EmailTemplate))


def test_template_files_must_be_utf8_text(acme: str, tmp_path: Path) -> None:
    latin = tmp_path / "latin.html"
    latin.write_bytes("<p>Caf\xe9</p>".encode("latin-1"))
    for args in (["templates", "add", "x", "--file", str(latin), "--merchant", "acme"], ["templates", "check", "--file", str(latin)],
                 ["templates", "check", "--file", str(tmp_path)]):
        out = _run(*args, code=2)
        assert "is not a UTF-8 text file; save the template as UTF-8 HTML" in out
    assert _templates(acme) == 0


def test_empty_list_says_how_to_add_templates(acme: str) -> None:
    assert _run("templates", "list", "--merchant", "acme") == (
        "no email templates yet: run `campaigns email templates install-starters` or `campaigns email templates add NAME --file F.html`")


def test_unknown_merchant_is_refused_writing_nothing(acme: str, tmp_path: Path) -> None:
    page = tmp_path / "t.html"
    page.write_text(HTML, encoding="utf-8")
    for args in (["templates", "add", "welcome", "--file", str(page), "--merchant", "nobody"], ["templates", "install-starters", "--merchant", "nobody"]):
        out = _run(*args, code=2)
        assert "unknown merchant 'nobody'" in out and "campaigns merchants add nobody" in out
    assert _templates(acme) == 0
    assert "saved email template 'welcome'" in _run("templates", "add", "welcome", "--file", str(page), "--merchant", "acme")
    assert _templates(acme) == 1


def test_preview_and_test_send_of_an_unknown_email_campaign(acme: str, tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    assert "no email campaign 5 for merchant 'acme'" in _run("preview", "5", "--contact", "1", "--out", str(out), "--merchant", "acme", code=2)
    assert not out.exists()
    sent = _run("test-send", "5", "--to", "me@example.com", "--merchant", "acme", code=2)
    assert "no email campaign 5 for merchant 'acme'" in sent
    assert not (Path(get_settings().home_path) / "outbox" / "email.jsonl").exists()
