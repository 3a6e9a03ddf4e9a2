"""/marketing/analytics: a campaign's daily metrics and ROI by attribution model, attribution by channel, optimisation suggestions.

Reads the served marts through `campaigns.warehouse.analytics`; the campaign id is checked against the
key's merchant first, so another merchant's campaign is a 404 like any unknown id.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, TypeAdapter
from starlette.concurrency import run_in_threadpool

from campaigns.access.roles import Permission, require
from campaigns.api.auth import CallerDep, CampaignId, read, run
from campaigns.api.problems import PROBLEM_RESPONSES
from campaigns.api.rendering import json_response
from campaigns.budget import apply as allocations
from campaigns.lifecycle import service as lifecycle
from campaigns.warehouse import analytics

router = APIRouter(prefix="/marketing/analytics", tags=["analytics"], responses=PROBLEM_RESPONSES)
ModelQuery = Annotated[str | None, Query(max_length=40, description="Attribution model (e.g. last_touch, markov, shapley); all when omitted",
                                          examples=["markov"])]


class RoiRow(BaseModel):
    model: str
    model_family: str | None = None
    channel: str
    spend: float | None
    conversions: float | None
    revenue: float | None
    roas: float | None
    roi: float | None


class AttributionRow(BaseModel):
    model: str
    model_family: str | None = None
    channel: str
    conversions: float | None
    revenue: float | None


class MetricsRow(BaseModel):
    activity_date: date
    channel: str
    attribution_model: str | None
    impressions: float | None
    clicks: float | None
    conversions: float | None
    spend: float | None
    revenue: float | None
    ctr: float | None
    cvr: float | None
    cpc: float | None
    cpa: float | None
    roas: float | None
    roi: float | None


class Suggestion(BaseModel):
    channel: str
    allocated: float
    recommended_allocation: float | None
    roi: float | None
    recommendation: str


ROI_ROWS, METRICS_ROWS = TypeAdapter(list[RoiRow]), TypeAdapter(list[MetricsRow])


def _check(who, campaign_id: str):  # noqa: ANN001, ANN202
    return lambda session: lifecycle.check_campaign(session, who.merchant_id, campaign_id)


@router.get("/campaigns/{campaign_id}/roi", response_model=list[RoiRow], summary="A campaign's spend, revenue, ROAS and ROI per channel and model")
async def roi(who: CallerDep, request: Request, campaign_id: CampaignId, model: ModelQuery = None) -> Response:
    await read(who, Permission.READ, _check(who, campaign_id))
    settings = request.app.state.settings
    rows = analytics.loaded_campaign_roi(settings, who.merchant_id, campaign_id, model)
    if rows is None:  # a snapshot this process has not read yet, or the PostgreSQL warehouse: I/O, so in a worker thread
        rows = await run_in_threadpool(analytics.campaign_roi, settings, who.merchant_id, campaign_id, model)
    return json_response(ROI_ROWS, rows)


@router.get("/campaigns/{campaign_id}/metrics", response_model=list[MetricsRow], summary="A campaign's daily performance")
def metrics(who: CallerDep, request: Request, campaign_id: CampaignId, start: date | None = None, end: date | None = None,
            model: ModelQuery = None) -> Response:
    run(who, Permission.READ, _check(who, campaign_id))
    return json_response(METRICS_ROWS, analytics.campaign_daily_metrics(request.app.state.settings, who.merchant_id, campaign_id, start, end, model))


@router.get("/attribution", response_model=list[AttributionRow], summary="Conversions and revenue attributed to each channel, by model")
def attribution(who: CallerDep, request: Request, model: ModelQuery = None) -> list[dict]:
    require(who.role, Permission.READ)
    return analytics.attribution_by_channel(request.app.state.settings, who.merchant_id, model)


@router.get("/suggestions", response_model=list[Suggestion], summary="Optimisation suggestions: the latest recommended budget per channel")
def suggestions(who: CallerDep) -> list[Suggestion]:
    return run(who, Permission.READ, lambda session: [
        Suggestion(channel=r.channel, allocated=float(r.allocated), roi=r.roi, recommendation=r.recommendation,
                   recommended_allocation=float(r.recommended_allocation) if r.recommended_allocation is not None else None)
        for r in allocations.latest_merchant_allocations(session, who.merchant_id)])
