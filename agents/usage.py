"""Token and cost accounting of LLM calls, per campaign.

Every call the gateway makes lands in a `UsageLedger`: input, output, cache-write and
cache-read tokens as the API reports them, times the price table in the agent settings.
`persist` writes the ledger to the audit log (action ``llm.usage``, one entry per run, on the
campaign when there is one), and `campaign_usage` sums those entries back, so cost per
campaign needs no table of its own until the lead adds one (see the agents README notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.settings import ModelPrice
from campaigns.services.audit import record
from campaigns.store.models import AuditLog

USAGE_ACTION = "llm.usage"
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@dataclass(frozen=True)
class CallUsage:
    task: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float | None = None  # None when the model has no price in the table
    outcome: str = "ok"  # ok, invalid (asked again), failed


def cost_of(prices: Mapping[str, ModelPrice], model: str, *, input_tokens: int, output_tokens: int,
            cache_creation_input_tokens: int = 0, cache_read_input_tokens: int = 0) -> float | None:
    price = prices.get(model)
    if price is None:
        # dated ids (claude-haiku-4-5-20251001) are priced like their alias
        price = next((p for name, p in prices.items() if model.startswith(name)), None)
    if price is None:
        return None
    total = (input_tokens * price.input + output_tokens * price.output
             + cache_creation_input_tokens * price.cache_write + cache_read_input_tokens * price.cache_read)
    return round(total / 1_000_000, 8)


@dataclass
class UsageLedger:
    campaign_id: str | None = None
    calls: list[CallUsage] = field(default_factory=list)

    def add(self, call: CallUsage) -> None:
        self.calls.append(call)

    def totals(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: sum(getattr(c, name) for c in self.calls) for name in TOKEN_FIELDS}
        priced = [c.cost_usd for c in self.calls if c.cost_usd is not None]
        out["calls"] = len(self.calls)
        out["cost_usd"] = round(sum(priced), 8) if priced else 0.0
        out["unpriced_models"] = sorted({c.model for c in self.calls if c.cost_usd is None})
        by_model: dict[str, dict[str, Any]] = {}
        for call in self.calls:
            entry = by_model.setdefault(call.model, {**{name: 0 for name in TOKEN_FIELDS}, "calls": 0, "cost_usd": 0.0})
            entry["calls"] += 1
            for name in TOKEN_FIELDS:
                entry[name] += getattr(call, name)
            entry["cost_usd"] = round(entry["cost_usd"] + (call.cost_usd or 0.0), 8)
        out["by_model"] = by_model
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, **self.totals(), "calls_detail": [asdict(c) for c in self.calls]}


def persist(session: Session, merchant_id: str, totals: dict[str, Any], *, actor: str, purpose: str, campaign_id: str | None = None,
            entity_id: str | None = None) -> None:
    """One audit entry with a run's usage totals (`UsageLedger.totals()`); nothing for a run without calls (offline)."""
    if not totals.get("calls"):
        return
    entity_type = "campaign" if campaign_id else "repurpose"
    record(session, merchant_id, actor, USAGE_ACTION, entity_type, campaign_id or entity_id or "-", purpose=purpose, **totals)


def campaign_usage(session: Session, merchant_id: str, campaign_id: str) -> dict[str, Any]:
    """Sum of every `llm.usage` entry of one campaign."""
    rows = session.scalars(
        select(AuditLog).where(AuditLog.merchant_id == merchant_id, AuditLog.action == USAGE_ACTION,
                               AuditLog.entity_type == "campaign", AuditLog.entity_id == campaign_id)
    )
    total: dict[str, Any] = {name: 0 for name in TOKEN_FIELDS}
    total.update(calls=0, cost_usd=0.0, runs=0)
    for row in rows:
        details = row.details or {}
        total["runs"] += 1
        total["calls"] += int(details.get("calls", 0))
        total["cost_usd"] = round(total["cost_usd"] + float(details.get("cost_usd", 0.0)), 8)
        for name in TOKEN_FIELDS:
            total[name] += int(details.get(name, 0))
    return total
