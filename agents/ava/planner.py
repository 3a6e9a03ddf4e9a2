"""Ava, the campaign orchestrator: a goal, a budget and dates become a plan.

    plan = plan_campaign(PlanRequest(goal=Goal(type="CONVERSION", target=200), budget=Decimal("10000"),
                                     start=date(2026, 12, 1), end=date(2026, 12, 21)), source=read_post(path))

The plan holds a timeline, the channels with reasons, a budget allocation that adds up to
the budget to the cent (the optimizer's when response curves exist, else documented
priors), the content for every channel's format (Leo) and its posting schedule,
contingency plans with machine-readable triggers, a success prediction with an 80%
interval, and the workflow steps that will carry it out (`agents.ava.execution`).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from agents.ava.allocation import allocate
from agents.ava.execution import blueprint
from agents.ava.models import BudgetPlan, ChannelChoice, Contingency, Phase, Plan, PlanRequest, Prediction
from agents.ava.priors import CHANNELS, FORMAT_OF_CHANNEL, INTERVAL, PRIOR_RATES, PRIOR_SHARES, REASONS, REVENUE_PER_CONVERSION, UNCERTAINTY
from agents.ava.schedule import posting_slots
from agents.gateway import GatewayError, LLMGateway, Task, ToolSpec
from agents.leo.repurpose import repurpose
from agents.settings import AgentSettings, get_agent_settings
from agents.source import SourcePost
from optimizers.curves import CurveSpec

FORMAT_ORDER = ("x", "linkedin", "facebook", "instagram", "email", "ads")
Z_80 = 1.2815515655446004  # standard normal quantile of 0.9: an 80% two-sided interval


def choose_channels(request: PlanRequest) -> list[str]:
    if request.channels:
        return list(request.channels)
    shares = PRIOR_SHARES[request.goal.type]
    return [c for c in CHANNELS if shares.get(c, 0) > 0]


def formats_for(channels: list[str]) -> list[str]:
    wanted = {FORMAT_OF_CHANNEL[c] for c in channels}
    return [f for f in FORMAT_ORDER if f in wanted]


def _rates(request: PlanRequest, channel: str) -> dict[str, float]:
    prior = PRIOR_RATES[channel]
    own = request.history.channel_stats.get(channel)
    values = {"cpm": prior.cpm, "ctr": prior.ctr, "cvr": prior.cvr, "engagement_rate": prior.engagement_rate,
              "revenue_per_conversion": REVENUE_PER_CONVERSION}
    if own:
        values.update({k: v for k, v in own.model_dump().items() if v is not None})
    return values


def predict(request: PlanRequest, budget_plan: BudgetPlan) -> Prediction:
    kpi = request.goal.resolved_kpi
    totals = dict.fromkeys(("impressions", "clicks", "engagements", "conversions", "revenue"), 0.0)
    optimizer_channels = {i.channel for i in budget_plan.items if i.source == "optimizer"}
    for item in budget_plan.items:
        rates = _rates(request, item.channel)
        spend = float(item.amount)
        impressions = spend / rates["cpm"] * 1000 if rates["cpm"] else 0.0
        clicks = impressions * rates["ctr"]
        totals["impressions"] += impressions
        totals["clicks"] += clicks
        totals["engagements"] += impressions * rates["engagement_rate"]
        if item.channel in optimizer_channels:

            daily_outcome = float(CurveSpec.model_validate(request.history.curves[item.channel]).to_curve().value(float(item.daily)))
            outcome = daily_outcome * request.days
            if request.history.curve_outcome == "revenue":
                totals["revenue"] += outcome
                totals["conversions"] += outcome / rates["revenue_per_conversion"] if rates["revenue_per_conversion"] else 0.0
            else:
                totals["conversions"] += outcome
                totals["revenue"] += outcome * rates["revenue_per_conversion"]
        else:
            conversions = clicks * rates["cvr"]
            totals["conversions"] += conversions
            totals["revenue"] += conversions * rates["revenue_per_conversion"]
    budget = float(request.budget)
    expected = totals["revenue"] / budget if kpi == "roas" and budget else totals.get(kpi, 0.0)
    if optimizer_channels and len(optimizer_channels) == len(budget_plan.items):
        kind, basis = "curves", "your response curves (optimizer) for every channel"
    elif optimizer_channels:
        kind, basis = "curves", "your response curves for some channels, priors for the rest"
    elif request.history.channel_stats:
        kind, basis = "history", "your channel rates where given, documented priors elsewhere"
    else:
        kind, basis = "prior", "documented priors (benchmark CPM, click-through and conversion rates)"
    factor = UNCERTAINTY[kind]
    low, high = expected / factor, expected * factor
    target = request.goal.target
    probability = None
    if target is not None:
        if expected <= 0:
            probability = 0.0
        else:
            sigma = math.log(factor) / Z_80
            probability = 0.5 * math.erfc((math.log(target) - math.log(expected)) / (sigma * math.sqrt(2)))
    digits = 2 if kpi == "roas" else 0
    return Prediction(kpi=kpi, target=target, expected=round(expected, digits), low=round(low, digits), high=round(high, digits),
                      interval=INTERVAL, probability_of_target=None if probability is None else round(probability, 3), basis=basis)


def contingencies(request: PlanRequest) -> list[Contingency]:
    target_roas = request.goal.target if request.goal.resolved_kpi == "roas" and request.goal.target else 1.0
    out = [
        Contingency(trigger="under_pacing", condition={"metric": "spend_vs_plan", "op": "<", "threshold": 0.8, "after_share_of_flight": 0.2},
                    action="raise bids or daily caps on the channels with the best marginal return; the rebalance step recomputes the split of what is left",
                    automatic="rebalance"),
        Contingency(trigger="over_pacing", condition={"metric": "spend_vs_plan", "op": ">", "threshold": 1.2, "after_share_of_flight": 0.1},
                    action="cap daily budgets so the rest of the flight keeps its money", automatic="rebalance"),
        Contingency(trigger="roas_below_target", condition={"metric": "roas", "op": "<", "threshold": target_roas, "min_spend_share": 0.1},
                    action="move budget from the channels with the lowest observed return to the highest; pause ad sets below half the target",
                    automatic="rebalance"),
        Contingency(trigger="roas_drop", condition={"metric": "roas_drop", "op": ">=", "threshold": 0.3, "min_spend_share": 0.1},
                    action="move budget from the channels whose return fell the most; check creative fatigue and tracking",
                    automatic="rebalance"),
        Contingency(trigger="kpi_behind", condition={"metric": "kpi_vs_plan", "op": "<", "threshold": 0.7, "after_share_of_flight": 0.5},
                    action="refresh creative with the next variants and rebalance towards the channels that deliver the KPI", automatic="rebalance"),
        Contingency(trigger="publish_failures", condition={"metric": "failed_posts", "op": ">=", "threshold": 1},
                    action="a person reviews the failed posts (reconnect the account, fix the text) and requeues them at the next good slot",
                    automatic="escalate"),
        Contingency(trigger="approval_overdue", condition={"metric": "unapproved_drafts_at_start", "op": ">=", "threshold": 1},
                    action="remind the approver; posts whose slot has passed move to the next good slot once approved", automatic="escalate"),
    ]
    return out


def timeline(request: PlanRequest, today: date, has_content: bool) -> list[Phase]:
    edge = max(1, request.days // 5)
    launch_end = min(request.start + timedelta(days=edge - 1), request.end)
    close_start = max(request.end - timedelta(days=edge - 1), launch_end + timedelta(days=1))
    phases = []
    prep_start = min(today, request.start - timedelta(days=1)) if today < request.start else request.start
    prep_end = request.start - timedelta(days=1) if today < request.start else request.start
    phases.append(Phase(name="prepare", start=prep_start, end=max(prep_start, prep_end), activities=[
        "generate content for every channel" if has_content else "write or repurpose a post for the campaign",
        "approve the drafts (an edit needs a new approval)", "schedule posts at the best slots, set up ad flights and the email send"]))
    phases.append(Phase(name="launch", start=request.start, end=launch_end, activities=[
        "first posts and the email go out", "ads start", "check that publishing worked"]))
    if close_start > launch_end + timedelta(days=1):
        mid_end = close_start - timedelta(days=1)
        phases.append(Phase(name="optimize", start=launch_end + timedelta(days=1), end=mid_end, activities=[
            "monitor pacing, return and the KPI at mid-flight", "rebalance the remaining budget if a trigger fires"]))
    if close_start <= request.end and close_start > launch_end:
        phases.append(Phase(name="close", start=close_start, end=request.end, activities=["last posts", "final monitoring"]))
    phases.append(Phase(name="report", start=request.end + timedelta(days=1), end=request.end + timedelta(days=1), activities=[
        "final monitor: results against the prediction", "lessons for the next plan"]))
    return phases


def _channel_reasons(request: PlanRequest, channels: list[str], budget_plan: BudgetPlan) -> list[ChannelChoice]:
    marginal = (budget_plan.optimizer or {}).get("marginal_return") or {}
    out = []
    for c in channels:
        reason = REASONS[c][request.goal.type]
        if c in marginal:
            reason += f"; your response curve gives {marginal[c]:.2f} per extra unit spent at the planned level"
        elif c in request.history.channel_stats:
            reason += "; rates from your own history"
        out.append(ChannelChoice(channel=c, format=FORMAT_OF_CHANNEL[c], reason=reason))
    return out


def _offline_summary(name: str, request: PlanRequest, budget_plan: BudgetPlan, prediction: Prediction) -> str:
    lead = budget_plan.items[0] if budget_plan.items else None
    lead_text = f"; {lead.channel} leads with {lead.share:.0%}" if lead and request.budget > 0 else ""
    target = f" against a target of {prediction.target:,.{2 if prediction.kpi == 'roas' else 0}f} (chance of reaching it about {prediction.probability_of_target:.0%})" \
        if prediction.target is not None and prediction.probability_of_target is not None else ""
    fmt = ",.2f" if prediction.kpi == "roas" else ",.0f"
    return (
        f"{name}: a {request.days}-day {request.goal.type.value} campaign from {request.start} to {request.end} spending "
        f"{request.budget:,.2f} {request.currency} across {len(budget_plan.items)} channels{lead_text}. Expected {prediction.kpi}: "
        f"{prediction.expected:{fmt}} ({prediction.low:{fmt}} to {prediction.high:{fmt}}, 80% interval){target}."
    )


class PlanRationale(BaseModel):
    summary: str = Field(min_length=1, description="Three or four sentences for the marketer: the idea of the plan and what to watch")
    channel_reasons: dict[str, str] = Field(default_factory=dict, description="channel -> one sentence on why it is in the plan")


RATIONALE_TOOL = ToolSpec("write_plan_rationale", "The summary and the channel reasons of a campaign plan.", PlanRationale)
STRATEGY_SYSTEM = (
    "You are Ava, a campaign strategist. You explain a campaign plan that has already been computed. Use only the figures in the "
    "plan facts; never invent or recompute a number. Plain, specific sentences. Brand voice: {voice}"
)


def _figures(text: str) -> set[str]:
    return {f.replace(",", "") for f in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def _narrate(gateway: LLMGateway, voice: str, facts: dict[str, Any]) -> PlanRationale:
    facts_text = json.dumps(facts, ensure_ascii=False, default=str, indent=1)
    allowed = _figures(facts_text)
    for value in list(allowed):
        try:
            number = float(value)
        except ValueError:
            continue
        if number <= 1:
            allowed.add(f"{number * 100:.0f}")  # shares may be written as percentages
        allowed.add(f"{number:.0f}")

    def validate(r: PlanRationale) -> list[str]:
        text = " ".join([r.summary, *r.channel_reasons.values()])
        invented = sorted(_figures(text) - allowed)
        unknown = sorted(set(r.channel_reasons) - {c["channel"] for c in facts["channels"]})
        problems = [f"figures not in the plan facts: {', '.join(invented)}"] if invented else []
        if unknown:
            problems.append(f"reasons for channels not in the plan: {', '.join(unknown)}")
        return problems

    result = gateway.structured(task=Task.STRATEGY, tool=RATIONALE_TOOL, system=STRATEGY_SYSTEM.format(voice=voice),
                                source=f"<plan_facts>\n{facts_text}\n</plan_facts>",
                                prompt=f"Write the plan's summary and one reason per channel. Call {RATIONALE_TOOL.name}.", validate=validate)
    return result.value


def plan_campaign(request: PlanRequest, *, source: SourcePost | None = None, settings: AgentSettings | None = None,
                  gateway: LLMGateway | None = None, now: datetime | None = None, content_history: Any = None) -> Plan:

    settings = settings or get_agent_settings()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.astimezone(ZoneInfo(request.timezone)).date()
    notes: list[str] = []
    if request.end < today:
        notes.append(f"the campaign ended before today ({today}); the plan is a what-if and its slots are in the past")
    channels = choose_channels(request)
    budget_plan, allocation_notes = allocate(request.budget, channels, request.goal.type, request.history, request.days, request.currency)
    notes += allocation_notes
    formats = formats_for(channels)
    if settings.live and gateway is None:
        gateway = LLMGateway(settings)

    content: dict[str, Any] | None = None
    if source is not None:
        result = repurpose(source, formats, request.variations, settings=settings, gateway=gateway, history=content_history)
        content = result.to_dict()
        items = [(o.format, o.variant) for o in result.outputs]
        if not result.passed:
            notes.append("some content checks failed: " + "; ".join(result.failures()[:5]))
    else:
        items = [(f, v) for f in formats for v in range(1, request.variations + 1)]
        notes.append("no blog post given: content is not generated yet; pass --blog POST.md, or add drafts to the campaign before approval")
    schedule = posting_slots(items, start=request.start, end=request.end, timezone=request.timezone, best_hours=request.history.best_hours, now=now)
    prediction = predict(request, budget_plan)
    name = request.name or (source.title if source else f"{request.goal.type.value.title()} campaign {request.start}")
    channel_choices = _channel_reasons(request, channels, budget_plan)
    summary = _offline_summary(name, request, budget_plan, prediction)
    engine = "offline" if not (content and content.get("engine") != "offline") else str(content.get("engine"))
    if settings.live and gateway is not None:
        facts = {"name": name, "goal": request.goal.model_dump(mode="json"), "budget": str(request.budget), "currency": request.currency,
                 "start": str(request.start), "end": str(request.end), "days": request.days, "segments": request.segments,
                 "allocation": [{"channel": i.channel, "amount": str(i.amount), "share": i.share} for i in budget_plan.items],
                 "channels": [c.model_dump() for c in channel_choices], "prediction": prediction.model_dump()}
        try:
            rationale = _narrate(gateway, settings.brand_voice, facts)
            summary = rationale.summary
            channel_choices = [c.model_copy(update={"reason": rationale.channel_reasons.get(c.channel, c.reason)}) for c in channel_choices]
            engine = gateway.model_for(Task.STRATEGY) if engine == "offline" else f"{engine},{gateway.model_for(Task.STRATEGY)}"
        except GatewayError as exc:
            notes.append(f"the strategy narrative fell back to the offline template ({exc.kind})")
    plan = Plan(
        name=name, goal=request.goal, kpi=request.goal.resolved_kpi, budget=request.budget, currency=request.currency, start=request.start,
        end=request.end, days=request.days, timezone=request.timezone, segments=request.segments, summary=summary,
        timeline=timeline(request, today, source is not None), channels=channel_choices, budget_allocation=budget_plan, schedule=schedule,
        contingencies=contingencies(request), prediction=prediction, content=content, engine=engine, notes=notes, history=request.history,
    )
    plan.workflow = blueprint(plan, now=now, has_source=source is not None)
    if gateway is not None and settings.live:
        plan.usage = gateway.ledger.totals()
    return plan
