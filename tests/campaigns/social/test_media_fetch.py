"""A post's image fetched over real HTTP (bounded in size and time) or from its file, and fitted to a platform's rules."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Response

from campaigns.social import media_fetch
from campaigns.social.accounts import QueueError
from campaigns.social.media import read_image
from publishers.limits import ImageFacts, check_image


def picture(kind: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 30, 160)).save(buffer, kind)
    return buffer.getvalue()


def test_an_image_is_fetched_by_url_following_redirects(httpserver: HTTPServer) -> None:
    data = picture("PNG", (200, 100))
    httpserver.expect_request("/old.png").respond_with_response(Response(status=301, headers={"Location": httpserver.url_for("/new.png")}))
    httpserver.expect_request("/new.png").respond_with_data(data, content_type="image/png")
    assert media_fetch.fetch_image(httpserver.url_for("/old.png")) == data


def test_too_large_missing_and_slow_images_are_refused_with_the_fix(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big.jpg").respond_with_data(b"x" * 5000, content_type="image/jpeg")
    httpserver.expect_request("/gone.jpg").respond_with_data("no", status=404)

    def slow(request):
        time.sleep(1.5)
        return Response(b"late", content_type="image/jpeg")

    httpserver.expect_request("/slow.jpg").respond_with_handler(slow)
    with pytest.raises(QueueError, match="the limit is 0 MB: use a smaller image"):
        media_fetch.fetch_image(httpserver.url_for("/big.jpg"), max_bytes=1000)
    with pytest.raises(QueueError, match="answered HTTP 404; fix the image's address in the post"):
        media_fetch.fetch_image(httpserver.url_for("/gone.jpg"))
    with pytest.raises(QueueError, match="did not arrive within 0 s"):
        media_fetch.fetch_image(httpserver.url_for("/slow.jpg"), timeout=0.3)


def test_a_streamed_body_over_the_limit_is_cut_off(httpserver: HTTPServer) -> None:
    def chunked(request):
        return Response((b"y" * 1000 for _ in range(10)), content_type="image/jpeg", direct_passthrough=True)  # no Content-Length

    httpserver.expect_request("/stream.jpg").respond_with_handler(chunked)
    with pytest.raises(QueueError, match="is over 0 MB"):
        media_fetch.fetch_image(httpserver.url_for("/stream.jpg"), max_bytes=2500)


def test_local_files_must_be_absolute_and_readable(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(picture("PNG", (10, 10)))
    assert media_fetch.fetch_image(str(tmp_path / "a.png")).startswith(b"\x89PNG")
    with pytest.raises(QueueError, match="neither an http\\(s\\) URL nor an absolute file path"):
        media_fetch.fetch_image("a.png")
    with pytest.raises(QueueError, match="cannot read image .*put the file back next to the post"):
        media_fetch.fetch_image(str(tmp_path / "missing.png"))


@pytest.mark.parametrize("size", [(1600, 800), (600, 1200), (1080, 1080)])
def test_instagram_gets_a_jpeg_inside_its_aspect_range_and_x_the_original(size) -> None:
    original = picture("PNG", size)
    fitted = media_fetch.fit_image("instagram", original, "hero.png")
    facts = read_image(fitted, "fitted")
    assert facts.mime == "image/jpeg" and check_image("instagram", facts, "alt") == []
    assert media_fetch.fit_image("x", original, "hero.png") == original  # X takes PNG of these shapes as it is
    jpeg = picture("JPEG", (1080, 1080))
    assert media_fetch.fit_image("instagram", jpeg, "ok.jpg") == jpeg
    assert isinstance(facts, ImageFacts)


def test_a_redirect_to_a_link_local_address_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hop.jpg").respond_with_response(
        Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    with pytest.raises(QueueError, match="points at a link-local address"):
        media_fetch.fetch_image(httpserver.url_for("/hop.jpg"), timeout=2)
