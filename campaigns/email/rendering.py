"""What an email campaign looks like: its source (template in its layout, or the built-in body) and its rendering.

Rendering (campaigns.email.template_engine: static check, Jinja2's immutable sandbox with HTML autoescaped
and StrictUndefined, the base layout, inlined CSS, a generated text part) turns the campaign once per
batch into the provider's per-recipient placeholder form (``{{first_name}}``); the publisher then fills each recipient's
values (SMTP locally with HTML escaping, SendGrid substitutions, Mailgun recipient variables),
so 1,000 recipients stay one SendGrid request. Merge tags: first_name, last_name, email,
unsubscribe_url (per recipient) and merchant_name, subject, preview_text (per campaign).
With CAMPAIGNS_EMAIL_TRACKING on, the rendered HTML also gets an open pixel and click redirects
(campaigns.email.tracking), filled per recipient as open_url and click_url next to the unsubscribe URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.store.models import EmailCampaign, EmailTemplate
from campaigns.email import template_engine as email_templates
from campaigns.email.errors import EmailTemplateError
from campaigns.email.layout import with_content, with_layout
from publishers.base import fill_placeholders, placeholder_pattern

MERGE_FIELDS = ("first_name", "last_name", "email")

DEFAULT_HTML = """<div style="display:none">{{ preview_text }}</div>
<p>Hi {{ first_name }},</p>
<p>{{ subject }}</p>
<p style="font-size:12px;color:#666">You get this email from {{ merchant_name }}.
<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"""


def template_body(template: EmailTemplate | None) -> str:
    """The source an email is rendered from: the template inside its layout, or the built-in body.

    Every check (create, activate, preview) and every send renders this same source; the layout
    rides along as a first-line Jinja comment, so the approval hash covers it too.
    """
    return with_layout(template.html, template.layout) if template is not None and template.html.strip() else DEFAULT_HTML


def template_html(session: Session, ec: EmailCampaign) -> str:
    """What the email campaign is rendered (and approved) from: its template's source, carrying its body when it has one."""
    if ec.template_id is None:
        return with_content(DEFAULT_HTML, ec.body_markdown or "")
    template = session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == ec.merchant_id, EmailTemplate.id == ec.template_id))
    return with_content(template_body(template), ec.body_markdown or "")


# Rendering lives in campaigns.email.template_engine (static check, immutable sandbox, layout, CSS inlining, text part);
# this module adapts it to email campaigns, which are marketing mail and so always need an unsubscribe link.
RenderedCampaign = email_templates.RenderedEmail


def render_campaign(subject: str, preview_text: str, template_html: str, merchant_name: str) -> RenderedCampaign:
    """Subject, HTML and text with per-recipient placeholders; `template_html` may start with the base-layout directive."""
    try:
        rendered = email_templates.render_email(subject, preview_text, template_html, merchant_name, category="marketing")
    except (email_templates.TemplateProblemsError, TemplateError) as exc:
        problems = "; ".join(map(str, email_templates.problems_of(exc)))
        raise EmailTemplateError(f"the subject or template does not render ({problems}); merge tags are {email_templates.known_tags()}") from None
    text = rendered.text
    if "{{unsubscribe_url}}" not in text:
        text += "\n\nUnsubscribe: {{unsubscribe_url}}"
    allowed = {*rendered.merge, *MERGE_FIELDS, "unsubscribe_url"}
    for part in (rendered.subject, rendered.html, text):
        if stray := {m.group(1) for m in placeholder_pattern().finditer(part)} - allowed:
            raise EmailTemplateError(f"the rendered email still holds {{{{ {', '.join(sorted(stray))} }}}}; remove the braces from the subject or preview text")
    if not rendered.subject:
        raise EmailTemplateError("the subject renders empty; write a subject line")
    return RenderedCampaign(rendered.subject, rendered.html, text, rendered.merge, rendered.warnings)


def display_name(values: Mapping[str, str]) -> str:
    """The To header's display name from the merge values."""
    name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
    return re.sub(r'[,;:<>"()\[\]\\@]', "", name).strip()  # a comma would split the To header into two addresses


def render_for_recipient(rendered: RenderedCampaign, values: Mapping[str, str], unsubscribe: str) -> RenderedCampaign:
    """What one recipient sees (for previews and tests); the publishers do the same substitution."""
    merged = {**rendered.recipient_values(values), "unsubscribe_url": unsubscribe}  # defaults and filters applied per recipient
    return RenderedCampaign(fill_placeholders(rendered.subject, merged), fill_placeholders(rendered.html, merged, escape=True),
                            fill_placeholders(rendered.text, merged))
