"""int_attribution_credits stops the compile, with a message naming the fix, where its output would
be wrong or its error unclear: time-decay vars whose weights could round to 0, and a rule listed in
attribution_rule_models() without its credit expression (DuckDB's "column not found" otherwise)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from assets.dbt_project import dbt_executable
from campaigns.core.settings import Settings

pytestmark = pytest.mark.slow

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = dbt_executable()  # as the product runs it: dbt behind campaigns-dbt (assets/dbt_guard.py)


def _compile(project: Path, work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **Settings(home=work, warehouse="duckdb").dbt_env()}
    return subprocess.run(
        [DBT, "compile", "--project-dir", str(project), "--profiles-dir", str(DBT_DIR), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--select", "int_attribution_credits", "--no-partial-parse", *extra],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def test_time_decay_vars_that_could_round_every_weight_to_zero_stop_the_compile(tmp_path: Path) -> None:
    # 30 days of lookback at a 36-second half-life: the oldest touch would weigh 2^-72000
    result = _compile(DBT_DIR, tmp_path, "--vars", "{half_life_days: 0.0004167}")
    assert result.returncode != 0
    assert "give time-decay weights too small for a double" in result.stdout
    assert "half_life_days above 0 and at least lookback_days / 1000" in result.stdout


def test_a_listed_rule_without_its_credit_expression_stops_the_compile(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    macros = project / "macros" / "attribution_macros.sql"
    text = macros.read_text()
    assert "'position_based']" in text
    macros.write_text(text.replace("'position_based']", "'position_based', 'u_shaped']"))

    result = _compile(project, tmp_path)
    assert result.returncode != 0
    assert "attribution_rule_models() lists" in result.stdout
    assert "give every listed name its expression in `credit_rules`" in result.stdout
    assert "u_shaped" in result.stdout
