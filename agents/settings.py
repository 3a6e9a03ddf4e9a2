"""Settings of the agents (Leo, Ava and the LLM gateway), read from ``CAMPAIGNS_*`` variables.

Kept apart from `campaigns.core.settings` so the core settings stay free of model details. The
Anthropic SDK reads ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` itself; the key is read
here only to decide whether the live engine can run at all (without it the offline engine
is used, deterministic and labelled ``engine="offline"``).

Prices are US dollars per million tokens, per model id: ``input``, ``output``,
``cache_write`` (5-minute ephemeral cache writes) and ``cache_read``. Override them with
``CAMPAIGNS_LLM_PRICES`` as JSON, e.g.
``{"claude-haiku-4-5": {"input": 1, "output": 5, "cache_write": 1.25, "cache_read": 0.1}}``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write: float = Field(ge=0)
    cache_read: float = Field(ge=0)


# List prices of the default models at the time of writing; check them against the
# provider's price page when you change the models.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
    "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "claude-opus-4-5": ModelPrice(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
}

DEFAULT_BRAND_VOICE = (
    "Warm, practical and plain-spoken. Speak to the reader as 'you'. No hype, no exclamation marks, "
    "no emoji, no claims the post does not make."
)


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGNS_", env_file=".env", extra="ignore", populate_by_name=True)

    fast_model: str = Field(default="claude-haiku-4-5", description="Haiku-class model: social variations and checks.")
    smart_model: str = Field(default="claude-sonnet-4-5", description="Sonnet-class model: email, ads and strategy.")
    brand_voice: str = Field(default=DEFAULT_BRAND_VOICE, max_length=2000, description="How the brand sounds; given to the model.")
    brand_hashtags: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Hashtags added to every social post: JuniperFinch,Trails or a JSON list."
    )

    llm_engine: Literal["auto", "offline", "anthropic"] = Field(
        default="auto", description="auto: the live engine when ANTHROPIC_API_KEY is set, else offline."
    )
    llm_timeout_seconds: float = Field(default=60.0, gt=0, description="Per request, passed to the SDK.")
    llm_max_retries: int = Field(default=2, ge=0, le=10, description="SDK retries on 408/409/429/5xx/529 and connection errors.")
    llm_repair_attempts: int = Field(default=2, ge=0, le=5, description="Asks again after an invalid answer (bad JSON, invented figures).")
    llm_max_tokens: int = Field(default=4096, ge=256, le=64_000)
    llm_prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    llm_claim_check: bool = Field(default=False, description="Live only: a fast-model pass that flags claims the source does not support.")

    max_source_bytes: int = Field(default=5_000_000, gt=0, description="Larger files are refused.")
    max_source_chars: int = Field(default=60_000, gt=1000, description="Longer posts are truncated at a paragraph (noted in the output).")

    # Read only to choose the engine; the SDK reads the variable itself.
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")

    @field_validator("brand_hashtags", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [v.strip().lstrip("#") for v in value.split(",") if v.strip()]
        return value

    @property
    def live(self) -> bool:
        """Whether the live engine runs: forced, or auto with a key present."""
        if self.llm_engine == "offline":
            return False
        if self.llm_engine == "anthropic":
            return True
        return self.anthropic_api_key is not None and bool(self.anthropic_api_key.get_secret_value().strip())


@lru_cache(maxsize=1)
def get_agent_settings() -> AgentSettings:
    return AgentSettings()
