"""/marketing/budget: a campaign's allocation, its rebalance (recommend, or apply with the approve role), the merchant's recommendations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from campaigns.access.idempotency import request_fingerprint
from campaigns.access.roles import Permission
from campaigns.api.auth import CallerDep, CampaignId, IdempotencyKey, run, run_idempotent
from campaigns.api.problems import PROBLEM_RESPONSES
from campaigns.budget import apply as allocations
from campaigns.budget.recommend import rebalance as rebalance_campaign
from campaigns.lifecycle import service as lifecycle

router = APIRouter(prefix="/marketing/budget", tags=["budget"], responses=PROBLEM_RESPONSES)


class Allocation(BaseModel):
    campaign_id: str
    channels: dict[str, float]  # channel -> budget per 30 days


class RebalanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apply: bool = Field(default=False, description="Write the recommended split (approve role; audited; undo with `campaigns rebalance --undo`)")
    max_change: float = Field(default=0.3, gt=0, le=1, description="Largest move per channel, as a fraction of its current budget")


class ChannelMove(BaseModel):
    channel: str
    before: float
    after: float
    marginal_roas: float


class RebalanceOut(BaseModel):
    campaign_id: str
    status: str
    changes: list[ChannelMove]
    moves: list[str]
    predicted_gain: float
    predicted_revenue: float
    current_revenue: float
    applied_rebalance_id: int | None = None


class Recommendation(BaseModel):
    channel: str
    allocated: float
    recommended_allocation: float | None
    recommendation: str


@router.get("/campaigns/{campaign_id}/allocation", response_model=Allocation, summary="A campaign's current budget per channel")
def allocation(who: CallerDep, campaign_id: CampaignId) -> Allocation:
    def work(session):  # noqa: ANN001
        lifecycle.get_campaign(session, who.merchant_id, campaign_id)
        return Allocation(campaign_id=campaign_id, channels=allocations.current_allocations(session, who.merchant_id, campaign_id))

    return run(who, Permission.READ, work)


@router.post("/campaigns/{campaign_id}/rebalance", response_model=RebalanceOut,
             summary="The revenue-optimal split of a campaign's budget; with apply=true, written (approve role)")
def rebalance(who: CallerDep, request: Request, campaign_id: CampaignId,
              body: Annotated[RebalanceRequest, Body(openapi_examples={"preview": {"value": {"apply": False, "max_change": 0.3}}})] = RebalanceRequest(),
              idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def work(session):  # noqa: ANN001
        lifecycle.get_campaign(session, who.merchant_id, campaign_id)
        plan, applied = rebalance_campaign(session, request.app.state.settings, who.merchant_id, campaign_id, who.actor,
                                           apply=body.apply, max_change=body.max_change)
        return 200, RebalanceOut(campaign_id=plan.campaign_id, status=plan.status, moves=plan.moves, predicted_gain=plan.predicted_gain,
                                 predicted_revenue=plan.predicted_revenue, current_revenue=plan.current_revenue, applied_rebalance_id=applied,
                                 changes=[ChannelMove(channel=c.channel, before=c.before, after=c.after, marginal_roas=c.marginal_roas)
                                          for c in plan.changes])

    permission = Permission.APPROVE if body.apply else Permission.READ
    return run_idempotent(who, permission, idempotency_key, request_fingerprint("POST", request.url.path, body.model_dump_json().encode()), work)


@router.get("/recommendations", response_model=list[Recommendation], summary="The merchant's latest recommended budget per channel")
def recommendations(who: CallerDep) -> list[Recommendation]:
    return run(who, Permission.READ, lambda session: [
        Recommendation(channel=r.channel, allocated=float(r.allocated), recommendation=r.recommendation,
                       recommended_allocation=float(r.recommended_allocation) if r.recommended_allocation is not None else None)
        for r in allocations.latest_merchant_allocations(session, who.merchant_id)])
