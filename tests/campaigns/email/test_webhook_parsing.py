"""Webhook verification and parsing refusals (pure: no store, no server), each with its status and message."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from campaigns.email.webhooks import WebhookConfigError, WebhookError, load_sendgrid_key, parse_sendgrid, verify_mailgun

SIGNING_KEY = "mg-webhook-signing-key-1"


def _event(**overrides) -> dict:
    return {"event": "open", "email": "Ana@Example.com", "timestamp": 1_795_000_000, "sg_message_id": "m1.filter", **overrides}


def test_a_key_on_another_curve_is_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    pem = p384.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(WebhookConfigError, match="is not an ECDSA P-256 key"):
        load_sendgrid_key(pem)


@pytest.mark.parametrize("signature", [None, "flat string", {"timestamp": "1", "token": "t"}, {"timestamp": "1", "token": ["t"], "signature": "s"}])
def test_mailgun_signature_object_must_be_complete(signature) -> None:
    with pytest.raises(WebhookError, match="missing signature.timestamp, signature.token or signature.signature") as caught:
        verify_mailgun(SIGNING_KEY, signature, now=1_795_000_000)
    assert caught.value.status == 401


def test_mailgun_timestamp_must_be_a_number_even_when_signed() -> None:
    timestamp, token = "yesterday", "tok-1"
    signed = hmac.new(SIGNING_KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    with pytest.raises(WebhookError, match="signature.timestamp 'yesterday' is not a unix time"):
        verify_mailgun(SIGNING_KEY, {"timestamp": timestamp, "token": token, "signature": signed.upper()}, now=1_795_000_000)


@pytest.mark.parametrize(("body", "message"), [
    (b"[\"\xff\"]", "the body is not UTF-8 JSON"),
    (json.dumps({"event": "open"}).encode(), "the body must be a JSON array of SendGrid events"),
    (json.dumps([_event(), "open"]).encode(), "event 1: not a JSON object"),
    (json.dumps([_event(timestamp=True)]).encode(), "event 0.timestamp: True is not a unix time in seconds"),
    (json.dumps([_event(timestamp=None)]).encode(), "event 0.timestamp: None is not a unix time in seconds"),
    (json.dumps([_event(timestamp=1e30)]).encode(), "event 0.timestamp: 1e+30 is not a unix time in seconds"),
    (json.dumps([_event(timestamp="soon")]).encode(), "event 0.timestamp: 'soon' is not a unix time in seconds"),
])
def test_sendgrid_bodies_that_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(WebhookError) as caught:
        parse_sendgrid(body)
    assert caught.value.status == 400 and message in str(caught.value)


def test_an_event_without_an_id_gets_a_stable_content_key() -> None:
    (first,) = parse_sendgrid(json.dumps([_event()]).encode())
    (again,) = parse_sendgrid(json.dumps([_event()]).encode())
    (other,) = parse_sendgrid(json.dumps([_event(event="click", url="https://shop.example.com/a")]).encode())
    (with_id,) = parse_sendgrid(json.dumps([_event(sg_event_id="evt-9")]).encode())
    assert first.event_key.startswith("sendgrid:sha256:") and first.event_key == again.event_key and other.event_key != first.event_key
    assert with_id.event_key == "sendgrid:evt-9" and first.email == "ana@example.com"


def test_a_deeply_nested_body_is_refused_before_parsing_or_verifying(monkeypatch: pytest.MonkeyPatch) -> None:
    from campaigns.email import webhooks

    def never(*_args, **_kwargs):
        raise AssertionError("the body must be refused before anything else looks at it")

    monkeypatch.setattr(webhooks.json, "loads", never)
    monkeypatch.setattr(webhooks, "verify_mailgun", never)
    deep = b'{"signature": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(WebhookError) as caught:
        webhooks.handle_mailgun("sqlite:///unused.db", SIGNING_KEY, deep)
    assert caught.value.status == 400 and "JSON nested 100,001 levels deep; at most 64" in str(caught.value)
    with pytest.raises(WebhookError, match="levels deep"):
        parse_sendgrid(b"[" * 5_000 + b"]" * 5_000)
