"""A stored plan as rows for tables and charts (the Orchestration page); pure, no Streamlit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from campaigns.workflows.engine import step_summary

TIMELINE_SCHEMA = {"lane": pl.String, "order": pl.Int64, "kind": pl.String, "start": pl.String, "end": pl.String, "status": pl.String,
                   "detail": pl.String}


def timeline_frame(plan: dict[str, Any], steps: list[dict[str, Any]]) -> pl.DataFrame:
    """Phases as spans (their last day inside the span) and steps at their due time (UTC), one lane each, in plan order."""
    rows = []
    for index, phase in enumerate(plan.get("timeline") or []):
        start = date.fromisoformat(str(phase["start"]))
        end = date.fromisoformat(str(phase["end"])) + timedelta(days=1)
        rows.append({"lane": phase["name"], "order": index, "kind": "phase", "start": f"{start}T00:00:00", "end": f"{end}T00:00:00",
                     "status": "phase", "detail": "; ".join(phase.get("activities") or [])})
    for step in steps:
        if step["order"] == 0 or not step.get("due_at"):
            continue
        due = datetime.fromisoformat(step["due_at"]).astimezone(UTC).replace(tzinfo=None).isoformat(timespec="minutes")
        rows.append({"lane": f"step {step['order']}: {step['type']}", "order": 100 + step["order"], "kind": "step", "start": due, "end": due,
                     "status": step["status"], "detail": step.get("error") or step_summary(step)})
    return pl.DataFrame(rows, schema=TIMELINE_SCHEMA)


def allocation_frame(plan: dict[str, Any]) -> pl.DataFrame:
    items = (plan.get("budget_allocation") or {}).get("items") or []
    return pl.DataFrame([{"channel": i["channel"], "amount": str(i["amount"]), "share": float(i["share"]), "daily": str(i["daily"]),
                          "source": i["source"]} for i in items],
                        schema={"channel": pl.String, "amount": pl.String, "share": pl.Float64, "daily": pl.String, "source": pl.String})


def allocation_total(plan: dict[str, Any]) -> Decimal:
    return sum((Decimal(str(i["amount"])) for i in (plan.get("budget_allocation") or {}).get("items") or []), Decimal("0"))


def contingency_rows(plan: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for c in plan.get("contingencies") or []:
        cond = c.get("condition") or {}
        when = f"{cond.get('metric')} {cond.get('op')} {cond.get('threshold')}"
        if cond.get("after_share_of_flight"):
            when += f", after {float(cond['after_share_of_flight']):.0%} of the flight"
        rows.append({"trigger": c["trigger"], "when": when, "action": c["action"], "automatic": c["automatic"]})
    return rows
