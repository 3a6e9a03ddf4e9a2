"""`campaigns status`: what the Dagster instance recorded, the last run and the warehouse's row counts."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.settings import get_settings
from campaigns.warehouse import connection
from campaigns.warehouse.connection import DuckDBWarehouse, WarehouseBusyError

runner = CliRunner()


@pytest.fixture
def status_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # `status` points DAGSTER_HOME at the home (os.environ directly): set it here so it is restored afterwards.
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


def _status() -> str:
    result = runner.invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_fresh_home_says_what_to_run_first(status_home: Path) -> None:
    out = _status()
    assert "nothing materialized yet: run campaigns demo-data then campaigns build" in out
    assert "last run" not in out
    assert "warehouse: not created yet" in out
    assert (status_home / "dagster" / "dagster.yaml").exists()


def test_materializations_last_run_and_row_counts(status_home: Path) -> None:
    (status_home / "dagster").mkdir(parents=True)
    from pipelines import ensure_dagster_home

    ensure_dagster_home(get_settings())

    @dg.asset
    def counted() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"dagster/row_count": 1234})

    @dg.asset
    def uncounted() -> None:
        return None

    with dg.DagsterInstance.get() as instance:
        assert dg.materialize([counted, uncounted], instance=instance).success
        instance.report_runless_asset_event(dg.AssetObservation(asset_key="observed_only"))
    DuckDBWarehouse(get_settings().duckdb_path).replace_table("marts", "roi", pl.DataFrame({"x": [1, 2, 3]}))

    lines = _status().splitlines()
    counted_row = next(line for line in lines if " counted " in line)
    assert "1,234" in counted_row and "never" not in counted_row
    uncounted_row = next(line for line in lines if "uncounted" in line)
    assert "never" not in uncounted_row and "1,234" not in uncounted_row
    assert "never" in next(line for line in lines if "observed_only" in line)
    last_run = next(line for line in lines if line.startswith("last run:"))
    assert "__ephemeral_asset_job__ SUCCESS" in last_run and "running" not in last_run
    roi = next(line for line in lines if " roi " in line)
    assert "marts" in roi and "base table" in roi and roi.rstrip().rstrip("│").strip().endswith("3")


def test_busy_warehouse_is_reported_not_raised(status_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(settings):
        raise WarehouseBusyError("the warehouse is locked by a running build; try again when it finishes")

    monkeypatch.setattr(connection, "open_warehouse", busy)
    out = _status()
    assert "warehouse: the warehouse is locked by a running build; try again when it finishes" in out
