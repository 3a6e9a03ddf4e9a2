"""Predicted performance from the marts' posting history, or null with the reason."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agents.leo.performance import NoHistory, PostHistory, warehouse_history
from agents.leo.repurpose import repurpose
from agents.source import read_post
from campaigns.core.settings import Settings


def _warehouse(home: Path) -> Settings:
    """The serving snapshot of the two marts the history reads (the app's view of the warehouse)."""
    settings = Settings(home=home)
    serving = home / "serving"
    serving.mkdir(parents=True, exist_ok=True)
    rows = [("acme", f"p{i}", "x", 1000 + 100 * i, 10 + i) for i in range(9)] + [("acme", "l1", "linkedin", 500, 5), ("other", "o1", "x", 9, 9)]
    pl.DataFrame(rows, schema=["merchant_id", "post_id", "platform", "impressions", "clicks"], orient="row").write_parquet(serving / "social_post_history.parquet")
    events = [("acme", "k1", "opened", 120), ("acme", "k2", "opened", 80), ("acme", "k1", "clicked", 30), ("acme", "k1", "purchased", 4), ("other", "k9", "opened", 7)]
    pl.DataFrame(events, schema=["merchant_id", "campaign_id", "event_type", "events"], orient="row").write_parquet(serving / "email_engagement_daily.parquet")
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


def test_the_email_estimate_names_the_hour_with_the_most_clicks(tmp_path: Path) -> None:
    settings = _warehouse(tmp_path / "home")
    cells = [("acme", 0, 9, 40, 6), ("acme", 2, 18, 30, 9), ("acme", 4, 7, 50, 9), ("other", 5, 5, 99, 99)]  # (merchant, weekday, hour, opens, clicks)
    pl.DataFrame(cells, schema=["merchant_id", "event_weekday", "event_hour", "opens", "clicks"], orient="row").write_parquet(
        settings.home_path / "serving" / "email_engagement_by_hour.parquet")
    email, _ = warehouse_history(settings, "acme").predict("email")
    # 9 clicks twice: Friday 07h has more opens (50 > 30); "other" is another merchant
    assert (email["best_weekday_utc"], email["best_hour_utc"]) == (4, 7) and email["expected"] == 0.15
