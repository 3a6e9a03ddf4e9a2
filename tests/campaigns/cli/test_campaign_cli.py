"""`campaigns campaigns ...`: the lifecycle from the shell, refusals with reasons and exit code 2."""

import json
from pathlib import Path

from typer.testing import CliRunner

from campaigns.cli.main import app

runner = CliRunner()


def test_create_launch_pause_and_refusals(home: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme", "--timezone", "Europe/Berlin"]).exit_code == 0
    created = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "Launch", "--type", "CONVERSION", "--channels", "email,x"])
    assert created.exit_code == 0, created.output
    cid = created.output.split()[1]
    refused = runner.invoke(app, ["campaigns", "launch", cid, "--merchant", "acme"])
    assert refused.exit_code == 2
    assert "set a start date and an end date first" in refused.output
    bad = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "B", "--type", "CONVERSION", "--start", "2026-12-01T00:00:00"])
    assert bad.exit_code == 2 and "has no time zone" in bad.output
    ok = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "Ready", "--type", "AWARENESS", "--channels", "x",
                             "--budget", "1000", "--start", "2026-12-01T00:00:00Z", "--end", "2026-12-20T00:00:00Z"])
    ready = ok.output.split()[1]
    assert runner.invoke(app, ["campaigns", "launch", ready, "--merchant", "acme"]).exit_code == 0
    assert "PAUSED" in runner.invoke(app, ["campaigns", "pause", ready, "--merchant", "acme"]).output
    listed = json.loads(runner.invoke(app, ["campaigns", "list", "--merchant", "acme", "--json"]).output)
    assert {c["name"]: c["status"] for c in listed} == {"Launch": "DRAFT", "Ready": "PAUSED"}
    other = runner.invoke(app, ["campaigns", "pause", ready, "--merchant", "someone-else"])
    assert other.exit_code == 2 and "no campaign" in other.output
    assert runner.invoke(app, ["merchants", "add", "x", "--timezone", "Mars/Base"]).exit_code == 2
