"""The public routes other contexts needed: post images by content name, the OAuth callback, sign-up with double opt-in."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from campaigns.api.app import create_app
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactConsent
from campaigns.social.connect import clients_from_settings, start_connection
from campaigns.social.media import store_image


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", token_key=Fernet.generate_key().decode(), public_url="https://shop.example.com",
                    x_client_id="client-abc", x_client_secret="s3cret")


def _client(settings: Settings, store_url: str) -> TestClient:
    return TestClient(create_app(settings, store_url, api=False))


def test_media_serves_stored_images_by_name_and_nothing_else(settings, store_url) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buffer, "PNG")
    stored = store_image(settings.media_dir, buffer.getvalue(), "a.png")
    (settings.home_path / "app.db").write_text("not for you")
    client = _client(settings, store_url)
    response = client.get(f"/media/{stored.name}")
    assert response.status_code == 200 and response.content == buffer.getvalue()
    assert response.headers["content-type"] == "image/png" and "immutable" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    for name in ("..%2Fapp.db", "app.db", stored.name.replace(".png", ".jpg"), "%2e%2e%2fapp.db"):
        assert client.get(f"/media/{name}").status_code == 404


def test_oauth_callback_refuses_an_unknown_state_and_reports_a_refusal_escaped(settings, store_url) -> None:
    client = _client(settings, store_url)
    unknown = client.get("/oauth/callback/x", params={"state": "nope", "code": "c"})
    assert unknown.status_code == 400 and "Not connected" in unknown.text and "no-store" in unknown.headers["cache-control"]
    with session_scope(store_url) as s:
        started = start_connection(s, "acme", "x", actor="ana", clients=clients_from_settings(settings),
                                   redirect_uri=settings.oauth_redirect_uri("x"), cipher=_cipher(settings))
    state = re.search(r"state=([^&]+)", started.authorization_url).group(1)
    from urllib.parse import unquote

    denied = client.get("/oauth/callback/x", params={"state": unquote(state), "error": "access_denied",
                                                     "error_description": "<script>alert(1)</script>"})
    assert denied.status_code == 400 and "<script>" not in denied.text and "&lt;script&gt;" in denied.text


def _cipher(settings: Settings):
    from campaigns.core.crypto import cipher_from_settings

    return cipher_from_settings(settings)


def test_signup_form_json_and_confirmation_by_button(settings, store_url, monkeypatch) -> None:
    sent: list = []

    class Outbox:
        def publish(self, message, credentials):  # stands in for the email provider: the link is what matters here
            sent.append(message)

    from campaigns.email import signup as su

    real = su.mailer_from_settings
    monkeypatch.setattr(su, "mailer_from_settings", lambda s, name, provider=None: su.SignupMailer(
        **{**real(s, name, "sandbox").__dict__, "publisher": Outbox()}))
    client = _client(settings, store_url)
    assert "Get email from" in client.get("/signup", params={"merchant": "acme"}).text
    assert client.get("/signup", params={"merchant": "nosuch"}).status_code == 404
    bad = client.post("/signup", json={"merchant": "acme", "email": "not-an-address", "consent": True})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json" and "email" in {e["field"] for e in bad.json()["errors"]}
    ok = client.post("/signup", json={"merchant": "acme", "email": "Nia@Example.com", "consent": True, "source": "footer form"})
    assert ok.status_code == 202 and ok.json() == {"status": "accepted"}
    link = re.search(r"https://shop\.example\.com/signup/confirm\?token=\S+", sent[0].text).group(0)
    path = link.removeprefix("https://shop.example.com")
    page = client.get(path)  # a mail scanner's GET confirms nobody
    assert page.status_code == 200 and "Yes, subscribe me" in page.text
    with session_scope(store_url) as s:
        assert s.scalar(select(Contact.status).where(Contact.email == "Nia@example.com")) == "pending"
    action = re.search(r"action='([^']+)'", page.text).group(1).replace("&amp;", "&")
    confirmed = client.post(action)
    assert confirmed.status_code == 200 and "You are subscribed" in confirmed.text
    with session_scope(store_url) as s:
        contact = s.scalar(select(Contact).where(Contact.email == "Nia@example.com"))
        assert contact.subscribed and contact.status == "active"
        assert s.scalar(select(ContactConsent.source).where(ContactConsent.contact_id == contact.id, ContactConsent.granted.is_(True))
                        .order_by(ContactConsent.id.desc()).limit(1)).startswith("double opt-in")
    assert client.post("/signup/confirm", params={"token": "forged"}).status_code == 400
