"""CAMPAIGNS_DBT_THREADS: dbt's own profile rendering gives the DuckDB target that many threads (2 when unset),
and the settings refuse a value dbt could not use, naming the variable."""

from __future__ import annotations

import os
from argparse import Namespace
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from campaigns.core.settings import Settings

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"


def _dev_threads(monkeypatch: pytest.MonkeyPatch, value: str | None) -> int:
    from dbt.config.profile import Profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    if value is None:
        monkeypatch.delenv("CAMPAIGNS_DBT_THREADS", raising=False)
    else:
        monkeypatch.setenv("CAMPAIGNS_DBT_THREADS", value)
    set_from_args(Namespace(), None)
    set_invocation_context(dict(os.environ))
    raw = yaml.safe_load(PROFILES.read_text())
    return Profile.from_raw_profiles(raw, "campaign_orchestrator", ProfileRenderer({}), target_override="dev").threads


def test_the_duckdb_target_takes_its_threads_from_the_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    assert _dev_threads(monkeypatch, None) == 2
    assert _dev_threads(monkeypatch, "1") == 1


@pytest.mark.parametrize("value", ["0", "many"])
def test_settings_refuse_a_thread_count_dbt_could_not_use(monkeypatch: pytest.MonkeyPatch, home: Path, value: str) -> None:
    monkeypatch.setenv("CAMPAIGNS_DBT_THREADS", value)
    with pytest.raises(ValidationError, match="dbt_threads"):
        Settings()
