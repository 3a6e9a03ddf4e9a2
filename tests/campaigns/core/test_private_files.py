"""CAMPAIGNS_HOME is owner-only: folders 0700, files 0600 (the store, the warehouse, landing files, the Dagster home)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.private import FILE_MODE, private_dir, private_file, restrict_umask
from campaigns.core.settings import Settings
from campaigns.core.store.db import engine_for, migrate
from campaigns.warehouse.connection import DuckDBWarehouse
from campaigns.warehouse.landing import write_landing
from campaigns.warehouse.schema import IMPORTABLE
from pipelines import ensure_dagster_home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The usual umask (022): the modes below must come from the product, not from the test's process."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_the_store_and_its_home_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = Settings(home=home).store_url
    migrate(url)
    engine_for(url).dispose()
    assert mode(home) == 0o700
    assert mode(home / "app.db") == 0o600
    # SQLite gives its WAL the database's mode
    for companion in (home / "app.db-wal", home / "app.db-shm"):
        if companion.exists():
            assert mode(companion) == 0o600


def test_an_existing_world_readable_home_is_narrowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "app.db").touch(mode=0o644)
    os.chmod(home, 0o755)
    os.chmod(home / "app.db", 0o644)
    url = Settings(home=home).store_url
    with engine_for(url).connect():
        pass
    engine_for(url).dispose()
    assert (mode(home), mode(home / "app.db")) == (0o700, 0o600)


def test_landing_files_warehouse_and_dagster_home_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home=tmp_path / "home")
    table = IMPORTABLE["conversions"]
    frame = pl.DataFrame({c: ["m" if c == "merchant_id" else None] for c in table.column_names}).cast(table.polars_schema)  # type: ignore[arg-type]
    path, written = write_landing(settings.landing_dir, table, frame)
    assert written and mode(path) == 0o600
    assert {mode(p) for p in (settings.landing_dir, path.parent, path.parent.parent)} == {0o700}

    warehouse = DuckDBWarehouse(settings.duckdb_path)
    with warehouse.connect():
        pass
    assert mode(settings.duckdb_path) == 0o600 and mode(settings.home_path) == 0o700

    monkeypatch.setenv("DAGSTER_HOME", str(settings.home_path / "dagster"))  # restored after the test (ensure_dagster_home sets it)
    dagster_home = ensure_dagster_home(settings)
    assert mode(dagster_home) == 0o700 and mode(dagster_home / "dagster.yaml") == 0o600


def test_private_helpers_leave_what_is_not_theirs(tmp_path: Path) -> None:
    assert private_file(tmp_path / "missing") == tmp_path / "missing"  # nothing to narrow, nothing created
    assert not (tmp_path / "missing").exists()
    os.chmod(tmp_path, 0o755)
    nested = private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700 and mode(nested) == 0o700
    assert mode(tmp_path) == 0o755  # an existing parent of what was created keeps its mode


def test_the_cli_makes_what_it_creates_owner_only(home: Path) -> None:
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    # the umask the CLI set (inherited by `serve`'s children): what a library creates on its own is private too
    created = home / "created_by_a_library.txt"
    created.write_text("x")
    assert mode(created) == FILE_MODE and mode(home) == 0o700 and mode(home / "app.db") == 0o600
    assert restrict_umask() == 0o077


def test_pid_alive() -> None:
    from campaigns.core.processes import pid_alive

    assert pid_alive(os.getpid()) and not pid_alive(0) and not pid_alive(-5)
