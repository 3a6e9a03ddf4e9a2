"""Row formats and journey shape shared by the in-memory scales (generator) and the streamed one (streaming)."""

from __future__ import annotations

import polars as pl

JOURNEY_DAYS = 7  # a user's touches fall within about a week, as in real consideration cycles

SOURCE_MEDIUM = {
    "email": ("newsletter", "email"), "x": ("x.com", "social"), "linkedin": ("linkedin.com", "social"),
    "facebook": ("facebook.com", "social"), "instagram": ("instagram.com", "social"), "google_ads": ("google", "cpc"),
    "meta_ads": ("facebook", "paid_social"), "bing_ads": ("bing", "cpc"), "sms": ("sms", "sms"),
}


def touchpoint_text_columns() -> list[pl.Expr]:
    """touchpoint_id, user_id, source and medium from the row number `n`, `user_n` and `channel`."""
    return [
        ("tp_" + pl.col("n").cast(pl.String).str.zfill(9)).alias("touchpoint_id"),
        ("u_" + pl.col("user_n").cast(pl.String).str.zfill(8)).alias("user_id"),
        pl.when(pl.col("channel").is_null()).then(pl.lit("(direct)"))
        .otherwise(pl.col("channel").replace_strict({k: v[0] for k, v in SOURCE_MEDIUM.items()}, default=pl.col("channel")))
        .alias("source"),
        pl.when(pl.col("channel").is_null()).then(pl.lit("(none)"))
        .otherwise(pl.col("channel").replace_strict({k: v[1] for k, v in SOURCE_MEDIUM.items()}, default=pl.lit("referral")))
        .alias("medium"),
    ]
