"""deploy/dagster.yaml: validated by Dagster's own instance and class schemas, its limits applied by Dagster's own counter.

Nothing is started and nothing connects: the file is loaded the way `DagsterInstance.get()` loads
it, with the environment variables it names set to test values.
"""

from __future__ import annotations

import ast
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._utils.tags import TagConcurrencyLimitsCounter
from dagster_postgres import DagsterPostgresStorage

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV = {"DAGSTER_PG_HOST": "db.test", "DAGSTER_PG_PORT": "6543", "DAGSTER_PG_DB": "dagster_test", "DAGSTER_PG_USER": "dagster",
       "DAGSTER_PG_PASSWORD": "not-a-real-password", "DAGSTER_MAX_CONCURRENT_RUNS": "12"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


@pytest.fixture
def instance_config(env) -> dict:
    config, custom_class = dagster_instance_config(str(DEPLOY))
    assert custom_class is None
    return dict(config)


@pytest.fixture
def coordinator(instance_config) -> dict:
    run_coordinator = instance_config["run_coordinator"]
    assert (run_coordinator["module"], run_coordinator["class"]) == ("dagster.core.run_coordinator", "QueuedRunCoordinator")
    result = process_config(QueuedRunCoordinator.config_type(), run_coordinator["config"])
    assert result.success, result.errors
    return result.value


def _run(**tags: str) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="some_job", run_id=str(uuid.uuid4()), tags=tags)


def _work_jobs() -> dict[str, str]:
    """job name -> the count tag its sensor puts on every run, read from the `work_sensor(...)` calls in pipelines/."""
    found = {}
    for path in sorted((ROOT / "pipelines").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "work_sensor":
                kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
                found[kw["job_name"]] = kw["count_tag"]
    return found


def test_storage_is_postgres_from_the_environment(instance_config, env) -> None:
    assert set(instance_config["storage"]) == {"postgres"}  # run, event log and schedule storage together
    result = process_config(DagsterPostgresStorage.config_type(), instance_config["storage"]["postgres"])
    assert result.success, result.errors
    db = result.value["postgres_db"]
    assert (db["hostname"], db["port"], db["db_name"], db["username"], db["password"]) == (
        env["DAGSTER_PG_HOST"], 6543, env["DAGSTER_PG_DB"], env["DAGSTER_PG_USER"], env["DAGSTER_PG_PASSWORD"])
    raw = yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"))
    assert all(set(v) == {"env"} for v in raw["storage"]["postgres"]["postgres_db"].values()), "every connection field from the environment"


def test_a_missing_variable_is_a_config_error(instance_config, monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    result = process_config(DagsterPostgresStorage.config_type(), instance_config["storage"]["postgres"])
    assert not result.success
    assert "DAGSTER_PG_PASSWORD" in str(result.errors)


def test_dagster_rejects_a_broken_copy(tmp_path, env) -> None:
    """The validation above can fail: an unknown key in the same file is refused by Dagster's schema."""
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    with (tmp_path / "dagster.yaml").open("a", encoding="utf-8") as f:
        f.write("run_monitoring_typo:\n  enabled: true\n")
    with pytest.raises(DagsterInvalidConfigError):
        dagster_instance_config(str(tmp_path))


def test_run_monitoring_on_and_telemetry_off(instance_config) -> None:
    assert instance_config["run_monitoring"]["enabled"] is True
    assert instance_config["run_monitoring"]["max_resume_run_attempts"] == 0  # the default launcher cannot resume
    assert instance_config["telemetry"]["enabled"] is False


def test_every_work_job_has_a_limit_on_the_tag_its_runs_carry(coordinator) -> None:
    jobs = _work_jobs()
    assert {"publish_due_job", "scheduled_emails_job", "automations_job", "webhooks_job"} <= set(jobs), jobs
    key_limits = {limit["key"]: limit["limit"] for limit in coordinator["tag_concurrency_limits"] if "value" not in limit}
    missing = {job: tag for job, tag in jobs.items() if tag not in key_limits}
    assert not missing, f"add a tag_concurrency_limits entry in deploy/dagster.yaml for {missing}"
    stale = set(key_limits) - set(jobs.values())
    assert not stale, f"limits on tags no work job carries: {stale}"
    assert coordinator["max_concurrent_runs"] == 12  # from DAGSTER_MAX_CONCURRENT_RUNS


def test_publishing_runs_queue_beyond_their_limit(coordinator) -> None:
    limits = coordinator["tag_concurrency_limits"]
    n = next(limit["limit"] for limit in limits if limit["key"] == "campaigns/due")
    assert n > 1, "several publishing workers at once"
    running = [_run(**{"campaigns/due": "500", "dagster/sensor_name": "due_posts_sensor"}) for _ in range(n - 1)]
    counter = TagConcurrencyLimitsCounter(limits, running)
    assert not counter.is_blocked(_run(**{"campaigns/due": "7"}))
    counter.update_counters_with_launched_item(_run(**{"campaigns/due": "7"}))
    assert counter.is_blocked(_run(**{"campaigns/due": "3"}))
    assert not counter.is_blocked(_run(**{"campaigns/webhooks": "3"})), "other queues keep their own slots"


def test_one_ingest_or_build_per_merchant(coordinator) -> None:
    limits = coordinator["tag_concurrency_limits"]
    counter = TagConcurrencyLimitsCounter(limits, [_run(**{"campaigns/merchant": "acme"})])
    assert counter.is_blocked(_run(**{"campaigns/merchant": "acme"}))
    assert not counter.is_blocked(_run(**{"campaigns/merchant": "beta"})), "a large merchant's build does not hold the others"
    spend = TagConcurrencyLimitsCounter(limits, [_run(**{"dagster/sensor_name": "landed_spend_sensor"})])
    assert spend.is_blocked(_run(**{"dagster/sensor_name": "landed_spend_sensor"}))


def test_merchant_runs_go_one_per_merchant_however_launched(coordinator) -> None:
    """The per-merchant jobs' runs (tags from the job) and an asset-graph backfill's runs (the partition tag alone) share the merchant's slot."""
    from pipelines.definitions import defs

    definitions = defs()
    limits = coordinator["tag_concurrency_limits"]
    for name in ("merchant_ingest", "merchant_results"):
        job = definitions.resolve_job_def(name)
        acme = _run(**job.get_tags_for_partition_key("acme", None), **dict(job.tags))
        assert acme.tags["campaigns/merchant"] == "acme" and acme.tags["dagster/partition"] == "acme"
        counter = TagConcurrencyLimitsCounter(limits, [acme])
        assert counter.is_blocked(_run(**job.get_tags_for_partition_key("acme", None)))
        assert counter.is_blocked(_run(**{"dagster/partition": "acme"})), "an asset backfill of acme waits for acme's job run"
        assert not counter.is_blocked(_run(**job.get_tags_for_partition_key("beta", None))), "beta does not wait for acme"
    # a merchant's ingest and results share its slot: results wait until its ingest ends
    ingest = definitions.resolve_job_def("merchant_ingest").get_tags_for_partition_key("acme", None)
    results = definitions.resolve_job_def("merchant_results").get_tags_for_partition_key("acme", None)
    assert TagConcurrencyLimitsCounter(limits, [_run(**ingest)]).is_blocked(_run(**results))


def test_the_work_jobs_named_in_the_comments_exist() -> None:
    """The job names the file documents are the jobs the code location defines."""
    from pipelines.definitions import WORK_SENSORS

    defined = {w.job.name for w in WORK_SENSORS}
    assert set(_work_jobs()) == defined
    text = (DEPLOY / "dagster.yaml").read_text(encoding="utf-8")
    assert all(name in text for name in defined), sorted(n for n in defined if n not in text)
