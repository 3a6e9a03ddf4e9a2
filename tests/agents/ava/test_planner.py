"""Ava's plans: allocation to the cent (prior or optimizer), schedule, contingencies, prediction, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from agents.ava.allocation import allocate
from optimizers.cents import split_cents
from agents.ava.models import Goal, PlanHistory, PlanRequest
from agents.ava.planner import plan_campaign
from agents.ava.priors import BEST_HOURS, PRIOR_SHARES
from agents.ava.schedule import posting_slots
from agents.source import read_post
from campaigns.core.enums import CampaignType

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _request(**overrides) -> PlanRequest:
    values = dict(goal=Goal(type="CONVERSION", target=150), budget=Decimal("10000"), start=date(2026, 12, 1), end=date(2026, 12, 21),
                  timezone="Europe/Berlin")
    values.update(overrides)
    return PlanRequest(**values)


@pytest.mark.parametrize("budget", ["10000", "0.07", "9999.99", "1234567.89", "0"])
@pytest.mark.parametrize("goal", list(CampaignType))
def test_prior_allocations_add_up_to_the_budget_exactly(budget: str, goal: CampaignType) -> None:
    channels = list(PRIOR_SHARES[goal])
    plan, notes = allocate(Decimal(budget), channels, goal, PlanHistory(), 21, "USD")
    assert sum(i.amount for i in plan.items) == Decimal(budget)
    assert all(i.amount == i.amount.quantize(Decimal("0.01")) and i.amount >= 0 for i in plan.items)
    assert plan.method == "prior" and not notes


def test_split_cents_hands_leftover_cents_to_the_largest_remainders() -> None:
    assert split_cents(Decimal("0.10"), {"a": 1, "b": 1, "c": 1}) == {"a": Decimal("0.04"), "b": Decimal("0.03"), "c": Decimal("0.03")}
    with pytest.raises(ValueError, match="two decimals"):
        split_cents(Decimal("1.005"), {"a": 1})


def test_the_optimizer_splits_channels_with_response_curves() -> None:
    history = PlanHistory(curves={
        "google_ads": {"family": "exponential", "a": 900.0, "b": 300.0},
        "meta_ads": {"family": "exponential", "a": 500.0, "b": 260.0},
    })
    request = _request(channels=["google_ads", "meta_ads", "email"], history=history, budget=Decimal("7000.01"))
    plan = plan_campaign(request, now=NOW)
    allocation = plan.budget_allocation
    assert allocation.method == "optimizer+prior"
    assert sum(i.amount for i in allocation.items) == Decimal("7000.01")
    sources = {i.channel: i.source for i in allocation.items}
    assert sources == {"google_ads": "optimizer", "meta_ads": "optimizer", "email": "prior"}
    assert allocation.optimizer["status"] == "optimal"
    # at the optimum both curves have (nearly) the same marginal return
    marginal = allocation.optimizer["marginal_return"]
    assert marginal["google_ads"] == pytest.approx(marginal["meta_ads"], rel=1e-3)
    assert "response curve" in next(c.reason for c in plan.channels if c.channel == "google_ads")
    assert plan.prediction.basis.startswith("your response curves")


def test_a_bad_curve_falls_back_to_the_prior_with_a_note() -> None:
    history = PlanHistory(curves={"google_ads": {"family": "exponential", "a": -1.0, "b": 3.0}})
    plan = plan_campaign(_request(history=history), now=NOW)
    assert plan.budget_allocation.method == "prior"
    assert any("optimizer could not use" in n for n in plan.notes)
    assert sum(i.amount for i in plan.budget_allocation.items) == Decimal("10000")


def test_plan_with_a_blog_post_has_content_for_every_channel_and_a_schedule(posts_dir) -> None:
    plan = plan_campaign(_request(variations=2), source=read_post(posts_dir / "long.md"), now=NOW)
    formats = {o["format"] for o in plan.content["outputs"]}
    assert formats == {"x", "linkedin", "facebook", "instagram", "email", "ads"}
    assert plan.content["passed"] is True and plan.engine == "offline"
    scheduled = {(s.format, s.variant) for s in plan.schedule}
    assert scheduled == {(o["format"], o["variant"]) for o in plan.content["outputs"] if o["format"] != "ads"}
    zone = ZoneInfo("Europe/Berlin")
    for slot in plan.schedule:
        local = datetime.fromisoformat(slot.at).astimezone(zone)
        assert date(2026, 12, 1) <= local.date() <= date(2026, 12, 21)
        assert local.hour in BEST_HOURS[slot.format] and slot.basis == "default best hours"
        if slot.format in ("linkedin", "email"):
            assert local.weekday() in (1, 2, 3)
    assert [p.name for p in plan.timeline] == ["prepare", "launch", "optimize", "close", "report"]
    assert {c.trigger for c in plan.contingencies} >= {"under_pacing", "roas_below_target", "publish_failures"}
    p = plan.prediction
    assert p.low < p.expected < p.high and p.interval == 0.8 and 0 <= p.probability_of_target <= 1
    assert [s["type"] for s in plan.workflow] == ["generate_content", "await_approval", "schedule", "publish", "monitor", "rebalance", "monitor"]
    assert "10,000.00 USD" in plan.summary


def test_an_optimal_time_model_replaces_the_default_hours() -> None:
    slots = posting_slots([("x", 1), ("x", 2), ("x", 3)], start=date(2026, 12, 1), end=date(2026, 12, 3), timezone="UTC",
                          best_hours={"x": [7]})
    assert [datetime.fromisoformat(s.at).hour for s in slots] == [7, 7, 7]
    assert len({s.at for s in slots}) == 3 and {s.basis for s in slots} == {"optimal-time model"}


def test_slots_never_fall_in_the_past_or_in_a_skipped_hour() -> None:
    now = datetime(2026, 3, 29, 11, tzinfo=UTC)
    slots = posting_slots([("x", 1), ("x", 2)], start=date(2026, 3, 29), end=date(2026, 3, 30), timezone="Europe/Berlin",
                          best_hours={"x": [2, 13]}, now=now)
    assert all(datetime.fromisoformat(s.at) >= now for s in slots)
    spring = posting_slots([("x", 1)], start=date(2026, 3, 29), end=date(2026, 3, 29), timezone="Europe/Berlin", best_hours={"x": [2]})
    assert datetime.fromisoformat(spring[0].local).hour == 3  # 02:00 does not exist that night


def test_roas_goals_and_targets_shape_the_prediction() -> None:
    request = _request(goal=Goal(type="CONVERSION", kpi="roas", target=50.0))
    plan = plan_campaign(request, now=NOW)
    assert plan.kpi == "roas" and plan.prediction.probability_of_target < 0.05
    roas = next(c for c in plan.contingencies if c.trigger == "roas_below_target")
    assert roas.condition["threshold"] == 50.0
    awareness = plan_campaign(_request(goal=Goal(type="AWARENESS")), now=NOW)
    assert awareness.kpi == "impressions" and awareness.prediction.probability_of_target is None


@pytest.mark.parametrize(("overrides", "message"), [
    ({"end": date(2026, 11, 1)}, "before start"),
    ({"channels": ["tiktok"]}, "unknown channel"),
    ({"timezone": "Mars/Base"}, "unknown time zone"),
    ({"budget": Decimal("-5")}, "greater than or equal"),
    ({"end": date(2028, 1, 1)}, "at most 366"),
])
def test_bad_requests_name_the_field_and_the_fix(overrides: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _request(**overrides)


def test_plans_serialise_to_json_with_cent_amounts() -> None:
    data = plan_campaign(_request(budget=Decimal("333.33")), now=NOW).to_json_dict()
    amounts = [Decimal(i["amount"]) for i in data["budget_allocation"]["items"]]
    assert sum(amounts) == Decimal("333.33") and data["budget"] == "333.33"
