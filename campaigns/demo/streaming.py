"""The large demo scale (about 10M users, 50M touchpoints), drawn in chunks so memory stays bounded.

Same generating truth as the in-memory scales (campaigns.demo.generator): touches per
campaign-day from the channel curves, each touch given to a user active around its day, a
user converting with probability 1 - prod(1 - effect) over their touches. What differs is
the order of the draws: every day of touches and every block of users has its own random
stream (keyed by the seed and the day or block), so the rows do not depend on how they are
grouped into chunks, and no chunk needs another's rows.

Touchpoints come day by day (a day's touches sorted by time, numbered after the days
before); a user's journey spans days, so what conversions need is summed per user as the
days pass (log of the chance of not converting, last touch time: 16 bytes a user). Then
conversions come block of users by block. Peak memory is those two arrays plus one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from campaigns.demo import truth
from campaigns.demo.rows import JOURNEY_DAYS, touchpoint_text_columns
from campaigns.warehouse.schema import CONVERSIONS, TOUCHPOINTS

DAYS_PER_CHUNK = 5  # about 2.8M touchpoints a chunk at the large scale
USERS_PER_BLOCK = 1 << 20  # one random stream per block of users for their conversions
BLOCKS_PER_CHUNK = 1

# keys of the random streams, after the seed: one family for touch days, one for user blocks
_TOUCH_STREAM, _CONVERSION_STREAM = 1, 2


class Journeys:
    """Touchpoints day by day, then conversions per block of users (which need every day first)."""

    def __init__(self, merchant_id: str, seed: int, spend: pl.DataFrame, channels: tuple[truth.ChannelTruth, ...], first_day: date,
                 as_of: date, direct_per_day: np.ndarray, touches_per_user: float, days_per_chunk: int, users_per_block: int,
                 blocks_per_chunk: int):
        self.merchant_id = merchant_id
        self.seed = seed
        self.first_day = first_day
        self.days_per_chunk = days_per_chunk
        self.users_per_block = users_per_block
        self.blocks_per_chunk = blocks_per_chunk
        self.spend = spend.with_columns(((pl.col("date") - pl.lit(first_day)).dt.total_days()).alias("day"))
        self.direct_per_day = direct_per_day
        total = int(self.spend["clicks"].sum()) + int(direct_per_day.sum())
        self.user_count = max(1, int(total / touches_per_user))
        self.epoch0_us = int(datetime.combine(first_day, datetime.min.time(), UTC).timestamp()) * 1_000_000
        # a conversion whose delay lands after the as-of day has not happened yet
        self.end_us = int(datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC).timestamp()) * 1_000_000
        self.names = [c.name for c in channels]
        self.campaigns = sorted(set(spend["campaign_id"]))
        # code len(names) is a direct visit
        self.log_keep = np.log1p(-np.array([c.effect for c in channels] + [truth.DIRECT_EFFECT]))
        self._log_no_conversion: np.ndarray | None = None
        self._last_touch: np.ndarray | None = None
        self._touches_done = False

    @property
    def touchpoint_chunks(self) -> int:
        return -(-truth.DAYS // self.days_per_chunk)

    @property
    def conversion_chunks(self) -> int:
        return -(-self.user_count // (self.users_per_block * self.blocks_per_chunk))

    def touchpoints(self) -> Iterator[pl.DataFrame]:
        self._log_no_conversion = np.zeros(self.user_count)
        self._last_touch = np.zeros(self.user_count, dtype=np.int64)  # 0: never touched (every touch is after 1970)
        self._touches_done = False
        numbered = 0
        for first in range(0, truth.DAYS, self.days_per_chunk):
            frames = []
            for day in range(first, min(first + self.days_per_chunk, truth.DAYS)):
                frame = self._day(day, numbered)
                numbered += frame.height
                frames.append(frame)
            chunk = pl.concat(frames).with_columns(*touchpoint_text_columns(), pl.lit(self.merchant_id).alias("merchant_id"))
            yield chunk.select(TOUCHPOINTS.column_names)
        self._touches_done = True

    def _day(self, day: int, numbered: int) -> pl.DataFrame:
        rows = self.spend.filter(pl.col("day") == day)
        clicks = rows["clicks"].to_numpy()
        code = np.repeat(np.array([self.names.index(c) for c in rows["channel"]], dtype=np.int64), clicks)
        campaign = np.repeat(np.array([self.campaigns.index(c) for c in rows["campaign_id"]], dtype=np.int64), clicks)
        n_direct = int(self.direct_per_day[day])
        code = np.concatenate([code, np.full(n_direct, len(self.names))])
        campaign = np.concatenate([campaign, np.full(n_direct, -1)])
        rng = np.random.default_rng([self.seed, _TOUCH_STREAM, day])
        touched_at = self.epoch0_us + (day * 86_400 + rng.integers(0, 86_400, code.size)) * 1_000_000
        # users active around the day, as in generator._users_near: journeys are days long, not months
        per_day = self.user_count / truth.DAYS
        user = ((np.floor(day * per_day) + rng.integers(0, max(1, int(per_day * JOURNEY_DAYS)), code.size)) % self.user_count).astype(np.int64)
        order = np.lexsort((user, touched_at))  # by time, then user: the ids follow this order
        code, campaign, touched_at, user = code[order], campaign[order], touched_at[order], user[order]
        np.add.at(self._log_no_conversion, user, self.log_keep[code])
        np.maximum.at(self._last_touch, user, touched_at)
        return pl.DataFrame(
            {
                "n": np.arange(numbered, numbered + code.size, dtype=np.int64),
                "user_n": user,
                "touched_at": pl.Series(touched_at).cast(pl.Datetime("us", "UTC")),
                # codes to names in polars: a direct visit (no channel, no campaign) becomes null
                "channel": pl.Series(code).replace_strict(dict(enumerate(self.names)), default=None, return_dtype=pl.String),
                "campaign_id": pl.Series(campaign).replace_strict(dict(enumerate(self.campaigns)), default=None, return_dtype=pl.String),
            }
        )

    def conversions(self) -> Iterator[pl.DataFrame]:
        if not self._touches_done:
            raise RuntimeError("conversions follow from every touchpoint: consume touchpoints() to the end first")
        step = self.users_per_block * self.blocks_per_chunk
        for start in range(0, self.user_count, step):
            frames = [self._block(b) for b in range(start // self.users_per_block, -(-min(start + step, self.user_count) // self.users_per_block))]
            yield pl.concat(frames).with_columns(pl.lit(self.merchant_id).alias("merchant_id")).select(CONVERSIONS.column_names)

    def _block(self, block: int) -> pl.DataFrame:
        lo, hi = block * self.users_per_block, min((block + 1) * self.users_per_block, self.user_count)
        rng = np.random.default_rng([self.seed, _CONVERSION_STREAM, block])
        last = self._last_touch[lo:hi]
        chance = -np.expm1(self._log_no_conversion[lo:hi])  # 1 - prod(1 - effect)
        users = lo + np.flatnonzero((last > 0) & (rng.random(hi - lo) < chance))
        n = users.size
        delay_us = (rng.exponential(truth.CONVERSION_DELAY_HOURS * 3600, n) * 1e6).astype(np.int64) + 60_000_000
        revenue = np.round(rng.lognormal(truth.REVENUE_LOG_MEAN, truth.REVENUE_LOG_SD, n), 2)
        converted_at = self._last_touch[users] + delay_us
        keep = converted_at < self.end_us
        frame = pl.DataFrame({"user_n": users[keep], "converted_at": converted_at[keep], "revenue": revenue[keep]})
        return frame.select(
            ("cv_" + pl.col("user_n").cast(pl.String).str.zfill(8)).alias("conversion_id"),
            ("u_" + pl.col("user_n").cast(pl.String).str.zfill(8)).alias("user_id"),
            pl.col("converted_at").cast(pl.Datetime("us", "UTC")),
            pl.col("revenue").cast(pl.Float64),
        )

