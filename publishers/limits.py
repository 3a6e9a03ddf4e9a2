"""Platform limits as data, and the one check that reads them.

`max_media` is what the platform allows; `sendable_media` is what this package can attach
today (Facebook sends one photo per post). `IMAGE_RULES` are each platform's image rules
(types, size, pixels, aspect ratio) and `VIDEO_RULES` its MP4 rules (size, duration, pixels,
aspect ratio), both checked on the file before a post is queued; a platform missing from
`VIDEO_RULES` takes no video from this package. A media URL is a video when its path ends
in ``.mp4`` (the media store names files by content and type). Instagram's daily publishing quota is read from
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
    max_videos: int = 0  # videos per post this package can send
    video_alone: bool = True  # a video cannot share the post with other media


LIMITS: dict[str, PlatformLimits] = {
    "x": PlatformLimits("x", 280, "x_weighted", max_hashtags=None, max_mentions=None, max_media=4, sendable_media=4, threads=True,
                          max_videos=1),
    "facebook": PlatformLimits("facebook", 63_206, "characters", max_hashtags=None, max_mentions=None, max_media=10, sendable_media=1),
    "instagram": PlatformLimits(
        "instagram", 2_200, "characters", max_hashtags=30, max_mentions=20, max_media=10, sendable_media=10, media_required=True,
        max_videos=10, video_alone=False,  # a carousel mixes images and videos
    ),
    "linkedin": PlatformLimits("linkedin", 3_000, "characters", max_hashtags=None, max_mentions=None, max_media=20, sendable_media=20,
                               max_videos=1),
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


@dataclass(frozen=True)
class VideoRules:
    """What a platform accepts as a post video (from each platform's published video requirements)."""

    types: frozenset[str]  # MIME types
    min_bytes: int
    max_bytes: int
    min_seconds: float
    max_seconds: float
    min_aspect: float  # width / height
    max_aspect: float
    min_side: int = 1  # pixels, the shorter side
    max_long_side: int | None = None  # pixels
    max_short_side: int | None = None
    max_width: int | None = None
    needs_faststart: bool = False  # the moov box before the media data


_MP4 = frozenset({"video/mp4"})
VIDEO_RULES: dict[str, VideoRules] = {
    # X: 0.5 to 140 seconds, 512 MB, 32x32 up to 1280x1024, aspect 1:3 to 3:1
    "x": VideoRules(_MP4, 1, 512 * _MB, 0.5, 140.0, 1 / 3, 3.0, min_side=32, max_long_side=1280, max_short_side=1024),
    # LinkedIn Videos API: 75 KB to 500 MB, 3 seconds to 30 minutes, aspect 1:2.4 to 2.4:1
    "linkedin": VideoRules(_MP4, 75 * 1024, 500 * _MB, 3.0, 30 * 60.0, 1 / 2.4, 2.4),
    # Instagram Reels: 300 MB, 3 seconds to 15 minutes, at most 1920 px wide, aspect 0.01:1 to 10:1, moov atom at the front
    "instagram": VideoRules(_MP4, 1, 300 * _MB, 3.0, 15 * 60.0, 0.01, 10.0, max_width=1920, needs_faststart=True),
}
NO_VIDEO_FIX = {
    "facebook": "Facebook Page videos need Meta's resumable upload, which this product does not do yet: post the video on "
                "Instagram, X or LinkedIn, or upload it in Meta Business Suite and put its link in the text",
}


@dataclass(frozen=True)
class VideoFacts:
    """What was read off a video file: its type, size, duration and display pixels."""

    mime: str
    size: int
    duration: float  # seconds
    width: int
    height: int
    faststart: bool = True


def media_kind(url: str) -> Literal["image", "video"]:
    """"video" for an MP4 URL (by the path's extension, as the media store names files), else "image"."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    return "video" if path.lower().endswith(".mp4") else "image"


def _no_video(platform: str) -> str:
    return NO_VIDEO_FIX.get(platform, f"{platform} takes no video from this product yet: attach images instead")


def check_video(platform: str, video: VideoFacts, alt_text: str = "", where: str = "media") -> list[Issue]:
    """Everything about one video that `platform` would refuse, naming the rule and the fix."""
    name = limits_for(platform).platform
    rules = VIDEO_RULES.get(name)
    if rules is None:
        return [Issue(where, f"is a video; {_no_video(name)}")]
    issues: list[Issue] = []
    if video.mime not in rules.types:
        issues.append(Issue(where, f"is {video.mime}; {platform} takes MP4 video: export it as MP4 (H.264)"))
    if video.size > rules.max_bytes:
        issues.append(Issue(where, f"is {video.size / _MB:.0f} MB; {platform} takes videos up to {rules.max_bytes // _MB} MB: compress or shorten it"))
    if video.size < rules.min_bytes:
        issues.append(Issue(where, f"is {video.size / 1024:.0f} KB; {platform} takes videos of at least {rules.min_bytes // 1024} KB: "
                                   "export it at a higher quality"))
    if not rules.min_seconds <= video.duration <= rules.max_seconds:
        issues.append(Issue(where, f"runs {video.duration:.1f} seconds; {platform} takes {_seconds(rules.min_seconds)} to "
                                   f"{_seconds(rules.max_seconds)}: trim it"))
    short, long_ = sorted((video.width, video.height))
    too_big = (rules.max_long_side is not None and long_ > rules.max_long_side) or (rules.max_short_side is not None and short > rules.max_short_side)
    if short < rules.min_side or too_big:
        bound = f" and at most {rules.max_long_side}x{rules.max_short_side} px" if rules.max_long_side else ""
        issues.append(Issue(where, f"is {video.width}x{video.height} px; {platform} needs at least {rules.min_side} px a side{bound}: resize it"))
    if rules.max_width is not None and video.width > rules.max_width:
        issues.append(Issue(where, f"is {video.width} px wide; {platform} takes at most {rules.max_width} px: resize it"))
    aspect = video.width / video.height if video.height else 0.0
    if not rules.min_aspect - 1e-9 <= aspect <= rules.max_aspect + 1e-9:
        issues.append(Issue(where, f"has an aspect ratio of {aspect:.2f}; {platform} takes {rules.min_aspect:.2f} to {rules.max_aspect:.2f} "
                                   "(width / height): crop it"))
    if rules.needs_faststart and not video.faststart:
        issues.append(Issue(where, f"has its index (moov box) after the media data; {platform} needs it at the front: "
                                   "export it again with fast start (for example ffmpeg -movflags +faststart)"))
    if alt_text:
        issues.append(Issue(where, "alt text is sent with images only, not with a video: remove it and describe the video in the text"))
    return issues


def _seconds(value: float) -> str:
    return f"{value / 60:g} minutes" if value >= 120 and value % 60 == 0 else f"{value:g} seconds"


def check_media_set(platform: str, kinds: Sequence[str]) -> list[Issue]:
    """How many videos a post may carry and whether they may share it with images."""
    limits = limits_for(platform)
    videos = sum(1 for kind in kinds if kind == "video")
    if not videos:
        return []
    if limits.max_videos == 0:
        return [Issue("media", f"has a video; {_no_video(limits.platform)}")]
    if videos > limits.max_videos:
        return [Issue("media", f"has {videos} videos; {platform} takes {limits.max_videos} per post: post the others separately")]
    if limits.video_alone and len(kinds) > videos:
        return [Issue("media", f"mixes a video with images; a {platform} post takes either images or one video: post them separately")]
    return []


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
        issues.append(Issue("media", f"{platform} needs an image or a video: add its public https URL"))
    if len(media) > limits.max_media:
        issues.append(Issue("media", f"has {len(media)} items; {platform} allows {limits.max_media}"))
    elif len(media) > limits.sendable_media:
        issues.append(Issue("media", f"only {limits.sendable_media} image per {platform} post can be sent yet; remove {len(media) - limits.sendable_media}"))
    issues.extend(check_media_set(platform, [media_kind(url) for url in media]))
    for number, url in enumerate(media, start=1):
        if not url.startswith("https://") and not url.startswith("http://"):
            issues.append(Issue(f"media[{number}]", f"{url!r} is not a public http(s) URL the platform can fetch"))
    return issues
