"""`campaigns-dbt`: dbt, ended by the kernel when the process that started it dies.

dagster-dbt starts dbt as a child of the build (`campaigns build`, or a Dagster run worker),
in the build's process group. A build killed with SIGKILL (or SIGTERM, which Python does not
catch by default) cannot stop its children, and an orphaned dbt would keep DuckDB's write lock
and rewrite the marts behind Dagster's back. This entry point, the `dbt_executable` of the
project's dbt resource, asks Linux to send dbt SIGKILL when its parent exits
(PR_SET_PDEATHSIG), then replaces itself with dbt: same process, same group, same pipes and
signals as before. The warehouse is transactional, so a killed dbt leaves it as the last
committed statement did. Elsewhere (no PR_SET_PDEATHSIG) it runs dbt unguarded.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

PR_SET_PDEATHSIG = 1  # linux/prctl.h

# Variables that have a Python process measure its own code: a parent that measures its Python subprocesses
# (the test suite's coverage of the CLI and workers) sets them. dbt is not this project's code and only runs
# slower traced (two test builds: 40 s against 31 s), so the guarded program starts without them.
COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send `sig` to this process when its parent exits; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def exec_guarded(argv: Sequence[str]) -> NoReturn:
    """Replace this process with `argv`, which the kernel kills when this process's parent dies (same environment,
    less COVERAGE_VARIABLES)."""
    parent = os.getppid()
    guarded = die_with_parent()
    if guarded and (os.getppid() != parent or parent == 1):
        os._exit(1)  # the parent died before the request took effect: nobody waits for this dbt
    env = {name: value for name, value in os.environ.items() if name not in COVERAGE_VARIABLES}
    os.execve(argv[0], list(argv), env)


def real_dbt() -> str:
    """The `dbt` next to this interpreter (the virtualenv's), else the one on PATH."""
    candidate = Path(sys.executable).with_name("dbt")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if found is None:
        sys.exit("campaigns-dbt: dbt is not installed in this environment (run `make setup`)")
    return found


def main() -> NoReturn:
    exec_guarded([real_dbt(), *sys.argv[1:]])
