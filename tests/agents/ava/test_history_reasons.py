"""Why Ava has no warehouse history: a malformed merchant id, no curves table, no curves for the merchant,
and a warehouse another process is writing."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from agents.ava.history import warehouse_plan_history
from campaigns.core.settings import Settings


@pytest.fixture
def settings(home) -> Settings:
    s = Settings()
    s.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return s


def test_a_merchant_id_that_is_not_plain_is_refused_before_any_query(settings) -> None:
    history, why = warehouse_plan_history(settings, "demo'; drop table x; --")
    assert history.curves == {} and why.startswith("merchant id \"demo'; drop table x; --\" is not a plain id")
    assert not settings.duckdb_path.exists()


def test_a_warehouse_without_the_curves_table(settings) -> None:
    duckdb.connect(str(settings.duckdb_path)).close()
    history, why = warehouse_plan_history(settings, "demo")
    assert history.curves == {} and why == "no response curves in the warehouse (CatalogException); run `campaigns build`"


def test_curves_for_other_merchants_only(settings) -> None:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.response_curves (merchant_id varchar, channel varchar, family varchar, params varchar, "
                    "observed_min double, observed_max double)")
        con.execute("insert into marts.response_curves values ('other', 'email', 'hill', '{\"a\": 1, \"k\": 2, \"s\": 1}', 1, 2)")
    history, why = warehouse_plan_history(settings, "demo")
    assert history.curves == {} and why.startswith("no response curve fitted for this merchant yet")
    other, none = warehouse_plan_history(settings, "other")
    assert none is None and other.curves == {"email": {"family": "hill", "a": 1, "k": 2, "s": 1}}


def test_a_warehouse_being_written_by_another_process(settings) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()",
         str(settings.duckdb_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        history, why = warehouse_plan_history(settings, "demo")
    finally:
        holder.communicate("", timeout=30)
    assert history.curves == {} and why.startswith("the warehouse is busy (") and why.endswith("); prior shares used")
