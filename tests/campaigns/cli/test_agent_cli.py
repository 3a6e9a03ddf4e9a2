"""The agent commands, registered on a typer app exactly as the lead wires them into `campaigns`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from campaigns.cli import agent_commands
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope

app = typer.Typer()
app.command("repurpose")(agent_commands.repurpose)
app.command("repurpose-report")(agent_commands.repurpose_report)
app.command("plan")(agent_commands.plan)
app.command("approve")(agent_commands.approve)
app.add_typer(agent_commands.workflow_app, name="workflow")

runner = CliRunner()


def _merchant(name: str = "demo") -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as session:
        ensure_merchant(session, name, timezone="Europe/Berlin")


def test_repurpose_writes_the_documented_json(home: Path, posts_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["repurpose", str(posts_dir / "long.md"), "--formats", "x,linkedin,facebook,instagram,email,ads",
                                 "--variations", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["source"]["title"].startswith("Planning a five-day") and data["source"]["url"].startswith("https://")
    assert len(data["outputs"]) == 18 and data["saved"] is None  # no merchant yet: nothing stored
    for o in data["outputs"]:
        assert {"format", "variant", "engine", "source_sentences"} <= set(o) and o["engine"] == "offline"
        expected = {"x": {"text", "thread", "hashtags"}, "linkedin": {"text", "hashtags"}, "facebook": {"text", "hashtags"},
                    "instagram": {"text", "hashtags", "alt_text", "image_brief"}, "email": {"subject", "preview_text", "html", "text"},
                    "ads": {"headlines", "descriptions", "primary_text"}}[o["format"]]
        assert expected <= set(o), o["format"]
        assert "predicted_performance" in o and o["prediction_note"]
    assert data["passed"] is True


def test_repurpose_saves_drafts_and_approve_takes_prefixed_ids(home: Path, posts_dir: Path) -> None:
    _merchant()
    result = runner.invoke(app, ["repurpose", str(posts_dir / "short.md"), "--formats", "x,email", "--variations", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["saved"]["status"] == "DRAFT"
    rc = data["outputs"][0]["ids"]["repurposed"]
    approved = runner.invoke(app, ["approve", rc, "--actor", "boss"])
    assert approved.exit_code == 0 and "approved" in approved.output
    assert runner.invoke(app, ["approve", "rc-99999"]).exit_code == 2
    bad = runner.invoke(app, ["approve", "x12"])
    assert bad.exit_code == 2 and "cc-12" in bad.output


@pytest.mark.parametrize(("args", "message"), [
    (["repurpose", "missing.md"], "does not exist"),
    (["repurpose", "{posts}/short.md", "--formats", "x,tiktok"], "unknown format"),
    (["repurpose", "{posts}/short.md", "--variations", "0"], "from 1 to 12"),
    (["repurpose", "{empty}"], "empty"),
    (["repurpose", "{posts}/short.md", "--campaign", "cmp_nope"], "does not exist"),
    (["plan", "--goal", "FAME", "--budget", "100", "--start", "2026-12-01", "--end", "2026-12-02"], "AWARENESS"),
    (["plan", "--goal", "CONVERSION", "--budget", "1.005", "--start", "2026-12-01", "--end", "2026-12-02"], "two decimals"),
    (["plan", "--goal", "CONVERSION", "--budget", "100", "--start", "2026-12-09", "--end", "2026-12-02"], "before start"),
    (["plan", "--goal", "CONVERSION", "--budget", "100", "--start", "01/12/2026", "--end", "2026-12-02"], "YYYY-MM-DD"),
    (["workflow", "status", "cmp_nope"], "no campaign"),
    (["repurpose-report", "{tmp}/nowhere"], "not a folder"),
])
def test_errors_exit_2_and_name_the_fix(home: Path, posts_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("")
    args = [a.format(posts=posts_dir, empty=empty, tmp=tmp_path) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_plan_saves_a_campaign_and_its_workflow_runs(home: Path, posts_dir: Path, tmp_path: Path) -> None:
    _merchant()
    out = tmp_path / "plan.json"
    start, end = date.today() + timedelta(days=10), date.today() + timedelta(days=30)
    result = runner.invoke(app, ["plan", "--goal", "CONVERSION", "--budget", "10000", "--start", str(start), "--end", str(end),
                                 "--blog", str(posts_dir / "list-heavy.md"), "--target", "150", "--segments", "winter drivers,families",
                                 "--out", str(out), "--save"])
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    assert sum(Decimal(i["amount"]) for i in plan["budget_allocation"]["items"]) == Decimal("10000")
    assert plan["timezone"] == "Europe/Berlin" and plan["segments"] == ["winter drivers", "families"]
    assert plan["schedule"] and plan["contingencies"] and plan["prediction"]["low"] <= plan["prediction"]["expected"]
    campaign_id = plan["campaign_id"]
    ran = runner.invoke(app, ["workflow", "run"])
    assert ran.exit_code == 0 and "generate_content): done" in ran.output
    status = runner.invoke(app, ["workflow", "status", campaign_id, "--json"])
    steps = {s["order"]: s["status"] for s in json.loads(status.stdout)["steps"]}
    assert steps[1] == "DONE" and steps[2] == "WAITING"
    table = runner.invoke(app, ["workflow", "status", campaign_id])
    assert table.exit_code == 0 and "await_approval" in table.output
    assert runner.invoke(app, ["approve", "cc-1"]).exit_code == 0
    assert runner.invoke(app, ["workflow", "pause", campaign_id, "--reason", "check"]).exit_code == 0
    assert runner.invoke(app, ["workflow", "edit", campaign_id, "5", "--set", "max_attempts=5"]).exit_code == 0
    refused = runner.invoke(app, ["workflow", "retry", campaign_id, "5"])
    assert refused.exit_code == 2 and "only a FAILED step" in refused.output
    assert runner.invoke(app, ["workflow", "resume", campaign_id]).exit_code == 0
    assert runner.invoke(app, ["workflow", "skip", campaign_id, "4", "--reason", "no social accounts"]).exit_code == 0


def test_repurpose_report_covers_every_post_and_refuses_unreadable_ones(home: Path, posts_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["repurpose-report", str(posts_dir), "--variations", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["passed"] and len(report["posts"]) == len(list(posts_dir.iterdir()))
    assert all(all(c["ok"] for c in p["checks"].values()) for p in report["posts"])
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "empty.md").write_text("")
    (odd / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (odd / "fine.md").write_text((posts_dir / "short.md").read_text())
    mixed = runner.invoke(app, ["repurpose-report", str(odd), "--out", str(tmp_path / "odd.json")])
    assert mixed.exit_code == 0, mixed.output
    refused = {p["post"]: p.get("refused") for p in json.loads((tmp_path / "odd.json").read_text())["posts"]}
    assert "empty" in refused["empty.md"] and "binary" in refused["image.html"] and refused["fine.md"] is None
    assert runner.invoke(app, ["repurpose-report", str(tmp_path / "odd" / "..")]).exit_code == 2  # no posts at that level


def test_repurpose_uses_the_live_engine_when_a_key_is_set(home: Path, posts_dir: Path, fake_api, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.url)
    monkeypatch.setenv("CAMPAIGNS_LLM_ENGINE", "auto")

    def answer(body: dict) -> dict:
        sentences = [t for _, t in fake_api.source_sentences(body) if not t.endswith(":")]
        variants = [{"angle": a, "text": f"{lead} {sentences[i % len(sentences)]}", "hashtags": ["camping"], "thread": []}
                    for i, (a, lead) in enumerate([("question", "Worth knowing:"), ("story", "In short:")])]
        return fake_api.message([fake_api.tool_use(body["tool_choice"]["name"], {"variants": variants})])

    fake_api.responder = answer
    result = runner.invoke(app, ["repurpose", str(posts_dir / "short.md"), "--formats", "x,facebook", "--variations", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {o["engine"] for o in data["outputs"]} == {"claude-haiku-4-5"}
    assert data["usage"]["calls"] == 2 and len(fake_api.requests) == 2
