"""One placeholder style on both backends, the UTC-date helper, and replacing rows under views."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from campaigns.warehouse.connection import PARAM, DuckDBWarehouse, PostgresWarehouse, Warehouse, pyformat, utc_date


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path) -> Warehouse:
    if request.param == "duckdb":
        return DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    return PostgresWarehouse(request.getfixturevalue("pg_url"))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select * from t where a = ? and b = ?", "select * from t where a = %s and b = %s"),
        ("select 'what?' as q, a % 7 from t where a = ?", "select 'what?' as q, a %% 7 from t where a = %s"),
        ("select * from t where name like 'a%' and id = ?", "select * from t where name like 'a%%' and id = %s"),
        ('select "odd?name", \'it\'\'s ?\' from t where a = ?', 'select "odd?name", \'it\'\'s ?\' from t where a = %s'),
        ("select a -- a note? 100%\nfrom t where a = ?", "select a -- a note? 100%%\nfrom t where a = %s"),
        ("select * from t where a = %s", "select * from t where a = %s"),  # SQL already in psycopg's style runs unchanged
    ],
)
def test_pyformat_translates_placeholders_outside_quotes(sql: str, expected: str) -> None:
    assert PARAM == "?"
    assert pyformat(sql) == expected


def test_one_sql_text_runs_on_both_backends(warehouse: Warehouse) -> None:
    warehouse.replace_table("marts", "things", pl.DataFrame({"name": ["a%b", "what?", "c"], "n": [1, 8, 3]}))
    sql = "select name, n % 7 as rest from marts.things where (name like 'a%' or name = ?) and n < ? order by name"
    assert warehouse.query(sql, ["what?", 10]).rows() == [("a%b", 1), ("what?", 1)]


def test_utc_date_is_the_utc_calendar_day(warehouse: Warehouse) -> None:
    at = pl.DataFrame({"moment": [datetime(2026, 3, 1, 23, 30, tzinfo=UTC), datetime(2026, 3, 2, 0, 30, tzinfo=UTC)]})
    warehouse.replace_table("marts", "moments", at)
    days = warehouse.query(f"select {utc_date('moment')} as day from marts.moments order by moment")["day"].to_list()
    assert days == [date(2026, 3, 1), date(2026, 3, 2)]


def test_replace_contents_keeps_the_table_its_types_and_the_views_over_it(warehouse: Warehouse) -> None:
    warehouse.replace_table("marts", "outputs", pl.DataFrame({"model": ["old"], "credit": [0.5]}))
    with warehouse.connect() as con:  # a dbt view over a Python output
        con.execute("create view marts.outputs_view as select model, credit * 2 as doubled from marts.outputs")
    for _ in range(2):  # twice: the second run replaces the first
        assert warehouse.replace_contents("marts", "outputs", pl.DataFrame({"credit": [1.0, 2.0], "model": ["new", "new"]})) == 2
    assert warehouse.query("select model, doubled from marts.outputs_view order by doubled").rows() == [("new", 2.0), ("new", 4.0)]
    assert warehouse.replace_contents("marts", "outputs", pl.DataFrame(schema={"model": pl.String, "credit": pl.Float64})) == 0
    assert warehouse.count("marts", "outputs_view") == 0
    # a missing table is created from the frame
    assert warehouse.replace_contents("marts", "fresh", pl.DataFrame({"a": [1]})) == 1
    assert warehouse.query("select a from marts.fresh").rows() == [(1,)]


def test_replace_rows_and_between_use_the_same_placeholders(warehouse: Warehouse) -> None:
    frame = pl.DataFrame({"m": ["a", "a", "b"], "d": [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 1)], "v": [1, 2, 3]})
    warehouse.replace_table("raw", "facts", frame)
    warehouse.replace_rows("raw", "facts", pl.DataFrame({"m": ["a"], "d": [date(2026, 1, 5)], "v": [9]}), {"m": "a"})
    warehouse.replace_between("raw", "facts", pl.DataFrame(schema=frame.schema), "d", date(2026, 1, 1), date(2026, 1, 2))
    assert warehouse.query("select m, v from raw.facts order by m").rows() == [("a", 9)]


def test_naive_and_zoned_timestamps_are_written_and_read_back_the_same(warehouse: Warehouse) -> None:
    """Naive timestamps (dbt's stamps, the staleness rows) are UTC; they must reach PostgreSQL's COPY as the zoned ones do."""
    stamps = pl.DataFrame({"family": ["a"], "built_at": [datetime(2026, 5, 1, 9, 30, 15)]}, schema={"family": pl.String, "built_at": pl.Datetime("us")})
    warehouse.replace_table("marts", "stamps_test", stamps)
    later = stamps.with_columns(pl.lit(datetime(2026, 5, 2, 8, 0)).cast(pl.Datetime("us")).alias("built_at"))
    warehouse.replace_rows("marts", "stamps_test", later, {"family": "a"})
    (value,) = warehouse.query("select built_at from marts.stamps_test").row(0)
    assert value.replace(tzinfo=None) == datetime(2026, 5, 2, 8, 0) and (value.tzinfo is None or value.utcoffset().total_seconds() == 0)
    zoned = pl.DataFrame({"family": ["z"], "moment": [datetime(2026, 5, 1, 9, 0, tzinfo=UTC)]})
    warehouse.replace_table("marts", "zoned_test", zoned)
    warehouse.replace_rows("marts", "zoned_test", zoned, {"family": "z"})
    assert warehouse.query("select moment from marts.zoned_test").row(0)[0].astimezone(UTC) == datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
