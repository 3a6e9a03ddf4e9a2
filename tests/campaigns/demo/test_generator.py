"""Demo data: deterministic, consistent with its documented truth, valid against the import contract."""

import hashlib
from datetime import date

import polars as pl

from campaigns.demo import truth
from campaigns.demo.generator import generate
from campaigns.warehouse.schema import AD_SPEND, CONVERSIONS, TOUCHPOINTS

AS_OF = date(2026, 11, 24)


def test_same_seed_same_data_and_other_seed_differs() -> None:
    a, b, c = generate("demo", 7, AS_OF), generate("demo", 7, AS_OF), generate("demo", 8, AS_OF)
    for name in (TOUCHPOINTS.name, CONVERSIONS.name, AD_SPEND.name):
        assert a.tables[name].equals(b.tables[name])
    assert not a.tables[CONVERSIONS.name].equals(c.tables[CONVERSIONS.name])


def test_shape_of_the_demo_merchant() -> None:
    data = generate("demo", 7, AS_OF)
    assert len(data.campaigns) == 20
    spend = data.tables[AD_SPEND.name]
    assert set(spend["channel"].unique()) == {c.name for c in truth.CHANNELS}
    assert spend["date"].min() >= date(2026, 8, 27) and spend["date"].max() <= AS_OF
    touches = data.tables[TOUCHPOINTS.name]
    assert touches["touchpoint_id"].is_unique().all()
    assert 100_000 < touches.height < 200_000
    # every converting user has a touchpoint before converting
    conv = data.tables[CONVERSIONS.name]
    first_touch = touches.group_by("user_id").agg(pl.col("touched_at").min())
    joined = conv.join(first_touch, on="user_id", how="left")
    assert joined["touched_at"].null_count() == 0
    assert (joined["converted_at"] > joined["touched_at"]).all()
    # touches per spend row equal the clicks recorded in the spend table
    per_row = touches.filter(pl.col("campaign_id").is_not_null()).height
    assert per_row == spend["clicks"].sum()


def test_channel_effects_are_recoverable_from_the_data() -> None:
    """Users touched only by google_ads convert far more often than users touched only by x (truth: 5% vs 0.8%)."""
    data = generate("demo", 7, AS_OF)
    touches = data.tables[TOUCHPOINTS.name]
    converted = set(data.tables[CONVERSIONS.name]["user_id"].to_list())
    single = touches.group_by("user_id").agg(pl.col("channel").n_unique().alias("n"), pl.col("channel").first(), pl.len().alias("touches"))
    single = single.filter((pl.col("n") == 1) & (pl.col("touches") == 1))
    rates = {
        ch: single.filter(pl.col("channel") == ch)["user_id"].is_in(list(converted)).mean()
        for ch in ("google_ads", "x")
    }
    assert rates["google_ads"] > 3 * rates["x"]
    assert abs(rates["google_ads"] - 0.05) < 0.02


def test_bench_scale_adds_channels_without_generating() -> None:
    from campaigns.demo.generator import SCALES

    bench = SCALES["bench"]
    assert len(truth.CHANNELS) + len(bench.extra_channels) >= 10


def _digest(frame: pl.DataFrame) -> str:
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()[:16]


def test_demo_scale_output_is_unchanged() -> None:
    """The demo's rows, in their order, are exactly those the hidden-truth tests were written against.

    The digests were taken from the generator before the large scale (streamed) was added; a
    change here changes every demo-scale figure, so it must be deliberate."""
    data = generate("demo", 7, date(2026, 6, 30))
    digests = {name: (frame.height, _digest(frame)) for name, frame in sorted(data.tables.items())}
    assert digests == {
        "ad_spend": (1302, "b074a81d9baf6a35"),
        "conversions": (3558, "1555544acc35aa5d"),
        "email_events": (2891, "320b4be99ce04d74"),
        "social_posts": (220, "e0cfc5a721f2b122"),
        "touchpoints": (136058, "def9bc955041dfe0"),
    }
    assert _digest(data.contacts) == "600b1a2297a83c18"
    campaigns = "\n".join(f"{c.campaign_id}|{c.name}|{c.type}|{c.status}|{','.join(c.channels)}|{c.start}|{c.end}|{c.budget}" for c in data.campaigns)
    assert hashlib.sha256(campaigns.encode()).hexdigest()[:16] == "3fe8bad748e25dc6"
