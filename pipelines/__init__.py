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

__all__ = ["ServeAlreadyRunning", "ensure_dagster_home", "fail_abandoned_runs", "release_serve", "run_build"]


class ServeAlreadyRunning(RuntimeError):
    """Another `campaigns serve` runs this Dagster instance."""


def fail_abandoned_runs(settings: Settings, *, serving: bool = False) -> list[str]:
    """Mark failed the runs a killed `campaigns build` (or, with `serving`, a killed `campaigns serve`) left unfinished.

    With `serving`, this process also becomes the instance's serve (see `pipelines.recovery`);
    raises ServeAlreadyRunning when another live one holds it. Returns the failed runs' ids.
    """
    # Imported here: Dagster loads only for the commands that use the instance.
    import dagster as dg

    from pipelines.recovery import claim_serve
    from pipelines.recovery import fail_abandoned_runs as fail_runs

    home = ensure_dagster_home(settings)
    if serving and not claim_serve(home):
        raise ServeAlreadyRunning(f"another `campaigns serve` runs the Dagster instance in {home}; stop it first (its pid is in {home / 'serve.pid'})")
    with dg.DagsterInstance.get() as instance:
        return fail_runs(instance, launched_runs_abandoned=serving)


def release_serve(settings: Settings) -> None:
    """Forget this process as the instance's serve (when `campaigns serve` stops)."""
    from pipelines.recovery import release_serve as release

    release(ensure_dagster_home(settings))


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
