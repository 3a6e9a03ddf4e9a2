"""Publishing a queued post now: it becomes due at once for the worker, once; other states are refused or left as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.core.audit import entries
from campaigns.core.enums import QueueStatus
from campaigns.core.store.db import session_scope
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import PostStateError, QueueItemNotFoundError, get_item, publish_now, schedule_text
from campaigns.social.worker import claim_due

NOW = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)


def _post(store_url: str, at: datetime) -> int:
    with session_scope(store_url) as s:
        account = add_account(s, "acme", "x", "acme_shop", actor="ana")
        return schedule_text(s, "acme", account_id=account.id, text=f"Winter sale {at:%H:%M}", scheduled_at=at, author="ana").id


def test_a_later_post_becomes_due_now_once(store_url: str) -> None:
    post = _post(store_url, NOW + timedelta(days=2))
    with session_scope(store_url) as s:
        assert claim_due(s, "w1", NOW) == []  # not due yet
    with session_scope(store_url) as s:
        assert publish_now(s, "acme", post, actor="ana", now=NOW).scheduled_at == NOW
    with session_scope(store_url) as s:  # again, later: it is already due, its time stays
        assert publish_now(s, "acme", post, actor="ana", now=NOW + timedelta(minutes=5)).scheduled_at == NOW
        assert [e.action for e in entries(s, "acme")].count("social.publish_now") == 1
    with session_scope(store_url) as s:
        assert [i.id for i in claim_due(s, "w1", NOW)] == [post]
    with session_scope(store_url) as s:  # being published: answered as it is, nothing moves
        item = publish_now(s, "acme", post, actor="ana", now=NOW + timedelta(minutes=6))
        assert item.status is QueueStatus.PUBLISHING and item.scheduled_at == NOW


def test_other_merchants_and_settled_posts_are_refused(store_url: str) -> None:
    post = _post(store_url, NOW + timedelta(days=2))
    with pytest.raises(QueueItemNotFoundError), session_scope(store_url) as s:
        publish_now(s, "globex", post, actor="bo", now=NOW)
    for status in (QueueStatus.NEEDS_REVIEW, QueueStatus.FAILED, QueueStatus.CANCELLED):
        with session_scope(store_url) as s:
            get_item(s, "acme", post).status = status
        with pytest.raises(PostStateError, match=f"is {status.value}"), session_scope(store_url) as s:
            publish_now(s, "acme", post, actor="ana", now=NOW)
    with session_scope(store_url) as s:
        assert get_item(s, "acme", post).scheduled_at == NOW + timedelta(days=2)
