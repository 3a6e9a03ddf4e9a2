"""/marketing/campaigns: create, list (filters, cursor pagination), get, update (If-Match), delete, launch, pause.

Thin: parse, authorise, call one `campaigns.lifecycle.service` function, render.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, PlainSerializer, TypeAdapter, WithJsonSchema

from campaigns.access.idempotency import request_fingerprint
from campaigns.access.roles import Permission
from campaigns.api.auth import CallerDep, CampaignId, IdempotencyKey, read, run, run_idempotent
from campaigns.api import preconditions
from campaigns.api.preconditions import etag_of
from campaigns.api.problems import PROBLEM_RESPONSES, ApiProblem
from campaigns.api.rendering import json_response
from campaigns.core.enums import CampaignStatus, CampaignType
from campaigns.core.store.models import Campaign
from campaigns.lifecycle import service

# Amounts as strings with two decimals, as the store keeps them (a float would lose cents).
Money = Annotated[Decimal, PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str, when_used="json"),
                  WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["2500.00"]}, mode="serialization")]
router = APIRouter(prefix="/marketing/campaigns", tags=["campaigns"], responses=PROBLEM_RESPONSES)
MAX_PAGE = 200


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    type: CampaignType
    status: CampaignStatus
    description: str
    channels: list[str]
    budget: Money | None
    spent: Money
    start_date: datetime | None
    end_date: datetime | None
    target_audience: dict[str, Any]
    goals: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    next_cursor: str | None = None  # pass as ?cursor= for the next page; null on the last page


PAGE = TypeAdapter(CampaignPage)

CREATE_EXAMPLES = {
    "spring": {"summary": "A conversion campaign", "value": {
        "name": "Spring sale", "type": "CONVERSION", "channels": ["email", "instagram"], "budget": "2500.00",
        "start_date": "2027-03-01T00:00:00+00:00", "end_date": "2027-03-31T00:00:00+00:00", "goals": {"revenue": 20000}}},
}
UPDATE_EXAMPLES = {"budget": {"summary": "Raise the budget", "value": {"budget": "3000.00"}}}


def _out(campaign: Campaign) -> dict[str, Any]:
    return CampaignOut.model_validate(campaign).model_dump(mode="json")


def _encode_cursor(created_at: datetime, campaign_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), campaign_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, ident = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or not isinstance(ident, str):
            raise ValueError
        return when, ident
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(422, "Invalid request", "cursor: not a cursor this API gave; pass next_cursor from the previous page as it is") from None


@router.post("", status_code=201, response_model=CampaignOut, summary="Create a campaign (a draft)")
def create(who: CallerDep, request: Request, data: Annotated[service.CampaignInput, Body(openapi_examples=CREATE_EXAMPLES)],
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def work(session):  # noqa: ANN001
        return 201, _out(service.create_campaign(session, who.merchant_id, data, who.actor))

    fingerprint = request_fingerprint("POST", request.url.path, data.model_dump_json(exclude_unset=True).encode())
    return run_idempotent(who, Permission.EDIT, idempotency_key, fingerprint, work,
                          headers=lambda body: {"ETag": etag_of(body), "Location": f"/marketing/campaigns/{body['id']}"})


@router.get("", response_model=CampaignPage, summary="List campaigns, newest first")
async def list_(who: CallerDep, status: CampaignStatus | None = None, type: CampaignType | None = None,
          search: Annotated[str | None, Query(max_length=200, description="Part of the name, any case")] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
          cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")] = None) -> Response:
    after = _decode_cursor(cursor) if cursor else None

    def work(session):  # noqa: ANN001
        # plain rows, validated and rendered in one pass: the most frequent request does no ORM loading nor double validation
        rows = service.campaign_rows(session, who.merchant_id, status, type, search, after=after, limit=limit + 1)
        last = rows[limit - 1] if len(rows) > limit else None
        return {"items": rows[:limit], "next_cursor": _encode_cursor(last["created_at"], last["id"]) if last else None}

    return json_response(PAGE, await read(who, Permission.READ, work))


@router.get("/{campaign_id}", response_model=CampaignOut, summary="Get a campaign (its ETag comes in the ETag header)")
async def get(who: CallerDep, campaign_id: CampaignId, response: Response) -> dict[str, Any]:
    body = await read(who, Permission.READ, lambda session: _out(service.get_campaign(session, who.merchant_id, campaign_id)))
    response.headers["ETag"] = etag_of(body)
    return body


@router.patch("/{campaign_id}", response_model=CampaignOut, summary="Update a campaign; If-Match with its ETag is required",
              responses=preconditions.RESPONSES)
def update(who: CallerDep, campaign_id: CampaignId, changes: Annotated[service.CampaignUpdate, Body(openapi_examples=UPDATE_EXAMPLES)], response: Response,
           if_match: preconditions.IfMatch = None) -> dict[str, Any]:
    wanted = preconditions.required(if_match, "/marketing/campaigns/{id}")
    stale = preconditions.stale("campaign")

    def work(session):  # noqa: ANN001
        current = service.get_campaign(session, who.merchant_id, campaign_id)
        if wanted != "*" and wanted != etag_of(_out(current)):
            raise stale
        # the ETag names the version read here; the update writes only if it is still that version (compare-and-set),
        # so of two PATCHes sent with the same ETag one wins and the other gets 412
        version = None if wanted == "*" else current.updated_at
        try:
            return _out(service.update_campaign(session, who.merchant_id, campaign_id, changes, who.actor, if_updated_at=version))
        except service.StaleCampaignError:
            raise stale from None

    body = run(who, Permission.EDIT, work)
    response.headers["ETag"] = etag_of(body)
    return body


@router.delete("/{campaign_id}", status_code=204, summary="Delete a draft campaign")
def delete(who: CallerDep, campaign_id: CampaignId) -> Response:
    run(who, Permission.EDIT, lambda session: service.delete_campaign(session, who.merchant_id, campaign_id, who.actor))
    return Response(status_code=204)


@router.post("/{campaign_id}/launch", response_model=CampaignOut, summary="Launch a campaign (it needs dates, a budget and channels)")
def launch(who: CallerDep, request: Request, campaign_id: CampaignId, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    return run_idempotent(who, Permission.APPROVE, idempotency_key, request_fingerprint("POST", request.url.path, b""),
                          lambda session: (200, _out(service.launch_campaign(session, who.merchant_id, campaign_id, who.actor))))


@router.post("/{campaign_id}/pause", response_model=CampaignOut, summary="Pause an active campaign")
def pause(who: CallerDep, request: Request, campaign_id: CampaignId, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    return run_idempotent(who, Permission.APPROVE, idempotency_key, request_fingerprint("POST", request.url.path, b""),
                          lambda session: (200, _out(service.pause_campaign(session, who.merchant_id, campaign_id, who.actor))))
