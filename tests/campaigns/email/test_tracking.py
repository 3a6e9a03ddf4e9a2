"""Pure rewriting and signing of first-party email tracking, checked against hand-made HTML and an independent HMAC."""

from __future__ import annotations

import hashlib
import hmac
import io
import re

import pytest
from cryptography.fernet import Fernet
from PIL import Image

from campaigns.email.tracking import (
    PIXEL,
    TRANSPARENT_GIF,
    TrackingSigner,
    TrackingTokenError,
    add_pixel,
    click_url,
    open_url,
    redirect_location,
    rewrite_links,
    track_html,
)

KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
SIGNER = TrackingSigner.from_keys(KEY)


def _expected_signature(key: str, ec_id: int, url: str) -> str:
    # independent reference: the derivation spelled out by hand
    derived = hmac.new(key.encode(), b"campaigns/email-tracking-click/v1", hashlib.sha256).digest()
    return hmac.new(derived, f"{ec_id}\n{url}".encode(), hashlib.sha256).hexdigest()[:32]


HTML = """<html><head><link href="https://cdn.example/style.css" rel="stylesheet"></head><body>
<p><a href="https://shop.example/boots?size=42&amp;colour=red" style="color:#000">Boots</a></p>
<p><a class="btn" href='http://shop.example/sale'>Sale</a></p>
<p><a href="mailto:help@shop.example">Mail us</a> <a href="#top">Top</a> <a href="tel:+3312345">Call</a></p>
<p><a href="https://shop.example/me?e={{email}}">Me</a></p>
<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p>
</body></html>"""


def test_links_are_rewritten_with_a_signature_and_the_rest_untouched() -> None:
    out = track_html(HTML, 17, SIGNER)
    boots = "https://shop.example/boots?size=42&colour=red"  # the attribute's &amp; is the URL's &
    assert ('href="{{click_url}}&amp;u=https%3A%2F%2Fshop.example%2Fboots%3Fsize%3D42%26colour%3Dred'
            f'&amp;s={_expected_signature(KEY, 17, boots)}" style="color:#000"') in out
    assert f"href='{{{{click_url}}}}&amp;u=http%3A%2F%2Fshop.example%2Fsale&amp;s={_expected_signature(KEY, 17, 'http://shop.example/sale')}'" in out
    for untouched in ('href="mailto:help@shop.example"', 'href="#top"', 'href="tel:+3312345"', 'href="{{unsubscribe_url}}"',
                      'href="https://shop.example/me?e={{email}}"', 'href="https://cdn.example/style.css"'):
        assert untouched in out
    assert out.count("{{click_url}}") == 2
    # the pixel sits right before </body>, once
    assert out.count(PIXEL) == 1 and out.endswith(PIXEL + "</body></html>")
    assert PIXEL == '<img src="{{open_url}}" width="1" height="1" alt="" style="display:block;border:0">'


def test_signature_depends_on_campaign_and_url_and_key() -> None:
    url = "https://shop.example/a"
    assert SIGNER.click_ok(3, url, _expected_signature(KEY, 3, url))
    assert not SIGNER.click_ok(4, url, _expected_signature(KEY, 3, url))  # another email campaign
    assert not SIGNER.click_ok(3, "https://evil.example/a", _expected_signature(KEY, 3, url))  # tampered u
    assert not SIGNER.click_ok(3, url, "0" * 32) and not SIGNER.click_ok(3, url, "")
    # rotation: a new key first still verifies links signed with the old one
    rotated = TrackingSigner.from_keys(f"{NEW_KEY}, {KEY}")
    assert rotated.click_ok(3, url, _expected_signature(KEY, 3, url))
    assert rotated.click_signature(3, url) == _expected_signature(NEW_KEY, 3, url)


def test_pixel_without_body_goes_at_the_end_and_only_before_the_last_body() -> None:
    assert add_pixel("<p>hi</p>") == "<p>hi</p>" + PIXEL
    assert add_pixel("<BODY>x</BODY >") == "<BODY>x" + PIXEL + "</BODY >"
    assert rewrite_links("<p>no links</p>", 1, SIGNER) == "<p>no links</p>"


def test_tokens_name_the_send_only_and_refuse_tampering() -> None:
    token = SIGNER.token(12345)
    assert re.fullmatch(r"t1\.12345\.[A-Za-z0-9_-]{16}", token)
    assert SIGNER.send_id(token) == 12345
    forged = "t1.12346." + token.rsplit(".", 1)[1]
    for bad in (forged, "t1.12345.AAAAAAAAAAAAAAAA", "u1.12345." + token.rsplit(".", 1)[1], "", "garbage", token + "x"):
        with pytest.raises(TrackingTokenError):
            SIGNER.send_id(bad)
    with pytest.raises(TrackingTokenError):
        TrackingSigner.from_keys(NEW_KEY).send_id(token)
    assert open_url("https://t.example/", token) == f"https://t.example/t/o/{token}"
    assert click_url("https://t.example", token) == f"https://t.example/t/c/{token}?"


def test_gif_is_one_transparent_pixel_and_location_is_header_safe() -> None:
    image = Image.open(io.BytesIO(TRANSPARENT_GIF))
    assert image.format == "GIF" and image.size == (1, 1)
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0
    assert redirect_location("https://shop.example/a?b=1&c=%20d#e") == "https://shop.example/a?b=1&c=%20d#e"
    assert redirect_location("https://shop.example/é\r\nSet-Cookie: x") == "https://shop.example/%C3%A9%0D%0ASet-Cookie:%20x"
