"""The commands defined in campaigns/cli/main.py: demo-data, import, build, migrate and serve."""

import json
import re
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import pipelines
from campaigns.cli import serve as serve_module
from campaigns.cli.main import app
from campaigns.core.settings import Settings, get_settings
from campaigns.warehouse.landing import landing_files
from campaigns.warehouse.schema import CONVERSIONS, TOUCHPOINTS
from pipelines.build import StageResult

runner = CliRunner()


def _campaign_names(merchant: str) -> list[str]:
    listed = runner.invoke(app, ["campaigns", "list", "--merchant", merchant, "--json"])
    assert listed.exit_code == 0, listed.output
    return [c["name"] for c in json.loads(listed.output)]


def test_demo_data_refuses_a_bad_as_of_before_writing(home: Path) -> None:
    result = runner.invoke(app, ["demo-data", "--as-of", "24/11/2026"])
    assert result.exit_code == 2
    assert "--as-of '24/11/2026' is not a date; use YYYY-MM-DD" in result.output
    assert not (home / "landing").exists() and not (home / "demo").exists()


def test_demo_data_writes_the_store_landing_zone_and_truth(home: Path) -> None:
    result = runner.invoke(app, ["demo-data", "--as-of", "2026-11-24", "--seed", "7"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "scale demo, seed 7, as of 2026-11-24" in " ".join(result.output.split())  # the title wraps to the table's width
    counts = {m[0]: int(m[1].replace(",", "")) for m in re.findall(r"│ (\w+)\s+│ ([\d,]+)\s+│", result.output)}
    settings = Settings()
    names = _campaign_names(settings.default_merchant)
    # the table counts the generated campaigns; the writer also saves one campaign Ava plans on top of them
    assert counts["campaigns"] == len([n for n in names if not n.endswith("(planned by Ava)")]) == len(names) - 1 > 0
    landed = pl.concat([pl.read_parquet(f) for f in landing_files(settings.landing_dir, TOUCHPOINTS)])
    assert counts["touchpoints"] == landed.height > 0
    assert (settings.home_path / "demo" / "TRUTH.md").exists()
    assert "Next: campaigns build" in result.output


def test_import_of_the_same_file_twice_adds_nothing_the_second_time(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    file = tmp_path / "conv.csv"
    file.write_text("conversion_id,user_id,converted_at,revenue\nv1,u1,2026-01-01T00:00:00Z,10\n", encoding="utf-8")
    first = runner.invoke(app, ["import", "conversions", str(file), "--merchant", "acme"])
    assert first.exit_code == 0 and "imported 1 conversions rows for acme" in first.output
    files = landing_files(Settings().landing_dir, CONVERSIONS)
    again = runner.invoke(app, ["import", "conversions", str(file), "--merchant", "acme"])
    assert again.exit_code == 0, again.output
    assert "conv.csv was already imported" in again.output and "nothing new to add" in again.output
    assert landing_files(Settings().landing_dir, CONVERSIONS) == files


def test_import_of_an_unknown_kind_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    file = tmp_path / "x.csv"
    file.write_text("a\n1\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "orders", str(file)])
    assert result.exit_code == 2
    assert "touchpoints" in result.output and "conversions" in result.output and "spend" in result.output
    assert not (home / "landing").exists()


def _stub_build(monkeypatch: pytest.MonkeyPatch, outcome) -> list:
    calls: list = []

    def run_build(settings, select, *, on_stage, on_done, log_path):
        calls.append((select, log_path))
        if isinstance(outcome, Exception):
            raise outcome
        for result in outcome:
            on_stage(result.stage, result.assets)
            on_done(result)
        return outcome

    monkeypatch.setattr(pipelines, "run_build", run_build)
    return calls


def test_build_with_an_unknown_select_exits_2_with_the_groups(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _stub_build(monkeypatch, ValueError("no assets in group 'nonsense'; groups are: ingest, serving"))
    result = runner.invoke(app, ["build", "--select", "nonsense"])
    assert result.exit_code == 2
    assert "no assets in group 'nonsense'; groups are: ingest, serving" in result.output
    assert calls == [("nonsense", get_settings().home_path / "logs" / "build.log")]


def test_build_reports_each_stage_and_exits_1_on_the_first_failure(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_build(monkeypatch, [
        StageResult("ingest", 6, 1.25, True, "run-a"),
        StageResult("analytics", 30, 2.5, False, "run-b", ["dbt test not_null_stg_touchpoints failed"]),
        StageResult("serving", 3, 0.5, False, "run-c"),
    ])
    result = runner.invoke(app, ["build"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "dbt test not_null_stg_touchpoints failed" in result.output
    assert "total 4.2 s" in result.output and "build.log" in result.output
    ingest = next(line for line in result.output.splitlines() if "ingest" in line and "│" in line)
    assert "ok" in ingest and "1.2" in ingest


def test_build_failure_without_messages_points_at_the_run(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_build(monkeypatch, [StageResult("serving", 3, 0.5, False, "run-c")])
    result = runner.invoke(app, ["build", "--select", "serving"])
    assert result.exit_code == 1
    assert "stage serving failed; see the Dagster UI run run-c" in result.output


def test_build_success_exits_0(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_build(monkeypatch, [StageResult("ingest", 6, 1.0, True, "run-a")])
    result = runner.invoke(app, ["build", "--select", "ingest"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output and "total 1.0 s" in result.output


def test_migrate_creates_the_store_and_is_repeatable(home: Path) -> None:
    first = runner.invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "is up to date" in first.output
    engine = sa.create_engine(get_settings().store_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"merchants", "campaigns", "alembic_version"} <= tables
    assert runner.invoke(app, ["migrate"]).exit_code == 0


class FakeProcess:
    """Stands in for a child process: exits by itself after `lives` polls, or on SIGINT unless `stubborn`."""

    def __init__(self, args, *, lives: int | None = None, stubborn: bool = False, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs
        self.lives, self.stubborn = lives, stubborn
        self.returncode = None
        self.signals: list[int] = []
        self.killed = False

    def poll(self):
        if self.lives is not None:
            self.lives -= 1
            if self.lives <= 0:
                self.returncode = 1
        return self.returncode

    def send_signal(self, sig) -> None:
        self.signals.append(sig)
        if not self.stubborn:
            self.returncode = 0

    def wait(self, timeout=None):
        if self.returncode is None:
            raise serve_module.subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def kill(self) -> None:
        self.killed = True
        self.returncode = -9


def _launcher(monkeypatch: pytest.MonkeyPatch, behaviours: list[dict]) -> list[FakeProcess]:
    started: list[FakeProcess] = []

    def popen(args, **kwargs):
        process = FakeProcess(args, **behaviours[len(started)], **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(serve_module.subprocess, "Popen", popen)
    monkeypatch.setattr(serve_module.time, "sleep", lambda seconds: None)
    return started


@pytest.fixture
def dagster_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # serve sets it in os.environ; restored after the test
    return home


def test_serve_stops_the_other_child_when_one_exits(dagster_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = _launcher(monkeypatch, [{"lives": 3}, {}])
    (dagster_env / "demo").mkdir(parents=True, exist_ok=True)
    (dagster_env / "demo" / "SIGN-IN.txt").write_text("email: demo-owner@example.com\npassword: pw-of-this-demo\n")
    result = runner.invoke(app, ["serve", "--dagster-port", "3999", "--app-port", "8599"])
    assert result.exit_code == 0, result.output
    dagster, streamlit = started
    assert dagster.args[1:3] == ["dev", "-w"] and dagster.args[-4:] == ["-h", "127.0.0.1", "-p", "3999"]
    assert streamlit.args[1] == "run" and "8599" in streamlit.args
    assert " ".join(streamlit.args).count("--server.address 127.0.0.1") == 1 and "--client.toolbarMode viewer" in " ".join(streamlit.args)
    assert "password: pw-of-this-demo" in result.output
    assert dagster.kwargs["env"]["CAMPAIGNS_HOME"] == str(dagster_env)
    assert "http://localhost:3999" in result.output and "http://localhost:8599" in result.output
    assert dagster.signals == []  # it had already exited
    assert streamlit.signals == [serve_module.signal.SIGINT] and not streamlit.killed


def test_serve_on_ctrl_c_interrupts_both_and_kills_one_that_hangs(dagster_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = _launcher(monkeypatch, [{"stubborn": True}, {}])

    def interrupted(seconds) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(serve_module.time, "sleep", interrupted)
    serve_module.serve_both(get_settings(), 3000, 8501)
    dagster, streamlit = started
    assert dagster.signals == [serve_module.signal.SIGINT] and dagster.killed
    assert streamlit.signals == [serve_module.signal.SIGINT] and not streamlit.killed


def test_shell_completion_lists_lazy_and_local_commands(home: Path) -> None:
    def complete(words: str) -> list[str]:
        result = runner.invoke(app, [], prog_name="campaigns",
                               env={"_CAMPAIGNS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)})
        assert result.exit_code == 0, result.output
        return result.output.split()

    assert complete("campaigns re") == ["repurpose", "repurpose-report", "rebalance"]
    assert complete("campaigns m") == ["migrate", "merchants"]  # a command defined here, then a lazy group
    assert "build" in complete("campaigns ") and "email" in complete("campaigns ")


def test_import_notes_timestamps_read_as_utc(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    file = tmp_path / "naive.csv"
    file.write_text("conversion_id,user_id,converted_at,revenue\nv1,u1,2026-01-01T10:00:00,10\nv2,u2,2026-01-01T11:00:00Z,5\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "conversions", str(file), "--merchant", "acme"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "note: 1 values in 'converted_at' had no time zone and were read as UTC" in result.output
    landed = pl.concat([pl.read_parquet(f) for f in landing_files(Settings().landing_dir, CONVERSIONS)])
    assert landed.height == 2
