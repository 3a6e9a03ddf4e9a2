"""Campaign templates by goal: channels, cadence and budget split as data.

A template is a starting point for the campaign builder: which channels to use, how often
to post or send on each (per week; paid channels run continuously and have no cadence),
how to split the budget (fractions summing to 1), a KPI, a flight length and starter
drafts. `TEMPLATES` is checked when this module is imported, so a bad edit fails fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from campaigns.core.enums import MARKETING_CHANNELS, CampaignType, Channel
from optimizers.cents import split_cents

GOALS: Mapping[str, str] = MappingProxyType(
    {
        "product_launch": "Product launch",
        "webinar": "Webinar",
        "seasonal_sale": "Seasonal sale",
        "newsletter_growth": "Newsletter growth",
        "re_engagement": "Re-engagement",
    }
)
KPIS: Mapping[str, str] = MappingProxyType(
    {
        "revenue": "Revenue",
        "conversions": "Conversions",
        "roas": "Return on ad spend",
        "signups": "Sign-ups / registrations",
        "subscribers": "New subscribers",
        "clicks": "Clicks",
        "reach": "Reach (impressions)",
    }
)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CampaignTemplate:
    id: str
    name: str
    goal: str
    summary: str
    type: CampaignType
    kpi: str
    duration_days: int
    suggested_budget: Decimal
    budget_split: Mapping[str, float]  # channel -> fraction of the budget; the channels, in order
    cadence: Mapping[str, float]  # organic channel -> posts or emails per week
    drafts: Mapping[str, str]  # channel -> starter text

    def __post_init__(self) -> None:
        where = f"template {self.id!r}"
        if self.goal not in GOALS:
            raise ValueError(f"{where}: unknown goal {self.goal!r}; use one of {', '.join(GOALS)}")
        if self.kpi not in KPIS:
            raise ValueError(f"{where}: unknown kpi {self.kpi!r}; use one of {', '.join(KPIS)}")
        unknown = [c for c in self.budget_split if c not in MARKETING_CHANNELS]
        if unknown:
            raise ValueError(f"{where}: unknown channels {unknown}; use {', '.join(MARKETING_CHANNELS)}")
        if any(f <= 0 for f in self.budget_split.values()):
            raise ValueError(f"{where}: every budget fraction must be above 0")
        if not math.isclose(sum(self.budget_split.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"{where}: budget fractions sum to {sum(self.budget_split.values())}, not 1")
        for channel, per_week in self.cadence.items():
            if channel not in self.budget_split:
                raise ValueError(f"{where}: cadence for {channel!r}, which is not one of its channels")
            if MARKETING_CHANNELS[channel] is Channel.ADS or per_week <= 0:
                raise ValueError(f"{where}: cadence is for organic channels, at least one a week ({channel!r})")
        if set(self.drafts) - set(self.budget_split):
            raise ValueError(f"{where}: drafts for channels it does not use: {sorted(set(self.drafts) - set(self.budget_split))}")

    @property
    def channels(self) -> list[str]:
        return list(self.budget_split)

    def split_amounts(self, total: Decimal | float | int) -> dict[str, Decimal]:
        """The budget in cents per channel, summing exactly to `total` (the one cent-splitting rule, largest remainder)."""
        return split_cents(Decimal(str(total)).quantize(CENT, rounding=ROUND_HALF_UP), self.budget_split)

    def cadence_label(self, channel: str) -> str:
        if channel not in self.cadence:
            return "always on" if MARKETING_CHANNELS.get(channel) is Channel.ADS else "-"
        count = self.cadence[channel]
        unit = "email" if MARKETING_CHANNELS[channel] is Channel.EMAIL else "post"
        return f"{count:g} {unit}{'' if count == 1 else 's'}/week"

    def prefill(self, budget: Decimal | float | int | None = None) -> dict[str, Any]:
        """Values the campaign builder starts from."""
        total = Decimal(str(budget if budget is not None else self.suggested_budget))
        return {
            "template_id": self.id,
            "name": "",
            "type": self.type.value,
            "description": self.summary,
            "goal": self.goal,
            "kpi": self.kpi,
            "channels": self.channels,
            "budget": total,
            "split": self.split_amounts(total),
            "cadence": dict(self.cadence),
            "drafts": {c: self.drafts.get(c, "") for c in self.channels},
            "duration_days": self.duration_days,
        }


def _template(**fields: Any) -> CampaignTemplate:
    fields["budget_split"] = MappingProxyType(dict(fields["budget_split"]))
    fields["cadence"] = MappingProxyType(dict(fields.get("cadence", {})))
    fields["drafts"] = MappingProxyType(dict(fields.get("drafts", {})))
    fields["suggested_budget"] = Decimal(str(fields["suggested_budget"]))
    return CampaignTemplate(**fields)


TEMPLATES: tuple[CampaignTemplate, ...] = (
    _template(
        id="product_launch",
        name="Product launch",
        goal="product_launch",
        summary="Tease, launch and sustain a new product: social teasers, a launch email and search ads on launch day.",
        type=CampaignType.CONVERSION,
        kpi="revenue",
        duration_days=28,
        suggested_budget=10_000,
        budget_split={"google_ads": 0.35, "meta_ads": 0.25, "instagram": 0.15, "x": 0.10, "email": 0.15},
        cadence={"instagram": 4, "x": 7, "email": 1},
        drafts={
            "instagram": "Something new is coming to the trail. [product name] lands on [launch date]. #newgear",
            "x": "Meet [product name]: [one-line benefit]. Available [launch date] → [link]",
            "email": "Subject: [product name] is here\n\nHi [first name],\n\n[product name] is built for [use]. Be among the first to try it: [link]",
        },
    ),
    _template(
        id="webinar",
        name="Webinar registrations",
        goal="webinar",
        summary="Fill a live session: invitations and reminders by email, professional social posts, a small LinkedIn push.",
        type=CampaignType.ENGAGEMENT,
        kpi="signups",
        duration_days=21,
        suggested_budget=3_000,
        budget_split={"email": 0.30, "linkedin": 0.50, "x": 0.20},
        cadence={"email": 2, "linkedin": 3, "x": 5},
        drafts={
            "email": "Subject: Join us live: [webinar title]\n\nHi [first name],\n\nOn [date] at [time] we cover [topic]. Save your seat: [link]",
            "linkedin": "Live on [date]: [webinar title]. Learn [takeaway] from [speaker]. Register: [link]",
            "x": "Live webinar [date]: [webinar title]. Seats are limited → [link]",
        },
    ),
    _template(
        id="seasonal_sale",
        name="Seasonal sale",
        goal="seasonal_sale",
        summary="A time-boxed discount: paid search and social carry the reach, email and posts count down to the end.",
        type=CampaignType.CONVERSION,
        kpi="roas",
        duration_days=14,
        suggested_budget=15_000,
        budget_split={"google_ads": 0.40, "meta_ads": 0.30, "facebook": 0.10, "instagram": 0.10, "email": 0.10},
        cadence={"facebook": 5, "instagram": 5, "email": 3},
        drafts={
            "facebook": "[season] sale: [discount] off [category] until [end date]. Shop now: [link]",
            "instagram": "[discount] off for [season]. Ends [end date]. Link in bio. #sale",
            "email": "Subject: [discount] off ends [end date]\n\nHi [first name],\n\nOur [season] sale is on. [top picks]. Shop: [link]",
        },
    ),
    _template(
        id="newsletter_growth",
        name="Newsletter growth",
        goal="newsletter_growth",
        summary="Grow the list: share the best issues on social, promote the sign-up page with a small paid budget.",
        type=CampaignType.AWARENESS,
        kpi="subscribers",
        duration_days=30,
        suggested_budget=2_000,
        budget_split={"meta_ads": 0.50, "x": 0.15, "linkedin": 0.15, "email": 0.20},
        cadence={"x": 5, "linkedin": 2, "email": 1},
        drafts={
            "x": "Every [weekday] we send [what readers get]. Join [subscriber count] readers: [link]",
            "linkedin": "Our newsletter covers [topics] in five minutes a week. Subscribe: [link]",
            "email": "Subject: Know someone who'd like this?\n\nHi [first name],\n\nForward this issue to a friend; they can sign up here: [link]",
        },
    ),
    _template(
        id="re_engagement",
        name="Re-engagement",
        goal="re_engagement",
        summary="Win back quiet customers: a short email series with an incentive and retargeting ads to the same people.",
        type=CampaignType.ENGAGEMENT,
        kpi="conversions",
        duration_days=21,
        suggested_budget=4_000,
        budget_split={"email": 0.40, "meta_ads": 0.35, "google_ads": 0.25},
        cadence={"email": 2},
        drafts={
            "email": "Subject: We miss you, [first name]\n\nIt's been a while. Here is [incentive] on your next order until [end date]: [link]",
        },
    ),
)
_BY_ID = {t.id: t for t in TEMPLATES}
if len(_BY_ID) != len(TEMPLATES):
    raise ValueError("template ids must be unique")


def templates(goal: str | None = None) -> list[CampaignTemplate]:
    if goal is not None and goal not in GOALS:
        raise ValueError(f"unknown goal {goal!r}; use one of {', '.join(GOALS)}")
    return [t for t in TEMPLATES if goal is None or t.goal == goal]


def get_template(template_id: str) -> CampaignTemplate:
    try:
        return _BY_ID[template_id]
    except KeyError:
        raise LookupError(f"no template {template_id!r}; use one of {', '.join(_BY_ID)}") from None
