"""The event outbox: what happened, written in the same transaction as the change itself.

A service that changes something other systems care about (a campaign's status, a post
published, an address unsubscribed) calls `emit` with its own session. The event commits or
rolls back with the change, so a subscriber never hears of a change that did not happen and
never misses one that did. Delivery to subscribed endpoints happens later, from the
integrations context's worker.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from campaigns.core.audit import jsonable
from campaigns.core.store.models import OutboxEvent
from campaigns.core.store.types import utcnow

# The catalogue subscribers choose from; `emit` refuses anything else, so a typo cannot create a silent event type.
EVENT_TYPES: dict[str, str] = {
    "campaign.status_changed": "a campaign moved to another status (launch, activate, pause, resume, complete)",
    "content.approval_requested": "content was submitted for approval",
    "content.approved": "content was approved",
    "post.published": "a social post was published",
    "post.failed": "a social post failed for good",
    "post.needs_review": "a post's outcome is uncertain and waits for a person",
    "email.sent": "an email campaign finished sending",
    "email.bounced": "an email bounced",
    "contact.unsubscribed": "a contact unsubscribed",
    "budget.rebalanced": "a budget recommendation was applied",
    "workflow.step_failed": "a workflow step failed",
}


def emit(session: Session, merchant_id: str, event_type: str, data: dict[str, Any], *, now: datetime | None = None) -> str:
    """Record `event_type` with `data` for `merchant_id` in the caller's transaction; returns its id (the `webhook-id`)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}")
    event_id = f"msg_{uuid.uuid4().hex}"
    session.add(OutboxEvent(merchant_id=merchant_id, event_id=event_id, type=event_type, payload=jsonable(data), occurred_at=now or utcnow()))
    return event_id
