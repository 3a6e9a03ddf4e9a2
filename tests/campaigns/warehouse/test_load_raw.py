"""Landing files into raw tables on DuckDB and PostgreSQL: newest import of a key wins, ranges replace exactly."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from campaigns.warehouse.connection import DuckDBWarehouse, PostgresWarehouse, Warehouse
from campaigns.warehouse.landing import landing_files, write_landing
from campaigns.warehouse.schema import CONVERSIONS


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path) -> Warehouse:
    if request.param == "duckdb":
        return DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    return PostgresWarehouse(request.getfixturevalue("pg_url"))


def _conversions(merchant: str, rows: list[tuple[str, float]]) -> pl.DataFrame:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    return pl.DataFrame(
        [{"merchant_id": merchant, "conversion_id": cid, "user_id": "u", "converted_at": at, "revenue": rev} for cid, rev in rows],
        schema=CONVERSIONS.polars_schema,
    )


def _loaded(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query("select merchant_id, conversion_id, revenue from raw.conversions order by 1, 2").rows()


def test_one_file_per_merchant_loads_every_row(warehouse, tmp_path) -> None:
    write_landing(tmp_path, CONVERSIONS, _conversions("acme", [("c1", 10.0), ("c2", 0.0)]))
    write_landing(tmp_path, CONVERSIONS, _conversions("beta", [("c1", 5.0)]))  # same id, other merchant: its own row
    assert warehouse.load_raw(CONVERSIONS, landing_files(tmp_path, CONVERSIONS)) == 3
    assert _loaded(warehouse) == [("acme", "c1", 10.0), ("acme", "c2", 0.0), ("beta", "c1", 5.0)]


def test_reimported_key_keeps_the_newest_row(warehouse, tmp_path) -> None:
    write_landing(tmp_path, CONVERSIONS, _conversions("acme", [("c1", 10.0), ("c2", 1.0)]))
    write_landing(tmp_path, CONVERSIONS, _conversions("acme", [("c1", 12.0)]))
    assert warehouse.load_raw(CONVERSIONS, landing_files(tmp_path, CONVERSIONS)) == 2
    assert _loaded(warehouse) == [("acme", "c1", 12.0), ("acme", "c2", 1.0)]


def test_replace_between_touches_only_its_range(warehouse) -> None:
    days = pl.DataFrame({"date": [date(2026, 3, d) for d in (1, 2, 3)], "v": [1, 2, 3]})
    warehouse.replace_table("raw", "days", days)
    incoming = pl.DataFrame({"date": [date(2026, 3, 2)], "v": [20]})
    assert warehouse.replace_between("raw", "days", incoming, "date", date(2026, 3, 2), date(2026, 3, 3)) == 1
    assert warehouse.query("select date, v from raw.days order by date").rows() == [(date(2026, 3, 1), 1), (date(2026, 3, 2), 20), (date(2026, 3, 3), 3)]
    # an empty range load clears those days
    warehouse.replace_between("raw", "days", incoming.clear(), "date", date(2026, 3, 1), date(2026, 3, 3))
    assert warehouse.query("select date, v from raw.days order by date").rows() == [(date(2026, 3, 3), 3)]


def test_one_merchants_load_replaces_its_rows_alone(warehouse, tmp_path) -> None:
    """A merchant partition: its landing files only, the newest import of a key winning; the other merchants' rows stay."""
    write_landing(tmp_path, CONVERSIONS, _conversions("acme", [("c1", 10.0), ("c2", 1.0)]))
    write_landing(tmp_path, CONVERSIONS, _conversions("beta", [("c1", 5.0)]))
    warehouse.load_raw(CONVERSIONS, landing_files(tmp_path, CONVERSIONS))
    write_landing(tmp_path, CONVERSIONS, _conversions("acme", [("c2", 2.0), ("c3", 3.0)]))
    write_landing(tmp_path, CONVERSIONS, _conversions("beta", [("c9", 9.0)]))
    files = landing_files(tmp_path, CONVERSIONS, ["acme"])
    assert {f.parent.name for f in files} == {"acme"} and len(files) == 2
    assert warehouse.load_raw_merchants(CONVERSIONS, files, ["acme"]) == 3
    assert _loaded(warehouse) == [("acme", "c1", 10.0), ("acme", "c2", 2.0), ("acme", "c3", 3.0), ("beta", "c1", 5.0)]
    assert warehouse.load_raw_merchants(CONVERSIONS, [], ["acme"]) == 0  # no files left: the merchant's rows go
    assert _loaded(warehouse) == [("beta", "c1", 5.0)]
    with pytest.raises(ValueError, match="at least one merchant"):
        warehouse.replace_merchants("raw", "conversions", _conversions("beta", []), [])
