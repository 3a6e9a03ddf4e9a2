"""An approved email draft becomes one email campaign of its campaign, its body rendered (escaped) in the template's content slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from agents.leo.finish import render_email
from agents.leo.outputs import Output
from campaigns.access.users import set_four_eyes
from campaigns.audiences.segments import save_segment
from campaigns.content.approvals import FourEyesError, NotApprovedError, approve_content
from campaigns.core.enums import CampaignStatus, EmailCampaignStatus
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AuditLog, Campaign, CampaignContent, EmailCampaign
from campaigns.email import broadcasts, markdown, scheduling, templates
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.from_draft import email_from_draft, parse_email_draft
from campaigns.email.templates import preview
from campaigns.lifecycle import service

START, END = datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 12, 4, 8, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def leo_email(paragraphs: list[str], bullets: list[str] | None = None) -> str:
    """The approved text of an email draft exactly as Leo writes it."""
    html, text = render_email(subject="Winter is here", preview="Three ways to stay warm", paragraphs=paragraphs, bullets=bullets or [],
                              cta="Read the guide", url="https://acme.example/blog/winter?utm_source=email", language="en", title="Winter")
    output = Output(format="email", variant=1, angle="benefit", engine="offline", source_sentences=[], subject="Winter is here",
                    preview_text="Three ways to stay warm", html=html, text=text)
    return output.publishable_text()


def _setup(url: str, body: str, *, approve: bool = True) -> tuple[str, int, int]:
    """(campaign id, draft id, segment id), the starters installed."""
    with session_scope(url) as s:
        c = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="AWARENESS", channels=["email"], budget=Decimal("100"),
                                                                     start_date=START, end_date=END), actor="ana")
        draft = CampaignContent(merchant_id="acme", campaign_id=c.id, channel="email", content_type="email", title="Winter is here", body=body)
        s.add(draft)
        s.flush()
        if approve:
            approve_content(s, "acme", draft.id, "bo")
        templates.install_starters(s, "acme")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return c.id, draft.id, segment.id


def test_an_approved_draft_becomes_one_email_campaign_rendered_in_the_template(store_url: str) -> None:
    body = leo_email(["Cold days are coming. Here is how to **stay warm**.", "Layer up: <script>alert(1)</script> {not a tag}"],
                     ["Wool socks", "A good scarf"])
    campaign_id, draft_id, segment_id = _setup(store_url, body)
    with session_scope(store_url) as s:
        made = email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW)
        ec = made.email_campaign
        assert made.created and ec.campaign_id == campaign_id and ec.status is EmailCampaignStatus.DRAFT and ec.source_content_id == draft_id
        assert (ec.subject, ec.preview_text) == ("Winter is here", "Three ways to stay warm")
        assert ec.body_markdown.endswith("[Read the guide](https://acme.example/blog/winter?utm_source=email)")
        assert broadcasts.is_approved(s, ec)  # the author's own email campaign, as with `campaigns email create`
        shown = preview(s, "acme", contact_id=None, email_campaign_id=ec.id)
        ec_id = ec.id
    # the body sits in the template's slot, escaped; the call to action is the button; nothing active reaches the email
    assert "Winter is here</h1>" in shown.html
    assert "stay warm</strong>" in shown.html and "<li" in shown.html and "Wool socks" in shown.html
    assert 'class="button" href="https://acme.example/blog/winter?utm_source=email"' in shown.html
    assert "<script" not in shown.html and "Layer up: &lt;script&gt;alert(1)&lt;/script&gt; {not a tag}</p>" in shown.html
    assert "Read the guide: https://acme.example/blog/winter" in shown.text and "{not a tag}" in shown.text
    # running it again (or with another template) returns the same email campaign
    with session_scope(store_url) as s:
        again = email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW)
        assert not again.created and again.email_campaign.id == ec_id and "already became email campaign" in again.note
        assert s.scalar(select(func.count()).select_from(EmailCampaign).where(EmailCampaign.source_content_id == draft_id)) == 1
    # an edit to the email campaign's body voids its approval: the approval covers the body too
    with session_scope(store_url) as s:
        ec = s.get(EmailCampaign, ec_id)
        ec.body_markdown += "\n\nOne more line."
        assert not broadcasts.is_approved(s, ec)


def test_an_unapproved_or_edited_draft_is_refused_with_the_fix(store_url: str) -> None:
    _, draft_id, segment_id = _setup(store_url, leo_email(["Hello."]), approve=False)
    with session_scope(store_url) as s, pytest.raises(NotApprovedError, match=f"approve it with `campaigns approve cc-{draft_id}`"):
        email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW)
    with session_scope(store_url) as s:
        approve_content(s, "acme", draft_id, "bo")
        s.get(CampaignContent, draft_id).body += "\nedited after the approval"
    with session_scope(store_url) as s, pytest.raises(NotApprovedError, match="edited since"):
        email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW)
    with session_scope(store_url) as s:
        assert s.scalar(select(func.count()).select_from(EmailCampaign)) == 0
    # another merchant cannot reach the draft
    with session_scope(store_url) as s, pytest.raises(LookupError):
        email_from_draft(s, "globex", draft_id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW)


def test_template_without_a_slot_social_draft_and_time_are_checked(store_url: str) -> None:
    campaign_id, draft_id, segment_id = _setup(store_url, leo_email(["Hello."]))
    with session_scope(store_url) as s, pytest.raises(EmailDeliveryError, match=r"no \{\{ content \}\} slot.*pick one that has it \(Article\)"):
        email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Newsletter", actor="ana", now=NOW)
    with session_scope(store_url) as s, pytest.raises(EmailDeliveryError, match="outside campaign"):
        email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", at=END + timedelta(hours=1), now=NOW)
    with session_scope(store_url) as s:
        post = CampaignContent(merchant_id="acme", campaign_id=campaign_id, channel="SOCIAL", platform="x", body="A post")
        s.add(post)
        s.flush()
        approve_content(s, "acme", post.id, "bo")
        with pytest.raises(EmailDeliveryError, match="not an email; social drafts go on the queue"):
            email_from_draft(s, "acme", post.id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW)
    with session_scope(store_url) as s:
        made = email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", at=START + timedelta(hours=2), now=NOW)
        assert made.email_campaign.status is EmailCampaignStatus.SCHEDULED and made.email_campaign.scheduled_at == START + timedelta(hours=2)


def test_under_four_eyes_the_email_waits_for_a_second_person(store_url: str) -> None:
    _, draft_id, segment_id = _setup(store_url, leo_email(["Hello."]))
    with session_scope(store_url) as s:
        set_four_eyes(s, "acme", True, "owner")
        made = email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW)
        assert not broadcasts.is_approved(s, made.email_campaign) and "another person to approve it" in made.note
        broadcasts.approve_email_campaign(s, "acme", made.email_campaign.id, "bo")
        assert broadcasts.is_approved(s, made.email_campaign)


def test_a_time_schedules_the_email_through_the_scheduling_service(store_url: str) -> None:
    """The broadcast's own rules apply (its audit entry, a campaign that has ended), not a status set on the side."""
    campaign_id, draft_id, segment_id = _setup(store_url, leo_email(["Hello."]))
    at = START + timedelta(hours=2)
    with session_scope(store_url) as s:
        s.get(Campaign, campaign_id).status = CampaignStatus.CANCELLED
    with session_scope(store_url) as s, pytest.raises(EmailDeliveryError, match="CANCELLED, which is final"):
        email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", at=at, now=NOW)
    with session_scope(store_url) as s:
        assert s.scalar(select(func.count()).select_from(EmailCampaign)) == 0  # refused whole: no email campaign left behind
        s.get(Campaign, campaign_id).status = CampaignStatus.DRAFT
    with session_scope(store_url) as s:
        made = email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", at=at, now=NOW)
        ec_id = made.email_campaign.id
        assert made.created and not made.approval_pending and "scheduled for 2026-12-01 10:00 UTC" in made.note
    with session_scope(store_url) as s:
        ec = s.get(EmailCampaign, ec_id)
        assert ec.status is EmailCampaignStatus.SCHEDULED and ec.scheduled_at == at
        logged = s.scalars(select(AuditLog).where(AuditLog.entity_type == "email_campaign", AuditLog.entity_id == str(ec_id))
                           .order_by(AuditLog.id)).all()
        assert [(e.action, e.actor) for e in logged][-1] == ("email.schedule", "ana") and logged[-1].details["after"] == "SCHEDULED"


def test_under_four_eyes_an_email_asked_for_a_time_waits_as_approval_pending(store_url: str) -> None:
    """Its maker wrote it (subject, template, audience): it is not scheduled until someone else approved it, and never by them."""
    _, draft_id, segment_id = _setup(store_url, leo_email(["Hello."]))
    at = START + timedelta(hours=2)
    with session_scope(store_url) as s:
        set_four_eyes(s, "acme", True, "owner")
        made = email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", at=at, now=NOW)
        ec_id = made.email_campaign.id
        assert made.created and made.approval_pending and made.email_campaign.status is EmailCampaignStatus.DRAFT
        assert made.email_campaign.scheduled_at is None and "approval pending" in made.note
        assert f"campaigns email approve --campaign {ec_id}" in made.note
        with pytest.raises(NotApprovedError):  # nor can anyone schedule it while its approval is pending
            scheduling.schedule_broadcast(s, "acme", ec_id, at, "bo", now=NOW)
    with session_scope(store_url) as s:
        again = email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", at=at, now=NOW)
        assert not again.created and again.approval_pending and again.email_campaign.status is EmailCampaignStatus.DRAFT
        with pytest.raises(FourEyesError):  # its maker cannot approve it
            broadcasts.approve_email_campaign(s, "acme", ec_id, "ana")
    with session_scope(store_url) as s:
        broadcasts.approve_email_campaign(s, "acme", ec_id, "bo")
        assert not email_from_draft(s, "acme", draft_id, segment_id=segment_id, template_name="Article", actor="ana", now=NOW).approval_pending
        assert scheduling.schedule_broadcast(s, "acme", ec_id, at, "bo", now=NOW).status is EmailCampaignStatus.SCHEDULED


def test_parse_and_markdown() -> None:
    with pytest.raises(EmailDeliveryError, match="must start with a 'Subject: ...' line"):
        parse_email_draft("Just a post")
    with pytest.raises(EmailDeliveryError, match="template braces"):
        parse_email_draft("Subject: Hi\nPreview: p\n\nHello {{ first_name }}")
    parsed = parse_email_draft("Subject: Hi\nPreview: p\n\nOne\n\nTwo\n\n--- html ---\n<p>ignored</p>")
    assert parsed.body_markdown == "One\n\nTwo"
    assert markdown.to_html("## Title\n\n[Go](javascript:alert(1))\n\nSee https://acme.example/x.") == (
        "<h2>Title</h2>\n<p>[Go](javascript:alert(1))</p>\n<p>See <a href=\"https://acme.example/x\">https://acme.example/x</a>.</p>")
    assert markdown.to_html("[Shop](https://acme.example/shop)") == '<p><a class="button" href="https://acme.example/shop">Shop</a></p>'
    assert markdown.to_html('a "<b onclick=x>"') == "<p>a &quot;&lt;b onclick=x&gt;&quot;</p>"
