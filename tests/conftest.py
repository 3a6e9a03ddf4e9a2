"""Shared fixtures: an isolated CAMPAIGNS_HOME, throwaway PostgreSQL databases, built demo homes."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from campaigns.core.settings import Settings, get_settings

if os.environ.get("PYTEST_XDIST_WORKER"):
    # xdist starts its workers with COLUMNS=80 and LINES=24: a console built with them keeps 80 columns and ignores the
    # width a CLI test asks for, so the workers see the terminal size a single-process run sees (none)
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

PG_SERVER = os.environ.get("CAMPAIGNS_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
AS_OF = date(2026, 11, 24)  # fixed, so demo data and its expected numbers never drift


@pytest.fixture(autouse=True, scope="session")
def _shifted_clock() -> Iterator[None]:
    """`CAMPAIGNS_TEST_CLOCK_SHIFT_DAYS=365 make test` runs the suite with this process's clock moved ahead.

    Tests must pass on any date: they inject or freeze the clock, never compare with today. This
    proves it (subprocesses the tests start keep the real clock).
    """
    days = int(os.environ.get("CAMPAIGNS_TEST_CLOCK_SHIFT_DAYS", "0") or 0)
    if not days:
        yield
        return
    import time_machine

    with time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True):
        yield


@pytest.fixture(autouse=True)
def _offline_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Leo and Ava use the offline engine unless a test points them at a local Messages API itself:
    a key in a developer's .env must never send a test to the real API."""
    from agents.settings import get_agent_settings

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "CAMPAIGNS_BRAND_HASHTAGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAMPAIGNS_LLM_ENGINE", "offline")
    get_agent_settings.cache_clear()
    yield
    get_agent_settings.cache_clear()


@pytest.fixture
def fake_api():
    """A local Messages API for the live engine (tests/agents/fake_messages_api.py)."""
    from tests.agents.fake_messages_api import serve

    yield from serve()


@pytest.fixture
def posts_dir() -> Path:
    """The blog posts the agents' tests (and plans built from them) use."""
    return Path(__file__).parent / "agents" / "posts"


@pytest.fixture(autouse=True, scope="session")
def _isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never touch ./data or a developer's DAGSTER_HOME from tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAMPAIGNS_HOME", str(tmp_path_factory.mktemp("default_home")))
        for name in ("DAGSTER_HOME", "CAMPAIGNS_DATABASE_URL", "CAMPAIGNS_WAREHOUSE", "CAMPAIGNS_WAREHOUSE_URL", "ANTHROPIC_API_KEY"):
            mp.delenv(name, raising=False)
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
        get_settings.cache_clear()
        yield
        get_settings.cache_clear()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedded-default home for one test."""
    monkeypatch.setenv("CAMPAIGNS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def _postgres_reason() -> str | None:
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at {PG_SERVER} does not answer ({str(exc).strip().splitlines()[0]})"


def _require(what: str, reason: str | None, fix: str) -> None:
    """Skip with the reason and the fix when `what` is missing; fail instead when CI=true (those tests must run there)."""
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires the {what} tests to run, but {reason}")
        pytest.skip(f"skipping {what} test: {reason}; {fix}")


@pytest.fixture(scope="session")
def pg_server() -> str:
    _require("PostgreSQL", _postgres_reason(), "start it or set CAMPAIGNS_TEST_PG")
    return PG_SERVER


def _create_database(server: str) -> str:
    name = f"co_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    return name


def _drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A throwaway database, dropped after the test."""
    name = _create_database(pg_server)
    yield f"{pg_server}/{name}"
    _drop_database(pg_server, name)


@pytest.fixture(scope="session")
def pg_url_session(pg_server: str) -> Iterator[str]:
    name = _create_database(pg_server)
    yield f"{pg_server}/{name}"
    _drop_database(pg_server, name)


def _build_home(home_dir: Path, env: dict[str, str]) -> Settings:
    from campaigns.demo.generator import generate
    from campaigns.demo.writer import write_demo
    from pipelines.build import materialize

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAMPAIGNS_HOME", str(home_dir))
        mp.setenv("DAGSTER_HOME", str(home_dir / "dagster"))
        for key, value in env.items():
            mp.setenv(key, value)
        settings = Settings()
        write_demo(settings, generate("demo", seed=7, as_of=AS_OF))
        results = materialize(settings, log_path=home_dir / "logs" / "build.log")
        failed = [r for r in results if not r.success]
        assert not failed, f"build failed: {failed[0].failures}; see {home_dir / 'logs' / 'build.log'}"
    return settings


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo merchant materialized on the embedded default (SQLite + DuckDB), once per session."""
    return _build_home(tmp_path_factory.mktemp("built_duckdb"), {})


@pytest.fixture(scope="session")
def built_postgres_home(tmp_path_factory: pytest.TempPathFactory, pg_url_session: str) -> Settings:
    """The demo merchant materialized with store and warehouse on PostgreSQL."""
    return _build_home(
        tmp_path_factory.mktemp("built_postgres"),
        {"CAMPAIGNS_DATABASE_URL": pg_url_session, "CAMPAIGNS_WAREHOUSE": "postgres"},
    )


# --- the Spark leg ------------------------------------------------------------------
# Tests marked `spark` start a JVM and build on Spark: they run in `make test-spark`
# (CAMPAIGNS_TEST_SPARK=1), and are skipped at collection elsewhere, so `make test` stays Python-only and starts no JVM.
SPARK_LEG = os.environ.get("CAMPAIGNS_TEST_SPARK", "") == "1"



def _spark_reason() -> str | None:
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        return "pyspark or dbt-spark is not installed (`uv sync --extra spark --inexact`, or `make test-spark`)"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime (Spark needs Java 17)"
    return None


@pytest.fixture(scope="session")
def spark_available() -> None:
    """Skips with the reason when PySpark or Java is missing; fails instead when CI=true (the Spark leg must run)."""
    _require("Spark", _spark_reason(), "`make test-spark` installs what it needs")


@pytest.fixture(scope="session")
def built_spark_home(tmp_path_factory: pytest.TempPathFactory, spark_available: None) -> Iterator[Settings]:
    """The demo merchant materialized with the warehouse on a local Spark (store on SQLite)."""
    settings = _build_home(tmp_path_factory.mktemp("built_spark"), {"CAMPAIGNS_WAREHOUSE": "spark"})
    yield settings
    from campaigns.warehouse.spark import stop_spark

    stop_spark()

# Both cores: `make test` runs `pytest -n auto --dist loadfile` (docs/development.md). Each test file goes to one
# worker whole, so a module-scoped fixture (a dbt build, a served app, a browser) is set up once and a file's tests
# keep their order. Session-scoped fixtures are per worker, except the demo builds: every file that names one of
# SHARED_BUILDS goes to the same worker, which builds each once (a build costs minutes of CPU).
SHARED_BUILDS = ("built_home", "built_postgres_home", "demo_copy")
SHARED_SCOPE = "the built demo homes"
TESTS = Path(__file__).parent
FIRST = ("tests/e2e/", "tests/dbt_project/")  # long single tests: started early, not left for the end


@functools.cache
def _shares_a_build(path: str) -> bool:
    file = TESTS.parent / path
    return file.name.startswith("test_") and any(name in file.read_text(encoding="utf-8") for name in SHARED_BUILDS)


def _scope_rank(path: str) -> int:
    return 0 if _shares_a_build(path) else 1 if path.startswith(FIRST) else 2


class _FileScheduling:
    """xdist's `--dist loadfile`, with the shared-build files as one scope, in the workers' collection order."""

    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        if config.getoption("dist") != "loadfile":
            return None
        from xdist.scheduler import LoadFileScheduling

        class SharedBuildScheduling(LoadFileScheduling):
            def _split_scope(self, nodeid: str) -> str:
                path = super()._split_scope(nodeid)
                return SHARED_SCOPE if _shares_a_build(path) else path

        config.option.loadscopereorder = False  # keep the order the workers' collection gives (below)
        return SharedBuildScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_FileScheduling(), "campaigns-file-scheduling")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Spark tests skip outside the Spark leg; on an xdist worker: the shared-build files first, then the long
    end-to-end files, then the rest (stable)."""
    if not SPARK_LEG:
        skip = pytest.mark.skip(reason="Spark leg: runs in `make test-spark` (CAMPAIGNS_TEST_SPARK=1)")
        for item in items:
            if "spark" in item.keywords:
                item.add_marker(skip)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: _scope_rank(item.nodeid.split("::", 1)[0]))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist the controller parses the dbt project before the workers start: two workers parsing a fresh clone's
    project at once would write the same dbt_project/target."""
    if getattr(session.config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        from assets.dbt_project import campaigns_dbt_project

        campaigns_dbt_project()
