"""`campaigns merchants brand-voice` and `campaigns repurpose` writing in the stored voice."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from campaigns.cli import agent_commands, campaign_commands
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope

app = typer.Typer()
app.command("repurpose")(agent_commands.repurpose)
app.add_typer(campaign_commands.merchants_app, name="merchants")
runner = CliRunner()
CORPUS = Path(__file__).parents[2] / "agents" / "leo" / "corpus"


def _merchant(name: str = "demo") -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as session:
        ensure_merchant(session, name)


def test_set_show_and_use_the_brand_voice(home: Path, tmp_path: Path) -> None:
    _merchant()
    shown = runner.invoke(app, ["merchants", "brand-voice", "demo"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["words_to_avoid"] == []
    set_ = runner.invoke(app, ["merchants", "brand-voice", "demo", "--avoid", "guess, Apple", "--no-emoji", "--hashtags", "1",
                               "--sign-off", "Talk soon, the Mailforge team"])
    assert set_.exit_code == 0, set_.output
    data = json.loads(set_.stdout)
    assert data["words_to_avoid"] == ["guess", "Apple"] and data["hashtag_count"] == 1 and data["emoji"] is False
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["repurpose", str(CORPUS / "05-opinion.md"), "--formats", "linkedin,email", "--variations", "2",
                                 "--merchant", "demo", "--no-save", "--out", str(out)])
    assert result.exit_code == 0, result.output
    outputs = json.loads(out.read_text())["outputs"]
    assert all("guess" not in json.dumps(o).lower() for o in outputs)
    assert all("Talk soon, the Mailforge team" in o["text"] for o in outputs)
    cleared = runner.invoke(app, ["merchants", "brand-voice", "demo", "--hashtags", "-1"])
    assert json.loads(cleared.stdout)["hashtag_count"] is None


def test_bad_settings_exit_2_with_the_fix(home: Path) -> None:
    _merchant()
    result = runner.invoke(app, ["merchants", "brand-voice", "demo", "--hashtags", "99"])
    assert result.exit_code == 2 and "0 to 30" in result.output
    result = runner.invoke(app, ["merchants", "brand-voice", "nosuch", "--emoji"])
    assert result.exit_code == 2 and "unknown merchant" in result.output


def test_repurpose_a_short_post_prints_a_note_not_a_traceback(home: Path, tmp_path: Path) -> None:
    post = tmp_path / "trip.md"
    post.write_text("# Weekend trip\n\nWe packed the car and drove to the lake.\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["repurpose", str(post), "--no-save", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "ValidationError" not in result.output
    assert "ads left out: the post is too short" in " ".join(result.output.split())
    data = json.loads(out.read_text())
    assert {o["format"] for o in data["outputs"]} == {"x", "linkedin", "facebook", "instagram", "email"} and data["passed"]
