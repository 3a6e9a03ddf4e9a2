"""The Streamlit app: empty state for a new user, KPIs and chart once the demo is built."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.core.settings import get_settings
from tests.dashboards.helpers import signed_in

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")


def _run(monkeypatch: pytest.MonkeyPatch, settings) -> AppTest:
    monkeypatch.setenv("CAMPAIGNS_HOME", str(settings.home_path))
    for key in ("CAMPAIGNS_DATABASE_URL", "CAMPAIGNS_WAREHOUSE"):
        monkeypatch.delenv(key, raising=False)
    if settings.warehouse == "postgres":
        monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", "postgres")
    get_settings.cache_clear()
    at = signed_in(AppTest.from_file(APP, default_timeout=60), settings)
    at.run()
    return at


def test_empty_state_tells_a_new_user_what_to_do(home, monkeypatch) -> None:
    at = _run(monkeypatch, get_settings())
    assert not at.exception
    assert "campaigns demo-data" in at.info[0].value
    assert len(at.metric) == 0


@pytest.mark.slow
def test_overview_shows_kpis_and_trend(built_home, monkeypatch) -> None:
    at = _run(monkeypatch, built_home)
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Spend", "Revenue", "ROAS", "Conversions"]
    assert all(m.value not in ("", "0") for m in at.metric)
    assert at.selectbox[0].value == "demo"
    # switching the period recomputes the KPIs
    before = at.metric[0].value
    at.segmented_control[0].set_value(7).run()
    assert not at.exception
    assert at.metric[0].value != before


@pytest.mark.slow
@pytest.mark.postgres
def test_overview_reads_postgres_marts(built_postgres_home, monkeypatch) -> None:
    at = _run(monkeypatch, built_postgres_home)
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["Spend", "Revenue", "ROAS", "Conversions"]


@pytest.mark.slow
def test_app_keeps_answering_while_the_warehouse_is_locked(built_home, monkeypatch) -> None:
    """A pipeline holding DuckDB's write lock must not break or stall the app."""
    import duckdb

    writer = duckdb.connect(str(built_home.duckdb_path))  # the exclusive writer, as a Dagster run would be
    try:
        writer.execute("create table if not exists marts.lock_probe as select 1 as x")
        at = _run(monkeypatch, built_home)
        assert not at.exception, at.exception
        assert len(at.metric) == 4
    finally:
        writer.execute("drop table if exists marts.lock_probe")
        writer.close()
