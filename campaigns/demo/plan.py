"""The demo's planned campaign: one plan by Ava (offline engine), saved with its workflow.

So the Orchestration page and `campaigns workflow status` have something to show on a fresh
demo. Offline on purpose: demo data never calls a model, whatever the environment holds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from agents.ava.execution import create_campaign_from_plan
from agents.ava.models import Goal, PlanRequest
from agents.ava.planner import plan_campaign
from agents.settings import AgentSettings
from campaigns.core.enums import CampaignType

PLANNED_NAME = "Winter layering push (planned by Ava)"


def plan_demo_campaign(session: Session, merchant_id: str, as_of: date, timezone: str) -> str:
    """Plan a CONVERSION campaign starting a week after `as_of`; returns the new campaign's id."""

    now = datetime.combine(as_of, time(9), UTC)
    request = PlanRequest(goal=Goal(type=CampaignType.CONVERSION, target=400), budget=Decimal("12000.00"), currency="USD",
                          start=as_of + timedelta(days=7), end=as_of + timedelta(days=36), timezone=timezone, segments=["Customers"],
                          name=PLANNED_NAME)
    plan = plan_campaign(request, settings=AgentSettings(llm_engine="offline"), now=now)
    campaign, _ = create_campaign_from_plan(session, merchant_id, plan, actor="demo-data", now=now)
    return campaign.id
