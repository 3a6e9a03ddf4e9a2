"""The generating truth of the demo data: what analytics should recover.

Every channel has a concave touch curve, touches(spend) = a * (1 - exp(-spend / b)) per
campaign-day, and a per-touch conversion effect p: a user converts with probability
1 - prod(1 - p_c) over the touches in their journey. These numbers are written next to
the data (TRUTH.md, truth.json) so attribution and response curves can be checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ChannelTruth:
    name: str
    touch_a: float  # saturation: most touches a campaign-day can buy
    touch_b: float  # spend scale: spend at which 63% of the saturation is reached
    effect: float  # probability that one touch from this channel converts the user
    cpm: float  # cost per thousand impressions, to derive impressions from spend
    daily_spend: tuple[float, float]  # range of a campaign's typical daily spend


CHANNELS: tuple[ChannelTruth, ...] = (
    ChannelTruth("email", touch_a=260.0, touch_b=40.0, effect=0.040, cpm=2.0, daily_spend=(10.0, 60.0)),
    ChannelTruth("x", touch_a=90.0, touch_b=120.0, effect=0.008, cpm=6.5, daily_spend=(20.0, 150.0)),
    ChannelTruth("linkedin", touch_a=70.0, touch_b=220.0, effect=0.020, cpm=30.0, daily_spend=(40.0, 300.0)),
    ChannelTruth("facebook", touch_a=150.0, touch_b=160.0, effect=0.015, cpm=9.0, daily_spend=(30.0, 220.0)),
    ChannelTruth("instagram", touch_a=130.0, touch_b=140.0, effect=0.012, cpm=8.0, daily_spend=(30.0, 200.0)),
    ChannelTruth("google_ads", touch_a=240.0, touch_b=300.0, effect=0.050, cpm=25.0, daily_spend=(80.0, 500.0)),
    ChannelTruth("meta_ads", touch_a=200.0, touch_b=260.0, effect=0.025, cpm=11.0, daily_spend=(60.0, 400.0)),
)

DIRECT_EFFECT = 0.010  # a direct visit (touchpoint with no channel)
DIRECT_SHARE = 0.10  # share of touchpoints that are direct visits
TOUCHES_PER_USER = 3.0  # mean journey length before conversion draws
REVENUE_LOG_MEAN = 4.2  # revenue per conversion is lognormal(4.2, 0.5): mean about 75
REVENUE_LOG_SD = 0.5
CONVERSION_DELAY_HOURS = 20.0  # mean of the exponential delay after the last touch
DAYS = 90


def as_dict() -> dict:
    return {
        "channels": [asdict(c) for c in CHANNELS],
        "direct_effect": DIRECT_EFFECT,
        "direct_share": DIRECT_SHARE,
        "touches_per_user": TOUCHES_PER_USER,
        "revenue_lognormal": {"mu": REVENUE_LOG_MEAN, "sigma": REVENUE_LOG_SD},
        "conversion_delay_hours_mean": CONVERSION_DELAY_HOURS,
        "days": DAYS,
        "curve": "touches(spend) = touch_a * (1 - exp(-spend / touch_b)) per campaign-day, Poisson noise",
        "conversion": "P(user converts) = 1 - prod over the user's touches of (1 - effect)",
        "expected_revenue_curve": "revenue(spend) ~= effect * exp(mu + sigma^2 / 2) * touches(spend), ignoring overlap between touches",
    }


def markdown() -> str:
    mean_revenue = 2.718281828 ** (REVENUE_LOG_MEAN + REVENUE_LOG_SD**2 / 2)
    rows = "\n".join(
        f"| {c.name} | {c.touch_a:g} | {c.touch_b:g} | {c.effect:.3f} | {c.effect * mean_revenue * c.touch_a:,.0f} | {c.cpm:g} |" for c in CHANNELS
    )
    return f"""# Generating truth of the demo data

Written by `campaigns demo-data`; the analytics should recover these numbers.

- Per campaign-day and channel, tracked touches follow a concave curve of spend:
  `touches(spend) = a * (1 - exp(-spend / b))`, drawn with Poisson noise. Daily spend
  pulses between 0.3x and 1.7x of each campaign's typical level so curves are identifiable.
- Each touch is given to a user; a user converts with probability `1 - prod(1 - effect_c)`
  over their touches. Direct visits (empty channel, {DIRECT_SHARE:.0%} of touches) have effect {DIRECT_EFFECT}.
- Revenue per conversion is lognormal(mu={REVENUE_LOG_MEAN}, sigma={REVENUE_LOG_SD}), mean {mean_revenue:.1f}.
- Conversions happen an exponential delay (mean {CONVERSION_DELAY_HOURS:g} h) after the user's last touch.
- The expected revenue curve of a channel is about `effect * mean_revenue * touches(spend)`,
  so its saturation level is the column "revenue saturation" below (overlap between
  channels makes observed totals a little lower).

| channel | touch a | touch b | effect | revenue saturation per campaign-day | CPM |
|---|---|---|---|---|---|
{rows}

A data-driven attribution model should rank channels by `effect * touches`; google_ads and
email carry the most conversions per touch, x the least.
"""
