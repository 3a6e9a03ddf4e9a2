"""The shared work queue on SQLite and PostgreSQL: claims, concurrent workers, leases, backoff, the attempt log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String, func, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from campaigns.core import queue
from campaigns.core.store.db import engine_for, session_scope
from campaigns.core.store.types import UTCDateTime

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


class _Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class Job(_Base):
    """A queue table of the shape every queue has: a status, a due time, a lease, an attempt count."""

    __tablename__ = "test_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="QUEUED")
    due_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)


@pytest.fixture
def jobs(store_url: str) -> str:
    _Base.metadata.create_all(engine_for(store_url))
    return store_url


def _add(url: str, *due: datetime) -> list[int]:
    with session_scope(url) as s:
        rows = [Job(due_at=d) for d in due]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _due(now: datetime) -> list:
    return [Job.status == "QUEUED", Job.due_at <= now]


def _claim(url: str, worker: str, now: datetime, limit: int = 10) -> list[queue.Claimed]:
    with session_scope(url) as s:
        return queue.claim(s, Job, where=_due(now), worker_id=worker, now=now, limit=limit, order_by=[Job.due_at],
                           values={"status": "RUNNING", "attempts": Job.attempts + 1})


def test_claim_takes_due_rows_in_order_up_to_the_limit(jobs: str) -> None:
    late, early, future = _add(jobs, NOW - timedelta(minutes=1), NOW - timedelta(minutes=9), NOW + timedelta(minutes=1))
    claimed = _claim(jobs, "w1", NOW, limit=1)
    assert [c.id for c in claimed] == [early] and claimed[0].previous_claim is None
    assert [c.id for c in _claim(jobs, "w2", NOW)] == [late]  # the future row is not due, the early one is taken
    with session_scope(jobs) as s:
        rows = {r.id: r for r in s.scalars(select(Job))}
    assert (rows[early].claimed_by, rows[early].status, rows[early].attempts) == ("w1", "RUNNING", 1)
    assert rows[early].claimed_at == NOW and rows[future].claimed_by is None and rows[future].status == "QUEUED"


def test_concurrent_workers_never_claim_one_row_twice(jobs: str) -> None:
    ids = _add(jobs, *[NOW - timedelta(seconds=i) for i in range(120)])
    got: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while batch := _claim(jobs, name, NOW, limit=7):
            mine.extend(c.id for c in batch)
        got[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [i for mine in got.values() for i in mine]
    assert sorted(taken) == sorted(ids)  # every row once: none lost, none twice
    with session_scope(jobs) as s:
        assert s.scalar(select(func.max(Job.attempts))) == 1
        for name, mine in got.items():
            assert set(s.scalars(select(Job.id).where(Job.claimed_by == name))) == set(mine)


def test_a_dead_workers_lease_is_taken_over_and_the_old_holder_loses_it(jobs: str) -> None:
    (job,) = _add(jobs, NOW - timedelta(minutes=1))
    assert _claim(jobs, "dead", NOW)
    stale = [Job.status == "RUNNING"]
    with session_scope(jobs) as s:
        assert queue.claim(s, Job, where=[*stale, queue.lease_expired(Job, NOW + timedelta(minutes=4), LEASE)], worker_id="rescuer",
                           now=NOW + timedelta(minutes=4), limit=10) == []  # still within the lease
    later = NOW + timedelta(minutes=6)
    with session_scope(jobs) as s:
        taken = queue.claim(s, Job, where=[*stale, queue.lease_expired(Job, later, LEASE)], worker_id="rescuer", now=later, limit=10)
    assert taken == [queue.Claimed(job, NOW)]  # the old claim time lets the queue reconcile what the dead worker did
    with session_scope(jobs) as s:
        assert queue.renew(s, Job, [job], "dead", later) == set()  # the old holder must not act on it any more
        assert queue.renew(s, Job, [job], "rescuer", later + timedelta(seconds=5)) == {job}
        assert s.get(Job, job).claimed_at == later + timedelta(seconds=5)


def test_free_or_expired_matches_unheld_and_expired_rows_only(jobs: str) -> None:
    free, held, expired = _add(jobs, NOW, NOW, NOW)
    with session_scope(jobs) as s:
        s.execute(update(Job).where(Job.id == held).values(claimed_by="a", claimed_at=NOW))
        s.execute(update(Job).where(Job.id == expired).values(claimed_by="b", claimed_at=NOW - LEASE - timedelta(seconds=1)))
    with session_scope(jobs) as s:
        assert set(s.scalars(select(Job.id).where(queue.free_or_expired(Job, NOW, LEASE)))) == {free, expired}


def test_release_gives_back_only_what_the_worker_holds(jobs: str) -> None:
    a, b = _add(jobs, NOW, NOW)
    _claim(jobs, "w1", NOW)
    with session_scope(jobs) as s:
        s.execute(update(Job).where(Job.id == b).values(claimed_by="w2"))
    with session_scope(jobs) as s:
        assert queue.release(s, Job, [a, b], "w1", values={"status": "QUEUED"}) == {a}
    with session_scope(jobs) as s:
        assert (s.get(Job, a).claimed_by, s.get(Job, a).status) == (None, "QUEUED")
        assert s.get(Job, b).claimed_by == "w2"
        assert queue.release(s, Job, [], "w1") == set()


def test_backoff_doubles_caps_and_jitters_within_bounds() -> None:
    minute = timedelta(minutes=1)
    for attempts, expected in [(1, minute), (2, 2 * minute), (3, 4 * minute), (7, timedelta(hours=1)), (30, timedelta(hours=1))]:
        for key in range(50):
            delay = queue.backoff(attempts, key)
            assert expected <= delay < expected * 1.1, (attempts, key, delay)
            assert delay <= queue.max_backoff(attempts)
    assert queue.backoff(2, "item-7") == queue.backoff(2, "item-7")  # reproducible per item
    assert len({queue.backoff(1, key) for key in range(50)}) > 40  # spread across items
    assert queue.backoff(1, 3, jitter=0) == minute
    assert queue.backoff(3, 3, base=timedelta(seconds=10), cap=timedelta(seconds=30), jitter=0) == timedelta(seconds=30)


def test_the_attempt_log_lists_an_items_attempts_per_merchant(store_url: str) -> None:
    with session_scope(store_url) as s:
        for n, outcome in [(1, "retry"), (2, "sent")]:
            queue.record_attempt(s, queue="email", merchant_id="acme", item_id=4, attempt=n, worker_id="w1",
                                 started_at=NOW, finished_at=NOW + timedelta(seconds=n), outcome=outcome, detail="x" * 5000)
        queue.record_attempt(s, queue="social", merchant_id="acme", item_id=4, attempt=1, worker_id="w1", started_at=NOW,
                             finished_at=NOW, outcome="published")
    with session_scope(store_url) as s:
        log = queue.attempts_for(s, "acme", "email", 4)
        assert [(a.attempt, a.outcome) for a in log] == [(1, "retry"), (2, "sent")]
        assert len(log[0].detail) == 4000 and log[1].finished_at == NOW + timedelta(seconds=2)
        assert queue.attempts_for(s, "globex", "email", 4) == []
