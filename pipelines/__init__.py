"""The Dagster shell: asset definitions, jobs and sensors, and the in-process build behind `campaigns build`.

Callers outside the package (the CLI) use what this module exports, not its submodules.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.instance import ensure_dagster_home

if TYPE_CHECKING:
    from campaigns.core.settings import Settings
    from pipelines.build import StageResult

__all__ = ["ensure_dagster_home", "run_build"]


def run_build(
    settings: Settings,
    select: str | None = None,
    *,
    on_stage: Callable[[str, int], None] | None = None,
    on_done: Callable[[StageResult], None] | None = None,
    log_path: Path | None = None,
) -> list[StageResult]:
    """Materialize every asset (or one group or stage) stage by stage in this process; see `pipelines.build.materialize`."""
    # Imported here: Dagster and the asset graph load only when a build runs, not whenever the package is imported.
    from pipelines.build import materialize

    return materialize(settings, select, on_stage=on_stage, on_done=on_done, log_path=log_path)
