"""Reading the served marts: the Parquet snapshots on the embedded default."""

import polars as pl
import pytest

from campaigns.core.settings import Settings
from campaigns.warehouse.serving import MartsUnavailable, query_marts, serving_dir


def test_marts_are_read_from_the_snapshots_with_question_mark_params(tmp_path) -> None:
    settings = Settings(home=tmp_path, warehouse="duckdb")
    with pytest.raises(MartsUnavailable):
        query_marts(settings, "select 1 from marts.social_post_history")
    serving_dir(settings).mkdir(parents=True)
    pl.DataFrame({"merchant_id": ["a", "b"], "clicks": [3, 4]}).write_parquet(serving_dir(settings) / "social_post_history.parquet")
    assert not settings.duckdb_path.exists()  # the live warehouse is never opened
    assert query_marts(settings, "select clicks from marts.social_post_history where merchant_id = ?", ["b"]).rows() == [(4,)]
