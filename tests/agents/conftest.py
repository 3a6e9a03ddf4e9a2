"""Fixtures of the agent tests: offline and live settings, and a store (the local Messages API is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.settings import AgentSettings
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope


@pytest.fixture
def offline_settings() -> AgentSettings:
    return AgentSettings(llm_engine="offline")


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    with session_scope(url) as session:
        ensure_merchant(session, "acme", timezone="Europe/Berlin")
        ensure_merchant(session, "globex")
    return url


@pytest.fixture
def live_settings() -> AgentSettings:
    return AgentSettings(llm_engine="anthropic", llm_timeout_seconds=5, llm_max_retries=2, llm_repair_attempts=2)
