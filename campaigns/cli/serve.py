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
from pipelines import ensure_dagster_home

ROOT = Path(__file__).resolve().parents[2]


def serve_both(settings: Settings, dagster_port: int, app_port: int, api_port: int = 8700) -> None:
    ensure_dagster_home(settings)
    env = {**os.environ, **settings.dbt_env(), "CAMPAIGNS_HOME": str(settings.home_path)}
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen([str(bin_dir / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "0.0.0.0", "-p", str(dagster_port)], cwd=ROOT, env=env),
        subprocess.Popen(
            [str(bin_dir / "streamlit"), "run", str(ROOT / "dashboards" / "app.py"), "--server.port", str(app_port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env,
        ),
        # the REST API on 127.0.0.1 only (it is not for the public internet without a TLS proxy in front)
        subprocess.Popen([sys.executable, "-m", "campaigns.cli.main", "api", "--host", "127.0.0.1", "--port", str(api_port)], cwd=ROOT, env=env),
    ]
    console.print(f"Dagster UI:    http://localhost:{dagster_port}")
    console.print(f"Streamlit app: http://localhost:{app_port}")
    console.print(f"REST API:      http://127.0.0.1:{api_port}/marketing (docs: http://127.0.0.1:{api_port}/docs)")
    console.print("Press Ctrl+C to stop them.")
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
