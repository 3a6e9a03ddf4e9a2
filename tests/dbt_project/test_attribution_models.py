"""The journey and attribution dbt models on a tiny hand-made raw dataset, on DuckDB and on
PostgreSQL: one `dbt build` per backend, then every rule's credits against numbers worked
out by hand here, credits summing to 1, conservation, ROI and daily performance; on DuckDB
also the Markov/Shapley assets and `campaigns export` on top of the built models.

D = 2026-03-31 12:00 UTC. Merchant m1:
  u1  a0 email/k1 D-40d (outside the 30-day lookback), a1 email/k1 D-30d (exactly: in),
      a2 google_ads/k2 D-3.5d, a3 x/k3 D-1h, a4 '' (-> direct) at D   => v1 at D, revenue 100:
      email > google_ads > x > direct
      a5 facebook/k4 D+1d => v2 at D+2d, revenue 50: facebook (a4 at v1's instant stays in v1)
      a6 email/k1 D+3d    => open journey after the last conversion: email
  u2  no touches          => v3 at D, revenue 0: synthetic direct
  u3  b1 email/k1 D-10d, b2 x/k3 D-5d, never converts => open journey email > x
  u4  c1 null channel D-2d, c2 '' D-1d => v4 at D, revenue 30: direct > direct
Merchant m2 (one channel): w1 e1 email D-2d, e2 email D-1d => z1 at D, revenue 20;
  w2 e3 email D-1d, no conversion.
Ad spend m1: k1/email 2026-03-31 10 (1000 impressions, 20 clicks); k2/google_ads 2026-03-28
  40 (2000, 40); k9/linkedin 2026-03-31 15 (500, 5): a channel without touches or conversions.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import psycopg
import pytest

from assets.dbt_project import dbt_executable
from campaigns.core.settings import Settings
from campaigns.warehouse.connection import Warehouse, open_warehouse
from campaigns.warehouse.schema import AD_SPEND, CONVERSIONS, LOADED_AT, TOUCHPOINTS, RawTable

pytestmark = pytest.mark.slow

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = dbt_executable()  # as the product runs it: dbt behind campaigns-dbt (assets/dbt_guard.py)
SELECT = ["+campaign_performance_daily", "+roi_by_model", "+attribution_by_channel", "+int_paths_aggregated",
          "+attribution_by_channel_all_models", "+attribution_daily_all_models", "+roi_by_model_all_models"]
ALL_MODEL_MARTS = ("attribution_by_channel_all_models", "attribution_daily_all_models", "roi_by_model_all_models")

D = datetime(2026, 3, 31, 12, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

TOUCHES = [
    # merchant, touchpoint, user, touched_at, channel, campaign
    ("m1", "a0", "u1", D - 40 * DAY, "email", "k1"),
    ("m1", "a1", "u1", D - 30 * DAY, "email", "k1"),
    ("m1", "a2", "u1", D - 3.5 * DAY, "google_ads", "k2"),
    ("m1", "a3", "u1", D - HOUR, "x", "k3"),
    ("m1", "a4", "u1", D, "", None),
    ("m1", "a5", "u1", D + DAY, "facebook", "k4"),
    ("m1", "a6", "u1", D + 3 * DAY, "email", "k1"),
    ("m1", "b1", "u3", D - 10 * DAY, "email", "k1"),
    ("m1", "b2", "u3", D - 5 * DAY, "x", "k3"),
    ("m1", "c1", "u4", D - 2 * DAY, None, None),
    ("m1", "c2", "u4", D - DAY, "", None),
    ("m2", "e1", "w1", D - 2 * DAY, "email", "q1"),
    ("m2", "e2", "w1", D - DAY, "email", "q1"),
    ("m2", "e3", "w2", D - DAY, "email", "q1"),
]
CONVERSION_ROWS = [
    ("m1", "v1", "u1", D, 100.0),
    ("m1", "v2", "u1", D + 2 * DAY, 50.0),
    ("m1", "v3", "u2", D, 0.0),
    ("m1", "v4", "u4", D, 30.0),
    ("m2", "z1", "w1", D, 20.0),
]
SPEND_ROWS = [
    ("m1", datetime(2026, 3, 31).date(), "k1", "email", 10.0, 1000, 20),
    ("m1", datetime(2026, 3, 28).date(), "k2", "google_ads", 40.0, 2000, 40),
    ("m1", datetime(2026, 3, 31).date(), "k9", "linkedin", 15.0, 500, 5),
]

TOTALS = {"m1": (4, 180.0), "m2": (1, 20.0)}
RULES = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")


def _decay(*ages_in_days: float, half_life: float = 7.0) -> list[float]:
    weights = [2 ** (-age / half_life) for age in ages_in_days]
    return [w / sum(weights) for w in weights]


# Hand-computed credits per (conversion, touchpoint) for every rule.
V1 = ("a1", "a2", "a3", "a4")  # email > google_ads > x > direct, ages 30 d, 3.5 d, 1 h, 0
ONE_TOUCH = {("v2", "a5"): 1.0, ("v3", None): 1.0}  # every rule gives a one-touch journey everything


def _credits(v1: list[float], v4: list[float], z1: list[float]) -> dict[tuple[str, str | None], float]:
    return {**ONE_TOUCH, **dict(zip([("v1", t) for t in V1], v1)), ("v4", "c1"): v4[0], ("v4", "c2"): v4[1], ("z1", "e1"): z1[0], ("z1", "e2"): z1[1]}


EXPECTED = {
    "first_touch": _credits([1, 0, 0, 0], [1, 0], [1, 0]),
    "last_touch": _credits([0, 0, 0, 1], [0, 1], [0, 1]),
    # v1's last non-direct touch is x (a3); v4 has only direct touches and falls back to its last
    "last_non_direct": _credits([0, 0, 1, 0], [0, 1], [0, 1]),
    "linear": _credits([0.25] * 4, [0.5, 0.5], [0.5, 0.5]),
    "time_decay": _credits(_decay(30, 3.5, 1 / 24, 0), _decay(2, 1), _decay(2, 1)),
    "position_based": _credits([0.4, 0.1, 0.1, 0.4], [0.5, 0.5], [0.5, 0.5]),
}
REVENUE = {"v1": 100.0, "v2": 50.0, "v3": 0.0, "v4": 30.0, "z1": 20.0}


def _raw_frame(table: RawTable, rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=table.polars_schema, orient="row").with_columns(pl.lit(D + 10 * DAY).alias(LOADED_AT))


def _load_raw(warehouse: Warehouse) -> None:
    warehouse.replace_table("raw", "touchpoints", _raw_frame(TOUCHPOINTS, [(*touch, None, None) for touch in TOUCHES]))  # no source, medium
    warehouse.replace_table("raw", "conversions", _raw_frame(CONVERSIONS, CONVERSION_ROWS))
    warehouse.replace_table("raw", "ad_spend", _raw_frame(AD_SPEND, SPEND_ROWS))


def _dbt_build(settings: Settings, work: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings.dbt_env()}
    return subprocess.run(
        [DBT, "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--select", *SELECT],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def _build(settings: Settings, work: Path) -> Warehouse:
    warehouse = open_warehouse(settings)
    _load_raw(warehouse)
    result = _dbt_build(settings, work)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return warehouse


@pytest.fixture(scope="module")
def duckdb_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Warehouse]]:
    home = tmp_path_factory.mktemp("dbt_attribution_duckdb")
    settings = Settings(home=home, warehouse="duckdb")
    yield settings, _build(settings, home)


@pytest.fixture(scope="module")
def postgres_built(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Warehouse]]:
    name = f"co_test_attr_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        home = tmp_path_factory.mktemp("dbt_attribution_postgres")
        settings = Settings(home=home, warehouse="postgres", warehouse_url=f"{pg_server}/{name}")
        yield settings, _build(settings, home)
    finally:
        with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def built(request: pytest.FixtureRequest) -> tuple[Settings, Warehouse]:
    return request.getfixturevalue(f"{request.param}_built")


def _query(warehouse: Warehouse, sql: str) -> list[dict]:
    return warehouse.query(sql).to_dicts()


def test_journeys_follow_lookback_previous_conversion_and_direct_rules(built) -> None:
    _, warehouse = built
    rows = _query(warehouse, "select conversion_id, touchpoint_id, channel, touch_index, touch_count from intermediate.int_conversion_touchpoints order by merchant_id, conversion_id, touch_index")
    journeys: dict[str, list] = {}
    for r in rows:
        journeys.setdefault(r["conversion_id"], []).append((r["touchpoint_id"], r["channel"]))
    assert journeys == {
        "v1": [("a1", "email"), ("a2", "google_ads"), ("a3", "x"), ("a4", "direct")],
        "v2": [("a5", "facebook")],
        "v3": [(None, "direct")],
        "v4": [("c1", "direct"), ("c2", "direct")],
        "z1": [("e1", "email"), ("e2", "email")],
    }
    assert all(r["touch_count"] == len(journeys[r["conversion_id"]]) for r in rows)


def test_paths_aggregate_converting_and_open_journeys(built) -> None:
    _, warehouse = built
    rows = _query(warehouse, "select merchant_id, path, conversions, revenue, non_conversions from intermediate.int_paths_aggregated order by merchant_id, path")
    assert [(r["merchant_id"], r["path"], r["conversions"], r["revenue"], r["non_conversions"]) for r in rows] == [
        ("m1", "direct", 1, 0.0, 0),
        ("m1", "direct > direct", 1, 30.0, 0),
        ("m1", "email", 0, 0.0, 1),
        ("m1", "email > google_ads > x > direct", 1, 100.0, 0),
        ("m1", "email > x", 0, 0.0, 1),
        ("m1", "facebook", 1, 50.0, 0),
        ("m2", "email", 0, 0.0, 1),
        ("m2", "email > email", 1, 20.0, 0),
    ]


@pytest.mark.parametrize("rule", RULES)
def test_rule_credits_match_hand_computed_numbers(built, rule: str) -> None:
    _, warehouse = built
    rows = _query(warehouse, f"select conversion_id, touchpoint_id, credit, attributed_revenue from marts.fct_attribution where model = '{rule}'")
    got = {(r["conversion_id"], r["touchpoint_id"]): r["credit"] for r in rows}
    assert got == pytest.approx(EXPECTED[rule], abs=1e-12)
    for r in rows:
        assert r["attributed_revenue"] == pytest.approx(r["credit"] * REVENUE[r["conversion_id"]], abs=1e-9)


def test_credits_sum_to_one_and_models_conserve_totals(built) -> None:
    _, warehouse = built
    per_conversion = _query(warehouse, "select model, conversion_id, sum(credit) as total from marts.fct_attribution group by model, conversion_id")
    assert len(per_conversion) == len(RULES) * 5
    assert all(r["total"] == pytest.approx(1.0, abs=1e-12) for r in per_conversion)
    for table in ("attribution_by_channel", "attribution_by_campaign", "roi_by_model"):
        sums = _query(warehouse, f"select model, merchant_id, sum(conversions) as conversions, sum(revenue) as revenue from marts.{table} group by model, merchant_id")
        assert len(sums) == len(RULES) * 2, table
        for r in sums:
            assert (r["conversions"], r["revenue"]) == pytest.approx(TOTALS[r["merchant_id"]], rel=1e-9), (table, r)


def test_single_channel_merchant_and_channel_without_conversions(built) -> None:
    _, warehouse = built
    m2 = _query(warehouse, "select model, channel, conversions, revenue from marts.attribution_by_channel where merchant_id = 'm2'")
    assert {(r["model"], r["channel"], r["conversions"], r["revenue"]) for r in m2} == {(rule, "email", 1.0, 20.0) for rule in RULES}
    linkedin = _query(warehouse, "select model, spend, conversions, revenue, roas, roi from marts.roi_by_model where campaign_id = 'k9' order by model")
    assert [(r["spend"], r["conversions"], r["revenue"], r["roas"], r["roi"]) for r in linkedin] == [(15.0, 0.0, 0.0, 0.0, -1.0)] * len(RULES)


def test_roi_by_model_uses_attributed_revenue(built) -> None:
    _, warehouse = built
    rows = _query(warehouse, "select model, campaign_id, channel, spend, conversions, revenue, roas, roi from marts.roi_by_model where merchant_id = 'm1'")
    got = {(r["model"], r["campaign_id"], r["channel"]): r for r in rows}
    # linear: v1's email touch a1 (k1) gets 1/4 of 100
    k1 = got[("linear", "k1", "email")]
    assert (k1["spend"], k1["conversions"], k1["revenue"], k1["roas"], k1["roi"]) == pytest.approx((10.0, 0.25, 25.0, 2.5, 1.5))
    # first touch: k1 gets all of v1
    assert got[("first_touch", "k1", "email")]["revenue"] == pytest.approx(100.0)
    # k4 (facebook) has conversions but no spend: no ratios
    k4 = got[("linear", "k4", "facebook")]
    assert (k4["spend"], k4["conversions"], k4["roas"], k4["roi"]) == (0.0, 1.0, None, None)


def test_campaign_performance_daily_ratios(built) -> None:
    _, warehouse = built
    rows = _query(warehouse, "select * from marts.campaign_performance_daily where merchant_id = 'm1'")
    got = {(r["campaign_id"], r["channel"], r["activity_date"].isoformat()): r for r in rows}
    k1 = got[("k1", "email", "2026-03-31")]
    assert k1["attribution_model"] == "linear"
    assert (k1["impressions"], k1["clicks"], k1["spend"], k1["conversions"], k1["revenue"]) == (1000, 20, 10.0, 0.25, 25.0)
    assert (k1["ctr"], k1["cvr"], k1["cpc"], k1["cpm"], k1["cpa"], k1["roas"], k1["roi"]) == pytest.approx((0.02, 0.0125, 0.5, 10.0, 40.0, 2.5, 1.5))
    k2_spend = got[("k2", "google_ads", "2026-03-28")]  # spend, no conversions that day
    assert (k2_spend["conversions"], k2_spend["cvr"], k2_spend["cpa"], k2_spend["roas"], k2_spend["roi"]) == (0.0, 0.0, None, 0.0, -1.0)
    k2_conv = got[("k2", "google_ads", "2026-03-31")]  # conversions, no spend that day
    assert (k2_conv["spend"], k2_conv["conversions"], k2_conv["ctr"], k2_conv["roas"]) == (0.0, 0.25, None, None)
    v2_day = got[("k4", "facebook", "2026-04-02")]  # v2 converted at D + 2 days
    assert v2_day["conversions"] == 1.0
    assert sum(r["conversions"] for r in rows) == pytest.approx(4.0)
    assert sum(r["revenue"] for r in rows) == pytest.approx(180.0)


def test_all_model_marts_equal_the_rule_based_marts_before_the_python_assets_run(built) -> None:
    """dbt created the Python outputs empty (on-run-start), so the views over them hold the rule-based rows alone."""
    _, warehouse = built
    assert warehouse.count("marts", "fct_attribution_data_driven") == 0
    by_channel = _query(warehouse, "select model, model_family, merchant_id, channel, conversions, revenue from marts.attribution_by_channel_all_models")
    rule = _query(warehouse, "select model, merchant_id, channel, conversions, revenue from marts.attribution_by_channel")
    assert sorted((r["model"], r["merchant_id"], r["channel"], r["conversions"], r["revenue"]) for r in by_channel) == sorted(tuple(r.values()) for r in rule)
    assert {r["model_family"] for r in by_channel} == {"rule_based"}
    roi = _query(warehouse, "select count(*) as n from marts.roi_by_model_all_models")
    assert roi[0]["n"] == warehouse.count("marts", "roi_by_model")
    daily = _query(warehouse, "select model, campaign_id, channel, conversion_date, conversions, revenue from marts.attribution_daily_all_models "
                              "where merchant_id = 'm1' and model = 'linear'")
    # v1 (D) splits 4 ways, v3 (D) is synthetic direct, v4 (D) two direct touches, v2 at D + 2 d on facebook
    expected = {("k1", "email", "2026-03-31"): (0.25, 25.0), ("k2", "google_ads", "2026-03-31"): (0.25, 25.0), ("k3", "x", "2026-03-31"): (0.25, 25.0),
                (None, "direct", "2026-03-31"): (2.25, 55.0), ("k4", "facebook", "2026-04-02"): (1.0, 50.0)}
    got = {(r["campaign_id"], r["channel"], r["conversion_date"].isoformat()): (r["conversions"], r["revenue"]) for r in daily}
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values), key


def test_python_outputs_keep_the_views_over_them(built) -> None:
    """The assets replace the rows of their tables (dropping one would drop the views over it on PostgreSQL)."""
    from assets.attribution import compute

    _, warehouse = built
    row = {"model": "markov", "merchant_id": "m2", "conversion_id": "z1", "touchpoint_id": "e1", "touch_index": 1, "channel": "email",
           "campaign_id": "q1", "touched_at": D - 2 * DAY, "converted_at": D, "credit": 1.0, "attributed_revenue": 20.0}
    credits = pl.DataFrame([row], schema=compute.CREDITS_SCHEMA)
    channels = pl.DataFrame([("markov", "m2", "email", 1.0, 1.0, 20.0)], schema=compute.CHANNELS_SCHEMA, orient="row")
    roi = pl.DataFrame([("markov", "m2", "q1", "email", 0.0, 1.0, 20.0, None, None)], schema=compute.ROI_SCHEMA, orient="row")
    try:
        for _ in range(2):  # a second run replaces the first
            warehouse.replace_contents("marts", "fct_attribution_data_driven", credits)
            warehouse.replace_contents("marts", "attribution_by_channel_data_driven", channels.select("model", "merchant_id", "channel", "conversions", "revenue", "removal_effect"))
            warehouse.replace_contents("marts", "roi_by_model_data_driven", roi)
        for mart in ALL_MODEL_MARTS:
            rows = _query(warehouse, f"select model_family, conversions, revenue from marts.{mart} where model = 'markov'")
            assert [(r["model_family"], r["conversions"], r["revenue"]) for r in rows] == [("data_driven", 1.0, 20.0)], mart
        (day,) = _query(warehouse, "select conversion_date from marts.attribution_daily_all_models where model = 'markov'")
        assert day["conversion_date"].isoformat() == "2026-03-31"
    finally:
        for table, schema in (("fct_attribution_data_driven", compute.CREDITS_SCHEMA), ("attribution_by_channel_data_driven", compute.CHANNELS_SCHEMA),
                              ("roi_by_model_data_driven", compute.ROI_SCHEMA)):
            warehouse.replace_contents("marts", table, compute.empty(schema))
    relations = warehouse.relations()
    assert set(ALL_MODEL_MARTS) <= set(relations.filter(pl.col("schema") == "marts")["name"].to_list())


def test_attribution_assets_and_export_on_the_built_models(duckdb_built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB only: Markov/Shapley on the dbt output, every conservation check, the CSV export."""
    import dagster as dg
    from tests.merchant_runs import materialize_for
    from typer.testing import CliRunner

    from assets.attribution import attribution_assets, attribution_checks
    from campaigns.cli import export_commands
    from campaigns.core.settings import get_settings
    from assets.resources import CampaignsResource

    settings, warehouse = duckdb_built
    resource = CampaignsResource(home=str(settings.home_path))
    fct_check, *model_checks = attribution_checks()
    result = materialize_for([*attribution_assets(), *model_checks], ["m1"], {"campaigns": resource})
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert fct_check(campaigns=resource).passed
    # m2 has a single channel: both data-driven models give email everything
    m2 = _query(warehouse, "select model, channel, conversions, revenue from marts.attribution_by_channel_data_driven where merchant_id = 'm2' order by model")
    assert [(r["model"], r["channel"], r["conversions"], r["revenue"]) for r in m2] == [("markov", "email", 1.0, 20.0), ("shapley", "email", 1.0, 20.0)]
    # the dbt views over every model show the assets' output without another dbt run, with the same figures
    for mart, twin in (("attribution_by_channel_all_models", "attribution_by_channel_data_driven"), ("roi_by_model_all_models", "roi_by_model_data_driven")):
        union = _query(warehouse, f"select model, merchant_id, channel, conversions, revenue from marts.{mart} where model_family = 'data_driven'")
        direct = _query(warehouse, f"select model, merchant_id, channel, conversions, revenue from marts.{twin}")
        key = lambda r: (r["model"], r["merchant_id"], r["channel"], r["conversions"])  # noqa: E731
        assert sorted(union, key=key) == sorted(direct, key=key), mart
    daily = _query(warehouse, "select model, campaign_id, channel, sum(conversions) as conversions, sum(revenue) as revenue from marts.attribution_daily_all_models "
                              "where model_family = 'data_driven' group by 1, 2, 3")
    by_campaign = _query(warehouse, "select model, campaign_id, channel, conversions, revenue from marts.attribution_by_campaign_data_driven")
    summed = {(r["model"], r["campaign_id"], r["channel"]): (r["conversions"], r["revenue"]) for r in daily}
    twin = {(r["model"], r["campaign_id"], r["channel"]): (r["conversions"], r["revenue"]) for r in by_campaign}
    assert summed.keys() == twin.keys() and len(twin) > 0
    for key, values in twin.items():
        assert summed[key] == pytest.approx(values, rel=1e-12), key

    monkeypatch.setenv("CAMPAIGNS_HOME", str(settings.home_path))
    get_settings.cache_clear()
    runner = CliRunner()
    out = tmp_path / "channels.csv"
    done = runner.invoke(export_commands.app, ["attribution", "--level", "campaign", "--merchant", "m1", "--out", str(out)])
    assert done.exit_code == 0, done.output
    exported = pl.read_csv(out)
    assert exported.columns == ["model", "channel", "campaign_id", "conversions", "revenue"]
    totals = exported.group_by("model").agg(pl.col("conversions").sum(), pl.col("revenue").sum()).sort("model")
    assert totals["model"].to_list() == sorted([*RULES, "markov", "shapley"])
    assert totals["conversions"].to_list() == pytest.approx([4.0] * 8)
    assert totals["revenue"].to_list() == pytest.approx([180.0] * 8)

    done = runner.invoke(export_commands.app, ["attribution", "--model", "last_non_direct", "--merchant", "m1", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert dict(pl.read_csv(out).select("channel", "conversions").iter_rows()) == {"x": 1.0, "facebook": 1.0, "direct": 2.0, "email": 0.0, "google_ads": 0.0}

    roi_out = tmp_path / "roi.csv"
    done = runner.invoke(export_commands.app, ["roi", "--merchant", "m1", "--out", str(roi_out)])
    assert done.exit_code == 0, done.output
    assert pl.read_csv(roi_out).columns == ["model", "campaign_id", "channel", "spend", "conversions", "revenue", "roas", "roi"]

    for args, message in [
        (["attribution", "--model", "mystery", "--out", str(out)], "unknown model"),
        (["attribution", "--merchant", "nobody", "--out", str(out)], "no attribution rows for merchant 'nobody'"),
        (["roi", "--merchant", "m1", "--out", str(tmp_path / "missing" / "roi.csv")], "does not exist"),
        (["roi", "--merchant", "m1", "--out", str(tmp_path)], "is a folder"),
    ]:
        done = runner.invoke(export_commands.app, args)
        assert done.exit_code == 2, (args, done.output)
        assert message in done.output, done.output

    monkeypatch.setenv("CAMPAIGNS_HOME", str(tmp_path / "never_built"))
    get_settings.cache_clear()
    done = runner.invoke(export_commands.app, ["roi", "--out", str(roi_out)])
    assert done.exit_code == 2 and "campaigns build" in done.output, done.output
    get_settings.cache_clear()


def test_bad_conversion_input_is_stopped_or_normalised_before_dbt(tmp_path: Path) -> None:
    """The journeys rely on the import boundary: duplicate conversion ids never reach raw (the
    import rejects them; stg_conversions has a unique test as a backstop) and timestamps
    without a zone arrive as UTC, so the dbt models need no zone handling."""
    from campaigns.warehouse.validate import ImportValidationError, validate_file

    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text("conversion_id,user_id,converted_at,revenue\nv1,u1,2026-03-31T12:00:00Z,10\nv1,u2,2026-03-31T13:00:00Z,0\n")
    with pytest.raises(ImportValidationError, match="duplicate conversion_id 'v1'"):
        validate_file(duplicate, "conversions", "m1")

    naive = tmp_path / "naive.csv"
    naive.write_text("conversion_id,user_id,converted_at,revenue\nv1,u1,2026-03-31 12:00:00,0\n")
    validated = validate_file(naive, "conversions", "m1")
    assert validated.frame["converted_at"].to_list() == [D]
    assert validated.frame["revenue"].to_list() == [0.0]  # zero revenue is a conversion like any other
