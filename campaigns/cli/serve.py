"""Runs the Dagster UI and the Streamlit app side by side (used by `make demo`), and ends them with it.

Each child starts in a process group of its own, so stopping it reaches everything it started
(Dagster's webserver, daemon, code server and run workers; Streamlit): on SIGTERM, SIGINT
(Ctrl+C) or one child exiting, every child group is asked to stop (SIGINT, the graceful stop
both understand), then sent SIGTERM and finally SIGKILL, so nothing is left listening.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from campaigns.cli.output import console, fail
from campaigns.core.settings import Settings
from campaigns.demo.owner import SIGN_IN_FILE, demo_sign_in
from pipelines import ServeAlreadyRunning, ensure_dagster_home, fail_abandoned_runs, release_serve

ROOT = Path(__file__).resolve().parents[2]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE_SECONDS = 15  # for a child group to stop after SIGINT, then after SIGTERM


# Both UIs listen on the loopback interface unless told otherwise: put them on a network only behind the identity
# provider or an authenticating reverse proxy with TLS (docs/deployment.md).
DEFAULT_HOST = "127.0.0.1"


def streamlit_flags(host: str, port: int) -> list[str]:
    """How the app is started: bound to `host`, and with the developer toolbar (Deploy, rerun settings) hidden."""
    return ["--server.address", host, "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]


def child_commands(settings: Settings, dagster_port: int, app_port: int, api_port: int = 8700, host: str = DEFAULT_HOST) -> dict[str, list[str]]:
    """The processes `campaigns serve` runs, by name."""
    bin_dir = Path(sys.executable).parent
    return {
        "Dagster UI": [str(bin_dir / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", host, "-p", str(dagster_port)],
        "Streamlit app": [str(bin_dir / "streamlit"), "run", str(ROOT / "dashboards" / "app.py"), *streamlit_flags(host, app_port)],
        # the REST API and public endpoints on 127.0.0.1 only (put a TLS proxy in front to publish them)
        "REST API": [sys.executable, "-m", "campaigns.cli.main", "api", "--host", "127.0.0.1", "--port", str(api_port)],
    }


@dataclass
class Children:
    """Child processes, each leading its own process group, stopped together."""

    grace_seconds: float = GRACE_SECONDS
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen:
        process = subprocess.Popen(list(args), cwd=ROOT, env=dict(env), start_new_session=True)
        self.processes.append(process)
        return process

    def all_running(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self) -> None:
        """SIGINT to every group, then SIGTERM, then SIGKILL, each after `grace_seconds` for what is left."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._signal_groups(sig)
            if self._wait_groups(self.grace_seconds):
                return
        self._signal_groups(signal.SIGKILL)
        self._wait_groups(self.grace_seconds)

    def _signal_groups(self, sig: int) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, sig)  # the group outlives its leader: grandchildren get it too
            except ProcessLookupError:
                pass

    def _wait_groups(self, seconds: float) -> bool:
        """Reap the leaders and wait until no process of any group is left; True when they are all gone."""
        for _ in range(max(1, int(seconds * 10))):
            for process in self.processes:
                process.poll()
            if not any(_group_alive(p.pid) for p in self.processes):
                return True
            time.sleep(0.1)
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while inside; the previous handlers come back on leaving."""
    event = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: event.set()) for sig in STOP_SIGNALS}
    try:
        yield event
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_both(settings: Settings, dagster_port: int, app_port: int, api_port: int = 8700, host: str = DEFAULT_HOST) -> None:
    try:
        abandoned = fail_abandoned_runs(settings, serving=True)
    except ServeAlreadyRunning as exc:
        fail(str(exc))
    if abandoned:
        console.print(f"[yellow]note:[/] marked {len(abandoned)} run(s) a stopped serve or build left unfinished failed")
    env = {**os.environ, **settings.dbt_env(), "CAMPAIGNS_HOME": str(settings.home_path), "DAGSTER_HOME": str(ensure_dagster_home(settings))}
    children = Children(grace_seconds=GRACE_SECONDS)
    with stop_requested() as stop:
        try:
            for args in child_commands(settings, dagster_port, app_port, api_port, host).values():
                children.start(args, env)
            shown = "localhost" if host in (DEFAULT_HOST, "localhost") else host
            console.print(f"Dagster UI:    http://{shown}:{dagster_port}")
            console.print(f"Streamlit app: http://{shown}:{app_port}")
            console.print(f"REST API:      http://127.0.0.1:{api_port}/marketing (docs: http://127.0.0.1:{api_port}/docs)")
            sign_in = demo_sign_in(settings.home_path)
            if sign_in:
                console.print(f"Demo sign-in (from {settings.home_path / 'demo' / SIGN_IN_FILE}):\n{sign_in}", highlight=False)
            console.print("Press Ctrl+C to stop them.")
            while children.all_running() and not stop.wait(1):
                pass
        finally:
            console.print("stopping...")
            children.stop()
            release_serve(settings)
