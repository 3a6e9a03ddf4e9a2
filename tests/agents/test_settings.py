"""Agent settings from CAMPAIGNS_* variables; the engine choice follows ANTHROPIC_API_KEY."""

from __future__ import annotations

import pytest

from agents.settings import AgentSettings


def test_models_voice_prices_and_hashtags_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_FAST_MODEL", "claude-haiku-4-5-20251001")
    monkeypatch.setenv("CAMPAIGNS_SMART_MODEL", "claude-sonnet-4-5")
    monkeypatch.setenv("CAMPAIGNS_BRAND_VOICE", "Dry humour, short sentences.")
    monkeypatch.setenv("CAMPAIGNS_BRAND_HASHTAGS", "JuniperFinch, #OutThere")
    monkeypatch.setenv("CAMPAIGNS_LLM_PRICES", '{"claude-haiku-4-5": {"input": 2, "output": 4, "cache_write": 2.5, "cache_read": 0.2}}')
    settings = AgentSettings()
    assert settings.fast_model == "claude-haiku-4-5-20251001" and settings.brand_voice == "Dry humour, short sentences."
    assert settings.brand_hashtags == ["JuniperFinch", "OutThere"]
    assert settings.llm_prices["claude-haiku-4-5"].output == 4


def test_the_live_engine_needs_a_key_unless_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_LLM_ENGINE", "auto")
    assert AgentSettings().live is False
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    assert AgentSettings().live is True
    monkeypatch.setenv("CAMPAIGNS_LLM_ENGINE", "offline")
    assert AgentSettings().live is False
