"""/marketing/webhooks: subscribe URLs to events, rotate secrets, the delivery log and replay (owners only).

The same services as `campaigns webhooks` and the Webhooks page. A signing secret is in the
response of the POST that creates or rotates it, and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from campaigns.access.idempotency import request_fingerprint
from campaigns.access.roles import Permission
from campaigns.api.auth import CallerDep, IdempotencyKey, run, run_idempotent
from campaigns.api.problems import PROBLEM_RESPONSES
from campaigns.core.crypto import cipher_from_settings
from campaigns.core.outbox import EVENT_TYPES
from campaigns.integrations import delivery, endpoints

router = APIRouter(prefix="/marketing/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)

EndpointId = Annotated[str, Path(min_length=1, max_length=40, description="A webhook endpoint id (ep_...)")]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=8, max_length=2000, description="The receiver's https URL")
    events: list[Literal[tuple(EVENT_TYPES)]] = Field(default_factory=list, max_length=len(EVENT_TYPES),  # type: ignore[valid-type]
                                                      description="Event types to send; empty for all")
    description: str = Field(default="", max_length=200)


class EndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    description: str
    rotating: bool = Field(description="A rotated secret's predecessor still signs beside it (for 24 hours)")


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_...): shown only in this response")


class SecretOut(BaseModel):
    id: str
    secret: str = Field(description="The new signing secret; the previous one also signs for 24 hours")


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: str
    event_id: str = Field(description="The webhook-id receivers de-duplicate by")
    event_type: str
    status: Literal["PENDING", "DELIVERED", "FAILED"]
    attempts: int
    last_status_code: int | None
    last_error: str | None


@router.get("/events", response_model=dict[str, str], summary="The event types an endpoint can subscribe to")
def events(who: CallerDep) -> dict[str, str]:
    return run(who, Permission.READ, lambda session: dict(EVENT_TYPES))


@router.post("", status_code=201, response_model=EndpointCreated, summary="Subscribe a URL to events (the secret is in this response only)")
def create(who: CallerDep, request: Request, body: Annotated[EndpointIn, Body(openapi_examples={"crm": {"value": {
        "url": "https://crm.example.com/hooks/campaigns", "events": ["post.published", "campaign.status_changed"]}}})],
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    cipher = cipher_from_settings(request.app.state.settings)

    def work(session):  # noqa: ANN001
        endpoint, secret = endpoints.add_endpoint(session, who.merchant_id, body.url, list(body.events), actor=who.actor, cipher=cipher,
                                                  description=body.description)
        return 201, {**endpoints.endpoint_fields(endpoint), "secret": secret.secret}

    fingerprint = request_fingerprint("POST", request.url.path, body.model_dump_json().encode())
    return run_idempotent(who, Permission.ADMIN, idempotency_key, fingerprint, work)


@router.get("", response_model=list[EndpointOut], summary="The merchant's endpoints")
def list_(who: CallerDep) -> list[dict]:
    return run(who, Permission.ADMIN, lambda session: [endpoints.endpoint_fields(e) for e in endpoints.list_endpoints(session, who.merchant_id)])


@router.delete("/{endpoint_id}", status_code=204, summary="Remove an endpoint and its delivery log")
def remove(who: CallerDep, endpoint_id: EndpointId) -> JSONResponse:
    run(who, Permission.ADMIN, lambda session: endpoints.remove_endpoint(session, who.merchant_id, endpoint_id, actor=who.actor))
    return JSONResponse(None, status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretOut, summary="A new signing secret (the old one signs beside it for 24 hours)")
def rotate(who: CallerDep, request: Request, endpoint_id: EndpointId) -> dict:
    cipher = cipher_from_settings(request.app.state.settings)
    secret = run(who, Permission.ADMIN, lambda session: endpoints.rotate_secret(session, who.merchant_id, endpoint_id, actor=who.actor, cipher=cipher))
    return {"id": secret.endpoint_id, "secret": secret.secret}


@router.get("/deliveries", response_model=list[DeliveryOut], summary="The delivery log, newest first")
def deliveries(who: CallerDep, status: Literal["PENDING", "DELIVERED", "FAILED"] | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict]:
    def work(session):  # noqa: ANN001
        return [{"id": d.id, "endpoint_id": d.endpoint_id, "event_id": e.event_id, "event_type": e.type, "status": d.status, "attempts": d.attempts,
                 "last_status_code": d.last_status_code, "last_error": d.last_error}
                for d, e in delivery.deliveries(session, who.merchant_id, status=status, limit=limit)]
    return run(who, Permission.ADMIN, work)


@router.post("/deliveries/{delivery_id}/replay", status_code=202, summary="Send one delivery again (same id and body)")
def replay(who: CallerDep, delivery_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict:
    run(who, Permission.ADMIN, lambda session: delivery.replay(session, who.merchant_id, delivery_id, actor=who.actor, now=datetime.now(UTC)))
    return {"status": "queued"}
