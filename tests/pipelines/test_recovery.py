"""A killed build never blocks publishing: run pools, run monitoring, and abandoned runs failed on the next start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml
from typer.testing import CliRunner

import pipelines
from campaigns.cli.main import app
from campaigns.core.settings import Settings, get_settings
from pipelines.build import RUN_TAGS
from pipelines.definitions import WORK_SENSORS
from pipelines.instance import DAGSTER_YAML, MARKER, POOL_TAG, WAREHOUSE_POOL, ensure_dagster_home
from pipelines.jobs import ad_spend, build_all
from pipelines.recovery import OWNER_TAG, SERVE_PID_FILE, claim_serve, owner_tags, release_serve

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
WORK_JOBS = {"publish_due_job", "workflow_job", "automations_job", "email_ab_job", "scheduled_emails_job", "campaign_status_job", "webhooks_job"}


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def instance(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # restored after the test (ensure_dagster_home sets it)
    ensure_dagster_home(get_settings())
    with dg.DagsterInstance.get() as opened:
        yield opened


def _run(instance: dg.DagsterInstance, job: str, status: dg.DagsterRunStatus, tags: dict[str, str]) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name=job, run_id=run_id, status=status, tags=tags))
    return run_id


def _waits(instance: dg.DagsterInstance, tags: dict[str, str]) -> bool:
    """Whether Dagster's run queue, configured by our dagster.yaml, holds back a run with `tags` now.

    The queue's rule (QueuedRunCoordinator): a run waits while the instance runs max_concurrent_runs runs, or while
    a tag limit is reached; with applyLimitPerUniqueValue, each value of the tag (each pool) has its own count.
    """
    queue = instance.get_concurrency_config().run_queue_config
    in_progress = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    if len(in_progress) >= queue.max_concurrent_runs:
        return True
    for limit in queue.tag_concurrency_limits:
        key = limit["key"]
        assert limit["value"] == {"applyLimitPerUniqueValue": True}
        if key in tags and sum(run.tags.get(key) == tags[key] for run in in_progress) >= limit["limit"]:
            return True
    return False


def _queued_that_start(instance: dg.DagsterInstance) -> set[str]:
    jobs = {"build_all": build_all.tags, **{w.job.name: w.job.tags for w in WORK_SENSORS}}
    return {name for name, tags in jobs.items() if not _waits(instance, dict(tags))}


def test_dagster_yaml_turns_on_run_monitoring_and_pools(instance: dg.DagsterInstance, home: Path) -> None:
    config = yaml.safe_load((home / "dagster" / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] is True
    assert {"start_timeout_seconds", "cancel_timeout_seconds", "max_runtime_seconds"} <= set(config["run_monitoring"])
    assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 180
    queue = instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs > 1
    assert queue.tag_concurrency_limits == [{"key": POOL_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_every_job_has_a_pool_and_a_maximum_runtime() -> None:
    jobs = [build_all, ad_spend, *(w.job for w in WORK_SENSORS)]
    pools = {job.name: job.tags[POOL_TAG] for job in jobs}
    assert pools["build_all"] == pools["ad_spend"] == WAREHOUSE_POOL == RUN_TAGS[POOL_TAG]
    work_pools = [pools[name] for name in WORK_JOBS]
    assert len(set(work_pools)) == len(WORK_JOBS) and WAREHOUSE_POOL not in work_pools
    assert all(int(job.tags["dagster/max_runtime"]) > 0 for job in jobs)


def test_an_older_cli_written_dagster_yaml_is_upgraded_and_an_edited_one_kept(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # restored after the test (ensure_dagster_home sets it)
    config = home / "dagster" / "dagster.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(f"{MARKER} Telemetry off; one run at a time.\nrun_coordinator: {{}}\n")
    ensure_dagster_home(get_settings())
    assert config.read_text() == DAGSTER_YAML
    config.write_text("# mine\ntelemetry:\n  enabled: false\n")
    ensure_dagster_home(get_settings())
    assert config.read_text() == "# mine\ntelemetry:\n  enabled: false\n"


def test_a_killed_builds_run_is_failed_on_the_next_start_and_never_blocked_work(instance: dg.DagsterInstance) -> None:
    host = socket.gethostname()
    killed = _run(instance, "__ASSET_JOB", dg.DagsterRunStatus.STARTED, {**RUN_TAGS, OWNER_TAG: f"{host}:{_dead_pid()}"})

    # while the dead build still holds the warehouse pool, due work is started and a second build waits
    assert _queued_that_start(instance) == WORK_JOBS

    running = _run(instance, "__ASSET_JOB", dg.DagsterRunStatus.STARTED, {**RUN_TAGS, **owner_tags()})  # this process: alive
    elsewhere = _run(instance, "__ASSET_JOB", dg.DagsterRunStatus.STARTED, {**RUN_TAGS, OWNER_TAG: f"other-host:{_dead_pid()}"})
    launched = _run(instance, "build_all", dg.DagsterRunStatus.STARTING, dict(build_all.tags))  # launched by Dagster: not the build's

    assert pipelines.fail_abandoned_runs(get_settings()) == [killed]
    assert _queued_that_start(instance) == WORK_JOBS  # the live build's run still holds the warehouse pool
    statuses = {run_id: instance.get_run_by_id(run_id).status for run_id in (killed, running, elsewhere, launched)}
    assert statuses == {killed: dg.DagsterRunStatus.FAILURE, running: dg.DagsterRunStatus.STARTED,
                        elsewhere: dg.DagsterRunStatus.STARTED, launched: dg.DagsterRunStatus.STARTING}
    failure = instance.all_logs(killed, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert failure and "Abandoned" in failure[0].message


def test_serve_also_fails_runs_dagster_launched_unless_another_serve_lives(instance: dg.DagsterInstance, home: Path) -> None:
    launched = _run(instance, "publish_due_job", dg.DagsterRunStatus.STARTED, {POOL_TAG: "publish_due_job"})
    dagster_home = home / "dagster"
    (dagster_home / SERVE_PID_FILE).write_text(str(os.getppid()))  # a live process holds the instance
    with pytest.raises(pipelines.ServeAlreadyRunning, match="another `campaigns serve`"):
        pipelines.fail_abandoned_runs(get_settings(), serving=True)
    assert instance.get_run_by_id(launched).status == dg.DagsterRunStatus.STARTED

    (dagster_home / SERVE_PID_FILE).write_text(str(_dead_pid()))  # the previous serve was killed
    assert pipelines.fail_abandoned_runs(get_settings(), serving=True) == [launched]
    assert instance.get_run_by_id(launched).status == dg.DagsterRunStatus.FAILURE
    assert (dagster_home / SERVE_PID_FILE).read_text() == str(os.getpid())
    assert claim_serve(dagster_home)  # its own claim again: fine
    pipelines.release_serve(get_settings())
    assert not (dagster_home / SERVE_PID_FILE).exists()
    release_serve(dagster_home)  # nothing to release: no error
    (dagster_home / SERVE_PID_FILE).write_text("garbage")
    assert claim_serve(dagster_home)


def test_campaigns_build_fails_its_killed_runs_first(instance: dg.DagsterInstance) -> None:
    killed = _run(instance, "__ASSET_JOB", dg.DagsterRunStatus.STARTED, {**RUN_TAGS, OWNER_TAG: f"{socket.gethostname()}:{_dead_pid()}"})
    result = CliRunner().invoke(app, ["build", "--select", "no_such_group"])
    assert result.exit_code == 2, result.output
    assert f"marked 1 run(s) of a killed build failed: {killed[:8]}" in result.output
    assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE


def test_a_fresh_home_has_nothing_to_recover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "fresh" / "dagster"))  # restored after the test (ensure_dagster_home sets it)
    assert pipelines.fail_abandoned_runs(Settings(home=tmp_path / "fresh")) == []
    assert (tmp_path / "fresh" / "dagster" / "dagster.yaml").exists()
