"""The machine's own clock, for what a subprocess checks: the app, the CLI and the workers the tests start keep it
when the tests' clock is moved (`CAMPAIGNS_TEST_CLOCK_SHIFT_DAYS`, tests/conftest.py)."""

from __future__ import annotations

import os
import tempfile


def machine_time() -> float:
    """Seconds since the epoch by the kernel: a new file's modification time, which no patched `time.time` reaches."""
    with tempfile.TemporaryFile() as probe:
        return os.fstat(probe.fileno()).st_mtime
