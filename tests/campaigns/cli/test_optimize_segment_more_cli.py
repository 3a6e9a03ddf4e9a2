"""`campaigns optimize` output paths, and `campaigns segments` on unreadable files, without a sample, and with a stored rule that no longer parses."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, Segment

runner = CliRunner()
PROBLEM = {
    "budget": 10000, "budget_mode": "exact", "objective": "revenue",
    "channels": [
        {"name": "email", "curve": {"family": "exponential", "a": 5000, "b": 1200}, "current_spend": 5000},
        {"name": "social", "curve": {"family": "log", "a": 800, "b": 500}, "current_spend": 5000},
    ],
}


def _flat(output: str) -> str:
    return " ".join(output.split())


def _problem(tmp_path: Path) -> Path:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROBLEM), encoding="utf-8")
    return path


def test_optimize_refuses_a_folder_as_out(tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", "--curves", str(_problem(tmp_path)), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path} is a folder; give a file path for the result" in _flat(result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_optimize_reports_an_out_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "a.json"
    result = runner.invoke(app, ["optimize", "--curves", str(_problem(tmp_path)), "--out", str(out)])
    assert result.exit_code == 2
    assert f"cannot write {out}: Not a directory" in _flat(result.output)
    assert "written" not in result.output


@pytest.fixture
def acme(home: Path) -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        s.add_all([Contact(merchant_id="acme", email="ana@example.com", tags=["vip"]), Contact(merchant_id="acme", email="ben@example.com")])
    return url


def test_rules_that_are_not_utf8(acme: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_bytes(b'{"all": [{"field": "tags", "op": "contains", "value": "caf\xe9"}]}')
    result = runner.invoke(app, ["segments", "save", "--merchant", "acme", "--name", "x", "--rules", str(rules)])
    assert result.exit_code == 2
    assert f"{rules}: cannot be read (" in _flat(result.output) and "save it as UTF-8 JSON" in _flat(result.output)
    with session_scope(acme) as s:
        assert s.query(Segment).count() == 0


def test_preview_with_no_sample_lists_nobody(acme: str, tmp_path: Path) -> None:
    rules = tmp_path / "vip.json"
    rules.write_text(json.dumps({"all": [{"field": "tags", "op": "contains", "value": "vip"}]}), encoding="utf-8")
    result = runner.invoke(app, ["segments", "preview", "--merchant", "acme", "--rules", str(rules), "--sample", "0"])
    assert result.exit_code == 0, result.output
    assert "1 contacts of acme match (1 subscribed to email)" in result.output
    assert "ana@example.com" not in result.output and "first " not in result.output


def test_list_marks_a_stored_rule_that_no_longer_parses(acme: str) -> None:
    with session_scope(acme) as s:
        s.add(Segment(merchant_id="acme", name="Legacy", rules={"all": [{"field": "shoe_size", "op": "teleports"}]}))
    result = runner.invoke(app, ["segments", "list", "--merchant", "acme"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "Legacy" in line)
    assert "invalid rule: rules.all[0].field: unknown field 'shoe_size'" in row and "save it again with campaigns segments save" in row
    assert row.rstrip().rstrip("│").strip().endswith("-")  # no size for a rule that cannot run
