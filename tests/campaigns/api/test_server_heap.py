"""A serving process freezes what start-up built, so full garbage collections do not stall its requests (docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc
import duckdb  # as after a snapshot read: its bindings report objects still alive at exit as leaks
duckdb.sql("select 1").fetchall()
from campaigns.api.app import create_from_environment
before = gc.get_freeze_count()
create_from_environment()
print(before, gc.get_freeze_count())
"""


def test_a_worker_process_freezes_its_startup_heap(home: Path) -> None:
    # in a child process: freezing this test process would keep its garbage for the rest of the session
    env = {**os.environ, "CAMPAIGNS_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=True)
    before, after = (int(n) for n in done.stdout.split())
    assert before == 0
    assert after > 10_000  # the app, its routes and schemas, and every module imported for them
    assert "leaked" not in done.stderr  # handed back at exit, so the final collection frees them
