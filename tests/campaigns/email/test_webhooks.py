"""Provider event webhooks over real HTTP (the public app on uvicorn, 127.0.0.1), on SQLite and PostgreSQL.

Sends go out through the local fake SendGrid / Mailgun or the sandbox, so the provider message
ids are exactly what delivery stores; payloads are signed the way the providers sign them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from campaigns.lifecycle import service as campaign_service
from campaigns.email import broadcasts, delivery, recipients, throttle
from campaigns.email.results import email_results
from campaigns.email.webhooks import WebhookConfigError, WebhookError, load_sendgrid_key, verify_sendgrid
from campaigns.audiences.segments import save_segment
from campaigns.api.app import create_app
from tests.campaigns.api.live import LiveServer
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactEvent, EmailSend, Suppression
from tests.publishers.fake_platforms import FakeMailgun, FakeSendGrid

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = Fernet.generate_key().decode()
SENDER = "Acme Outdoors <news@acme.example>"
MAILGUN_KEY = "mg-webhook-signing-key-1"


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _public_b64(private: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(home=tmp_path / "home", token_key=KEY, **overrides)


def _serve(store_url: str, settings: Settings) -> LiveServer:
    return LiveServer(create_app(settings, store_url, api=False))  # what `campaigns email serve-unsubscribe` serves


def _post_sendgrid(url: str, private: ec.EllipticCurvePrivateKey, events, *, tamper: bool = False, raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else json.dumps(events).encode()
    timestamp = str(int(time.time()))
    signature = base64.b64encode(private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    if tamper:
        body = body.replace(b"open", b"click", 1)
    return httpx.post(f"{url}/webhooks/sendgrid", content=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": timestamp})


def _mailgun_body(event_data: dict, *, key: str = MAILGUN_KEY, token: str | None = None, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    token = token or hashlib.sha256(json.dumps(event_data).encode() + str(time.perf_counter_ns()).encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": str(timestamp), "token": token, "signature": signature}, "event-data": event_data}


def _seed_and_send(store_url: str, settings: Settings, emails: list[str], provider: str, **kwargs) -> int:
    with session_scope(store_url) as s:
        s.add_all([Contact(merchant_id="acme", email=e, first_name=e.split("@")[0]) for e in emails])
        s.flush()
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        ec_id = broadcasts.create_email_campaign(s, "acme", campaign_id=campaign.id, segment_id=segment.id, subject="Winter is here", actor="ana").id
    with session_scope(store_url) as s:
        recipients.prepare_send(s, "acme", ec_id, "ana", now=T0)
    report = delivery.deliver(store_url, settings, ec_id, "w1", T0, 100, provider=provider, sender=SENDER, public_url="https://shop.acme.example",
                              limits=throttle.ProviderLimits(provider, 1000, None), **kwargs)
    assert report.outcomes == {"SENT": len(emails)}
    return ec_id


def _events(store_url: str) -> set[tuple[str, str, int | None, str | None]]:
    with session_scope(store_url) as s:
        rows = s.execute(select(Contact.email, ContactEvent.kind, ContactEvent.email_campaign_id, ContactEvent.details)
                         .join(Contact, Contact.id == ContactEvent.contact_id).where(ContactEvent.merchant_id == "acme"))
        return {(email, kind, ec_id, details.get("url")) for email, kind, ec_id, details in rows}


def _count(store_url: str, model) -> int:
    with session_scope(store_url) as s:
        return s.scalar(select(func.count()).select_from(model))


def _suppressions(store_url: str) -> dict[str, str]:
    with session_scope(store_url) as s:
        return {row.email: row.reason.value for row in s.scalars(select(Suppression))}


def _subscribed(store_url: str) -> dict[str, bool]:
    with session_scope(store_url) as s:
        return {c.email: c.subscribed for c in s.scalars(select(Contact))}


# --- SendGrid ----------------------------------------------------------------------------------


def test_sendgrids_published_test_vector_verifies() -> None:
    # SendGrid's own helper libraries test their verifier with this key, payload and signature
    key = load_sendgrid_key("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==")
    payload = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'
    signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
    verify_sendgrid(key, signature, "1588788367", payload)
    for bad in [(signature, "1588788368", payload), (signature, "1588788367", b"payload"),
                (signature.replace("NH2j", "NH3j"), "1588788367", payload)]:
        with pytest.raises(WebhookError) as err:
            verify_sendgrid(key, *bad)
        assert err.value.status == 401


def test_sendgrid_key_setting_accepts_pem_and_names_the_setting_when_wrong(signing_key) -> None:
    pem = signing_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert load_sendgrid_key(pem).public_numbers() == signing_key.public_key().public_numbers()
    for wrong in ["not a key", base64.b64encode(b"garbage").decode()]:
        with pytest.raises(WebhookConfigError, match="CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY"):
            load_sendgrid_key(wrong)


def test_sendgrid_events_stored_once_with_suppressions(store_url: str, tmp_path, signing_key) -> None:
    fake = FakeSendGrid().start()
    try:
        settings = _settings(tmp_path, sendgrid_base_url=fake.url(), sendgrid_api_key="SG.test-key", sendgrid_webhook_public_key=_public_b64(signing_key))
        people = ["ana@example.com", "ben@example.com", "cy@example.com", "dee@example.com"]
        ec_id = _seed_and_send(store_url, settings, people, "sendgrid")
    finally:
        fake.stop()
    with session_scope(store_url) as s:
        assert set(s.scalars(select(EmailSend.provider_message_id))) == {"sg-msg-1"}  # one request, one X-Message-Id
    sg = "sg-msg-1.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"  # X-Message-Id + SendGrid's suffix
    ts = int(T0.timestamp()) + 600
    events = [
        {"email": "ana@example.com", "timestamp": ts, "event": "processed", "sg_event_id": "e-proc", "sg_message_id": sg},  # skipped
        {"email": "ana@example.com", "timestamp": ts, "event": "delivered", "sg_event_id": "e-del", "sg_message_id": sg},
        {"email": "Ana@Example.com", "timestamp": ts + 60, "event": "open", "sg_event_id": "e-open", "sg_message_id": sg},
        {"email": "ben@example.com", "timestamp": ts + 90, "event": "click", "sg_event_id": "e-click", "sg_message_id": sg,
         "url": "https://shop.acme.example/boots"},
        {"email": "cy@example.com", "timestamp": ts, "event": "bounce", "type": "bounce", "sg_event_id": "e-bounce", "sg_message_id": sg,
         "reason": "550 5.1.1 no such user"},
        {"email": "dee@example.com", "timestamp": ts, "event": "bounce", "type": "blocked", "sg_event_id": "e-blocked", "sg_message_id": sg},  # soft
        {"email": "dee@example.com", "timestamp": ts + 120, "event": "spamreport", "sg_event_id": "e-spam", "sg_message_id": sg},
        {"email": "ben@example.com", "timestamp": ts + 200, "event": "group_unsubscribe", "sg_event_id": "e-unsub", "sg_message_id": sg},
        {"email": "ana@example.com", "timestamp": ts, "event": "open", "sg_event_id": "e-other", "sg_message_id": "elsewhere-1.filter.0"},  # other system
        {"email": "zed@example.com", "timestamp": ts, "event": "open", "sg_event_id": "e-zed", "sg_message_id": sg},  # id ours, address not
    ]
    with _serve(store_url, settings) as server:
        first = _post_sendgrid(server.url, signing_key, events)
        assert first.status_code == 200, first.text
        assert first.json() == {"received": 10, "stored": 6, "duplicates": 0, "skipped": 2, "unknown": 2, "no_contact": 0, "suppressed": 3,
                                "kinds": {"delivered": 1, "opened": 1, "clicked": 1, "bounced": 1, "complained": 1, "unsubscribed": 1}}
        expected = {("ana@example.com", "delivered", ec_id, None), ("ana@example.com", "opened", ec_id, None),
                    ("ben@example.com", "clicked", ec_id, "https://shop.acme.example/boots"), ("cy@example.com", "bounced", ec_id, None),
                    ("dee@example.com", "complained", ec_id, None), ("ben@example.com", "unsubscribed", ec_id, None)}
        assert _events(store_url) == expected
        assert _suppressions(store_url) == {"cy@example.com": "BOUNCED", "dee@example.com": "COMPLAINED", "ben@example.com": "UNSUBSCRIBED"}
        assert _subscribed(store_url) == {"ana@example.com": True, "ben@example.com": False, "cy@example.com": True, "dee@example.com": False}

        with session_scope(store_url) as s:  # ben opts back in; a redelivered old unsubscribe must not undo that
            s.scalar(select(Contact).where(Contact.email == "ben@example.com")).subscribed = True
        again = _post_sendgrid(server.url, signing_key, events)  # SendGrid redelivers after a timeout
        assert again.status_code == 200 and again.json()["stored"] == 0 and again.json()["duplicates"] == 6 and again.json()["suppressed"] == 0
        assert _count(store_url, ContactEvent) == 6 and _subscribed(store_url)["ben@example.com"] is True

        late = [{"email": "cy@example.com", "timestamp": ts + 300, "event": "open", "sg_event_id": "e-late", "sg_message_id": sg}]
        forged = _post_sendgrid(server.url, signing_key, late, tamper=True)
        assert forged.status_code == 401 and "signature does not match" in forged.json()["error"]
        unsigned = httpx.post(f"{server.url}/webhooks/sendgrid", content=json.dumps(late), timeout=10)
        assert unsigned.status_code == 401 and "X-Twilio-Email-Event-Webhook-Signature" in unsigned.json()["error"]
        other_key = _post_sendgrid(server.url, ec.generate_private_key(ec.SECP256R1()), late)
        assert other_key.status_code == 401
        assert _count(store_url, ContactEvent) == 6

        broken = _post_sendgrid(server.url, signing_key, None, raw=b'[{"email": "cy@example.com",')
        assert broken.status_code == 400 and "not JSON" in broken.json()["error"]
        missing = _post_sendgrid(server.url, signing_key, [late[0], {"timestamp": ts, "event": "open"}])
        assert missing.status_code == 400 and missing.json()["error"] == "event 1.email: missing or not text"
        assert _count(store_url, ContactEvent) == 6  # a bad event rejects the whole request, the good one included


def test_sendgrid_open_of_a_sandbox_send_counts_in_email_results(store_url: str, tmp_path, signing_key) -> None:
    settings = _settings(tmp_path, sendgrid_webhook_public_key=_public_b64(signing_key))
    ec_id = _seed_and_send(store_url, settings, ["ana@example.com", "ben@example.com", "cy@example.com"], "sandbox")
    with session_scope(store_url) as s:
        ids = set(s.scalars(select(EmailSend.provider_message_id).where(EmailSend.email_campaign_id == ec_id)))
    assert len(ids) == 1
    message_id = ids.pop()
    ts = int(T0.timestamp()) + 3600
    opens = [{"email": "ben@example.com", "timestamp": ts, "event": "open", "sg_event_id": "o1", "sg_message_id": f"{message_id}.filter0001.1.0"},
             {"email": "ben@example.com", "timestamp": ts + 5, "event": "open", "sg_event_id": "o2", "sg_message_id": f"{message_id}.filter0001.1.0"}]
    with _serve(store_url, settings) as server:
        assert _post_sendgrid(server.url, signing_key, opens).json()["stored"] == 2
    with session_scope(store_url) as s:
        result = next(r for r in email_results(s, "acme") if r.email_campaign_id == ec_id)
    assert (result.sent, result.opened, result.clicked) == (3, 1, 0)  # two opens by one contact count once
    assert result.open_rate == pytest.approx(1 / 3)


# --- Mailgun -----------------------------------------------------------------------------------


def test_mailgun_events_verified_stored_once_with_bounce_suppression(store_url: str, tmp_path) -> None:
    fake = FakeMailgun().start()
    try:
        settings = _settings(tmp_path, mailgun_base_url=fake.url(), mailgun_api_key="mg-key-1", mailgun_domain="mg.acme.example",
                             mailgun_webhook_signing_key=MAILGUN_KEY)
        ec_id = _seed_and_send(store_url, settings, ["ana@example.com", "ben@example.com"], "mailgun")
    finally:
        fake.stop()
    with session_scope(store_url) as s:
        assert set(s.scalars(select(EmailSend.provider_message_id))) == {"<20261124.1@mg.acme.example>"}
    headers = {"message-id": "20261124.1@mg.acme.example"}  # Mailgun's events drop the angle brackets
    ts = T0.timestamp() + 600
    opened = {"event": "opened", "timestamp": ts, "id": "mg-ev-open", "recipient": "ana@example.com", "message": {"headers": headers}}
    clicked = {"event": "clicked", "timestamp": ts, "id": "mg-ev-click", "recipient": "ana@example.com", "message": {"headers": headers},
               "url": "https://shop.acme.example/sale"}
    hard = {"event": "failed", "severity": "permanent", "timestamp": ts, "id": "mg-ev-fail", "recipient": "ben@example.com",
            "message": {"headers": headers}, "delivery-status": {"description": "No such mailbox"}}
    soft = {"event": "failed", "severity": "temporary", "timestamp": ts, "id": "mg-ev-soft", "recipient": "ana@example.com", "message": {"headers": headers}}
    foreign = {"event": "opened", "timestamp": ts, "id": "mg-ev-x", "recipient": "ana@example.com", "message": {"headers": {"message-id": "other@elsewhere"}}}

    def post(body) -> httpx.Response:
        return httpx.post(f"{server.url}/webhooks/mailgun", json=body, timeout=10)

    with _serve(store_url, settings) as server:
        reports = [post(_mailgun_body(e)) for e in (opened, clicked, hard, soft, foreign)]
        assert [r.status_code for r in reports] == [200] * 5
        assert [(r.json()["stored"], r.json()["skipped"], r.json()["unknown"], r.json()["suppressed"]) for r in reports] == [
            (1, 0, 0, 0), (1, 0, 0, 0), (1, 0, 0, 1), (0, 1, 0, 0), (0, 0, 1, 0)]
        assert _events(store_url) == {("ana@example.com", "opened", ec_id, None), ("ana@example.com", "clicked", ec_id, "https://shop.acme.example/sale"),
                                      ("ben@example.com", "bounced", ec_id, None)}
        assert _suppressions(store_url) == {"ben@example.com": "BOUNCED"}

        redelivered = post(_mailgun_body(opened))  # a retry: new signature, same event id
        assert redelivered.status_code == 200 and redelivered.json()["duplicates"] == 1 and redelivered.json()["stored"] == 0

        late = {**opened, "id": "mg-ev-late", "recipient": "ben@example.com"}
        replay = _mailgun_body(late)
        assert post(replay).json()["stored"] == 1
        reused = {**replay, "event-data": {**late, "id": "mg-ev-forged"}}  # the signature covers only timestamp + token
        assert post(reused).status_code == 401 and "already used" in post(reused).json()["error"]
        wrong_key = post(_mailgun_body({**late, "id": "mg-ev-w"}, key="not-the-key"))
        assert wrong_key.status_code == 401 and "CAMPAIGNS_MAILGUN_WEBHOOK_SIGNING_KEY" in wrong_key.json()["error"]
        stale = post(_mailgun_body({**late, "id": "mg-ev-s"}, timestamp=int(time.time()) - 301))
        assert stale.status_code == 401 and "stale" in stale.json()["error"]
        assert _count(store_url, ContactEvent) == 4

        legacy = httpx.post(f"{server.url}/webhooks/mailgun", data={"event": "opened"}, timeout=10)
        assert legacy.status_code == 400 and "not JSON" in legacy.json()["error"]
        no_data = post({"signature": _mailgun_body(opened)["signature"]})
        assert no_data.status_code == 400 and "event-data" in no_data.json()["error"]


# --- serving -----------------------------------------------------------------------------------


def test_webhooks_off_without_keys_and_the_unsubscribe_route_beside_them(store_url: str, tmp_path) -> None:
    with _serve(store_url, _settings(tmp_path)) as server:
        sendgrid = httpx.post(f"{server.url}/webhooks/sendgrid", content=b"[]", timeout=10)
        mailgun = httpx.post(f"{server.url}/webhooks/mailgun", content=b"{}", timeout=10)
        assert sendgrid.status_code == 404 and "CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY" in sendgrid.json()["error"]
        assert mailgun.status_code == 404 and "CAMPAIGNS_MAILGUN_WEBHOOK_SIGNING_KEY" in mailgun.json()["error"]
        page = httpx.get(f"{server.url}/unsubscribe?token=u1.bad.sig", timeout=10)
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")  # the unsubscribe app answered
    with _serve(store_url, _settings(tmp_path, mailgun_webhook_signing_key=MAILGUN_KEY)) as server:
        assert httpx.get(f"{server.url}/webhooks/mailgun", timeout=10).status_code == 405


def test_bad_sendgrid_key_setting_stops_the_server_from_starting(store_url: str, tmp_path) -> None:
    with pytest.raises(WebhookConfigError, match="CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY"):
        create_app(_settings(tmp_path, sendgrid_webhook_public_key="paste-me"), store_url, api=False)


def test_a_100k_deep_mailgun_body_is_a_400_not_a_500(store_url: str, tmp_path) -> None:
    settings = _settings(tmp_path, mailgun_webhook_signing_key=MAILGUN_KEY)
    deep = b'{"signature": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with _serve(store_url, settings) as server:
        answer = httpx.post(f"{server.url}/webhooks/mailgun", content=deep, timeout=10, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "levels deep; at most 64" in answer.json()["error"]
