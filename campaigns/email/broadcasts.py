"""Email campaigns (``email_campaigns``): create, find, approve, and count their recipients' rows per status.

An approval covers the subject, the preview text and the body exactly (`email_content_hash`); the
author's own first version counts as approved by them (recorded as such). Sending needs the current
version approved (`require_approved`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from campaigns.content.approvals import KIND_EMAIL, NotApprovedError, approval_for, approve, content_hash, record_author_approval
from campaigns.core.audit import record
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.merchants import require_merchant
from campaigns.core.policy import four_eyes
from campaigns.core.store.models import Campaign, EmailCampaign, EmailSend, EmailSendStatus, EmailTemplate, Segment
from campaigns.core.store.types import utcnow
from campaigns.email.errors import (EmailCampaignLockedError, EmailCampaignNotFoundError, EmailDeliveryError, EmailFieldError,
                                    StaleEmailCampaignError)
from campaigns.email.layout import with_content
from campaigns.email.rendering import render_campaign, template_body, template_html


def get_email_campaign(session: Session, merchant_id: str, email_campaign_id: int) -> EmailCampaign:
    ec = session.scalar(select(EmailCampaign).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.id == email_campaign_id))
    if ec is None:
        raise EmailCampaignNotFoundError(f"no email campaign {email_campaign_id} for merchant {merchant_id!r}; create one with `campaigns email create`")
    return ec


def resolve_email_campaign(session: Session, merchant_id: str, ref: str) -> EmailCampaign:
    """`ref` is an email campaign id (digits) or a campaign id (``cmp_...``) that has exactly one email campaign."""
    ref = ref.strip()
    if ref.isdigit():
        return get_email_campaign(session, merchant_id, int(ref))
    ids = list(session.scalars(select(EmailCampaign.id).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.campaign_id == ref)
                               .order_by(EmailCampaign.id)))
    if len(ids) == 1:
        return get_email_campaign(session, merchant_id, ids[0])
    if not ids:
        raise EmailCampaignNotFoundError(f"campaign {ref!r} of merchant {merchant_id!r} has no email campaign; create one with `campaigns email create --campaign {ref}`")
    raise EmailCampaignNotFoundError(f"campaign {ref!r} has {len(ids)} email campaigns ({', '.join(map(str, ids))}); pass one of these ids instead")


def email_content_hash(subject: str, preview_text: str, template_html: str) -> str:
    """What an approval of an email campaign covers: subject, preview text and body, exactly."""
    return content_hash("\n\u241e\n".join((subject, preview_text, template_html)))


def _current_hash(session: Session, ec: EmailCampaign) -> str:
    return email_content_hash(ec.subject, ec.preview_text, template_html(session, ec))


def create_email_campaign(
    session: Session,
    merchant_id: str,
    *,
    campaign_id: str,
    segment_id: int,
    subject: str,
    actor: str,
    template_name: str | None = None,
    preview_text: str = "",
    send_window_hours: int | None = None,
    body_markdown: str = "",
    source_content_id: int | None = None,
    author_approves: bool = True,
) -> EmailCampaign:
    """A DRAFT email campaign. The author's own subject and body count as approved by them (recorded as such),
    unless `author_approves` is False (the campaign then waits for an approval).

    `body_markdown` is what the template prints in its ``{{ content }}`` slot; `source_content_id` the draft it came from.
    """
    merchant = require_merchant(session, merchant_id)
    subject, preview_text = subject.strip(), preview_text.strip()
    if not subject:
        raise EmailFieldError("subject", "subject: write a subject line")
    if send_window_hours is not None and not 1 <= send_window_hours <= 72:
        raise EmailFieldError("send_window_hours",
                              f"send window {send_window_hours} h: use 1 to 72 hours (each contact gets the email at their best hour within it)")
    if len(subject) > 300:
        raise EmailFieldError("subject", f"subject is at most 300 characters (this one has {len(subject)}); shorten it")
    if len(preview_text) > 150:
        raise EmailFieldError("preview_text", f"preview text is at most 150 characters (this one has {len(preview_text)}); shorten it")
    campaign = session.scalar(select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id))
    if campaign is None:
        raise EmailFieldError("campaign", f"no campaign {campaign_id!r} for merchant {merchant_id!r}; list them with `campaigns campaigns list`")
    segment = session.scalar(select(Segment).where(Segment.merchant_id == merchant_id, Segment.id == segment_id))
    if segment is None:
        raise EmailFieldError("segment", f"no segment {segment_id} for merchant {merchant_id!r}; save one in the app's Audiences page first")
    template = None
    if template_name:
        template = session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == merchant_id, EmailTemplate.name == template_name))
        if template is None:
            known = ", ".join(session.scalars(select(EmailTemplate.name).where(EmailTemplate.merchant_id == merchant_id).order_by(EmailTemplate.name))) or "none yet"
            raise EmailFieldError("template", f"no email template named {template_name!r} (known: {known})")
    ec = EmailCampaign(merchant_id=merchant_id, campaign_id=campaign.id, segment_id=segment.id, template_id=template.id if template else None,
                       subject=subject, preview_text=preview_text, status=EmailCampaignStatus.DRAFT, send_window_hours=send_window_hours,
                       body_markdown=body_markdown, source_content_id=source_content_id)
    # EmailTemplateError names the subject or template
    render_campaign(subject, preview_text, with_content(template_body(template), body_markdown), merchant.name)
    session.add(ec)
    session.flush()
    record(session, merchant_id, actor, "email.create", "email_campaign", str(ec.id), campaign_id=campaign.id, segment_id=segment.id,
           template=template_name, subject=subject)
    # under the four-eyes rule the maker's version waits for someone else's approval instead of refusing the create
    if author_approves and not four_eyes(session, merchant_id):
        record_author_approval(session, merchant_id, KIND_EMAIL, ec.id, _current_hash(session, ec), actor)
    return ec


EDITABLE = ("segment_id", "subject", "preview_text", "send_window_hours")
OPEN_FOR_EDITS = (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED)


def update_email_campaign(session: Session, merchant_id: str, email_campaign_id: int, changes: Mapping[str, Any], *, actor: str,
                          if_updated_at: datetime | None = None) -> EmailCampaign:
    """Change a DRAFT or SCHEDULED broadcast's audience (segment), send window, subject or preview text (audited).

    Once its sending started (SENDING, SENT, ...) it is refused: what went out stays as it went out. The write is a
    compare-and-set on the status and on `if_updated_at` (the version the caller read), so a send that starts meanwhile
    or a concurrent edit wins and this writes nothing. A new subject or preview text counts as approved by the editor,
    as the first version counts for its author; the previous approval no longer covers it.
    """
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise EmailDeliveryError(f"cannot change {', '.join(unknown)} of an email campaign; editable: {', '.join(EDITABLE)}")
    if ec.status not in OPEN_FOR_EDITS:
        raise EmailCampaignLockedError(f"email campaign {ec.id} is {ec.status.value}: its sending started, so its audience, send window and "
                                       f"subject stay as they went out; create a new email campaign to send something else")
    if ec.kind != "broadcast":
        raise EmailDeliveryError(f"email campaign {ec.id} is part of an {'A/B test' if ec.kind.startswith('ab_') else ec.kind}; "
                                 "change it there, not here")
    if if_updated_at is not None and ec.updated_at != if_updated_at:
        raise StaleEmailCampaignError(f"email campaign {ec.id} changed since you read it; read it again and re-apply your change")
    fields = {k: v for k, v in changes.items() if v != getattr(ec, k)}
    if "subject" in fields or "preview_text" in fields:
        fields.update({k: (fields.get(k, getattr(ec, k)) or "").strip() for k in ("subject", "preview_text")})
        if not fields["subject"]:
            raise EmailDeliveryError("subject: write a subject line")
        if len(fields["subject"]) > 300 or len(fields["preview_text"]) > 150:
            raise EmailDeliveryError("subject is at most 300 characters and preview text at most 150; shorten it")
        template = session.get(EmailTemplate, ec.template_id) if ec.template_id else None
        render_campaign(fields["subject"], fields["preview_text"], with_content(template_body(template), ec.body_markdown),
                        require_merchant(session, merchant_id).name)
    if "segment_id" in fields:
        if fields["segment_id"] is None or session.scalar(select(Segment.id).where(Segment.merchant_id == merchant_id,
                                                                                     Segment.id == fields["segment_id"])) is None:
            raise EmailDeliveryError(f"no segment {fields['segment_id']} for merchant {merchant_id!r}; save one in the app's Audiences page first")
    if "send_window_hours" in fields and fields["send_window_hours"] is not None and not 1 <= fields["send_window_hours"] <= 72:
        raise EmailDeliveryError(f"send window {fields['send_window_hours']} h: use 1 to 72 hours, or null to send to everyone at once")
    if not fields:
        return ec
    read_version = ec.updated_at
    version = max(utcnow(), read_version + timedelta(microseconds=1))  # strictly newer, even on a clock that stands still
    done = session.execute(update(EmailCampaign).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.id == ec.id,
                                                       EmailCampaign.status.in_(OPEN_FOR_EDITS), EmailCampaign.updated_at == read_version)
                           .values(**fields, updated_at=version).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.refresh(ec)
        if ec.status not in OPEN_FOR_EDITS:
            raise EmailCampaignLockedError(f"email campaign {ec.id} started sending meanwhile ({ec.status.value}); nothing was changed")
        raise StaleEmailCampaignError(f"email campaign {ec.id} changed since you read it; read it again and re-apply your change")
    before = {k: getattr(ec, k) for k in fields}
    for key, value in {**fields, "updated_at": version}.items():
        set_committed_value(ec, key, value)
    record(session, merchant_id, actor, "email.update", "email_campaign", str(ec.id), before=before, after=fields)
    if "subject" in fields or "preview_text" in fields:
        hash_ = _current_hash(session, ec)
        if approval_for(session, merchant_id, KIND_EMAIL, ec.id, hash_) is None and not four_eyes(session, merchant_id):
            record_author_approval(session, merchant_id, KIND_EMAIL, ec.id, hash_, actor)
    return ec


def approve_email_campaign(session: Session, merchant_id: str, email_campaign_id: int, actor: str, note: str = ""):
    """Approve the email campaign's current subject, preview text and body."""
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    return approve(session, merchant_id, KIND_EMAIL, ec.id, _current_hash(session, ec), actor, note)


def is_approved(session: Session, ec: EmailCampaign) -> bool:
    """Whether the email campaign's current subject, preview text and body carry an approval."""
    return approval_for(session, ec.merchant_id, KIND_EMAIL, ec.id, _current_hash(session, ec)) is not None


def require_approved(session: Session, ec: EmailCampaign) -> None:
    if not is_approved(session, ec):
        raise NotApprovedError(
            f"email campaign {ec.id}'s subject, preview text or body changed since it was approved (or it never was); "
            f"approve the current version, then send"
        )


def campaign_counts(session: Session, merchant_id: str, email_campaign_id: int) -> dict[str, int]:
    """Rows per status, lower-cased, always with total, sent, suppressed, failed, needs_review, pending and sending
    (and cancelled when its campaign ended before some went out)."""
    rows = session.execute(select(EmailSend.status, func.count()).where(EmailSend.merchant_id == merchant_id, EmailSend.email_campaign_id == email_campaign_id)
                           .group_by(EmailSend.status)).all()
    counts = {s.value.lower(): 0 for s in EmailSendStatus if s is not EmailSendStatus.CANCELLED}
    for status, n in rows:
        counts[EmailSendStatus(status).value.lower()] = int(n)
    return {"total": sum(counts.values()), **counts}

