"""A serving process freezes what start-up built, so full garbage collections do not stall its requests (docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc
from campaigns.api.app import create_from_environment
before = gc.get_freeze_count()
create_from_environment()
print(before, gc.get_freeze_count())
"""


def test_a_worker_process_freezes_its_startup_heap(home: Path) -> None:
    # in a child process: freezing this test process would keep its garbage for the rest of the session
    env = {**os.environ, "CAMPAIGNS_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=True).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert before == 0
    assert after > 10_000  # the app, its routes and schemas, and every module imported for them
