"""Token and cost accounting of LLM calls, per campaign.

Every call the gateway makes lands in a `UsageLedger`: input, output, cache-write and
cache-read tokens as the API reports them, times the price table in the agent settings.
`persist` writes each call of a run as an ``llm_usage`` row (in the caller's session, so in
the same transaction as the drafts or plan the calls produced: both commit or neither) and
one summary audit entry (action ``llm.usage``) for the run. `campaign_usage` and
`usage_by_campaign` read the table.

Costs are stored per call in ``llm_usage.cost_usd`` (NUMERIC(14, 6): to the micro-dollar);
a call whose model has no price keeps ``NULL`` there and is counted as unpriced, never
guessed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from agents.settings import ModelPrice
from campaigns.core.audit import record
from campaigns.core.store.models import LlmUsage

USAGE_ACTION = "llm.usage"
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
COST_PLACES = Decimal("0.000001")  # the column's scale


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
        """Sums, a breakdown by model, and every call (``calls_detail``, what `persist` writes as rows)."""
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
        out["calls_detail"] = [asdict(c) for c in self.calls]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, **self.totals()}


def persist(session: Session, merchant_id: str, usage: Mapping[str, Any], *, actor: str, purpose: str, campaign_id: str | None = None,
            entity_id: str | None = None, now: datetime | None = None) -> str | None:
    """Write a run's calls (`UsageLedger.totals()`) as ``llm_usage`` rows plus one summary audit entry; returns the run id.

    Nothing is written for a run without calls (the offline engine). The rows go into the
    caller's session: flush or commit them with what the calls produced.
    """
    if not usage.get("calls"):
        return None
    detail = usage.get("calls_detail")
    if not isinstance(detail, list) or len(detail) != usage["calls"]:
        raise ValueError("usage has no per-call detail (calls_detail); pass UsageLedger.totals(), not a hand-made summary")
    run_id = uuid.uuid4().hex
    created = (now or datetime.now(UTC)).astimezone(UTC)
    for call in detail:
        cost = call.get("cost_usd")
        session.add(LlmUsage(
            merchant_id=merchant_id, campaign_id=campaign_id, run_id=run_id, task=str(call["task"])[:40], model=str(call["model"])[:80],
            **{name: int(call.get(name) or 0) for name in TOKEN_FIELDS},
            cost_usd=None if cost is None else Decimal(str(cost)).quantize(COST_PLACES),
            outcome=str(call.get("outcome", "ok"))[:20], created_at=created,
        ))
    summary = {k: v for k, v in usage.items() if k not in ("calls_detail", "campaign_id")}
    entity_type = "campaign" if campaign_id else "repurpose"
    record(session, merchant_id, actor, USAGE_ACTION, entity_type, campaign_id or entity_id or "-", purpose=purpose, run_id=run_id, **summary)
    session.flush()
    return run_id


def _sums(session: Session, merchant_id: str, *where: Any, group_by: Any = None) -> list[Any]:
    columns = [func.coalesce(func.sum(getattr(LlmUsage, name)), 0).label(name) for name in TOKEN_FIELDS]
    query = select(*([group_by] if group_by is not None else []), *columns,
                   func.count(LlmUsage.id).label("calls"), func.count(distinct(LlmUsage.run_id)).label("runs"),
                   func.coalesce(func.sum(LlmUsage.cost_usd), 0).label("cost_usd"),
                   (func.count(LlmUsage.id) - func.count(LlmUsage.cost_usd)).label("unpriced_calls"),
                   func.min(LlmUsage.created_at).label("first_at"), func.max(LlmUsage.created_at).label("last_at"))
    query = query.where(LlmUsage.merchant_id == merchant_id, *where)
    if group_by is not None:
        query = query.group_by(group_by)
    return list(session.execute(query).all())


def _as_dict(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {name: int(getattr(row, name) or 0) for name in TOKEN_FIELDS}
    out.update(calls=int(row.calls or 0), runs=int(row.runs or 0), cost_usd=float(Decimal(str(row.cost_usd or 0)).quantize(COST_PLACES)),
               unpriced_calls=int(row.unpriced_calls or 0))
    return out


def campaign_usage(session: Session, merchant_id: str, campaign_id: str) -> dict[str, Any]:
    """Tokens, calls, runs and cost of one campaign's LLM calls, with a breakdown by model."""
    mine = LlmUsage.campaign_id == campaign_id
    total = _as_dict(_sums(session, merchant_id, mine)[0])
    total["by_model"] = {row.model: _as_dict(row) for row in _sums(session, merchant_id, mine, group_by=LlmUsage.model)}
    return total


def usage_by_campaign(session: Session, merchant_id: str) -> list[dict[str, Any]]:
    """One row per campaign with LLM calls (``campaign_id`` None: calls made for no campaign), costliest first."""
    rows = [{"campaign_id": row.campaign_id, **_as_dict(row), "last_at": row.last_at}
            for row in _sums(session, merchant_id, group_by=LlmUsage.campaign_id)]
    return sorted(rows, key=lambda r: (-r["cost_usd"], r["campaign_id"] or ""))
