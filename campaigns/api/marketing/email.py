"""/marketing/email: create an email campaign, read it with its send counts, change its targeting (If-Match), send it, list templates.

Sending through the API snapshots the recipients (`recipients.prepare_send`) and leaves delivery to the
email worker, which sends every due recipient once (the same ledger as `campaigns email send`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from campaigns.access.idempotency import request_fingerprint
from campaigns.access.roles import Permission
from campaigns.api.auth import CallerDep, IdempotencyKey, run, run_idempotent
from campaigns.api import preconditions
from campaigns.api.preconditions import etag_of
from campaigns.api.problems import PROBLEM_RESPONSES, ApiProblem
from campaigns.core.enums import EmailCampaignStatus
from campaigns.email import broadcasts, config, recipients, templates
from campaigns.email.errors import EmailCampaignLockedError, StaleEmailCampaignError
from campaigns.lifecycle import service as lifecycle

router = APIRouter(prefix="/marketing/email", tags=["email"], responses=PROBLEM_RESPONSES)
EmailId = Annotated[int, Path(ge=1, le=2**31 - 1, description="An email campaign id")]


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: str = Field(min_length=1, max_length=40)
    segment_id: int = Field(ge=1, le=2**31 - 1, description="A saved segment (the audience)")
    subject: str = Field(min_length=1, max_length=300)
    preview_text: str = Field(default="", max_length=150)
    template_name: str | None = Field(default=None, max_length=200)
    send_window_hours: int | None = Field(default=None, ge=1, le=72, description="Send each contact at their best hour within this window")


class EmailOut(BaseModel):
    id: int
    campaign_id: str | None
    segment_id: int | None
    template_id: int | None
    subject: str
    preview_text: str
    status: EmailCampaignStatus
    send_window_hours: int | None
    created_at: datetime
    updated_at: datetime
    counts: dict[str, int]


class EmailPatch(BaseModel):
    """Only the fields sent change; send_window_hours null sends to everyone at once."""

    model_config = ConfigDict(extra="forbid")

    segment_id: int = Field(default=None, ge=1, le=2**31 - 1, description="A saved segment (the audience)")  # type: ignore[assignment]
    subject: str = Field(default=None, min_length=1, max_length=300)  # type: ignore[assignment]
    preview_text: str = Field(default=None, max_length=150)  # type: ignore[assignment]
    send_window_hours: int | None = Field(default=None, ge=1, le=72, description="Send each contact at their best hour within this window")


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    subject: str
    category: str
    description: str


EXAMPLES = {"email": {"value": {"campaign_id": "cmp_1a2b3c4d", "segment_id": 1, "subject": "Spring is here", "preview_text": "20% off this week"}}}
PATCH_EXAMPLES = {"targeting": {"summary": "Another segment, a 12-hour send window", "value": {"segment_id": 2, "send_window_hours": 12}},
                  "subject": {"summary": "A new subject line", "value": {"subject": "Spring is here: 20% off"}}}


def _out(session, merchant_id: str, email_id: int) -> dict:  # noqa: ANN001
    ec = broadcasts.get_email_campaign(session, merchant_id, email_id)
    return EmailOut(id=ec.id, campaign_id=ec.campaign_id, segment_id=ec.segment_id, template_id=ec.template_id, subject=ec.subject,
                    preview_text=ec.preview_text, status=ec.status, send_window_hours=ec.send_window_hours, created_at=ec.created_at, updated_at=ec.updated_at,
                    counts=broadcasts.campaign_counts(session, merchant_id, ec.id)).model_dump(mode="json")


@router.post("/campaigns", status_code=201, response_model=EmailOut, summary="Create an email campaign (a draft; your subject counts as approved by you)")
def create(who: CallerDep, request: Request, email: Annotated[EmailIn, Body(openapi_examples=EXAMPLES)],
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def work(session):  # noqa: ANN001
        lifecycle.get_campaign(session, who.merchant_id, email.campaign_id)  # another merchant's campaign is not found
        ec = broadcasts.create_email_campaign(session, who.merchant_id, actor=who.actor, **email.model_dump())
        return 201, _out(session, who.merchant_id, ec.id)

    return run_idempotent(who, Permission.EDIT, idempotency_key, request_fingerprint("POST", request.url.path, email.model_dump_json().encode()), work,
                          headers=lambda body: {"ETag": etag_of(body)})


@router.get("/campaigns/{email_id}", response_model=EmailOut, summary="An email campaign with its recipients' counts by status (its ETag in the ETag header)")
def get(who: CallerDep, email_id: EmailId, response: Response) -> dict:
    body = run(who, Permission.READ, lambda session: _out(session, who.merchant_id, email_id))
    response.headers["ETag"] = etag_of(body)
    return body


@router.patch("/campaigns/{email_id}", response_model=EmailOut,
              summary="Change the targeting (segment, send window) or subject and preview text of a DRAFT or SCHEDULED email; If-Match required",
              responses={**preconditions.RESPONSES, 409: {"description": "Its sending started: it can no longer change",
                                                          "content": {"application/problem+json": {}}}})
def update(who: CallerDep, email_id: EmailId, changes: Annotated[EmailPatch, Body(openapi_examples=PATCH_EXAMPLES)], response: Response,
           if_match: preconditions.IfMatch = None) -> dict:
    wanted = preconditions.required(if_match, "/marketing/email/campaigns/{id}")
    stale = preconditions.stale("email campaign")

    def work(session):  # noqa: ANN001
        current = _out(session, who.merchant_id, email_id)
        if wanted != "*" and wanted != etag_of(current):
            raise stale
        # the ETag names the version read here; the service writes only while it is still that version (compare-and-set)
        version = None if wanted == "*" else broadcasts.get_email_campaign(session, who.merchant_id, email_id).updated_at
        try:
            broadcasts.update_email_campaign(session, who.merchant_id, email_id, changes.model_dump(exclude_unset=True), actor=who.actor,
                                             if_updated_at=version)
        except StaleEmailCampaignError:
            raise stale from None
        except EmailCampaignLockedError as exc:
            raise ApiProblem(409, "Conflict", str(exc)) from None
        return _out(session, who.merchant_id, email_id)

    body = run(who, Permission.EDIT, work)
    response.headers["ETag"] = etag_of(body)
    return body


@router.post("/campaigns/{email_id}/send", status_code=202, response_model=EmailOut,
             summary="Send: snapshot the recipients now; the email worker delivers each once")
def send(who: CallerDep, request: Request, email_id: EmailId, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    settings = request.app.state.settings

    def work(session):  # noqa: ANN001
        ec = broadcasts.get_email_campaign(session, who.merchant_id, email_id)
        if ec.status in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
            config.check_config(settings, settings.email_provider)  # a send that could not start must not take the snapshot either
            recipients.prepare_send(session, who.merchant_id, email_id, who.actor, provider=settings.email_provider)
        return 202, _out(session, who.merchant_id, email_id)

    return run_idempotent(who, Permission.APPROVE, idempotency_key, request_fingerprint("POST", request.url.path, b""), work)


@router.get("/templates", response_model=list[TemplateOut], summary="The merchant's email templates")
def list_templates(who: CallerDep) -> list[TemplateOut]:
    return run(who, Permission.READ, lambda session: [TemplateOut.model_validate(t) for t in templates.list_templates(session, who.merchant_id)])
