"""The streamed (large) demo scale, exercised at tiny sizes: chunking never changes the rows."""

from dataclasses import replace
from datetime import UTC, date, datetime

import polars as pl
import pytest

from campaigns.core.settings import get_settings
from campaigns.demo import truth
from campaigns.demo.generator import SCALES, generate, generate_streamed
from campaigns.demo.writer import write_demo
from campaigns.warehouse.landing import landing_files
from campaigns.warehouse.schema import AD_SPEND, CONVERSIONS, TOUCHPOINTS

AS_OF = date(2026, 6, 30)
# the large scale's shape (14 channels + direct, 5 touches a user) at a tiny size: about 12k touchpoints
TINY = replace(SCALES["large"], name="tiny", touch_multiplier=0.1, contacts=30)


def _streams(days_per_chunk: int, users_per_block: int, blocks_per_chunk: int, seed: int = 7) -> tuple[list[pl.DataFrame], list[pl.DataFrame], object]:
    data = generate_streamed(TINY, seed, AS_OF, days_per_chunk=days_per_chunk, users_per_block=users_per_block, blocks_per_chunk=blocks_per_chunk)
    touches_stream, conversions_stream = data.streams
    assert (touches_stream.table, conversions_stream.table) == (TOUCHPOINTS, CONVERSIONS)
    touches = list(touches_stream.frames())
    conversions = list(conversions_stream.frames())
    assert (len(touches), len(conversions)) == (touches_stream.chunks, conversions_stream.chunks)
    return touches, conversions, data


def test_chunk_boundaries_give_the_same_rows_as_one_chunk() -> None:
    one_t, one_c, _ = _streams(days_per_chunk=truth.DAYS, users_per_block=400, blocks_per_chunk=1000)
    many_t, many_c, _ = _streams(days_per_chunk=7, users_per_block=400, blocks_per_chunk=3)
    assert (len(one_t), len(one_c)) == (1, 1)
    assert len(many_t) == 13 and len(many_c) > 1
    assert pl.concat(many_t).equals(one_t[0])
    assert pl.concat(many_c).equals(one_c[0])
    # a chunk per day and a chunk per block of users: still the same rows
    day_t, block_c, _ = _streams(days_per_chunk=1, users_per_block=400, blocks_per_chunk=1)
    assert len(day_t) == truth.DAYS
    assert pl.concat(day_t).equals(one_t[0]) and pl.concat(block_c).equals(one_c[0])


def test_same_seed_same_rows_and_another_seed_differs() -> None:
    a_t, a_c, _ = _streams(10, 400, 2)
    b_t, b_c, _ = _streams(10, 400, 2)
    c_t, c_c, _ = _streams(10, 400, 2, seed=8)
    assert pl.concat(a_t).equals(pl.concat(b_t)) and pl.concat(a_c).equals(pl.concat(b_c))
    assert not pl.concat(a_c).equals(pl.concat(c_c))


def test_streamed_rows_follow_the_generating_truth() -> None:
    touches_chunks, conversion_chunks, data = _streams(5, 400, 2)
    touches, conversions = pl.concat(touches_chunks), pl.concat(conversion_chunks)
    spend = data.tables[AD_SPEND.name]
    assert touches.columns == TOUCHPOINTS.column_names and conversions.columns == CONVERSIONS.column_names
    assert touches["touchpoint_id"].is_unique().all() and conversions["conversion_id"].is_unique().all()
    # ids are numbered in time order across chunks
    assert touches["touchpoint_id"].is_sorted() and touches["touched_at"].is_sorted()
    # touches per campaign equal the clicks of the spend table; direct visits are about 10% of all
    per_campaign = touches.filter(pl.col("campaign_id").is_not_null()).group_by("campaign_id").len().sort("campaign_id")
    clicks = spend.group_by("campaign_id").agg(pl.col("clicks").sum().cast(pl.UInt32).alias("len")).filter(pl.col("len") > 0).sort("campaign_id")
    assert per_campaign.equals(clicks)
    direct = touches["channel"].null_count() / touches.height
    assert abs(direct - truth.DIRECT_SHARE) < 0.01
    assert set(touches.filter(pl.col("channel").is_null())["source"]) == {"(direct)"}
    # every conversion follows its user's last touch and happens by the end of the as-of day
    last = touches.group_by("user_id").agg(pl.col("touched_at").max().alias("last"))
    joined = conversions.join(last, on="user_id", how="left")
    assert joined["last"].null_count() == 0
    assert (joined["converted_at"] > joined["last"]).all()
    assert joined["converted_at"].max() < datetime(2026, 7, 1, tzinfo=UTC)
    # about 5 touches a user, users active around a week
    users = touches["user_id"].n_unique()
    assert 4 < touches.height / users < 7


def test_channel_effects_are_recoverable_from_streamed_rows() -> None:
    """As in the in-memory demo: single-touch google_ads users convert far more often than x users (truth 5% vs 0.8%)."""
    spec = replace(TINY, touch_multiplier=1.0)
    data = generate_streamed(spec, 7, AS_OF)
    touches = pl.concat(list(data.streams[0].frames()))
    converted = pl.concat(list(data.streams[1].frames()))["user_id"]
    single = touches.group_by("user_id").agg(pl.len().alias("touches"), pl.col("channel").first())
    single = single.filter(pl.col("touches") == 1).with_columns(pl.col("user_id").is_in(converted.implode()).alias("converted"))
    rates = {ch: single.filter(pl.col("channel") == ch)["converted"].mean() for ch in ("google_ads", "x")}
    assert rates["google_ads"] > 3 * rates["x"]
    assert abs(rates["google_ads"] - 0.05) < 0.02


def test_conversions_need_every_touchpoint_first() -> None:
    data = generate_streamed(TINY, 7, AS_OF)
    with pytest.raises(RuntimeError, match="touchpoints"):
        next(data.streams[1].frames())
    touches = data.streams[0].frames()
    next(touches)  # a touchpoint pass left half way does not count either
    with pytest.raises(RuntimeError, match="touchpoints"):
        next(data.streams[1].frames())


def test_the_large_scale_is_streamed_and_draws_nothing_big_up_front() -> None:
    data = generate("large", 7, AS_OF)
    assert [s.table for s in data.streams] == [TOUCHPOINTS, CONVERSIONS]
    assert TOUCHPOINTS.name not in data.tables and CONVERSIONS.name not in data.tables
    # about 50M touchpoints in chunks of a few million, 10M users in blocks of about 1M
    assert data.streams[0].chunks == 18 and 9 <= data.streams[1].chunks <= 11


def test_write_demo_lands_each_streamed_table_as_one_file(home) -> None:
    settings = get_settings()
    data = generate_streamed(TINY, 7, AS_OF, days_per_chunk=10, users_per_block=300, blocks_per_chunk=1)
    reported: list[str] = []
    counts = write_demo(settings, data, progress=reported.append)
    touches = landing_files(settings.landing_dir, TOUCHPOINTS)
    conversions = landing_files(settings.landing_dir, CONVERSIONS)
    assert len(touches) == 1 and len(conversions) == 1
    expected_t, expected_c, _ = _streams(truth.DAYS, 300, 1000)
    assert pl.read_parquet(touches[0]).equals(expected_t[0])
    assert pl.read_parquet(conversions[0]).equals(expected_c[0])
    assert counts[TOUCHPOINTS.name] == expected_t[0].height and counts[CONVERSIONS.name] == expected_c[0].height
    assert "touchpoints (9/9)" in reported and f"conversions ({data.streams[1].chunks}/{data.streams[1].chunks})" in reported
