"""A stored plan as rows for the Orchestration page's tables and charts, on hand-made plans."""

from __future__ import annotations

from decimal import Decimal

from agents.ava.views import allocation_total, contingency_rows, timeline_frame


def test_pure_helpers_against_hand_made_plans() -> None:
    plan = {"timeline": [{"name": "Prepare", "start": "2026-11-20", "end": "2026-11-30", "activities": ["write", "approve"]},
                         {"name": "Run", "start": "2026-12-01", "end": "2026-12-21", "activities": []}],
            "budget_allocation": {"items": [{"amount": "3333.33"}, {"amount": "3333.33"}, {"amount": "3333.34"}]},
            "contingencies": [{"trigger": "under_pacing", "condition": {"metric": "spend_vs_plan", "op": "<", "threshold": 0.8,
                                                                          "after_share_of_flight": 0.25}, "action": "move budget", "automatic": "rebalance"}]}
    steps = [{"order": 0, "type": "plan", "status": "DONE", "due_at": None},
             {"order": 5, "type": "monitor", "status": "PENDING", "due_at": "2026-12-11T12:30:00+01:00", "error": None, "result": {}}]
    frame = timeline_frame(plan, steps)
    assert frame.select("lane", "start", "end").rows() == [
        ("Prepare", "2026-11-20T00:00:00", "2026-12-01T00:00:00"),  # the last day is inside the bar
        ("Run", "2026-12-01T00:00:00", "2026-12-22T00:00:00"),
        ("step 5: monitor", "2026-12-11T11:30", "2026-12-11T11:30"),  # due times in UTC
    ]
    assert allocation_total(plan) == Decimal("10000.00")
    assert contingency_rows(plan) == [{"trigger": "under_pacing", "when": "spend_vs_plan < 0.8, after 25% of the flight", "action": "move budget",
                                       "automatic": "rebalance"}]
