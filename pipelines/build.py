"""In-process materialization used by `campaigns build` and the tests."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.ingest.ad_spend import LANDED_RANGE
from assets.ingest.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from assets.merchants import MERCHANTS, store_merchants, sync_merchant_partitions
from assets.resources import migrate_once
from campaigns.core.settings import Settings
from campaigns.warehouse.connection import open_warehouse
from campaigns.warehouse.ingest import landed_dates, loaded_dates
from campaigns.warehouse.schema import RAW_TABLES
from pipelines.definitions import defs as load_defs
from pipelines.instance import BUILD_MAX_RUNTIME, WAREHOUSE_POOL, ensure_dagster_home, pool_tags
from pipelines.recovery import owner_tags

# Groups run in this order; a group's prefix before "_" names its stage (analytics_marts -> analytics).
STAGE_ORDER = ("ingest", "analytics", "attribution", "optimization", "content", "publishing", "results", "serving")


# The build's runs count against the warehouse pool (a queued build_all waits for them, work jobs do not); they
# also name this process (owner_tags), so a later start fails them if it is killed (pipelines.recovery).
RUN_TAGS = pool_tags(WAREHOUSE_POOL, BUILD_MAX_RUNTIME)

# The console shows a progress bar; the full event log stays in the Dagster instance (and UI).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class StageResult:
    stage: str
    assets: int
    seconds: float
    success: bool
    run_id: str
    failures: list[str] = field(default_factory=list)


def stage_of(group: str) -> str:
    return group.split("_")[0]


def plan_stages(defs: dg.Definitions, select: str | None = None) -> list[tuple[str, list[dg.AssetKey]]]:
    graph = defs.resolve_asset_graph()
    by_stage: dict[str, list[dg.AssetKey]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        group = node.group_name or "default"
        if select and not (group == select or stage_of(group) == select):
            continue
        by_stage.setdefault(stage_of(group), []).append(key)
    if select and not by_stage:
        groups = sorted({graph.get(k).group_name or "default" for k in graph.get_all_asset_keys()})
        raise ValueError(f"no assets in group {select!r}; groups are: {', '.join(groups)} (or a stage: {', '.join(STAGE_ORDER)})")
    order = {name: i for i, name in enumerate(STAGE_ORDER)}
    return sorted(by_stage.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def materialize(
    settings: Settings,
    select: str | None = None,
    on_stage: Callable[[str, int], None] | None = None,
    on_done: Callable[[StageResult], None] | None = None,
    log_path: Path | None = None,
) -> list[StageResult]:
    """Materialize every asset (or one group/stage) stage by stage in this process.

    dagster-dbt echoes dbt's log to stdout; with `log_path` it goes to that file instead.
    """
    with dbt_profile_env(settings.dbt_env()):
        if log_path is None:
            return _materialize(settings, select, on_stage, on_done)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
            return _materialize(settings, select, on_stage, on_done)


@contextlib.contextmanager
def dbt_profile_env(values: Mapping[str, str]) -> Iterator[None]:
    """The variables dbt's profile reads, set in this process for the build's duration.

    dbt runs as a subprocess and reads its profile from the environment. `campaigns serve`
    starts Dagster with them; the in-process build (the CLI, the tests) sets only these keys
    here, then puts back what they were, leaving every other variable alone.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _materialize(settings, select, on_stage, on_done) -> list[StageResult]:
    # Beta, preview and supersession notices about Dagster APIs are for developers, not for a build's console.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.SupersessionWarning)
    ensure_dagster_home(settings)
    defs = load_defs()
    instance = dg.DagsterInstance.get()
    # The implicit asset job runs any selection, whatever its assets' partitioning.
    job = defs.resolve_implicit_global_asset_job_def()
    results: list[StageResult] = []
    graph = defs.resolve_asset_graph()
    for stage, keys in plan_stages(defs, select):
        if on_stage:
            on_stage(stage, len(keys))
        started = time.perf_counter()
        outcomes = []
        for partitions_def, group in _by_partitioning(graph, keys):
            if isinstance(partitions_def, dg.DynamicPartitionsDefinition) and partitions_def.name == MERCHANTS.name:
                # the partition set follows the store (as the sensor does for `campaigns serve`); one run covers every merchant
                sync_merchant_partitions(instance, store_merchants(settings, migrate_once(settings.store_url)))
            partition_key, range_tags = _partitions_to_build(settings, graph, partitions_def, group, instance)
            outcomes.append(
                job.execute_in_process(
                    instance=instance, asset_selection=group, raise_on_error=False, partition_key=partition_key,
                    tags={"campaigns/stage": stage, **RUN_TAGS, **owner_tags(), **range_tags}, run_config=QUIET,
                )
            )
            if not outcomes[-1].success:
                break
        failures = [
            f"{e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[0] if e.event_specific_data and e.event_specific_data.error else 'failed'}"
            for outcome in outcomes
            for e in outcome.all_events
            if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        success = all(o.success for o in outcomes)
        result = StageResult(stage, len(keys), time.perf_counter() - started, success, outcomes[-1].run_id, failures)
        results.append(result)
        if on_done:
            on_done(result)
        if not success:
            break
    return results


def _partitions_to_build(settings: Settings, graph, partitions_def, group: list[dg.AssetKey],
                         instance: dg.DagsterInstance | None = None) -> tuple[str | None, dict[str, str]]:
    """(partition key, range tags) of one run.

    Merchant-partitioned assets build every merchant in one run (the range from the first to
    the last partition), which rebuilds their tables whole, as before they were partitioned.
    Daily partitioned assets (GA4, post metrics) build their latest partition; backfills run
    from the UI. Assets loaded from the landing zone (ad spend) build every day from the first
    to the last landed or already loaded date in one run (single-run backfill), so the build
    loads all imported rows and clears days whose rows are no longer landed.
    """
    if partitions_def is None:
        return None, {}
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        keys = (instance or dg.DagsterInstance.get()).get_dynamic_partitions(partitions_def.name)
        if not keys:
            raise ValueError(f"no {partitions_def.name} partition to build; add one (`campaigns merchants add`)")
        return (keys[0], {}) if len(keys) == 1 else (None, {PARTITION_RANGE_START_TAG: keys[0], PARTITION_RANGE_END_TAG: keys[-1]})
    last = partitions_def.get_last_partition_key()
    landed = [graph.get(k).metadata.get(LANDED_RANGE) for k in group]
    if not any(landed):
        return last, {}
    # Landed days load; days loaded before but no longer landed (a regenerated demo) are emptied.
    warehouse = open_warehouse(settings)
    spans = []
    for table, column in (str(v).split(".") for v in landed if v):
        spans += [landed_dates(settings, RAW_TABLES[table], column), loaded_dates(warehouse, RAW_TABLES[table], column)]
    spans = [s for s in spans if s is not None]
    keys = partitions_def.get_partition_keys()
    if not spans or not keys:
        return last, {}  # nothing landed: the latest day, so the (empty) table exists for dbt
    first_day, last_day = min(s[0] for s in spans).isoformat(), max(s[1] for s in spans).isoformat()
    # Keys are ISO dates: clamp the landed span to the partitions (the asset reports rows outside them).
    start, end = max(first_day, keys[0]), min(last_day, keys[-1])
    if start > end:
        return last, {}
    return None, {PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end}


def _by_partitioning(graph, keys: list[dg.AssetKey]) -> list[tuple[dg.PartitionsDefinition | None, list[dg.AssetKey]]]:
    """The stage's assets in one group per partitioning, each group after the groups its assets read from.

    Unpartitioned first when nothing orders them (so partitioned assets see fresh upstream
    tables); e.g. the posting history (per merchant) loads after post metrics (per day) landed it.
    """
    groups: dict[object, tuple[dg.PartitionsDefinition | None, list[dg.AssetKey]]] = {}
    for key in keys:
        partitions_def = graph.get(key).partitions_def
        groups.setdefault(partitions_def, (partitions_def, []))[1].append(key)
    remaining = sorted(groups.values(), key=lambda item: item[0] is not None)
    group_of = {key: i for i, (_, members) in enumerate(remaining) for key in members}
    reads = [{group_of[p] for k in members for p in graph.get(k).parent_keys if p in group_of} - {i} for i, (_, members) in enumerate(remaining)]
    ordered: list[int] = []
    while len(ordered) < len(remaining):
        ready = [i for i in range(len(remaining)) if i not in ordered and reads[i] <= set(ordered)]
        # a cycle between groups cannot be ordered: keep the default order for the rest
        ordered += ready[:1] or [i for i in range(len(remaining)) if i not in ordered]
    return [remaining[i] for i in ordered]
