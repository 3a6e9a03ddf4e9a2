"""`campaigns campaigns ...` and `campaigns merchants ...`: refusals name the fix, exit 2 and write nothing."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from campaigns.cli.main import app

runner = CliRunner()


def _listed(merchant: str = "acme") -> list[dict]:
    result = runner.invoke(app, ["campaigns", "list", "--merchant", merchant, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _create(*args: str) -> str:
    result = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", *args])
    assert result.exit_code == 0, result.output
    return result.output.split()[1]


def test_create_refusals_write_nothing(home: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    not_iso = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "A", "--type", "CONVERSION", "--end", "next week"])
    assert not_iso.exit_code == 2
    assert "--end 'next week' is not ISO-8601" in not_iso.output and "2026-12-01T00:00:00Z" in not_iso.output
    reversed_dates = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "A", "--type", "CONVERSION",
                                         "--start", "2026-12-10T00:00:00Z", "--end", "2026-12-01T00:00:00Z"])
    assert reversed_dates.exit_code == 2 and "end_date must be after start_date" in reversed_dates.output
    negative = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "A", "--type", "CONVERSION", "--budget", "-5"])
    assert negative.exit_code == 2 and "budget:" in negative.output
    unknown_channel = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "A", "--type", "CONVERSION",
                                          "--channels", "carrier_pigeon"])
    assert unknown_channel.exit_code == 2 and "channels" in unknown_channel.output and "carrier_pigeon" in unknown_channel.output
    stranger = runner.invoke(app, ["campaigns", "create", "--merchant", "nobody", "--name", "A", "--type", "CONVERSION"])
    assert stranger.exit_code == 2
    assert "unknown merchant 'nobody'" in stranger.output and "campaigns merchants add nobody" in stranger.output
    assert _listed() == []
    _create("--name", "Same", "--type", "CONVERSION")
    duplicate = runner.invoke(app, ["campaigns", "create", "--merchant", "acme", "--name", "Same", "--type", "AWARENESS"])
    assert duplicate.exit_code == 2 and "Same" in duplicate.output
    assert [c["name"] for c in _listed()] == ["Same"]


def test_list_table_shows_budget_dates_and_filters(home: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    _create("--name", "Winter Sale", "--type", "CONVERSION", "--channels", "email,x", "--budget", "12500",
            "--start", "2026-12-01T00:00:00Z", "--end", "2026-12-20T00:00:00Z")
    _create("--name", "Draft idea", "--type", "AWARENESS")
    table = runner.invoke(app, ["campaigns", "list", "--merchant", "acme"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    sale = next(line for line in table.output.splitlines() if "Winter Sale" in line)
    assert "12,500" in sale and "email, x" in sale and "2026-12-01" in sale and "2026-12-20" in sale
    idea = next(line for line in table.output.splitlines() if "Draft idea" in line)
    assert idea.count(" - ") >= 3  # no budget, no start, no end
    searched = json.loads(runner.invoke(app, ["campaigns", "list", "--merchant", "acme", "--search", "winter", "--json"]).output)
    assert [c["name"] for c in searched] == ["Winter Sale"]
    assert json.loads(runner.invoke(app, ["campaigns", "list", "--merchant", "acme", "--status", "ACTIVE", "--json"]).output) == []


def test_delete_only_drafts_and_only_own_merchants(home: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    assert runner.invoke(app, ["merchants", "add", "globex"]).exit_code == 0
    draft = _create("--name", "Draft", "--type", "CONVERSION")
    live = _create("--name", "Live", "--type", "AWARENESS", "--channels", "x", "--budget", "100",
                   "--start", "2026-12-01T00:00:00Z", "--end", "2026-12-20T00:00:00Z")
    assert runner.invoke(app, ["campaigns", "launch", live, "--merchant", "acme"]).exit_code == 0
    refused = runner.invoke(app, ["campaigns", "delete", live, "--merchant", "acme"])
    assert refused.exit_code == 2
    assert "only drafts can be deleted" in refused.output and "complete it instead" in refused.output
    foreign = runner.invoke(app, ["campaigns", "delete", draft, "--merchant", "globex"])
    assert foreign.exit_code == 2 and "no campaign" in foreign.output
    assert {c["name"] for c in _listed()} == {"Draft", "Live"}
    deleted = runner.invoke(app, ["campaigns", "delete", draft, "--merchant", "acme"])
    assert deleted.exit_code == 0 and f"deleted {draft}" in deleted.output
    assert [c["name"] for c in _listed()] == ["Live"]
    again = runner.invoke(app, ["campaigns", "delete", draft, "--merchant", "acme"])
    assert again.exit_code == 2 and "no campaign" in again.output


def test_merchants_add_and_list(home: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme", "--name", "Acme Inc", "--timezone", "Europe/Berlin"]).exit_code == 0
    bad_zone = runner.invoke(app, ["merchants", "add", "globex", "--timezone", "Mars/Base"])
    assert bad_zone.exit_code == 2
    assert "unknown time zone 'Mars/Base'" in bad_zone.output and "Europe/Berlin" in bad_zone.output
    listed = runner.invoke(app, ["merchants", "list"])
    assert listed.exit_code == 0
    rows = [re.split(r"\s{2,}", line.strip()) for line in listed.output.splitlines() if line.strip()]  # rich expands the tabs
    assert rows == [["acme", "Acme Inc", "Europe/Berlin"]]
