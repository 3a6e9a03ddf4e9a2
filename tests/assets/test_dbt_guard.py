"""dbt ends with the build that started it, and its run folders live (and are pruned) under CAMPAIGNS_HOME."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from assets.dbt_guard import real_dbt
from assets.dbt_project import RUNS_KEPT, dbt_executable, dbt_runs_dir, remove_old_runs, run_target_path
from assets.resources import dbt_resource
from campaigns.core.processes import pid_alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's (elsewhere dbt runs unguarded)")

# Stands in for dbt: takes DuckDB's write lock and holds it, as dbt does while it builds the marts.
HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("create table if not exists t as select 1 as x")
    open(sys.argv[2], "w").close()
    time.sleep(120)
""")

# Stands in for `campaigns build`: starts the child the way dagster-dbt does (a plain Popen, same process group).
BUILD = textwrap.dedent("""
    import signal, subprocess, sys, time
    # a fresh process's signal state, whatever the test runner's threads left blocked or ignored (a mask is inherited)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    guarded, warehouse, ready, holder = sys.argv[1] == "guarded", sys.argv[2], sys.argv[3], sys.argv[4]
    program = [sys.executable, "-c", holder, warehouse, ready]
    if guarded:
        program = [sys.executable, "-c", "import sys; from assets.dbt_guard import exec_guarded; exec_guarded(sys.argv[1:])", *program]
    child = subprocess.Popen(program)
    print(child.pid, flush=True)
    time.sleep(120)
""")


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _start_build(tmp_path: Path, guarded: bool) -> tuple[subprocess.Popen, int, Path]:
    warehouse, ready = tmp_path / "warehouse.duckdb", tmp_path / "locked"
    build = subprocess.Popen(
        [sys.executable, "-c", BUILD, "guarded" if guarded else "plain", str(warehouse), str(ready), HOLDER],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    child = int(build.stdout.readline())
    assert _wait_for(ready.exists, 60), "the stand-in dbt never took the lock"
    return build, child, warehouse


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_build_ends_dbt_and_frees_the_warehouse(tmp_path: Path, sig: int) -> None:
    build, child, warehouse = _start_build(tmp_path, guarded=True)
    with pytest.raises(duckdb.IOException, match="(?i)lock"):
        duckdb.connect(str(warehouse)).close()
    build.send_signal(sig)
    build.wait(30)
    assert _wait_for(lambda: not pid_alive(child), 30), "dbt outlived the build"
    duckdb.connect(str(warehouse)).close()  # the lock is free


def test_without_the_guard_dbt_would_outlive_the_build(tmp_path: Path) -> None:
    """What the guard prevents: an orphan still holding the lock after its build was killed."""
    build, child, warehouse = _start_build(tmp_path, guarded=False)
    try:
        build.kill()
        build.wait(10)
        time.sleep(1)
        assert pid_alive(child)
        with pytest.raises(duckdb.IOException, match="(?i)lock"):
            duckdb.connect(str(warehouse)).close()
    finally:
        os.kill(child, signal.SIGKILL)


def test_the_projects_dbt_runs_through_the_guard() -> None:
    assert Path(dbt_executable()) == Path(sys.executable).with_name("campaigns-dbt")
    assert Path(real_dbt()) == Path(sys.executable).with_name("dbt")
    assert dbt_resource()._cli_version.major == 1  # `campaigns-dbt --version` is dbt's  # noqa: SLF001


def test_the_guard_works_in_a_child() -> None:
    code = "from assets.dbt_guard import die_with_parent; print(die_with_parent())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "True"


def test_the_guarded_program_keeps_the_environment_but_not_the_coverage_variables() -> None:
    code = "import sys; from assets.dbt_guard import exec_guarded; exec_guarded(sys.argv[1:])"
    show = "import json, os; print(json.dumps({k: os.environ.get(k) for k in ('CAMPAIGNS_HOME', 'COVERAGE_PROCESS_CONFIG', 'COVERAGE_PROCESS_START')}))"
    env = {**os.environ, "CAMPAIGNS_HOME": "/srv/campaigns", "COVERAGE_PROCESS_CONFIG": "x", "COVERAGE_PROCESS_START": "x"}
    # -S: the guard's own interpreter skips site, so coverage's start-up hook does not read the stand-in values
    out = subprocess.run([sys.executable, "-S", "-c", code, sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"CAMPAIGNS_HOME": "/srv/campaigns", "COVERAGE_PROCESS_CONFIG": None,
                                                               "COVERAGE_PROCESS_START": None}


def test_dbt_run_folders_go_under_the_home_and_old_ones_are_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runs = dbt_runs_dir(home)
    assert runs.is_relative_to(home)
    made = []
    for i in range(RUNS_KEPT + 3):
        folder = run_target_path(home, f"run{i:04d}xxxxxxxx")
        folder.mkdir()
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))  # oldest first
        made.append(folder)
    # each new run folder leaves room for itself: the RUNS_KEPT - 1 newest earlier ones stay
    assert sorted(p.name for p in runs.iterdir()) == sorted(p.name for p in made[-RUNS_KEPT:])
    assert (runs.stat().st_mode & 0o777) == 0o700
    assert len(remove_old_runs(runs, keep=1)) == RUNS_KEPT - 1
    assert [p.name for p in runs.iterdir()] == [made[-1].name]
    assert remove_old_runs(tmp_path / "nowhere") == []
