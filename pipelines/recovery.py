"""Runs a killed process left behind: marked failed when `campaigns build` or `campaigns serve` starts.

A run stays STARTING/STARTED/CANCELING in the instance when the process executing it dies
without a word (SIGKILL, a power cut). Dagster's run monitoring fails such runs only after
their maximum runtime (it cannot ask an in-process run's worker whether it lives), and until
then the run holds its pool. So:

* `campaigns build` tags its runs with its host and pid (OWNER_TAG); on start it fails every
  unfinished run whose owner was on this host and no longer runs;
* `campaigns serve` does the same, and also fails unfinished runs Dagster launched (no owner
  tag) when no other `campaigns serve` of this instance is alive: their run workers were the
  previous serve's children, which end with it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

from campaigns.core.processes import pid_alive

OWNER_TAG = "campaigns/owner"  # "<host>:<pid>" of the process executing the run in-process
UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
SERVE_PID_FILE = "serve.pid"  # in DAGSTER_HOME: the pid of the `campaigns serve` running this instance


def owner_tags() -> dict[str, str]:
    """The tag naming this process as the executor of a run."""
    return {OWNER_TAG: f"{socket.gethostname()}:{os.getpid()}"}


def owner_is_gone(run: dg.DagsterRun) -> bool | None:
    """True when the run's owner ran on this host and no longer runs; None when the run has no owner tag."""
    owner = run.tags.get(OWNER_TAG)
    if owner is None:
        return None
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))


def fail_abandoned_runs(instance: dg.DagsterInstance, *, launched_runs_abandoned: bool = False) -> list[str]:
    """Mark failed the unfinished runs whose process is gone; returns their ids.

    `launched_runs_abandoned`: runs without an owner tag (launched by Dagster's daemon or UI)
    are abandoned too (`campaigns serve`, when no other serve of this instance runs).
    """
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        gone = owner_is_gone(run)
        if gone or (gone is None and launched_runs_abandoned):
            instance.report_run_failed(
                run, "Abandoned: the process that ran it ended without finishing it (killed?). Marked failed on the next start."
            )
            failed.append(run.run_id)
    return failed


def claim_serve(dagster_home: Path) -> bool:
    """Record this process as the instance's `campaigns serve`; False when another live serve holds it."""
    pid_file = dagster_home / SERVE_PID_FILE
    try:
        other = int(pid_file.read_text(encoding="utf-8").strip() or 0)
    except (FileNotFoundError, ValueError):
        other = 0
    if other and other != os.getpid() and pid_alive(other):
        return False
    pid_file.write_text(str(os.getpid()), encoding="utf-8")
    return True


def release_serve(dagster_home: Path) -> None:
    pid_file = dagster_home / SERVE_PID_FILE
    try:
        if int(pid_file.read_text(encoding="utf-8").strip() or 0) == os.getpid():
            pid_file.unlink()
    except (FileNotFoundError, ValueError):
        pass
