"""The publishing worker: claim due posts from the shared work queue, publish each exactly once, reconcile what may have posted.

Lifecycle of an item::

    QUEUED --claim--> PUBLISHING --publisher ok------------------> PUBLISHED
                          |------ Retryable (backoff, reset time) --> QUEUED
                          |------ AuthExpired: refresh once, retry; still refused --> FAILED (+ account NEEDS_REAUTH)
                          |------ token expiring: refreshed before sending; refused --> FAILED (+ account NEEDS_REAUTH)
                          |------ token unreadable with the key ---------> FAILED (+ account NEEDS_REAUTH)
                          |------ Duplicate / Rejected ------------> FAILED
                          |------ Ambiguous: reconcile: found -----> PUBLISHED
                          |                             not found --> NEEDS_REVIEW
                          '-- lease expired (worker died) -> reconcile as above

Guarantees:

* Two workers never take the same item: claims go through the shared work queue
  (`campaigns.core.queue`: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, compare-and-set on SQLite).
* Nothing is published without an approval for the item's exact content hash, checked when
  it is scheduled and again just before it is sent (an edit in between voids it).
* An outcome that may have happened is never retried blindly: the platform's recent posts
  are searched for it, and if it is not there a person decides (NEEDS_REVIEW). Only what
  certainly did not post is retried, after the queue's backoff (or the platform's reset time).
* Every attempt leaves a row in ``publish_receipts`` and one in the attempt log (queue
  ``social``) in the same transaction as the status change it caused.

Items claimed by the worker belong to many merchants (the worker is a system actor); every
read and write about one item is scoped to that item's merchant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns.content.approvals import KIND_CONTENT, KIND_QUEUE_TEXT, content_hash, hash_of_content, is_approved
from campaigns.core import queue
from campaigns.core.audit import record
from campaigns.core.crypto import MissingTokenKeyError, TokenCipher, TokenKeyError, cipher_from_settings, require_cipher
from campaigns.core.enums import QueueStatus
from campaigns.core.outbox import emit
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope, with_session as _with_session
from campaigns.core.store.models import CampaignContent, PublishReceipt, SocialAccount, SocialQueueItem
from campaigns.core.store.types import utcnow
from campaigns.social.accounts import ACTIVE, REAUTH_HINT, account_ref, credentials_for, mark_needs_reauth
from campaigns.social.connect import clients_from_settings, store_refreshed
from campaigns.social.receipts import ItemView, Outcome, Prepared, PublishReport, Run, receipt_entry, receipt_row
from campaigns.social.scheduling import rendered_text

# outcomes other systems hear of (outbound webhooks)
_EVENTS = {"PUBLISHED": "post.published", "FAILED": "post.failed", "NEEDS_REVIEW": "post.needs_review"}
from publishers import build_publishers
from publishers.base import Credentials, Publisher, Reconciles, RefreshesTokens, SocialPost
from publishers.errors import Ambiguous, AuthExpired, Duplicate, PublishError, Rejected, Retryable
from publishers.oauth import OAuthClient, OAuthError
from publishers.text import fingerprint

log = logging.getLogger(__name__)

QUEUE = "social"  # the attempt log's name for this queue
DEFAULT_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 6
RECONCILE_SLACK = timedelta(minutes=5)
REFRESH_BEFORE = timedelta(minutes=10)  # a token this close to its expiry is refreshed before it is used


# --- claiming ----------------------------------------------------------------------------


def _claim(session: Session, worker_id: str, now: datetime, limit: int, merchant_id: str | None,
           lease: timedelta | None) -> list[tuple[SocialQueueItem, datetime | None]]:
    if lease is None:
        where = [SocialQueueItem.status == QueueStatus.QUEUED, SocialQueueItem.scheduled_at <= now, queue.not_held(SocialQueueItem.campaign_id)]
        values: dict[str, Any] = {"status": QueueStatus.PUBLISHING, "attempts": SocialQueueItem.attempts + 1}
    else:
        where = [SocialQueueItem.status == QueueStatus.PUBLISHING, queue.lease_expired(SocialQueueItem, now, lease)]
        values = {}
    if merchant_id is not None:
        where.append(SocialQueueItem.merchant_id == merchant_id)
    claimed = queue.claim(session, SocialQueueItem, where=where, worker_id=worker_id, now=now, limit=limit,
                          order_by=[SocialQueueItem.scheduled_at], values=values)
    if not claimed:
        return []
    previous = {c.id: c.previous_claim for c in claimed}
    items = session.scalars(select(SocialQueueItem).where(SocialQueueItem.id.in_(previous))
                            .order_by(SocialQueueItem.scheduled_at, SocialQueueItem.id).execution_options(populate_existing=True)).all()
    return [(item, previous[item.id]) for item in items]


def claim_due(session_or_url: Session | str, worker_id: str, now: datetime, limit: int = 20, merchant_id: str | None = None) -> list[SocialQueueItem]:
    """Atomically move up to `limit` due QUEUED items to PUBLISHING for `worker_id` (attempts + 1).

    Given a URL, the claim is committed before returning; given a session, the caller commits.
    """
    return [item for item, _ in _with_session(session_or_url, lambda s: _claim(s, worker_id, now, limit, merchant_id, None))]


def claim_stale(session_or_url: Session | str, worker_id: str, now: datetime, lease: timedelta = DEFAULT_LEASE, limit: int = 20,
                merchant_id: str | None = None) -> list[tuple[SocialQueueItem, datetime | None]]:
    """Take over PUBLISHING items whose worker has not reported within `lease`; returns (item, the old claim time)."""
    return _with_session(session_or_url, lambda s: _claim(s, worker_id, now, limit, merchant_id, lease))


# --- publishing --------------------------------------------------------------------------


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
    oauth: Mapping[str, OAuthClient] | None = None,
) -> PublishReport:
    """One worker pass: reconcile items whose worker died, then claim and publish up to `limit` due items.

    `oauth` (clients by platform) refreshes tokens before they expire and after a 401; without
    one, a publisher that refreshes tokens itself (X) is asked.
    """
    run = Run(url, publishers, worker_id, now or utcnow(), cipher, max_attempts, oauth=dict(oauth or {}))
    report = PublishReport(worker_id)
    for item, previous_claim in claim_stale(url, worker_id, run.now, lease, limit, merchant_id):
        view = ItemView.of(item)
        report.outcomes.append(_guarded(run, view, lambda v=view, p=previous_claim: _recover(run, v, p)))
    for item in claim_due(url, worker_id, run.now, limit, merchant_id):
        view = ItemView.of(item)
        report.outcomes.append(_guarded(run, view, lambda v=view: _publish_one(run, v)))
    return report


def _guarded(run: Run, item: ItemView, work: Callable[[], Outcome]) -> Outcome:
    try:
        return work()
    except Exception as exc:  # a bug, not a platform answer: the post may be out, so a person looks
        log.exception("publishing item %s failed unexpectedly", item.id)
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"unexpected error while publishing: {type(exc).__name__}: {exc}",
                       receipts=[receipt_entry(item, "error", error={"error_kind": "unexpected", "reason": str(exc)})])


def _finish(
    run: Run,
    item: ItemView,
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
            session.add(receipt_row(item, run.worker_id, status, entry))
        if not lost and status.value in _EVENTS:
            emit(session, item.merchant_id, _EVENTS[status.value], {"queue_item_id": item.id, "campaign_id": item.campaign_id,
                                                                    "platform_post_ids": list(post_ids), "reason": reason})
        queue.record_attempt(session, queue=QUEUE, merchant_id=item.merchant_id, item_id=item.id, attempt=item.attempts, worker_id=run.worker_id,
                             started_at=item.claimed_at or run.now, finished_at=run.clock(), outcome="LEASE_LOST" if lost else status.value,
                             detail=reason or "")
    if lost:
        log.warning("item %s was taken over by another worker before %s could record %s", item.id, run.worker_id, status.value)
        return Outcome(item.id, item.merchant_id, "LEASE_LOST", reason, ",".join(post_ids) or None, sandbox)
    return Outcome(item.id, item.merchant_id, status.value, reason, ",".join(post_ids) or None, sandbox)


def _heartbeat(run: Run, item: ItemView) -> bool:
    """Renew the lease just before sending, so a slow batch is not mistaken for a dead worker."""
    with session_scope(run.url) as session:
        held = queue.renew(session, SocialQueueItem, [item.id], run.worker_id, run.clock(), SocialQueueItem.status == QueueStatus.PUBLISHING)
    return item.id in held


def _approval_problem(session: Session, item: ItemView) -> str | None:
    current = content_hash(item.text, item.media, item.media_alt)
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


def _prepare(run: Run, item: ItemView, *, for_reconcile: bool = False) -> Prepared | Outcome:
    """Account, approval, publisher, credentials and the rendered post, or the outcome that ends the attempt here.

    When reconciling (`for_reconcile`), the post may already be out: nothing here may put it
    back in the queue, so every gap sends it to a person instead.
    """
    key_problem = problem = expires_at = None
    key_lost = False
    with session_scope(run.url) as session:
        account = session.scalar(select(SocialAccount).where(SocialAccount.id == item.account_id, SocialAccount.merchant_id == item.merchant_id))
        if account is not None:
            platform, handle, status, account_id = account.platform, account.handle, account.status, account.id
            expires_at, reauth_reason = account.token_expires_at, account.reauth_reason
            publisher = run.publishers.get(platform)
            sandbox = bool(getattr(publisher, "sandbox", False))
            if not for_reconcile:
                problem = _approval_problem(session, item)
            try:
                credentials = Credentials.of(account_ref(account)) if sandbox else credentials_for(account, run.cipher)
            except TokenKeyError as exc:
                key_problem = str(exc)
                # no key at all is a configuration gap (wait for it); a key that cannot read the token never will
                key_lost = not isinstance(exc, MissingTokenKeyError)
                if key_lost and not for_reconcile and status == ACTIVE:
                    mark_needs_reauth(session, item.merchant_id, account_id, f"its stored token cannot be decrypted: {exc}", run.worker_id)
                    status, reauth_reason = "NEEDS_REAUTH", f"its stored token cannot be decrypted: {exc}"
    if account is None:
        status_ = QueueStatus.NEEDS_REVIEW if for_reconcile else QueueStatus.FAILED
        return _finish(run, item, status_, reason="the social account was removed", receipts=[receipt_entry(item, "not_sent")])
    if for_reconcile and (publisher is None or key_problem):
        why = key_problem or f"no publisher is configured for {platform}"
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"its worker never reported back and the platform cannot be checked: {why}",
                       receipts=[receipt_entry(item, "reconcile_failed", platform=platform)])
    if not for_reconcile:
        if status != ACTIVE:
            why = f" ({reauth_reason})" if reauth_reason else ""
            return _finish(run, item, QueueStatus.FAILED, reason=f"{platform} account {handle} needs re-authentication{why}; {REAUTH_HINT}",
                           receipts=[receipt_entry(item, "not_sent", platform=platform)])
        if problem:
            return _finish(run, item, QueueStatus.FAILED, reason=problem, receipts=[receipt_entry(item, "not_sent", platform=platform)])
        if publisher is None or key_problem:
            # a configuration gap on this side and nothing was sent: try again later, up to the attempt limit
            why = key_problem or f"no publisher is configured for {platform}"
            return _retry_later(run, item, Retryable(why, platform=platform), platform=platform, sandbox=sandbox, outcome="not_sent")
        if not sandbox and not credentials.access_token.get_secret_value():
            # nothing to authenticate with: no retry can fix it, a person must connect the account
            return _finish(run, item, QueueStatus.FAILED, reason=f"{platform} account {handle} has no access token; {REAUTH_HINT}",
                           receipts=[receipt_entry(item, "not_sent", platform=platform)])
    post = _render(item, platform)
    if not for_reconcile and (issues := publisher.validate(post)):
        reason = "refused before sending: " + "; ".join(map(str, issues))
        return _finish(run, item, QueueStatus.FAILED, reason=reason, receipts=[receipt_entry(item, "not_sent", platform=platform, sandbox=sandbox)])
    return Prepared(account_id, platform, publisher, credentials, post, expires_at)


def _render(item: ItemView, platform: str) -> SocialPost:
    """The post as sent; parts of a thread posted by an earlier attempt are kept in platform_post_id."""
    posted = tuple(p for p in (item.platform_post_id or "").split(",") if p)
    text = rendered_text(item.text, platform, item.campaign_id, item.content_id, item.id)
    return SocialPost(text=text, media=item.media, media_alt=item.media_alt, posted_part_ids=posted)


def _publish_one(run: Run, item: ItemView) -> Outcome:
    prepared = _prepare(run, item)
    if isinstance(prepared, Outcome):
        return prepared
    if not _heartbeat(run, item):
        return Outcome(item.id, item.merchant_id, "LEASE_LOST", "another worker took the item over before it was sent")
    credentials, receipts = prepared.credentials, []
    if _can_refresh(run, prepared, credentials) and prepared.token_expires_at is not None and prepared.token_expires_at - run.clock() <= REFRESH_BEFORE:
        # refresh a token about to expire instead of spending an attempt on a certain 401
        try:
            credentials = _refresh_tokens(run, item, prepared, credentials)
        except AuthExpired as refused:
            return _needs_reauth(run, item, prepared, f"the access token expires and the refresh was refused ({refused.reason})", receipts, refused)
        except Retryable as later:
            return _retry_later(run, item, later, platform=prepared.platform, receipts=receipts, outcome="refresh_failed")
        except TokenKeyError as key_problem:
            return _retry_later(run, item, Retryable(str(key_problem), platform=prepared.platform), platform=prepared.platform, receipts=receipts,
                                outcome="refresh_failed")
    return _attempt(run, item, prepared, credentials, receipts=receipts, may_refresh=True)


def _can_refresh(run: Run, prepared: Prepared, credentials: Credentials) -> bool:
    if credentials.refresh_token is None or getattr(prepared.publisher, "sandbox", False):
        return False
    return prepared.platform in run.oauth or isinstance(prepared.publisher, RefreshesTokens)


def _attempt(run: Run, item: ItemView, prepared: Prepared, credentials: Credentials, *, receipts: list[dict[str, Any]], may_refresh: bool) -> Outcome:
    publisher, platform = prepared.publisher, prepared.platform
    sandbox = bool(getattr(publisher, "sandbox", False))
    try:
        receipt = publisher.publish(prepared.post, credentials)
    except AuthExpired as exc:
        receipts.append(receipt_entry(item, "auth_expired", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        if may_refresh and _can_refresh(run, prepared, credentials):
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
        receipts.append(receipt_entry(item, "ambiguous", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        known = exc.partial_ids or prepared.post.posted_part_ids
        since = (item.claimed_at or run.now) - RECONCILE_SLACK
        return _reconcile(run, item, prepared, credentials, since=since, known=known, cause=exc.reason, receipts=receipts)
    except Duplicate as exc:
        receipts.append(receipt_entry(item, "duplicate", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        if item.attempts > 1:
            # an earlier attempt answered with an error but may have posted after all: look before failing
            try:
                found = _find_on_platform(prepared, credentials, since=_first_attempt_at(run, item) - RECONCILE_SLACK,
                                          known=exc.partial_ids or prepared.post.posted_part_ids, exclude=_published_ids(run, item, prepared))
            except PublishError:
                found = None
            if found is not None and len(found) == len(publisher.parts(prepared.post)):
                receipts.append(receipt_entry(item, "reconciled", platform=platform, sandbox=sandbox, post_ids=found))
                return _finish(run, item, QueueStatus.PUBLISHED, post_ids=found, receipts=receipts, sandbox=sandbox)
        return _finish(run, item, QueueStatus.FAILED, reason=f"duplicate: {exc.reason}", post_ids=exc.partial_ids, receipts=receipts, sandbox=sandbox)
    except Retryable as exc:
        return _retry_later(run, item, exc, platform=platform, sandbox=sandbox, receipts=receipts)
    except Rejected as exc:
        receipts.append(receipt_entry(item, "rejected", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        reason = f"rejected by {platform}: {exc.reason}"
        if exc.partial_ids:
            reason += f" (parts already posted: {', '.join(exc.partial_ids)})"
        return _finish(run, item, QueueStatus.FAILED, reason=reason, post_ids=exc.partial_ids, receipts=receipts, sandbox=sandbox)
    except PublishError as exc:
        receipts.append(receipt_entry(item, exc.kind, platform=platform, sandbox=sandbox, error=exc.as_dict()))
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"unclassified {platform} error: {exc.reason}", receipts=receipts, sandbox=sandbox)
    receipts.append(receipt_entry(item, "published", platform=platform, sandbox=sandbox, receipt=receipt))
    ids = receipt.post_ids or (receipt.post_id,)
    return _finish(run, item, QueueStatus.PUBLISHED, post_ids=ids, receipts=receipts, sandbox=sandbox)


def _retry_later(run: Run, item: ItemView, exc: Retryable, *, platform: str, sandbox: bool = False,
                 receipts: list[dict[str, Any]] | None = None, outcome: str = "retryable") -> Outcome:
    receipts = list(receipts or [])
    now = run.clock()
    if exc.retry_at is not None:
        when = max(exc.retry_at, now)  # the platform said when its limit resets
    elif exc.retry_after is not None:
        when = now + timedelta(seconds=exc.retry_after)
    else:
        when = now + queue.backoff(item.attempts, item.id)
    receipts.append(receipt_entry(item, outcome, platform=platform, sandbox=sandbox, error=exc.as_dict(), retry_at=when.isoformat()))
    if item.attempts >= run.max_attempts:
        return _finish(run, item, QueueStatus.FAILED, reason=f"gave up after {item.attempts} attempts: {exc.reason}", post_ids=exc.partial_ids,
                       receipts=receipts, sandbox=sandbox)
    reason = f"attempt {item.attempts} failed, retrying at {when:%Y-%m-%d %H:%M:%S} UTC: {exc.reason}"
    return _finish(run, item, QueueStatus.QUEUED, reason=reason, post_ids=exc.partial_ids, scheduled_at=when, receipts=receipts, sandbox=sandbox)


def _needs_reauth(run: Run, item: ItemView, prepared: Prepared, reason: str, receipts: list[dict[str, Any]], exc: PublishError) -> Outcome:
    with session_scope(run.url) as session:
        mark_needs_reauth(session, item.merchant_id, prepared.account_id, reason, run.worker_id)
    return _finish(run, item, QueueStatus.FAILED, reason=f"{reason}; the account is marked NEEDS_REAUTH: {REAUTH_HINT}",
                   post_ids=exc.partial_ids, receipts=receipts)


def _refresh_tokens(run: Run, item: ItemView, prepared: Prepared, failed: Credentials) -> Credentials:
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
        client = run.oauth.get(prepared.platform)
        if client is not None:
            try:
                tokens = client.renew(current.account_ref, current.refresh_token.get_secret_value())
            except OAuthError as exc:
                if exc.kind == "unavailable":
                    raise Retryable(f"refreshing the token failed: {exc.reason}", platform=prepared.platform) from None
                raise AuthExpired(f"{exc.kind}: {exc.reason}", platform=prepared.platform) from None
            store_refreshed(session, account, tokens, key, run.clock(), run.worker_id)
            return credentials_for(account, key)
        fresh = prepared.publisher.refresh(current)
        account.access_token_enc = key.encrypt(fresh.access_token.get_secret_value())
        if fresh.refresh_token is not None:
            account.refresh_token_enc = key.encrypt(fresh.refresh_token.get_secret_value())
        record(session, item.merchant_id, run.worker_id, "account.token_refresh", "social_account", str(account.id), platform=account.platform)
        return fresh


def _first_attempt_at(run: Run, item: ItemView) -> datetime:
    """When this item was first sent, from its oldest receipt (an older identical post is someone else's)."""
    with session_scope(run.url) as session:
        first = session.scalar(select(func.min(PublishReceipt.created_at)).where(
            PublishReceipt.merchant_id == item.merchant_id, PublishReceipt.queue_item_id == item.id))
    if isinstance(first, str):  # SQLite aggregates come back untyped
        first = datetime.fromisoformat(first)
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first or item.claimed_at or run.now


def _published_ids(run: Run, item: ItemView, prepared: Prepared) -> set[str]:
    """Post ids other items of the same account already own, so a match is never claimed twice."""
    with session_scope(run.url) as session:
        rows = session.scalars(select(SocialQueueItem.platform_post_id).where(
            SocialQueueItem.merchant_id == item.merchant_id, SocialQueueItem.account_id == prepared.account_id,
            SocialQueueItem.id != item.id, SocialQueueItem.platform_post_id.is_not(None)))
        return {pid for row in rows for pid in row.split(",") if pid}


def _find_on_platform(prepared: Prepared, credentials: Credentials, *, since: datetime, known: Sequence[str], exclude: set[str]) -> list[str] | None:
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


def _reconcile(run: Run, item: ItemView, prepared: Prepared, credentials: Credentials, *, since: datetime, known: Sequence[str],
               cause: str, receipts: list[dict[str, Any]]) -> Outcome:
    platform, sandbox = prepared.platform, bool(getattr(prepared.publisher, "sandbox", False))
    try:
        found = _find_on_platform(prepared, credentials, since=since, known=known, exclude=_published_ids(run, item, prepared))
    except PublishError as exc:
        receipts.append(receipt_entry(item, "reconcile_failed", platform=platform, sandbox=sandbox, error=exc.as_dict()))
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"{cause}; checking {platform} failed too ({exc.reason}): check the account, "
                       "then mark the post published or requeue it", post_ids=known, receipts=receipts, sandbox=sandbox)
    if found is None:
        return _finish(run, item, QueueStatus.NEEDS_REVIEW, reason=f"{cause}; {platform} posts cannot be listed to check: look at the account, "
                       "then mark the post published or requeue it", post_ids=known, receipts=receipts, sandbox=sandbox)
    parts = prepared.publisher.parts(prepared.post)
    if len(found) == len(parts):
        receipts.append(receipt_entry(item, "reconciled", platform=platform, sandbox=sandbox, post_ids=found))
        return _finish(run, item, QueueStatus.PUBLISHED, post_ids=found, receipts=receipts, sandbox=sandbox)
    if len(found) > len(known):
        # the uncertain part is confirmed on the platform and the rest was never sent: safe to continue the thread
        receipts.append(receipt_entry(item, "reconciled_partial", platform=platform, sandbox=sandbox, post_ids=found))
        return _finish(run, item, QueueStatus.QUEUED, reason=f"{cause}; found parts 1-{len(found)} on {platform}, continuing the thread",
                       post_ids=found, scheduled_at=run.clock(), receipts=receipts, sandbox=sandbox)
    receipts.append(receipt_entry(item, "not_found", platform=platform, sandbox=sandbox))
    return _finish(run, item, QueueStatus.NEEDS_REVIEW,
                   reason=f"{cause}; the post is not among the account's recent {platform} posts, but it may still appear: "
                          "check the account, then mark it published or requeue it",
                   post_ids=known, receipts=receipts, sandbox=sandbox)


def _recover(run: Run, item: ItemView, previous_claim: datetime | None) -> Outcome:
    """An item still PUBLISHING past its lease: its worker died mid-send. Look for the post instead of sending it again."""
    prepared = _prepare(run, item, for_reconcile=True)
    if isinstance(prepared, Outcome):
        return prepared
    cause = f"a worker claimed it at {previous_claim:%Y-%m-%d %H:%M:%S} UTC and never reported back" if previous_claim else "its worker never reported back"
    since = (previous_claim or run.now) - RECONCILE_SLACK
    receipts = [receipt_entry(item, "lease_expired", platform=prepared.platform, sandbox=bool(getattr(prepared.publisher, "sandbox", False)))]
    return _reconcile(run, item, prepared, prepared.credentials, since=since, known=prepared.post.posted_part_ids, cause=cause, receipts=receipts)


def run_worker(settings: Settings, *, worker_id: str, now: datetime | None = None, live: bool = False, limit: int = 50) -> PublishReport:
    """What a schedule or the CLI calls: publishers, token key and store all from settings."""
    publishers = build_publishers(settings.publisher_config(), live=live)
    oauth = clients_from_settings(settings) if live else {}
    try:
        return publish_due(settings.store_url, publishers, worker_id, now, limit=limit, cipher=cipher_from_settings(settings),
                           lease=timedelta(seconds=settings.publish_lease_seconds), oauth=oauth)
    finally:
        for client in oauth.values():
            client.close()
        for publisher in publishers.values():
            close = getattr(publisher, "close", None)
            if close:
                close()
