"""Workflow tests plan with Ava offline, from the posts the agents' tests use."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.settings import get_agent_settings

POSTS = Path(__file__).resolve().parents[2] / "agents" / "posts"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "CAMPAIGNS_BRAND_HASHTAGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAMPAIGNS_LLM_ENGINE", "offline")
    get_agent_settings.cache_clear()
    yield
    get_agent_settings.cache_clear()


@pytest.fixture
def posts_dir() -> Path:
    return POSTS
