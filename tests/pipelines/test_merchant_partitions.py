"""Per-merchant partitions on a real SQLite store, a real DuckDB warehouse and a real (SQLite) Dagster instance.

A merchant's run reads and writes only its own rows: merchant B's runs neither need A's
partition nor change A's rows, whatever A's landing files or journeys hold meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.attribution import attribution_assets, attribution_checks, compute
from assets.attribution.checks import fct_attribution_conserves
from assets.ingest.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from assets.ingest.raw_tables import raw_assets
from assets.merchants import MERCHANT_TAG, MERCHANTS, merchant_partitions_sensor, partition_changes, store_merchants, sync_merchant_partitions
from assets.resources import CampaignsResource
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Merchant
from campaigns.warehouse.connection import DuckDBWarehouse
from campaigns.warehouse.landing import write_landing
from campaigns.warehouse.schema import TOUCHPOINTS
from pipelines.executors import executor_for
from tests.merchant_runs import materialize_for

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
TOUCHPOINTS_KEY = dg.AssetKey(["raw", "touchpoints"])


@pytest.fixture
def instance(tmp_path: Path):
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield instance


@pytest.fixture
def campaigns(home: Path) -> CampaignsResource:
    resource = CampaignsResource(home=str(home))
    migrate(resource.settings().store_url)
    with session_scope(resource.settings().store_url) as session:
        for merchant in ("acme", "beta"):
            ensure_merchant(session, merchant)
    return resource


def _touches(merchant: str, ids: list[str], channel: str = "email") -> pl.DataFrame:
    rows = [{"merchant_id": merchant, "touchpoint_id": i, "user_id": f"u-{i}", "touched_at": T0 + timedelta(hours=n), "channel": channel,
             "campaign_id": None, "source": None, "medium": None} for n, i in enumerate(ids)]
    return pl.DataFrame(rows, schema=TOUCHPOINTS.polars_schema)


def _raw(warehouse: DuckDBWarehouse) -> dict[str, list[tuple]]:
    rows = warehouse.query("select merchant_id, touchpoint_id, channel, _loaded_at from raw.touchpoints order by 1, 2").rows()
    out: dict[str, list[tuple]] = {}
    for merchant, *rest in rows:
        out.setdefault(merchant, []).append(tuple(rest))
    return out


def test_one_merchants_ingest_neither_needs_nor_touches_another_merchants_rows(campaigns, instance) -> None:
    settings = campaigns.settings()
    (touchpoints,) = [a for a in raw_assets() if a.key == TOUCHPOINTS_KEY]
    resources = {"campaigns": campaigns}
    write_landing(settings.landing_dir, TOUCHPOINTS, _touches("acme", ["a1", "a2", "a3"]))
    write_landing(settings.landing_dir, TOUCHPOINTS, _touches("beta", ["b1", "b2"]))
    assert sync_merchant_partitions(instance, store_merchants(settings, settings.store_url)) == ["acme", "beta", "demo"]
    warehouse = DuckDBWarehouse(settings.duckdb_path)

    # beta first: acme's partition was never materialized, and beta's run does not need it
    beta = materialize_for([touchpoints], ["beta"], resources, instance=instance)
    assert beta.success
    assert [m.partition for m in beta.asset_materializations_for_node(touchpoints.node_def.name)] == ["beta"]
    assert beta.dagster_run.tags["dagster/partition"] == "beta"
    assert list(_raw(warehouse)) == ["beta"]

    assert materialize_for([touchpoints], ["acme"], resources, instance=instance).success
    first = _raw(warehouse)
    assert [r[0] for r in first["acme"]] == ["a1", "a2", "a3"] and [r[0] for r in first["beta"]] == ["b1", "b2"]

    # acme re-imports (a changed touch and a new one); beta's next run loads beta alone
    write_landing(settings.landing_dir, TOUCHPOINTS, _touches("acme", ["a1", "a4"], channel="x"))
    assert materialize_for([touchpoints], ["beta"], resources, instance=instance).success
    second = _raw(warehouse)
    assert second["acme"] == first["acme"], "beta's run rewrote acme's rows"
    assert [r[:2] for r in second["beta"]] == [r[:2] for r in first["beta"]] and second["beta"][0][2] > first["beta"][0][2]

    assert materialize_for([touchpoints], ["acme"], resources, instance=instance).success
    third = _raw(warehouse)
    assert [(r[0], r[1]) for r in third["acme"]] == [("a1", "x"), ("a2", "email"), ("a3", "email"), ("a4", "x")]
    assert third["beta"] == second["beta"]
    assert instance.get_materialized_partitions(TOUCHPOINTS_KEY) == {"acme", "beta"}


def test_a_run_over_every_merchant_rebuilds_the_table_as_before(campaigns, instance) -> None:
    """The build's run covers every partition: merchants whose landing files are gone leave the table, as when it was unpartitioned."""
    settings = campaigns.settings()
    (touchpoints,) = [a for a in raw_assets() if a.key == TOUCHPOINTS_KEY]
    warehouse = DuckDBWarehouse(settings.duckdb_path)
    warehouse.replace_table("raw", "touchpoints", _touches("gone", ["g1"]).with_columns(pl.lit(T0).alias("_loaded_at")))
    write_landing(settings.landing_dir, TOUCHPOINTS, _touches("acme", ["a1"]))
    result = materialize_for([touchpoints], ["acme", "beta", "demo"], {"campaigns": campaigns}, instance=instance)
    assert result.success
    assert result.dagster_run.tags[PARTITION_RANGE_START_TAG] == "acme" and result.dagster_run.tags[PARTITION_RANGE_END_TAG] == "demo"
    assert list(_raw(warehouse)) == ["acme"]
    assert result.get_asset_materialization_events()[0].materialization.metadata["whole_table"].value is True


# Journeys of two merchants: acme converts through email > x, beta through search alone.
def _journeys(acme_revenue: float) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    paths = pl.DataFrame({"merchant_id": ["acme", "acme", "beta"], "path": ["email > x", "email", "search"], "conversions": [1, 0, 2],
                          "revenue": [acme_revenue, 0.0, 30.0], "non_conversions": [1, 2, 1]})
    journeys = pl.DataFrame([("acme", "c1", "t1", 1, "email", "k1", T0, T0, acme_revenue), ("acme", "c1", "t2", 2, "x", "k2", T0, T0, acme_revenue),
                             ("beta", "d1", "s1", 1, "search", None, T0, T0, 10.0), ("beta", "d2", "s2", 1, "search", None, T0, T0, 20.0)],
                            schema=compute.JOURNEYS_SCHEMA, orient="row")
    conversions = pl.DataFrame([("acme", "c1", acme_revenue), ("beta", "d1", 10.0), ("beta", "d2", 20.0)],
                               schema={"merchant_id": pl.String, "conversion_id": pl.String, "revenue": pl.Float64}, orient="row")
    return paths, journeys, conversions


def _write_journeys(warehouse: DuckDBWarehouse, acme_revenue: float) -> None:
    paths, journeys, conversions = _journeys(acme_revenue)
    warehouse.replace_table("intermediate", "int_paths_aggregated", paths)
    warehouse.replace_table("intermediate", "int_conversion_touchpoints", journeys)
    warehouse.replace_table("staging", "stg_conversions", conversions)
    warehouse.replace_table("staging", "stg_ad_spend", pl.DataFrame(schema=compute.SPEND_SCHEMA))


def _credits(warehouse: DuckDBWarehouse, merchant: str) -> list[tuple]:
    return warehouse.query("select model, conversion_id, touchpoint_id, credit, attributed_revenue from marts.fct_attribution_data_driven "
                           "where merchant_id = ? order by 1, 2, 3", [merchant]).rows()


def test_attribution_for_one_merchant_keeps_the_others_rows_and_checks_its_own(campaigns, instance) -> None:
    settings = campaigns.settings()
    warehouse = DuckDBWarehouse(settings.duckdb_path)
    _write_journeys(warehouse, acme_revenue=100.0)
    sync_merchant_partitions(instance, store_merchants(settings, settings.store_url))
    checks = [c for c in attribution_checks() if c is not fct_attribution_conserves]
    resources = {"campaigns": campaigns}

    acme = materialize_for([*attribution_assets(), *checks], ["acme"], resources, instance=instance)
    assert acme.success and all(e.passed for e in acme.get_asset_check_evaluations())
    assert _credits(warehouse, "beta") == []  # beta's journeys exist, but its partition did not run
    acme_rows = _credits(warehouse, "acme")
    assert sum(r[4] for r in acme_rows if r[0] == "markov") == pytest.approx(100.0)

    # acme's journeys change (a dbt build for every merchant); beta's run leaves acme's credits as they were
    _write_journeys(warehouse, acme_revenue=250.0)
    beta = materialize_for([*attribution_assets(), *checks], ["beta"], resources, instance=instance)
    assert beta.success
    evaluations = beta.get_asset_check_evaluations()
    # the checks look at beta alone: acme's older credits (100 against 250 now) are acme's run's business
    assert evaluations and all(e.passed for e in evaluations), [e.description for e in evaluations]
    assert all(e.metadata["conversions"].value == 2 for e in evaluations)
    assert _credits(warehouse, "acme") == acme_rows
    assert sum(r[4] for r in _credits(warehouse, "beta") if r[0] == "shapley") == pytest.approx(30.0)
    # the data-driven family is stamped only by a run over every merchant
    assert "build_stamps" not in warehouse.relations()["name"].to_list()

    assert materialize_for([*attribution_assets(), *checks], ["acme"], resources, instance=instance).success
    assert sum(r[4] for r in _credits(warehouse, "acme") if r[0] == "markov") == pytest.approx(250.0)
    assert instance.get_materialized_partitions(dg.AssetKey("markov_attribution")) == {"acme", "beta"}


def test_the_partition_set_follows_the_stores_merchants(campaigns, instance) -> None:
    def tick():
        context = dg.build_sensor_context(instance=instance, resources={"campaigns": campaigns})
        result = merchant_partitions_sensor(context)
        if isinstance(result, dg.SkipReason):
            return result
        for request in result.dynamic_partitions_requests:  # what the daemon does with the tick's requests
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(request.partitions_def_name, key)
        return result

    assert isinstance(tick(), dg.SensorResult)
    assert instance.get_dynamic_partitions(MERCHANTS.name) == ["acme", "beta", "demo"]  # the default merchant always has one
    assert isinstance(tick(), dg.SkipReason)
    url = campaigns.settings().store_url
    with session_scope(url) as session:
        ensure_merchant(session, "gamma")
    tick()
    assert instance.get_dynamic_partitions(MERCHANTS.name) == ["acme", "beta", "demo", "gamma"]
    with session_scope(url) as session:
        session.delete(session.get(Merchant, "beta"))
    tick()
    assert instance.get_dynamic_partitions(MERCHANTS.name) == ["acme", "demo", "gamma"]


def test_partition_changes() -> None:
    assert partition_changes(["b", "x"], ["c", "a", "b"]) == (["a", "c"], ["x"])
    assert partition_changes([], []) == ([], [])


def test_the_build_covers_every_merchant_in_one_run_after_the_groups_it_reads(home, instance) -> None:
    from pipelines.build import _by_partitioning, _partitions_to_build, plan_stages
    from pipelines.definitions import defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    instance.add_dynamic_partitions(MERCHANTS.name, ["acme", "beta", "demo"])
    stages = dict(plan_stages(definitions))
    groups = _by_partitioning(graph, stages["ingest"])
    kinds = [type(p).__name__ if p is not None else None for p, _ in groups]
    social = next(i for i, (_, keys) in enumerate(groups) if dg.AssetKey(["raw", "social_posts"]) in keys)
    metrics = next(i for i, (_, keys) in enumerate(groups) if dg.AssetKey(["raw", "post_metrics"]) in keys)
    assert kinds[0] is None and metrics < social, "the posting history loads after post metrics landed it"
    merchant_keys = groups[social][1]
    assert _partitions_to_build(None, graph, MERCHANTS, merchant_keys, instance) == (
        None, {PARTITION_RANGE_START_TAG: "acme", PARTITION_RANGE_END_TAG: "demo"})
    attribution = _by_partitioning(graph, stages["attribution"])
    assert [type(p).__name__ for p, _ in attribution] == ["DynamicPartitionsDefinition"]


def test_merchant_jobs_tag_each_run_with_its_merchant(home, instance) -> None:
    from pipelines.definitions import defs
    from pipelines.jobs import MERCHANT_INGEST_KEYS, MERCHANT_RESULTS_KEYS, merchant_run_requests

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    merchant_assets = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def == MERCHANTS}
    assert merchant_assets == {*MERCHANT_INGEST_KEYS, *MERCHANT_RESULTS_KEYS}, "every merchant-partitioned asset is in a merchant job"
    for name in ("merchant_ingest", "merchant_results"):
        job = definitions.resolve_job_def(name)
        assert job.get_tags_for_partition_key("acme", None)[MERCHANT_TAG] == "acme"
    build_all = definitions.resolve_job_def("build_all")
    assert not merchant_assets & set(build_all.asset_layer.selected_asset_keys)
    instance.add_dynamic_partitions(MERCHANTS.name, ["acme", "beta"])
    requests = merchant_run_requests(instance, "ingest-20260302")
    assert [(r.partition_key, r.tags[MERCHANT_TAG], r.run_key) for r in requests] == [
        ("acme", "acme", "ingest-20260302-acme"), ("beta", "beta", "ingest-20260302-beta")]


def test_the_executor_follows_the_warehouse(monkeypatch) -> None:
    from campaigns.core.settings import get_settings
    from pipelines.definitions import defs

    assert executor_for("duckdb") is dg.in_process_executor  # one writer: steps one after another
    assert executor_for("postgres") is dg.multiprocess_executor
    assert executor_for("spark") is dg.multiprocess_executor
    with pytest.raises(ValueError, match="unknown warehouse 'oracle'"):
        executor_for("oracle")
    assert defs().resolve_job_def("build_all").executor_def is dg.in_process_executor  # the embedded default
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", "postgres")
    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/not_opened")
    get_settings.cache_clear()
    definitions = defs()
    for job in ("build_all", "ad_spend", "merchant_ingest", "merchant_results"):
        assert definitions.resolve_job_def(job).executor_def is dg.multiprocess_executor, job
    assert definitions.resolve_job_def("publish_due_job").executor_def is dg.in_process_executor  # one op: no process per step
    get_settings.cache_clear()


@pytest.mark.postgres
def test_merchant_runs_on_the_postgres_warehouse(home, instance, pg_url) -> None:
    """The same isolation where runs go side by side: the PostgreSQL warehouse (parameters through psycopg)."""
    from campaigns.warehouse.connection import PostgresWarehouse

    campaigns = CampaignsResource(home=str(home), warehouse="postgres", warehouse_url=pg_url)
    settings = campaigns.settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as session:
        for merchant in ("acme", "beta"):
            ensure_merchant(session, merchant)
    sync_merchant_partitions(instance, store_merchants(settings, settings.store_url))
    (touchpoints,) = [a for a in raw_assets() if a.key == TOUCHPOINTS_KEY]
    write_landing(settings.landing_dir, TOUCHPOINTS, _touches("acme", ["a1", "a2"]))
    write_landing(settings.landing_dir, TOUCHPOINTS, _touches("beta", ["b1"]))
    assert materialize_for([touchpoints], ["acme", "beta", "demo"], {"campaigns": campaigns}, instance=instance).success  # the build's run
    warehouse = PostgresWarehouse(pg_url)
    before = warehouse.query("select merchant_id, touchpoint_id, _loaded_at from raw.touchpoints order by 1, 2").rows()
    write_landing(settings.landing_dir, TOUCHPOINTS, _touches("acme", ["a3"]))
    assert materialize_for([touchpoints], ["beta"], {"campaigns": campaigns}, instance=instance).success
    after = warehouse.query("select merchant_id, touchpoint_id, _loaded_at from raw.touchpoints order by 1, 2").rows()
    assert [r for r in after if r[0] == "acme"] == [r for r in before if r[0] == "acme"]
    assert [r[:2] for r in after if r[0] == "beta"] == [("beta", "b1")]
    assert materialize_for([touchpoints], ["acme"], {"campaigns": campaigns}, instance=instance).success
    assert [r[1] for r in warehouse.query("select merchant_id, touchpoint_id from raw.touchpoints where merchant_id = ? order by 2", ["acme"]).rows()] == [
        "a1", "a2", "a3"]
