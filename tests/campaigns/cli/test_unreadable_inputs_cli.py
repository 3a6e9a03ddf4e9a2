"""A folder or a non-UTF-8 file given where a command reads a file: exit 2 naming the file and the fix, never a traceback,
and nothing written."""

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Automation, Campaign, ContactEvent

runner = CliRunner()


def _flat(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def files(home: Path, tmp_path: Path) -> dict[str, Path]:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "demo")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"name": "Caf\xe9"}')
    return {"folder": folder, "latin": latin}


def _count(model) -> int:
    with session_scope(get_settings().store_url) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_optimize_curves(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    for kind in ("folder", "latin"):
        result = runner.invoke(app, ["optimize", "--curves", str(files[kind]), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert f"{files[kind]} cannot be read (" in _flat(result.output) and "give a UTF-8 JSON problem file" in _flat(result.output)
    assert not out.exists()


def test_automation_flow_file(files: dict[str, Path]) -> None:
    for kind in ("folder", "latin"):
        result = runner.invoke(app, ["automations", "create", "--file", str(files[kind])])
        assert result.exit_code == 2, result.output
        assert f"{files[kind]}: cannot be read (" in _flat(result.output) and "save the flow as UTF-8 JSON" in _flat(result.output)
    assert _count(Automation) == 0


def test_plan_history_file(files: dict[str, Path]) -> None:
    for kind in ("folder", "latin"):
        result = runner.invoke(app, ["plan", "--goal", "CONVERSION", "--budget", "100", "--start", "2026-12-01", "--end", "2026-12-02",
                                     "--history", str(files[kind]), "--save"])
        assert result.exit_code == 2, result.output
        assert f"--history {files[kind]}:" in _flat(result.output) and "save it as UTF-8 JSON" in _flat(result.output)
    assert _count(Campaign) == 0


def test_contact_events_folder(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["contacts", "import-events", str(files["folder"])])
    assert result.exit_code == 2, result.output
    assert f"{files['folder']} is a folder; give a CSV file of events" in _flat(result.output)
    assert _count(ContactEvent) == 0
