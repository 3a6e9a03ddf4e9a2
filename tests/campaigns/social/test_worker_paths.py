"""The publishing worker's less travelled paths, through the real clients to the local platform fakes.

Covers: the merchant scope of a pass, a bug in a client, a lease lost while sending, approvals
voided by a change, an account without a token, a post the client refuses before sending, token
refresh failing or refused again, a duplicate that an earlier failed attempt had in fact posted,
Graph refusals, LinkedIn's Retry-After, giving up after the attempt limit, and recovery when the
platform cannot be checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update

from campaigns.content import approvals
from campaigns.core import queue
from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.enums import QueueStatus
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Approval, SocialAccount, SocialQueueItem
from campaigns.social.accounts import NEEDS_REAUTH, add_account
from campaigns.social.receipts import receipts_for
from campaigns.social.scheduling import get_item, schedule_text
from campaigns.social.worker import claim_due, publish_due
from publishers.facebook import FacebookPublisher
from publishers.linkedin import LinkedInPublisher
from publishers.x import XPublisher
from tests.publishers.fake_platforms import FakeGraph, FakeLinkedIn, FakeX


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(generate_key())


@pytest.fixture
def now() -> datetime:
    # the wall clock: the fakes stamp posts with it, as the platforms do, and reconciling compares with them
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake_x():
    fake = FakeX().start()
    yield fake
    fake.stop()


@pytest.fixture
def x(fake_x):
    client = XPublisher(fake_x.url(), client_id="client-abc", timeout=2.0)
    yield client
    client.close()


def _account(url: str, cipher: TokenCipher, platform: str = "x", handle: str = FakeX.USER_ID, merchant: str = "acme", **tokens) -> int:
    tokens = tokens or {"access_token": "x-access-1", "refresh_token": "x-refresh-1"}
    with session_scope(url) as s:
        return add_account(s, merchant, platform, handle, actor="ana", cipher=cipher, **tokens).id


def _schedule(url: str, account: int, text: str, at: datetime, merchant: str = "acme", **kw) -> int:
    with session_scope(url) as s:
        return schedule_text(s, merchant, account_id=account, text=text, scheduled_at=at, author="ana", **kw).id


def _item(url: str, item_id: int, merchant: str = "acme") -> SocialQueueItem:
    with session_scope(url) as s:
        return get_item(s, merchant, item_id)


def _receipts(url: str, item_id: int) -> list[dict]:
    with session_scope(url) as s:
        return receipts_for(s, "acme", item_id)


def test_a_pass_scoped_to_a_merchant_leaves_the_others_alone(store_url, fake_x, x, cipher, now) -> None:
    acme = _schedule(store_url, _account(store_url, cipher), "Acme news", now - timedelta(minutes=1))
    globex_account = _account(store_url, cipher, merchant="globex")
    globex = _schedule(store_url, globex_account, "Globex news", now - timedelta(minutes=1), merchant="globex")
    report = publish_due(store_url, {"x": x}, "w1", now, cipher=cipher, merchant_id="globex")
    assert [(o.item_id, o.merchant_id, o.status) for o in report.outcomes] == [(globex, "globex", "PUBLISHED")]
    assert [t["text"] for t in fake_x.tweets] == ["Globex news"]
    assert _item(store_url, acme).status is QueueStatus.QUEUED and _item(store_url, globex, "globex").status is QueueStatus.PUBLISHED


class _BuggyX(XPublisher):
    def publish(self, post, credentials):
        raise KeyError("data")  # a bug in the client, not a platform answer


def test_a_bug_in_the_client_sends_the_item_to_a_person(store_url, fake_x, cipher, now) -> None:
    item_id = _schedule(store_url, _account(store_url, cipher), "Buggy", now - timedelta(minutes=1))
    client = _BuggyX(fake_x.url(), timeout=2.0)
    try:
        assert publish_due(store_url, {"x": client}, "w1", now, cipher=cipher).counts() == {"NEEDS_REVIEW": 1}
    finally:
        client.close()
    row = _item(store_url, item_id)
    assert row.status is QueueStatus.NEEDS_REVIEW and row.last_error == "unexpected error while publishing: KeyError: 'data'"
    (receipt,) = _receipts(store_url, item_id)
    assert receipt["outcome"] == "error" and receipt["error_kind"] == "unexpected" and receipt["result"] == "NEEDS_REVIEW"


class _TakenOverX(XPublisher):
    """Posts for real, then another worker takes the item over before the outcome is written."""

    url = ""

    def publish(self, post, credentials):
        receipt = super().publish(post, credentials)
        with session_scope(self.url) as s:
            s.execute(update(SocialQueueItem).values(claimed_by="w-other"))
        return receipt


def test_an_outcome_after_the_lease_was_lost_is_kept_as_a_receipt_only(store_url, fake_x, cipher, now) -> None:
    item_id = _schedule(store_url, _account(store_url, cipher), "Slow send", now - timedelta(minutes=1))
    client = _TakenOverX(fake_x.url(), timeout=2.0)
    client.url = store_url
    try:
        report = publish_due(store_url, {"x": client}, "w1", now, cipher=cipher)
    finally:
        client.close()
    (outcome,) = report.outcomes
    assert outcome.status == "LEASE_LOST" and outcome.platform_post_id == fake_x.tweets[0]["id"]
    row = _item(store_url, item_id)
    assert row.status is QueueStatus.PUBLISHING and row.claimed_by == "w-other" and row.platform_post_id is None
    (receipt,) = _receipts(store_url, item_id)
    assert receipt["outcome"] == "published" and receipt["lease_lost"] is True and receipt["post_id"] == fake_x.tweets[0]["id"]
    with session_scope(store_url) as s:
        assert [a.outcome for a in queue.attempts_for(s, "acme", "social", item_id)] == ["LEASE_LOST"]


def test_a_changed_text_or_a_missing_approval_stops_the_post(store_url, fake_x, x, cipher, now) -> None:
    account = _account(store_url, cipher)
    changed = _schedule(store_url, account, "As approved", now - timedelta(minutes=2))
    unapproved = _schedule(store_url, account, "Approval withdrawn", now - timedelta(minutes=1))
    with session_scope(store_url) as s:
        s.execute(update(SocialQueueItem).where(SocialQueueItem.id == changed).values(text="Changed behind the approval's back"))
        s.execute(delete(Approval).where(Approval.content_kind == approvals.KIND_QUEUE_TEXT, Approval.content_id == unapproved))
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"FAILED": 2}
    assert _item(store_url, changed).last_error.startswith("the text or media changed after approval")
    assert _item(store_url, unapproved).last_error.startswith("no approval covers this exact text")
    assert fake_x.requests == [] and [r["outcome"] for r in _receipts(store_url, changed)] == ["not_sent"]


def test_an_account_without_a_token_fails_without_a_request(store_url, fake_x, x, cipher, now) -> None:
    account = _account(store_url, cipher)
    item_id = _schedule(store_url, account, "No token", now - timedelta(minutes=1))
    with session_scope(store_url) as s:
        s.execute(update(SocialAccount).where(SocialAccount.id == account).values(access_token_enc=None, refresh_token_enc=None))
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"FAILED": 1}
    assert f"x account {FakeX.USER_ID} has no access token" in _item(store_url, item_id).last_error
    assert fake_x.requests == []


def test_a_post_the_client_refuses_is_never_sent(store_url, fake_x, x, cipher, now) -> None:
    item_id = _schedule(store_url, _account(store_url, cipher), "short", now - timedelta(minutes=1))
    too_long = "w" * 281
    with session_scope(store_url) as s:
        # an edit approved after scheduling, longer than X takes
        s.execute(update(SocialQueueItem).where(SocialQueueItem.id == item_id).values(text=too_long, content_hash=approvals.content_hash(too_long)))
        approvals.approve(s, "acme", approvals.KIND_QUEUE_TEXT, item_id, approvals.content_hash(too_long), actor="lee")
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"FAILED": 1}
    assert _item(store_url, item_id).last_error.startswith("refused before sending: text: is 281 weighted characters")
    assert fake_x.requests == []


def test_a_refresh_that_fails_on_the_server_is_retried_later(store_url, fake_x, x, cipher, now) -> None:
    account = _account(store_url, cipher)
    item_id = _schedule(store_url, account, "Refresh hiccup", now - timedelta(minutes=1))
    fake_x.fail_next("create", "401")
    fake_x.fail_next("token", "500")
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"QUEUED": 1}
    assert [r["outcome"] for r in _receipts(store_url, item_id)] == ["auth_expired", "refresh_failed"]
    row = _item(store_url, item_id)
    assert row.scheduled_at > now and "retrying at" in row.last_error
    with session_scope(store_url) as s:
        assert s.get(SocialAccount, account).status != NEEDS_REAUTH
    assert fake_x.created == 0


def test_a_token_refused_again_after_a_refresh_needs_reauthentication(store_url, fake_x, x, cipher, now) -> None:
    account = _account(store_url, cipher)
    item_id = _schedule(store_url, account, "Still refused", now - timedelta(minutes=1))
    fake_x.fail_next("create", "401", times=2)
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"FAILED": 1}
    assert _item(store_url, item_id).last_error.startswith("the access token was refused again after a refresh")
    assert [r["outcome"] for r in _receipts(store_url, item_id)] == ["auth_expired", "auth_expired"]
    assert fake_x.count("POST", "/2/oauth2/token") == 1 and fake_x.count("POST", "/2/tweets") == 2
    with session_scope(store_url) as s:
        assert s.get(SocialAccount, account).status == NEEDS_REAUTH


def test_an_expired_token_without_a_refresh_token_needs_reauthentication(store_url, fake_x, x, cipher, now) -> None:
    account = _account(store_url, cipher, access_token="x-access-1")
    item_id = _schedule(store_url, account, "No refresh token", now - timedelta(minutes=1))
    fake_x.fail_next("create", "401")
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"FAILED": 1}
    assert _item(store_url, item_id).last_error.startswith("the access token expired and cannot be refreshed")
    assert fake_x.count("POST", "/2/oauth2/token") == 0


def test_a_duplicate_on_a_later_attempt_finds_the_earlier_post(store_url, fake_x, x, cipher, now) -> None:
    item_id = _schedule(store_url, _account(store_url, cipher), "Posted despite the error", now - timedelta(minutes=1))
    fake_x.fail_next("create", "500")
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"QUEUED": 1}
    tweet_id = fake_x.add_tweet("Posted despite the error")  # the 500 lied: X did post it
    assert publish_due(store_url, {"x": x}, "w1", now + timedelta(hours=1), cipher=cipher).counts() == {"PUBLISHED": 1}
    row = _item(store_url, item_id)
    assert row.status is QueueStatus.PUBLISHED and row.platform_post_id == tweet_id and row.attempts == 2
    assert [r["outcome"] for r in _receipts(store_url, item_id)] == ["retryable", "duplicate", "reconciled"]
    assert fake_x.created == 1


@pytest.fixture
def fake_graph():
    fake = FakeGraph().start()
    yield fake
    fake.stop()


def test_a_graph_refusal_fails_the_item_with_the_platforms_reason(store_url, fake_graph, cipher, now) -> None:
    account = _account(store_url, cipher, platform="facebook", handle="104729", access_token="page-token-1")
    item_id = _schedule(store_url, account, "Refused by Facebook", now - timedelta(minutes=1))
    fake_graph.fail_next("feed", "invalid_param")
    facebook = FacebookPublisher(fake_graph.base_url(), timeout=2.0)
    try:
        assert publish_due(store_url, {"facebook": facebook}, "w1", now, cipher=cipher).counts() == {"FAILED": 1}
    finally:
        facebook.close()
    assert _item(store_url, item_id).last_error.startswith("rejected by facebook: refused: (#100) Invalid parameter")
    assert [r["outcome"] for r in _receipts(store_url, item_id)] == ["rejected"] and fake_graph.posts == []


def test_linkedins_retry_after_sets_the_next_attempt(store_url, cipher, now) -> None:
    fake = FakeLinkedIn().start()
    linkedin = LinkedInPublisher(fake.url(), timeout=2.0)
    try:
        account = _account(store_url, cipher, platform="linkedin", handle="urn:li:organization:1", access_token="li-token-1")
        item_id = _schedule(store_url, account, "Busy LinkedIn", now - timedelta(minutes=1))
        fake.fail_next("create", "429")
        assert publish_due(store_url, {"linkedin": linkedin}, "w1", now, cipher=cipher).counts() == {"QUEUED": 1}
    finally:
        linkedin.close()
        fake.stop()
    row = _item(store_url, item_id)
    wait = row.scheduled_at - now
    assert timedelta(seconds=120) <= wait < timedelta(seconds=150)  # Retry-After: 120, plus the seconds the pass took
    assert _receipts(store_url, item_id)[0]["retry_at"] == row.scheduled_at.isoformat()


def test_the_worker_gives_up_after_the_attempt_limit(store_url, fake_x, x, cipher, now) -> None:
    item_id = _schedule(store_url, _account(store_url, cipher), "Never lucky", now - timedelta(minutes=1))
    fake_x.fail_next("create", "500", times=2)
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher, max_attempts=2).counts() == {"QUEUED": 1}
    assert publish_due(store_url, {"x": x}, "w1", now + timedelta(hours=1), cipher=cipher, max_attempts=2).counts() == {"FAILED": 1}
    assert _item(store_url, item_id).last_error.startswith("gave up after 2 attempts: server error (500)")
    assert fake_x.created == 0


def test_recovery_that_cannot_check_the_platform_goes_to_a_person(store_url, fake_x, x, cipher, now) -> None:
    account = _account(store_url, cipher)
    unchecked = _schedule(store_url, account, "Crashed, X refuses the check", now - timedelta(hours=2))
    assert len(claim_due(store_url, "dead-worker", now - timedelta(hours=1))) == 1
    fake_x.valid_access = {"someone-elses-token"}
    assert publish_due(store_url, {"x": x}, "w2", now, cipher=cipher).counts() == {"NEEDS_REVIEW": 1}
    assert "checking x failed too (token refused (401)" in _item(store_url, unchecked).last_error
    assert [r["outcome"] for r in _receipts(store_url, unchecked)] == ["lease_expired", "reconcile_failed"]
    assert fake_x.count("POST", "/2/tweets") == 0

    unconfigured = _schedule(store_url, account, "Crashed, no client", now - timedelta(hours=2))
    claim_due(store_url, "dead-worker", now - timedelta(hours=1))
    assert publish_due(store_url, {}, "w2", now, cipher=cipher).counts() == {"NEEDS_REVIEW": 1}
    assert _item(store_url, unconfigured).last_error == (
        "its worker never reported back and the platform cannot be checked: no publisher is configured for x")
