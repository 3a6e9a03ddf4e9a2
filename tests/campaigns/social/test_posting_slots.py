"""The posting history behind the best-slot heatmap comes from the served marts, never from raw tables."""

from datetime import UTC, datetime
from types import SimpleNamespace

import polars as pl

from campaigns.core.settings import Settings
from campaigns.social.posting_slots import account_heatmap, posting_history


def test_history_is_read_from_the_snapshot_of_social_post_history(tmp_path) -> None:
    settings = Settings(home=tmp_path, warehouse="duckdb")
    account = SimpleNamespace(id=7, platform="x", timezone="UTC")
    history, note = posting_history(settings, "m", account)
    assert history.height == 0 and "no warehouse yet" in note

    serving = tmp_path / "serving"
    serving.mkdir()
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    pl.DataFrame(
        [("m", 7, "x", at, 100, 1, 0, 2), ("m", 8, "x", at, 999, 9, 9, 9), ("m", 7, "linkedin", at, 5, 0, 0, 0), ("other", 7, "x", at, 7, 7, 7, 7)],
        schema={"merchant_id": pl.String, "account_id": pl.Int64, "platform": pl.String, "posted_at": pl.Datetime("us", "UTC"),
                "impressions": pl.Int64, "likes": pl.Int64, "shares": pl.Int64, "clicks": pl.Int64},
        orient="row",
    ).write_parquet(serving / "social_post_history.parquet")
    history, note = posting_history(settings, "m", account)
    assert note == "" and history.rows() == [(at, 100, 1, 0, 2)]
    heatmap, note = account_heatmap(settings, "m", account)
    assert note == "" and heatmap.posts == 1


def test_a_snapshot_without_the_mart_falls_back_with_a_note(tmp_path) -> None:
    settings = Settings(home=tmp_path, warehouse="duckdb")
    (tmp_path / "serving").mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "serving" / "overview_daily.parquet")
    history, note = posting_history(settings, "m", SimpleNamespace(id=7, platform="x", timezone="UTC"))
    assert history.height == 0 and "no posting history" in note
