"""Predicted performance from the warehouse's posting history, or null with the reason."""

from __future__ import annotations

from pathlib import Path

import duckdb

from agents.leo.performance import NoHistory, PostHistory, warehouse_history
from agents.leo.repurpose import repurpose
from agents.source import read_post
from campaigns.core.settings import Settings


def _warehouse(home: Path) -> Settings:
    settings = Settings(home=home)
    home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.social_posts (merchant_id varchar, post_id varchar, platform varchar, impressions bigint, clicks bigint)")
        rows = [("acme", f"p{i}", "x", 1000 + 100 * i, 10 + i) for i in range(9)] + [("acme", "l1", "linkedin", 500, 5), ("other", "o1", "x", 9, 9)]
        con.executemany("insert into raw.social_posts values (?, ?, ?, ?, ?)", rows)
        con.execute("create table raw.email_events (merchant_id varchar, event_type varchar)")
        con.executemany("insert into raw.email_events values (?, ?)", [("acme", "opened")] * 200 + [("acme", "clicked")] * 30)
    return settings


def test_history_gives_the_middle_half_of_past_posts(tmp_path: Path) -> None:
    history = warehouse_history(_warehouse(tmp_path / "home"), "acme")
    x, reason = history.predict("x")
    assert reason is None and x == {"metric": "clicks_per_post", "expected": 14.0, "low": 12.0, "high": 16.0, "impressions_expected": 1400,
                                    "basis": "median and middle half of 9 past x posts"}
    linkedin, why = history.predict("linkedin")
    assert linkedin is None and "1 past linkedin posts" in why
    email, _ = history.predict("email")
    assert email["expected"] == 0.15
    ads, why = history.predict("ads")
    assert ads is None and "bids" in why


def test_without_a_warehouse_the_prediction_is_null_with_the_reason(tmp_path: Path, posts_dir: Path, offline_settings) -> None:
    history = warehouse_history(Settings(home=tmp_path / "empty"), "acme")
    assert isinstance(history, NoHistory)
    result = repurpose(read_post(posts_dir / "short.md"), ["x"], 1, settings=offline_settings, history=history)
    out = result.to_dict()["outputs"][0]
    assert out["predicted_performance"] is None and "campaigns build" in out["prediction_note"]
    result = repurpose(read_post(posts_dir / "short.md"), ["x"], 1, settings=offline_settings,
                       history=PostHistory({"x": [(100.0, 3.0)] * 6}))
    assert result.outputs[0].predicted_performance["expected"] == 3.0
