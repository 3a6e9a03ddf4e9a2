"""Email templates of a merchant: save (checked), list, install the starter gallery, preview for a contact, send a test.

* Saving refuses a template with problems (`TemplateProblemsError` lists them with line numbers and fixes);
  marketing templates need an unsubscribe link (the base layout's footer counts).
* A preview is exactly what the contact would get: the same rendering and per-recipient fill as a send.
  Its unsubscribe link is a real signed one when CAMPAIGNS_TOKEN_KEY is set (clicking it unsubscribes the
  contact, as the real email's would); otherwise a marked preview address that unsubscribes nobody.
* A test send goes to one address through the configured provider (the sandbox outbox by default). It writes
  no `email_sends` row and does not count as the campaign's send; its unsubscribe link is deliberately
  inert (``?test-send=1``), so a tester cannot unsubscribe the contact whose data filled it. Audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.email import template_engine as tpl
from campaigns.email.gallery import starters
from campaigns.email.layout import LAYOUTS
from campaigns.email import config, rendering
from campaigns.email.broadcasts import get_email_campaign
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.audiences.suppression import MissingUnsubscribeKeyError, UnsubscribeClaim, signer_from_settings, unsubscribe_url
from campaigns.core.settings import Settings
from campaigns.core.store.models import Contact, EmailTemplate
from publishers import build_email_publisher
from publishers.base import EmailMessage, EmailRecipient

log = logging.getLogger(__name__)

PREVIEW_UNSUBSCRIBE = "https://unsubscribe.preview.invalid/unsubscribe?preview=1"
SAMPLE_CONTACT = {"first_name": "Alex", "last_name": "Sample", "email": "alex.sample@example.com"}
TemplateProblemsError = tpl.TemplateProblemsError


class EmailTemplateNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str
    to: str
    unsubscribe_url: str
    signed: bool  # a working signed unsubscribe link, not the preview placeholder


# --- templates ---------------------------------------------------------------------------------


def list_templates(session: Session, merchant_id: str) -> list[EmailTemplate]:
    return list(session.scalars(select(EmailTemplate).where(EmailTemplate.merchant_id == merchant_id).order_by(EmailTemplate.name)))


def get_template(session: Session, merchant_id: str, ref: str | int) -> EmailTemplate:
    """`ref`: a template id or its name."""
    query = select(EmailTemplate).where(EmailTemplate.merchant_id == merchant_id)
    text = str(ref).strip()
    found = session.scalar(query.where(EmailTemplate.id == int(text))) if text.isdigit() else None
    found = found or session.scalar(query.where(EmailTemplate.name == text))
    if found is None:
        known = ", ".join(t.name for t in list_templates(session, merchant_id)) or "none yet"
        raise EmailTemplateNotFoundError(f"no email template {text!r} for merchant {merchant_id!r} (known: {known}); "
                                         "add one with `campaigns email templates add` or install the starters")
    return found


def save_template(session: Session, merchant_id: str, name: str, html: str, *, actor: str, subject: str = "", category: str = "marketing",
                  layout: str = "base", description: str = "", starter_key: str | None = None) -> EmailTemplate:
    """Create or update the template called `name`; refuses (TemplateProblemsError) when it has problems."""
    require_merchant(session, merchant_id)
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("name: give the template a name of 1 to 200 characters")
    if len(subject) > 300:
        raise ValueError("subject: at most 300 characters; shorten it")
    if layout not in LAYOUTS:
        raise ValueError(f"layout: use one of {', '.join(LAYOUTS)}")
    if not html.strip():
        raise ValueError("html: the template is empty; write the body or start from a gallery template")
    html, removed = tpl.sanitize_html(html)  # stored without scripts and event handlers; callers show `removed` first
    if removed:
        log.warning("template %r of merchant %s: %s", name, merchant_id, "; ".join(removed))
    if problems := tpl.check_template(html, category=category, subject=subject, layout=layout):
        raise TemplateProblemsError(problems, f"template {name!r}")
    template = session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == merchant_id, EmailTemplate.name == name))
    action = "email_template.update" if template is not None else "email_template.create"
    if template is None:
        template = EmailTemplate(merchant_id=merchant_id, name=name)
        session.add(template)
    template.html, template.subject, template.category, template.layout = html, subject.strip(), category, layout
    template.description = description or template.description or ""
    if starter_key is not None:
        template.starter = starter_key
    session.flush()
    record(session, merchant_id, actor, action, "email_template", str(template.id), name=name, category=category, layout=layout)
    return template


def install_starters(session: Session, merchant_id: str, actor: str = "system") -> list[EmailTemplate]:
    """Add the gallery's templates the merchant does not have yet (by name); returns the ones added. Idempotent."""
    require_merchant(session, merchant_id)
    have = {t.name for t in list_templates(session, merchant_id)}
    added = []
    for item in starters():
        if item.name not in have:
            added.append(save_template(session, merchant_id, item.name, item.html, actor=actor, subject=item.subject, category=item.category,
                                       layout=item.layout, description=item.description, starter_key=item.key))
    return added




# --- preview and test send ----------------------------------------------------------------------


def _source(session: Session, merchant_id: str, email_campaign_id: int | None, template: str | int | None) -> tuple[str, str, str, str, int | None]:
    """(subject, preview text, source, category, email campaign id) of what is previewed."""
    if (email_campaign_id is None) == (template is None):
        raise ValueError("preview either an email campaign or a template, not both or neither")
    if email_campaign_id is not None:
        ec = get_email_campaign(session, merchant_id, email_campaign_id)
        return ec.subject, ec.preview_text, rendering.template_html(session, ec), "marketing", ec.id
    found = get_template(session, merchant_id, template)  # type: ignore[arg-type]
    return found.subject or found.name, "", rendering.template_body(found), found.category, None


def _contact(session: Session, merchant_id: str, contact_id: int | None) -> dict[str, Any]:
    if contact_id is None:
        return dict(SAMPLE_CONTACT)
    contact = session.scalar(select(Contact).where(Contact.merchant_id == merchant_id, Contact.id == contact_id))
    if contact is None:
        raise LookupError(f"no contact {contact_id} for merchant {merchant_id!r}; pick one from the Audiences page or `campaigns` imports")
    return {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email, "attributes": dict(contact.attributes or {})}


def _render(subject: str, preview_text: str, source: str, category: str, merchant_name: str) -> tpl.RenderedEmail:
    if category == "marketing":
        return rendering.render_campaign(subject, preview_text, source, merchant_name)  # exactly the send path
    return tpl.render_email(subject, preview_text, source, merchant_name, category=category)


def preview(session: Session, merchant_id: str, *, contact_id: int | None, email_campaign_id: int | None = None, template: str | int | None = None,
            settings: Settings | None = None) -> Preview:
    """Subject, HTML and text exactly as the contact would get them (a sample contact when `contact_id` is None)."""
    merchant = require_merchant(session, merchant_id)
    subject, preview_text, source, category, ec_id = _source(session, merchant_id, email_campaign_id, template)
    rendered = _render(subject, preview_text, source, category, merchant.name)
    person = _contact(session, merchant_id, contact_id)
    snapshot = tpl.merge_snapshot(person["first_name"], person["last_name"], person["email"], person.get("attributes"), rendered)
    link, signed = PREVIEW_UNSUBSCRIBE, False
    if settings is not None and contact_id is not None:
        try:
            token = signer_from_settings(settings).sign(UnsubscribeClaim(merchant_id, contact_id, ec_id, None))
            link, signed = unsubscribe_url(settings.public_url or config.SANDBOX_PUBLIC_URL, token), True
        except MissingUnsubscribeKeyError:
            pass
    filled = rendering.render_for_recipient(rendered, snapshot, link)
    return Preview(filled.subject, filled.html, filled.text, person["email"], link, signed)


@dataclass(frozen=True)
class TestSend:
    to: str
    provider: str
    message_id: str
    subject: str


def send_test(session: Session, settings: Settings, merchant_id: str, *, to: str, actor: str, email_campaign_id: int | None = None,
              template: str | int | None = None, contact_id: int | None = None, provider: str | None = None, publisher: Any = None) -> TestSend:
    """Send one copy to `to`, filled with `contact_id`'s values (or a sample contact). No email_sends row; audited."""
    provider = provider or settings.email_provider
    merchant = require_merchant(session, merchant_id)
    subject, preview_text, source, category, ec_id = _source(session, merchant_id, email_campaign_id, template)
    rendered = _render(subject, preview_text, source, category, merchant.name)
    person = _contact(session, merchant_id, contact_id)
    snapshot = tpl.merge_snapshot(person["first_name"], person["last_name"], person["email"], person.get("attributes"), rendered)
    config.check_config(settings, provider, merchant.name)
    _signer, credentials, sender, public_url, mailto = config.provider_config(settings, provider, merchant.name, None, None, None)
    try:
        recipient = EmailRecipient(email=to.strip(), name="", unsubscribe_url=f"{public_url}/unsubscribe?test-send=1",
                                   variables=rendered.recipient_values(snapshot))
    except ValueError as exc:
        raise ValueError(f"--to: {to!r} is not an email address like ana@example.com") from exc
    message = EmailMessage(sender=sender, subject=f"[TEST] {rendered.subject}"[:300], html=rendered.html, text=rendered.text,
                           recipients=(recipient,), unsubscribe_mailto=mailto, tag=f"email-test-{ec_id if ec_id else 'template'}")
    if publisher is None:
        publisher = build_email_publisher(settings.publisher_config(), provider)  # type: ignore[arg-type]
    receipt = publisher.publish(message, credentials)
    entity = ("email_campaign", str(ec_id)) if ec_id else ("email_template", str(get_template(session, merchant_id, template).id))  # type: ignore[arg-type]
    record(session, merchant_id, actor, "email.test_send", *entity, to=to.strip(), provider=provider, message_id=receipt.post_id,
           contact_id=contact_id, sandbox=receipt.sandbox)
    return TestSend(to.strip(), provider, receipt.post_id, message.subject)
