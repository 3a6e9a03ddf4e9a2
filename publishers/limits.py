"""Platform limits as data, and the one check that reads them.

`max_media` is what the platform allows; `sendable_media` is what this package can attach
today (LinkedIn needs its Images API upload, not built yet; Facebook sends one photo per
post). `IMAGE_RULES` are each platform's image rules (types, size, pixels, aspect ratio),
checked on the file before a post is queued. Instagram's daily publishing quota is read from
the API at publish time, never hard-coded here.
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
    "x": PlatformLimits("x", 280, "x_weighted", max_hashtags=None, max_mentions=None, max_media=4, sendable_media=4, threads=True),
    "facebook": PlatformLimits("facebook", 63_206, "characters", max_hashtags=None, max_mentions=None, max_media=10, sendable_media=1),
    "instagram": PlatformLimits(
        "instagram", 2_200, "characters", max_hashtags=30, max_mentions=20, max_media=10, sendable_media=10, media_required=True
    ),
    "linkedin": PlatformLimits("linkedin", 3_000, "characters", max_hashtags=None, max_mentions=None, max_media=20, sendable_media=0),
}


@dataclass(frozen=True)
class ImageRules:
    """What a platform accepts as a post image (from each platform's published media requirements)."""

    types: frozenset[str]  # MIME types
    max_bytes: int
    min_side: int  # pixels, the shorter side
    max_side: int  # pixels, the longer side
    min_aspect: float  # width / height
    max_aspect: float
    max_alt_text: int


_MB = 1024 * 1024
_COMMON = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
IMAGE_RULES: dict[str, ImageRules] = {
    "x": ImageRules(_COMMON, 5 * _MB, 4, 8192, 1 / 3, 3.0, 1000),
    # Instagram takes JPEG only through the content publishing API, between 4:5 and 1.91:1
    "instagram": ImageRules(frozenset({"image/jpeg"}), 8 * _MB, 320, 1440 * 4, 0.8, 1.91, 1000),
    "facebook": ImageRules(_COMMON - {"image/webp"}, 10 * _MB, 1, 10_000, 1 / 3, 3.0, 1000),
    "linkedin": ImageRules(frozenset({"image/jpeg", "image/png", "image/gif"}), 10 * _MB, 1, 6012, 1 / 3, 3.0, 4086),
}


@dataclass(frozen=True)
class ImageFacts:
    """What was read off an image file: its type, size and pixels."""

    mime: str
    size: int
    width: int
    height: int


def check_image(platform: str, image: ImageFacts, alt_text: str = "", where: str = "media") -> list[Issue]:
    """Everything about one image that `platform` would refuse, with the fix."""
    rules = IMAGE_RULES[limits_for(platform).platform]
    issues: list[Issue] = []
    if image.mime not in rules.types:
        kinds = ", ".join(sorted(t.split("/")[1].upper() for t in rules.types))
        issues.append(Issue(where, f"is {image.mime}; {platform} takes {kinds}: convert the image"))
    if image.size > rules.max_bytes:
        issues.append(Issue(where, f"is {image.size / _MB:.1f} MB; {platform} takes up to {rules.max_bytes // _MB} MB: compress or resize it"))
    short, long_ = sorted((image.width, image.height))
    if short < rules.min_side or long_ > rules.max_side:
        issues.append(Issue(where, f"is {image.width}x{image.height} px; {platform} needs the shorter side at least {rules.min_side} px "
                                   f"and the longer at most {rules.max_side} px: resize it"))
    aspect = image.width / image.height if image.height else 0.0
    if not rules.min_aspect - 1e-9 <= aspect <= rules.max_aspect + 1e-9:
        issues.append(Issue(where, f"has an aspect ratio of {aspect:.2f}; {platform} takes {rules.min_aspect:.2f} to {rules.max_aspect:.2f} "
                                   "(width / height): crop it"))
    if len(alt_text) > rules.max_alt_text:
        issues.append(Issue(where, f"alt text is {len(alt_text)} characters; {platform} takes {rules.max_alt_text}: shorten it"))
    return issues


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
