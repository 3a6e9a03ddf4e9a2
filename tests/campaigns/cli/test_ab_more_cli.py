"""`campaigns email ab-create | ab-report | ab-decide`: more refusals (labels, unknown tests, unwritable --out), none writing a test."""

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AbTest

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["email", *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def _tests(url: str) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(AbTest))


def test_labels_must_match_the_variants(ab_store) -> None:
    campaign_id, segment_id, url = ab_store
    out = _run("ab-create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id), "--variable", "subject",
               "--variant", "A subject", "--variant", "B subject", "--label", "only one", "--cell-size", "2", code=2)
    assert "--label: give one label per --variant (2), or none" in out
    assert _tests(url) == 0


def test_content_variants_name_templates(ab_store) -> None:
    campaign_id, segment_id, url = ab_store
    out = _run("ab-create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id), "--variable", "content",
               "--variant", "no-such-template", "--variant", "nor-this-one", "--subject", "Shared", "--cell-size", "2", "--no-start", code=2)
    assert "no-such-template" in out
    assert _tests(url) == 0


def test_unknown_test_for_report_and_decide(ab_store) -> None:
    for command in ("ab-report", "ab-decide"):
        assert "no A/B test 7 for merchant 'acme'; create one with `campaigns email ab-create`" in _run(command, "7", "--merchant", "acme", code=2)


def test_report_out_must_be_writable(ab_store, tmp_path: Path) -> None:
    campaign_id, segment_id, url = ab_store
    _run("ab-create", "--merchant", "acme", "--campaign", campaign_id, "--segment", str(segment_id), "--variable", "subject",
         "--variant", "A subject", "--variant", "B subject", "--cell-size", "2", "--no-start")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = _run("ab-report", "1", "--merchant", "acme", "--out", str(blocker / "r.json"), code=2)
    assert f"--out {blocker / 'r.json'}: cannot write it (" in out and "choose a writable path" in out
    refused = _run("ab-decide", "1", "--merchant", "acme", "--send", code=2)
    assert "A/B test 1 is DRAFT; start it first (`campaigns email ab-create ... --start`)" in refused
    assert not (Path(get_settings().home_path) / "outbox" / "email.jsonl").exists()
