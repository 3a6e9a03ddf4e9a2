"""Facebook Pages and Instagram against a local Graph API fake: request shapes, error objects, the container flow."""

import pytest

from publishers.base import Credentials, SocialPost
from publishers.errors import Ambiguous, AuthExpired, Duplicate, Rejected, Retryable
from publishers.facebook import FacebookPublisher
from publishers.instagram import InstagramPublisher

PAGE = Credentials.of("104729", "page-token-1")
IG_USER = Credentials.of("17841400000", "page-token-1")
IMAGE = "https://cdn.example.com/winter.jpg"


@pytest.fixture
def facebook(fake_graph):
    publisher = FacebookPublisher(fake_graph.base_url(), timeout=2.0)
    yield publisher
    publisher.close()


def test_feed_post_sends_message_link_and_token_as_form_fields(facebook, fake_graph) -> None:
    receipt = facebook.publish(SocialPost(text="Our winter range is here: https://shop.example.com/winter"), PAGE)
    request = fake_graph.requests[-1]
    assert request["method"] == "POST" and request["path"] == "/v21.0/104729/feed"
    assert request["form"] == {"message": ["Our winter range is here: https://shop.example.com/winter"],
                               "link": ["https://shop.example.com/winter"], "access_token": ["page-token-1"]}
    assert receipt.post_id == fake_graph.posts[0]["id"] and receipt.post_id.startswith("104729_")


def test_photo_post_uses_the_photos_edge(facebook, fake_graph) -> None:
    receipt = facebook.publish(SocialPost(text="Look", media=[IMAGE]), PAGE)
    assert fake_graph.requests[-1]["path"] == "/v21.0/104729/photos"
    assert fake_graph.requests[-1]["form"]["url"] == [IMAGE]
    assert receipt.post_id == fake_graph.posts[0]["id"]


@pytest.mark.parametrize(
    ("fault", "error", "match"),
    [
        ("expired_token", AuthExpired, r"Session has expired \(type OAuthException, code 190/463, fbtrace_id AbCdEfGh123\)"),
        ("invalid_param", Rejected, r"\(#100\) Invalid parameter"),
        ("500", Retryable, "unexpected error"),
    ],
)
def test_graph_error_objects_are_classified_by_code(facebook, fake_graph, fault, error, match) -> None:
    fake_graph.fail_next("feed", fault)
    with pytest.raises(error, match=match):
        facebook.publish(SocialPost(text="hello"), PAGE)
    assert fake_graph.posts == []


def test_duplicate_is_code_506_even_though_its_type_is_oauth(facebook, fake_graph) -> None:
    facebook.publish(SocialPost(text="same"), PAGE)
    with pytest.raises(Duplicate, match="code 506"):
        facebook.publish(SocialPost(text="same"), PAGE)


def test_rate_limit_waits_for_the_business_use_case_estimate(facebook, fake_graph) -> None:
    fake_graph.fail_next("feed", "rate_limit")
    with pytest.raises(Retryable) as caught:
        facebook.publish(SocialPost(text="hello"), PAGE)
    assert caught.value.retry_after == 7 * 60


def test_facebook_timeout_after_create_is_ambiguous_and_visible_in_the_feed(fake_graph) -> None:
    facebook = FacebookPublisher(fake_graph.base_url(), timeout=2.0)
    fake_graph.fail_next("feed_after", "timeout_after_create")
    with pytest.raises(Ambiguous):
        facebook.publish(SocialPost(text="maybe posted"), PAGE)
    assert [p.text for p in facebook.recent_posts(PAGE)] == ["maybe posted"]
    assert fake_graph.requests[-1]["headers"]["Authorization"] == "Bearer page-token-1"  # reads never put the token in the URL
    facebook.close()


def test_facebook_metrics(facebook, fake_graph) -> None:
    receipt = facebook.publish(SocialPost(text="measure me"), PAGE)
    assert facebook.fetch_metrics(receipt.post_id, PAGE).values == {"shares": 3, "reactions": 12, "comments": 4}


def test_instagram_checks_quota_creates_container_polls_until_finished_then_publishes(instagram, fake_graph) -> None:
    fake_graph.container_statuses = ["IN_PROGRESS", "IN_PROGRESS", "FINISHED"]
    receipt = instagram.publish(SocialPost(text="Snow day ❄️ #winter", media=[IMAGE]), IG_USER)
    steps = [(r["method"], r["path"].removeprefix("/v21.0")) for r in fake_graph.requests]
    container = receipt.detail["container_id"]
    assert steps == [
        ("GET", "/17841400000/content_publishing_limit"),
        ("POST", "/17841400000/media"),
        ("GET", f"/{container}"), ("GET", f"/{container}"), ("GET", f"/{container}"),
        ("POST", "/17841400000/media_publish"),
    ]
    assert fake_graph.requests[1]["form"] == {"image_url": [IMAGE], "caption": ["Snow day ❄️ #winter"], "access_token": ["page-token-1"]}
    assert fake_graph.requests[2]["args"] == {"fields": ["status_code"]}
    assert fake_graph.requests[-1]["form"]["creation_id"] == [container]
    assert instagram.polls == [5.0, 5.0]
    assert receipt.post_id == fake_graph.media[0]["id"]


def test_instagram_reads_its_publishing_limit_instead_of_assuming_one(instagram, fake_graph) -> None:
    fake_graph.quota_usage, fake_graph.quota_total = 100, 100
    with pytest.raises(Retryable, match="publishing limit reached \\(100 of 100"):
        instagram.publish(SocialPost(text="one more", media=[IMAGE]), IG_USER)
    assert fake_graph.containers == {}
    fake_graph.quota_usage, fake_graph.quota_total = 24, 25
    instagram.publish(SocialPost(text="one more", media=[IMAGE]), IG_USER)


@pytest.mark.parametrize(("status", "error"), [("ERROR", Rejected), ("EXPIRED", Retryable)])
def test_instagram_container_failure_never_publishes(instagram, fake_graph, status, error) -> None:
    fake_graph.container_statuses = ["IN_PROGRESS", status]
    with pytest.raises(error):
        instagram.publish(SocialPost(text="x", media=[IMAGE]), IG_USER)
    assert fake_graph.count("POST", r"/v21.0/\d+/media_publish") == 0 and fake_graph.media == []


def test_instagram_needs_an_image(instagram, fake_graph) -> None:
    with pytest.raises(Rejected, match="instagram needs an image"):
        instagram.publish(SocialPost(text="words only"), IG_USER)
    assert fake_graph.requests == []


def test_instagram_only_media_publish_can_be_ambiguous(fake_graph) -> None:
    instagram = InstagramPublisher(fake_graph.base_url(), poll_interval=0, timeout=2.0)
    fake_graph.fail_next("media_publish_after", "timeout_after_create")
    with pytest.raises(Ambiguous):
        instagram.publish(SocialPost(text="did it?", media=[IMAGE]), IG_USER)
    assert [p.text for p in instagram.recent_posts(IG_USER)] == ["did it?"]
    fake_graph.fail_next("media", "timeout_before_create")
    with pytest.raises(Retryable, match="no answer"):
        instagram.publish(SocialPost(text="container only", media=[IMAGE]), IG_USER)  # a lost container is never public
    instagram.close()


def test_instagram_metrics(instagram, fake_graph) -> None:
    receipt = instagram.publish(SocialPost(text="likes?", media=[IMAGE]), IG_USER)
    assert instagram.fetch_metrics(receipt.post_id, IG_USER).values == {"likes": 21, "comments": 5}


def _jpeg_server():
    import io
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1080, 1080), (200, 30, 60)).save(buffer, "JPEG")
    body = buffer.getvalue()

    class Images(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "image/jpeg")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/media", body


def test_instagram_carousel_with_alt_text_publishes_once_after_every_item_is_ready(instagram, fake_graph) -> None:
    fake_graph.fetch_images = True  # the fake downloads each image_url, as Instagram does
    server, base, body = _jpeg_server()
    try:
        post = SocialPost(text="Three looks for the weekend", media=[f"{base}/1.jpg", f"{base}/2.jpg", f"{base}/3.jpg"],
                          media_alt=["Red coat", "", "Green scarf"])
        receipt = instagram.publish(post, IG_USER)
    finally:
        server.shutdown()
        server.server_close()
    items = [c for c in fake_graph.containers.values() if c.get("carousel_item")]
    assert [c["image"] for c in items] == [body] * 3
    assert [c["alt_text"] for c in items] == ["Red coat", None, "Green scarf"]
    (carousel,) = [c for c in fake_graph.containers.values() if "children" in c]
    assert carousel["caption"] == "Three looks for the weekend" and len(carousel["children"]) == 3
    assert fake_graph.media == [m for m in fake_graph.media if m["id"] == receipt.post_id] and len(fake_graph.media) == 1
    assert fake_graph.media[0]["children"] == carousel["children"]


def test_instagram_image_it_cannot_fetch_fails_the_container_and_publishes_nothing(instagram, fake_graph) -> None:
    fake_graph.fetch_images = True
    with pytest.raises(Rejected, match="could not process the media"):
        instagram.publish(SocialPost(text="hello", media=["http://127.0.0.1:9/media/missing.jpg"], media_alt=["x"]), IG_USER)
    assert fake_graph.media == []
