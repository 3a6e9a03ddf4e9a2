"""Validation and encoding of aggregated paths."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from campaigns.attribution import DIRECT, PathCount, aggregate_paths


def _frame(rows):
    return pl.DataFrame(
        {
            "path": [list(r[0]) if r[0] is not None else None for r in rows],
            "conversions": [r[1] for r in rows],
            "revenue": [r[2] for r in rows],
            "non_conversions": [r[3] for r in rows],
        },
        schema={
            "path": pl.List(pl.String),
            "conversions": pl.Int64,
            "revenue": pl.Float64,
            "non_conversions": pl.Int64,
        },
    )


def test_polars_and_pathcount_inputs_agree():
    rows = [(("b", "a", "b"), 2, 5.0, 1), (("a",), 0, 0.0, 4), (("c", "a"), 1, 2.5, 0)]
    from_frame = aggregate_paths(_frame(rows))
    from_records = aggregate_paths([PathCount(*r) for r in rows])
    assert from_frame.channels == from_records.channels == ("a", "b", "c")
    assert from_frame.paths() == from_records.paths() == [r[0] for r in rows]
    for name in ("flat", "offsets", "conversions", "revenue", "non_conversions"):
        np.testing.assert_array_equal(getattr(from_frame, name), getattr(from_records, name))


def test_empty_and_null_paths_become_direct_and_duplicates_merge():
    rows = [((), 1, 3.0, 2), (None, 0, 0.0, 5), (("a", "b"), 1, 1.0, 0), (("a", "b"), 2, 2.0, 1)]
    ap = aggregate_paths(_frame(rows))
    assert ap.paths() == [(DIRECT,), ("a", "b")]
    assert ap.conversions.tolist() == [1, 3]
    assert ap.non_conversions.tolist() == [7, 1]
    assert ap.revenue.tolist() == [3.0, 3.0]


def test_a_null_path_becomes_direct_without_an_empty_one():
    # the rewrite runs only when a path is null or empty: a null alone must trigger it
    ap = aggregate_paths(_frame([(None, 1, 1.0, 0), (("a",), 0, 0.0, 1)]))
    assert ap.paths() == [(DIRECT,), ("a",)]
    assert ap.channels == tuple(sorted(("a", DIRECT)))


def test_rows_without_journeys_are_dropped():
    ap = aggregate_paths([PathCount(("a",), 1, 1.0, 0), PathCount(("z",), 0, 0.0, 0)])
    assert ap.channels == ("a",)
    assert ap.n_paths == 1


def test_integral_float_counts_accepted():
    df = _frame([(("a",), 1, 1.0, 2)]).with_columns(pl.col("conversions").cast(pl.Float64))
    assert aggregate_paths(df).conversions.tolist() == [1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "no paths given"),
        (_frame([]), "no paths given"),
        (pl.DataFrame({"path": [["a"]], "conversions": [1]}), "missing column"),
        ([PathCount(("a",), 0, 0.0, 0)], "no journeys"),
        ([PathCount(("a",), -1, 0.0, 3)], "negative"),
        ([PathCount(("a",), 1, 1.0, -2)], "negative"),
        ([PathCount(("a",), 1, -1.0, 0)], "negative"),
        ([PathCount(("a",), 1, float("nan"), 0)], "non-finite"),
        ([PathCount(("a",), 0, 5.0, 3)], "revenue but no conversions"),
        ([PathCount(("a",), 1.5, 1.0, 0)], "whole numbers"),
        ([PathCount(("a", None), 1, 1.0, 0)], "null channel"),
    ],
)
def test_invalid_input_raises_clear_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        aggregate_paths(data)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"revenue.*non_conversions"):
        aggregate_paths(pl.DataFrame({"path": [["a"]], "conversions": [1]}))


def test_string_path_is_rejected():
    with pytest.raises(TypeError, match="not a string"):
        aggregate_paths([PathCount("a > b", 1, 1.0, 0)])  # type: ignore[arg-type]


def test_round_trip_to_polars():
    rows = [(("x", "y"), 3, 9.0, 1), (("y",), 0, 0.0, 2)]
    out = aggregate_paths(_frame(rows)).to_polars()
    assert out["path"].to_list() == [["x", "y"], ["y"]]
    assert out["conversions"].to_list() == [3, 0]


def test_unique_paths_are_kept_as_given_and_order_matters():
    # already unique (the warehouse's case): nothing merged, rows keep their order and values
    rows = [(("a", "b"), 1, 4.0, 2), (("b", "a"), 2, 6.0, 0), (("a",), 0, 0.0, 3)]
    ap = aggregate_paths(_frame(rows))
    assert ap.paths() == [("a", "b"), ("b", "a"), ("a",)]
    assert ap.conversions.tolist() == [1, 2, 0]
    assert ap.revenue.tolist() == [4.0, 6.0, 0.0]
    assert ap.flat.tolist() == [0, 1, 1, 0, 0]
