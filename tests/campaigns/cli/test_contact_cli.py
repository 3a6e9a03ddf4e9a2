"""`campaigns contacts import|list|show|update|delete|export|export-data|erase`: thin shells; bad input exits 2 naming the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from campaigns.audiences.events import record_event
from campaigns.cli.contact_commands import contacts_app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, Segment

app = typer.Typer()
app.add_typer(contacts_app, name="contacts")
runner = CliRunner()

GOOD = ("email,first_name,last_name,timezone,tags,subscribed,consent_source,consented_at,attr_tier\n"
        "ana@example.com,Ana,Lopez,Europe/Madrid,vip;news,true,checkout opt-in,2026-03-01T10:00:00Z,gold\n"
        "ben@example.com,Ben,,,,,,,\n")


def _run(*args: str, code: int = 0, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def store(home: Path) -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add(Segment(merchant_id="acme", name="VIPs", rules={"all": [{"field": "tags", "op": "contains", "value": "vip"}]}))
    return url


def _file(tmp_path: Path, text: str, name: str = "contacts.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_a_bad_file_writes_nothing_then_the_fixed_file_imports(store: str, tmp_path: Path) -> None:
    bad = GOOD + "not-an-address,Cat,,,,,,,\n"
    out = _run("contacts", "import", _file(tmp_path, bad), "--merchant", "acme", code=2)
    assert "nothing was written" in out and "row 3 (line 4), column 'email'" in out and "Traceback" not in out
    with session_scope(store) as s:
        assert s.scalar(select(Contact.id)) is None
    out = _run("contacts", "import", _file(tmp_path, GOOD), "--merchant", "acme")
    assert "2 rows for acme: 2 new, 0 updated, 0 already there" in out
    out = _run("contacts", "import", _file(tmp_path, GOOD.replace("Lopez", "López")), "--merchant", "acme")
    assert "2 already there (add --update-existing to update them)" in out
    out = _run("contacts", "import", _file(tmp_path, GOOD.replace("Lopez", "López")), "--merchant", "acme", "--update-existing")
    assert "1 updated" in out
    _run("contacts", "import", str(tmp_path / "missing.csv"), "--merchant", "acme", code=2)
    _run("contacts", "import", _file(tmp_path, GOOD), "--merchant", "nobody", code=2)


def test_list_show_update_export_delete(store: str, tmp_path: Path) -> None:
    assert "import some with" in _run("contacts", "list", "--merchant", "acme")
    _run("contacts", "import", _file(tmp_path, GOOD), "--merchant", "acme")
    with session_scope(store) as s:
        record_event(s, "acme", s.scalar(select(Contact.id).where(Contact.email == "ana@example.com")), "purchased", value=12)
    out = _run("contacts", "list", "--merchant", "acme", "--search", "LOPEZ")
    assert "Ana Lopez" in out and "Ben" not in out and "1 of 1 shown" in out
    out = _run("contacts", "show", "ana@example.com", "--merchant", "acme")
    assert "checkout opt-in" in out and "granted" in out and "purchased" in out and "segments[/]" not in out and "VIPs" in out and "suppressed: no" in out
    _run("contacts", "show", "nobody@example.com", "--merchant", "acme", code=2)
    out = _run("contacts", "update", "ben@example.com", "--merchant", "acme", "--first-name", "Benji", "--attr", "tier=silver", "--tags", "a;b")
    assert "changed first_name, tags, attributes" in out
    assert "needs their consent" in _run("contacts", "update", "ben@example.com", "--merchant", "acme", "--subscribed", code=2)
    _run("contacts", "update", "ben@example.com", "--merchant", "acme", "--subscribed", "--consent-source", "phone call")
    assert "write name=value" in _run("contacts", "update", "ben@example.com", "--merchant", "acme", "--attr", "oops", code=2)
    assert "nothing to change" in _run("contacts", "update", "ben@example.com", "--merchant", "acme", "--first-name", "Benji")
    out_file = tmp_path / "export.csv"
    assert "wrote 2 contacts" in _run("contacts", "export", "--merchant", "acme", "--out", str(out_file))
    exported = out_file.read_text(encoding="utf-8")
    assert exported.splitlines()[0] == "email,first_name,last_name,timezone,tags,subscribed,consent_source,consented_at,attr_tier"
    assert "ben@example.com,Benji,,UTC,a;b,true,phone call," in exported
    assert "ana@example.com" in _run("contacts", "export", "--merchant", "acme")
    _run("contacts", "export", "--merchant", "acme", "--out", str(tmp_path), code=2)
    # the export imports back unchanged
    assert "0 updated" in _run("contacts", "import", str(out_file), "--merchant", "acme", "--update-existing")
    _run("contacts", "delete", "ben@example.com", "--merchant", "acme", code=1, input="n\n")
    assert "deleted contact" in _run("contacts", "delete", "ben@example.com", "--merchant", "acme", "--yes")
    _run("contacts", "delete", "ben@example.com", "--merchant", "acme", "--yes", code=2)


def test_export_data_and_erase(store: str, tmp_path: Path) -> None:
    _run("contacts", "import", _file(tmp_path, GOOD), "--merchant", "acme")
    data = json.loads(_run("contacts", "export-data", "Ana@Example.com", "--merchant", "acme"))
    assert data["contacts"][0]["contact"]["attributes"] == {"tier": "gold"}
    target = tmp_path / "ana.json"
    assert "1 contact(s)" in _run("contacts", "export-data", "ana@example.com", "--merchant", "acme", "--out", str(target))
    assert json.loads(target.read_text(encoding="utf-8"))["email"] == "ana@example.com"
    assert "not an email address" in _run("contacts", "export-data", "ana", "--merchant", "acme", code=2)
    _run("contacts", "erase", "ana@example.com", "--merchant", "acme", code=1, input="n\n")
    out = _run("contacts", "erase", "ana@example.com", "--merchant", "acme", "--yes")
    assert "erased: 1 contact(s)" in out and "suppressed as a hash" in out
    assert "holds nothing about" in _run("contacts", "erase", "zed@example.com", "--merchant", "acme", "--yes", code=2)
    out = _run("contacts", "import", _file(tmp_path, GOOD), "--merchant", "acme", code=2)
    assert "row 1 (line 2), column 'email': this person's data was erased" in out


def test_a_concurrent_writer_is_reported_without_a_traceback(store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import IntegrityError

    from campaigns.audiences import contact_import

    def collide(*args, **kwargs):
        raise IntegrityError("INSERT INTO contacts", {}, Exception("uq_contacts_merchant_email"))

    monkeypatch.setattr(contact_import, "import_contacts", collide)
    out = _run("contacts", "import", _file(tmp_path, GOOD), "--merchant", "acme", code=2)
    assert "Run the import again" in out and "Traceback" not in out
