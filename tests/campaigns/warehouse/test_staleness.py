"""Markov and Shapley older than the rule-based marts: the rule, and the export's warning (the page's: tests/dashboards/test_stale_attribution.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.settings import get_settings
from campaigns.warehouse.connection import DuckDBWarehouse
from campaigns.warehouse.staleness import DATA_DRIVEN, RULE_BASED, STAMPS_TABLE, data_driven_staleness, stamp

BUILT = datetime(2026, 3, 2, 6, 0)  # naive UTC, as stored
ROWS = [
    ("acme", "linear", "rule_based", "email", 4.0, 400.0),
    ("acme", "markov", "data_driven", "email", 3.0, 300.0),
    ("acme", "shapley", "data_driven", "email", 3.5, 350.0),
]


def _stamps(*rows: tuple[str, datetime]) -> pl.DataFrame:
    return pl.concat([stamp(family, at) for family, at in rows]) if rows else stamp(RULE_BASED, BUILT).clear()


def _reader(frame: pl.DataFrame):
    def query(sql: str) -> pl.DataFrame:
        assert f"marts.{STAMPS_TABLE}" in sql
        return frame.group_by("family").agg(pl.col("built_at").max())

    return query


def test_the_warning_says_which_is_older_and_how_to_fix_it() -> None:
    assert data_driven_staleness(_reader(_stamps())) is None  # never stamped (a warehouse built before the stamps)
    assert data_driven_staleness(_reader(_stamps((DATA_DRIVEN, BUILT)))) is None
    assert data_driven_staleness(_reader(_stamps((RULE_BASED, BUILT), (DATA_DRIVEN, BUILT + timedelta(minutes=2))))) is None
    stale = data_driven_staleness(_reader(_stamps((RULE_BASED, BUILT), (DATA_DRIVEN, BUILT - timedelta(days=1)))))
    assert stale == ("Markov and Shapley (2026-03-01 06:00 UTC) are older than the rule-based marts (2026-03-02 06:00 UTC): "
                     "their rows may cover other merchants and days; run `campaigns build --select attribution` to recompute them")
    never = data_driven_staleness(_reader(_stamps((RULE_BASED, BUILT))))
    assert never and never.startswith("Markov and Shapley have not been computed since the rule-based marts were built (2026-03-02 06:00 UTC)")


def test_stamps_are_naive_utc() -> None:
    berlin = datetime(2026, 3, 2, 7, 0, tzinfo=timezone(timedelta(hours=1)))
    assert stamp(DATA_DRIVEN, berlin).row(0) == (DATA_DRIVEN, BUILT)
    assert stamp(DATA_DRIVEN, BUILT).row(0) == (DATA_DRIVEN, BUILT)
    assert stamp(DATA_DRIVEN, BUILT.replace(tzinfo=UTC))["built_at"].dtype == pl.Datetime("us")


def _warehouse(stamps: pl.DataFrame) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(get_settings().duckdb_path)
    frame = pl.DataFrame(ROWS, schema=["merchant_id", "model", "model_family", "channel", "conversions", "revenue"], orient="row")
    warehouse.replace_table("marts", "attribution_by_channel_all_models", frame)
    warehouse.replace_table("marts", STAMPS_TABLE, stamps)
    return warehouse


def _export(tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["export", "attribution", "--out", str(tmp_path / "a.csv"), "--merchant", "acme", *args])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(tmp_path / "a.csv").height == len([r for r in ROWS if args[-1:] != ("linear",) or r[1] == "linear"])
    return " ".join(result.output.split())


def test_export_warns_when_markov_and_shapley_are_older(home: Path, tmp_path: Path) -> None:
    _warehouse(_stamps((RULE_BASED, BUILT), (DATA_DRIVEN, BUILT - timedelta(days=1))))
    assert "warning: Markov and Shapley (2026-03-01 06:00 UTC) are older than the rule-based marts" in _export(tmp_path)
    assert "warning" not in _export(tmp_path, "--model", "linear")  # no data-driven rows asked for


def test_export_is_quiet_when_they_are_current(home: Path, tmp_path: Path) -> None:
    _warehouse(_stamps((RULE_BASED, BUILT), (DATA_DRIVEN, BUILT + timedelta(minutes=3))))
    assert "warning" not in _export(tmp_path)
