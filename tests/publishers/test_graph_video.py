"""Instagram video (a reel alone, VIDEO items in a mixed carousel) and Facebook's refusal of video, against the Graph fake."""

import pytest

from publishers.base import Credentials, SocialPost
from publishers.errors import Rejected
from publishers.facebook import FacebookPublisher
from publishers.instagram import InstagramPublisher
from tests.publishers.media_server import serving
from tests.publishers.mp4 import mp4

IG_USER = Credentials.of("17841400000", "page-token-1")
PAGE = Credentials.of("104729", "page-token-1")
VIDEO = mp4(8.0, 1080, 1920)
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 32
FILES = {"v.mp4": (VIDEO, "video/mp4"), "a.jpg": (JPEG, "image/jpeg"), "gone.mp4": (b"<html>", "text/html")}


def test_a_lone_video_is_a_reel_fetched_by_instagram_polled_then_published_once(instagram, fake_graph) -> None:
    fake_graph.fetch_images = True  # the fake downloads video_url, as Instagram does
    with serving(FILES) as base:
        receipt = instagram.publish(SocialPost(text="Behind the scenes #making", media=(f"{base}/media/v.mp4",), media_alt=("",)), IG_USER)
    (container,) = fake_graph.containers.values()
    assert container["media_type"] == "REELS" and container["video"] == VIDEO and container["caption"] == "Behind the scenes #making"
    create = next(r for r in fake_graph.requests if r["path"].endswith("/media") and r["method"] == "POST")
    assert create["form"] == {"media_type": ["REELS"], "video_url": [f"{base}/media/v.mp4"], "caption": ["Behind the scenes #making"],
                              "access_token": ["page-token-1"]}
    assert [m["id"] for m in fake_graph.media] == [receipt.post_id] and fake_graph.media[0]["media_type"] == "REELS"
    assert instagram.polls == [5.0]  # IN_PROGRESS once, then FINISHED


def test_a_carousel_mixes_images_and_video_items(instagram, fake_graph) -> None:
    fake_graph.fetch_images = True
    with serving(FILES) as base:
        instagram.publish(SocialPost(text="The collection", media=(f"{base}/media/a.jpg", f"{base}/media/v.mp4"),
                                     media_alt=("Red coat", "")), IG_USER)
    items = [c for c in fake_graph.containers.values() if c.get("carousel_item")]
    assert [(c["media_type"], c["alt_text"]) for c in items] == [("IMAGE", "Red coat"), ("VIDEO", None)]
    assert items[1]["video"] == VIDEO and len(fake_graph.media) == 1


def test_a_video_instagram_cannot_process_is_rejected_with_the_rules_and_publishes_nothing(instagram, fake_graph) -> None:
    fake_graph.fail_next("video", "processing_error")
    with pytest.raises(Rejected, match=r"video \(MP4, H.264, moov atom at the front, 3 seconds to 15 minutes\)"):
        instagram.publish(SocialPost(text="Broken", media=("https://cdn.example.com/media/v.mp4",)), IG_USER)
    fake_graph.fetch_images = True
    with serving(FILES) as base:
        with pytest.raises(Rejected, match="could not process the media"):
            instagram.publish(SocialPost(text="Not a video", media=(f"{base}/media/gone.mp4",)), IG_USER)
    assert fake_graph.media == [] and fake_graph.count("POST", r".*/media_publish") == 0


def test_a_video_waits_longer_than_an_image(fake_graph) -> None:
    fake_graph.container_statuses = ["IN_PROGRESS"] * 40 + ["FINISHED"]
    polls: list[float] = []
    publisher = InstagramPublisher(fake_graph.base_url(), poll_interval=5.0, max_polls=30, video_polls=60, sleep=polls.append, timeout=2.0)
    try:
        publisher.publish(SocialPost(text="Long render", media=("https://cdn.example.com/media/v.mp4",)), IG_USER)
    finally:
        publisher.close()
    assert len(polls) == 40 and len(fake_graph.media) == 1


def test_facebook_refuses_a_video_with_the_fix_before_sending_anything(fake_graph) -> None:
    facebook = FacebookPublisher(fake_graph.base_url(), timeout=2.0)
    try:
        with pytest.raises(Rejected, match="resumable upload.*post the video on Instagram, X or LinkedIn"):
            facebook.publish(SocialPost(text="Our film", media=("https://cdn.example.com/media/v.mp4",)), PAGE)
    finally:
        facebook.close()
    assert fake_graph.requests == []
