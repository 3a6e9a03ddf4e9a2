"""`campaigns repurpose | repurpose-report | plan | workflow ...`: refusals exit 2, name the fix and store nothing."""

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from campaigns.cli.agent_commands import usage_line
from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Campaign, LlmUsage, RepurposedContent

runner = CliRunner()
POSTS = Path(__file__).parents[2] / "agents" / "posts"
PLAN = ["plan", "--goal", "CONVERSION", "--start", "2026-12-01", "--end", "2026-12-14"]


def _flat(output: str) -> str:
    return " ".join(output.split())


def _merchant(name: str = "demo") -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as session:
        ensure_merchant(session, name, timezone="Europe/Berlin")


def _count(model) -> int:
    with session_scope(get_settings().store_url) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_invalid_agent_settings_name_the_variable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_LLM_MAX_RETRIES", "99")
    result = runner.invoke(app, ["repurpose", str(POSTS / "short.md")])
    assert result.exit_code == 2
    assert "invalid agent settings: CAMPAIGNS_LLM_MAX_RETRIES:" in _flat(result.output) and "10" in result.output


def test_campaign_with_no_save_is_contradictory(home: Path) -> None:
    _merchant()
    result = runner.invoke(app, ["repurpose", str(POSTS / "short.md"), "--campaign", "cmp_x", "--no-save"])
    assert result.exit_code == 2
    assert "--campaign stores drafts on the campaign; drop --no-save or drop --campaign" in _flat(result.output)
    assert _count(RepurposedContent) == 0


def test_unknown_campaign_stores_no_drafts_and_no_usage(home: Path) -> None:
    _merchant()
    result = runner.invoke(app, ["repurpose", str(POSTS / "short.md"), "--formats", "x", "--variations", "1", "--campaign", "cmp_nope"])
    assert result.exit_code == 2
    assert "cmp_nope" in result.output
    assert _count(RepurposedContent) == 0 and _count(LlmUsage) == 0


def test_out_that_cannot_be_written(home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker / "out.json"
    result = runner.invoke(app, ["repurpose", str(POSTS / "short.md"), "--formats", "x", "--variations", "1", "--no-save", "--out", str(out)])
    assert result.exit_code == 2
    assert f"cannot write {out}" in _flat(result.output) and "choose another --out path" in _flat(result.output)


def test_saved_with_out_prints_the_summary_and_the_truncation_note(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _merchant()
    monkeypatch.setenv("CAMPAIGNS_MAX_SOURCE_CHARS", "1200")
    out = tmp_path / "deep" / "out.json"  # the folder is created
    result = runner.invoke(app, ["repurpose", str(POSTS / "long.md"), "--formats", "x,email", "--variations", "1", "--out", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["saved"] == {"merchant": "demo", "campaign": None, "status": "DRAFT"}
    assert _count(RepurposedContent) == len(data["outputs"]) == 2
    assert any("longer than 1,200 characters" in note for note in data["notes"])
    assert "note: the post is longer than 1,200 characters" in _flat(result.output)
    assert "saved as DRAFT; approve with campaigns approve rc-ID" in _flat(result.output)


def test_report_refuses_unknown_formats(home: Path) -> None:
    result = runner.invoke(app, ["repurpose-report", str(POSTS), "--formats", "x,fax"])
    assert result.exit_code == 2
    assert "--formats:" in result.output and "fax" in result.output


@pytest.mark.parametrize(("budget", "message"), [
    ("lots", "--budget 'lots' is not a number; use e.g. 10000 or 2500.50"),
    ("-5", "--budget must be zero or more"),
    ("NaN", "--budget must be zero or more"),
])
def test_plan_budget_must_be_an_amount(home: Path, budget: str, message: str) -> None:
    result = runner.invoke(app, [*PLAN, "--budget", budget, "--save"])
    assert result.exit_code == 2
    assert message in _flat(result.output)
    assert _count(Campaign) == 0


def test_plan_history_file_must_exist_and_be_json(home: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, [*PLAN, "--budget", "1000", "--history", str(tmp_path / "none.json")])
    assert missing.exit_code == 2
    assert f"--history {tmp_path / 'none.json'}: No such file or directory" in _flat(missing.output)
    broken = tmp_path / "broken.json"
    broken.write_text('{"curves": [\n', encoding="utf-8")
    bad = runner.invoke(app, [*PLAN, "--budget", "1000", "--history", str(broken)])
    assert bad.exit_code == 2
    assert "not valid JSON: Expecting value at line 2, column 1; see `campaigns plan --help`" in _flat(bad.output)


def test_plan_save_with_out_creates_the_draft_and_says_what_is_next(home: Path, tmp_path: Path) -> None:
    _merchant()
    out = tmp_path / "plan.json"
    result = runner.invoke(app, [*PLAN, "--budget", "5000", "--blog", str(POSTS / "short.md"), "--save", "--out", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert f"created {data['campaign_id']} (DRAFT) with its workflow" in _flat(result.output)
    with session_scope(get_settings().store_url) as session:
        assert session.get(Campaign, data["campaign_id"]).status.value == "DRAFT"


@pytest.mark.parametrize(("now", "message"), [
    ("tomorrow", "--now 'tomorrow' is not ISO-8601; use e.g. 2026-12-01T09:00:00+00:00"),
    ("2026-12-01T09:00:00", "--now '2026-12-01T09:00:00' has no time zone; add one, e.g. 2026-12-01T09:00:00+00:00"),
])
def test_workflow_run_needs_an_aware_now(home: Path, now: str, message: str) -> None:
    result = runner.invoke(app, ["workflow", "run", "--now", now])
    assert result.exit_code == 2
    assert message in _flat(result.output)


def test_workflow_run_with_nothing_due(home: Path) -> None:
    result = runner.invoke(app, ["workflow", "run", "--now", "2026-12-01T09:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "0 step run(s): nothing due" in result.output


def test_workflow_edit_needs_key_value(home: Path) -> None:
    result = runner.invoke(app, ["workflow", "edit", "cmp_x", "1", "--set", "=5"])
    assert result.exit_code == 2
    assert "--set '=5': use KEY=VALUE" in result.output


def test_usage_line_counts_tokens_cost_and_unpriced_calls() -> None:
    assert usage_line({}) == "LLM cost: none (no model calls: offline engine)"
    line = usage_line({"calls": 3, "runs": 2, "cost_usd": 0.01234, "input_tokens": 12000, "output_tokens": 800,
                       "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5000, "unpriced_calls": 1})
    assert line == ("LLM cost: $0.0123 for 3 call(s) in 2 run(s) (12,000 in, 800 out, 0 cache write, 5,000 cache read tokens); "
                    "1 call(s) of unpriced models not counted")
    assert "unpriced" not in usage_line({"calls": 1, "runs": 1, "cost_usd": 0, "input_tokens": 1, "output_tokens": 1,
                                         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})


def test_workflow_status_names_escalations_waiting_for_a_person(home: Path, tmp_path: Path) -> None:
    _merchant()
    out = tmp_path / "plan.json"
    saved = runner.invoke(app, [*PLAN, "--budget", "5000", "--blog", str(POSTS / "short.md"), "--save", "--out", str(out)])
    assert saved.exit_code == 0, saved.output
    campaign_id = json.loads(out.read_text(encoding="utf-8"))["campaign_id"]
    # long after the flight started, with every draft still unapproved
    ran = runner.invoke(app, ["workflow", "run", "--now", "2100-01-01T00:00:00+00:00", "--merchant", "demo"])
    assert ran.exit_code == 0, ran.output
    assert f"{campaign_id} step 1 (generate_content): done" in ran.output and "step 2 (await_approval): waiting" in ran.output
    status = runner.invoke(app, ["workflow", "status", campaign_id], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert re.search(r"needs a person \(step 2\): \d+ draft\(s\) still unapproved at the start of the flight", status.output)
    assert "LLM cost: none (no model calls: offline engine)" in status.output


def test_workflow_steering_from_the_shell(home: Path, tmp_path: Path) -> None:
    _merchant()
    out = tmp_path / "plan.json"
    assert runner.invoke(app, [*PLAN, "--budget", "5000", "--blog", str(POSTS / "short.md"), "--save", "--out", str(out)]).exit_code == 0
    campaign_id = json.loads(out.read_text(encoding="utf-8"))["campaign_id"]

    def steps() -> dict[int, dict]:
        shown = runner.invoke(app, ["workflow", "status", campaign_id, "--json"])
        assert shown.exit_code == 0, shown.output
        return {s["order"]: s for s in json.loads(shown.stdout)["steps"]}

    # a value that is not JSON is kept as text (a time), a JSON value is parsed (a number)
    edited = runner.invoke(app, ["workflow", "edit", campaign_id, "3", "--set", "due_at=2100-01-02T09:00:00+00:00", "--set", "max_attempts=4"])
    assert edited.exit_code == 0, edited.output
    assert "step 3 (schedule) updated: due_at, max_attempts" in edited.output
    assert steps()[3]["due_at"].startswith("2100-01-02T09:00")
    assert f"workflow of {campaign_id} is paused" in runner.invoke(app, ["workflow", "pause", campaign_id, "--reason", "check the copy"]).output
    paused = runner.invoke(app, ["workflow", "run", "--now", "2100-01-03T00:00:00+00:00"])
    assert "nothing due" in paused.output  # a paused workflow runs no step
    resumed = runner.invoke(app, ["workflow", "resume", campaign_id])
    assert resumed.exit_code == 0 and f"workflow of {campaign_id} is active" in resumed.output
    skipped = runner.invoke(app, ["workflow", "skip", campaign_id, "4", "--reason", "no social accounts"])
    assert skipped.exit_code == 0 and "step 4 (publish) skipped" in skipped.output
    assert steps()[4]["status"] == "SKIPPED"
    refused = runner.invoke(app, ["workflow", "retry", campaign_id, "4"])
    assert refused.exit_code == 2 and "only a FAILED step" in refused.output
    cancelled = runner.invoke(app, ["workflow", "cancel", campaign_id, "--reason", "budget cut"])
    assert cancelled.exit_code == 0 and f"workflow of {campaign_id} is cancelled" in cancelled.output
    assert steps()[5]["status"] == "CANCELLED"


def test_repurpose_report_refuses_unreadable_posts_and_writes_the_json(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "a-short.md").write_text((POSTS / "short.md").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "b-empty.md").write_text("", encoding="utf-8")
    (folder / "notes.csv").write_text("not,a,post\n", encoding="utf-8")  # not a post: ignored
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["repurpose-report", str(folder), "--formats", "x,email", "--variations", "1", "--out", str(out)],
                           env={"COLUMNS": "250"})
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [p["post"] for p in data["posts"]] == ["a-short.md", "b-empty.md"]
    assert "refused" in data["posts"][1] and "refused" in next(line for line in result.output.splitlines() if "b-empty.md" in line)
    assert data["formats"] == ["x", "email"] and data["variations"] == 1
    assert result.exit_code == 0 and data["passed"] is True  # a refused post does not fail the report


def test_approve_ids(home: Path, tmp_path: Path) -> None:
    _merchant()
    bad = runner.invoke(app, ["approve", "x12"])
    assert bad.exit_code == 2 and "'x12' is not a content id; use cc-12 (campaign content) or rc-7 (repurposed draft)" in _flat(bad.output)
    unknown = runner.invoke(app, ["approve", "rc-99"])
    assert unknown.exit_code == 2 and "list drafts with `campaigns workflow status CAMPAIGN_ID`" in _flat(unknown.output)
    made = runner.invoke(app, ["repurpose", str(POSTS / "short.md"), "--formats", "x", "--variations", "1"])
    assert made.exit_code == 0, made.output
    rc = json.loads(made.stdout)["outputs"][0]["ids"]["repurposed"]
    approved = runner.invoke(app, ["approve", rc.upper(), "--note", "checked"])
    assert approved.exit_code == 0 and approved.output.startswith(f"approved {rc.upper()} (hash ")
