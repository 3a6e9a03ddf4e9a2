"""Approvals: content goes out only when an approval exists for its exact content hash.

The hash is sha256 over the normalised text and the media list, so any edit (a word, a
space inside a line, an image) gives a new hash that no approval covers: editing voids
the approval without anyone having to remember to revoke it. Whitespace at line ends,
line-ending style and Unicode composition do not change what people see, so they do not
change the hash.

Text a person writes and schedules themselves counts as approved by that person; that
approval is recorded like any other, with a note saying so.

Under the merchant's four-eyes rule (`campaigns.core.policy.four_eyes`) nobody approves content they wrote or
edited (the audit log's authoring entries name them; for an email campaign, who created or edited it), and writing
and scheduling one's own text no longer counts as an approval: someone else approves it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.enums import ContentStatus
from campaigns.core.audit import record
from campaigns.core.outbox import emit
from campaigns.core.merchants import require_merchant
from campaigns.core.policy import four_eyes
from campaigns.core.store.models import Approval, AuditLog, CampaignContent
from publishers.text import normalise

KIND_CONTENT = "campaign_content"
KIND_REPURPOSED = "repurposed_content"
KIND_QUEUE_TEXT = "social_queue"  # text written straight into the social queue
KIND_EMAIL = "email_campaign"
AUTHOR_NOTE = "written and scheduled by this person; scheduling their own text counts as their approval"
# who wrote or edited an entity, as the audit log names them (an email campaign's author picks its subject, template and audience)
AUTHORING_ACTIONS = ("content.create", "content.edit", "email.create", "email.update")


class NotApprovedError(PermissionError):
    pass


class ContentNotFoundError(LookupError):
    pass


class FourEyesError(ValueError):
    """The merchant's four-eyes rule: the approver wrote or edited this content."""


def content_hash(text: str, media: Sequence[str] = (), media_alt: Sequence[str] = ()) -> str:
    """The hash an approval is bound to: the text, the images and their alt texts (absent when none, so older hashes hold)."""
    fields: dict[str, object] = {"text": normalise(text), "media": [m.strip() for m in media]}
    if any(a.strip() for a in media_alt):
        fields["media_alt"] = [a.strip() for a in media_alt]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def hash_of_content(content: CampaignContent) -> str:
    return content_hash(content.body, *content_media(content))


def chosen_media(choice: dict | None) -> tuple[list[str], list[str]]:
    """An image chosen but not stored yet, as an approval sees it: its source and alt text (a new source or alt is a new version)."""
    if not choice:
        return [], []
    return [f"chosen:{choice['src']}"], [str(choice.get("alt") or "")]


def content_media(content: CampaignContent) -> tuple[list[str], list[str]]:
    """The media an approval of `content` covers: the stored images and their alt texts, else the chosen image waiting to be stored."""
    if content.media:
        return list(content.media), list(content.media_alt or [])
    return chosen_media(content.media_choice)


def approval_for(session: Session, merchant_id: str, kind: str, content_id: int, current_hash: str) -> Approval | None:
    return session.scalar(
        select(Approval)
        .where(Approval.merchant_id == merchant_id, Approval.content_kind == kind, Approval.content_id == content_id,
               Approval.content_hash == current_hash)
        .order_by(Approval.id)
        .limit(1)
    )


def is_approved(session: Session, merchant_id: str, kind: str, content_id: int, current_hash: str) -> bool:
    return approval_for(session, merchant_id, kind, content_id, current_hash) is not None


def authors(session: Session, merchant_id: str, kind: str, content_id: int) -> set[str]:
    """Who wrote or edited the content, from the audit log (and who approved it as its author)."""
    logged = session.scalars(select(AuditLog.actor).where(
        AuditLog.merchant_id == merchant_id, AuditLog.entity_type == kind, AuditLog.entity_id == str(content_id),
        AuditLog.action.in_(AUTHORING_ACTIONS)))
    own = session.scalars(select(Approval.approved_by).where(
        Approval.merchant_id == merchant_id, Approval.content_kind == kind, Approval.content_id == content_id, Approval.note == AUTHOR_NOTE))
    return set(logged) | set(own)


def approve(session: Session, merchant_id: str, kind: str, content_id: int, content_hash_: str, actor: str, note: str = "") -> Approval:
    """Record that `actor` approved exactly this version (idempotent for the same version)."""
    require_merchant(session, merchant_id)
    if len(content_hash_) != 64:
        raise ValueError("content_hash must be the 64-character sha256 from approvals.content_hash()")
    existing = approval_for(session, merchant_id, kind, content_id, content_hash_)
    if existing is not None:
        return existing
    if four_eyes(session, merchant_id) and (note == AUTHOR_NOTE or actor in authors(session, merchant_id, kind, content_id)):
        raise FourEyesError(f"{actor} wrote or edited {kind} {content_id}, and this merchant requires a second person's approval "
                            "(four-eyes rule): ask another approver to approve it")
    approval = Approval(merchant_id=merchant_id, content_kind=kind, content_id=content_id, content_hash=content_hash_, approved_by=actor, note=note)
    session.add(approval)
    session.flush()
    record(session, merchant_id, actor, "content.approve", kind, str(content_id), content_hash=content_hash_, approval_id=approval.id, note=note)
    emit(session, merchant_id, "content.approved", {"kind": kind, "content_id": content_id, "content_hash": content_hash_, "approved_by": actor})
    return approval


def record_author_approval(session: Session, merchant_id: str, kind: str, content_id: int, content_hash_: str, author: str) -> Approval:
    return approve(session, merchant_id, kind, content_id, content_hash_, author, note=AUTHOR_NOTE)


def get_content(session: Session, merchant_id: str, content_id: int) -> CampaignContent:
    content = session.scalar(select(CampaignContent).where(CampaignContent.merchant_id == merchant_id, CampaignContent.id == content_id))
    if content is None:
        raise ContentNotFoundError(f"no content {content_id} for merchant {merchant_id!r}")
    return content


def approve_content(session: Session, merchant_id: str, content_id: int, actor: str, note: str = "") -> Approval:
    """Approve the content's current text and media; marks it APPROVED."""
    content = get_content(session, merchant_id, content_id)
    current = hash_of_content(content)
    content.content_hash = current
    content.status = ContentStatus.APPROVED
    return approve(session, merchant_id, KIND_CONTENT, content.id, current, actor, note)


def content_is_approved(session: Session, merchant_id: str, content: CampaignContent) -> bool:
    return is_approved(session, merchant_id, KIND_CONTENT, content.id, hash_of_content(content))


def sync_content_status(session: Session, merchant_id: str, content_id: int, actor: str = "system") -> CampaignContent:
    """After an edit: an APPROVED content whose current hash has no approval goes back to DRAFT (audited)."""
    content = get_content(session, merchant_id, content_id)
    current = hash_of_content(content)
    if content.status is ContentStatus.APPROVED and not is_approved(session, merchant_id, KIND_CONTENT, content.id, current):
        content.status = ContentStatus.DRAFT
        record(session, merchant_id, actor, "content.approval_voided", KIND_CONTENT, str(content.id),
               approved_hash=content.content_hash, current_hash=current)
    content.content_hash = current
    session.flush()
    return content


def require_approval(session: Session, merchant_id: str, kind: str, content_id: int, current_hash: str) -> Approval:
    approval = approval_for(session, merchant_id, kind, content_id, current_hash)
    if approval is None:
        raise NotApprovedError(
            f"{kind} {content_id} has no approval for its current version (hash {current_hash[:12]}…); "
            "it was never approved or was edited since: approve it, then schedule it"
        )
    return approval
