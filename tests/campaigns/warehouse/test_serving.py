"""Reading the served marts: the Parquet snapshots on the embedded default, the marts schema on PostgreSQL."""

import polars as pl
import psycopg
import pytest

from campaigns.core.settings import Settings
from campaigns.warehouse import serving
from campaigns.warehouse.serving import MartsUnavailable, available_marts, query_marts, serving_dir


def test_marts_are_read_from_the_snapshots_with_question_mark_params(tmp_path) -> None:
    settings = Settings(home=tmp_path, warehouse="duckdb")
    with pytest.raises(MartsUnavailable):
        query_marts(settings, "select 1 from marts.social_post_history")
    assert available_marts(settings) == []
    serving_dir(settings).mkdir(parents=True)
    pl.DataFrame({"merchant_id": ["a", "b"], "clicks": [3, 4]}).write_parquet(serving_dir(settings) / "social_post_history.parquet")
    assert not settings.duckdb_path.exists()  # the live warehouse is never opened
    assert query_marts(settings, "select clicks from marts.social_post_history where merchant_id = ?", ["b"]).rows() == [(4,)]
    assert available_marts(settings) == ["social_post_history"]


def test_one_shared_connection_per_set_of_snapshots_sees_replaced_and_added_files(tmp_path) -> None:
    settings = Settings(home=tmp_path / "it's", warehouse="duckdb")  # a quote in the path is escaped in the view
    folder = serving_dir(settings)
    folder.mkdir(parents=True)
    pl.DataFrame({"n": [1]}).write_parquet(folder / "overview_daily.parquet")
    serving._snapshot_views.cache_clear()
    assert query_marts(settings, "select n from marts.overview_daily").rows() == [(1,)]
    assert query_marts(settings, "select n from marts.overview_daily").rows() == [(1,)]
    assert serving._snapshot_views.cache_info().currsize == 1  # the second query reused the connection

    pl.DataFrame({"n": [2]}).write_parquet(folder / "overview_daily.parquet")  # the pipeline replaces a snapshot
    assert query_marts(settings, "select n from marts.overview_daily").rows() == [(2,)]
    assert serving._snapshot_views.cache_info().currsize == 1

    pl.DataFrame({"m": [7]}).write_parquet(folder / "roi_by_model.parquet")  # and adds one
    assert query_marts(settings, "select m from marts.roi_by_model").rows() == [(7,)]
    assert available_marts(settings) == ["overview_daily", "roi_by_model"]


@pytest.mark.postgres
def test_on_postgres_the_marts_schema_is_read_directly(pg_url: str) -> None:
    with psycopg.connect(pg_url) as con:
        con.execute("create schema marts")
        con.execute("create table marts.roi_by_model (merchant_id text, roi double precision)")
        con.execute("insert into marts.roi_by_model values ('a', 1.5), ('b', 2.5)")
        con.execute("create table public.not_a_mart (x int)")
    settings = Settings(database_url=pg_url, warehouse="postgres")
    assert available_marts(settings) == ["roi_by_model"]
    assert query_marts(settings, "select roi from marts.roi_by_model where merchant_id = ?", ["b"]).rows() == [(2.5,)]
