"""The social queue: accounts, scheduling approved posts, and the worker that publishes them.

Lifecycle of an item::

    QUEUED --claim--> PUBLISHING --publisher ok------------------> PUBLISHED
                          |------ Retryable (backoff, reset time) --> QUEUED
                          |------ AuthExpired: refresh once, retry; still refused --> FAILED (+ account NEEDS_REAUTH)
                          |------ Duplicate / Rejected ------------> FAILED
                          |------ Ambiguous: reconcile: found -----> PUBLISHED
                          |                             not found --> NEEDS_REVIEW
                          '-- lease expired (worker died) -> reconcile as above

Guarantees:

* Two workers never take the same item: claims are ``SELECT ... FOR UPDATE SKIP LOCKED`` on
  PostgreSQL and one conditional ``UPDATE ... WHERE id = ? AND status = 'QUEUED'`` per item
  (rowcount checked) on SQLite.
* Nothing is published without an approval for the item's exact content hash, checked when
  it is scheduled and again just before it is sent (an edit in between voids it).
* An outcome that may have happened is never retried blindly: the platform's recent posts
  are searched for it, and if it is not there a person decides (NEEDS_REVIEW).
* Every attempt leaves a row in ``publish_receipts`` in the
  same transaction as the status change it caused.

Items claimed by the worker belong to many merchants (the worker is a system actor); every
read and write about one item is scoped to that item's merchant.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns.core.crypto import TokenCipher, TokenKeyError, require_cipher
from campaigns.core.enums import QueueStatus
from campaigns.content.approvals import (
    KIND_CONTENT,
    KIND_QUEUE_TEXT,
    content_hash,
    get_content,
    hash_of_content,
    is_approved,
    record_author_approval,
    require_approval,
)
from campaigns.core.audit import jsonable, record
from campaigns.core.merchants import require_merchant
from campaigns.core.store.db import session_scope, with_session as _with_session
from campaigns.core.settings import Settings
from campaigns.core.store.models import Approval, CampaignContent, PublishReceipt, SocialAccount, SocialQueueItem
from campaigns.core.store.types import utcnow
from publishers.base import SOCIAL_PLATFORMS, Credentials, Issue, Publisher, Receipt, Reconciles, RefreshesTokens, SocialPost
from publishers.errors import Ambiguous, AuthExpired, Duplicate, PublishError, Rejected, Retryable
from publishers.limits import check
from publishers.text import fingerprint, thread_parts
from publishers.utm import tag_links

log = logging.getLogger(__name__)

ACTIVE = "ACTIVE"
NEEDS_REAUTH = "NEEDS_REAUTH"
DEFAULT_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 6
MAX_THREAD_PARTS = 10  # the progress of a thread is kept in platform_post_id (200 characters)
RECONCILE_SLACK = timedelta(minutes=5)
REAUTH_HINT = "reconnect it with `campaigns accounts add`, then requeue the post"


class QueueError(ValueError):
    pass


class AccountNotFoundError(LookupError):
    pass


class QueueItemNotFoundError(LookupError):
    pass


# --- accounts ----------------------------------------------------------------------------


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin") from None
    return name


def add_account(
    session: Session,
    merchant_id: str,
    platform: str,
    handle: str,
    *,
    actor: str,
    access_token: str | None = None,
    refresh_token: str | None = None,
    timezone: str = "UTC",
    cipher: TokenCipher | None = None,
) -> SocialAccount:
    """Connect an account, or reconnect it (new tokens, ACTIVE again). Tokens are stored encrypted.

    `handle` is the id the platform's API needs: the X user id (or @handle), the Facebook
    page id, the Instagram user id, or the LinkedIn author URN (urn:li:organization:123).
    """
    require_merchant(session, merchant_id)
    if platform not in SOCIAL_PLATFORMS:
        raise QueueError(f"unknown platform {platform!r}; use one of {', '.join(SOCIAL_PLATFORMS)}")
    handle = handle.strip()
    if not handle:
        raise QueueError("handle is empty; give the account's id on the platform")
    if platform == "linkedin" and not handle.startswith("urn:li:"):
        raise QueueError("a LinkedIn account is its author URN, e.g. urn:li:organization:123 or urn:li:person:abc")
    _valid_timezone(timezone)
    encrypted: dict[str, str | None] = {}
    if access_token or refresh_token:
        key = require_cipher(cipher)
        encrypted = {
            "access_token_enc": key.encrypt(access_token) if access_token else None,
            "refresh_token_enc": key.encrypt(refresh_token) if refresh_token else None,
        }
    account = session.scalar(select(SocialAccount).where(
        SocialAccount.merchant_id == merchant_id, SocialAccount.platform == platform, SocialAccount.handle == handle))
    action = "account.reconnect" if account is not None else "account.add"
    if account is None:
        account = SocialAccount(merchant_id=merchant_id, platform=platform, handle=handle)
        session.add(account)
    account.timezone = timezone
    account.status = ACTIVE
    for name, value in encrypted.items():
        setattr(account, name, value)
    session.flush()
    record(session, merchant_id, actor, action, "social_account", str(account.id), platform=platform, handle=handle,
           has_access_token=bool(access_token), has_refresh_token=bool(refresh_token))
    return account


def list_accounts(session: Session, merchant_id: str) -> list[SocialAccount]:
    return list(session.scalars(select(SocialAccount).where(SocialAccount.merchant_id == merchant_id).order_by(SocialAccount.platform, SocialAccount.handle)))


def get_account(session: Session, merchant_id: str, account_id: int) -> SocialAccount:
    account = session.scalar(select(SocialAccount).where(SocialAccount.merchant_id == merchant_id, SocialAccount.id == account_id))
    if account is None:
        raise AccountNotFoundError(f"no social account {account_id} for merchant {merchant_id!r}; list them with `campaigns accounts list`")
    return account


def account_ref(account: SocialAccount) -> str:
    # `external_id` is what the platform API wants; `handle` is the display name (and the fallback)
    return account.external_id or account.handle


def credentials_for(account: SocialAccount, cipher: TokenCipher | None) -> Credentials:
    if not account.access_token_enc and not account.refresh_token_enc:
        return Credentials.of(account_ref(account))
    key = require_cipher(cipher, f"read the stored token of {account.platform} account {account.handle}")
    return Credentials.of(
        account_ref(account),
        key.decrypt(account.access_token_enc) if account.access_token_enc else "",
        key.decrypt(account.refresh_token_enc) if account.refresh_token_enc else None,
    )


def mark_needs_reauth(session: Session, merchant_id: str, account_id: int, reason: str, actor: str) -> None:
    account = get_account(session, merchant_id, account_id)
    if account.status != NEEDS_REAUTH:
        account.status = NEEDS_REAUTH
        account.reauth_reason = reason
        record(session, merchant_id, actor, "account.needs_reauth", "social_account", str(account.id), reason=reason)


# --- scheduling --------------------------------------------------------------------------


def schedule_time(value: str | datetime, timezone: str) -> datetime:
    """A time with an offset as given, or a wall-clock time read in `timezone` (the account's); UTC out.

    A wall-clock time that does not exist there (the hour skipped when clocks go forward)
    is refused rather than silently moved.
    """
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        zone = ZoneInfo(_valid_timezone(timezone))
        local = when.replace(tzinfo=zone)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != when:
            raise QueueError(f"{when:%Y-%m-%d %H:%M} does not exist in {timezone} (the clocks skip it); pick another time")
        when = local
    return when.astimezone(UTC)


def _idempotency_key(merchant_id: str, account_id: int, hash_: str, scheduled_at: datetime) -> str:
    digest = hashlib.sha256(f"{merchant_id}|{account_id}|{hash_}|{scheduled_at.astimezone(UTC).isoformat()}".encode()).hexdigest()
    return f"sq_{digest[:40]}"


def rendered_text(text: str, platform: str, campaign_id: str | None, content_id: int | None, item_id: int | None) -> str:
    """The approved text with its links UTM-tagged for campaign, channel and content (deterministic)."""
    if not campaign_id:
        return text
    content = f"content-{content_id}" if content_id else f"post-{item_id}" if item_id else None
    return tag_links(text, channel=platform, campaign=campaign_id, content=content)


def _render(item: _ItemView, platform: str) -> SocialPost:
    """The post as sent; parts of a thread posted by an earlier attempt are kept in platform_post_id."""
    posted = tuple(p for p in (item.platform_post_id or "").split(",") if p)
    text = rendered_text(item.text, platform, item.campaign_id, item.content_id, item.id)
    return SocialPost(text=text, media=item.media, posted_part_ids=posted)


def _check_postable(platform: str, text: str, media: Sequence[str]) -> None:
    issues = check(platform, text, media)
    if platform == "x" and (parts := len(thread_parts(text))) > MAX_THREAD_PARTS:
        issues.append(Issue("thread", f"has {parts} parts; at most {MAX_THREAD_PARTS} can be scheduled"))
    if issues:
        raise QueueError(f"cannot schedule this {platform} post: " + "; ".join(map(str, issues)))


def _schedulable_account(session: Session, merchant_id: str, account_id: int, scheduled_at: datetime) -> SocialAccount:
    if scheduled_at.tzinfo is None:
        raise QueueError("scheduled_at has no time zone; use schedule_time() or give an offset, e.g. 2026-12-01T09:00:00+01:00")
    account = get_account(session, merchant_id, account_id)
    if account.status != ACTIVE:
        raise QueueError(f"{account.platform} account {account.handle} needs re-authentication; {REAUTH_HINT}")
    return account


def _add_item(
    session: Session,
    merchant_id: str,
    account: SocialAccount,
    *,
    text: str,
    media: Sequence[str],
    scheduled_at: datetime,
    campaign_id: str | None,
    content_id: int | None,
    idempotency_key: str | None,
) -> tuple[SocialQueueItem, bool]:
    """(item, created): the item already queued under the same idempotency key comes back instead of a second one."""
    hash_ = content_hash(text, media)
    key = idempotency_key or _idempotency_key(merchant_id, account.id, hash_, scheduled_at)
    existing = session.scalar(select(SocialQueueItem).where(SocialQueueItem.idempotency_key == key))
    if existing is not None:
        if existing.merchant_id != merchant_id:
            raise QueueError("this idempotency key is already used; pass another one")
        return existing, False
    _check_postable(account.platform, rendered_text(text, account.platform, campaign_id, content_id, None), media)
    item = SocialQueueItem(
        merchant_id=merchant_id, account_id=account.id, campaign_id=campaign_id, content_id=content_id, text=text, media=list(media),
        content_hash=hash_, scheduled_at=scheduled_at.astimezone(UTC), status=QueueStatus.QUEUED, idempotency_key=key,
    )
    session.add(item)
    session.flush()
    return item, True


def enqueue(
    session: Session,
    merchant_id: str,
    *,
    account_id: int,
    text: str,
    scheduled_at: datetime,
    actor: str,
    approved_as: tuple[str, int],
    media: Sequence[str] = (),
    campaign_id: str | None = None,
    idempotency_key: str | None = None,
) -> SocialQueueItem:
    """Queue approved content. `approved_as` is (kind, id) of the content whose approval covers this exact text and media."""
    account = _schedulable_account(session, merchant_id, account_id, scheduled_at)
    kind, source_id = approved_as
    approval = require_approval(session, merchant_id, kind, source_id, content_hash(text, media))
    item, created = _add_item(session, merchant_id, account, text=text, media=media, scheduled_at=scheduled_at, campaign_id=campaign_id,
                              content_id=source_id if kind == KIND_CONTENT else None, idempotency_key=idempotency_key)
    if not created:
        return item
    if kind not in (KIND_CONTENT, KIND_QUEUE_TEXT):
        # the queue only knows its own items and campaign contents: carry the approval over, naming its origin
        session.add(Approval(merchant_id=merchant_id, content_kind=KIND_QUEUE_TEXT, content_id=item.id, content_hash=item.content_hash,
                             approved_by=approval.approved_by, note=f"approval {approval.id} of {kind} {source_id}"))
    record(session, merchant_id, actor, "social.schedule", "social_queue", str(item.id), account_id=account_id, platform=account.platform,
           scheduled_at=item.scheduled_at.isoformat(), content_hash=item.content_hash, approved_as=f"{kind}:{source_id}", approval_id=approval.id)
    return item


def schedule_text(
    session: Session,
    merchant_id: str,
    *,
    account_id: int,
    text: str,
    scheduled_at: datetime,
    author: str,
    media: Sequence[str] = (),
    campaign_id: str | None = None,
    idempotency_key: str | None = None,
) -> SocialQueueItem:
    """Queue text a person wrote themselves: scheduling it counts as their approval (recorded as such)."""
    account = _schedulable_account(session, merchant_id, account_id, scheduled_at)
    item, created = _add_item(session, merchant_id, account, text=text, media=media, scheduled_at=scheduled_at, campaign_id=campaign_id,
                              content_id=None, idempotency_key=idempotency_key)
    if not created:
        return item
    approval = record_author_approval(session, merchant_id, KIND_QUEUE_TEXT, item.id, item.content_hash, author)
    record(session, merchant_id, author, "social.schedule", "social_queue", str(item.id), account_id=account_id, platform=account.platform,
           scheduled_at=item.scheduled_at.isoformat(), content_hash=item.content_hash, approved_as="author", approval_id=approval.id)
    return item


def enqueue_content(session: Session, merchant_id: str, content_id: int, *, account_id: int, scheduled_at: datetime, actor: str,
                    idempotency_key: str | None = None) -> SocialQueueItem:
    """Queue an approved campaign content as it is now."""
    content = get_content(session, merchant_id, content_id)
    return enqueue(session, merchant_id, account_id=account_id, text=content.body, media=list(content.media or ()),
                   scheduled_at=scheduled_at, actor=actor, approved_as=(KIND_CONTENT, content.id), campaign_id=content.campaign_id,
                   idempotency_key=idempotency_key)


def get_item(session: Session, merchant_id: str, item_id: int) -> SocialQueueItem:
    item = session.scalar(select(SocialQueueItem).where(SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.id == item_id))
    if item is None:
        raise QueueItemNotFoundError(f"no queued post {item_id} for merchant {merchant_id!r}; list them with `campaigns social queue`")
    return item


def list_queue(session: Session, merchant_id: str, status: QueueStatus | None = None, account_id: int | None = None) -> list[SocialQueueItem]:
    query = select(SocialQueueItem).where(SocialQueueItem.merchant_id == merchant_id)
    if status is not None:
        query = query.where(SocialQueueItem.status == status)
    if account_id is not None:
        query = query.where(SocialQueueItem.account_id == account_id)
    return list(session.scalars(query.order_by(SocialQueueItem.scheduled_at, SocialQueueItem.id)))


def cancel(session: Session, merchant_id: str, item_id: int, actor: str, reason: str = "") -> SocialQueueItem:
    item = get_item(session, merchant_id, item_id)
    if item.status not in (QueueStatus.QUEUED, QueueStatus.NEEDS_REVIEW):
        raise QueueError(f"post {item_id} is {item.status.value}; only QUEUED or NEEDS_REVIEW posts can be cancelled")
    before = item.status
    item.status = QueueStatus.FAILED
    item.last_error = f"cancelled by {actor}" + (f": {reason}" if reason else "")
    record(session, merchant_id, actor, "social.cancel", "social_queue", str(item.id), before=before.value, reason=reason)
    return item


def resolve_review(
    session: Session,
    merchant_id: str,
    item_id: int,
    *,
    actor: str,
    outcome: Literal["published", "requeue", "failed"],
    platform_post_id: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> SocialQueueItem:
    """A person settles a NEEDS_REVIEW post after looking at the account: it was published, it was not (send it), or drop it."""
    item = get_item(session, merchant_id, item_id)
    if item.status is not QueueStatus.NEEDS_REVIEW:
        raise QueueError(f"post {item_id} is {item.status.value}, not NEEDS_REVIEW")
    now = now or utcnow()
    if outcome == "published":
        if not platform_post_id:
            raise QueueError("give the platform's post id of the published post")
        item.status, item.platform_post_id, item.published_at, item.last_error = QueueStatus.PUBLISHED, platform_post_id, now, None
    elif outcome == "requeue":
        item.status, item.scheduled_at, item.claimed_by, item.claimed_at = QueueStatus.QUEUED, now, None, None
    elif outcome == "failed":
        item.status = QueueStatus.FAILED
        item.last_error = f"{item.last_error or ''} (closed by {actor}{': ' + note if note else ''})".strip()
    else:
        raise QueueError("outcome must be published, requeue or failed")
    record(session, merchant_id, actor, "social.review", "social_queue", str(item.id), outcome=outcome, platform_post_id=platform_post_id, note=note)
    return item


# --- claiming ----------------------------------------------------------------------------


def _claim(session: Session, worker_id: str, now: datetime, limit: int, merchant_id: str | None, stale_before: datetime | None) -> list[tuple[SocialQueueItem, datetime | None]]:
    if stale_before is None:
        condition = [SocialQueueItem.status == QueueStatus.QUEUED, SocialQueueItem.scheduled_at <= now]
        values: dict[str, Any] = {"attempts": SocialQueueItem.attempts + 1}
    else:
        condition = [SocialQueueItem.status == QueueStatus.PUBLISHING, SocialQueueItem.claimed_at < stale_before]
        values = {}
    if merchant_id is not None:
        condition.append(SocialQueueItem.merchant_id == merchant_id)
    values.update(status=QueueStatus.PUBLISHING, claimed_by=worker_id, claimed_at=now)
    candidates = (
        select(SocialQueueItem.id, SocialQueueItem.claimed_at).where(*condition)
        .order_by(SocialQueueItem.scheduled_at, SocialQueueItem.id).limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # rows another worker is claiming right now are skipped, not waited for
        rows = session.execute(candidates.with_for_update(skip_locked=True)).all()
        claimed = [row.id for row in rows]
        if claimed:
            session.execute(update(SocialQueueItem).where(SocialQueueItem.id.in_(claimed)).values(**values)
                            .execution_options(synchronize_session=False))
    else:
        rows = session.execute(candidates).all()
        claimed = []
        for row in rows:
            # SQLite has no row locks: the status re-check makes each claim a compare-and-set
            result = session.execute(update(SocialQueueItem).where(SocialQueueItem.id == row.id, *condition).values(**values)
                                     .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                claimed.append(row.id)
    if not claimed:
        return []
    previous = {row.id: row.claimed_at for row in rows}
    items = session.scalars(select(SocialQueueItem).where(SocialQueueItem.id.in_(claimed)).order_by(SocialQueueItem.scheduled_at, SocialQueueItem.id)
                            .execution_options(populate_existing=True)).all()
    return [(item, previous.get(item.id)) for item in items]



def claim_due(session_or_url: Session | str, worker_id: str, now: datetime, limit: int = 20, merchant_id: str | None = None) -> list[SocialQueueItem]:
    """Atomically move up to `limit` due QUEUED items to PUBLISHING for `worker_id` (attempts + 1).

    Given a URL, the claim is committed before returning; given a session, the caller commits.
    """
    return [item for item, _ in _with_session(session_or_url, lambda s: _claim(s, worker_id, now, limit, merchant_id, None))]


def claim_stale(session_or_url: Session | str, worker_id: str, now: datetime, lease: timedelta = DEFAULT_LEASE, limit: int = 20,
                merchant_id: str | None = None) -> list[tuple[SocialQueueItem, datetime | None]]:
    """Take over PUBLISHING items whose worker has not reported within `lease`; returns (item, the old claim time)."""
    return _with_session(session_or_url, lambda s: _claim(s, worker_id, now, limit, merchant_id, now - lease))


# --- publishing --------------------------------------------------------------------------


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
class _ItemView:
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

    @classmethod
    def of(cls, item: SocialQueueItem) -> _ItemView:
        return cls(item.id, item.merchant_id, item.account_id, item.campaign_id, item.content_id, item.text, tuple(item.media or ()),
                   item.content_hash, item.attempts, item.platform_post_id, item.claimed_at)


@dataclass
class _Prepared:
    account_id: int
    platform: str
    publisher: Any
    credentials: Credentials
    post: SocialPost


@dataclass
class _Run:
    url: str
    publishers: Mapping[str, Publisher[SocialPost]]
    worker_id: str
    now: datetime
    cipher: TokenCipher | None
    max_attempts: int
    started: float = field(default_factory=time.monotonic)

    def clock(self) -> datetime:
        # `now` may be a test's or a schedule's time; it advances with real elapsed time from there
        return self.now + timedelta(seconds=time.monotonic() - self.started)


def backoff(attempts: int, item_id: int) -> timedelta:
    """1, 2, 4 ... minutes, capped at an hour, plus a few seconds that differ per item so retries spread out."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600) + item_id % 17)


def publish_due(
    url: str,
    publishers: Mapping[str, Publisher[SocialPost]],
    worker_id: str,
    now: datetime | None = None,
    *,
    limit: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    cipher: TokenCipher | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    merchant_id: str | None = None,
) -> PublishReport:
    """One worker pass: reconcile items whose worker died, then claim and publish up to `limit` due items."""
    run = _Run(url, publishers, worker_id, now or utcnow(), cipher, max_attempts)
    report = PublishReport(worker_id)
    for item, previous_claim in claim_stale(url, worker_id, run.now, lease, limit, merchant_id):
        view = _ItemView.of(item)
        report.outcomes.append(_guarded(run, view, lambda v=view, p=previous_claim: _recover(run, v, p)))
    for item in claim_due(url, worker_id, run.now, limit, merchant_id):
        view = _ItemView.of(item)
        report.outcomes.append(_guarded(run, view, lambda v=view: _publish_one(run, v)))
    return report


def _guarded(run: _Run, item: _ItemView, work: Callable[[], Outcome]) -> Outcome:
    try:
        return work()
    except Exception as exc:  # a bug, not a platform answer: the post may be out, so a person looks
        log.exception("publishing item %s failed unexpectedly", item.id)
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"unexpected error while publishing: {type(exc).__name__}: {exc}",
                       receipts=[_receipt(item, "error", error={"error_kind": "unexpected", "reason": str(exc)})])


def _receipt(item: _ItemView, outcome: str, *, platform: str | None = None, sandbox: bool = False, receipt: Receipt | None = None,
             error: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"attempt": item.attempts, "outcome": outcome, "platform": platform, "mode": "sandbox" if sandbox else "live"}
    if receipt is not None:
        out.update(post_id=receipt.post_id, post_ids=list(receipt.post_ids), url=receipt.url)
    if error:
        out.update(error)
    out.update(extra)
    return out


def _finish(
    run: _Run,
    item: _ItemView,
    status: QueueStatus,
    *,
    reason: str | None = None,
    post_ids: Sequence[str] = (),
    scheduled_at: datetime | None = None,
    receipts: Sequence[dict[str, Any]] = (),
    sandbox: bool = False,
) -> Outcome:
    """Write the outcome and its receipts in one transaction, only if this worker still holds the item."""
    values: dict[str, Any] = {"status": status, "last_error": reason}
    if post_ids:
        values["platform_post_id"] = ",".join(post_ids)[:200]
    if status is QueueStatus.PUBLISHED:
        values["published_at"] = run.clock()
    if status is QueueStatus.QUEUED:
        values.update(scheduled_at=scheduled_at or run.clock(), claimed_by=None, claimed_at=None)
    with session_scope(run.url) as session:
        result = session.execute(
            update(SocialQueueItem)
            .where(SocialQueueItem.id == item.id, SocialQueueItem.merchant_id == item.merchant_id,
                   SocialQueueItem.status == QueueStatus.PUBLISHING, SocialQueueItem.claimed_by == run.worker_id)
            .values(**values).execution_options(synchronize_session=False)
        )
        lost = result.rowcount != 1
        for details in receipts:
            entry = {**details, "result": status.value, "result_reason": reason}
            if lost:
                entry["lease_lost"] = True
            session.add(_receipt_row(item, run.worker_id, status, entry))
    if lost:
        log.warning("item %s was taken over by another worker before %s could record %s", item.id, run.worker_id, status.value)
        return Outcome(item.id, item.merchant_id, "LEASE_LOST", reason, ",".join(post_ids) or None, sandbox)
    return Outcome(item.id, item.merchant_id, status.value, reason, ",".join(post_ids) or None, sandbox)


def _heartbeat(run: _Run, item: _ItemView) -> bool:
    """Renew the lease just before sending, so a slow batch is not mistaken for a dead worker."""
    with session_scope(run.url) as session:
        result = session.execute(
            update(SocialQueueItem)
            .where(SocialQueueItem.id == item.id, SocialQueueItem.status == QueueStatus.PUBLISHING, SocialQueueItem.claimed_by == run.worker_id)
            .values(claimed_at=run.clock()).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def _approval_problem(session: Session, item: _ItemView) -> str | None:
    current = content_hash(item.text, item.media)
    if current != item.content_hash:
        return "the text or media changed after approval; approve the new version and schedule it again"
    if item.content_id is not None:
        content = session.scalar(select(CampaignContent).where(CampaignContent.merchant_id == item.merchant_id, CampaignContent.id == item.content_id))
        if content is not None and hash_of_content(content) != item.content_hash:
            return f"content {item.content_id} was edited after it was scheduled, which voids its approval; approve the new version and schedule it again"
        if is_approved(session, item.merchant_id, KIND_CONTENT, item.content_id, current):
            return None
    if is_approved(session, item.merchant_id, KIND_QUEUE_TEXT, item.id, current):
        return None
    return "no approval covers this exact text; approve it, then schedule it again"


def _prepare(run: _Run, item: _ItemView, *, for_reconcile: bool = False) -> _Prepared | Outcome:
    """Account, approval, publisher, credentials and the rendered post, or the outcome that ends the attempt here.

    When reconciling (`for_reconcile`), the post may already be out: nothing here may put it
    back in the queue, so every gap sends it to a person instead.
    """
    key_problem = problem = None
    with session_scope(run.url) as session:
        account = session.scalar(select(SocialAccount).where(SocialAccount.id == item.account_id, SocialAccount.merchant_id == item.merchant_id))
        if account is not None:
            platform, handle, status, account_id = account.platform, account.handle, account.status, account.id
            publisher = run.publishers.get(platform)
            sandbox = bool(getattr(publisher, "sandbox", False))
            if not for_reconcile:
                problem = _approval_problem(session, item)
            try:
                credentials = Credentials.of(account_ref(account)) if sandbox else credentials_for(account, run.cipher)
            except TokenKeyError as exc:
                key_problem = str(exc)
    if account is None:
        status_ = QueueStatus.NEEDS_REVIEW if for_reconcile else QueueStatus.FAILED
        return _finish(run, item, status_, reason="the social account was removed", receipts=[_receipt(item, "not_sent")])
    if for_reconcile and (publisher is None or key_problem):
        why = key_problem or f"no publisher is configured for {platform}"
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"its worker never reported back and the platform cannot be checked: {why}",
                       receipts=[_receipt(item, "reconcile_failed", platform=platform)])
    if not for_reconcile:
        if status != ACTIVE:
            return _finish(run, item, QueueStatus.FAILED, reason=f"{platform} account {handle} needs re-authentication; {REAUTH_HINT}",
                           receipts=[_receipt(item, "not_sent", platform=platform)])
        if problem:
            return _finish(run, item, QueueStatus.FAILED, reason=problem, receipts=[_receipt(item, "not_sent", platform=platform)])
        if publisher is None or key_problem:
            # a configuration gap on this side and nothing was sent: try again later, up to the attempt limit
            why = key_problem or f"no publisher is configured for {platform}"
            return _retry_later(run, item, Retryable(why, platform=platform), platform=platform, sandbox=sandbox, outcome="not_sent")
        if not sandbox and not credentials.access_token.get_secret_value():
            # nothing to authenticate with: no retry can fix it, a person must connect the account
            return _finish(run, item, QueueStatus.FAILED, reason=f"{platform} account {handle} has no access token; {REAUTH_HINT}",
                           receipts=[_receipt(item, "not_sent", platform=platform)])
    post = _render(item, platform)
    if not for_reconcile and (issues := publisher.validate(post)):
        reason = "refused before sending: " + "; ".join(map(str, issues))
        return _finish(run, item, QueueStatus.FAILED, reason=reason, receipts=[_receipt(item, "not_sent", platform=platform, sandbox=sandbox)])
    return _Prepared(account_id, platform, publisher, credentials, post)


def _publish_one(run: _Run, item: _ItemView) -> Outcome:
    prepared = _prepare(run, item)
    if isinstance(prepared, Outcome):
        return prepared
    if not _heartbeat(run, item):
        return Outcome(item.id, item.merchant_id, "LEASE_LOST", "another worker took the item over before it was sent")
    return _attempt(run, item, prepared, prepared.credentials, receipts=[], may_refresh=True)


def _attempt(run: _Run, item: _ItemView, prepared: _Prepared, credentials: Credentials, *, receipts: list[dict[str, Any]], may_refresh: bool) -> Outcome:
    publisher, platform = prepared.publisher, prepared.platform
    sandbox = bool(getattr(publisher, "sandbox", False))
    try:
        receipt = publisher.publish(prepared.post, credentials)
    except AuthExpired as exc:
        receipts.append(_receipt(item, "auth_expired", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        if may_refresh and isinstance(publisher, RefreshesTokens) and credentials.refresh_token is not None:
            try:
                fresh = _refresh_tokens(run, item, prepared, credentials)
            except AuthExpired as refused:
                return _needs_reauth(run, item, prepared, f"the access token expired and the refresh was refused ({refused.reason})", receipts, exc)
            except Retryable as later:
                return _retry_later(run, item, later, platform=platform, sandbox=sandbox, receipts=receipts, outcome="refresh_failed")
            except TokenKeyError as key_problem:
                return _retry_later(run, item, Retryable(str(key_problem), platform=platform), platform=platform, receipts=receipts, outcome="refresh_failed")
            return _attempt(run, item, prepared, fresh, receipts=receipts, may_refresh=False)
        why = "the access token was refused again after a refresh" if not may_refresh else "the access token expired and cannot be refreshed"
        return _needs_reauth(run, item, prepared, f"{why} ({exc.reason})", receipts, exc)
    except Ambiguous as exc:
        receipts.append(_receipt(item, "ambiguous", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        known = exc.partial_ids or prepared.post.posted_part_ids
        since = (item.claimed_at or run.now) - RECONCILE_SLACK
        return _reconcile(run, item, prepared, credentials, since=since, known=known, cause=exc.reason, receipts=receipts)
    except Duplicate as exc:
        receipts.append(_receipt(item, "duplicate", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        if item.attempts > 1:
            # an earlier attempt answered with an error but may have posted after all: look before failing
            try:
                found = _find_on_platform(prepared, credentials, since=_first_attempt_at(run, item) - RECONCILE_SLACK,
                                          known=exc.partial_ids or prepared.post.posted_part_ids, exclude=_published_ids(run, item, prepared))
            except PublishError:
                found = None
            if found is not None and len(found) == len(publisher.parts(prepared.post)):
                receipts.append(_receipt(item, "reconciled", platform=platform, sandbox=sandbox, post_ids=found))
                return _finish(run, item, QueueStatus.PUBLISHED, post_ids=found, receipts=receipts, sandbox=sandbox)
        return _finish(run, item, QueueStatus.FAILED, reason=f"duplicate: {exc.reason}", post_ids=exc.partial_ids, receipts=receipts, sandbox=sandbox)
    except Retryable as exc:
        return _retry_later(run, item, exc, platform=platform, sandbox=sandbox, receipts=receipts)
    except Rejected as exc:
        receipts.append(_receipt(item, "rejected", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        reason = f"rejected by {platform}: {exc.reason}"
        if exc.partial_ids:
            reason += f" (parts already posted: {', '.join(exc.partial_ids)})"
        return _finish(run, item, QueueStatus.FAILED, reason=reason, post_ids=exc.partial_ids, receipts=receipts, sandbox=sandbox)
    except PublishError as exc:
        receipts.append(_receipt(item, exc.kind, platform=platform, sandbox=sandbox, error=exc.as_dict()))
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"unclassified {platform} error: {exc.reason}", receipts=receipts, sandbox=sandbox)
    receipts.append(_receipt(item, "published", platform=platform, sandbox=sandbox, receipt=receipt))
    ids = receipt.post_ids or (receipt.post_id,)
    return _finish(run, item, QueueStatus.PUBLISHED, post_ids=ids, receipts=receipts, sandbox=sandbox)


def _retry_later(run: _Run, item: _ItemView, exc: Retryable, *, platform: str, sandbox: bool = False,
                 receipts: list[dict[str, Any]] | None = None, outcome: str = "retryable") -> Outcome:
    receipts = list(receipts or [])
    now = run.clock()
    if exc.retry_at is not None:
        when = max(exc.retry_at, now)  # the platform said when its limit resets
    elif exc.retry_after is not None:
        when = now + timedelta(seconds=exc.retry_after)
    else:
        when = now + backoff(item.attempts, item.id)
    receipts.append(_receipt(item, outcome, platform=platform, sandbox=sandbox, error=exc.as_dict(), retry_at=when.isoformat()))
    if item.attempts >= run.max_attempts:
        return _finish(run, item, QueueStatus.FAILED, reason=f"gave up after {item.attempts} attempts: {exc.reason}", post_ids=exc.partial_ids,
                       receipts=receipts, sandbox=sandbox)
    reason = f"attempt {item.attempts} failed, retrying at {when:%Y-%m-%d %H:%M:%S} UTC: {exc.reason}"
    return _finish(run, item, QueueStatus.QUEUED, reason=reason, post_ids=exc.partial_ids, scheduled_at=when, receipts=receipts, sandbox=sandbox)


def _needs_reauth(run: _Run, item: _ItemView, prepared: _Prepared, reason: str, receipts: list[dict[str, Any]], exc: PublishError) -> Outcome:
    with session_scope(run.url) as session:
        mark_needs_reauth(session, item.merchant_id, prepared.account_id, reason, run.worker_id)
    return _finish(run, item, QueueStatus.FAILED, reason=f"{reason}; the account is marked NEEDS_REAUTH: {REAUTH_HINT}",
                   post_ids=exc.partial_ids, receipts=receipts)


def _refresh_tokens(run: _Run, item: _ItemView, prepared: _Prepared, failed: Credentials) -> Credentials:
    """Refresh under a lock on the account, so two workers never spend the same (rotating) refresh token."""
    with session_scope(run.url) as session:
        query = select(SocialAccount).where(SocialAccount.id == prepared.account_id, SocialAccount.merchant_id == item.merchant_id)
        if session.get_bind().dialect.name == "postgresql":
            account = session.scalar(query.with_for_update())
        else:
            # taking SQLite's write lock first serialises refreshes the same way
            session.execute(update(SocialAccount).where(SocialAccount.id == prepared.account_id).values(status=SocialAccount.status))
            account = session.scalar(query.execution_options(populate_existing=True))
        current = credentials_for(account, run.cipher)
        if current.access_token.get_secret_value() != failed.access_token.get_secret_value():
            return current  # another worker refreshed meanwhile
        # X rotates refresh tokens: once spent, the new ones must be storable, so check the key first
        key = require_cipher(run.cipher, "store the refreshed token")
        fresh = prepared.publisher.refresh(current)
        account.access_token_enc = key.encrypt(fresh.access_token.get_secret_value())
        if fresh.refresh_token is not None:
            account.refresh_token_enc = key.encrypt(fresh.refresh_token.get_secret_value())
        record(session, item.merchant_id, run.worker_id, "account.token_refresh", "social_account", str(account.id), platform=account.platform)
        return fresh


def _first_attempt_at(run: _Run, item: _ItemView) -> datetime:
    """When this item was first sent, from its oldest receipt (an older identical post is someone else's)."""
    with session_scope(run.url) as session:
        first = session.scalar(select(func.min(PublishReceipt.created_at)).where(
            PublishReceipt.merchant_id == item.merchant_id, PublishReceipt.queue_item_id == item.id))
    if isinstance(first, str):  # SQLite aggregates come back untyped
        first = datetime.fromisoformat(first)
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first or item.claimed_at or run.now


def _published_ids(run: _Run, item: _ItemView, prepared: _Prepared) -> set[str]:
    """Post ids other items of the same account already own, so a match is never claimed twice."""
    with session_scope(run.url) as session:
        rows = session.scalars(select(SocialQueueItem.platform_post_id).where(
            SocialQueueItem.merchant_id == item.merchant_id, SocialQueueItem.account_id == prepared.account_id,
            SocialQueueItem.id != item.id, SocialQueueItem.platform_post_id.is_not(None)))
        return {pid for row in rows for pid in row.split(",") if pid}


def _find_on_platform(prepared: _Prepared, credentials: Credentials, *, since: datetime, known: Sequence[str], exclude: set[str]) -> list[str] | None:
    """Ids of the post's parts found among the account's recent posts, in order (None when the platform cannot be asked)."""
    publisher = prepared.publisher
    if not isinstance(publisher, Reconciles):
        return None
    remote = publisher.recent_posts(credentials, since=since)
    remote = sorted(remote, key=lambda p: (p.created_at or since, p.id))
    parts = publisher.parts(prepared.post)
    found, taken = list(known), set(known) | exclude
    for part in parts[len(known):]:
        wanted = fingerprint(part)
        match = next((p for p in remote if p.id not in taken and fingerprint(p.text) == wanted), None)
        if match is None:
            break
        found.append(match.id)
        taken.add(match.id)
    return found


def _reconcile(run: _Run, item: _ItemView, prepared: _Prepared, credentials: Credentials, *, since: datetime, known: Sequence[str],
               cause: str, receipts: list[dict[str, Any]]) -> Outcome:
    platform, sandbox = prepared.platform, bool(getattr(prepared.publisher, "sandbox", False))
    try:
        found = _find_on_platform(prepared, credentials, since=since, known=known, exclude=_published_ids(run, item, prepared))
    except PublishError as exc:
        receipts.append(_receipt(item, "reconcile_failed", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"{cause}; checking {platform} failed too ({exc.reason}): check the account, "
                       "then mark the post published or requeue it", post_ids=known, receipts=receipts, sandbox=sandbox)
    if found is None:
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"{cause}; {platform} posts cannot be listed to check: look at the account, "
                       "then mark the post published or requeue it", post_ids=known, receipts=receipts, sandbox=sandbox)
    parts = prepared.publisher.parts(prepared.post)
    if len(found) == len(parts):
        receipts.append(_receipt(item, "reconciled", platform=platform, sandbox=sandbox, post_ids=found))
        return _finish(run, item, QueueStatus.PUBLISHED, post_ids=found, receipts=receipts, sandbox=sandbox)
    if len(found) > len(known):
        # the uncertain part is confirmed on the platform and the rest was never sent: safe to continue the thread
        receipts.append(_receipt(item, "reconciled_partial", platform=platform, sandbox=sandbox, post_ids=found))
        return _finish(run, item, QueueStatus.QUEUED, reason=f"{cause}; found parts 1-{len(found)} on {platform}, continuing the thread",
                       post_ids=found, scheduled_at=run.clock(), receipts=receipts, sandbox=sandbox)
    receipts.append(_receipt(item, "not_found", platform=platform, sandbox=sandbox))
    return _finish(run, item, QueueStatus.NEEDS_REVIEW,
                   reason=f"{cause}; the post is not among the account's recent {platform} posts, but it may still appear: "
                          "check the account, then mark it published or requeue it",
                   post_ids=known, receipts=receipts, sandbox=sandbox)


def _recover(run: _Run, item: _ItemView, previous_claim: datetime | None) -> Outcome:
    """An item still PUBLISHING past its lease: its worker died mid-send. Look for the post instead of sending it again."""
    prepared = _prepare(run, item, for_reconcile=True)
    if isinstance(prepared, Outcome):
        return prepared
    cause = f"a worker claimed it at {previous_claim:%Y-%m-%d %H:%M:%S} UTC and never reported back" if previous_claim else "its worker never reported back"
    since = (previous_claim or run.now) - RECONCILE_SLACK
    receipts = [_receipt(item, "lease_expired", platform=prepared.platform, sandbox=bool(getattr(prepared.publisher, "sandbox", False)))]
    return _reconcile(run, item, prepared, prepared.credentials, since=since, known=prepared.post.posted_part_ids, cause=cause, receipts=receipts)


def receipts_for(session: Session, merchant_id: str, item_id: int) -> list[dict[str, Any]]:
    """Every publish attempt of one item, oldest first."""
    rows = session.scalars(select(PublishReceipt).where(PublishReceipt.merchant_id == merchant_id, PublishReceipt.queue_item_id == item_id)
                           .order_by(PublishReceipt.id))
    return [{"at": row.created_at.isoformat(), "worker": row.worker_id, **row.details} for row in rows]


def _receipt_row(item: _ItemView, worker_id: str, status: QueueStatus, entry: dict[str, Any]) -> PublishReceipt:
    retry_at = entry.get("retry_at")
    return PublishReceipt(
        merchant_id=item.merchant_id, queue_item_id=item.id, attempt=int(entry.get("attempt") or 0), worker_id=worker_id,
        platform=entry.get("platform"), mode=entry.get("mode", "sandbox"), outcome=str(entry.get("outcome")), result_status=status.value,
        post_ids=list(entry.get("post_ids") or ([entry["post_id"]] if entry.get("post_id") else [])), error_kind=entry.get("error_kind"),
        status_code=entry.get("status_code"), reason=entry.get("reason") or entry.get("result_reason"),
        retry_at=datetime.fromisoformat(retry_at) if isinstance(retry_at, str) else None, details=jsonable(entry),
    )


def run_worker(settings: Settings, *, worker_id: str, now: datetime | None = None, live: bool = False, limit: int = 50) -> PublishReport:
    """What a schedule or the CLI calls: publishers, token key and store all from settings."""
    from campaigns.core.crypto import cipher_from_settings
    from publishers import build_publishers

    publishers = build_publishers(settings, live=live)
    try:
        return publish_due(settings.store_url, publishers, worker_id, now, limit=limit, cipher=cipher_from_settings(settings),
                           lease=timedelta(seconds=settings.publish_lease_seconds))
    finally:
        for publisher in publishers.values():
            close = getattr(publisher, "close", None)
            if close:
                close()
