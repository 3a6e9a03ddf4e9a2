"""`campaigns.api.auth.read`: where a short read runs, and that it checks the role first, on both stores.

On SQLite it runs in the event loop's own thread (sqlite3 releases the GIL per row, and from a worker thread
every row became a hand-over with the loop); on PostgreSQL it waits on the network, so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from campaigns.access.api_keys import KeyIdentity
from campaigns.access.roles import AccessDenied, Permission, Role
from campaigns.api.auth import READ_THREADS, Caller, read
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate


def _where_it_runs(store_url: str, role: Role = Role.VIEWER, permission: Permission = Permission.READ) -> tuple[bool, int]:
    caller = Caller(KeyIdentity(1, "acme", role, "test"), store_url)

    async def main() -> tuple[bool, int]:
        loop_thread = threading.get_ident()
        ran_in, answer = await read(caller, permission, lambda session: (threading.get_ident(), session.execute(text("select 41 + 1")).scalar_one()))
        return ran_in == loop_thread, answer

    return asyncio.run(main())


def test_a_sqlite_read_runs_in_the_event_loop_thread(home: Path) -> None:
    url = Settings(home=home).store_url
    migrate(url)
    assert _where_it_runs(url) == (True, 42)


@pytest.mark.postgres
def test_a_postgresql_read_runs_in_a_worker_thread(pg_url: str) -> None:
    assert _where_it_runs(pg_url) == (False, 42)


def test_the_role_is_checked_before_any_work(home: Path) -> None:
    url = Settings(home=home).store_url
    migrate(url)
    worked: list[bool] = []
    caller = Caller(KeyIdentity(1, "acme", Role.VIEWER, "test"), url)
    with pytest.raises(AccessDenied):
        asyncio.run(read(caller, Permission.EDIT, lambda session: worked.append(True)))
    assert worked == []


@pytest.mark.postgres
def test_a_postgresql_read_opens_no_transaction(pg_url: str) -> None:
    """Autocommit: the read is one round trip, with no BEGIN before it nor COMMIT after it."""
    caller = Caller(KeyIdentity(1, "acme", Role.VIEWER, "test"), pg_url)

    def work(session):  # noqa: ANN001, ANN202
        session.execute(text("select 1")).scalar_one()
        return session.connection().connection.driver_connection.info.transaction_status

    assert asyncio.run(read(caller, Permission.READ, work)) == psycopg.pq.TransactionStatus.IDLE


@pytest.mark.postgres
def test_a_postgresql_read_survives_a_dropped_connection(pg_url: str) -> None:
    """The read pool pings nothing before a checkout; a connection the server dropped is replaced and the read repeated."""
    caller = Caller(KeyIdentity(1, "acme", Role.VIEWER, "test"), pg_url)
    one = lambda session: session.execute(text("select pg_backend_pid()")).scalar_one()  # noqa: E731
    first = asyncio.run(read(caller, Permission.READ, one))  # the connection now waits in the pool
    server, name = pg_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:  # what a restart or an idle timeout does to it
        assert admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid = %s",
                             (name, first)).fetchall() == [(True,)]
    second = asyncio.run(read(caller, Permission.READ, one))
    assert second != first


@pytest.mark.postgres
def test_postgresql_reads_run_in_at_most_read_threads_at_once(pg_url: str) -> None:
    """More threads waiting on the GIL after each trip to the database made every read slower (docs/benchmarks.md)."""
    caller = Caller(KeyIdentity(1, "acme", Role.VIEWER, "test"), pg_url)
    lock, running, most = threading.Lock(), [0], [0]

    def work(session):  # noqa: ANN001, ANN202
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        session.execute(text("select pg_sleep(0.05)")).all()
        with lock:
            running[0] -= 1

    async def main() -> None:
        await asyncio.gather(*(read(caller, Permission.READ, work) for _ in range(3 * READ_THREADS)))

    asyncio.run(main())
    assert most[0] == READ_THREADS
