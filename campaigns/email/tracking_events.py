"""The open and click endpoints of first-party email tracking (``/t/o/<token>``, ``/t/c/<token>?u=..&s=..``).

Opens and clicks land in ``contact_events`` against the send row the token names (its email campaign
and contact), keyed so that repeats add nothing: ``track:open:<send id>`` (a contact's opens of one
email count once) and ``track:click:<send id>:<sha1(url)[:16]>`` (once per link). A click with no
open before it also records the open: the reader saw the email, with images blocked.

The endpoints themselves are in `campaigns.api.public.tracking`; the rewriting and the signatures are
in `campaigns.email.tracking`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from campaigns.email.tracking import TrackingSigner, TrackingTokenError
from campaigns.audiences.events import store_events
from campaigns.core.crypto import TokenKeyError, settings_token_keys
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import ContactEvent, EmailSend
from campaigns.core.store.types import utcnow

log = logging.getLogger(__name__)



class TrackingConfigError(ValueError):
    """Tracking is on but a setting it needs is missing; the message names it."""


def tracker_from_settings(settings: Settings, public_url: str | None = None) -> TrackingSigner:
    """The signer for tracking links; CAMPAIGNS_EMAIL_TRACKING needs CAMPAIGNS_PUBLIC_URL and CAMPAIGNS_TOKEN_KEY."""
    try:
        keys = settings_token_keys(settings)
    except TokenKeyError as exc:
        raise TrackingConfigError(str(exc)) from None
    missing = [name for name, value in (("CAMPAIGNS_PUBLIC_URL", public_url or settings.public_url), ("CAMPAIGNS_TOKEN_KEY", keys)) if not value]
    if missing:
        raise TrackingConfigError(f"CAMPAIGNS_EMAIL_TRACKING is on but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
                                  "set them (the public https address serving `campaigns email serve-unsubscribe`, and the token key), "
                                  "or set CAMPAIGNS_EMAIL_TRACKING=false")
    return TrackingSigner.from_keys(keys)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Send:
    id: int
    merchant_id: str
    email_campaign_id: int
    contact_id: int | None


def _send(session, send_id: int) -> _Send | None:
    row = session.execute(select(EmailSend.id, EmailSend.merchant_id, EmailSend.email_campaign_id, EmailSend.contact_id)
                          .where(EmailSend.id == send_id)).first()
    return _Send(*row) if row is not None else None


def _event(send: _Send, kind: str, key: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"merchant_id": send.merchant_id, "contact_id": send.contact_id, "kind": kind, "occurred_at": utcnow(), "event_key": key,
            "email_campaign_id": send.email_campaign_id, "details": details}


def open_key(send_id: int) -> str:
    return f"track:open:{send_id}"


def click_key(send_id: int, url: str) -> str:
    return f"track:click:{send_id}:{hashlib.sha1(url.encode()).hexdigest()[:16]}"


def record_open(store_url: str, signer: TrackingSigner, token: str) -> bool:
    """Record the open a pixel fetch reports; False when nothing new was written (repeat, bad token, deleted contact)."""
    try:
        send_id = signer.send_id(token)
    except TrackingTokenError:
        return False
    with session_scope(store_url) as session:
        send = _send(session, send_id)
        if send is None or send.contact_id is None:
            return False
        return store_events(session, [_event(send, "opened", open_key(send.id), {"source": "pixel"})]) == 1


def record_click(store_url: str, signer: TrackingSigner, token: str, url: str, signature: str) -> bool:
    """Verify the click and record it (and an open, if the send has none); raises TrackingTokenError when forged.

    Returns whether the click was new. The redirect itself is the caller's, only after this returned.
    """
    send_id = signer.send_id(token)
    with session_scope(store_url) as session:
        send = _send(session, send_id)
        if send is None:
            raise TrackingTokenError("this link points at an email that no longer exists")
        if not url.lower().startswith(("http://", "https://")) or not signer.click_ok(send.email_campaign_id, url, signature):
            raise TrackingTokenError("the link's signature does not match its address")
        if send.contact_id is None:
            return False  # contact deleted since: still redirect, record nothing
        opened = session.scalar(select(ContactEvent.id).where(
            ContactEvent.merchant_id == send.merchant_id, ContactEvent.contact_id == send.contact_id,
            ContactEvent.email_campaign_id == send.email_campaign_id, ContactEvent.kind == "opened").limit(1))
        new_click = store_events(session, [_event(send, "clicked", click_key(send.id, url), {"url": url, "source": "redirect"})]) == 1
        if opened is None:
            store_events(session, [_event(send, "opened", open_key(send.id), {"source": "click"})])
        return new_click
