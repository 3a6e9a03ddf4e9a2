"""Scheduling approved posts: the queue's items, from an approved content or a person's own text, and what a person does with them.

Nothing is queued without an approval for the item's exact content hash (`campaigns.content.approvals`);
the worker checks it again just before sending (`campaigns.social.worker`). A person lists,
cancels and settles items that need review here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaigns.content.approvals import (
    KIND_CONTENT,
    KIND_QUEUE_TEXT,
    content_hash,
    get_content,
    record_author_approval,
    require_approval,
)
from campaigns.core.audit import record
from campaigns.core.enums import QueueStatus
from campaigns.core.queue import QueuedItem, is_held
from campaigns.core.store.models import Approval, SocialAccount, SocialQueueItem
from campaigns.core.store.types import utcnow
from campaigns.social.accounts import ACTIVE, REAUTH_HINT, QueueError, get_account, valid_timezone
from publishers.base import Issue
from publishers.limits import check
from publishers.text import thread_parts
from publishers.utm import tag_links

MAX_THREAD_PARTS = 10  # the progress of a thread is kept in platform_post_id (200 characters)


class QueueItemNotFoundError(LookupError):
    pass


def schedule_time(value: str | datetime, timezone: str) -> datetime:
    """A time with an offset as given, or a wall-clock time read in `timezone` (the account's); UTC out.

    A wall-clock time that does not exist there (the hour skipped when clocks go forward)
    is refused rather than silently moved.
    """
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        zone = ZoneInfo(valid_timezone(timezone))
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
    media_alt: Sequence[str] = (),
) -> tuple[SocialQueueItem, bool]:
    """(item, created): the item already queued under the same idempotency key comes back instead of a second one."""
    hash_ = content_hash(text, media, media_alt)
    key = idempotency_key or _idempotency_key(merchant_id, account.id, hash_, scheduled_at)
    existing = session.scalar(select(SocialQueueItem).where(SocialQueueItem.idempotency_key == key))
    if existing is not None:
        if existing.merchant_id != merchant_id:
            raise QueueError("this idempotency key is already used; pass another one")
        return existing, False
    _check_postable(account.platform, rendered_text(text, account.platform, campaign_id, content_id, None), media)
    item = SocialQueueItem(
        merchant_id=merchant_id, account_id=account.id, campaign_id=campaign_id, content_id=content_id, text=text, media=list(media),
        media_alt=list(media_alt),
        content_hash=hash_, scheduled_at=scheduled_at.astimezone(UTC), status=QueueStatus.QUEUED, idempotency_key=key,
    )
    session.add(item)
    session.flush()
    return item, True


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue` did: `created` is False when the item already on the queue for this content came back instead."""

    item: SocialQueueItem
    created: bool


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
    media_alt: Sequence[str] = (),
) -> Enqueued:
    """Queue approved content. `approved_as` is (kind, id) of the content whose approval covers this exact text and media.

    A campaign content goes out once per account: while an item of the same version is queued, publishing or published
    there (scheduled by hand, by the CLI or by Ava's workflow, at whatever time), that item comes back instead of a second,
    as does the item already queued under the same idempotency key; `created` says which happened.
    """
    account = _schedulable_account(session, merchant_id, account_id, scheduled_at)
    kind, source_id = approved_as
    hash_ = content_hash(text, media, media_alt)
    if kind == KIND_CONTENT and (live := live_item_for_content(session, merchant_id, source_id, account.id, hash_)) is not None:
        return Enqueued(live, False)
    approval = require_approval(session, merchant_id, kind, source_id, hash_)
    item, created = _add_item(session, merchant_id, account, text=text, media=media, scheduled_at=scheduled_at, campaign_id=campaign_id,
                              content_id=source_id if kind == KIND_CONTENT else None, idempotency_key=idempotency_key, media_alt=media_alt)
    if not created:
        return Enqueued(item, False)
    if kind not in (KIND_CONTENT, KIND_QUEUE_TEXT):
        # the queue only knows its own items and campaign contents: carry the approval over, naming its origin
        session.add(Approval(merchant_id=merchant_id, content_kind=KIND_QUEUE_TEXT, content_id=item.id, content_hash=item.content_hash,
                             approved_by=approval.approved_by, note=f"approval {approval.id} of {kind} {source_id}"))
    record(session, merchant_id, actor, "social.schedule", "social_queue", str(item.id), account_id=account_id, platform=account.platform,
           scheduled_at=item.scheduled_at.isoformat(), content_hash=item.content_hash, approved_as=f"{kind}:{source_id}", approval_id=approval.id)
    return Enqueued(item, True)


LIVE = (QueueStatus.QUEUED, QueueStatus.PUBLISHING, QueueStatus.PUBLISHED, QueueStatus.NEEDS_REVIEW)


def live_item_for_content(session: Session, merchant_id: str, content_id: int, account_id: int, hash_: str) -> SocialQueueItem | None:
    """The queue item of this version of campaign content `content_id` on the account that has gone or may still go out."""
    return session.scalar(select(SocialQueueItem).where(
        SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.content_id == content_id, SocialQueueItem.account_id == account_id,
        SocialQueueItem.content_hash == hash_, SocialQueueItem.status.in_(LIVE)).order_by(SocialQueueItem.id).limit(1))


def schedule_text(
    session: Session,
    merchant_id: str,
    *,
    account_id: int,
    text: str,
    scheduled_at: datetime,
    author: str,
    media: Sequence[str] = (),
    media_alt: Sequence[str] = (),
    campaign_id: str | None = None,
    idempotency_key: str | None = None,
) -> SocialQueueItem:
    """Queue text a person wrote themselves: scheduling it counts as their approval (recorded as such)."""
    account = _schedulable_account(session, merchant_id, account_id, scheduled_at)
    item, created = _add_item(session, merchant_id, account, text=text, media=media, scheduled_at=scheduled_at, campaign_id=campaign_id,
                              content_id=None, idempotency_key=idempotency_key, media_alt=media_alt)
    if not created:
        return item
    approval = record_author_approval(session, merchant_id, KIND_QUEUE_TEXT, item.id, item.content_hash, author)
    record(session, merchant_id, author, "social.schedule", "social_queue", str(item.id), account_id=account_id, platform=account.platform,
           scheduled_at=item.scheduled_at.isoformat(), content_hash=item.content_hash, approved_as="author", approval_id=approval.id)
    return item


def enqueue_content(session: Session, merchant_id: str, content_id: int, *, account_id: int, scheduled_at: datetime, actor: str,
                    idempotency_key: str | None = None) -> Enqueued:
    """Queue an approved campaign content as it is now (`enqueue`: the item, and whether this call created it)."""
    content = get_content(session, merchant_id, content_id)
    return enqueue(session, merchant_id, account_id=account_id, text=content.body, media=list(content.media or ()),
                   media_alt=list(content.media_alt or ()), scheduled_at=scheduled_at, actor=actor, approved_as=(KIND_CONTENT, content.id),
                   campaign_id=content.campaign_id, idempotency_key=idempotency_key)


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


class PostStateError(QueueError):
    """The post's state does not allow the request (it failed, was cancelled, waits for review, or its campaign is paused)."""


def publish_now(session: Session, merchant_id: str, item_id: int, *, actor: str, now: datetime | None = None) -> SocialQueueItem:
    """Make a QUEUED post due now, so the next worker pass publishes it (exactly once, like any due post).

    Asking again changes nothing: a post already due keeps its time, and one being published or published is
    returned as it is. A post that failed, was cancelled or waits for review is refused, as is one whose campaign
    is paused (the queue holds its items).
    """
    item = get_item(session, merchant_id, item_id)
    now = now or utcnow()
    if item.status in (QueueStatus.PUBLISHING, QueueStatus.PUBLISHED):
        return item
    if item.status is not QueueStatus.QUEUED:
        raise PostStateError(f"post {item_id} is {item.status.value}; only a QUEUED post can be published now "
                             f"(settle a NEEDS_REVIEW one with Mark reviewed on the app's Social page; schedule a failed or cancelled one again)")
    if is_held(session, item.campaign_id):
        raise PostStateError(f"post {item_id} belongs to campaign {item.campaign_id}, which is PAUSED; resume the campaign first")
    if item.scheduled_at <= now:
        return item
    before = item.scheduled_at
    # compare-and-set: a worker that claimed it meanwhile (or another request) wins, and this changes nothing
    moved = session.execute(update(SocialQueueItem).where(SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.id == item_id,
                                                          SocialQueueItem.status == QueueStatus.QUEUED, SocialQueueItem.claimed_by.is_(None),
                                                          SocialQueueItem.scheduled_at == before)
                            .values(scheduled_at=now).execution_options(synchronize_session=False))
    session.refresh(item)
    if moved.rowcount == 1:
        record(session, merchant_id, actor, "social.publish_now", "social_queue", str(item.id), before=before.isoformat(), at=now.isoformat())
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


def campaigns_of_posts(session: Session, merchant_ids: Sequence[str]) -> dict[int, str]:
    """Queue item id → campaign id for the merchants' posts that belong to a campaign (results are credited to it)."""
    rows = session.execute(select(SocialQueueItem.id, SocialQueueItem.campaign_id).where(
        SocialQueueItem.merchant_id.in_(list(merchant_ids)), SocialQueueItem.campaign_id.is_not(None)))
    return {item_id: campaign_id for item_id, campaign_id in rows}


# --- a campaign's posts, as its status changes (pause holds them by the queue's rule; see campaigns/core/queue.py) ---


POST_GRACE = timedelta(minutes=30)  # a post may go out this late after its time; later, a resumed campaign does not send it


def campaign_posts(session: Session, merchant_id: str, campaign_id: str) -> list[QueuedItem]:
    """The campaign's QUEUED posts (the ones its pause holds and its end cancels), soonest first."""
    rows = session.scalars(select(SocialQueueItem).where(SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.campaign_id == campaign_id,
                                                         SocialQueueItem.status == QueueStatus.QUEUED)
                           .order_by(SocialQueueItem.scheduled_at, SocialQueueItem.id))
    return [QueuedItem("social", r.id, r.scheduled_at, f"post {r.id}: {r.text[:60]}", r.scheduled_at + POST_GRACE) for r in rows]


def cancel_campaign_posts(session: Session, merchant_id: str, campaign_id: str, reason: str, actor: str,
                          ids: Sequence[int] | None = None) -> int:
    """Cancel the campaign's QUEUED posts nobody is publishing (or only `ids`), with `reason`; returns how many."""
    where = [SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.campaign_id == campaign_id,
             SocialQueueItem.status == QueueStatus.QUEUED, SocialQueueItem.claimed_by.is_(None)]
    if ids is not None:
        where.append(SocialQueueItem.id.in_(list(ids)))
    done = list(session.scalars(update(SocialQueueItem).where(*where).values(status=QueueStatus.CANCELLED, last_error=reason)
                                .returning(SocialQueueItem.id).execution_options(synchronize_session=False)))
    if done:
        record(session, merchant_id, actor, "social.cancel_campaign", "campaign", campaign_id, posts=sorted(done), reason=reason)
    return len(done)


def reschedule_campaign_posts(session: Session, merchant_id: str, campaign_id: str, ids: Sequence[int], at: datetime, actor: str) -> int:
    """Move the campaign's QUEUED posts `ids` to `at` (a resume's choice for posts whose moment passed while paused)."""
    done = list(session.scalars(update(SocialQueueItem).where(
        SocialQueueItem.merchant_id == merchant_id, SocialQueueItem.campaign_id == campaign_id, SocialQueueItem.status == QueueStatus.QUEUED,
        SocialQueueItem.id.in_(list(ids))).values(scheduled_at=at).returning(SocialQueueItem.id).execution_options(synchronize_session=False)))
    if done:
        record(session, merchant_id, actor, "social.reschedule_campaign", "campaign", campaign_id, posts=sorted(done), at=at.isoformat())
    return len(done)
