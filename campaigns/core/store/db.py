"""Engines and sessions for the operational store, and the migration entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from campaigns.core.private import private_dir, private_file

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    _private_database_files(cursor)
    # WAL lets the app read while a pipeline writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs the log at checkpoints, not at every commit (a flush took ~6 ms here and writers queue
    # behind it): a commit survives a crash of the process; only a power cut may lose the last ones (see docs/deployment.md).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _private_database_files(cursor) -> None:
    """The store's file, its WAL and shared-memory files owner-only (0600): they hold contacts and encrypted tokens."""
    for _seq, name, filename in cursor.execute("PRAGMA database_list").fetchall():
        if name == "main" and filename:
            for suffix in ("", "-wal", "-shm"):
                private_file(Path(filename + suffix))


# Per process. The API serves sync routes from a pool of threads (see campaigns.api.app), so a request
# rarely waits for a connection; PostgreSQL's default 100 connections fit a few such processes.
POOL_SIZE, POOL_OVERFLOW = 16, 8


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            private_dir(Path(path).parent)
        # Connections are kept (a new one costs the pragmas and file checks): enough for the API's worker threads.
        engine = create_engine(url, connect_args={"timeout": 10}, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the store at `url` to `revision` (idempotent)."""
    command.upgrade(alembic_config(url), revision)


@lru_cache(maxsize=8)
def _sessions_for(engine: Engine) -> sessionmaker[Session]:
    # One factory per engine: a sessionmaker is a new Session subclass, and a new class per request costs its event set-up.
    return sessionmaker(engine, expire_on_commit=False)


# The API runs these reads in 4 threads per process (campaigns.api.auth.READ_THREADS); the overflow is for other callers.
READ_POOL_SIZE = 4


@lru_cache(maxsize=8)
def _read_engine_for(url: str) -> Engine:
    # Autocommit and no pre-ping: a one-statement read is one round trip instead of four (ping, BEGIN, query, COMMIT).
    # Each trip is a hand-over of the GIL, which costs most under many concurrent requests (docs/benchmarks.md).
    # A connection dropped by a restart fails that one read, which `read_scope`'s caller may simply repeat.
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=READ_POOL_SIZE, max_overflow=READ_POOL_SIZE)


@contextmanager
def read_scope(url: str) -> Iterator[Session]:
    """A session for one read statement: on PostgreSQL in autocommit (no transaction to open or end), elsewhere `session_scope`.

    Only for work that reads one statement: several statements in autocommit would each see a different moment."""
    if not url.startswith("postgresql"):
        with session_scope(url) as session:
            yield session
        return
    session = _sessions_for(_read_engine_for(url))()
    try:
        yield session
    finally:
        session.close()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = _sessions_for(engine_for(url))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dialect_insert(session: Session):
    """`insert` of the session's dialect, for ON CONFLICT DO NOTHING / RETURNING on both SQLite and PostgreSQL."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def with_session(session_or_url: Session | str, work: Callable[[Session], T]) -> T:
    """Run `work` in the caller's session (flushed, not committed) or, given a URL, in a transaction of its own."""
    if isinstance(session_or_url, str):
        with session_scope(session_or_url) as session:
            return work(session)
    result = work(session_or_url)
    session_or_url.flush()
    return result
