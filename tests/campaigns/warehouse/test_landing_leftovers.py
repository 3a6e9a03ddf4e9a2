"""A killed import's temporary file is removed by the next import; an import in progress keeps its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from campaigns.warehouse.landing import UNNAMED_TMP_SECONDS, landing_files, remove_abandoned_tmp, write_landing
from campaigns.warehouse.schema import IMPORTABLE

TABLE = IMPORTABLE["conversions"]


def _rows(merchant: str) -> pl.DataFrame:
    return pl.DataFrame({c: [merchant if c == "merchant_id" else None] for c in TABLE.column_names}).cast(TABLE.polars_schema)  # type: ignore[arg-type]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_next_import_removes_a_killed_imports_tmp(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = landing / TABLE.name / "m"
    folder.mkdir(parents=True)
    killed = folder / f".20260101T000000000000-abc.parquet.{_dead_pid()}.tmp"
    killed.touch()  # 0 bytes: killed before it wrote anything
    running = folder / f".20260101T000000000001-def.parquet.{os.getpid()}.tmp"  # a live writer: an import in progress
    running.touch()
    old_unnamed = folder / ".20250101T000000000000-old.parquet.tmp"  # written before names carried the writer's pid
    old_unnamed.touch()
    now = time.time()  # the ages are set from the clock the code reads, never the file system's own (a moved test clock)
    stale = now - UNNAMED_TMP_SECONDS - 60
    os.utime(old_unnamed, (stale, stale))
    new_unnamed = folder / ".20260101T000000000002-new.parquet.tmp"
    new_unnamed.touch()
    os.utime(new_unnamed, (now, now))

    path, written = write_landing(landing, TABLE, _rows("other"))  # an import of another merchant cleans the whole zone
    assert written and landing_files(landing, TABLE) == [path]
    assert not killed.exists() and not old_unnamed.exists()
    assert running.exists() and new_unnamed.exists()
    assert not list(path.parent.glob(".*.tmp"))  # its own temporary file was renamed into place


def test_nothing_to_clean_without_a_landing_zone(tmp_path: Path) -> None:
    assert remove_abandoned_tmp(tmp_path / "nowhere") == []
