"""Every rule of `publishers.limits.check`, each with the issue it reports."""

from __future__ import annotations

import pytest

from publishers.limits import LIMITS, check, limits_for, measure


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
    assert _issues("instagram", "words only") == ["media: instagram needs an image: add its public https URL"]
    assert _issues("instagram", " ".join(f"#tag{n}" for n in range(30)), image) == []


def test_media_counts_and_urls() -> None:
    eleven = [f"https://cdn.example.com/{n}.jpg" for n in range(11)]
    assert _issues("facebook", "hi", eleven) == ["media: has 11 items; facebook allows 10"]
    assert _issues("facebook", "hi", eleven[:3]) == ["media: only 1 image per facebook post can be sent yet; remove 2"]
    assert _issues("linkedin", "hi", eleven[:1]) == ["media: images cannot be attached to linkedin posts yet; put the link in the text instead"]
    assert _issues("facebook", "hi", ["ftp://files.example.com/a.jpg"]) == [
        "media[1]: 'ftp://files.example.com/a.jpg' is not a public http(s) URL the platform can fetch"]
    assert _issues("facebook", "hi", ["http://cdn.example.com/a.jpg"]) == []
