"""First-party open and click tracking end to end: a sandbox send with tracking on, then real HTTP GETs
against the `serve-unsubscribe` app on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import http.client
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote, urlparse

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from campaigns.email.layout import with_layout
from campaigns.email.tracking import TRANSPARENT_GIF
from campaigns.lifecycle import service as campaign_service
from campaigns.email import broadcasts, config, delivery, errors, recipients, rendering
from campaigns.email.results import email_results
from campaigns.api.app import create_app
from tests.campaigns.api.live import LiveServer
from campaigns.audiences.segments import save_segment
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactEvent, EmailSend, EmailTemplate, Merchant
from publishers.base import fill_placeholders
from publishers.sandbox import read_outbox

KEY = Fernet.generate_key().decode()
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PUBLIC = "https://track.acme.example"
BOOTS = "https://shop.acme.example/boots?size=42&colour=red"
SALE = "http://shop.acme.example/sale"
TEMPLATE = (f'<p>Hi {{{{ first_name }}}}</p><p><a href="{html.escape(BOOTS)}">Boots</a> <a href="{SALE}">Sale</a> '
            '<a href="mailto:help@acme.example">Help</a></p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>')


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(home=tmp_path / "home", token_key=KEY, **overrides)


def _seed(url: str, name: str, n: int = 3) -> int:
    with session_scope(url) as s:
        if not s.scalars(select(Contact.id).where(Contact.merchant_id == "acme")).first():
            s.add_all([Contact(merchant_id="acme", email=f"user{i}@example.com", first_name=f"Name{i}") for i in range(n)])
        s.add(EmailTemplate(merchant_id="acme", name=f"{name} template", html=TEMPLATE))
        s.flush()
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name=name, type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", f"{name} audience", {}, actor="ana")
        ec_id = broadcasts.create_email_campaign(s, "acme", campaign_id=campaign.id, segment_id=segment.id, subject="Winter is here",
                                               actor="ana", template_name=f"{name} template").id
    with session_scope(url) as s:
        recipients.prepare_send(s, "acme", ec_id, "ana", now=T0)
    return ec_id


def _send(url: str, settings: Settings, ec_id: int) -> dict:
    report = delivery.deliver(url, settings, ec_id, "w1", T0, provider="sandbox")
    assert report.outcomes == {"SENT": 3}
    entries = [e for e in read_outbox(settings.home_path / "outbox" / "email.jsonl") if e["message"]["tag"] == f"email-campaign-{ec_id}"]
    assert len(entries) == 1
    return entries[0]


def _personal_html(entry: dict, email: str) -> str:
    recipient = next(r for r in entry["recipients"] if r["email"] == email)
    return fill_placeholders(entry["message"]["html"], recipient["variables"], escape=True)  # what SMTP puts in the mail


def _path(public_link: str) -> str:
    parts = urlparse(html.unescape(public_link))
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def served(store_url: str, tmp_path) -> Iterator[tuple[str, int]]:
    settings = _settings(tmp_path)
    with LiveServer(create_app(settings, store_url, api=False)) as server:  # what `campaigns email serve-unsubscribe` serves
        yield store_url, server.port


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # never follows redirects
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _events(url: str) -> list[ContactEvent]:
    with session_scope(url) as s:
        return list(s.scalars(select(ContactEvent).where(ContactEvent.kind.in_(("opened", "clicked"))).order_by(ContactEvent.id)))


def _send_ids(url: str, ec_id: int) -> dict[str, int]:
    with session_scope(url) as s:
        return {r.email: r.id for r in s.scalars(select(EmailSend).where(EmailSend.email_campaign_id == ec_id))}


def test_pixel_and_click_record_once_and_redirect_exactly(served, tmp_path) -> None:
    url, port = served
    ec_id = _seed(url, "Winter")
    entry = _send(url, _settings(tmp_path, email_tracking=True, public_url=PUBLIC), ec_id)
    ids = _send_ids(url, ec_id)
    assert "user0@example.com" not in entry["message"]["html"]  # the campaign HTML is shared; tokens never hold the address
    mail0 = _personal_html(entry, "user0@example.com")
    pixel = re.search(r'<img src="([^"]+)" width="1" height="1"', mail0).group(1)
    links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', mail0)]
    assert "mailto:help@acme.example" in links and any("/unsubscribe?token=" in h for h in links)
    tracked = [h for h in links if "/t/c/" in h]
    assert len(tracked) == 2 and "user0" not in pixel + "".join(tracked)

    # the pixel, fetched twice: one GIF each time, one open stored
    for _ in range(2):
        status, headers, body = _get(port, _path(pixel))
        assert status == 200 and body == TRANSPARENT_GIF and headers["content-type"] == "image/gif"
        assert "no-store" in headers["cache-control"] and "no-cache" in headers["cache-control"]
    events = _events(url)
    assert [(e.kind, e.event_key, e.email_campaign_id) for e in events] == [("opened", f"track:open:{ids['user0@example.com']}", ec_id)]

    # the click: 302 to the exact URL of the template, recorded once even when clicked again
    for _ in range(2):
        status, headers, _ = _get(port, _path(tracked[0]))
        assert status == 302 and headers["location"] == BOOTS
    clicks = [e for e in _events(url) if e.kind == "clicked"]
    assert len(clicks) == 1 and clicks[0].details["url"] == BOOTS and clicks[0].email_campaign_id == ec_id
    with session_scope(url) as s:
        contact0 = s.scalar(select(Contact.id).where(Contact.email == "user0@example.com"))
    assert clicks[0].contact_id == contact0

    # another recipient clicks the second link with images blocked: the click also counts as an open
    mail1 = _personal_html(entry, "user1@example.com")
    link1 = next(html.unescape(h) for h in re.findall(r'href="([^"]+)"', mail1) if "/t/c/" in h and "sale" in h)
    status, headers, _ = _get(port, _path(link1))
    assert status == 302 and headers["location"] == SALE
    keys = {e.event_key for e in _events(url)}
    assert f"track:open:{ids['user1@example.com']}" in keys and len(keys) == 4

    with session_scope(url) as s:
        (result,) = email_results(s, "acme")
    assert (result.sent, result.opened, result.clicked) == (3, 2, 2)
    assert result.open_rate == pytest.approx(2 / 3)


def test_tampered_links_are_refused_and_bad_pixels_write_nothing(served, tmp_path) -> None:
    url, port = served
    ec_id = _seed(url, "Spring")
    entry = _send(url, _settings(tmp_path, email_tracking=True, public_url=PUBLIC), ec_id)
    link = next(html.unescape(h) for h in re.findall(r'href="([^"]+)"', _personal_html(entry, "user2@example.com")) if "/t/c/" in h)
    path = _path(link)
    evil = path.replace(quote(BOOTS, safe=""), quote("https://evil.example/phish", safe=""))
    assert evil != path
    token = re.search(r"/t/c/([^?]+)", path).group(1)
    send_part, signature = token.rsplit(".", 1)
    other_send = f"t1.{int(send_part.split('.')[1]) + 1}.{signature}"
    tampered = [evil, re.sub(r"s=[0-9a-f]+", "s=" + "0" * 32, path), re.sub(r"&s=[0-9a-f]+", "", path), path.replace(token, other_send),
                "/t/c/garbage?&u=https%3A%2F%2Fevil.example&s=00"]
    for bad in tampered:
        status, headers, body = _get(port, bad)
        assert status == 400 and "location" not in headers and b"not valid" in body, bad
    for bad_pixel in ("/t/o/garbage", f"/t/o/{other_send}", "/t/o/"):
        status, headers, body = _get(port, bad_pixel)
        assert status == 200 and body == TRANSPARENT_GIF
    assert _events(url) == []
    # the unsubscribe endpoint is still served behind the same app
    status, _, _ = _get(port, "/unsubscribe?token=nope")
    assert status == 400


def test_tracking_off_sends_the_html_unchanged(store_url: str, tmp_path) -> None:
    ec_id = _seed(store_url, "Summer")
    entry = _send(store_url, _settings(tmp_path, public_url=PUBLIC), ec_id)
    with session_scope(store_url) as s:
        merchant = s.get(Merchant, "acme").name
        template = s.scalar(select(EmailTemplate).where(EmailTemplate.name == "Summer template"))
        source = with_layout(template.html, template.layout)
    expected = rendering.render_campaign("Winter is here", "", source, merchant)  # the rendering as it was before tracking existed
    assert entry["message"]["html"] == expected.html and entry["message"]["text"] == expected.text
    assert "/t/" not in entry["message"]["html"] and "{{open_url}}" not in entry["message"]["html"]
    assert all("open_url" not in r["variables"] and "click_url" not in r["variables"] for r in entry["recipients"])


def test_tracking_without_public_url_or_key_names_the_settings(tmp_path) -> None:
    with pytest.raises(errors.EmailDeliveryError, match="CAMPAIGNS_PUBLIC_URL") as info:
        config.check_config(_settings(tmp_path, email_tracking=True), "sandbox")
    assert "CAMPAIGNS_EMAIL_TRACKING" in str(info.value)
    with pytest.raises(errors.EmailDeliveryError, match="CAMPAIGNS_TOKEN_KEY"):
        config.check_config(Settings(home=tmp_path, email_tracking=True, public_url=PUBLIC), "sandbox")
    config.check_config(_settings(tmp_path, email_tracking=True, public_url=PUBLIC), "sandbox")  # complete: no error
