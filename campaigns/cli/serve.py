"""Runs the Dagster UI and the Streamlit app side by side (used by `make demo`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from campaigns.cli.output import console
from campaigns.core.settings import Settings
from campaigns.demo.owner import SIGN_IN_FILE, demo_sign_in
from pipelines import ensure_dagster_home

ROOT = Path(__file__).resolve().parents[2]


# Both UIs listen on the loopback interface unless told otherwise: put them on a network only behind the identity
# provider or an authenticating reverse proxy with TLS (docs/deployment.md).
DEFAULT_HOST = "127.0.0.1"


def streamlit_flags(host: str, port: int) -> list[str]:
    """How the app is started: bound to `host`, and with the developer toolbar (Deploy, rerun settings) hidden."""
    return ["--server.address", host, "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]


def serve_both(settings: Settings, dagster_port: int, app_port: int, host: str = DEFAULT_HOST) -> None:
    ensure_dagster_home(settings)
    env = {**os.environ, **settings.dbt_env(), "CAMPAIGNS_HOME": str(settings.home_path)}
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen([str(bin_dir / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", host, "-p", str(dagster_port)], cwd=ROOT, env=env),
        subprocess.Popen(
            [str(bin_dir / "streamlit"), "run", str(ROOT / "dashboards" / "app.py"), *streamlit_flags(host, app_port)],
            cwd=ROOT, env=env,
        ),
    ]
    shown = "localhost" if host in (DEFAULT_HOST, "localhost") else host
    console.print(f"Dagster UI:    http://{shown}:{dagster_port}")
    console.print(f"Streamlit app: http://{shown}:{app_port}")
    sign_in = demo_sign_in(settings.home_path)
    if sign_in:
        console.print(f"Demo sign-in (from {settings.home_path / 'demo' / SIGN_IN_FILE}):\n{sign_in}", highlight=False)
    console.print("Press Ctrl+C to stop both.")
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
