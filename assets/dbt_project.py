"""The dbt project handle (the analytics group's source), built lazily (never at import) with the virtualenv's own dbt."""

from __future__ import annotations

import shutil
import sys
import uuid
from functools import lru_cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from campaigns.core.private import private_dir

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
RUNS_KEPT = 5  # run folders (dbt's target and log of one build) kept under CAMPAIGNS_HOME/dbt/runs


def dbt_executable() -> str:
    """`campaigns-dbt` next to this interpreter (dbt, ended with the process that starts it: assets/dbt_guard.py),
    else that `dbt`, so `.venv/bin/campaigns` works without an activated venv."""
    for name in ("campaigns-dbt", "dbt"):
        candidate = Path(sys.executable).with_name(name)
        if candidate.exists():
            return str(candidate)
    return "dbt"


def dbt_runs_dir(home: Path) -> Path:
    """Where each dbt invocation's target folder (artifacts and dbt.log) goes: under CAMPAIGNS_HOME, not the install tree."""
    return home / "dbt" / "runs"


def run_target_path(home: Path, run_id: str) -> Path:
    """A fresh target folder for one dbt invocation of run `run_id`, after removing all but the newest earlier ones."""
    runs = private_dir(dbt_runs_dir(home))
    remove_old_runs(runs, keep=RUNS_KEPT - 1)
    return runs / f"{run_id[:8]}-{uuid.uuid4().hex[:7]}"


def remove_old_runs(runs: Path, keep: int = RUNS_KEPT) -> list[Path]:
    """Remove every run folder in `runs` but the `keep` newest; returns the removed ones."""
    folders = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True) if runs.exists() else []
    removed = folders[keep:]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def parse_project(project: DbtProject) -> None:
    """`dbt parse` with this venv's dbt (dagster-dbt's own preparer would take `dbt` from PATH)."""
    DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
        ["parse", "--quiet"], target_path=project.target_path
    ).wait()


def manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [p for pattern in ("*.yml", "models/**/*", "macros/**/*", "tests/**/*") for p in DBT_PROJECT_DIR.glob(pattern) if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


@lru_cache(maxsize=1)
def campaigns_dbt_project() -> DbtProject:
    """The project, its manifest parsed only when missing or older than a project file.

    This plays the part of `prepare_if_dev()` for every entry point (dagster dev, the CLI,
    tests): one `dbt parse` costs several seconds here, so it runs only when needed.
    """
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if manifest_is_stale(project):
        parse_project(project)
    return project
