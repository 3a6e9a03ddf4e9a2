"""One pattern for the jobs that drain work from the operational store, and the sensors that start them.

Each is a sensor that counts the work waiting (one cheap query a tick, no run while the count
is 0) and a one-op job that calls the service's own worker. The services are exactly-once
(claims, leases, an attempt log), so a run that overlaps another, or the CLI, does no harm.

One failure policy for every job: an exception from the service fails the run as it is; a
problem the service reports for one item (the others still ran) is logged as an error and the
run then fails with `dg.Failure`, so the UI shows it; outcomes that need a person but are no
failure (an escalated workflow step, a provider that asked to wait) are logged as warnings.
Nothing is swallowed. A sensor whose query fails fails its tick.

The store's schema is checked once per process (`migrate_once`), not on every tick.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.resources import CampaignsResource
from campaigns.core.settings import Settings
from pipelines.instance import WORK_MAX_RUNTIME, pool_tags


@dataclass(frozen=True)
class WorkResult:
    """What one run did: the run's metadata (counts), a one-line summary, and what went wrong."""

    metadata: Mapping[str, Any]
    summary: str = ""
    problems: list[str] = field(default_factory=list)  # the run fails after logging them
    warnings: list[str] = field(default_factory=list)  # logged; the run still succeeds


# (settings, now) -> how many items wait; 0 skips the tick.
Pending = Callable[[Settings, datetime], int]
# (settings, worker id, now) -> what the run did.
Work = Callable[[Settings, str, datetime], WorkResult]


@dataclass(frozen=True)
class WorkSensor:
    job: dg.JobDefinition
    sensor: dg.SensorDefinition


def run_key(prefix: str, now: datetime, interval_seconds: int) -> str:
    """`prefix-YYYYmmddTHHMM` of the interval's window: at most one run per window, whatever the tick rate."""
    window = int(now.timestamp()) // interval_seconds * interval_seconds
    return f"{prefix}-{datetime.fromtimestamp(window, UTC):%Y%m%dT%H%M}"


def worker_id(context: dg.OpExecutionContext) -> str:
    return f"dagster-{context.run_id[:8]}-{os.getpid()}"


def report(log, name: str, result: WorkResult) -> dg.Output:
    """Apply the failure policy to one run's result (see the module's docstring)."""
    log.info(f"{name}: {result.summary or dict(result.metadata)}")
    for warning in result.warnings:
        log.warning(warning)
    for problem in result.problems:
        log.error(problem)
    metadata = {**result.metadata, "problems": len(result.problems)}
    if result.problems:
        raise dg.Failure(f"{name}: {len(result.problems)} item(s) could not move on; see the errors above", metadata=metadata)
    return dg.Output(None, metadata=metadata)


def work_sensor(
    name: str,
    *,
    work: Work,
    pending: Pending,
    job_name: str,
    sensor_name: str,
    count_tag: str,
    key_prefix: str,
    idle: str,
    description: str,
    interval_seconds: int = 60,
    tags: Mapping[str, str] | None = None,
) -> WorkSensor:
    """The op `name` calling `work`, its job `job_name`, and the sensor `sensor_name` that runs it while `pending` > 0.

    `count_tag` carries the pending count on each run; run keys start with `key_prefix` (one run
    per interval); `idle` is the skip reason; `tags` go on the job (and so on every run). Each
    job is its own pool (one run at a time, never queued behind a build or another job) and a
    run is failed by run monitoring after WORK_MAX_RUNTIME seconds.
    """
    tags = {**pool_tags(job_name, WORK_MAX_RUNTIME), **(tags or {})}

    @dg.op(name=name, description=description)
    def _op(context: dg.OpExecutionContext, campaigns: CampaignsResource) -> dg.Output:
        settings = campaigns.settings()
        campaigns.store_url()
        return report(context.log, name, work(settings, worker_id(context), datetime.now(UTC)))

    @dg.job(name=job_name, description=description, tags=tags, executor_def=dg.in_process_executor)
    def _job():
        _op()

    @dg.sensor(name=sensor_name, job=_job, minimum_interval_seconds=interval_seconds, default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Every {_every(interval_seconds)}: run `{job_name}` when work is waiting. {description}")
    def _sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
        settings = campaigns.settings()
        campaigns.store_url()
        now = datetime.now(UTC)
        waiting = pending(settings, now)
        if not waiting:
            return dg.SkipReason(idle)
        return dg.RunRequest(run_key=run_key(key_prefix, now, interval_seconds), tags={count_tag: str(waiting)})

    return WorkSensor(job=_job, sensor=_sensor)


def _every(seconds: int) -> str:
    return "minute" if seconds == 60 else f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} s"
