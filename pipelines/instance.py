"""The Dagster instance of the embedded default: DAGSTER_HOME under CAMPAIGNS_HOME."""

from __future__ import annotations

import os
from pathlib import Path

from campaigns.core.settings import Settings

DAGSTER_YAML = """\
# Written by the campaigns CLI. Telemetry off; one run at a time, because the embedded
# DuckDB warehouse allows one writing process.
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """Point DAGSTER_HOME at CAMPAIGNS_HOME/dagster unless the user chose another."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home
