"""Synthetic demo merchant: campaigns, spend, journeys, contacts, social history, blog posts.

Deterministic for a given seed and as-of date. Vectorised with numpy so the bench scale
(about 1M users and 5M touchpoints) takes seconds, not minutes. The large scale (10x bench)
is drawn in chunks by campaigns.demo.streaming instead, to keep memory bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from campaigns.demo import streaming, truth
from campaigns.demo.rows import JOURNEY_DAYS, touchpoint_text_columns
from campaigns.core.enums import CampaignStatus, CampaignType
from campaigns.warehouse.schema import AD_SPEND, CONVERSIONS, EMAIL_EVENTS, SOCIAL_POSTS, TOUCHPOINTS, RawTable

DEMO_MERCHANT = "demo"
DEMO_MERCHANT_NAME = "Juniper & Finch Outdoor"

# Extra channels only at bench scale, to reach the 10-20 channels attribution is benchmarked on.
BENCH_EXTRA_CHANNELS = (
    truth.ChannelTruth("tiktok_ads", 180.0, 220.0, 0.012, 7.0, (40.0, 300.0)),
    truth.ChannelTruth("youtube_ads", 120.0, 260.0, 0.010, 12.0, (50.0, 300.0)),
    truth.ChannelTruth("bing_ads", 90.0, 150.0, 0.045, 20.0, (30.0, 200.0)),
    truth.ChannelTruth("pinterest", 80.0, 120.0, 0.009, 5.0, (20.0, 120.0)),
    truth.ChannelTruth("affiliate", 60.0, 200.0, 0.030, 4.0, (20.0, 200.0)),
    truth.ChannelTruth("sms", 100.0, 30.0, 0.035, 3.0, (10.0, 50.0)),
    truth.ChannelTruth("display", 220.0, 300.0, 0.004, 3.0, (50.0, 400.0)),
)


@dataclass(frozen=True)
class Scale:
    name: str
    touch_multiplier: float
    contacts: int
    extra_channels: tuple[truth.ChannelTruth, ...] = ()
    touches_per_user: float = truth.TOUCHES_PER_USER
    # Touchpoints and conversions drawn in chunks and written as they come (campaigns.demo.streaming),
    # so memory does not grow with the row count; the other tables are small and made in memory.
    streamed: bool = False


SCALES = {
    "demo": Scale("demo", touch_multiplier=1.0, contacts=400),
    "bench": Scale("bench", touch_multiplier=40.0, contacts=20_000, extra_channels=BENCH_EXTRA_CHANNELS, touches_per_user=5.0),
    # 10x bench: about 10M users and 50M touchpoints, too many to hold in memory as frames
    "large": Scale("large", touch_multiplier=400.0, contacts=20_000, extra_channels=BENCH_EXTRA_CHANNELS, touches_per_user=5.0, streamed=True),
}

CAMPAIGN_NAMES = (
    "Spring trail launch", "Summit newsletter push", "Weekend warrior sale", "Rain shell retargeting",
    "Camp kitchen webinar", "Alpine boots teaser", "Members early access", "Back to trails",
    "Gift guide preview", "Cold weather layering", "Hydration pack promo", "Trail running series",
    "Family camping bundle", "Repair and reuse week", "Night hike community", "Autumn colours contest",
    "Ultralight tent drop", "Loyalty win-back", "Holiday countdown", "Year in the wild recap",
)
TIMEZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney")


@dataclass
class DemoCampaign:
    campaign_id: str
    name: str
    type: CampaignType
    status: CampaignStatus
    channels: list[str]
    start: datetime | None
    end: datetime | None
    budget: float | None


@dataclass(frozen=True)
class StreamedTable:
    """A landed table produced chunk by chunk: `frames()` yields `chunks` frames, to be written as they come."""

    table: RawTable
    chunks: int
    frames: Callable[[], Iterator[pl.DataFrame]]


@dataclass
class DemoData:
    as_of: date
    seed: int
    scale: Scale
    campaigns: list[DemoCampaign]
    contacts: pl.DataFrame
    accounts: list[dict]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    streams: list[StreamedTable] = field(default_factory=list)  # in the order they must be consumed

    def frame(self, table: RawTable) -> pl.DataFrame:
        return self.tables[table.name]


def generate(scale: str = "demo", seed: int = 7, as_of: date | None = None) -> DemoData:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    spec = SCALES[scale]
    as_of = as_of or datetime.now(UTC).date()
    if spec.streamed:
        return generate_streamed(spec, seed, as_of)
    rng = np.random.default_rng(seed)
    channels = truth.CHANNELS + spec.extra_channels
    first_day = as_of - timedelta(days=truth.DAYS - 1)

    campaigns = _campaigns(rng, channels, first_day, as_of)
    spend = _spend(rng, campaigns, channels, first_day, as_of, spec)
    touchpoints, user_count = _touchpoints(rng, spend, channels, first_day, spec)
    # a conversion whose delay lands after the as-of day has not happened yet: drop it, so no mart shows future days
    end_of_day = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
    conversions = _conversions(rng, touchpoints, channels, user_count).filter(pl.col("converted_at") < end_of_day)
    contacts = _contacts(rng, spec)
    accounts = demo_accounts()
    data = DemoData(as_of, seed, spec, campaigns, contacts, accounts)
    data.tables = {
        TOUCHPOINTS.name: touchpoints.with_columns(pl.lit(DEMO_MERCHANT).alias("merchant_id")).select(TOUCHPOINTS.column_names),
        CONVERSIONS.name: conversions.with_columns(pl.lit(DEMO_MERCHANT).alias("merchant_id")).select(CONVERSIONS.column_names),
        AD_SPEND.name: spend.with_columns(pl.lit(DEMO_MERCHANT).alias("merchant_id")).select(AD_SPEND.column_names),
        EMAIL_EVENTS.name: _email_events(rng, contacts, campaigns, first_day),
        SOCIAL_POSTS.name: _social_posts(rng, accounts, campaigns, first_day, as_of),
    }
    return data


def generate_streamed(spec: Scale, seed: int, as_of: date, days_per_chunk: int = streaming.DAYS_PER_CHUNK,
                      users_per_block: int = streaming.USERS_PER_BLOCK, blocks_per_chunk: int = streaming.BLOCKS_PER_CHUNK) -> DemoData:
    """The demo merchant at a streamed scale: small tables in memory, touchpoints and conversions as streams.

    Nothing big is drawn here; the streams draw their rows as they are consumed (touchpoints first)."""
    rng = np.random.default_rng(seed)
    channels = truth.CHANNELS + spec.extra_channels
    first_day = as_of - timedelta(days=truth.DAYS - 1)
    campaigns = _campaigns(rng, channels, first_day, as_of)
    spend = _spend(rng, campaigns, channels, first_day, as_of, spec)
    n_paid = int(spend["clicks"].sum())
    n_direct = int(n_paid * truth.DIRECT_SHARE / (1 - truth.DIRECT_SHARE))
    direct_per_day = rng.multinomial(n_direct, np.full(truth.DAYS, 1 / truth.DAYS))  # direct visits spread evenly over the days
    journeys = streaming.Journeys(DEMO_MERCHANT, seed, spend, channels, first_day, as_of, direct_per_day, spec.touches_per_user,
                                  days_per_chunk, users_per_block, blocks_per_chunk)
    contacts = _contacts(rng, spec)
    accounts = demo_accounts()
    data = DemoData(as_of, seed, spec, campaigns, contacts, accounts)
    data.tables = {
        AD_SPEND.name: spend.with_columns(pl.lit(DEMO_MERCHANT).alias("merchant_id")).select(AD_SPEND.column_names),
        EMAIL_EVENTS.name: _email_events(rng, contacts, campaigns, first_day),
        SOCIAL_POSTS.name: _social_posts(rng, accounts, campaigns, first_day, as_of),
    }
    data.streams = [
        StreamedTable(TOUCHPOINTS, journeys.touchpoint_chunks, journeys.touchpoints),
        StreamedTable(CONVERSIONS, journeys.conversion_chunks, journeys.conversions),
    ]
    return data


def demo_accounts() -> list[dict]:
    return [
        {"id": i + 1, "platform": p, "handle": f"juniperfinch_{p}", "timezone": tz}
        for i, (p, tz) in enumerate([("x", "America/New_York"), ("linkedin", "America/Chicago"), ("facebook", "America/New_York"), ("instagram", "America/Los_Angeles")])
    ]


def _campaigns(rng: np.random.Generator, channels: tuple[truth.ChannelTruth, ...], first_day: date, as_of: date) -> list[DemoCampaign]:
    names = [c.name for c in channels]
    out: list[DemoCampaign] = []
    types = list(CampaignType)
    for i, name in enumerate(CAMPAIGN_NAMES):
        n_channels = int(rng.integers(1, 4))
        picked = sorted(rng.choice(names, size=n_channels, replace=False).tolist())
        if i < len(names):  # every channel appears in at least one campaign
            picked = sorted(set(picked) | {names[i]})
        if i >= 18:  # two drafts that have not started: no dates on one, no spend
            start = datetime.combine(as_of + timedelta(days=10 + i), datetime.min.time(), UTC) if i == 19 else None
            end = start + timedelta(days=30) if start else None
            out.append(DemoCampaign(f"cmp_demo_{i + 1:02d}", name, types[i % 3], CampaignStatus.DRAFT, picked, start, end, 5000.0 if start else None))
            continue
        offset = int(rng.integers(0, truth.DAYS - 10))
        length = int(rng.integers(14, 61))
        if i == 17:  # one scheduled for next week
            offset, length = truth.DAYS + 6, 30
        start = datetime.combine(first_day + timedelta(days=offset), datetime.min.time(), UTC)
        end = start + timedelta(days=length)
        if end.date() < as_of:
            status = CampaignStatus.COMPLETED
        elif start.date() > as_of:
            status = CampaignStatus.SCHEDULED
        else:
            status = CampaignStatus.PAUSED if i == 5 else CampaignStatus.ACTIVE
        daily = sum(float(rng.uniform(*c.daily_spend)) for c in channels if c.name in picked)
        out.append(DemoCampaign(f"cmp_demo_{i + 1:02d}", name, types[i % 3], status, picked, start, end, round(daily * length * 1.1, -2)))
    return out


def _spend(rng, campaigns, channels, first_day: date, as_of: date, spec: Scale) -> pl.DataFrame:
    by_name = {c.name: c for c in channels}
    rows: dict[str, list] = {k: [] for k in ("date", "campaign_id", "channel", "spend", "impressions", "clicks")}
    for campaign in campaigns:
        if campaign.start is None or campaign.status is CampaignStatus.DRAFT:
            continue
        last = min(campaign.end.date(), as_of)
        days = (last - campaign.start.date()).days + 1
        if days <= 0:
            continue
        dates = [campaign.start.date() + timedelta(days=d) for d in range(days)]
        for name in campaign.channels:
            ch = by_name[name]
            level = rng.uniform(*ch.daily_spend)
            spend = np.round(level * rng.uniform(0.3, 1.7, size=days), 2)
            expected = spec.touch_multiplier * ch.touch_a * (1 - np.exp(-spend / ch.touch_b))
            clicks = rng.poisson(expected)
            impressions = np.maximum(clicks, np.round(spend / ch.cpm * 1000 * rng.uniform(0.85, 1.15, size=days))).astype(np.int64)
            rows["date"] += dates
            rows["campaign_id"] += [campaign.campaign_id] * days
            rows["channel"] += [name] * days
            rows["spend"] += spend.tolist()
            rows["impressions"] += impressions.tolist()
            rows["clicks"] += clicks.tolist()
    return pl.DataFrame(rows, schema={"date": pl.Date, "campaign_id": pl.String, "channel": pl.String, "spend": pl.Float64, "impressions": pl.Int64, "clicks": pl.Int64})


def _touchpoints(rng, spend: pl.DataFrame, channels, first_day: date, spec: Scale) -> tuple[pl.DataFrame, int]:
    clicks = spend["clicks"].to_numpy()
    row = np.repeat(np.arange(spend.height), clicks)
    day_index = (spend["date"].to_numpy().astype("datetime64[D]") - np.datetime64(first_day, "D")).astype(np.int64)[row]
    channel = spend["channel"].to_numpy()[row]
    campaign = spend["campaign_id"].to_numpy()[row]
    n_paid = row.size
    n_direct = int(n_paid * truth.DIRECT_SHARE / (1 - truth.DIRECT_SHARE))
    day_index = np.concatenate([day_index, rng.integers(0, truth.DAYS, n_direct)])
    channel = np.concatenate([channel, np.full(n_direct, None, dtype=object)])
    campaign = np.concatenate([campaign, np.full(n_direct, None, dtype=object)])
    total = n_paid + n_direct
    user_count = max(1, int(total / spec.touches_per_user))
    seconds = day_index * 86_400 + rng.integers(0, 86_400, total)
    epoch0 = int(datetime.combine(first_day, datetime.min.time(), UTC).timestamp())
    frame = pl.DataFrame(
        {
            "user_n": _users_near(rng, day_index, user_count),
            "touched_at": (epoch0 + seconds) * 1_000_000,
            "channel": pl.Series(channel, dtype=pl.String),
            "campaign_id": pl.Series(campaign, dtype=pl.String),
        }
    ).with_columns(pl.col("touched_at").cast(pl.Datetime("us", "UTC")))
    frame = frame.sort("touched_at", "user_n").with_row_index("n")
    frame = frame.with_columns(*touchpoint_text_columns())
    return frame.select("touchpoint_id", "user_id", "touched_at", "channel", "campaign_id", "source", "medium", "user_n"), user_count



def _users_near(rng: np.random.Generator, day_index: np.ndarray, user_count: int) -> np.ndarray:
    """Give each touch a user who is active around its day, so journeys are days long, not months."""
    per_day = user_count / truth.DAYS
    start = np.floor(day_index * per_day)
    return ((start + rng.integers(0, max(1, int(per_day * JOURNEY_DAYS)), day_index.size)) % user_count).astype(np.int64)


def _conversions(rng, touchpoints: pl.DataFrame, channels, user_count: int) -> pl.DataFrame:
    effects = {c.name: c.effect for c in channels}
    log_keep = touchpoints["channel"].replace_strict(effects, default=truth.DIRECT_EFFECT, return_dtype=pl.Float64).fill_null(truth.DIRECT_EFFECT)
    users = touchpoints["user_n"].to_numpy()
    log_no_conversion = np.bincount(users, weights=np.log1p(-log_keep.to_numpy()), minlength=user_count)
    touched = np.bincount(users, minlength=user_count) > 0
    converts = touched & (rng.random(user_count) < 1 - np.exp(log_no_conversion))
    last_touch = touchpoints.group_by("user_n").agg(pl.col("touched_at").max()).sort("user_n")
    last_touch = last_touch.filter(pl.col("user_n").is_in(np.flatnonzero(converts).tolist()))
    n = last_touch.height
    delay_us = (rng.exponential(truth.CONVERSION_DELAY_HOURS * 3600, n) * 1e6).astype(np.int64) + 60_000_000
    revenue = np.round(rng.lognormal(truth.REVENUE_LOG_MEAN, truth.REVENUE_LOG_SD, n), 2)
    return last_touch.with_columns(
        ("cv_" + pl.col("user_n").cast(pl.String).str.zfill(8)).alias("conversion_id"),
        ("u_" + pl.col("user_n").cast(pl.String).str.zfill(8)).alias("user_id"),
        (pl.col("touched_at") + pl.Series(delay_us).cast(pl.Duration("us"))).alias("converted_at"),
        pl.Series("revenue", revenue),
    ).select("conversion_id", "user_id", "converted_at", "revenue")


FIRST_NAMES = ("Ada", "Bo", "Cleo", "Dev", "Esme", "Finn", "Gus", "Hana", "Ivo", "June", "Kai", "Lior", "Mina", "Noor", "Otto", "Pia")


def _contacts(rng, spec: Scale) -> pl.DataFrame:
    n = spec.contacts
    zones = rng.choice(TIMEZONES, n)
    # Each contact has a habitual local hour at which they read mail: the truth send-time
    # optimisation should recover.
    preferred = rng.choice([7, 8, 9, 12, 13, 18, 19, 20, 21], n)
    return pl.DataFrame(
        {
            "contact_id": np.arange(1, n + 1),
            "email": [f"{FIRST_NAMES[i % len(FIRST_NAMES)].lower()}.{i:05d}@example.com" for i in range(n)],
            "first_name": [FIRST_NAMES[i % len(FIRST_NAMES)] for i in range(n)],
            "timezone": zones,
            "preferred_hour": preferred,
            "engagement": rng.beta(2, 5, n),
        }
    )


def _email_events(rng, contacts: pl.DataFrame, campaigns: list[DemoCampaign], first_day: date) -> pl.DataFrame:
    from zoneinfo import ZoneInfo

    email_campaigns = [c.campaign_id for c in campaigns if "email" in c.channels and c.start is not None]
    rows: dict[str, list] = {"event_id": [], "contact_id": [], "campaign_id": [], "event_type": [], "occurred_at": []}
    n_sends = 12
    for contact in contacts.iter_rows(named=True):
        zone = ZoneInfo(contact["timezone"])
        for k in range(n_sends):
            if rng.random() > contact["engagement"] + 0.15:
                continue
            day = first_day + timedelta(days=int(k * 7 + rng.integers(0, 7)))
            hour = int(np.clip(rng.normal(contact["preferred_hour"], 1.0), 0, 23))
            local = datetime(day.year, day.month, day.day, hour, int(rng.integers(0, 60)), tzinfo=zone)
            campaign = email_campaigns[k % len(email_campaigns)] if email_campaigns else None
            for event, chance, lag in (("opened", 1.0, 0), ("clicked", 0.35, 3), ("purchased", 0.06, 40)):
                if rng.random() > chance:
                    break
                rows["event_id"].append(f"ev_{contact['contact_id']:06d}_{k:02d}_{event[0]}")
                rows["contact_id"].append(contact["contact_id"])
                rows["campaign_id"].append(campaign)
                rows["event_type"].append(event)
                rows["occurred_at"].append((local + timedelta(minutes=lag)).astimezone(UTC))
    return pl.DataFrame(rows, schema={k: v for k, v in EMAIL_EVENTS.polars_schema.items() if k != "merchant_id"}).with_columns(
        pl.lit(DEMO_MERCHANT).alias("merchant_id")
    ).select(EMAIL_EVENTS.column_names)


# Local hours at which each platform's audience engages most (the truth of the best-time heatmap).
PEAK_HOURS = {"x": (8, 12, 17), "linkedin": (8, 9, 12), "facebook": (13, 19, 20), "instagram": (11, 19, 21)}


def _social_posts(rng, accounts: list[dict], campaigns: list[DemoCampaign], first_day: date, as_of: date) -> pl.DataFrame:
    from zoneinfo import ZoneInfo

    rows: dict[str, list] = {k: [] for k in ("post_id", "account_id", "platform", "campaign_id", "posted_at", "impressions", "likes", "shares", "clicks")}
    social = {c.campaign_id: c for c in campaigns if c.start is not None}
    for account in accounts:
        zone = ZoneInfo(account["timezone"])
        peaks = PEAK_HOURS[account["platform"]]
        for d in range((as_of - first_day).days + 1):
            if rng.random() < 0.35:
                continue
            day = first_day + timedelta(days=d)
            hour = int(rng.integers(6, 23))
            local = datetime(day.year, day.month, day.day, hour, int(rng.integers(0, 60)), tzinfo=zone)
            boost = 2.2 if hour in peaks else (1.4 if any(abs(hour - p) == 1 for p in peaks) else 1.0)
            boost *= 1.25 if local.weekday() < 5 else 0.8
            impressions = int(rng.poisson(800 * boost))
            likes = int(rng.binomial(impressions, 0.03 * min(boost, 2.0)))
            running = [cid for cid, c in social.items() if account["platform"] in c.channels and c.start.date() <= day <= c.end.date()]
            rows["post_id"].append(f"post_{account['platform']}_{d:03d}")
            rows["account_id"].append(account["id"])
            rows["platform"].append(account["platform"])
            rows["campaign_id"].append(running[0] if running else None)
            rows["posted_at"].append(local.astimezone(UTC))
            rows["impressions"].append(impressions)
            rows["likes"].append(likes)
            rows["shares"].append(int(rng.binomial(likes, 0.15)))
            rows["clicks"].append(int(rng.binomial(impressions, 0.01 * boost)))
    return pl.DataFrame(rows, schema={k: v for k, v in SOCIAL_POSTS.polars_schema.items() if k != "merchant_id"}).with_columns(
        pl.lit(DEMO_MERCHANT).alias("merchant_id")
    ).select(SOCIAL_POSTS.column_names)
