"""`campaigns accounts` and `campaigns social`: schedule at a local time or the best slot, publish once, clear errors."""

import json
from pathlib import Path

from typer.testing import CliRunner

from campaigns.cli.main import app

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_schedule_publish_and_queue(home: Path) -> None:
    _ok(["merchants", "add", "acme"])
    out = runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@acme", "--access-token", "secret-token"])
    assert out.exit_code == 2 and "CAMPAIGNS_TOKEN_KEY" in out.output  # tokens are never stored unencrypted
    assert "secret-token" not in out.output
    _ok(["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@acme", "--timezone", "Europe/Berlin"])
    # a wall-clock time is the account's local time: 10:00 in Berlin in January is 09:00 UTC
    assert "2020-01-01 09:00 UTC" in _ok(["social", "schedule", "--merchant", "acme", "--account", "1", "--text", "Hello", "--at", "2020-01-01T10:00"])
    best = _ok(["social", "schedule", "--merchant", "acme", "--account", "1", "--text", "Best slot post", "--best"])
    assert "best slot:" in best and "no warehouse yet" in best
    assert "1 published" in _ok(["social", "publish-due"])
    assert "nothing due" in _ok(["social", "publish-due"])
    rows = json.loads(_ok(["social", "queue", "--merchant", "acme", "--json"]))
    assert sorted(r["status"] for r in rows) == ["PUBLISHED", "QUEUED"]
    assert len((home / "outbox" / "x.jsonl").read_text().splitlines()) == 1


def test_errors_name_the_fix(home: Path) -> None:
    _ok(["merchants", "add", "acme"])
    _ok(["accounts", "add", "--merchant", "acme", "--platform", "x", "--handle", "@acme"])
    both = runner.invoke(app, ["social", "schedule", "--merchant", "acme", "--account", "1", "--text", "x", "--at", "2030-01-01T10:00", "--best"])
    assert both.exit_code == 2 and "exactly one of --at TIME or --best" in both.output
    too_long = runner.invoke(app, ["social", "schedule", "--merchant", "acme", "--account", "1", "--text", "word " * 80, "--at", "2030-01-01T10:00"])
    assert too_long.exit_code == 2 and "over x's 280" in too_long.output
    nope = runner.invoke(app, ["social", "schedule", "--merchant", "acme", "--account", "9", "--text", "x", "--at", "2030-01-01T10:00"])
    assert nope.exit_code == 2
    bad_platform = runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", "myspace", "--handle", "x"])
    assert bad_platform.exit_code == 2 and "unknown platform 'myspace'" in bad_platform.output
    assert runner.invoke(app, ["social", "queue", "--status", "LOST"]).exit_code == 2
