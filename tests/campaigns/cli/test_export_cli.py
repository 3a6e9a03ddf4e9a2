"""`campaigns export`: CSVs of the attribution and ROI marts; a missing warehouse, mart, merchant or model names the fix."""

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.settings import get_settings
from campaigns.warehouse.connection import DuckDBWarehouse

runner = CliRunner()


def _flat(output: str) -> str:
    return " ".join(output.split())  # rich wraps long messages at the terminal width


def _channel_mart(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["merchant_id", "model", "model_family", "channel", "conversions", "revenue"], orient="row")


RULES_ONLY = [
    ("acme", "linear", "rule_based", "email", 4.0, 400.0),
    ("acme", "linear", "rule_based", "search", 6.0, 500.0),
    ("acme", "first_touch", "rule_based", "email", 10.0, 900.0),
    ("globex", "linear", "rule_based", "x", 1.0, 10.0),
]


def _warehouse(rows: list[tuple], name: str = "attribution_by_channel_all_models") -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(get_settings().duckdb_path)
    warehouse.replace_table("marts", name, _channel_mart(rows))
    return warehouse


def test_without_a_warehouse_it_says_to_build(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path / "a.csv"), "--merchant", "acme"])
    assert result.exit_code == 2
    assert "no warehouse at" in _flat(result.output) and "run `campaigns build`" in _flat(result.output)
    assert not (tmp_path / "a.csv").exists()


def test_unknown_model_is_refused_before_reading(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "roi", "--out", str(tmp_path / "r.csv"), "--model", "hunch"])
    assert result.exit_code == 2
    assert "unknown model 'hunch'; use --model with one of first_touch" in _flat(result.output) and "or all" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_missing_mart_and_unknown_merchant(home: Path, tmp_path: Path) -> None:
    _warehouse(RULES_ONLY)
    no_mart = runner.invoke(app, ["export", "roi", "--out", str(tmp_path / "r.csv"), "--merchant", "acme"])
    assert no_mart.exit_code == 2
    assert "marts.roi_by_model_all_models does not exist yet; run `campaigns build`" in _flat(no_mart.output)
    stranger = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path / "a.csv"), "--merchant", "initech"])
    assert stranger.exit_code == 2
    assert "no attribution rows for merchant 'initech'; check the merchant id" in _flat(stranger.output)
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "r.csv").exists()


def test_empty_mart_says_there_are_no_conversions(home: Path, tmp_path: Path) -> None:
    _warehouse([])
    result = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path / "a.csv"), "--merchant", "acme"])
    assert result.exit_code == 2
    assert "the warehouse has no conversions yet; run `campaigns build`" in _flat(result.output)


def test_data_driven_model_without_its_rows(home: Path, tmp_path: Path) -> None:
    _warehouse(RULES_ONLY)
    only_markov = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path / "m.csv"), "--merchant", "acme", "--model", "markov"])
    assert only_markov.exit_code == 2
    assert "no markov rows in marts.attribution_by_channel_all_models yet; run `campaigns build --select attribution`" in _flat(only_markov.output)
    assert not (tmp_path / "m.csv").exists()
    every = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path / "all.csv"), "--merchant", "acme"])
    assert every.exit_code == 0, every.output
    assert "note: no markov/shapley rows yet" in _flat(every.output)
    written = pl.read_csv(tmp_path / "all.csv")
    # models in the documented order, then most conversions first; only acme's rows
    assert written.rows() == [("first_touch", "email", 10.0, 900.0), ("linear", "search", 6.0, 500.0), ("linear", "email", 4.0, 400.0)]
    assert "wrote 3 rows" in every.output


def test_one_model_for_one_merchant(home: Path, tmp_path: Path) -> None:
    _warehouse([*RULES_ONLY, ("acme", "markov", "data_driven", "email", 3.0, 300.0)])
    result = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path / "m.csv"), "--merchant", "acme", "--model", " Markov "])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(tmp_path / "m.csv").rows() == [("markov", "email", 3.0, 300.0)]


def test_bad_out_paths_write_nothing(home: Path, tmp_path: Path) -> None:
    _warehouse(RULES_ONLY)
    folder = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path), "--merchant", "acme"])
    assert folder.exit_code == 2
    assert f"--out {tmp_path} is a folder; give a file name such as {tmp_path / 'attribution.csv'}" in _flat(folder.output)
    missing = tmp_path / "nowhere" / "a.csv"
    nowhere = runner.invoke(app, ["export", "attribution", "--out", str(missing), "--merchant", "acme"])
    assert nowhere.exit_code == 2
    assert f"folder {missing.parent} does not exist; create it or choose another --out" in _flat(nowhere.output)
    assert not missing.parent.exists()


def test_postgres_warehouse_without_a_url_names_the_setting(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", "postgres")
    get_settings.cache_clear()
    result = runner.invoke(app, ["export", "attribution", "--out", str(tmp_path / "a.csv"), "--merchant", "acme"])
    assert result.exit_code == 2
    assert "CAMPAIGNS_WAREHOUSE=postgres needs CAMPAIGNS_WAREHOUSE_URL or CAMPAIGNS_DATABASE_URL" in _flat(result.output)


def test_postgres_warehouse_that_does_not_answer(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", "postgres")
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URL", "postgresql://postgres@127.0.0.1:9/nothing?connect_timeout=2")
    get_settings.cache_clear()
    result = runner.invoke(app, ["export", "roi", "--out", str(tmp_path / "r.csv"), "--merchant", "acme"])
    assert result.exit_code == 2
    assert "cannot reach the warehouse (" in _flat(result.output) and "check CAMPAIGNS_WAREHOUSE_URL" in _flat(result.output)


def test_roi_for_one_merchant_sorted_by_model_then_conversions_then_spend(home: Path, tmp_path: Path) -> None:
    columns = ["merchant_id", "model", "model_family", "campaign_id", "channel", "spend", "conversions", "revenue", "roas", "roi"]
    DuckDBWarehouse(get_settings().duckdb_path).replace_table("marts", "roi_by_model_all_models", pl.DataFrame([
        ("acme", "linear", "rule_based", "c1", "email", 100.0, 5.0, 500.0, 5.0, 4.0),
        ("acme", "linear", "rule_based", "c1", "search", 300.0, 5.0, 450.0, 1.5, 0.5),
        ("acme", "last_touch", "rule_based", "c1", "email", 100.0, 2.0, 150.0, 1.5, 0.5),
        ("globex", "linear", "rule_based", "g1", "x", 10.0, 1.0, 10.0, 1.0, 0.0),
    ], schema=columns, orient="row"))
    out = tmp_path / "roi.csv"
    result = runner.invoke(app, ["export", "roi", "--out", str(out), "--merchant", "acme"])
    assert result.exit_code == 0, result.output
    written = pl.read_csv(out)
    assert written.columns == ["model", "campaign_id", "channel", "spend", "conversions", "revenue", "roas", "roi"]
    assert written.select("model", "channel").rows() == [("last_touch", "email"), ("linear", "search"), ("linear", "email")]
