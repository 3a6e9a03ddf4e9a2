"""Ad spend by day: a partition replaces exactly its day for every merchant, on DuckDB and PostgreSQL.

Expected rows are written out by hand from the landing files the test lands.
"""

from datetime import date

import dagster as dg
import polars as pl
import pytest

from assets.ingest.ad_spend import ad_spend_asset
from assets.ingest.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from assets.resources import CampaignsResource
from campaigns.warehouse.landing import write_landing
from campaigns.warehouse.schema import AD_SPEND

START = date(2026, 3, 1)
D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def _spend(merchant: str, rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"merchant_id": merchant, "date": d, "campaign_id": c, "channel": ch, "spend": s, "impressions": i, "clicks": k} for d, c, ch, s, i, k in rows],
        schema=AD_SPEND.polars_schema,
    )


@pytest.fixture(params=["duckdb", "postgres"])
def resource(request, tmp_path) -> CampaignsResource:
    if request.param == "duckdb":
        return CampaignsResource(home=str(tmp_path))
    pg_url = request.getfixturevalue("pg_url")
    return CampaignsResource(home=str(tmp_path), warehouse="postgres", warehouse_url=pg_url)


def _materialize(resource: CampaignsResource, first: date, last: date | None = None) -> dg.ExecuteInProcessResult:
    asset = ad_spend_asset(START)
    if last is None:
        return dg.materialize([asset], resources={"campaigns": resource}, partition_key=first.isoformat())
    tags = {PARTITION_RANGE_START_TAG: first.isoformat(), PARTITION_RANGE_END_TAG: last.isoformat()}
    return dg.materialize([asset], resources={"campaigns": resource}, tags=tags)


def _rows(resource: CampaignsResource) -> list[tuple]:
    frame = resource.open_warehouse().query(
        "select merchant_id, date, campaign_id, channel, spend, impressions, clicks from raw.ad_spend order by date, merchant_id, campaign_id, channel"
    )
    return frame.rows()


def test_partitions_load_replace_and_backfill(resource) -> None:
    landing = resource.settings().landing_dir
    write_landing(landing, AD_SPEND, _spend("acme", [(D1, "c1", "x", 10.0, 100, 5), (D2, "c1", "x", 20.0, 200, 8)]))
    write_landing(landing, AD_SPEND, _spend("beta", [(D1, "b1", "email", 1.5, 30, 2)]))

    # one day: both merchants' rows of that day, nothing else
    assert _materialize(resource, D1).success
    assert _rows(resource) == [
        ("acme", D1, "c1", "x", 10.0, 100, 5),
        ("beta", D1, "b1", "email", 1.5, 30, 2),
    ]

    # a re-import corrects acme's D1 row; re-materializing D1 replaces it (no duplicate) and leaves D2 alone
    write_landing(landing, AD_SPEND, _spend("acme", [(D1, "c1", "x", 12.5, 110, 6)]))
    assert _materialize(resource, D1).success
    assert _materialize(resource, D1).success
    assert _rows(resource) == [
        ("acme", D1, "c1", "x", 12.5, 110, 6),
        ("beta", D1, "b1", "email", 1.5, 30, 2),
    ]

    # a backfill over D1..D3 in one run: D2 arrives, D3 (no spend) is empty without error
    result = _materialize(resource, D1, D3)
    assert result.success
    (event,) = result.get_asset_materialization_events()[:1]
    assert event.materialization.metadata["dagster/row_count"].value == 3
    assert _rows(resource) == [
        ("acme", D1, "c1", "x", 12.5, 110, 6),
        ("beta", D1, "b1", "email", 1.5, 30, 2),
        ("acme", D2, "c1", "x", 20.0, 200, 8),
    ]


def test_day_without_spend_gives_an_empty_table(resource) -> None:
    result = _materialize(resource, D3)
    assert result.success
    assert resource.open_warehouse().count("raw", "ad_spend") == 0
    # the table has the import contract's columns, so dbt's staging model can select from it
    columns = resource.open_warehouse().query("select * from raw.ad_spend").columns
    assert columns == [*AD_SPEND.column_names, "_loaded_at"]


def test_rows_outside_the_partitions_are_reported(tmp_path) -> None:
    resource = CampaignsResource(home=str(tmp_path))
    write_landing(resource.settings().landing_dir, AD_SPEND, _spend("acme", [(date(2026, 2, 1), "c1", "x", 1.0, 1, 1), (D1, "c1", "x", 2.0, 2, 1)]))
    result = _materialize(resource, D1)
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["landed_outside_partitions"].value == 1
    assert _rows(resource) == [("acme", D1, "c1", "x", 2.0, 2, 1)]


def test_dbt_staging_reads_every_ad_spend_partition() -> None:
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    key = dg.AssetKey(["raw", "ad_spend"])
    assert graph.get(key).partitions_def is not None
    staging = graph.get(dg.AssetKey("stg_ad_spend"))
    assert key in staging.parent_keys and staging.partitions_def is None
    # an unpartitioned dbt model depends on all of ad spend's days
    mapping = graph.get_partition_mapping(staging.key, key)
    assert isinstance(mapping, dg.AllPartitionMapping)
    # the same for the other ingest tables the email and social marts read
    for model, raw in (("stg_post_metrics", "post_metrics"), ("stg_email_send_stats", "email_send_stats")):
        assert dg.AssetKey(["raw", raw]) in graph.get(dg.AssetKey(model)).parent_keys
    assert isinstance(graph.get_partition_mapping(dg.AssetKey("stg_post_metrics"), dg.AssetKey(["raw", "post_metrics"])), dg.AllPartitionMapping)


def test_sensor_requests_the_days_of_each_new_import(tmp_path) -> None:
    from pipelines.jobs import landed_spend_sensor

    resource = CampaignsResource(home=str(tmp_path))
    landing = resource.settings().landing_dir

    def tick(cursor: str | None):
        context = dg.build_sensor_context(cursor=cursor, resources={"campaigns": resource})
        return landed_spend_sensor(context), context.cursor

    result, cursor = tick(None)
    assert isinstance(result, dg.SkipReason)
    write_landing(landing, AD_SPEND, _spend("acme", [(D1, "c1", "x", 1.0, 1, 1), (D3, "c1", "x", 1.0, 1, 1)]))
    result, cursor = tick(cursor)
    assert result.tags[PARTITION_RANGE_START_TAG] == D1.isoformat()
    assert result.tags[PARTITION_RANGE_END_TAG] == D3.isoformat()
    # nothing new: no run; a later import of another day asks for that day only
    assert isinstance(tick(cursor)[0], dg.SkipReason)
    write_landing(landing, AD_SPEND, _spend("beta", [(D2, "b1", "email", 2.0, 2, 1)]))
    result, _ = tick(cursor)
    assert (result.tags[PARTITION_RANGE_START_TAG], result.tags[PARTITION_RANGE_END_TAG]) == (D2.isoformat(), D2.isoformat())
