"""Leo's results in the operational store: drafts, approvals bound to the content hash, edits.

Every output becomes a ``repurposed_content`` row in DRAFT (payload = the output's JSON),
and, when a campaign is given, a ``campaign_contents`` row in DRAFT whose body is the text a
person approves (`Output.publishable_text`). Both rows carry the same content hash
(`campaigns.content.approvals.content_hash` of that text), so approving one approves
exactly that version of both; editing either gives a new hash that no approval covers, and
the row goes back to DRAFT (audited as ``content.approval_voided``).

A social output's chosen image (`Output.media`: its source and alt text) is part of what is
approved: it is in the hash of both rows, and the campaign content keeps it as ``media_choice``
until scheduling fetches and stores it.

Saving the same output of the same post again returns the rows already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.leo.checks import check_limits
from agents.leo.outputs import Output
from agents.leo.repurpose import RepurposeResult
from campaigns.core.enums import ContentStatus
from campaigns.content.approvals import (
    KIND_CONTENT,
    KIND_REPURPOSED,
    approval_for,
    approve,
    approve_content,
    chosen_media,
    content_hash,
    get_content,
    hash_of_content,
    sync_content_status,
)
from campaigns.core.audit import record
from campaigns.core.outbox import emit
from campaigns.lifecycle.service import get_campaign
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import CampaignContent, RepurposedContent

CHANNEL_OF = {"x": "x", "linkedin": "linkedin", "facebook": "facebook", "instagram": "instagram", "email": "email", "ads": "google_ads"}
CONTENT_TYPE_OF = {"email": "email", "ads": "ad", "x": "post", "linkedin": "post", "facebook": "post", "instagram": "post"}
EDITABLE = {
    "x": {"text", "thread", "hashtags"}, "linkedin": {"text", "hashtags"}, "facebook": {"text", "hashtags"},
    "instagram": {"text", "hashtags", "alt_text", "image_brief"}, "email": {"subject", "preview_text", "html", "text"},
    "ads": {"headlines", "descriptions", "primary_text"},
}


class RepurposedNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class Saved:
    format: str
    variant: int
    repurposed_id: int
    content_id: int | None
    content_hash: str


def output_hash(output: Output) -> str:
    return content_hash(output.publishable_text(), *chosen_media(output.media.model_dump() if output.media else None))


def _output_of(row: RepurposedContent) -> Output:
    payload = {k: v for k, v in (row.payload or {}).items() if k in Output.model_fields}
    return Output.model_validate(payload)


def output_of(row: RepurposedContent) -> Output:
    """The stored output of a repurposed row (its payload, validated)."""
    return _output_of(row)


def save_result(session: Session, merchant_id: str, result: RepurposeResult, *, actor: str, campaign_id: str | None = None) -> list[Saved]:
    return save_outputs(session, merchant_id, result.outputs, source_title=result.source.title, source_url=result.source.url,
                        source_hash=result.source.source_hash, engine=result.engine, actor=actor, campaign_id=campaign_id)


def save_outputs(session: Session, merchant_id: str, outputs: list[Output], *, source_title: str, source_url: str | None, source_hash: str,
                 engine: str, actor: str, campaign_id: str | None = None) -> list[Saved]:
    require_merchant(session, merchant_id)
    if campaign_id is not None:
        get_campaign(session, merchant_id, campaign_id)  # scoped: another merchant's campaign is "not found"
    saved: list[Saved] = []
    existing_ids: set[int] = set()
    for output in outputs:
        hash_ = output_hash(output)
        existing = session.scalar(
            select(RepurposedContent).where(
                RepurposedContent.merchant_id == merchant_id, RepurposedContent.source_hash == source_hash,
                RepurposedContent.format == output.format, RepurposedContent.variant == output.variant,
                RepurposedContent.content_hash == hash_,
                RepurposedContent.campaign_id.is_(None) if campaign_id is None else RepurposedContent.campaign_id == campaign_id,
            )
        )
        if existing is not None:
            existing_ids.add(existing.id)
            saved.append(Saved(output.format, output.variant, existing.id, (existing.payload or {}).get("campaign_content_id"), hash_))
            continue
        payload: dict[str, Any] = output.model_dump(mode="json")
        row = RepurposedContent(
            merchant_id=merchant_id, campaign_id=campaign_id, source_title=source_title[:300], source_url=source_url,
            source_hash=source_hash, format=output.format, variant=output.variant, engine=output.engine[:80],
            payload=payload, status=ContentStatus.DRAFT, content_hash=hash_,
        )
        session.add(row)
        session.flush()
        # whoever asked Leo for the draft is its author: under four-eyes someone else approves it
        record(session, merchant_id, actor, "content.create", KIND_REPURPOSED, str(row.id), via="repurpose", engine=engine)
        content_id = None
        if campaign_id is not None:
            content = CampaignContent(
                merchant_id=merchant_id, campaign_id=campaign_id, channel=CHANNEL_OF[output.format],
                platform=output.format if output.format in ("x", "linkedin", "facebook", "instagram") else None,
                content_type=CONTENT_TYPE_OF[output.format], title=(output.subject or source_title)[:300],
                body=output.publishable_text(), media=[], status=ContentStatus.DRAFT, content_hash=hash_,
                media_choice=output.media.model_dump() if output.media else None,
            )
            session.add(content)
            session.flush()
            content_id = content.id
            record(session, merchant_id, actor, "content.create", KIND_CONTENT, str(content_id), via="repurpose", engine=engine)
            row.payload = {**payload, "campaign_content_id": content_id}
        saved.append(Saved(output.format, output.variant, row.id, content_id, hash_))
    session.flush()
    record(session, merchant_id, actor, "content.repurpose", "campaign" if campaign_id else "repurpose", campaign_id or source_hash[:16],
           source_title=source_title, source_hash=source_hash, engine=engine,
           repurposed_ids=[s.repurposed_id for s in saved], content_ids=[s.content_id for s in saved if s.content_id])
    new = [s for s in saved if s.repurposed_id not in existing_ids]
    if new:  # drafts wait for a person's approval: one event per batch, listing them
        emit(session, merchant_id, "content.approval_requested", {"campaign_id": campaign_id, "source_title": source_title, "engine": engine,
             "drafts": [{"repurposed_id": s.repurposed_id, "content_id": s.content_id, "format": s.format, "variant": s.variant} for s in new]})
    return saved


def get_repurposed(session: Session, merchant_id: str, repurposed_id: int) -> RepurposedContent:
    row = session.scalar(select(RepurposedContent).where(RepurposedContent.merchant_id == merchant_id, RepurposedContent.id == repurposed_id))
    if row is None:
        raise RepurposedNotFoundError(f"no repurposed content {repurposed_id} for merchant {merchant_id!r}")
    return row


def current_hash(row: RepurposedContent) -> str:
    return output_hash(_output_of(row))


def approve_repurposed(session: Session, merchant_id: str, repurposed_id: int, actor: str, note: str = "") -> dict[str, Any]:
    """Approve the repurposed output as it is now, and its campaign content when that holds the same version."""
    row = get_repurposed(session, merchant_id, repurposed_id)
    hash_ = current_hash(row)
    row.content_hash = hash_
    row.status = ContentStatus.APPROVED
    approval = approve(session, merchant_id, KIND_REPURPOSED, row.id, hash_, actor, note)
    linked = (row.payload or {}).get("campaign_content_id")
    content_approved = None
    if linked:
        content = get_content(session, merchant_id, int(linked))
        if hash_of_content(content) == hash_:
            approve_content(session, merchant_id, content.id, actor, note)
            content_approved = content.id
    return {"kind": KIND_REPURPOSED, "id": row.id, "content_hash": hash_, "approval_id": approval.id, "campaign_content_id": content_approved}


def approve_campaign_content(session: Session, merchant_id: str, content_id: int, actor: str, note: str = "") -> dict[str, Any]:
    """Approve a campaign content as it is now, and the repurposed output it came from when that holds the same version."""
    approval = approve_content(session, merchant_id, content_id, actor, note)
    content = get_content(session, merchant_id, content_id)
    repurposed_id = None
    if content.campaign_id:
        rows = session.scalars(select(RepurposedContent).where(RepurposedContent.merchant_id == merchant_id,
                                                               RepurposedContent.campaign_id == content.campaign_id))
        for row in rows:
            if (row.payload or {}).get("campaign_content_id") == content_id and current_hash(row) == approval.content_hash:
                row.content_hash = approval.content_hash
                row.status = ContentStatus.APPROVED
                approve(session, merchant_id, KIND_REPURPOSED, row.id, approval.content_hash, actor, note)
                repurposed_id = row.id
    return {"kind": KIND_CONTENT, "id": content_id, "content_hash": approval.content_hash, "approval_id": approval.id, "repurposed_id": repurposed_id}


def edit_repurposed(session: Session, merchant_id: str, repurposed_id: int, changes: dict[str, Any], actor: str) -> RepurposedContent:
    """Change fields of an output (limits re-checked); a new hash voids the approval of both rows."""
    row = get_repurposed(session, merchant_id, repurposed_id)
    allowed = EDITABLE[row.format]
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValueError(f"cannot edit {', '.join(unknown)} of a {row.format} output; editable: {', '.join(sorted(allowed))}")
    try:
        edited = Output.model_validate({**_output_of(row).model_dump(), **changes})
    except ValidationError as exc:
        raise ValueError(f"invalid edit: {exc.errors()[0]['msg']}") from None
    limits = check_limits(edited)
    if not limits.ok:
        raise ValueError(f"the edit breaks {row.format}'s limits: {limits.detail}")
    before = row.content_hash
    new_hash = output_hash(edited)
    row.payload = {**(row.payload or {}), **edited.model_dump(mode="json", include=set(changes))}
    row.content_hash = new_hash
    record(session, merchant_id, actor, "content.edit", KIND_REPURPOSED, str(row.id), fields=sorted(changes), before_hash=before, after_hash=new_hash)
    if row.status is ContentStatus.APPROVED and approval_for(session, merchant_id, KIND_REPURPOSED, row.id, new_hash) is None:
        row.status = ContentStatus.DRAFT
        record(session, merchant_id, actor, "content.approval_voided", KIND_REPURPOSED, str(row.id), approved_hash=before, current_hash=new_hash)
    linked = (row.payload or {}).get("campaign_content_id")
    if linked:
        content = get_content(session, merchant_id, int(linked))
        content.body = edited.publishable_text()
        content.title = (edited.subject or content.title)[:300]
        if content.media_choice:  # back to the chosen image, as the edited output has it: scheduling stores it again (same bytes, one copy)
            content.media, content.media_alt = [], []
        session.flush()
        sync_content_status(session, merchant_id, content.id, actor)
    session.flush()
    return row


def reject_repurposed(session: Session, merchant_id: str, repurposed_id: int, actor: str, note: str = "") -> dict[str, Any]:
    """Reject a repurposed output (and its campaign content while that holds the same version); audited ``content.reject``."""
    row = get_repurposed(session, merchant_id, repurposed_id)
    if row.status is ContentStatus.PUBLISHED:
        raise ValueError(f"rc-{row.id} is already published; it cannot be rejected")
    before = row.status
    row.status = ContentStatus.REJECTED
    record(session, merchant_id, actor, "content.reject", KIND_REPURPOSED, str(row.id), before=before.value, content_hash=row.content_hash, note=note)
    linked = (row.payload or {}).get("campaign_content_id")
    content_rejected = None
    if linked:
        content = get_content(session, merchant_id, int(linked))
        if content.status not in (ContentStatus.PUBLISHED, ContentStatus.REJECTED) and hash_of_content(content) == current_hash(row):
            _reject_content_row(session, merchant_id, content, actor, note)
            content_rejected = content.id
    session.flush()
    return {"kind": KIND_REPURPOSED, "id": row.id, "campaign_content_id": content_rejected}


def reject_campaign_content(session: Session, merchant_id: str, content_id: int, actor: str, note: str = "") -> dict[str, Any]:
    """Reject a campaign content (and the repurposed output it came from, same version); the workflow's
    await_approval step counts it as decided."""
    content = get_content(session, merchant_id, content_id)
    if content.status is ContentStatus.PUBLISHED:
        raise ValueError(f"cc-{content.id} is already published; it cannot be rejected")
    _reject_content_row(session, merchant_id, content, actor, note)
    repurposed_id = None
    if content.campaign_id:
        rows = session.scalars(select(RepurposedContent).where(RepurposedContent.merchant_id == merchant_id,
                                                               RepurposedContent.campaign_id == content.campaign_id))
        for row in rows:
            if (row.payload or {}).get("campaign_content_id") == content_id and row.status is not ContentStatus.PUBLISHED:
                row.status = ContentStatus.REJECTED
                record(session, merchant_id, actor, "content.reject", KIND_REPURPOSED, str(row.id), note=note, via=f"cc-{content_id}")
                repurposed_id = row.id
    session.flush()
    return {"kind": KIND_CONTENT, "id": content_id, "repurposed_id": repurposed_id}


def _reject_content_row(session: Session, merchant_id: str, content: CampaignContent, actor: str, note: str) -> None:
    before = content.status
    content.status = ContentStatus.REJECTED
    record(session, merchant_id, actor, "content.reject", KIND_CONTENT, str(content.id), before=before.value,
           content_hash=hash_of_content(content), note=note)
