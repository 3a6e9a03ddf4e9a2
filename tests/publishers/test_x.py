"""X client against a local fake speaking API v2: posts, threads, faults, refresh, reconciliation, metrics."""

from datetime import UTC, datetime

import pytest

from publishers.base import Credentials, SocialPost
from publishers.errors import Ambiguous, AuthExpired, Duplicate, Rejected, Retryable
from publishers.text import fingerprint
from publishers.x import XPublisher


@pytest.fixture
def x(fake_x):
    publisher = XPublisher(fake_x.url(), client_id="client-abc", timeout=2.0)
    yield publisher
    publisher.close()


CREDS = Credentials.of("2244994945", "x-access-1", "x-refresh-1")


def test_post_sends_v2_json_with_bearer_and_returns_the_id(x, fake_x) -> None:
    receipt = x.publish(SocialPost(text="Winter sale starts now"), CREDS)
    assert receipt.post_id == fake_x.tweets[0]["id"] and receipt.sandbox is False
    assert receipt.url == f"https://x.com/i/web/status/{receipt.post_id}"
    request = fake_x.requests[-1]
    assert request["json"] == {"text": "Winter sale starts now"}
    assert request["headers"]["Authorization"] == "Bearer x-access-1"


def test_thread_replies_to_the_previous_part(x, fake_x) -> None:
    receipt = x.publish(SocialPost(text="1/3 Our story\n---\n2/3 The middle\n---\n3/3 The end"), CREDS)
    ids = [t["id"] for t in fake_x.tweets]
    assert receipt.post_ids == tuple(ids) and len(ids) == 3
    assert [t["reply_to"] for t in fake_x.tweets] == [None, ids[0], ids[1]]
    assert fake_x.requests[1]["json"] == {"text": "2/3 The middle", "reply": {"in_reply_to_tweet_id": ids[0]}}


def test_thread_resumes_after_the_parts_already_posted(x, fake_x) -> None:
    first = fake_x.add_tweet("1/2 Start")
    receipt = x.publish(SocialPost(text="1/2 Start\n---\n2/2 Finish", posted_part_ids=(first,)), CREDS)
    assert fake_x.created == 2 and receipt.post_ids[0] == first
    assert fake_x.tweets[1]["reply_to"] == first


def test_500_is_retryable_and_creates_nothing(x, fake_x) -> None:
    fake_x.fail_next("create", "500")
    with pytest.raises(Retryable, match=r"server error \(500\)"):
        x.publish(SocialPost(text="hello"), CREDS)
    assert fake_x.created == 0


def test_429_carries_the_reset_time_from_x_rate_limit_reset(x, fake_x) -> None:
    fake_x.fail_next("create", "429")
    with pytest.raises(Retryable) as caught:
        x.publish(SocialPost(text="hello"), CREDS)
    assert caught.value.retry_at == datetime.fromtimestamp(fake_x.reset_epoch, UTC)
    assert caught.value.status_code == 429


def test_timeout_after_the_post_was_created_is_ambiguous(fake_x) -> None:
    x = XPublisher(fake_x.url(), timeout=2.0)
    fake_x.fail_next("create", "timeout_after_create")
    with pytest.raises(Ambiguous, match="may have been posted"):
        x.publish(SocialPost(text="did it go out?"), CREDS)
    assert fake_x.created == 1  # it did: only reconciliation can tell
    found = x.recent_posts(CREDS, since=datetime(2020, 1, 1, tzinfo=UTC))
    assert [p.text for p in found] == ["did it go out?"]
    x.close()


def test_thread_failure_reports_the_parts_already_posted(x, fake_x) -> None:
    fake_x.fail_next("create", "ok")  # first part passes
    fake_x.faults["create"].append("500")
    with pytest.raises(Retryable) as caught:
        x.publish(SocialPost(text="one\n---\ntwo"), CREDS)
    assert caught.value.partial_ids == (fake_x.tweets[0]["id"],)


def test_connection_refused_is_retryable(closed_port) -> None:
    x = XPublisher(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(Retryable, match="nothing was sent"):
        x.publish(SocialPost(text="hello"), CREDS)


def test_duplicate_content_is_terminal(x, fake_x) -> None:
    fake_x.add_tweet("same words")
    with pytest.raises(Duplicate, match="duplicate content"):
        x.publish(SocialPost(text="same words"), CREDS)


def test_401_then_refresh_rotates_both_tokens(x, fake_x) -> None:
    fake_x.fail_next("create", "401")
    with pytest.raises(AuthExpired):
        x.publish(SocialPost(text="hello"), CREDS)
    fresh = x.refresh(CREDS)
    assert fresh.access_token.get_secret_value() == "x-access-2" and fresh.refresh_token.get_secret_value() == "x-refresh-2"
    token_request = fake_x.requests[-1]
    assert token_request["form"] == {"grant_type": ["refresh_token"], "refresh_token": ["x-refresh-1"], "client_id": ["client-abc"]}
    assert x.publish(SocialPost(text="hello"), fresh).post_id == fake_x.tweets[0]["id"]
    with pytest.raises(AuthExpired, match="refused the refresh token"):
        x.refresh(CREDS)  # the old refresh token died with the rotation


def test_refresh_needs_a_client_id_and_a_refresh_token(fake_x) -> None:
    with pytest.raises(AuthExpired, match="CAMPAIGNS_X_CLIENT_ID"):
        XPublisher(fake_x.url()).refresh(CREDS)
    with pytest.raises(AuthExpired, match="no refresh token"):
        XPublisher(fake_x.url(), client_id="client-abc").refresh(Credentials.of("1", "x-access-1"))


def test_too_long_is_rejected_before_sending(x, fake_x) -> None:
    with pytest.raises(Rejected, match="281 weighted characters"):
        x.publish(SocialPost(text="a" * 281), CREDS)
    assert fake_x.requests == []


def test_recent_posts_by_handle_look_up_the_user_and_match_by_fingerprint(x, fake_x) -> None:
    fake_x.add_tweet("Tea & cake at https://shop.example.com/cafe?utm_source=x.com")
    posts = x.recent_posts(Credentials.of("@acme", "x-access-1"))
    assert fake_x.count("GET", "/2/users/me") == 1
    assert posts[0].text.startswith("Tea &amp; cake at https://t.co/")
    assert fingerprint(posts[0].text) == fingerprint("Tea & cake at https://shop.example.com/cafe?utm_source=x.com&utm_content=post-1")


def test_metrics(x, fake_x) -> None:
    tweet_id = fake_x.add_tweet("measured")
    metrics = x.fetch_metrics(tweet_id, CREDS)
    assert metrics.values == {"retweet_count": 2, "reply_count": 1, "like_count": 7, "quote_count": 0}


def test_tokens_never_appear_in_errors_or_reprs(fake_x) -> None:
    secret = Credentials.of("1", "x-access-SECRET-123", "x-refresh-SECRET-456")
    x = XPublisher(fake_x.url(), client_id="client-abc")
    with pytest.raises(AuthExpired) as caught:
        x.publish(SocialPost(text="hello"), secret)
    assert "SECRET" not in str(caught.value) and "SECRET" not in repr(secret) and "SECRET" not in repr(x)
    with pytest.raises(AuthExpired) as caught:
        x.refresh(secret)
    assert "SECRET" not in str(caught.value)


def _image_server(body: bytes, content_type: str = "image/png"):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class Images(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            found = self.path.startswith("/media/")
            self.send_response(200 if found else 404)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *a) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_images_are_uploaded_with_alt_text_and_attached_to_the_first_part(x, fake_x) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    server, base = _image_server(png)
    try:
        post = SocialPost(text="1/2 New range\n---\n2/2 In store now", media=(f"{base}/media/a.png", f"{base}/media/b.png"),
                          media_alt=("Blue jacket on a hanger", ""))
        receipt = x.publish(post, CREDS)
    finally:
        server.shutdown()
        server.server_close()
    assert len(receipt.post_ids) == 2
    first, second = fake_x.tweets
    assert len(first["media_ids"]) == 2 and second["media_ids"] == []
    uploads = [fake_x.uploads[m] for m in first["media_ids"]]
    assert [u["data"] for u in uploads] == [png, png] and {u["category"] for u in uploads} == {"tweet_image"}
    assert [u["alt_text"] for u in uploads] == ["Blue jacket on a hanger", None]  # alt text only where given


def test_a_missing_image_is_rejected_before_anything_is_posted(x, fake_x) -> None:
    server, base = _image_server(b"")
    try:
        with pytest.raises(Rejected, match="answered HTTP 404"):
            x.publish(SocialPost(text="hello", media=(f"{base}/gone.png",)), CREDS)
        with pytest.raises(Rejected, match="not an image"):
            _server, other = _image_server(b"<html>", "text/html")
            try:
                x.publish(SocialPost(text="hello", media=(f"{other}/media/page",)), CREDS)
            finally:
                _server.shutdown()
                _server.server_close()
    finally:
        server.shutdown()
        server.server_close()
    assert fake_x.created == 0 and fake_x.uploads == {}


def test_an_upload_outage_is_retryable_and_posts_nothing(x, fake_x) -> None:
    server, base = _image_server(b"GIF89a" + b"\0" * 16, "image/gif")
    fake_x.fail_next("upload", "500")
    try:
        with pytest.raises(Retryable):
            x.publish(SocialPost(text="hello", media=(f"{base}/media/a.gif",)), CREDS)
        receipt = x.publish(SocialPost(text="hello", media=(f"{base}/media/a.gif",)), CREDS)  # the retry uploads again and posts once
    finally:
        server.shutdown()
        server.server_close()
    assert fake_x.created == 1 and fake_x.tweets[0]["id"] == receipt.post_id
    assert [fake_x.uploads[m]["category"] for m in fake_x.tweets[0]["media_ids"]] == ["tweet_gif"]
