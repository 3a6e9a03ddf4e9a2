"""Graph API answers the Graph fake does not produce: bodies without an error object, permission and
transient codes, rate limits without the usage header, Graph timestamps, and answers without an id.

Each test serves the exact response from a local pytest-httpserver and drives the real client."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from publishers.base import Credentials, SocialPost
from publishers.errors import Ambiguous, AuthExpired, Rejected, Retryable
from publishers.facebook import FacebookPublisher
from publishers.graph import parse_time
from publishers.instagram import InstagramPublisher
from tests.publishers.fake_platforms import FakeGraph

PAGE = Credentials.of("104729", "page-token-1")
IG_USER = Credentials.of("17841400000", "page-token-1")
IMAGE = "https://cdn.example.com/winter.jpg"


@pytest.fixture
def facebook(httpserver: HTTPServer):
    publisher = FacebookPublisher(httpserver.url_for("/v21.0"), timeout=2.0)
    yield publisher
    publisher.close()


def _answer_feed(server: HTTPServer, body, status: int, headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    server.expect_oneshot_request("/v21.0/104729/feed", method="POST").respond_with_response(
        Response(text, status=status, headers=headers or {}, content_type=content_type))


def _graph_error(code: int, message: str = "boom", **extra) -> dict:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Fb1", **extra}}


def test_a_gateway_page_instead_of_a_graph_error_falls_back_to_the_status(facebook, httpserver) -> None:
    _answer_feed(httpserver, "<html>Bad Gateway</html>", 502, content_type="text/html")
    with pytest.raises(Retryable, match=r"server error \(502\)"):
        facebook.publish(SocialPost(text="hello"), PAGE)
    _answer_feed(httpserver, "<html>Gateway Timeout</html>", 504, content_type="text/html")
    with pytest.raises(Ambiguous, match=r"gateway timeout \(504\)"):  # the post request was sent: it may exist
        facebook.publish(SocialPost(text="hello"), PAGE)
    _answer_feed(httpserver, {"error": "not an object"}, 400)
    with pytest.raises(Rejected, match=r"refused \(400\)"):
        facebook.publish(SocialPost(text="hello"), PAGE)
    assert [r.form["message"] for r, _ in httpserver.log] == ["hello"] * 3


def test_a_missing_permission_asks_to_reconnect(facebook, httpserver) -> None:
    _answer_feed(httpserver, _graph_error(200, "(#200) Requires pages_manage_posts permission"), 403)
    with pytest.raises(AuthExpired, match=r"permission missing; reconnect the account .*code 200, fbtrace_id Fb1") as caught:
        facebook.publish(SocialPost(text="hello"), PAGE)
    assert caught.value.status_code == 403


def test_a_429_without_a_rate_limit_code_uses_retry_after(facebook, httpserver) -> None:
    _answer_feed(httpserver, _graph_error(9999, "slow down"), 429, headers={"Retry-After": "120"})
    with pytest.raises(Retryable, match="rate limited: slow down") as caught:
        facebook.publish(SocialPost(text="hello"), PAGE)
    assert caught.value.retry_after == 120.0 and caught.value.retry_at is None


@pytest.mark.parametrize("usage", [None, "not json", json.dumps({"1": "not a list of entries"})])
def test_a_rate_limit_without_a_readable_usage_header_has_no_wait(facebook, httpserver, usage) -> None:
    _answer_feed(httpserver, _graph_error(4, "(#4) Application request limit reached"), 400,
                 headers={"x-business-use-case-usage": usage} if usage else None)
    with pytest.raises(Retryable, match=r"\(#4\)") as caught:
        facebook.publish(SocialPost(text="hello"), PAGE)
    assert caught.value.retry_after is None and caught.value.retry_at is None


def test_a_transient_flag_makes_an_unknown_code_retryable(facebook, httpserver) -> None:
    _answer_feed(httpserver, _graph_error(1234, "please retry", is_transient=True), 400)
    with pytest.raises(Retryable, match=r"server error \(500\): please retry"):
        facebook.publish(SocialPost(text="hello"), PAGE)


def test_a_success_without_a_post_id_is_ambiguous(facebook, httpserver) -> None:
    _answer_feed(httpserver, {"success": True}, 200)
    with pytest.raises(Ambiguous, match="Graph answered 200 without a post id"):
        facebook.publish(SocialPost(text="hello"), PAGE)


def test_facebook_refuses_before_sending_what_it_cannot_attach(facebook, httpserver) -> None:
    with pytest.raises(Rejected, match="only 1 image per facebook post"):
        facebook.publish(SocialPost(text="two pictures", media=[IMAGE, IMAGE]), PAGE)
    assert httpserver.log == []


def test_recent_posts_ask_since_when_and_read_both_graph_time_formats(facebook, httpserver) -> None:
    since = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    httpserver.expect_oneshot_request("/v21.0/104729/feed", method="GET").respond_with_json({"data": [
        {"id": "104729_1", "message": "plain", "created_time": "2026-11-24T10:00:00+0000"},
        {"id": "104729_2", "message": "fractional", "created_time": "2026-11-24T10:00:00.250+0100"},
        {"id": "104729_3", "created_time": "yesterday"},
    ]})
    posts = facebook.recent_posts(PAGE, since=since)
    (request, _), = httpserver.log
    assert request.args["since"] == str(int(since.timestamp())) and request.headers["Authorization"] == "Bearer page-token-1"
    assert [(p.id, p.text, p.created_at) for p in posts] == [
        ("104729_1", "plain", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
        ("104729_2", "fractional", datetime(2026, 11, 24, 9, 0, 0, 250000, tzinfo=UTC)),
        ("104729_3", "", None),
    ]
    assert parse_time(None) is None and parse_time("") is None


def test_instagram_media_publish_without_an_id_is_ambiguous(httpserver) -> None:
    httpserver.expect_oneshot_request("/v21.0/17841400000/content_publishing_limit").respond_with_json(
        {"data": [{"quota_usage": 1, "config": {"quota_total": 25}}]})
    httpserver.expect_oneshot_request("/v21.0/17841400000/media", method="POST").respond_with_json({"id": "555"})
    httpserver.expect_oneshot_request("/v21.0/555").respond_with_json({"status_code": "FINISHED", "id": "555"})
    httpserver.expect_oneshot_request("/v21.0/17841400000/media_publish", method="POST").respond_with_json({"ok": True})
    instagram = InstagramPublisher(httpserver.url_for("/v21.0"), poll_interval=0, timeout=2.0)
    try:
        with pytest.raises(Ambiguous, match="media_publish answered 200 without a media id"):
            instagram.publish(SocialPost(text="caption", media=[IMAGE]), IG_USER)
    finally:
        instagram.close()
    assert httpserver.log[-1][0].form["creation_id"] == "555"


def test_instagram_gives_up_on_a_container_that_never_finishes(fake_graph: FakeGraph) -> None:
    fake_graph.container_statuses = ["IN_PROGRESS"] * 5
    polls: list[float] = []
    instagram = InstagramPublisher(fake_graph.base_url(), poll_interval=3.0, max_polls=3, sleep=polls.append, timeout=2.0)
    try:
        with pytest.raises(Retryable, match=r"still IN_PROGRESS after 3 checks"):
            instagram.publish(SocialPost(text="slow upload", media=[IMAGE]), IG_USER)
        assert instagram.parts(SocialPost(text="one caption\n---\nnot a thread", media=[IMAGE])) == ["one caption\n---\nnot a thread"]
        planned = instagram.planned_requests(SocialPost(text="c", media=[IMAGE]), "1784")
    finally:
        instagram.close()
    assert polls == [3.0, 3.0] and fake_graph.media == []
    assert fake_graph.count("GET", r"/v21.0/\d+") == 3 and fake_graph.count("POST", r"/v21.0/\d+/media_publish") == 0
    assert [(p.method, p.path) for p in planned] == [("GET", "/1784/content_publishing_limit"), ("POST", "/1784/media"),
                                                     ("GET", "/{container-id}"), ("POST", "/1784/media_publish")]
