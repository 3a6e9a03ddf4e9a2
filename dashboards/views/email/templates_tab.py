"""Email Designer, templates tab: gallery picker, editor with line-numbered problems, live preview, save, test send.

The preview is shown inside an ``<iframe sandbox>`` with no permissions (no scripts, no same-origin),
nested in the iframe `st.components.v1.html` creates: that outer frame allows scripts and same-origin,
and `st.html` would put the email's HTML and <style> straight into the app's page, so neither alone
isolates a template's markup.
"""

from __future__ import annotations

import html as html_lib

import streamlit as st
import streamlit.components.v1 as components
from sqlalchemy import select

from campaigns.email import template_engine as tpl
from campaigns.email.gallery import starters
from campaigns.email.layout import LAYOUTS, with_layout
from campaigns.email import templates as service
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.rendering import render_for_recipient
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, Merchant
from dashboards import ui

NEW = "(new template)"


def sandboxed_frame(html: str, height: int = 640) -> str:
    """The email inside an iframe with an empty sandbox: it can show itself, nothing more."""
    return (f'<iframe sandbox="" title="email preview" style="width:100%;height:{height - 20}px;border:1px solid #ddd;border-radius:6px;" '
            f'srcdoc="{html_lib.escape(html, quote=True)}"></iframe>')


def _load(url: str, merchant_id: str) -> tuple[str, list[dict], list[tuple[int, str]]]:
    with session_scope(url) as session:
        merchant = session.get(Merchant, merchant_id)
        templates = [{"name": t.name, "html": t.html, "subject": t.subject, "category": t.category, "layout": t.layout}
                     for t in service.list_templates(session, merchant_id)]
        contacts = [(c.id, f"{c.first_name} {c.last_name} <{c.email}>".strip())
                    for c in session.scalars(select(Contact).where(Contact.merchant_id == merchant_id).order_by(Contact.id).limit(200))]
    return (merchant.name if merchant else merchant_id), templates, contacts


def _fill_editor(source: dict) -> None:
    st.session_state.update(tpl_name=source.get("name", ""), tpl_html=source["html"], tpl_subject=source.get("subject", ""),
                            tpl_category=source.get("category", "marketing"), tpl_layout=source.get("layout", "base"))


def render(merchant_id: str) -> None:
    ui.show_flash()
    settings = get_settings()
    url = settings.store_url
    merchant_name, templates, contacts = _load(url, merchant_id)
    by_name = {t["name"]: t for t in templates}

    if "tpl_html" not in st.session_state and templates:
        # first visit: open the first saved template, so the page starts with a preview instead of a blank editor
        _fill_editor(templates[0])
        st.session_state["tpl_pick"] = templates[0]["name"]
    pick, gallery = st.columns(2)
    chosen = pick.selectbox("Template", [NEW, *by_name], key="tpl_pick")
    if pick.button("Open", key="tpl_open", icon=":material/folder_open:") and chosen != NEW:
        _fill_editor(by_name[chosen])
    items = {s.name: s for s in starters()}
    start = gallery.selectbox("Start from the gallery", list(items), key="tpl_gallery", help="Five starters for the base layout.")
    if gallery.button("Use starter", key="tpl_use_starter", icon=":material/auto_awesome:"):
        item = items[start]
        _fill_editor({"name": item.name, "html": item.html, "subject": item.subject, "category": item.category, "layout": item.layout})
    if not templates:
        ui.empty_state("No email templates yet: pick a starter above and save it, or run `campaigns email templates install-starters`.")

    ui.seed("tpl_html", "")
    ui.seed("tpl_name", "")
    ui.seed("tpl_subject", "")
    ui.seed("tpl_category", "marketing")
    ui.seed("tpl_layout", "base")
    edit, show = st.columns([1, 1])
    with edit:
        st.text_input("Name", key="tpl_name")
        st.text_input("Subject", key="tpl_subject", help='Merge tags work, e.g. {{ first_name | default("there") }}')
        left, right = st.columns(2)
        left.selectbox("Category", tpl.CATEGORIES, key="tpl_category", help="Marketing email needs an unsubscribe link.")
        right.selectbox("Layout", LAYOUTS, key="tpl_layout", help="base: responsive 600px layout with footer and unsubscribe.")
        st.text_area("HTML", key="tpl_html", height=420,
                     help=f"Merge tags: {tpl.known_tags()}. Defaults: {{{{ first_name | default(\"there\") }}}}.")
    source, subject = st.session_state["tpl_html"], st.session_state["tpl_subject"]
    category, layout = st.session_state["tpl_category"], st.session_state["tpl_layout"]
    problems = tpl.check_template(source, category=category, subject=subject, layout=layout) if source.strip() else []
    with edit:
        if problems:
            st.markdown(f"**{len(problems)} problem(s)**")
            for problem in problems:
                ui.field_error(str(problem))
        elif source.strip():
            st.caption(":green[:material/check_circle: no problems]")
        if st.button("Save template", key="tpl_save", type="primary", disabled=not source.strip() or bool(problems)):
            try:
                with session_scope(url) as session:
                    service.save_template(session, merchant_id, st.session_state["tpl_name"], source, actor=ui.ACTOR, subject=subject,
                                          category=category, layout=layout)
                ui.flash(f"Saved template “{st.session_state['tpl_name']}”.")
                st.rerun()
            except (ValueError, LookupError) as exc:
                ui.field_error(str(exc))
    with show:
        labels = {"Sample contact": None, **{label: cid for cid, label in contacts}}
        who = st.selectbox("Preview for", list(labels), key="tpl_contact")
        if source.strip() and not problems:
            try:
                rendered = tpl.render_email(subject or st.session_state["tpl_name"] or "Preview", "", with_layout(source, layout), merchant_name,
                                            category=category)
                person = dict(service.SAMPLE_CONTACT)
                if labels[who] is not None:
                    with session_scope(url) as session:
                        contact = session.get(Contact, labels[who])
                        person = {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email,
                                  "attributes": dict(contact.attributes or {})}
                snapshot = tpl.merge_snapshot(person["first_name"], person["last_name"], person["email"], person.get("attributes"), rendered)
                filled = render_for_recipient(rendered, snapshot, service.PREVIEW_UNSUBSCRIBE)
                st.markdown(f"**Subject:** {html_lib.escape(filled.subject)}")
                components.html(sandboxed_frame(filled.html), height=640)
                with st.expander("Text part"):
                    st.code(filled.text, language=None)
            except Exception as exc:  # a template that passed the check but fails to render: show why, keep the editor
                ui.field_error(f"does not render: {exc}")
        else:
            st.caption("The preview appears when the template has no problems.")
        saved = st.session_state["tpl_name"] in by_name
        to = st.text_input("Send a test to", key="tpl_test_to", placeholder="you@example.com")
        if st.button("Send test", key="tpl_test_send", disabled=not saved or not to,
                     help="Saves nothing; uses the configured provider (the sandbox outbox by default)." if saved else "Save the template first."):
            try:
                with session_scope(url) as session:
                    sent = service.send_test(session, settings, merchant_id, to=to, actor=ui.ACTOR, template=st.session_state["tpl_name"],
                                             contact_id=labels[who])
                st.success(f"Test sent to {sent.to} via {sent.provider}.")
            except (ValueError, LookupError, EmailDeliveryError) as exc:
                ui.field_error(str(exc))
