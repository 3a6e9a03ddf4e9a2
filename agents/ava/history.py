"""Ava's planning history from the warehouse: the response curves the pipeline fitted.

`campaigns plan` (and the Orchestration page) use these when no `--history` file is given,
so a merchant with fitted curves gets an optimizer split without preparing anything. No
warehouse, no curves yet, or a busy warehouse: an empty history and the reason, and the plan
falls back to the documented priors (it says so in its notes).
"""

from __future__ import annotations

import json
import re
from typing import Any

from agents.ava.models import PlanHistory
from campaigns.core.enums import MARKETING_CHANNELS
from campaigns.warehouse.connection import WarehouseBusyError, open_warehouse


def plan_history_from_rows(rows: list[dict[str, Any]]) -> PlanHistory:
    """Curves (family + parameters, as the optimizer reads them) and the observed daily spend range per known channel."""
    curves: dict[str, dict[str, Any]] = {}
    observed: dict[str, tuple[float, float]] = {}
    for row in rows:
        channel = row["channel"]
        if channel not in MARKETING_CHANNELS or not row.get("family"):
            continue
        params = row["params"] if isinstance(row["params"], dict) else json.loads(row["params"])
        curves[channel] = {"family": row["family"], **params}
        if row.get("observed_min") is not None and row.get("observed_max") is not None:
            observed[channel] = (float(row["observed_min"]), float(row["observed_max"]))
    return PlanHistory(curves=curves, observed_spend=observed, curve_outcome="revenue")


def warehouse_plan_history(settings: Any, merchant_id: str) -> tuple[PlanHistory, str | None]:
    """The merchant's fitted channel curves, or an empty history and why there is none."""

    if not re.fullmatch(r"[\w.-]{1,80}", merchant_id):
        return PlanHistory(), f"merchant id {merchant_id!r} is not a plain id"
    if settings.warehouse == "duckdb" and not settings.duckdb_path.exists():
        return PlanHistory(), "no warehouse yet (run `campaigns build`)"
    warehouse = open_warehouse(settings)
    try:
        frame = warehouse.query(
            "select channel, family, params, observed_min, observed_max from marts.response_curves where merchant_id = ? order by channel",
            [merchant_id],
        )
    except WarehouseBusyError as exc:
        return PlanHistory(), f"the warehouse is busy ({exc}); prior shares used"
    except Exception as exc:  # no curves table yet: history is optional
        return PlanHistory(), f"no response curves in the warehouse ({type(exc).__name__}); run `campaigns build`"
    history = plan_history_from_rows(frame.to_dicts())
    if not history.curves:
        return history, "no response curve fitted for this merchant yet (needs 14 days of spend per channel)"
    return history, None
