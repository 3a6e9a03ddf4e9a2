"""An approved email draft of a campaign becomes one of the campaign's email campaigns, rendered in a chosen template.

The draft (a ``campaign_contents`` row on the email channel) holds the text a person approved: Leo writes it as

    Subject: <subject>
    Preview: <preview text>

    <body: paragraphs, "- " bullets, "<call to action>: <url>">

    --- html ---
    <Leo's own stand-alone HTML, not used here>

(`agents.leo.outputs.Output.publishable_text`). The subject, the preview text and the body become a DRAFT email
campaign of the draft's campaign; the body goes into the email campaign's ``body_markdown`` (the closing call to
action as a link on its own, which renders as the button), and the template prints it in its ``{{ content }}`` slot
(campaigns.email.markdown escapes it, the template engine sanitises the whole rendering).

Rules: only a draft approved in its current version (the approval bound to its content hash) is made into an email;
one email campaign per draft (a unique index on the draft's id), so running it again, or a retry, returns the first.
A time to send it at goes through `scheduling.schedule_broadcast`, the one way a broadcast is scheduled (its time, segment,
campaign and approval checks, its audit entry). The person (or agent) making the email is its author: under the merchant's
four-eyes rule their own version does not count as approved, so the email is not scheduled but waits, a DRAFT with
`approval_pending`, until another person approves it (`campaigns email approve`); then it can be scheduled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns.content.approvals import KIND_CONTENT, NotApprovedError, approval_for, get_content, hash_of_content
from campaigns.core.audit import record
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.policy import four_eyes
from campaigns.core.store.models import Campaign, CampaignContent, EmailCampaign
from campaigns.email import template_engine
from campaigns.email.broadcasts import create_email_campaign, is_approved
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.markdown import MAX_BODY_CHARS
from campaigns.email.scheduling import schedule_broadcast
from campaigns.email.templates import get_template, list_templates

HTML_MARKER = "--- html ---"
_CALL_TO_ACTION = re.compile(r"^(?P<label>[^\n:]{1,80}): (?P<url>https?://\S+)$")


@dataclass(frozen=True)
class EmailDraft:
    subject: str
    preview_text: str
    body_markdown: str


@dataclass(frozen=True)
class EmailFromDraft:
    email_campaign: EmailCampaign
    created: bool  # False: the draft's email campaign already existed and is returned as it is
    note: str
    approval_pending: bool = False  # a DRAFT waiting for another person's approval (four-eyes rule): not scheduled, not sendable


def is_email_draft(content: CampaignContent) -> bool:
    return (content.channel or "").lower() == "email" or (content.platform or "").lower() == "email" or content.content_type == "email"


def parse_email_draft(text: str, where: str = "the draft") -> EmailDraft:
    """Subject, preview text and body (as the Markdown of campaigns.email.markdown) of an email draft's approved text."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < 2 or not lines[0].startswith("Subject:") or not lines[1].startswith("Preview:"):
        raise EmailDeliveryError(f"{where} is not an email draft: its text must start with a 'Subject: ...' line and a 'Preview: ...' line, "
                                 "as Leo writes emails; fix the text and approve it again")
    subject, preview = lines[0].removeprefix("Subject:").strip(), lines[1].removeprefix("Preview:").strip()
    body = "\n".join(lines[2:])
    if HTML_MARKER in body:
        body = body[: body.index(HTML_MARKER)]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    if not subject or not paragraphs:
        raise EmailDeliveryError(f"{where} has an empty subject or body; write them and approve the draft again")
    if paragraphs and (cta := _CALL_TO_ACTION.match(paragraphs[-1])):
        paragraphs[-1] = f"[{cta.group('label').strip()}]({cta.group('url')})"  # rendered as the email's button
    markdown = "\n\n".join(paragraphs)
    if len(markdown) > MAX_BODY_CHARS:
        raise EmailDeliveryError(f"{where}'s body is {len(markdown):,} characters; shorten it to at most {MAX_BODY_CHARS:,}")
    if "{{" in markdown or "{%" in markdown or "}}" in markdown:
        raise EmailDeliveryError(f"{where}'s body holds template braces ({{{{ or {{%); remove them from the draft and approve it again "
                                 "(personal touches such as {{ first_name }} belong in the template)")
    return EmailDraft(subject, preview[:150], markdown)


def draft_email_campaign(session: Session, merchant_id: str, content_id: int) -> EmailCampaign | None:
    """The email campaign made from draft `content_id`, if any."""
    return session.scalar(select(EmailCampaign).where(EmailCampaign.merchant_id == merchant_id, EmailCampaign.source_content_id == content_id))


def _template_with_slot(session: Session, merchant_id: str, template_name: str):
    template = get_template(session, merchant_id, template_name)
    if not template_engine.has_content_slot(template.html):
        fitting = [t.name for t in list_templates(session, merchant_id) if template_engine.has_content_slot(t.html)]
        hint = f"pick one that has it ({', '.join(fitting)})" if fitting else "install the starters (`campaigns email templates install-starters`: Article has one)"
        raise EmailDeliveryError(f"template {template.name!r} has no {{{{ content }}}} slot for the draft's body: add {{{{ content }}}} where the "
                                 f"body goes, or {hint}")
    return template


def email_from_draft(session: Session, merchant_id: str, content_id: int, *, segment_id: int, template_name: str, actor: str,
                     at: datetime | None = None, now: datetime | None = None) -> EmailFromDraft:
    """The DRAFT email campaign of approved email draft cc-`content_id` for `segment_id`, rendered in `template_name`.

    With `at`, the email campaign is scheduled for that time (inside the campaign's dates) by `schedule_broadcast`, unless
    its approval is pending (four-eyes rule): it then stays a DRAFT. Running it again returns the email campaign already made
    from the draft, unchanged.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    content = get_content(session, merchant_id, content_id)
    where = f"draft cc-{content.id}"
    if not is_email_draft(content):
        raise EmailDeliveryError(f"{where} is {content.channel}/{content.platform or '-'} content, not an email; social drafts go on the queue "
                                 f"(`campaigns content schedule --draft cc-{content.id} --account ID`)")
    if content.campaign_id is None:
        raise EmailDeliveryError(f"{where} belongs to no campaign; repurpose with --campaign ID so its drafts become the campaign's content")
    if approval_for(session, merchant_id, KIND_CONTENT, content.id, hash_of_content(content)) is None:
        raise NotApprovedError(f"{where} is not approved in its current version (never approved, or edited since): approve it with "
                               f"`campaigns approve cc-{content.id}`, then make the email again")
    existing = draft_email_campaign(session, merchant_id, content.id)
    if existing is not None:
        return _already_made(session, existing, where)
    draft = parse_email_draft(content.body, where)
    template = _template_with_slot(session, merchant_id, template_name)
    campaign = session.scalar(select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == content.campaign_id))
    if at is not None:
        at = at.astimezone(UTC)
        if at < now:
            raise EmailDeliveryError(f"{at:%Y-%m-%d %H:%M} UTC has passed; pick a later time")
        if campaign is not None and ((campaign.start_date and at < campaign.start_date) or (campaign.end_date and at >= campaign.end_date)):
            raise EmailDeliveryError(f"{at:%Y-%m-%d %H:%M} UTC is outside campaign {campaign.id}'s dates; pick a time inside them")
    second_person = four_eyes(session, merchant_id)
    try:
        with session.begin_nested():  # a concurrent run for the same draft loses on the unique index and returns the winner's
            ec = create_email_campaign(session, merchant_id, campaign_id=content.campaign_id, segment_id=segment_id, subject=draft.subject,
                                       actor=actor, template_name=template.name, preview_text=draft.preview_text, body_markdown=draft.body_markdown,
                                       source_content_id=content.id, author_approves=not second_person)
            pending = not is_approved(session, ec)
            record(session, merchant_id, actor, "content.to_email", KIND_CONTENT, str(content.id), email_campaign_id=ec.id,
                   content_hash=hash_of_content(content), template=template.name, segment_id=segment_id,
                   scheduled_at=at.isoformat() if at else None, approval_pending=pending)
            if at is not None and not pending:
                schedule_broadcast(session, merchant_id, ec.id, at, actor, now=now)  # a refusal rolls the new email campaign back too
            session.flush()
    except IntegrityError:
        existing = draft_email_campaign(session, merchant_id, content.id)
        if existing is None:
            raise
        return _already_made(session, existing, where)
    if pending:
        when = f"a DRAFT, not scheduled for {at:%Y-%m-%d %H:%M} UTC" if at is not None else "a DRAFT"
        return EmailFromDraft(ec, True, f"email campaign {ec.id} ({when}) from {where} in template {template.name!r}; {_PENDING.format(id=ec.id)}",
                              approval_pending=True)
    when = f"scheduled for {at:%Y-%m-%d %H:%M} UTC" if at is not None else "a DRAFT"
    return EmailFromDraft(ec, True, f"email campaign {ec.id} ({when}) from {where} in template {template.name!r}; "
                                    f"send it with `campaigns email send --campaign {ec.id}`")


_PENDING = ("approval pending: the merchant's four-eyes rule needs another person to approve it (`campaigns email approve --campaign {id}`); "
            "then schedule or send it")


def _already_made(session: Session, ec: EmailCampaign, where: str) -> EmailFromDraft:
    pending = ec.status is EmailCampaignStatus.DRAFT and not is_approved(session, ec)
    note = f"{where} already became email campaign {ec.id} ({ec.status.value}); returned unchanged"
    return EmailFromDraft(ec, False, f"{note}; {_PENDING.format(id=ec.id)}" if pending else note, approval_pending=pending)
