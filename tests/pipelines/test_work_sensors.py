"""The one work-sensor pattern: skip while idle, one run per window, one failure policy, the schema checked once per process."""

import logging
import os
from datetime import UTC, datetime

import dagster as dg
import pytest

import assets.resources as resources
from assets.resources import CampaignsResource, dbt_env_mismatches, migrate_once
from campaigns.core.settings import Settings
from pipelines.build import dbt_profile_env
from pipelines.definitions import WORK_SENSORS
from pipelines.work_sensors import WorkResult, run_key, work_sensor


@pytest.fixture
def migrations(monkeypatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(resources, "migrate", calls.append)
    return calls


def _pattern(work, pending=lambda settings, now: 3):
    return work_sensor("try_work", work=work, pending=pending, job_name="try_job", sensor_name="try_sensor", count_tag="campaigns/try",
                       key_prefix="try", idle="nothing to do", description="A test job.", tags={"team": "growth"})


def test_run_keys_are_the_interval_window() -> None:
    now = datetime(2026, 3, 4, 10, 37, 59, tzinfo=UTC)
    assert run_key("publish", now, 60) == "publish-20260304T1037"
    assert run_key("email-ab", now, 300) == "email-ab-20260304T1035"  # the five-minute window, as before


def test_the_work_sensors_keep_their_names_jobs_and_intervals() -> None:
    found = {(w.sensor.name, w.job.name, w.sensor.minimum_interval_seconds) for w in WORK_SENSORS}
    assert found == {
        ("due_posts_sensor", "publish_due_job", 60), ("workflow_sensor", "workflow_job", 60), ("automations_sensor", "automations_job", 60),
        ("email_ab_sensor", "email_ab_job", 300), ("scheduled_emails_sensor", "scheduled_emails_job", 60),
        ("campaign_status_sensor", "campaign_status_job", 60), ("webhooks_sensor", "webhooks_job", 60),
    }
    assert all(w.sensor.default_status == dg.DefaultSensorStatus.RUNNING for w in WORK_SENSORS)
    assert {w.job.graph.node_defs[0].name for w in WORK_SENSORS} == {
        "publish_due_posts", "run_workflow_steps", "run_automations", "run_email_ab_tests", "deliver_scheduled_emails", "tick_campaign_status",
        "deliver_webhooks"}


def test_sensor_skips_while_idle_and_asks_once_per_window(tmp_path, migrations) -> None:
    resource = CampaignsResource(home=str(tmp_path))
    idle = _pattern(lambda *a: WorkResult({}), pending=lambda settings, now: 0)
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        assert idle.sensor(context) == dg.SkipReason("nothing to do")
    busy = _pattern(lambda *a: WorkResult({}))
    for _ in range(3):
        with dg.build_sensor_context(resources={"campaigns": resource}) as context:
            request = busy.sensor(context)
    assert isinstance(request, dg.RunRequest) and request.tags == {"campaigns/try": "3"}
    assert request.run_key.startswith("try-20")
    # four ticks, one schema check for the store
    assert migrations == [Settings(home=tmp_path).store_url]


def test_a_run_with_problems_logs_them_and_fails(tmp_path, migrations) -> None:
    seen = []

    def work(settings, worker_id, now):
        seen.append(worker_id)
        return WorkResult({"done": 2}, "two done", problems=["item 7: provider refused"], warnings=["item 9 needs a person"])

    job = _pattern(work).job
    assert job.tags == {"team": "growth", "campaigns/pool": "try_job", "dagster/max_runtime": "1800"}  # its own pool
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(resources={"campaigns": CampaignsResource(home=str(tmp_path))}, instance=instance, raise_on_error=False)
    assert not result.success and seen[0].startswith("dagster-")
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "try_work: 1 item(s) could not move on" in failure.event_specific_data.error.message
    logged = {(r.level, r.user_message) for r in instance.all_logs(result.run_id)}
    assert (logging.ERROR, "item 7: provider refused") in logged and (logging.WARNING, "item 9 needs a person") in logged


def test_a_clean_run_reports_its_counts_and_warnings_do_not_fail_it(tmp_path, migrations) -> None:
    job = _pattern(lambda *a: WorkResult({"done": 2}, warnings=["escalated"])).job
    result = job.execute_in_process(resources={"campaigns": CampaignsResource(home=str(tmp_path))})
    output = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT)
    assert {k: v.value for k, v in output.event_specific_data.metadata.items()} == {"done": 2, "problems": 0}


def test_a_service_exception_fails_the_run(tmp_path, migrations) -> None:
    def work(settings, worker_id, now):
        raise RuntimeError("store unreachable")

    result = _pattern(work).job.execute_in_process(resources={"campaigns": CampaignsResource(home=str(tmp_path))}, raise_on_error=False)
    assert not result.success


def test_migrate_once_checks_each_store_once_until_forgotten(migrations) -> None:
    assert migrate_once("sqlite:///a.db") == "sqlite:///a.db"
    migrate_once("sqlite:///a.db")
    migrate_once("sqlite:///b.db")
    assert migrations == ["sqlite:///a.db", "sqlite:///b.db"]
    resources.forget_migrations()
    migrate_once("sqlite:///a.db")
    assert migrations == ["sqlite:///a.db", "sqlite:///b.db", "sqlite:///a.db"]


def test_the_resource_takes_each_set_variable_as_an_env_var(tmp_path, monkeypatch) -> None:
    configured = CampaignsResource.from_env({"CAMPAIGNS_HOME": "/somewhere", "CAMPAIGNS_WAREHOUSE": ""})
    assert configured.home == dg.EnvVar("CAMPAIGNS_HOME") and configured.warehouse is None and configured.database_url is None
    # the variable is read when a run starts
    monkeypatch.setenv("CAMPAIGNS_HOME", str(tmp_path / "from-env"))

    @dg.op
    def where(campaigns: CampaignsResource) -> str:
        return str(campaigns.settings().home_path)

    @dg.job
    def one():
        where()

    result = one.execute_in_process(resources={"campaigns": CampaignsResource.from_env()})
    assert result.output_for_node("where") == str(tmp_path / "from-env")


def test_dbt_env_mismatches_compare_what_the_target_reads(tmp_path) -> None:
    dev = Settings(home=tmp_path).dbt_env()
    assert dbt_env_mismatches(dev, {"CAMPAIGNS_HOME": str(tmp_path)}) == []
    assert dbt_env_mismatches(dev, {}) == ["CAMPAIGNS_HOME"]  # the profile's default, ../data, is another warehouse
    assert dbt_env_mismatches(dev, {"CAMPAIGNS_HOME": str(tmp_path), "CAMPAIGNS_PG_HOST": "elsewhere"}) == []
    prod = Settings(warehouse="postgres", database_url="postgresql://ana:s%40cret@db:5433/wh").dbt_env()
    assert dbt_env_mismatches(prod, {"CAMPAIGNS_HOME": "/nowhere"}) == [
        "CAMPAIGNS_PG_HOST", "CAMPAIGNS_PG_PORT", "CAMPAIGNS_PG_USER", "CAMPAIGNS_PG_PASSWORD", "CAMPAIGNS_PG_DBNAME"]
    assert dbt_env_mismatches(prod, prod) == []


def test_the_build_sets_only_the_profile_variables_and_puts_them_back(monkeypatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_HOME", "before")
    monkeypatch.delenv("CAMPAIGNS_PG_HOST", raising=False)
    other = dict(os.environ)
    with dbt_profile_env({"CAMPAIGNS_HOME": "/during", "CAMPAIGNS_PG_HOST": "db"}):
        assert os.environ["CAMPAIGNS_HOME"] == "/during" and os.environ["CAMPAIGNS_PG_HOST"] == "db"
    assert dict(os.environ) == other
