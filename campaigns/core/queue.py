"""The shared work queue: claim, lease, stale-lease recovery, backoff and the attempt log.

Email sends, social posts, automation enrollments and workflow steps are all rows that a
worker takes, works on and settles. Each queue keeps its own table and its own rules of what
is due and what an outcome means; the mechanics live here once:

* **claim**: the due rows are picked in order and leased to one worker (``claimed_by``,
  ``claimed_at``). On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED`` so
  concurrent workers skip each other's rows instead of waiting; SQLite has no row locks, so
  the UPDATE repeats the due test and is a compare-and-set: a row another worker took in the
  meantime no longer matches and is not claimed twice.
* **lease**: a worker renews its lease before a slow step (``renew``); a lease older than the
  queue's lease time means the worker died, and the row may be taken over (``lease_expired``).
  The takeover returns the old claim time so the queue can reconcile what the dead worker did.
* **backoff**: exponential (1, 2, 4 ... minutes, capped) with a jitter derived from the item,
  so a burst of failures does not come back at one instant, yet a retry time is reproducible.
* **attempt log**: ``work_attempts`` gets one row per attempt, written in the transaction that
  records the outcome.
* **hold**: an item of a PAUSED campaign is never claimed (``not_held``). Pausing changes no item:
  every queue adds the one rule to its claim, so the items keep their place and their due times,
  show "held: campaign paused", and go out again the moment the campaign resumes.

Every function takes the caller's session; the caller's transaction decides when it commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from campaigns.core.enums import CampaignStatus
from campaigns.core.store.models import Campaign, WorkAttempt

DEFAULT_BASE = timedelta(minutes=1)
DEFAULT_CAP = timedelta(hours=1)
DEFAULT_JITTER = 0.1  # up to 10% on top of the exponential delay


@dataclass(frozen=True)
class Claimed:
    """A row this worker now holds; `previous_claim` is the lease it took over (None for a fresh claim)."""

    id: int
    previous_claim: datetime | None


def lease_expired(model: Any, now: datetime, lease: timedelta) -> ColumnElement[bool]:
    """Rows whose worker has not renewed within `lease`: it died or hung, and the row may be taken over."""
    return model.claimed_at < now - lease


def free_or_expired(model: Any, now: datetime, lease: timedelta) -> ColumnElement[bool]:
    """Rows nobody holds, or whose holder's lease ran out."""
    return or_(model.claimed_by.is_(None), lease_expired(model, now, lease))


HELD = "held: campaign paused"


def not_held(campaign_id: Any) -> ColumnElement[bool]:
    """Items whose campaign is not PAUSED (or that belong to no campaign): the one hold rule every queue's claim adds.

    `campaign_id` is the item's campaign column, or a scalar sub-select of it for items that reach their
    campaign through a parent row (an email send through its email campaign).
    """
    paused = select(Campaign.id).where(Campaign.status == CampaignStatus.PAUSED)
    return or_(campaign_id.is_(None), campaign_id.not_in(paused))


def is_held(session: Session, campaign_id: str | None) -> bool:
    """Whether the items of `campaign_id` are held now (to say so instead of "nothing was due")."""
    if campaign_id is None:
        return False
    return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) == CampaignStatus.PAUSED


@dataclass(frozen=True)
class QueuedItem:
    """One not-yet-done item of a campaign on some channel's queue, as the campaign's status changes see it."""

    channel: str  # "social", "email", "workflow"
    id: int
    due_at: datetime | None  # None: as soon as it is reached
    label: str
    until: datetime | None = None  # the last moment it may still go out (None: no limit); a resume after it does not send it

    def passed(self, now: datetime) -> bool:
        return self.until is not None and self.until < now


def claim(
    session: Session,
    model: Any,
    *,
    where: Sequence[ColumnElement[bool]],
    worker_id: str,
    now: datetime,
    limit: int,
    order_by: Sequence[Any] = (),
    values: dict[str, Any] | None = None,
) -> list[Claimed]:
    """Lease up to `limit` rows of `model` matching `where` to `worker_id`, in `order_by` order.

    `values` are set on the claimed rows too (a status, an attempt count). `where` must describe
    only rows that may be claimed (due and free, or stale): it is the compare-and-set condition.
    """
    candidates = select(model.id, model.claimed_at).where(*where).order_by(*order_by, model.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # rows another worker is claiming right now are skipped, not waited for; the ids are fetched
        # first because PostgreSQL may re-run a LIMIT sub-select inside an UPDATE and claim more than `limit`
        candidates = candidates.with_for_update(skip_locked=True, of=model)
    rows = session.execute(candidates).all()
    if not rows:
        return []
    previous = {row.id: row.claimed_at for row in rows}
    claimed = set(session.scalars(
        update(model).where(model.id.in_(previous), *where)
        .values(**(values or {}), claimed_by=worker_id, claimed_at=now)
        .returning(model.id).execution_options(synchronize_session=False)
    ))
    return [Claimed(row.id, previous[row.id]) for row in rows if row.id in claimed]


def renew(session: Session, model: Any, ids: Sequence[int], worker_id: str, now: datetime,
          *where: ColumnElement[bool], values: dict[str, Any] | None = None) -> set[int]:
    """Renew this worker's lease on `ids` (a heartbeat before slow work); returns the ids it still holds.

    A row missing from the result was taken over after the lease expired: the worker must not act on it.
    """
    if not ids:
        return set()
    return set(session.scalars(
        update(model).where(model.id.in_(list(ids)), model.claimed_by == worker_id, *where)
        .values(**(values or {}), claimed_at=now)
        .returning(model.id).execution_options(synchronize_session=False)
    ))


def release(session: Session, model: Any, ids: Sequence[int], worker_id: str, *where: ColumnElement[bool],
            values: dict[str, Any] | None = None) -> set[int]:
    """Give rows back (lease cleared, `values` set) where this worker still holds them; returns those ids."""
    if not ids:
        return set()
    return set(session.scalars(
        update(model).where(model.id.in_(list(ids)), model.claimed_by == worker_id, *where)
        .values(**(values or {}), claimed_by=None, claimed_at=None)
        .returning(model.id).execution_options(synchronize_session=False)
    ))


def backoff(attempts: int, key: object, *, base: timedelta = DEFAULT_BASE, cap: timedelta = DEFAULT_CAP,
            jitter: float = DEFAULT_JITTER) -> timedelta:
    """The wait before retry number `attempts` (1-based) of item `key`: base * 2^(attempts-1), capped, plus jitter.

    The jitter is a fraction in [0, `jitter`) of the delay, derived from (key, attempts): failures of
    many items spread out, and the same item's retry time is the same on every run.
    """
    delay = min(base * 2 ** max(attempts - 1, 0), cap)
    digest = hashlib.blake2b(f"{key}:{attempts}".encode(), digest_size=8).digest()
    fraction = int.from_bytes(digest, "big") / 2**64
    return delay + delay * (jitter * fraction)


def max_backoff(attempts: int, *, base: timedelta = DEFAULT_BASE, cap: timedelta = DEFAULT_CAP,
                jitter: float = DEFAULT_JITTER) -> timedelta:
    """The longest `backoff` can be for retry number `attempts` (for callers that wait it out)."""
    delay = min(base * 2 ** max(attempts - 1, 0), cap)
    return delay * (1 + jitter)


def record_attempt(session: Session, *, queue: str, merchant_id: str, item_id: int, attempt: int, worker_id: str,
                   started_at: datetime, finished_at: datetime, outcome: str, detail: str = "") -> None:
    """Log one attempt at one item, in the caller's transaction (the one that records the outcome)."""
    session.add(WorkAttempt(queue=queue, merchant_id=merchant_id, item_id=item_id, attempt=attempt, worker_id=worker_id[:80],
                            started_at=started_at, finished_at=finished_at, outcome=outcome[:40], detail=detail[:4000]))


def attempts_for(session: Session, merchant_id: str, queue: str, item_id: int) -> list[WorkAttempt]:
    """Every logged attempt at one item, oldest first."""
    return list(session.scalars(
        select(WorkAttempt).where(WorkAttempt.merchant_id == merchant_id, WorkAttempt.queue == queue, WorkAttempt.item_id == item_id)
        .order_by(WorkAttempt.id)
    ))
