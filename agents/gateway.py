"""The LLM gateway: one place that talks to the Anthropic Messages API.

* Routing by task: a Haiku-class model (``CAMPAIGNS_FAST_MODEL``) for short work (social
  variations, checks), a Sonnet-class model (``CAMPAIGNS_SMART_MODEL``) for long-form email,
  ads and strategy.
* Structured output through a forced tool call (``tool_choice`` names the tool) validated
  with pydantic. A violation the caller can repair deterministically (too long, missing
  link) is repaired by the caller; one it cannot (bad JSON, a missing field, an invented
  figure) is sent back to the model as an error ``tool_result`` and the model is asked
  again, at most ``CAMPAIGNS_LLM_REPAIR_ATTEMPTS`` times.
* Timeouts and transport retries are the SDK's (``timeout``, ``max_retries``: 408, 409,
  429, 5xx and 529 are retried with backoff, honouring ``retry-after``).
* The source post goes in its own content block marked ``cache_control: ephemeral``, after
  tools and the system prompt that stay identical between calls, so repeated and repaired
  calls read it from the prompt cache.
* Every response's usage (input, output, cache-write, cache-read tokens) and its cost from
  the price table is added to a `UsageLedger`.

Without ``ANTHROPIC_API_KEY`` nothing here is called: the offline engine runs instead.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from agents.settings import AgentSettings
from agents.usage import CallUsage, UsageLedger, cost_of

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


class Task(StrEnum):
    SOCIAL = "social"
    CHECK = "check"
    EMAIL = "email"
    ADS = "ads"
    STRATEGY = "strategy"


FAST_TASKS = frozenset({Task.SOCIAL, Task.CHECK})


class GatewayError(RuntimeError):
    """The API could not give an answer (after the SDK's retries): timeout, overload, auth, ..."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class StructuredOutputError(GatewayError):
    """The model answered, but never with a valid tool call within the allowed attempts."""

    def __init__(self, problems: list[str], attempts: int) -> None:
        super().__init__(f"no valid answer after {attempts} attempt(s): {'; '.join(problems[:5])}", kind="invalid_output")
        self.problems = problems
        self.attempts = attempts


@dataclass(frozen=True)
class ToolSpec(Generic[T]):
    name: str
    description: str
    model: type[T]

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": inline_refs(self.model.model_json_schema())}


@dataclass(frozen=True)
class Structured(Generic[T]):
    value: T
    model: str
    attempts: int


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema without ``$ref``/``$defs`` (pydantic emits them for nested models)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = defs[node["$ref"].rsplit("/", 1)[-1]]
                merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
                return resolve(merged)
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def _block_param(block: Any) -> dict[str, Any]:
    """A response content block as a request content block, to send the model's answer back."""
    kind = getattr(block, "type", None)
    if kind == "tool_use":
        value = block.input if isinstance(block.input, dict) else {"unparsed": str(block.input)[:4000]}
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": value}
    if kind == "text":
        return {"type": "text", "text": block.text or "(empty)"}
    return {"type": "text", "text": f"({kind} block)"}


def _format_validation(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in error.errors()[:20]]


class LLMGateway:
    def __init__(self, settings: AgentSettings, *, client: Any = None, ledger: UsageLedger | None = None,
                 base_url: str | None = None, api_key: str | None = None) -> None:
        self.settings = settings
        self.ledger = ledger if ledger is not None else UsageLedger()
        self._client = client
        self._base_url = base_url
        self._api_key = api_key

    # -- wiring -------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            import anthropic

            key = self._api_key or (self.settings.anthropic_api_key.get_secret_value() if self.settings.anthropic_api_key else None)
            kwargs: dict[str, Any] = {"timeout": self.settings.llm_timeout_seconds, "max_retries": self.settings.llm_max_retries}
            if key:
                kwargs["api_key"] = key
            if self._base_url:
                kwargs["base_url"] = self._base_url
            self._client = anthropic.Anthropic(**kwargs)
        return self._client

    def model_for(self, task: Task | str) -> str:
        return self.settings.fast_model if Task(task) in FAST_TASKS else self.settings.smart_model

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()

    # -- calls ----------------------------------------------------------------------
    def structured(
        self,
        *,
        task: Task | str,
        tool: ToolSpec[T],
        prompt: str,
        source: str | None = None,
        system: str = "",
        tools: Sequence[ToolSpec[Any]] = (),
        validate: Callable[[T], list[str]] | None = None,
        max_tokens: int | None = None,
    ) -> Structured[T]:
        """Force a call of `tool` and return its input validated as `tool.model`.

        `tools` is the full, stable tool list of the caller (kept identical between calls so
        the prompt prefix stays cacheable); `tool` must be one of them.
        """
        task = Task(task)
        model = self.model_for(task)
        definitions = [t.definition() for t in (tools or [tool])]
        if tool.name not in {d["name"] for d in definitions}:
            definitions.append(tool.definition())
        content: list[dict[str, Any]] = []
        if source:
            content.append({"type": "text", "text": source, "cache_control": {"type": "ephemeral"}})
        content.append({"type": "text", "text": prompt})
        messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
        problems: list[str] = []
        attempts = 1 + self.settings.llm_repair_attempts
        for attempt in range(1, attempts + 1):
            response = self._create(model=model, system=system, tools=definitions, tool_name=tool.name, messages=messages,
                                    max_tokens=max_tokens or self.settings.llm_max_tokens)
            block = next((b for b in response.content if getattr(b, "type", None) == "tool_use" and b.name == tool.name), None)
            value, problems = self._parse(block, tool, response)
            if value is not None and validate is not None:
                problems = validate(value)
            self._account(task, model, response, "ok" if not problems else "invalid")
            if not problems:
                return Structured(value, model, attempt)  # type: ignore[arg-type]
            log.info("%s answer %d/%d invalid: %s", tool.name, attempt, attempts, "; ".join(problems[:3]))
            messages = [*messages, *self._feedback(response, block, tool, problems)]
        raise StructuredOutputError(problems, attempts)

    def _create(self, *, model: str, system: str, tools: list[dict[str, Any]], tool_name: str, messages: list[dict[str, Any]], max_tokens: int) -> Any:
        import anthropic

        try:
            return self.client.messages.create(
                model=model, max_tokens=max_tokens, system=system or anthropic.omit, tools=tools,
                tool_choice={"type": "tool", "name": tool_name}, messages=messages,
            )
        except anthropic.APITimeoutError as exc:
            raise GatewayError(f"the model did not answer within {self.settings.llm_timeout_seconds:g} s (after retries): {exc}", kind="timeout") from exc
        except anthropic.RateLimitError as exc:
            raise GatewayError(f"rate limited by the API after {self.settings.llm_max_retries} retries: {exc}", kind="rate_limited") from exc
        except anthropic.AuthenticationError as exc:
            raise GatewayError("the API refused the key; check ANTHROPIC_API_KEY or unset it to use the offline engine", kind="auth") from exc
        except anthropic.APIStatusError as exc:
            kind = "overloaded" if exc.status_code == 529 else "server_error" if exc.status_code >= 500 else "bad_request"
            raise GatewayError(f"the API answered {exc.status_code} after retries: {exc.message}", kind=kind) from exc
        except anthropic.APIConnectionError as exc:
            raise GatewayError(f"cannot reach the API: {exc}; check ANTHROPIC_BASE_URL and the network", kind="connection") from exc
        except anthropic.AnthropicError as exc:  # no credentials, a bad profile: a setup problem, not a transient one
            raise GatewayError(f"the Anthropic client is not set up: {exc}; set ANTHROPIC_API_KEY or CAMPAIGNS_LLM_ENGINE=offline",
                               kind="config") from exc

    @staticmethod
    def _parse(block: Any, tool: ToolSpec[T], response: Any) -> tuple[T | None, list[str]]:
        if block is None:
            return None, [f"you did not call the tool {tool.name}; answer only by calling it"]
        raw = block.input
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                return None, [f"the tool input is not valid JSON ({exc.msg} at position {exc.pos}); send a JSON object"]
        if not isinstance(raw, dict):
            return None, ["the tool input must be a JSON object"]
        if getattr(response, "stop_reason", None) == "max_tokens":
            return None, ["the answer was cut off by the token limit; write shorter variants"]
        try:
            return tool.model.model_validate(raw), []
        except ValidationError as exc:
            return None, _format_validation(exc)

    @staticmethod
    def _feedback(response: Any, block: Any, tool: ToolSpec[Any], problems: list[str]) -> list[dict[str, Any]]:
        assistant = [_block_param(b) for b in response.content] or [{"type": "text", "text": "(no answer)"}]
        listed = "\n".join(f"- {p}" for p in problems[:20])
        message = f"That answer cannot be used:\n{listed}\nCall {tool.name} again with every problem fixed."
        if block is not None:
            user = [{"type": "tool_result", "tool_use_id": block.id, "is_error": True, "content": message}]
        else:
            user = [{"type": "text", "text": message}]
        return [{"role": "assistant", "content": assistant}, {"role": "user", "content": user}]

    def _account(self, task: Task, model: str, response: Any, outcome: str) -> None:
        usage = getattr(response, "usage", None)
        tokens = {
            "input_tokens": int(getattr(usage, "input_tokens", 0) or 0),
            "output_tokens": int(getattr(usage, "output_tokens", 0) or 0),
            "cache_creation_input_tokens": int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
            "cache_read_input_tokens": int(getattr(usage, "cache_read_input_tokens", 0) or 0),
        }
        answered_by = getattr(response, "model", None) or model
        self.ledger.add(CallUsage(task=task.value, model=answered_by, cost_usd=cost_of(self.settings.llm_prices, answered_by, **tokens),
                                  outcome=outcome, **tokens))
