"""X video: chunked upload (initialize, append, finalize), STATUS polling, and faults, against the local fake."""

import pytest

from publishers.base import Credentials, SocialPost
from publishers.errors import Rejected, Retryable
from publishers.x import XPublisher
from tests.publishers.media_server import serving
from tests.publishers.mp4 import mp4

CREDS = Credentials.of("2244994945", "x-access-1", "x-refresh-1")
VIDEO = mp4(12.0, 1280, 720, mdat_bytes=2500)  # about 2.7 KB: three 1 KB segments


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def x(fake_x, slept):
    publisher = XPublisher(fake_x.url(), client_id="client-abc", timeout=2.0, chunk_size=1024, sleep=slept.append)
    yield publisher
    publisher.close()


def test_a_video_is_uploaded_in_segments_processed_then_posted_once(x, fake_x, slept) -> None:
    with serving({"v.mp4": (VIDEO, "video/mp4")}) as base:
        receipt = x.publish(SocialPost(text="Watch the new range", media=(f"{base}/media/v.mp4",)), CREDS)
    (tweet,) = fake_x.tweets
    assert receipt.post_id == tweet["id"]
    (media_id,) = tweet["media_ids"]
    upload = fake_x.uploads[media_id]
    assert upload["data"] == VIDEO and upload["category"] == "tweet_video" and upload["state"] == "succeeded"
    init = next(r for r in fake_x.requests if r["path"] == "/2/media/upload/initialize")
    assert init["json"] == {"media_type": "video/mp4", "total_bytes": len(VIDEO), "media_category": "tweet_video"}
    appends = [r for r in fake_x.requests if r["path"].endswith("/append")]
    assert [a["form"]["segment_index"] for a in appends] == [["0"], ["1"], ["2"]]
    statuses = [r for r in fake_x.requests if r["method"] == "GET" and r["path"] == "/2/media/upload"]
    assert [s["args"] for s in statuses] == [{"command": ["STATUS"], "media_id": [media_id]}] * 2  # pending -> in_progress -> succeeded
    assert slept == [1.0, 1.0]  # waited check_after_secs before each STATUS


def test_a_failing_segment_is_sent_again_and_the_video_still_posts_once(x, fake_x, slept) -> None:
    fake_x.fail_next("append", "500")
    with serving({"v.mp4": (VIDEO, "video/mp4")}) as base:
        x.publish(SocialPost(text="Segments retried", media=(f"{base}/media/v.mp4",)), CREDS)
    assert fake_x.created == 1
    assert fake_x.uploads[fake_x.tweets[0]["media_ids"][0]]["data"] == VIDEO
    assert fake_x.count("POST", r"/2/media/upload/\d+/append") == 4  # three segments, the first twice
    assert fake_x.count("POST", "/2/media/upload/initialize") == 1


def test_a_segment_that_keeps_failing_is_retryable_and_posts_nothing(x, fake_x) -> None:
    fake_x.fail_next("append", "500", times=3)
    with serving({"v.mp4": (VIDEO, "video/mp4")}) as base:
        with pytest.raises(Retryable, match="server error"):
            x.publish(SocialPost(text="Not yet", media=(f"{base}/media/v.mp4",)), CREDS)
        assert fake_x.created == 0
        x.publish(SocialPost(text="Not yet", media=(f"{base}/media/v.mp4",)), CREDS)  # the worker's retry: a new upload, one post
    assert fake_x.created == 1 and fake_x.count("POST", "/2/media/upload/initialize") == 2


def test_failed_processing_is_rejected_with_the_reason_and_posts_nothing(x, fake_x) -> None:
    fake_x.fail_next("finalize", "processing_failed")
    with serving({"v.mp4": (VIDEO, "video/mp4")}) as base:
        with pytest.raises(Rejected, match=r"could not process the video \(Unsupported video format\); export it again as MP4"):
            x.publish(SocialPost(text="Broken video", media=(f"{base}/media/v.mp4",)), CREDS)
    assert fake_x.created == 0


def test_processing_that_never_ends_is_retryable(fake_x, slept) -> None:
    fake_x.video_states = ["pending"] + ["in_progress"] * 10 + ["succeeded"]
    publisher = XPublisher(fake_x.url(), timeout=2.0, max_polls=3, sleep=slept.append)
    try:
        with serving({"v.mp4": (VIDEO, "video/mp4")}) as base:
            with pytest.raises(Retryable, match="still processing"):
                publisher.publish(SocialPost(text="Slow", media=(f"{base}/media/v.mp4",)), CREDS)
    finally:
        publisher.close()
    assert fake_x.created == 0 and len(slept) == 3


def test_a_video_with_images_or_a_second_video_is_refused_before_anything_is_sent(x, fake_x) -> None:
    with pytest.raises(Rejected, match="either images or one video"):
        x.publish(SocialPost(text="Mixed", media=("https://cdn.example.com/media/a.mp4", "https://cdn.example.com/media/b.jpg")), CREDS)
    with pytest.raises(Rejected, match="has 2 videos; x takes 1"):
        x.publish(SocialPost(text="Two", media=("https://cdn.example.com/media/a.mp4", "https://cdn.example.com/media/b.mp4")), CREDS)
    assert fake_x.requests == []


def test_a_file_that_is_not_a_video_is_rejected(x, fake_x) -> None:
    with serving({"v.mp4": (b"<html>", "text/html")}) as base:
        with pytest.raises(Rejected, match="not a video"):
            x.publish(SocialPost(text="hello", media=(f"{base}/media/v.mp4",)), CREDS)
    assert fake_x.requests == []


def test_the_wait_for_processing_is_bounded_in_seconds_too(fake_x, slept) -> None:
    fake_x.video_states = ["pending"] * 20 + ["succeeded"]
    publisher = XPublisher(fake_x.url(), timeout=2.0, max_wait=2.5, sleep=slept.append)
    try:
        with serving({"v.mp4": (VIDEO, "video/mp4")}) as base:
            with pytest.raises(Retryable, match="still processing video .* after 2 seconds"):
                publisher.publish(SocialPost(text="Slow", media=(f"{base}/media/v.mp4",)), CREDS)
    finally:
        publisher.close()
    assert slept == [1.0, 1.0] and fake_x.created == 0
