"""Webhook endpoints: subscribe a URL to events, rotate its secret, enable, remove.

A secret is ``whsec_`` + 32 random bytes in base64 (the Standard Webhooks format), shown once
when created or rotated and stored encrypted with CAMPAIGNS_TOKEN_KEY. A rotation keeps the
previous secret signing beside the new one for a day, so a receiver can switch without
rejecting a message.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.crypto import TokenCipher, require_cipher
from campaigns.core.merchants import require_merchant
from campaigns.core.outbox import EVENT_TYPES
from campaigns.core.store.models import WebhookEndpoint
from campaigns.core.store.types import utcnow

ROTATION_OVERLAP = timedelta(hours=24)
ALL_EVENTS = "*"
MAX_ENDPOINTS = 20  # per merchant: each one multiplies every event's deliveries


class WebhookEndpointError(ValueError):
    """An endpoint that cannot be accepted as given; the message says how to fix it."""


class EndpointNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class NewSecret:
    endpoint_id: str
    secret: str  # shown once; only its encrypted form is stored


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def valid_url(url: str) -> str:
    """https only (plain http only to this machine, for development); no credentials in the URL."""
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > 2000:
        raise WebhookEndpointError("the URL is longer than 2000 characters; use a shorter endpoint address")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookEndpointError(f"{url!r} is not an http(s) URL; give the full address, e.g. https://example.com/hooks/campaigns")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise WebhookEndpointError(f"{url!r} uses plain http; webhooks carry customer data, so use https (http is allowed only to localhost)")
    if parts.username or parts.password:
        raise WebhookEndpointError("the URL carries a user name or password; remove them: receivers check the signature instead")
    return url


def valid_events(events: list[str] | None) -> list[str]:
    if not events or ALL_EVENTS in events:
        return [ALL_EVENTS]
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise WebhookEndpointError(f"unknown event type(s) {', '.join(unknown)}; choose from {', '.join(EVENT_TYPES)} (or * for all)")
    return sorted(set(events))


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return ALL_EVENTS in endpoint.events or event_type in endpoint.events


def add_endpoint(session: Session, merchant_id: str, url: str, events: list[str] | None, *, actor: str,
                 cipher: TokenCipher | None, description: str = "") -> tuple[WebhookEndpoint, NewSecret]:
    require_merchant(session, merchant_id)
    cipher = require_cipher(cipher, "encrypt a webhook signing secret")
    count = len(list(session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.merchant_id == merchant_id))))
    if count >= MAX_ENDPOINTS:
        raise WebhookEndpointError(f"this merchant already has {MAX_ENDPOINTS} webhook endpoints; remove one first")
    secret = new_secret()
    endpoint = WebhookEndpoint(id=f"ep_{uuid.uuid4().hex[:20]}", merchant_id=merchant_id, url=valid_url(url), events=valid_events(events),
                               description=description.strip()[:200], secret_encrypted=cipher.encrypt(secret), enabled=True)
    session.add(endpoint)
    session.flush()
    record(session, merchant_id, actor, "webhook.endpoint_added", "webhook_endpoint", endpoint.id, url=endpoint.url, events=endpoint.events)
    return endpoint, NewSecret(endpoint.id, secret)


def get_endpoint(session: Session, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.merchant_id != merchant_id:  # another merchant's id reads as unknown
        raise EndpointNotFoundError(f"no webhook endpoint {endpoint_id!r} for this merchant; `campaigns webhooks list` shows them")
    return endpoint


def list_endpoints(session: Session, merchant_id: str) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == merchant_id).order_by(WebhookEndpoint.created_at)))


def endpoint_fields(endpoint: WebhookEndpoint, now: datetime | None = None) -> dict[str, Any]:
    """The endpoint as every shell shows it (never its secrets); `rotating` while a previous secret still signs beside the new one."""
    now = now or utcnow()
    return {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events or []), "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason, "description": endpoint.description,
            "rotating": endpoint.previous_secret_expires_at is not None and endpoint.previous_secret_expires_at > now}


def remove_endpoint(session: Session, merchant_id: str, endpoint_id: str, *, actor: str) -> None:
    endpoint = get_endpoint(session, merchant_id, endpoint_id)
    record(session, merchant_id, actor, "webhook.endpoint_removed", "webhook_endpoint", endpoint.id, url=endpoint.url)
    session.delete(endpoint)


def rotate_secret(session: Session, merchant_id: str, endpoint_id: str, *, actor: str, cipher: TokenCipher | None,
                  now: datetime | None = None) -> NewSecret:
    """A new secret signs from now on; the old one also signs for `ROTATION_OVERLAP`."""
    cipher = require_cipher(cipher, "encrypt a webhook signing secret")
    endpoint = get_endpoint(session, merchant_id, endpoint_id)
    now = now or utcnow()
    secret = new_secret()
    endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at = endpoint.secret_encrypted, now + ROTATION_OVERLAP
    endpoint.secret_encrypted = cipher.encrypt(secret)
    record(session, merchant_id, actor, "webhook.secret_rotated", "webhook_endpoint", endpoint.id,
           previous_signs_until=endpoint.previous_secret_expires_at.isoformat())
    return NewSecret(endpoint.id, secret)


def set_enabled(session: Session, merchant_id: str, endpoint_id: str, enabled: bool, *, actor: str) -> WebhookEndpoint:
    """Enable (its waiting deliveries resume, the failure clock restarts) or disable an endpoint."""
    endpoint = get_endpoint(session, merchant_id, endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else f"disabled by {actor}"
    endpoint.failing_since = None
    record(session, merchant_id, actor, "webhook.endpoint_enabled" if enabled else "webhook.endpoint_disabled", "webhook_endpoint", endpoint.id)
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint, cipher: TokenCipher, now: datetime) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one during a rotation."""
    keys = [cipher.decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_expires_at and now < endpoint.previous_secret_expires_at:
        keys.append(cipher.decrypt(endpoint.previous_secret_encrypted))
    return keys
