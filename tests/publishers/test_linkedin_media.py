"""LinkedIn media: the Images API (with altText) and the Videos API (parts, ETags, finalize, status), with faults."""

import pytest

from publishers.base import Credentials, SocialPost
from publishers.errors import Rejected, Retryable
from publishers.linkedin import LinkedInPublisher
from tests.publishers.media_server import serving
from tests.publishers.mp4 import mp4

ORG = Credentials.of("urn:li:organization:5515715", "li-token-1")
VIDEO = mp4(12.0, 1280, 720, mdat_bytes=2500)  # three parts of the fake's 1 KB
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
FILES = {"v.mp4": (VIDEO, "video/mp4"), "a.png": (PNG, "image/png"), "b.png": (PNG + b"b", "image/png")}


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def linkedin(fake_linkedin, slept):
    publisher = LinkedInPublisher(fake_linkedin.url(), api_version="202510", timeout=2.0, poll_interval=0.5, sleep=slept.append)
    yield publisher
    publisher.close()


def test_one_image_is_uploaded_and_the_post_names_its_urn_with_alt_text(linkedin, fake_linkedin) -> None:
    with serving(FILES) as base:
        receipt = linkedin.publish(SocialPost(text="New tote", media=(f"{base}/media/a.png",), media_alt=("A canvas tote",)), ORG)
    (post,) = fake_linkedin.posts
    assert receipt.post_id == post["id"]
    urn = post["content"]["media"]["id"]
    assert post["content"] == {"media": {"id": urn, "altText": "A canvas tote"}}
    assert fake_linkedin.images[urn]["data"] == PNG and fake_linkedin.images[urn]["owner"] == ORG.account_ref
    init = next(r for r in fake_linkedin.requests if r["path"] == "/rest/images")
    assert init["args"] == {"action": ["initializeUpload"]} and init["json"] == {"initializeUploadRequest": {"owner": ORG.account_ref}}
    assert init["headers"]["Linkedin-Version"] == "202510"
    put = next(r for r in fake_linkedin.requests if r["method"] == "PUT")
    assert put["headers"]["Authorization"] == "Bearer li-token-1"


def test_several_images_become_a_multi_image_post_with_alt_text_where_given(linkedin, fake_linkedin) -> None:
    with serving(FILES) as base:
        linkedin.publish(SocialPost(text="Two views", media=(f"{base}/media/a.png", f"{base}/media/b.png"), media_alt=("Front", "")), ORG)
    images = fake_linkedin.posts[0]["content"]["multiImage"]["images"]
    assert [i.get("altText") for i in images] == ["Front", None]
    assert [fake_linkedin.images[i["id"]]["data"] for i in images] == [PNG, PNG + b"b"]


def test_a_video_is_uploaded_in_parts_finalized_with_etags_and_posted_when_available(linkedin, fake_linkedin, slept) -> None:
    with serving(FILES) as base:
        linkedin.publish(SocialPost(text="Watch (30s) #new", media=(f"{base}/media/v.mp4",)), ORG)
    (post,) = fake_linkedin.posts
    urn = post["content"]["media"]["id"]
    assert urn.startswith("urn:li:video:") and post["content"] == {"media": {"id": urn}}
    assert fake_linkedin.video_bytes(urn) == VIDEO
    init = next(r for r in fake_linkedin.requests if r["path"] == "/rest/videos" and r["args"]["action"] == ["initializeUpload"])
    assert init["json"]["initializeUploadRequest"] == {"owner": ORG.account_ref, "fileSizeBytes": len(VIDEO), "uploadCaptions": False,
                                                       "uploadThumbnail": False}
    final = next(r for r in fake_linkedin.requests if r["args"].get("action") == ["finalizeUpload"])
    assert final["json"]["finalizeUploadRequest"]["uploadedPartIds"] == [f"/ambry-video/signedId/{urn.rsplit(':', 1)[1]}-{n}" for n in range(3)]
    assert all("Authorization" not in r["headers"] for r in fake_linkedin.requests if r["method"] == "PUT")  # the URL carries the grant
    assert slept == [0.5]  # PROCESSING once, then AVAILABLE


def test_a_failing_part_is_sent_again(linkedin, fake_linkedin) -> None:
    fake_linkedin.fail_next("upload", "500")
    with serving(FILES) as base:
        linkedin.publish(SocialPost(text="Part retried", media=(f"{base}/media/v.mp4",)), ORG)
    assert len(fake_linkedin.posts) == 1 and fake_linkedin.count("PUT", r"/dms-uploads/video/.*") == 4
    assert fake_linkedin.video_bytes(fake_linkedin.posts[0]["content"]["media"]["id"]) == VIDEO


def test_expired_upload_urls_start_one_fresh_upload_and_the_post_goes_out_once(linkedin, fake_linkedin) -> None:
    fake_linkedin.fail_next("upload", "expired")
    with serving(FILES) as base:
        linkedin.publish(SocialPost(text="Fresh URLs", media=(f"{base}/media/v.mp4",)), ORG)
    assert len(fake_linkedin.posts) == 1 and len(fake_linkedin.videos) == 2  # the expired upload was abandoned
    fake_linkedin.fail_next("upload", "expired", times=2)
    with serving(FILES) as base:
        with pytest.raises(Retryable, match="refused the upload URL.*twice"):
            linkedin.publish(SocialPost(text="Still expired", media=(f"{base}/media/a.png",)), ORG)
    assert len(fake_linkedin.posts) == 1


def test_failed_processing_is_rejected_with_linkedins_reason_and_posts_nothing(linkedin, fake_linkedin) -> None:
    fake_linkedin.fail_next("finalize", "processing_failed")
    with serving(FILES) as base:
        with pytest.raises(Rejected, match=r"could not process the video \(Video format not supported\)"):
            linkedin.publish(SocialPost(text="Broken", media=(f"{base}/media/v.mp4",)), ORG)
    assert fake_linkedin.posts == []


def test_a_video_cannot_share_a_post_with_images(linkedin, fake_linkedin) -> None:
    with pytest.raises(Rejected, match="either images or one video"):
        linkedin.publish(SocialPost(text="Mixed", media=("https://cdn.example.com/media/v.mp4", "https://cdn.example.com/media/a.png")), ORG)
    assert fake_linkedin.requests == []


def test_the_sandbox_plan_lists_the_uploads_before_the_post(linkedin) -> None:
    planned = linkedin.planned_requests(SocialPost(text="hi", media=("https://cdn.example.com/media/v.mp4",)), ORG.account_ref)
    assert [p.path for p in planned] == ["/rest/videos?action=initializeUpload", "<each uploadUrl>", "/rest/videos?action=finalizeUpload",
                                         "/rest/videos/<video urn 1>", "/rest/posts"]
    assert planned[-1].body["content"] == {"media": {"id": "<video urn 1>"}}
