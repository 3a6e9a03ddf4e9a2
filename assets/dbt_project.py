"""The dbt project handle (the analytics group's source), built lazily (never at import) with the virtualenv's own dbt."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def dbt_executable() -> str:
    """The `dbt` next to this interpreter, so `.venv/bin/campaigns` works without an activated venv."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


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
