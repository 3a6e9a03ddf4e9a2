"""Landing a table that arrives in chunks: one file, the same name and rows as landing it whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from campaigns.warehouse.landing import landing_files, write_landing, write_landing_stream
from campaigns.warehouse.schema import CONVERSIONS

START = datetime(2026, 6, 1, tzinfo=UTC)


def _conversions(first: int, n: int, merchant: str = "m") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "merchant_id": [merchant] * n,
            "conversion_id": [f"cv_{i:05d}" for i in range(first, first + n)],
            "user_id": [f"u_{i % 37:05d}" for i in range(first, first + n)],
            "converted_at": [START + timedelta(minutes=i) for i in range(first, first + n)],
            "revenue": [round(10 + i * 0.37, 2) for i in range(first, first + n)],
        }
    )


def test_chunks_land_as_one_file_named_like_the_whole(tmp_path: Path) -> None:
    chunks = [_conversions(0, 500), _conversions(500, 0), _conversions(500, 1234), _conversions(1734, 7)]
    streamed, written, rows = write_landing_stream(tmp_path / "a", CONVERSIONS, "m", iter(chunks))
    whole, _ = write_landing(tmp_path / "b", CONVERSIONS, pl.concat(chunks))
    assert written and rows == 1741
    assert streamed.name.split("-", 1)[1] == whole.name.split("-", 1)[1]  # same digest after the time stamp
    assert pl.read_parquet(streamed).equals(pl.read_parquet(whole))
    assert landing_files(tmp_path / "a", CONVERSIONS) == [streamed]
    # the same rows again, chunked differently: the earlier file is reused, nothing new is written
    again, written_again, _ = write_landing_stream(tmp_path / "a", CONVERSIONS, "m", iter([pl.concat(chunks)]))
    assert (again, written_again) == (streamed, False)
    assert landing_files(tmp_path / "a", CONVERSIONS) == [streamed]
    assert not list((tmp_path / "a").rglob("*.tmp"))


def test_a_failing_stream_leaves_no_file_behind(tmp_path: Path) -> None:
    def chunks():
        yield _conversions(0, 100)
        raise RuntimeError("generator broke")

    with pytest.raises(RuntimeError, match="generator broke"):
        write_landing_stream(tmp_path, CONVERSIONS, "m", chunks())
    with pytest.raises(ValueError, match="one merchant"):
        write_landing_stream(tmp_path, CONVERSIONS, "m", iter([_conversions(0, 10), _conversions(10, 10, merchant="other")]))
    with pytest.raises(ValueError, match="no rows"):
        write_landing_stream(tmp_path, CONVERSIONS, "m", iter([_conversions(0, 0)]))
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
