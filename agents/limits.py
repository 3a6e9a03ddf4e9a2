"""Limits of every output format, as data.

Social platforms' hard limits come from `publishers.limits` (the same numbers the
publishers check before sending). The rest are either the platform's published limits
(Google responsive search ads: headlines <= 30 characters, 3 to 15 of them; descriptions
<= 90, 2 to 4; wide CJK characters count 2) or this project's own rules, marked "house rule", chosen so a post reads well
where the platform would allow more (an email subject that fits a phone's inbox row, a
Meta primary text that shows before "See more").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from publishers.limits import LIMITS as PLATFORM_LIMITS

FORMATS = ("x", "linkedin", "facebook", "instagram", "email", "ads")
SOCIAL_FORMATS = ("x", "linkedin", "facebook", "instagram")

LinkPlacement = Literal["text", "none", "body", "final_url"]


@dataclass(frozen=True)
class FieldLimit:
    max_length: int
    length_rule: Literal["x_weighted", "characters", "ad_width"] = "characters"
    source: str = "platform"  # "platform" or "house rule"


@dataclass(frozen=True)
class FormatRules:
    format: str
    link: LinkPlacement
    fields: dict[str, FieldLimit]
    max_hashtags: int = 0
    soft_length: int | None = None  # house rule: what the text aims for under the hard limit
    min_items: dict[str, int] | None = None
    max_items: dict[str, int] | None = None
    thread_parts: int = 0


def _platform(name: str) -> FieldLimit:
    limits = PLATFORM_LIMITS[name]
    return FieldLimit(limits.max_length, limits.length_rule)


RULES: dict[str, FormatRules] = {
    "x": FormatRules("x", "text", {"text": _platform("x"), "thread": _platform("x")}, max_hashtags=2, thread_parts=5),
    "linkedin": FormatRules("linkedin", "text", {"text": _platform("linkedin")}, max_hashtags=4, soft_length=1300),
    "facebook": FormatRules("facebook", "text", {"text": _platform("facebook")}, max_hashtags=2, soft_length=600),
    "instagram": FormatRules(
        "instagram", "none",
        {"text": _platform("instagram"), "alt_text": FieldLimit(100, source="house rule"), "image_brief": FieldLimit(500, source="house rule")},
        max_hashtags=min(PLATFORM_LIMITS["instagram"].max_hashtags or 30, 12), soft_length=900,
    ),
    "email": FormatRules(
        "email", "body",
        {"subject": FieldLimit(78, source="house rule"), "preview_text": FieldLimit(150), "text": FieldLimit(20_000, source="house rule"),
         "html": FieldLimit(100_000, source="house rule")},
    ),
    "ads": FormatRules(
        "ads", "final_url",
        {"headlines": FieldLimit(30, "ad_width"), "descriptions": FieldLimit(90, "ad_width"), "primary_text": FieldLimit(125, source="house rule")},
        min_items={"headlines": 3, "descriptions": 2}, max_items={"headlines": 15, "descriptions": 4},
    ),
}

# Where each format's tracked link sends traffic from (utm_source, utm_medium); social and
# email match `publishers.utm.SOURCE_MEDIUM`, ads match the demo spend data.
UTM_SOURCE_MEDIUM: dict[str, tuple[str, str]] = {
    "x": ("x.com", "social"),
    "linkedin": ("linkedin.com", "social"),
    "facebook": ("facebook.com", "social"),
    "instagram": ("instagram.com", "social"),
    "email": ("newsletter", "email"),
    "google_ads": ("google", "cpc"),
    "meta_ads": ("facebook", "paid_social"),
}


def rules_for(fmt: str) -> FormatRules:
    try:
        return RULES[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None
