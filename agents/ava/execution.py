"""Ava's side of the workflow engine: a plan laid out as steps, the campaign and workflow made from it, and the engine run with her handlers.

The engine (`campaigns.workflows.engine`) knows nothing of plans, models or step types; this
module gives it Ava's plan as JSON and its steps (`blueprint`), her step handlers
(`agents.ava.steps.HANDLERS`) and settings, and her rules for a person's edit of a step.

Steps of a campaign (``step_order``):

    0 plan              DONE at creation; holds the plan and the workflow's state (active, paused, cancelled)
    1 generate_content  save the plan's content (or repurpose the post) as DRAFT campaign contents
    2 await_approval    wait until every draft is approved or rejected; escalate at the flight's start
    3 schedule          queue approved posts at their slots, make approved emails email campaigns at theirs, export the ads files
    4 publish           wait until the social worker has published them; failures go to a person
    5 monitor           at mid-flight: pacing, return, KPI and failures against the contingency triggers
    6 rebalance         if a trigger fired: recommend a split of the remaining budget
    7 monitor (final)   a day after the flight: results against the prediction
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from agents.ava.edits import check_step_changes, editable_fields
from agents.ava.models import Plan
from agents.ava.steps import HANDLERS
from agents.leo.store import approve_campaign_content
from agents.leo.voice import BrandVoice
from agents.settings import AgentSettings, get_agent_settings
from agents.usage import campaign_usage, persist
from campaigns.core.enums import WorkflowStepStatus as S
from campaigns.core.merchants import get_brand_voice
from campaigns.core.store.models import BudgetAllocation, CampaignWorkflow
from campaigns.lifecycle.service import CampaignInput, create_campaign
from campaigns.workflows import engine
from campaigns.workflows.models import StepSpec, WorkflowReport


def flight(plan: Plan) -> tuple[datetime, datetime]:
    zone = ZoneInfo(plan.timezone)
    start = datetime.combine(plan.start, time(0), zone).astimezone(UTC)
    end = datetime.combine(plan.end + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def blueprint(plan: Plan, *, now: datetime, has_source: bool) -> list[dict[str, Any]]:
    """Steps 1-7 with their configs (step 0 holds the plan itself)."""
    start, end = flight(plan)
    now = now.astimezone(UTC)
    middle = start + (end - start) / 2
    first_slot = min((datetime.fromisoformat(s.at) for s in plan.schedule), default=start)
    formats = sorted({c.format for c in plan.channels}, key=["x", "linkedin", "facebook", "instagram", "email", "ads"].index)
    variations = max((o.get("variant", 1) for o in (plan.content or {}).get("outputs", [])), default=2)
    iso = lambda d: d.isoformat()  # noqa: E731
    return [
        {"order": 1, "type": "generate_content", "due_at": iso(now), "depends_on": [0], "formats": formats, "variations": variations,
         "content_from_plan": plan.content is not None, "has_source": has_source},
        {"order": 2, "type": "await_approval", "due_at": iso(now), "depends_on": [1], "escalate_after": iso(start)},
        {"order": 3, "type": "schedule", "due_at": iso(now), "depends_on": [2], "slots": [s.model_dump() for s in plan.schedule]},
        {"order": 4, "type": "publish", "due_at": iso(max(first_slot, now)), "depends_on": [3]},
        {"order": 5, "type": "monitor", "due_at": iso(max(middle, now)), "depends_on": [3], "final": False},
        {"order": 6, "type": "rebalance", "due_at": iso(max(middle, now)), "depends_on": [5]},
        {"order": 7, "type": "monitor", "due_at": iso(max(end + timedelta(days=1), now)), "depends_on": [4, 6], "final": True},
    ]


def create_workflow(session: Session, merchant_id: str, campaign_id: str, plan: Plan, *, actor: str, now: datetime | None = None,
                    source_markdown: str | None = None, source_name: str | None = None) -> list[CampaignWorkflow]:
    """The workflow of `plan` for an existing campaign; the post to repurpose (`source_markdown`) when the plan holds no content."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    specs = []
    for step in blueprint(plan, now=now, has_source=source_markdown is not None or plan.content is not None):
        order, step_type = step.pop("order"), step.pop("type")
        status, result = S.PENDING, {}
        if step_type == "generate_content":
            if source_markdown is not None and plan.content is None:
                step.update(source_markdown=source_markdown, source_name=source_name)
                stored = get_brand_voice(session, merchant_id)
                if stored is not None:  # the step writes in the voice the merchant had when the workflow was made
                    step["brand_voice"] = BrandVoice.from_settings("", stored).to_dict()
            elif plan.content is None:
                status, result = S.SKIPPED, {"reason": "no post to repurpose; add drafts to the campaign yourself"}
        specs.append(StepSpec(order, step_type, step, status, result))
    return engine.create_workflow(session, merchant_id, campaign_id, plan.to_json_dict(), specs, actor=actor, now=now)


def create_campaign_from_plan(session: Session, merchant_id: str, plan: Plan, *, actor: str, now: datetime | None = None,
                              source_markdown: str | None = None, source_name: str | None = None, name: str | None = None):
    """A DRAFT campaign with the plan's channels, budget, dates and allocation, and its workflow."""
    start, end = flight(plan)
    data = CampaignInput(
        name=name or plan.name[:200], type=plan.goal.type, description=plan.summary[:2000], channels=[c.channel for c in plan.channels],
        budget=plan.budget, start_date=start, end_date=end, target_audience={"segments": plan.segments},
        goals={"kpi": plan.kpi, "target": plan.goal.target, "prediction": plan.prediction.model_dump(mode="json")},
    )
    campaign = create_campaign(session, merchant_id, data, actor)
    for item in plan.budget_allocation.items:
        session.add(BudgetAllocation(merchant_id=merchant_id, campaign_id=campaign.id, channel=item.channel, allocated=item.amount,
                                     recommendation=f"plan ({item.source})", period_start=plan.start, period_end=plan.end))
    steps = create_workflow(session, merchant_id, campaign.id, plan, actor=actor, now=now, source_markdown=source_markdown, source_name=source_name)
    persist(session, merchant_id, plan.usage, actor=actor, purpose="plan", campaign_id=campaign.id)
    return campaign, steps


def run_due_steps(store_url: str, now: datetime | None = None, *, merchant_id: str | None = None, settings: AgentSettings | None = None,
                  worker_id: str | None = None) -> WorkflowReport:
    """Run every due, ready step once with Ava's handlers; what the Dagster sensor and `campaigns workflow run` call."""
    return engine.run_due_steps(store_url, now, handlers=HANDLERS, settings=settings or get_agent_settings(), merchant_id=merchant_id,
                                worker_id=worker_id)


def edit_step(session: Session, merchant_id: str, campaign_id: str, order: int, changes: dict[str, Any], actor: str) -> CampaignWorkflow:
    """A person's change to a step, checked against what Ava's step types allow (`agents.ava.edits`)."""
    return engine.edit_step(session, merchant_id, campaign_id, order, changes, actor, check=check_step_changes, editable=editable_fields)


def status(session: Session, merchant_id: str, campaign_id: str) -> dict[str, Any]:
    """The engine's status of the workflow plus the campaign's LLM cost (``usage``)."""
    return {**engine.status(session, merchant_id, campaign_id), "usage": campaign_usage(session, merchant_id, campaign_id)}


def approve(session: Session, merchant_id: str, content_id: int, actor: str, note: str = "") -> dict[str, Any]:
    """Approve a campaign content (the workflow's await_approval step sees it on its next run)."""
    return approve_campaign_content(session, merchant_id, content_id, actor, note)
