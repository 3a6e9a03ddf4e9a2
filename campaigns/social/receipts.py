"""What the publishing worker works with and leaves behind: the item as claimed, the run, each outcome, the receipts.

A receipt is one publish attempt of one item (``publish_receipts``): what was sent, what came
back, what was decided. `receipts_for` lists an item's attempts for people and tests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import jsonable
from campaigns.core.crypto import TokenCipher
from campaigns.core.enums import QueueStatus
from campaigns.core.store.models import PublishReceipt, SocialQueueItem
from publishers.base import Credentials, Publisher, Receipt, SocialPost


@dataclass(frozen=True)
class Outcome:
    item_id: int
    merchant_id: str
    status: str  # a QueueStatus value, or LEASE_LOST when another worker took the item over
    reason: str | None = None
    platform_post_id: str | None = None
    sandbox: bool = False


@dataclass
class PublishReport:
    worker_id: str
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts

    def summary(self) -> str:
        if not self.outcomes:
            return "nothing due"
        return ", ".join(f"{n} {status.lower()}" for status, n in sorted(self.counts().items()))


@dataclass(frozen=True)
class ItemView:
    """What the worker needs of an item once its claiming session is closed."""

    id: int
    merchant_id: str
    account_id: int
    campaign_id: str | None
    content_id: int | None
    text: str
    media: tuple[str, ...]
    content_hash: str
    attempts: int
    platform_post_id: str | None
    claimed_at: datetime | None
    media_alt: tuple[str, ...] = ()

    @classmethod
    def of(cls, item: SocialQueueItem) -> ItemView:
        return cls(item.id, item.merchant_id, item.account_id, item.campaign_id, item.content_id, item.text, tuple(item.media or ()),
                   item.content_hash, item.attempts, item.platform_post_id, item.claimed_at, tuple(item.media_alt or ()))


@dataclass
class Prepared:
    account_id: int
    platform: str
    publisher: Any
    credentials: Credentials
    post: SocialPost
    token_expires_at: datetime | None = None


@dataclass
class Run:
    url: str
    publishers: Mapping[str, Publisher[SocialPost]]
    worker_id: str
    now: datetime
    cipher: TokenCipher | None
    max_attempts: int
    oauth: Mapping[str, Any] = field(default_factory=dict)  # OAuth clients by platform, for refreshing tokens
    started: float = field(default_factory=time.monotonic)

    def clock(self) -> datetime:
        # `now` may be a test's or a schedule's time; it advances with real elapsed time from there
        return self.now + timedelta(seconds=time.monotonic() - self.started)


def receipt_entry(item: ItemView, outcome: str, *, platform: str | None = None, sandbox: bool = False, receipt: Receipt | None = None,
             error: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"attempt": item.attempts, "outcome": outcome, "platform": platform, "mode": "sandbox" if sandbox else "live"}
    if receipt is not None:
        out.update(post_id=receipt.post_id, post_ids=list(receipt.post_ids), url=receipt.url)
    if error:
        out.update(error)
    out.update(extra)
    return out


def receipts_for(session: Session, merchant_id: str, item_id: int) -> list[dict[str, Any]]:
    """Every publish attempt of one item, oldest first."""
    rows = session.scalars(select(PublishReceipt).where(PublishReceipt.merchant_id == merchant_id, PublishReceipt.queue_item_id == item_id)
                           .order_by(PublishReceipt.id))
    return [{"at": row.created_at.isoformat(), "worker": row.worker_id, **row.details} for row in rows]


def receipt_row(item: ItemView, worker_id: str, status: QueueStatus, entry: dict[str, Any]) -> PublishReceipt:
    retry_at = entry.get("retry_at")
    return PublishReceipt(
        merchant_id=item.merchant_id, queue_item_id=item.id, attempt=int(entry.get("attempt") or 0), worker_id=worker_id,
        platform=entry.get("platform"), mode=entry.get("mode", "sandbox"), outcome=str(entry.get("outcome")), result_status=status.value,
        post_ids=list(entry.get("post_ids") or ([entry["post_id"]] if entry.get("post_id") else [])), error_kind=entry.get("error_kind"),
        status_code=entry.get("status_code"), reason=entry.get("reason") or entry.get("result_reason"),
        retry_at=datetime.fromisoformat(retry_at) if isinstance(retry_at, str) else None, details=jsonable(entry),
    )
