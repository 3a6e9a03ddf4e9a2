"""Every rule of `publishers.limits.check`, each with the issue it reports."""

from __future__ import annotations

import pytest

from publishers.limits import LIMITS, VideoFacts, check, check_video, limits_for, measure, media_kind


def _issues(platform: str, text: str, media=()) -> list[str]:
    return [str(issue) for issue in check(platform, text, media)]


def test_an_unknown_platform_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown platform 'myspace'; use one of x, facebook, instagram, linkedin"):
        limits_for("myspace")
    with pytest.raises(ValueError):
        check("myspace", "hello")


def test_an_empty_post_is_refused_unless_it_has_media() -> None:
    assert _issues("facebook", "  \n ") == ["text: is empty; write the post first"]
    assert _issues("facebook", "", ["https://cdn.example.com/a.jpg"]) == []


def test_x_counts_weighted_and_hints_at_a_thread() -> None:
    assert measure("x", "https://shop.example.com/" + "a" * 200) == 23  # a URL counts 23
    (issue,) = _issues("x", "日本" * 141)
    assert issue == "text: is 564 weighted characters (URLs 23, emoji and CJK 2), over x's 280; shorten it by 284; split it into a thread with a line holding only ---"
    issues = _issues("x", "short\n---\n" + "b" * 281)
    assert issues == ["part 2 of the thread: is 281 weighted characters (URLs 23, emoji and CJK 2), over x's 280; shorten it by 1; "
                      "split it into a thread with a line holding only ---"]


def test_other_platforms_count_characters_without_a_thread_hint() -> None:
    assert _issues("linkedin", "c" * 3001) == ["text: is 3001 characters, over linkedin's 3000; shorten it by 1"]
    assert _issues("linkedin", "c" * 3000) == []


def test_instagram_hashtags_mentions_and_required_image() -> None:
    image = ["https://cdn.example.com/a.jpg"]
    limit = LIMITS["instagram"]
    tags = " ".join(f"#tag{n}" for n in range(limit.max_hashtags + 1))
    people = " ".join(f"@user{n}" for n in range(limit.max_mentions + 1))
    assert _issues("instagram", tags, image) == ["text: has 31 hashtags; instagram allows 30"]
    assert _issues("instagram", people, image) == ["text: mentions 21 accounts; instagram allows 20"]
    assert _issues("instagram", "words only") == ["media: instagram needs an image or a video: add its public https URL"]
    assert _issues("instagram", " ".join(f"#tag{n}" for n in range(30)), image) == []


def test_media_counts_and_urls() -> None:
    eleven = [f"https://cdn.example.com/{n}.jpg" for n in range(11)]
    assert _issues("facebook", "hi", eleven) == ["media: has 11 items; facebook allows 10"]
    assert _issues("facebook", "hi", eleven[:3]) == ["media: only 1 image per facebook post can be sent yet; remove 2"]
    assert _issues("linkedin", "hi", eleven[:1]) == []  # the Images API upload
    assert _issues("linkedin", "hi", [*eleven, *eleven]) == ["media: has 22 items; linkedin allows 20"]
    assert _issues("facebook", "hi", ["ftp://files.example.com/a.jpg"]) == [
        "media[1]: 'ftp://files.example.com/a.jpg' is not a public http(s) URL the platform can fetch"]
    assert _issues("facebook", "hi", ["http://cdn.example.com/a.jpg"]) == []


def test_video_counts_and_mixing_per_platform() -> None:
    video, image = "https://cdn.example.com/media/a.mp4?v=1", "https://cdn.example.com/media/b.jpg"
    assert media_kind(video) == "video" and media_kind(image) == "image"
    assert _issues("x", "hi", [video]) == [] and _issues("linkedin", "hi", [video]) == []
    assert _issues("x", "hi", [video, image]) == ["media: mixes a video with images; a x post takes either images or one video: post them separately"]
    assert _issues("linkedin", "hi", [video, video]) == ["media: has 2 videos; linkedin takes 1 per post: post the others separately"]
    assert _issues("instagram", "hi", [video, image, video]) == []  # a carousel mixes them
    (refusal,) = _issues("facebook", "hi", [video])
    assert refusal.startswith("media: has a video; Facebook Page videos need Meta's resumable upload") and "Meta Business Suite" in refusal


def _video(duration: float = 10.0, width: int = 1280, height: int = 720, size: int = 5 * 1024 * 1024, faststart: bool = True) -> VideoFacts:
    return VideoFacts("video/mp4", size, duration, width, height, faststart)


def test_each_platforms_video_rules_name_the_rule_and_the_fix() -> None:
    def messages(platform: str, video: VideoFacts, alt: str = "") -> list[str]:
        return [str(i) for i in check_video(platform, video, alt, where="clip.mp4")]

    for platform in ("x", "linkedin", "instagram"):
        assert messages(platform, _video()) == []
    assert messages("x", _video(141.0)) == ["clip.mp4: runs 141.0 seconds; x takes 0.5 seconds to 140 seconds: trim it"]
    assert messages("linkedin", _video(2.0)) == ["clip.mp4: runs 2.0 seconds; linkedin takes 3 seconds to 30 minutes: trim it"]
    assert messages("instagram", _video(16 * 60.0)) == ["clip.mp4: runs 960.0 seconds; instagram takes 3 seconds to 15 minutes: trim it"]
    assert messages("x", _video(width=1920, height=1080)) == [
        "clip.mp4: is 1920x1080 px; x needs at least 32 px a side and at most 1280x1024 px: resize it"]
    assert messages("x", _video(width=720, height=1280)) == []  # portrait within 1280x1024 either way round
    assert messages("linkedin", _video(width=1920, height=600)) == [
        "clip.mp4: has an aspect ratio of 3.20; linkedin takes 0.42 to 2.40 (width / height): crop it"]
    assert messages("linkedin", _video(size=50 * 1024)) == ["clip.mp4: is 50 KB; linkedin takes videos of at least 75 KB: export it at a higher quality"]
    assert messages("instagram", _video(size=301 * 1024 * 1024)) == ["clip.mp4: is 301 MB; instagram takes videos up to 300 MB: compress or shorten it"]
    assert messages("instagram", _video(width=2560, height=1440)) == ["clip.mp4: is 2560 px wide; instagram takes at most 1920 px: resize it"]
    (moov,) = messages("instagram", _video(faststart=False))
    assert "moov box" in moov and "-movflags +faststart" in moov
    assert messages("x", _video(), "A clip") == [
        "clip.mp4: alt text is sent with images only, not with a video: remove it and describe the video in the text"]
    (facebook,) = messages("facebook", _video())
    assert facebook.startswith("clip.mp4: is a video; Facebook Page videos need Meta's resumable upload")
