"""`campaigns import`: exit codes, all-or-nothing, no duplicates on re-import, merchant checks."""

from pathlib import Path

from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.settings import Settings
from campaigns.warehouse.connection import DuckDBWarehouse
from campaigns.warehouse.ingest import load_landed_table
from campaigns.warehouse.landing import landing_files
from campaigns.warehouse.schema import CONVERSIONS

runner = CliRunner()
HEADER = "conversion_id,user_id,converted_at,revenue\n"


def _conversions(tmp_path: Path, name: str, rows: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_import_rejects_unknown_merchant_and_bad_rows_writing_nothing(home: Path, tmp_path: Path) -> None:
    good = _conversions(tmp_path, "good.csv", "v1,u1,2026-01-01T00:00:00Z,10\n")
    result = runner.invoke(app, ["import", "conversions", str(good), "--merchant", "nobody"])
    assert result.exit_code == 2
    assert "unknown merchant 'nobody'" in result.output
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    bad = _conversions(tmp_path, "bad.csv", "v1,u1,2026-01-01T00:00:00Z,10\nv2,u2,later,-5\n")
    result = runner.invoke(app, ["import", "conversions", str(bad), "--merchant", "acme"])
    assert result.exit_code == 2
    assert "bad.csv, row 2 (line 3), column 'converted_at'" in result.output
    assert "column 'revenue': -5 is negative" in result.output
    assert landing_files(Settings().landing_dir, CONVERSIONS) == []


def test_reimport_does_not_duplicate_and_newest_row_wins(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    first = _conversions(tmp_path, "a.csv", "v1,u1,2026-01-01T00:00:00Z,10\nv2,u2,2026-01-01T00:00:00Z,20\n")
    for _ in range(2):
        result = runner.invoke(app, ["import", "conversions", str(first), "--merchant", "acme"])
        assert result.exit_code == 0, result.output
    assert "already imported" in result.output
    corrected = _conversions(tmp_path, "b.csv", "v2,u2,2026-01-01T00:00:00Z,25\nv3,u3,2026-01-02T00:00:00Z,5\n")
    assert runner.invoke(app, ["import", "conversions", str(corrected), "--merchant", "acme"]).exit_code == 0
    settings = Settings()
    warehouse = DuckDBWarehouse(settings.duckdb_path)
    rows, files = load_landed_table(settings, warehouse, CONVERSIONS)
    assert (rows, files) == (3, 2)
    revenue = dict(warehouse.query("select conversion_id, revenue from raw.conversions").iter_rows())
    assert revenue == {"v1": 10.0, "v2": 25.0, "v3": 5.0}


def test_import_usage_errors(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "orders", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "orders" in result.output
