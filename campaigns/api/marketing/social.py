"""/marketing/social: schedule a post, the publishing queue, one queued post, publish now, a post's fetched metrics.

Scheduling text through the API counts as the key's approval of that text, exactly as
`campaigns social schedule` does for its author; the worker publishes it when due. Publishing
now makes the post due now (`scheduling.publish_now`): the same worker publishes it, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from campaigns.access.idempotency import request_fingerprint
from campaigns.access.roles import Permission
from campaigns.api.auth import CallerDep, IdempotencyKey, run, run_idempotent
from campaigns.api.problems import PROBLEM_RESPONSES, ApiProblem
from campaigns.core.enums import QueueStatus
from campaigns.lifecycle import service as lifecycle
from campaigns.social import scheduling
from campaigns.warehouse import analytics

router = APIRouter(prefix="/marketing/social", tags=["social"], responses=PROBLEM_RESPONSES)
PostId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A queued or published post's id")]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account_id: int = Field(ge=1, le=2**31 - 1, description="A connected account (`campaigns accounts list`)")
    text: str = Field(min_length=1, max_length=20_000, description="The post; separate thread parts with a line holding only ---")
    scheduled_at: AwareDatetime = Field(description="When to publish, with a time zone offset")
    campaign_id: str | None = Field(default=None, max_length=40, description="The campaign it belongs to, for UTM tags and reporting")


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    campaign_id: str | None
    text: str
    status: QueueStatus
    scheduled_at: datetime
    attempts: int
    published_at: datetime | None
    platform_post_id: str | None
    last_error: str | None


EXAMPLES = {"post": {"value": {"account_id": 1, "text": "Our spring sale starts today.", "scheduled_at": "2027-03-01T09:00:00+01:00"}}}


@router.post("/posts", status_code=201, response_model=PostOut, summary="Schedule a post (scheduling your own text counts as your approval)")
def schedule(who: CallerDep, request: Request, post: Annotated[PostIn, Body(openapi_examples=EXAMPLES)],
             idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def work(session):  # noqa: ANN001
        if post.campaign_id is not None:
            lifecycle.get_campaign(session, who.merchant_id, post.campaign_id)  # another merchant's campaign is not found
        item = scheduling.schedule_text(session, who.merchant_id, account_id=post.account_id, text=post.text, scheduled_at=post.scheduled_at,
                                        author=who.actor, campaign_id=post.campaign_id)
        return 201, PostOut.model_validate(item).model_dump(mode="json")

    fingerprint = request_fingerprint("POST", request.url.path, post.model_dump_json().encode())
    return run_idempotent(who, Permission.EDIT, idempotency_key, fingerprint, work)


@router.get("/queue", response_model=list[PostOut], summary="The publishing queue, soonest first")
def queue(who: CallerDep, status: QueueStatus | None = None) -> list[PostOut]:
    return run(who, Permission.READ, lambda session: [PostOut.model_validate(i) for i in scheduling.list_queue(session, who.merchant_id, status)])


@router.get("/posts/{post_id}", response_model=PostOut, summary="One queued or published post, with its status and last error")
def get(who: CallerDep, post_id: PostId) -> PostOut:
    return run(who, Permission.READ, lambda session: PostOut.model_validate(scheduling.get_item(session, who.merchant_id, post_id)))


class PostMetrics(BaseModel):
    impressions: int | None
    likes: int | None
    shares: int | None
    comments: int | None
    clicks: int | None
    engagements: int = Field(description="likes + shares + comments + clicks (a counter the platform does not report counts as 0)")
    engagement_rate: float | None = Field(description="engagements per impression; null without impressions")
    fetched_at: datetime = Field(description="When the counters were read from the platform")
    sandbox: bool = Field(description="The post went to the sandbox outbox: its counters are simulated")


class PostAnalytics(BaseModel):
    id: int
    status: QueueStatus
    platform_post_id: str | None
    published_at: datetime | None
    metrics: PostMetrics | None = Field(description="null until the platform's counters have been fetched (the daily post_metrics ingest)")


@router.post("/posts/{post_id}/publish", status_code=202, response_model=PostOut,
             summary="Publish now: the post becomes due now and the publishing worker sends it once (asking again changes nothing)",
             responses={409: {"description": "The post failed, was cancelled, waits for review, or its campaign is paused",
                              "content": {"application/problem+json": {}}}})
def publish_now(who: CallerDep, request: Request, post_id: PostId, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def work(session):  # noqa: ANN001
        try:
            item = scheduling.publish_now(session, who.merchant_id, post_id, actor=who.actor)
        except scheduling.PostStateError as exc:
            raise ApiProblem(409, "Conflict", str(exc)) from None
        return 202, PostOut.model_validate(item).model_dump(mode="json")

    return run_idempotent(who, Permission.APPROVE, idempotency_key, request_fingerprint("POST", request.url.path, b""), work)


@router.get("/posts/{post_id}/analytics", response_model=PostAnalytics, summary="A post's counters as last fetched from its platform")
def post_analytics(who: CallerDep, request: Request, post_id: PostId) -> PostAnalytics:
    item = run(who, Permission.READ, lambda session: PostOut.model_validate(scheduling.get_item(session, who.merchant_id, post_id)))
    metrics = analytics.post_metrics(request.app.state.settings, who.merchant_id, post_id)
    return PostAnalytics(id=item.id, status=item.status, platform_post_id=item.platform_post_id, published_at=item.published_at,
                         metrics=PostMetrics.model_validate(metrics) if metrics else None)
