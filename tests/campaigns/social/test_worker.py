"""The social queue on SQLite and PostgreSQL, publishing through the real X client to a local fake of X.

Covers: encrypted accounts, approval rules, atomic claims by two workers, every outcome
(success, 500, 429 reset, 401 + refresh, refresh refused, duplicate, timeout after and
before the post was created), threads resuming, a crash mid-publish, two workers draining
one queue exactly once, and the sandbox worker end to end.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import func, select, update
from sqlalchemy import text as sql

from campaigns.core.crypto import MissingTokenKeyError, TokenCipher, generate_key
from campaigns.core.enums import CampaignType, QueueStatus
from campaigns.content import approvals
from campaigns.core import queue
from campaigns.social.accounts import ACTIVE, NEEDS_REAUTH, AccountNotFoundError, QueueError, add_account, credentials_for, get_account, mark_needs_reauth
from campaigns.social.receipts import receipts_for
from campaigns.social.scheduling import QueueItemNotFoundError, cancel, enqueue_content, get_item, list_queue, resolve_review, schedule_text, schedule_time
from campaigns.social.worker import claim_due, publish_due, run_worker
from campaigns.core.audit import entries
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import engine_for, migrate, session_scope
from campaigns.core.store.models import Approval, Base, Campaign, CampaignContent, SocialAccount, SocialQueueItem
from publishers.sandbox import read_outbox
from publishers.x import XPublisher
from tests.publishers.fake_platforms import FakeX


@pytest.fixture(scope="module")
def pg_module_url(pg_server: str):
    """One PostgreSQL database for this module, emptied before each test (creating one per test costs more than the tests)."""
    name = f"co_test_queue_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    url = Settings(database_url=f"{pg_server}/{name}").store_url
    migrate(url)
    yield url
    engine_for(url).dispose()
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("pg_module_url")
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine_for(url).begin() as con:
            con.execute(sql(f"truncate table {tables} restart identity cascade"))
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        ensure_merchant(s, "globex")
        s.add(Campaign(id="cmp_winter", merchant_id="acme", name="Winter", type=CampaignType.AWARENESS))
    return url


@pytest.fixture
def fake_x():
    fake = FakeX().start()
    yield fake
    fake.stop()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(generate_key())


@pytest.fixture
def now() -> datetime:
    # real time: the fake stamps posts with the wall clock, as X does
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def account(store_url: str, cipher: TokenCipher) -> int:
    with session_scope(store_url) as s:
        return add_account(s, "acme", "x", FakeX.USER_ID, actor="ana", access_token="x-access-1", refresh_token="x-refresh-1", cipher=cipher).id


@pytest.fixture
def publishers(fake_x):
    x = XPublisher(fake_x.url(), client_id="client-abc", timeout=2.0)
    yield {"x": x}
    x.close()


def _schedule(url: str, account: int, text: str, at: datetime, **kw) -> int:
    with session_scope(url) as s:
        return schedule_text(s, "acme", account_id=account, text=text, scheduled_at=at, author="ana", **kw).id


def _item(url: str, item_id: int) -> SocialQueueItem:
    with session_scope(url) as s:
        return get_item(s, "acme", item_id)


def _outcomes(url: str, item_id: int) -> list[str]:
    with session_scope(url) as s:
        return [r["outcome"] for r in receipts_for(s, "acme", item_id)]


# --- accounts and scheduling -----------------------------------------------------------


def test_accounts_keep_tokens_encrypted_and_out_of_the_audit_log(store_url: str, cipher: TokenCipher) -> None:
    with session_scope(store_url) as s:
        acc = add_account(s, "acme", "x", "@acme", actor="ana", access_token="x-access-SECRET", refresh_token="x-refresh-SECRET", cipher=cipher)
        assert "SECRET" not in acc.access_token_enc and cipher.decrypt(acc.access_token_enc) == "x-access-SECRET"
        creds = credentials_for(acc, cipher)
        assert creds.refresh_token.get_secret_value() == "x-refresh-SECRET" and "SECRET" not in repr(creds)
        mark_needs_reauth(s, "acme", acc.id, "test", actor="system")
        account_id = acc.id
    with pytest.raises(MissingTokenKeyError, match="CAMPAIGNS_TOKEN_KEY is not set.*Fernet.generate_key"), session_scope(store_url) as s:
        add_account(s, "acme", "facebook", "104729", actor="ana", access_token="page-token", cipher=None)
    with pytest.raises(QueueError, match="author URN"), session_scope(store_url) as s:
        add_account(s, "acme", "linkedin", "acme-company", actor="ana")
    with session_scope(store_url) as s:
        again = add_account(s, "acme", "x", "@acme", actor="ana", access_token="x-access-NEW", cipher=cipher)
        assert again.id == account_id and again.status == ACTIVE
        assert credentials_for(again, cipher).access_token.get_secret_value() == "x-access-NEW"
        log = entries(s, "acme", str(account_id))
        assert [e.action for e in reversed(log)] == ["account.add", "account.needs_reauth", "account.reconnect"]
        assert "SECRET" not in str([e.details for e in log]) and "NEW" not in str([e.details for e in log])
        with pytest.raises(AccountNotFoundError):
            get_account(s, "globex", account_id)


def test_scheduling_rules(store_url: str, account: int, now: datetime) -> None:
    with session_scope(store_url) as s:
        item = schedule_text(s, "acme", account_id=account, text="My own words", scheduled_at=now + timedelta(hours=1), author="ana")
        again = schedule_text(s, "acme", account_id=account, text="My own words", scheduled_at=now + timedelta(hours=1), author="ana")
        assert again.id == item.id  # the same post at the same time is one item
        approval = s.scalar(select(Approval).where(Approval.content_kind == approvals.KIND_QUEUE_TEXT, Approval.content_id == item.id))
        assert approval.approved_by == "ana" and approval.note == approvals.AUTHOR_NOTE and approval.content_hash == item.content_hash
        with pytest.raises(QueueError, match="over x's 280"):
            schedule_text(s, "acme", account_id=account, text="a" * 281, scheduled_at=now, author="ana")
        with pytest.raises(QueueError, match="no time zone"):
            schedule_text(s, "acme", account_id=account, text="hi", scheduled_at=datetime(2026, 12, 1, 9), author="ana")
        with pytest.raises(AccountNotFoundError):
            schedule_text(s, "globex", account_id=account, text="not yours", scheduled_at=now, author="gus")
    assert schedule_time("2026-12-01T09:00", "Europe/Berlin") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert schedule_time("2026-07-01T09:00", "Europe/Berlin") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert schedule_time("2026-12-01T09:00-05:00", "Europe/Berlin") == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    with pytest.raises(QueueError, match="does not exist in Europe/Berlin"):
        schedule_time("2026-03-29T02:30", "Europe/Berlin")


def test_only_approved_content_is_queued_and_an_edit_after_scheduling_stops_it(store_url, account, publishers, fake_x, cipher, now) -> None:
    with session_scope(store_url) as s:
        content = CampaignContent(merchant_id="acme", campaign_id="cmp_winter", channel="SOCIAL", platform="x", body="Approved words")
        s.add(content)
        s.flush()
        content_id = content.id
        with pytest.raises(approvals.NotApprovedError, match="no approval"):
            enqueue_content(s, "acme", content_id, account_id=account, scheduled_at=now, actor="ana")
    with session_scope(store_url) as s:
        approvals.approve_content(s, "acme", content_id, actor="lee")
        item_id = enqueue_content(s, "acme", content_id, account_id=account, scheduled_at=now - timedelta(minutes=1), actor="ana").item.id
    with session_scope(store_url) as s:
        approvals.get_content(s, "acme", content_id).body = "Approved words, then edited"
    report = publish_due(store_url, publishers, "w1", now, cipher=cipher)
    assert report.counts() == {"FAILED": 1}
    assert "edited after it was scheduled" in _item(store_url, item_id).last_error
    assert fake_x.requests == []  # nothing was sent


# --- claims ------------------------------------------------------------------------------


def test_two_workers_never_claim_the_same_item(store_url: str, account: int, now: datetime) -> None:
    ids = [_schedule(store_url, account, f"post {n}", now - timedelta(minutes=1)) for n in range(24)]
    _schedule(store_url, account, "not due yet", now + timedelta(hours=1))
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def claim(worker: str) -> None:
        barrier.wait()
        while batch := claim_due(store_url, worker, now, limit=3):
            claimed[worker].extend(item.id for item in batch)

    threads = [threading.Thread(target=claim, args=(w,)) for w in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not set(claimed["a"]) & set(claimed["b"])
    assert sorted(claimed["a"] + claimed["b"]) == sorted(ids)
    with session_scope(store_url) as s:
        rows = list_queue(s, "acme", status=QueueStatus.PUBLISHING)
        assert len(rows) == 24 and all(r.attempts == 1 and r.id in claimed[r.claimed_by] for r in rows)


# --- outcomes ----------------------------------------------------------------------------


def test_published_once_with_utm_tagged_links_and_a_receipt(store_url, account, publishers, fake_x, cipher, now) -> None:
    item_id = _schedule(store_url, account, "New range: https://shop.example.com/winter", now - timedelta(minutes=1), campaign_id="cmp_winter")
    report = publish_due(store_url, publishers, "w1", now, cipher=cipher)
    assert report.counts() == {"PUBLISHED": 1} and not report.outcomes[0].sandbox
    assert fake_x.tweets[0]["text"] == (
        f"New range: https://shop.example.com/winter?utm_source=x.com&utm_medium=social&utm_campaign=cmp_winter&utm_content=post-{item_id}")
    row = _item(store_url, item_id)
    assert row.status is QueueStatus.PUBLISHED and row.platform_post_id == fake_x.tweets[0]["id"] and row.published_at is not None
    with session_scope(store_url) as s:
        (receipt,) = receipts_for(s, "acme", item_id)
    assert receipt["outcome"] == "published" and receipt["mode"] == "live" and receipt["worker"] == "w1" and receipt["post_id"] == row.platform_post_id
    assert publish_due(store_url, publishers, "w1", now + timedelta(hours=1), cipher=cipher).outcomes == []
    assert fake_x.created == 1


def test_server_error_goes_back_to_the_queue_with_backoff(store_url, account, publishers, fake_x, cipher, now) -> None:
    item_id = _schedule(store_url, account, "Try again", now - timedelta(minutes=1))
    fake_x.fail_next("create", "500")
    assert publish_due(store_url, publishers, "w1", now, cipher=cipher).counts() == {"QUEUED": 1}
    row = _item(store_url, item_id)
    assert now + timedelta(seconds=60) <= row.scheduled_at <= now + queue.max_backoff(1) + timedelta(seconds=30)  # the queue's backoff
    assert row.claimed_by is None and "server error (500)" in row.last_error
    assert publish_due(store_url, publishers, "w1", now + timedelta(seconds=30), cipher=cipher).outcomes == []  # not due yet
    assert publish_due(store_url, publishers, "w1", now + timedelta(hours=1), cipher=cipher).counts() == {"PUBLISHED": 1}
    assert fake_x.created == 1 and fake_x.count("POST", "/2/tweets") == 2
    assert _outcomes(store_url, item_id) == ["retryable", "published"]
    with session_scope(store_url) as s:
        log = queue.attempts_for(s, "acme", "social", item_id)  # the shared attempt log, written with each outcome
    assert [(a.attempt, a.outcome, a.worker_id) for a in log] == [(1, "QUEUED", "w1"), (2, "PUBLISHED", "w1")]
    assert "server error (500)" in log[0].detail


def test_rate_limit_moves_the_item_to_the_reset_time(store_url, account, publishers, fake_x, cipher, now) -> None:
    item_id = _schedule(store_url, account, "Rate limited", now - timedelta(minutes=1))
    fake_x.fail_next("create", "429")
    publish_due(store_url, publishers, "w1", now, cipher=cipher)
    row = _item(store_url, item_id)
    assert row.status is QueueStatus.QUEUED and row.scheduled_at == datetime.fromtimestamp(fake_x.reset_epoch, UTC)


def test_expired_token_is_refreshed_once_and_the_new_tokens_are_stored_encrypted(store_url, account, publishers, fake_x, cipher, now) -> None:
    item_id = _schedule(store_url, account, "After a refresh", now - timedelta(minutes=1))
    fake_x.fail_next("create", "401")
    assert publish_due(store_url, publishers, "w1", now, cipher=cipher).counts() == {"PUBLISHED": 1}
    assert _outcomes(store_url, item_id) == ["auth_expired", "published"]
    with session_scope(store_url) as s:
        acc = s.get(SocialAccount, account)
        creds = credentials_for(acc, cipher)
        assert creds.access_token.get_secret_value() == "x-access-2" and creds.refresh_token.get_secret_value() == "x-refresh-2"
        assert "x-access" not in acc.access_token_enc
        assert "account.token_refresh" in [e.action for e in entries(s, "acme", str(account))]


def test_refused_refresh_marks_the_account_for_reauthentication(store_url, account, publishers, fake_x, cipher, now) -> None:
    fake_x.valid_access, fake_x.valid_refresh = {"someone-elses-token"}, set()
    first = _schedule(store_url, account, "First", now - timedelta(minutes=2))
    second = _schedule(store_url, account, "Second", now - timedelta(minutes=1))
    assert publish_due(store_url, publishers, "w1", now, cipher=cipher).counts() == {"FAILED": 2}
    assert "refresh was refused" in _item(store_url, first).last_error and "NEEDS_REAUTH" in _item(store_url, first).last_error
    assert "needs re-authentication" in _item(store_url, second).last_error
    assert fake_x.count("POST", "/2/tweets") == 1 and fake_x.count("POST", "/2/oauth2/token") == 1
    with session_scope(store_url) as s:
        assert s.get(SocialAccount, account).status == NEEDS_REAUTH
        with pytest.raises(QueueError, match="needs re-authentication"):
            schedule_text(s, "acme", account_id=account, text="blocked", scheduled_at=now, author="ana")


def test_duplicate_content_fails_with_the_reason(store_url, account, publishers, fake_x, cipher, now) -> None:
    fake_x.add_tweet("Said it before", created_at=now - timedelta(days=3))
    item_id = _schedule(store_url, account, "Said it before", now - timedelta(minutes=1))
    assert publish_due(store_url, publishers, "w1", now, cipher=cipher).counts() == {"FAILED": 1}
    assert _item(store_url, item_id).last_error.startswith("duplicate: X refused duplicate content")


def test_timeout_after_the_post_was_created_is_reconciled_not_retried(store_url, account, fake_x, cipher, now) -> None:
    x = XPublisher(fake_x.url(), timeout=2.0)
    item_id = _schedule(store_url, account, "Tea & cake today https://shop.example.com/cafe", now - timedelta(minutes=1), campaign_id="cmp_winter")
    fake_x.fail_next("create", "timeout_after_create")
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"PUBLISHED": 1}
    assert _item(store_url, item_id).platform_post_id == fake_x.tweets[0]["id"]
    assert fake_x.created == 1 and fake_x.count("POST", "/2/tweets") == 1
    assert _outcomes(store_url, item_id) == ["ambiguous", "reconciled"]
    x.close()


def test_timeout_without_a_post_goes_to_review_and_a_person_requeues_it(store_url, account, fake_x, cipher, now) -> None:
    x = XPublisher(fake_x.url(), timeout=2.0)
    item_id = _schedule(store_url, account, "Lost in transit", now - timedelta(minutes=1))
    fake_x.fail_next("create", "timeout_before_create")
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"NEEDS_REVIEW": 1}
    assert "not among the account's recent x posts" in _item(store_url, item_id).last_error
    assert publish_due(store_url, {"x": x}, "w1", now + timedelta(hours=1), cipher=cipher).outcomes == []  # never retried by itself
    assert fake_x.created == 0
    with session_scope(store_url) as s:
        with pytest.raises(QueueError, match="give the platform's post id"):
            resolve_review(s, "acme", item_id, actor="ana", outcome="published")
        resolve_review(s, "acme", item_id, actor="ana", outcome="requeue", now=now + timedelta(hours=1))
    assert publish_due(store_url, {"x": x}, "w1", now + timedelta(hours=2), cipher=cipher).counts() == {"PUBLISHED": 1}
    assert fake_x.created == 1
    x.close()


def test_a_thread_resumes_after_the_part_that_failed(store_url, account, publishers, fake_x, cipher, now) -> None:
    item_id = _schedule(store_url, account, "Part one\n---\nPart two\n---\nPart three", now - timedelta(minutes=1))
    fake_x.faults["create"].extend(["ok", "500"])
    assert publish_due(store_url, publishers, "w1", now, cipher=cipher).counts() == {"QUEUED": 1}
    assert _item(store_url, item_id).platform_post_id == fake_x.tweets[0]["id"]
    assert publish_due(store_url, publishers, "w1", now + timedelta(hours=1), cipher=cipher).counts() == {"PUBLISHED": 1}
    ids = [t["id"] for t in fake_x.tweets]
    assert [t["text"] for t in fake_x.tweets] == ["Part one", "Part two", "Part three"]
    assert [t["reply_to"] for t in fake_x.tweets] == [None, ids[0], ids[1]]
    assert _item(store_url, item_id).platform_post_id == ",".join(ids)


def test_an_uncertain_thread_part_is_confirmed_on_x_then_the_thread_continues(store_url, account, fake_x, cipher, now) -> None:
    x = XPublisher(fake_x.url(), timeout=2.0)
    item_id = _schedule(store_url, account, "One\n---\nTwo\n---\nThree", now - timedelta(minutes=1))
    fake_x.faults["create"].extend(["ok", "timeout_after_create"])
    assert publish_due(store_url, {"x": x}, "w1", now, cipher=cipher).counts() == {"QUEUED": 1}
    assert _item(store_url, item_id).platform_post_id == ",".join(t["id"] for t in fake_x.tweets[:2])
    assert publish_due(store_url, {"x": x}, "w1", now + timedelta(minutes=1), cipher=cipher).counts() == {"PUBLISHED": 1}
    assert [t["text"] for t in fake_x.tweets] == ["One", "Two", "Three"] and fake_x.tweets[2]["reply_to"] == fake_x.tweets[1]["id"]
    x.close()


def test_without_the_token_key_nothing_is_sent_and_the_item_waits(store_url, account, publishers, fake_x, now) -> None:
    item_id = _schedule(store_url, account, "Needs the key", now - timedelta(minutes=1))
    assert publish_due(store_url, publishers, "w1", now, cipher=None).counts() == {"QUEUED": 1}
    assert "CAMPAIGNS_TOKEN_KEY" in _item(store_url, item_id).last_error and fake_x.requests == []


# --- crashes and concurrency -------------------------------------------------------------


def test_a_crash_mid_publish_is_reconciled_instead_of_reposted(store_url, account, publishers, fake_x, cipher, now) -> None:
    posted = _schedule(store_url, account, "Posted just before the crash", now - timedelta(hours=2))
    lost = _schedule(store_url, account, "Never reached X", now - timedelta(hours=2))
    assert len(claim_due(store_url, "dead-worker", now - timedelta(hours=1))) == 2  # claimed, then the worker died
    tweet_id = fake_x.add_tweet("Posted just before the crash", created_at=now - timedelta(minutes=59))
    slow = _schedule(store_url, account, "Still being sent", now - timedelta(minutes=5))
    claim_due(store_url, "slow-worker", now - timedelta(minutes=1))  # within its lease: not touched

    report = publish_due(store_url, publishers, "w2", now, cipher=cipher)
    assert sorted(o.status for o in report.outcomes) == ["NEEDS_REVIEW", "PUBLISHED"]
    assert _item(store_url, posted).status is QueueStatus.PUBLISHED and _item(store_url, posted).platform_post_id == tweet_id
    assert "never reported back" in _item(store_url, lost).last_error and _item(store_url, lost).status is QueueStatus.NEEDS_REVIEW
    assert _item(store_url, slow).status is QueueStatus.PUBLISHING and _item(store_url, slow).claimed_by == "slow-worker"
    assert fake_x.count("POST", "/2/tweets") == 0 and fake_x.created == 1
    assert _outcomes(store_url, posted) == ["lease_expired", "reconciled"]


def _open_items(url: str) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(SocialQueueItem)
                        .where(SocialQueueItem.status.in_([QueueStatus.QUEUED, QueueStatus.PUBLISHING])))


def test_two_workers_drain_one_queue_exactly_once(store_url, account, fake_x, cipher, now) -> None:
    texts = [f"Winter series, post {n}" for n in range(40)]
    for text in texts[:2]:
        fake_x.add_tweet(text, created_at=now - timedelta(days=3))  # already on X: these two must end as duplicates
    ids = {_schedule(store_url, account, text, now - timedelta(minutes=1)): text for text in texts}
    fake_x.fail_next("create", "500", times=3)
    errors: list[BaseException] = []
    done_by: Counter[str] = Counter()
    barrier = threading.Barrier(2)

    def work(worker: str) -> None:
        x = XPublisher(fake_x.url(), client_id="client-abc", timeout=5.0)
        try:
            barrier.wait()
            for step in range(80):
                # each thread moves its own clock an hour a pass so retries come due; real workers share one
                # clock, so the lease here must outlast the skew between the threads (no worker dies in this test)
                report = publish_due(store_url, {"x": x}, worker, now + timedelta(hours=step), cipher=cipher, limit=3,
                                       lease=timedelta(days=7))
                done_by[worker] += len(report.outcomes)
                if _open_items(store_url) == 0:
                    return
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            x.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in ("worker-a", "worker-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert _open_items(store_url) == 0
    # zero duplicates at the platform, zero lost
    assert Counter(t["text"] for t in fake_x.tweets) == Counter(texts)
    assert fake_x.count("POST", "/2/tweets") == 38 + 3 + 2  # each post once, three 500s, two duplicate refusals
    by_text = {t["text"]: t["id"] for t in fake_x.tweets}
    with session_scope(store_url) as s:
        rows = {r.id: r for r in list_queue(s, "acme")}
        receipts = {item_id: receipts_for(s, "acme", item_id) for item_id in ids}
    assert sum(r.status is QueueStatus.PUBLISHED for r in rows.values()) == 38
    for item_id, text in ids.items():
        row = rows[item_id]
        assert row.status in (QueueStatus.PUBLISHED, QueueStatus.FAILED)
        assert receipts[item_id], f"item {item_id} has no receipt"
        if row.status is QueueStatus.PUBLISHED:
            assert row.platform_post_id == by_text[text]
        else:
            assert text in texts[:2] and row.last_error.startswith("duplicate:")
    assert sum(len(r) for r in receipts.values()) == 43
    assert sum(done_by.values()) >= 40


def test_sandbox_worker_end_to_end(tmp_path, now) -> None:
    settings = Settings(home=tmp_path / "home")
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme")
        s.add(Campaign(id="cmp_w", merchant_id="acme", name="W", type=CampaignType.AWARENESS))
        account_id = add_account(s, "acme", "linkedin", "urn:li:organization:1", actor="ana").id
    item_id = _schedule(settings.store_url, account_id, "Read (this): https://shop.example.com/a", now - timedelta(minutes=1), campaign_id="cmp_w")
    crashed = _schedule(settings.store_url, account_id, "Sent, then the worker died", now - timedelta(minutes=1))
    report = run_worker(settings, worker_id="dagster-1", now=now)
    assert report.counts() == {"PUBLISHED": 2} and all(o.sandbox for o in report.outcomes) and report.summary() == "2 published"
    outbox = read_outbox(settings.home_path / "outbox" / "linkedin.jsonl")
    assert outbox[0]["requests"][0]["body"]["commentary"] == (
        r"Read \(this\): https://shop.example.com/a?utm\_source=linkedin.com&utm\_medium=social&utm\_campaign=cmp\_w"
        rf"&utm\_content=post-{item_id}")
    with session_scope(settings.store_url) as s:
        assert receipts_for(s, "acme", item_id)[0]["mode"] == "sandbox"
        # simulate the crash: the post is in the outbox but the item never left PUBLISHING
        s.execute(update(SocialQueueItem).where(SocialQueueItem.id == crashed).values(
            status=QueueStatus.PUBLISHING, claimed_by="dead", claimed_at=now - timedelta(minutes=3), platform_post_id=None))
    report = run_worker(settings, worker_id="dagster-2", now=now + timedelta(minutes=30))
    assert report.counts() == {"PUBLISHED": 1}
    assert _item(settings.store_url, crashed).platform_post_id == outbox[1]["post_ids"][0]
    assert len(read_outbox(settings.home_path / "outbox" / "linkedin.jsonl")) == 2  # reconciled, not sent again


def test_review_and_cancel_are_scoped_to_the_merchant(store_url: str, account: int, now: datetime) -> None:
    item_id = _schedule(store_url, account, "Scoped", now + timedelta(hours=1))
    with session_scope(store_url) as s:
        assert list_queue(s, "globex") == []
        with pytest.raises(QueueItemNotFoundError):
            cancel(s, "globex", item_id, actor="gus")
        with pytest.raises(QueueError, match="not NEEDS_REVIEW"):
            resolve_review(s, "acme", item_id, actor="ana", outcome="published", platform_post_id="1")
        s.execute(update(SocialQueueItem).where(SocialQueueItem.id == item_id).values(status=QueueStatus.NEEDS_REVIEW))
    with session_scope(store_url) as s:
        resolve_review(s, "acme", item_id, actor="ana", outcome="published", platform_post_id="1860000000000000999", now=now)
    row = _item(store_url, item_id)
    assert row.status is QueueStatus.PUBLISHED and row.platform_post_id == "1860000000000000999"
    other = _schedule(store_url, account, "Cancel me", now + timedelta(hours=2))
    with session_scope(store_url) as s:
        assert cancel(s, "acme", other, actor="ana", reason="wrong day").last_error == "cancelled by ana: wrong day"
        assert [e.action for e in entries(s, "acme", str(item_id))][0] == "social.review"
