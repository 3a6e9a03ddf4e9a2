"""Ava's documented priors: what she assumes when the merchant's history says nothing.

These are planning assumptions, not measurements. Each is replaced as soon as the request
brings history (response curves, channel rates, an optimal-time model), and the plan says
which numbers came from where.

Budget shares by goal
    Paid search (google_ads) captures demand that exists, so it leads for CONVERSION;
    Meta's paid placements (meta_ads) and the visual networks reach new people cheaply, so
    they lead for AWARENESS; ENGAGEMENT weights the organic networks where people reply and
    share. Email is owned: its share pays for sending and list tools.

Channel rates (cost per thousand impressions in the account's currency, click-through,
click-to-conversion, engagements per impression)
    Round, middle-of-the-road figures of the kind published in industry benchmark reports
    (costs per click between about 0.80 and 5); for email the "CPM" is the cost of sending
    a thousand emails including the list tools.

Best posting hours (local time of the account)
    Commute, lunch and evening peaks; LinkedIn and email on Tuesday to Thursday mornings.

Revenue per conversion
    75 (the demo merchant's mean order value) when the history gives none.

Uncertainty
    A prior prediction is given as an 80% interval of x/÷ 1.6 around the expected value;
    with the merchant's own rates x/÷ 1.3; with fitted response curves x/÷ 1.25 (or the
    optimizer's scenario range when it has one).
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.core.enums import CampaignType

CHANNELS = ("google_ads", "meta_ads", "email", "facebook", "instagram", "linkedin", "x")

PRIOR_SHARES: dict[CampaignType, dict[str, float]] = {
    CampaignType.AWARENESS: {"meta_ads": 0.30, "google_ads": 0.15, "instagram": 0.15, "facebook": 0.15, "x": 0.10, "linkedin": 0.10, "email": 0.05},
    CampaignType.ENGAGEMENT: {"instagram": 0.20, "facebook": 0.20, "meta_ads": 0.15, "x": 0.15, "linkedin": 0.15, "email": 0.10, "google_ads": 0.05},
    CampaignType.CONVERSION: {"google_ads": 0.38, "meta_ads": 0.27, "email": 0.08, "facebook": 0.10, "instagram": 0.08, "linkedin": 0.05, "x": 0.04},
}


@dataclass(frozen=True)
class ChannelRates:
    cpm: float
    ctr: float
    cvr: float
    engagement_rate: float


PRIOR_RATES: dict[str, ChannelRates] = {
    "email": ChannelRates(cpm=10.0, ctr=0.020, cvr=0.030, engagement_rate=0.20),
    "x": ChannelRates(cpm=6.5, ctr=0.008, cvr=0.010, engagement_rate=0.020),
    "linkedin": ChannelRates(cpm=30.0, ctr=0.006, cvr=0.020, engagement_rate=0.015),
    "facebook": ChannelRates(cpm=12.0, ctr=0.010, cvr=0.015, engagement_rate=0.030),
    "instagram": ChannelRates(cpm=10.0, ctr=0.008, cvr=0.012, engagement_rate=0.040),
    "google_ads": ChannelRates(cpm=40.0, ctr=0.035, cvr=0.035, engagement_rate=0.005),
    "meta_ads": ChannelRates(cpm=14.0, ctr=0.012, cvr=0.020, engagement_rate=0.025),
}

REVENUE_PER_CONVERSION = 75.0

DEFAULT_KPI: dict[CampaignType, str] = {
    CampaignType.AWARENESS: "impressions",
    CampaignType.ENGAGEMENT: "engagements",
    CampaignType.CONVERSION: "conversions",
}

# Local hours, and weekdays (Monday = 0) when the platform is worth posting on.
BEST_HOURS: dict[str, tuple[int, ...]] = {
    "x": (9, 12, 17),
    "linkedin": (8, 12, 17),
    "facebook": (9, 13, 19),
    "instagram": (11, 13, 19),
    "email": (10, 14),
}
BEST_WEEKDAYS: dict[str, tuple[int, ...]] = {
    "linkedin": (1, 2, 3),
    "email": (1, 2, 3),
}

UNCERTAINTY = {"prior": 1.6, "history": 1.3, "curves": 1.25}
INTERVAL = 0.8

# Which output format carries each channel's content.
FORMAT_OF_CHANNEL = {"x": "x", "linkedin": "linkedin", "facebook": "facebook", "instagram": "instagram", "email": "email",
                     "google_ads": "ads", "meta_ads": "ads"}

REASONS: dict[str, dict[CampaignType, str]] = {
    "google_ads": {
        CampaignType.CONVERSION: "search ads meet people already looking for what the post covers: the surest route to conversions",
        CampaignType.AWARENESS: "search ads catch the demand the campaign creates",
        CampaignType.ENGAGEMENT: "a small search budget keeps the post findable while social does the talking",
    },
    "meta_ads": {
        CampaignType.CONVERSION: "Meta's audiences retarget visitors and find look-alikes of buyers",
        CampaignType.AWARENESS: "the cheapest reach at scale, with the segments targeted directly",
        CampaignType.ENGAGEMENT: "boosts the best organic posts to people like your followers",
    },
    "email": {
        CampaignType.CONVERSION: "your own list converts best per send and costs least",
        CampaignType.AWARENESS: "tells existing customers first",
        CampaignType.ENGAGEMENT: "subscribers reply and forward: the warmest audience you have",
    },
    "facebook": {
        CampaignType.CONVERSION: "link posts drive traffic from an audience that knows the brand",
        CampaignType.AWARENESS: "broad reach with link posts",
        CampaignType.ENGAGEMENT: "comments and shares from community groups",
    },
    "instagram": {
        CampaignType.CONVERSION: "visual proof for products, with the link in bio",
        CampaignType.AWARENESS: "visual reach with younger audiences",
        CampaignType.ENGAGEMENT: "the highest engagement per impression of the networks",
    },
    "linkedin": {
        CampaignType.CONVERSION: "reaches professional buyers; small share because clicks cost most here",
        CampaignType.AWARENESS: "credibility with a professional audience",
        CampaignType.ENGAGEMENT: "discussion in the comments of practical posts",
    },
    "x": {
        CampaignType.CONVERSION: "cheap impressions that support the other channels; small share",
        CampaignType.AWARENESS: "fast, cheap reach and threads that travel",
        CampaignType.ENGAGEMENT: "conversation in replies and quote posts",
    },
}
