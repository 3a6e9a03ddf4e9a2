"""/marketing/content: repurpose a post into drafts (Leo), variations of one draft or text, a platform preview.

Thin: parse, authorise, call `agents.leo.service` (what `campaigns repurpose` does: the offline engine unless a
model is configured, the merchant's brand voice, drafts stored as DRAFT to approve) or the publishers'
previews (what the app shows). Drafts come back with their ids (rc-ID; cc-ID with a campaign), format,
angle, the text a person approves and its checks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.leo import service as leo
from agents.leo.performance import warehouse_history
from agents.leo.repurpose import MAX_VARIATIONS
from agents.limits import FORMATS, SOCIAL_FORMATS
from agents.settings import get_agent_settings
from agents.source import parse_post
from campaigns.access.idempotency import request_fingerprint
from campaigns.access.roles import Permission, require
from campaigns.api.auth import CallerDep, IdempotencyKey, run_idempotent
from campaigns.api.problems import PROBLEM_RESPONSES
from publishers import build_publishers
from publishers.base import SocialPost

router = APIRouter(prefix="/marketing/content", tags=["content"], responses=PROBLEM_RESPONSES)
Format = Literal[FORMATS]  # type: ignore[valid-type]
MAX_TEXT = 200_000


class SourceFields(BaseModel):
    """The post: its `text` (Markdown with front matter, HTML or plain text), or `repurposed_id`, a stored draft's text."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT, description="The post: Markdown (front matter: title, url, tags), HTML or plain text")
    filename: str | None = Field(default=None, max_length=200, description="Its file name, to tell Markdown from HTML (post.md, post.html)")
    url: str | None = Field(default=None, max_length=2000, description="The post's public URL (the drafts link to it with UTM tags)")
    repurposed_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Instead of text: a stored draft (rc-ID) to start from")
    campaign_id: str | None = Field(default=None, max_length=40, description="Store the drafts as this campaign's contents too (cc-ID)")
    save: bool = Field(default=True, description="Store the drafts as DRAFT (to approve); false only returns them")

    @model_validator(mode="after")
    def _one_source(self) -> SourceFields:
        if (self.text is None) == (self.repurposed_id is None):
            raise ValueError("give the post as text, or a stored draft as repurposed_id (one of them)")
        return self


class RepurposeIn(SourceFields):
    formats: list[Format] = Field(default_factory=lambda: list(FORMATS), min_length=1, max_length=len(FORMATS))  # type: ignore[valid-type]
    variations: int = Field(default=3, ge=1, le=MAX_VARIATIONS, description="Variants per format, each with its own angle")


class VariationsIn(SourceFields):
    format: Format  # type: ignore[valid-type]
    count: int = Field(default=3, ge=1, le=MAX_VARIATIONS, description="How many variations")


class CheckOut(BaseModel):
    check: str
    ok: bool
    detail: str


class DraftOut(BaseModel):
    id: str | None = Field(description="rc-ID of the stored draft (approve it with `campaigns approve rc-ID`); null when not saved")
    repurposed_id: int | None
    content_id: int | None = Field(description="The campaign content (cc-ID) when stored with a campaign")
    format: str
    variant: int
    angle: str
    engine: str
    text: str = Field(description="The exact text a person approves")
    fields: dict[str, Any] = Field(description="The format's own fields: subject, thread, hashtags, headlines, ...")
    checks: list[CheckOut]
    notes: list[str]


class SourceOut(BaseModel):
    title: str
    url: str | None
    source_hash: str
    sentences: int


class RepurposeOut(BaseModel):
    engine: str = Field(description="offline, or the model(s) used")
    utm_campaign: str
    source: SourceOut
    drafts: list[DraftOut]
    distinct: dict[str, CheckOut] = Field(description="Per format: are the variants different enough")
    passed: bool = Field(description="Every check of every draft passed")
    notes: list[str]
    usage: dict[str, Any]
    saved: bool


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Literal[SOCIAL_FORMATS]  # type: ignore[valid-type]
    text: str = Field(min_length=1, max_length=20_000, description="The post; X thread parts are separated by a line holding only ---")
    media: list[Annotated[str, Field(max_length=2000)]] = Field(default_factory=list, max_length=10, description="Image URLs")


class IssueOut(BaseModel):
    field: str
    message: str


class PreviewOut(BaseModel):
    platform: str
    html: str = Field(description="Escaped HTML that looks like the platform's rendering (inline styles only)")
    issues: list[IssueOut] = Field(description="What would make the platform refuse it as it is (empty when fine)")


POST = ("---\ntitle: Five trail-running habits that stop injuries\nurl: https://example.com/blog/trail-habits\n---\n\n"
        "Most trail injuries come from doing too much too soon. Add no more than 10% distance a week. ...")
REPURPOSE_EXAMPLES = {"post": {"summary": "A Markdown post into X and LinkedIn drafts", "value": {
    "text": POST, "filename": "trail-habits.md", "formats": ["x", "linkedin"], "variations": 2}}}
VARIATIONS_EXAMPLES = {"draft": {"summary": "Three more X variations of a stored draft", "value": {"repurposed_id": 12, "format": "x", "count": 3}}}
PREVIEW_EXAMPLES = {"x": {"value": {"platform": "x", "text": "Our spring sale starts today. https://example.com/sale #spring"}}}


def _source(session, who, data: SourceFields, settings):  # noqa: ANN001
    if data.repurposed_id is not None:
        return leo.draft_as_source(session, who.merchant_id, data.repurposed_id, settings)
    return parse_post(data.text or "", filename=data.filename, url=data.url, max_bytes=settings.max_source_bytes, max_chars=settings.max_source_chars)


def _generate(who: CallerDep, request: Request, data: SourceFields, formats: list[str], variations: int, key: str | None) -> JSONResponse:
    settings = get_agent_settings()
    history = warehouse_history(request.app.state.settings, who.merchant_id)

    def work(session):  # noqa: ANN001
        source = _source(session, who, data, settings)
        return 200, leo.repurpose_for_merchant(session, who.merchant_id, source, formats, variations, actor=who.actor, settings=settings,
                                               campaign_id=data.campaign_id, save=data.save, history=history)

    fingerprint = request_fingerprint("POST", request.url.path, data.model_dump_json().encode())
    return run_idempotent(who, Permission.EDIT, key, fingerprint, work)


@router.post("/repurpose", response_model=RepurposeOut, summary="Repurpose a post into drafts for each format (stored as DRAFT to approve)")
def repurpose(who: CallerDep, request: Request, data: Annotated[RepurposeIn, Body(openapi_examples=REPURPOSE_EXAMPLES)],
              idempotency_key: IdempotencyKey = None) -> JSONResponse:
    return _generate(who, request, data, list(data.formats), data.variations, idempotency_key)


@router.post("/variations", response_model=RepurposeOut, summary="More variations for one format, of a stored draft or of a text")
def variations(who: CallerDep, request: Request, data: Annotated[VariationsIn, Body(openapi_examples=VARIATIONS_EXAMPLES)],
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
    return _generate(who, request, data, [data.format], data.count, idempotency_key)


@router.post("/preview", response_model=PreviewOut, summary="How a post looks on a platform, and what it would refuse (nothing is stored)")
def preview(who: CallerDep, request: Request, data: Annotated[PreviewIn, Body(openapi_examples=PREVIEW_EXAMPLES)]) -> PreviewOut:
    require(who.role, Permission.READ)  # nothing is read or stored: no transaction
    publisher = build_publishers(request.app.state.settings.publisher_config())[data.platform]
    post = SocialPost(text=data.text, media=tuple(data.media))
    return PreviewOut(platform=data.platform, html=publisher.preview(post),
                      issues=[IssueOut(field=i.field, message=i.message) for i in publisher.validate(post)])
