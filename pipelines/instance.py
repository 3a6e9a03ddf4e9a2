"""The Dagster instance of the embedded default: DAGSTER_HOME under CAMPAIGNS_HOME.

Runs queue by pool (the run tag `campaigns/pool`), one run at a time per pool: `warehouse`
(builds and the ad spend load: the embedded DuckDB warehouse allows one writing process) and
one pool per kind of work (publishing, email, automations, workflows), so a long or stuck
build never holds up a due post. Run monitoring fails runs whose worker never started, never
stopped after a cancel, or ran past its job's `dagster/max_runtime`.
"""

from __future__ import annotations

import os
from pathlib import Path

from campaigns.core.private import private_dir, private_file
from campaigns.core.settings import Settings

POOL_TAG = "campaigns/pool"
WAREHOUSE_POOL = "warehouse"
MAX_RUNTIME_TAG = "dagster/max_runtime"  # seconds; run monitoring fails a run that runs longer

# Seconds a run may run before run monitoring fails it.
BUILD_MAX_RUNTIME = 3 * 3600
WORK_MAX_RUNTIME = 1800

MARKER = "# Written by the campaigns CLI."
DAGSTER_YAML = f"""\
{MARKER} Edit freely: once the first line changes, the CLI leaves this file alone.
# Telemetry off. Runs queue by pool (run tag {POOL_TAG}), one at a time per pool: the
# {WAREHOUSE_POOL} pool (the embedded DuckDB warehouse allows one writing process), and one pool
# per kind of work (publishing, email, automations, workflows), so a build never blocks them.
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 10
    tag_concurrency_limits:
      - key: {POOL_TAG}
        value:
          applyLimitPerUniqueValue: true
        limit: 1
# A run whose worker does not start, does not stop after a cancel, or outlives its job's
# {MAX_RUNTIME_TAG} tag (else max_runtime_seconds) is marked failed, freeing its pool.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_runtime_seconds: {BUILD_MAX_RUNTIME}
  poll_interval_seconds: 60
"""


def pool_tags(pool: str, max_runtime: int) -> dict[str, str]:
    """The tags that put a job's runs in `pool` and bound how long one may run."""
    return {POOL_TAG: pool, MAX_RUNTIME_TAG: str(max_runtime)}


def ensure_dagster_home(settings: Settings) -> Path:
    """Point DAGSTER_HOME at CAMPAIGNS_HOME/dagster unless the user chose another; owner-only (0700/0600).

    dagster.yaml is written when missing, and rewritten when it is one the CLI wrote before
    (its first line unchanged) and differs from the current one.
    """
    home = private_dir(Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home))
    config = home / "dagster.yaml"
    current = config.read_text(encoding="utf-8") if config.exists() else None
    if current is None or (current.startswith(MARKER) and current != DAGSTER_YAML):
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    private_file(config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
