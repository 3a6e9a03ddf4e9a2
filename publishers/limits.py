"""Platform limits as data, and the one check that reads them.

`max_media` is what the platform allows; `sendable_media` is what this package can attach
today (X and LinkedIn need byte uploads that are not built yet; Instagram carousels are
not built yet). Instagram's daily publishing quota is read from the API at publish time,
never hard-coded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from publishers.base import Issue
from publishers.text import hashtags, mentions, plain_length, thread_parts, weighted_length


@dataclass(frozen=True)
class PlatformLimits:
    platform: str
    max_length: int
    length_rule: Literal["x_weighted", "characters"]
    max_hashtags: int | None
    max_mentions: int | None
    max_media: int
    sendable_media: int
    media_required: bool = False
    threads: bool = False


LIMITS: dict[str, PlatformLimits] = {
    "x": PlatformLimits("x", 280, "x_weighted", max_hashtags=None, max_mentions=None, max_media=4, sendable_media=0, threads=True),
    "facebook": PlatformLimits("facebook", 63_206, "characters", max_hashtags=None, max_mentions=None, max_media=10, sendable_media=1),
    "instagram": PlatformLimits(
        "instagram", 2_200, "characters", max_hashtags=30, max_mentions=20, max_media=10, sendable_media=1, media_required=True
    ),
    "linkedin": PlatformLimits("linkedin", 3_000, "characters", max_hashtags=None, max_mentions=None, max_media=20, sendable_media=0),
}


def limits_for(platform: str) -> PlatformLimits:
    try:
        return LIMITS[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}; use one of {', '.join(LIMITS)}") from None


def measure(platform: str, text: str) -> int:
    limits = limits_for(platform)
    return weighted_length(text) if limits.length_rule == "x_weighted" else plain_length(text)


def check(platform: str, text: str, media: Sequence[str] = ()) -> list[Issue]:
    """Everything about `text` and `media` that `platform` would refuse, with the fix."""
    limits = limits_for(platform)
    issues: list[Issue] = []
    parts = thread_parts(text) if limits.threads else [text]
    if not any(p.strip() for p in parts) and not media:
        issues.append(Issue("text", "is empty; write the post first"))
    unit = "weighted characters (URLs 23, emoji and CJK 2)" if limits.length_rule == "x_weighted" else "characters"
    for number, part in enumerate(parts, start=1):
        length = measure(platform, part)
        if length > limits.max_length:
            where = f"part {number} of the thread" if len(parts) > 1 else "text"
            hint = "; split it into a thread with a line holding only ---" if limits.threads else ""
            issues.append(Issue(where, f"is {length} {unit}, over {platform}'s {limits.max_length}; shorten it by {length - limits.max_length}{hint}"))
    if limits.max_hashtags is not None and (count := len(hashtags(text))) > limits.max_hashtags:
        issues.append(Issue("text", f"has {count} hashtags; {platform} allows {limits.max_hashtags}"))
    if limits.max_mentions is not None and (count := len(mentions(text))) > limits.max_mentions:
        issues.append(Issue("text", f"mentions {count} accounts; {platform} allows {limits.max_mentions}"))
    if limits.media_required and not media:
        issues.append(Issue("media", f"{platform} needs an image: add its public https URL"))
    if len(media) > limits.max_media:
        issues.append(Issue("media", f"has {len(media)} items; {platform} allows {limits.max_media}"))
    elif len(media) > limits.sendable_media:
        if limits.sendable_media == 0:
            issues.append(Issue("media", f"images cannot be attached to {platform} posts yet; put the link in the text instead"))
        else:
            issues.append(Issue("media", f"only {limits.sendable_media} image per {platform} post can be sent yet; remove {len(media) - limits.sendable_media}"))
    for number, url in enumerate(media, start=1):
        if not url.startswith("https://") and not url.startswith("http://"):
            issues.append(Issue(f"media[{number}]", f"{url!r} is not a public http(s) URL the platform can fetch"))
    return issues
