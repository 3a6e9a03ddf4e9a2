"""The Markov and Shapley assets on a small hand-made warehouse, against numbers worked out
by hand below (not by the library under test).

Merchant m, aggregated paths:
    a > a > b   1 conversion (revenue 100), 0 non-conversions   (conversion v1: touches t1 a, t2 a, t3 b)
    a           0 conversions, 1 non-conversion
    b           1 conversion (revenue 50), 1 non-conversion       (conversion v3: touch t4 b)
Merchant n: email, 2 conversions (w1 10, w2 20), 3 non-conversions (a single channel).
Merchant z: only non-converting journeys (nothing to attribute).

Markov (order 1) over the 4 journeys of m: start -> a 2/4, start -> b 2/4; a -> a 1/3,
a -> b 1/3, a -> null 1/3; b -> conversion 2/3, b -> null 1/3. From a the chain reaches b
with probability 1/2 (the self-loop only delays), so P(conv) = 1/2 * 1/2 * 2/3 + 1/2 * 2/3 = 1/2.
Without a: 1/2 * 2/3 = 1/3 -> removal effect 1 - (1/3)/(1/2) = 1/3. Without b: 0 -> 1.
Global split of 2 conversions / 150 revenue in proportion 1/3 : 1 -> a 0.5 / 37.5, b 1.5 / 112.5.
Per path: a > a > b splits 1/3 : 1 -> a 1/4, b 3/4; a's quarter is shared by its two touches.

Shapley over channel sets of m: v({a,b}) = 1/1, v({a}) = 0/1, v({b}) = 1/2.
phi_a = 1/2 (v(a) - 0) + 1/2 (v(ab) - v(b)) = 1/4, phi_b = 1/2 v(b) + 1/2 (v(ab) - v(a)) = 3/4,
so v1 gives a 1/4 and b 3/4 as in Markov's per-path split, v3 gives b 1:
a 0.25 conversions / 25 revenue, b 1.75 / 125.

Spend: ka (a) 10, kb (b) 100, kz (c, never touched) 5. Touch campaigns: t1 ka, t2 ka2,
t3 kb, t4 kb. Both models: kb 1.75 conversions, 125 revenue -> roas 1.25, roi 0.25;
ka 0.125 / 12.5 -> roas 1.25, roi 0.25; kz 0 / 0 -> roas 0, roi -1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.attribution import attribution_assets, attribution_checks, compute
from assets.attribution.checks import fct_attribution_conserves
from campaigns.warehouse.connection import DuckDBWarehouse
from campaigns.warehouse.staleness import data_driven_staleness
from assets.dbt_project import DBT_PROJECT_DIR
from assets.resources import CampaignsResource
from tests.merchant_runs import materialize_for

T0 = datetime(2026, 3, 31, 12, tzinfo=UTC)

PATHS = pl.DataFrame(
    {
        "merchant_id": ["m", "m", "m", "n", "z"],
        "path": ["a > a > b", "a", "b", "email", "x > email"],
        "conversions": [1, 0, 1, 2, 0],
        "revenue": [100.0, 0.0, 50.0, 30.0, 0.0],
        "non_conversions": [0, 1, 1, 3, 4],
    }
)

JOURNEYS = pl.DataFrame(
    [
        ("m", "v1", "t1", 1, "a", "ka", T0, T0, 100.0),
        ("m", "v1", "t2", 2, "a", "ka2", T0, T0, 100.0),
        ("m", "v1", "t3", 3, "b", "kb", T0, T0, 100.0),
        ("m", "v3", "t4", 1, "b", "kb", T0, T0, 50.0),
        ("n", "w1", "e1", 1, "email", None, T0, T0, 10.0),
        ("n", "w2", "e2", 1, "email", None, T0, T0, 20.0),
    ],
    schema=compute.JOURNEYS_SCHEMA,
    orient="row",
)

SPEND = pl.DataFrame(
    [("m", "ka", "a", 10.0), ("m", "kb", "b", 60.0), ("m", "kb", "b", 40.0), ("m", "kz", "c", 5.0)],
    schema=compute.SPEND_SCHEMA,
    orient="row",
)

CONVERSIONS = pl.DataFrame(
    [("m", "v1", 100.0), ("m", "v3", 50.0), ("n", "w1", 10.0), ("n", "w2", 20.0)],
    schema={"merchant_id": pl.String, "conversion_id": pl.String, "revenue": pl.Float64},
    orient="row",
)


def _warehouse(home: Path, paths: pl.DataFrame = PATHS, journeys: pl.DataFrame = JOURNEYS, conversions: pl.DataFrame = CONVERSIONS) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(home / "warehouse.duckdb")
    warehouse.replace_table("intermediate", "int_paths_aggregated", paths)
    warehouse.replace_table("intermediate", "int_conversion_touchpoints", journeys)
    warehouse.replace_table("staging", "stg_ad_spend", SPEND)
    warehouse.replace_table("staging", "stg_conversions", conversions)
    return warehouse


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBWarehouse, dg.ExecuteInProcessResult]:
    home = tmp_path_factory.mktemp("attribution_home")
    warehouse = _warehouse(home)
    checks = [c for c in attribution_checks() if c is not fct_attribution_conserves]  # fct_attribution is a dbt asset
    result = materialize_for([*attribution_assets(), *checks], ["m", "n", "z"], {"campaigns": CampaignsResource(home=str(home))})
    return warehouse, result


def _rows(warehouse: DuckDBWarehouse, table: str, order: str) -> list[dict]:
    return warehouse.query(f"select * from marts.{table} order by {order}").to_dicts()


def test_markov_channels_match_hand_computed_removal_effects(materialized) -> None:
    warehouse, result = materialized
    assert result.success
    rows = _rows(warehouse, "attribution_markov_channels", "merchant_id, channel")
    got = {(r["merchant_id"], r["channel"]): (r["removal_effect"], r["conversions"], r["revenue"]) for r in rows}
    assert set(got) == {("m", "a"), ("m", "b"), ("n", "email")}  # z has no conversions: no rows
    assert got[("m", "a")] == pytest.approx((1 / 3, 0.5, 37.5), rel=1e-9)
    assert got[("m", "b")] == pytest.approx((1.0, 1.5, 112.5), rel=1e-9)
    assert got[("n", "email")] == pytest.approx((1.0, 2.0, 30.0), rel=1e-9)


def test_markov_credits_split_paths_by_removal_effect_and_share_repeated_touches(materialized) -> None:
    warehouse, _ = materialized
    rows = _rows(warehouse, "attribution_markov_credits", "merchant_id, conversion_id, touch_index")
    got = {(r["conversion_id"], r["touchpoint_id"]): (r["credit"], r["attributed_revenue"]) for r in rows}
    assert got == {
        ("v1", "t1"): pytest.approx((0.125, 12.5)),
        ("v1", "t2"): pytest.approx((0.125, 12.5)),
        ("v1", "t3"): pytest.approx((0.75, 75.0)),
        ("v3", "t4"): pytest.approx((1.0, 50.0)),
        ("w1", "e1"): pytest.approx((1.0, 10.0)),
        ("w2", "e2"): pytest.approx((1.0, 20.0)),
    }
    assert {r["model"] for r in rows} == {"markov"}
    assert [r["campaign_id"] for r in rows[:3]] == ["ka", "ka2", "kb"]


def test_shapley_matches_hand_computed_values(materialized) -> None:
    warehouse, _ = materialized
    channels = _rows(warehouse, "attribution_shapley_channels", "merchant_id, channel")
    got = {(r["merchant_id"], r["channel"]): (r["conversions"], r["revenue"]) for r in channels}
    assert got == {("m", "a"): pytest.approx((0.25, 25.0)), ("m", "b"): pytest.approx((1.75, 125.0)), ("n", "email"): pytest.approx((2.0, 30.0))}
    assert all(r["removal_effect"] is None for r in channels)
    credits = _rows(warehouse, "attribution_shapley_credits", "merchant_id, conversion_id, touch_index")
    assert [(r["touchpoint_id"], round(r["credit"], 12)) for r in credits] == [
        ("t1", 0.125), ("t2", 0.125), ("t3", 0.75), ("t4", 1.0), ("e1", 1.0), ("e2", 1.0)
    ]


def test_data_driven_marts_have_the_dbt_marts_columns_and_roi(materialized) -> None:
    warehouse, _ = materialized
    fct = warehouse.query("select * from marts.fct_attribution_data_driven")
    assert fct.columns == list(compute.CREDITS_SCHEMA)
    assert fct.group_by("model").len().sort("model").rows() == [("markov", 6), ("shapley", 6)]
    roi = _rows(warehouse, "roi_by_model_data_driven", "model, merchant_id, campaign_id nulls last, channel")
    got = {(r["model"], r["merchant_id"], r["campaign_id"], r["channel"]): (r["spend"], r["conversions"], r["revenue"], r["roas"], r["roi"]) for r in roi}
    for model in ("markov", "shapley"):
        assert got[(model, "m", "kb", "b")] == pytest.approx((100.0, 1.75, 125.0, 1.25, 0.25))
        assert got[(model, "m", "ka", "a")] == pytest.approx((10.0, 0.125, 12.5, 1.25, 0.25))
        assert got[(model, "m", "ka2", "a")] == (0.0, pytest.approx(0.125), pytest.approx(12.5), None, None)
        assert got[(model, "m", "kz", "c")] == (5.0, 0.0, 0.0, 0.0, -1.0)
        assert got[(model, "n", None, "email")] == (0.0, pytest.approx(2.0), pytest.approx(30.0), None, None)
    by_channel = _rows(warehouse, "attribution_by_channel_data_driven", "model, merchant_id, channel")
    assert [(r["model"], r["channel"], round(r["conversions"], 9)) for r in by_channel if r["merchant_id"] == "m"] == [
        ("markov", "a", 0.5), ("markov", "b", 1.5), ("shapley", "a", 0.25), ("shapley", "b", 1.75)
    ]


def test_conservation_checks_pass_and_metadata_is_reported(materialized) -> None:
    _, result = materialized
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_key.path[0] for e in evaluations} == {"markov_attribution", "shapley_attribution", "data_driven_attribution"}
    assert all(e.passed for e in evaluations), [e.description for e in evaluations]
    materializations = {e.asset_key.path[0]: e.step_materialization_data.materialization.metadata for e in result.get_asset_materialization_events()}
    assert materializations["markov_attribution"]["dagster/row_count"].value == 6
    assert materializations["markov_attribution"]["conversions"].value == 4
    assert "| markov | m | b |" in materializations["markov_attribution"]["preview"].value


def test_conservation_check_fails_on_lost_credit(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    resource = CampaignsResource(home=str(tmp_path))
    rows = [
        ("first_touch", "m", "v1", "t1", 1, "a", "ka", T0, T0, 1.0, 100.0),
        ("first_touch", "m", "v3", "t4", 1, "b", "kb", T0, T0, 0.5, 25.0),  # half of v3 lost
        ("first_touch", "n", "w1", "e1", 1, "email", None, T0, T0, 1.0, 10.0),
        ("first_touch", "n", "w2", "e2", 1, "email", None, T0, T0, 1.0, 20.0),
    ]
    warehouse.replace_table("marts", "fct_attribution", pl.DataFrame(rows, schema=compute.CREDITS_SCHEMA, orient="row"))
    outcome = fct_attribution_conserves(campaigns=resource)
    assert not outcome.passed
    # the lost half of v3 is reported, and so are the five rule models that wrote nothing
    assert outcome.metadata["failures"].value == 1 + 5 * 2
    assert "off" in outcome.description


def test_no_conversions_gives_empty_typed_tables_and_passing_checks(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path, paths=PATHS.filter(pl.col("merchant_id") == "z"), journeys=JOURNEYS.clear(), conversions=CONVERSIONS.clear())
    checks = [c for c in attribution_checks() if c is not fct_attribution_conserves]
    result = materialize_for([*attribution_assets(), *checks], ["z"], {"campaigns": CampaignsResource(home=str(tmp_path))})
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    credits = warehouse.query("select * from marts.fct_attribution_data_driven")
    assert credits.height == 0
    assert credits.schema["credit"] == pl.Float64 and credits.schema["converted_at"] == pl.Datetime("us", "UTC")
    assert warehouse.count("marts", "roi_by_model_data_driven") == 3 * 2  # spend of ka, kb, kz for each model


def test_touch_credits_refuse_journeys_from_another_build() -> None:
    _, key_credits = compute.markov_results(PATHS)
    stale = JOURNEYS.with_columns(pl.when(pl.col("touchpoint_id") == "t4").then(pl.lit("email")).otherwise(pl.col("channel")).alias("channel"))
    with pytest.raises(ValueError, match="rebuild the dbt models"):
        compute.touch_credits("markov", stale, key_credits)


def test_asset_dependencies_are_dbt_models() -> None:
    for asset in attribution_assets():
        for key in asset.dependency_keys:
            name = key.path[-1]
            if name.endswith("_attribution"):
                continue
            assert list(DBT_PROJECT_DIR.glob(f"models/**/{name}.sql")), f"{name} is not a dbt model"


def test_data_driven_attribution_stamps_its_build_after_writing(materialized) -> None:
    warehouse, _ = materialized
    stamps = warehouse.query("select family, built_at from marts.build_stamps").rows()
    assert [family for family, _ in stamps] == ["data_driven"]
    (_, built_at), = stamps
    assert built_at.tzinfo is None and abs((datetime.now(UTC).replace(tzinfo=None) - built_at).total_seconds()) < 3600
    assert data_driven_staleness(warehouse.query) is None  # no rule-based stamp here (dbt did not run): nothing to compare
