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

from campaigns.email import template_engine as tpl
from campaigns.email import templates as service
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.gallery import starters
from campaigns.email.layout import LAYOUTS, with_layout
from campaigns.email.rendering import render_for_recipient
from dashboards import formatting as fmt
from dashboards import queries, ui

NEW = "(new template)"


def sandboxed_frame(html: str, height: int = 640) -> str:
    """The email inside an iframe with an empty sandbox: it can show itself, nothing more."""
    return (f'<iframe sandbox="" title="email preview" style="width:100%;height:{height - 20}px;border:1px solid #ddd;border-radius:6px;" '
            f'srcdoc="{html_lib.escape(html, quote=True)}"></iframe>')


def _fill_editor(source: dict) -> None:
    st.session_state.update(tpl_name=source.get("name", ""), tpl_html=source["html"], tpl_subject=source.get("subject", ""),
                            tpl_category=source.get("category", "marketing"), tpl_layout=source.get("layout", "base"))


def render(merchant_id: str) -> None:
    ui.show_flash()
    source, settings = queries.source(), queries.settings()
    merchant_name = ui.merchant_profile(merchant_id)["name"]
    templates = queries.email_templates(source, merchant_id)
    contacts = queries.preview_contacts(source, merchant_id)
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
    html, subject = st.session_state["tpl_html"], st.session_state["tpl_subject"]
    category, layout = st.session_state["tpl_category"], st.session_state["tpl_layout"]
    problems = tpl.check_template(html, category=category, subject=subject, layout=layout) if html.strip() else []
    with edit:
        if problems:
            st.markdown(f"**{len(problems)} problem(s)**")
            for problem in problems:
                ui.field_error(str(problem))
        elif html.strip():
            st.caption(":green[:material/check_circle: no problems]")
        for warning in tpl.sanitize_html(html)[1]:  # stripped on save and on every send
            st.warning(f"{warning}; they are stripped when the template is saved.", icon=":material/shield:")
        if st.button("Save template", key="tpl_save", type="primary", disabled=not html.strip() or bool(problems)):
            try:
                ui.write("template.save", service.save_template, merchant_id, st.session_state["tpl_name"], html, actor=ui.actor(), subject=subject,
                         category=category, layout=layout)
                ui.flash(f"Saved template “{fmt.plain(st.session_state['tpl_name'])}”.")
                st.rerun()
            except (ValueError, LookupError) as exc:
                ui.field_error(str(exc))
    with show:
        labels = {"Sample contact": None, **{label: cid for cid, label in contacts}}
        who = st.selectbox("Preview for", list(labels), key="tpl_contact")
        if html.strip() and not problems:
            try:
                rendered = tpl.render_email(subject or st.session_state["tpl_name"] or "Preview", "", with_layout(html, layout), merchant_name,
                                            category=category)
                person = dict(service.SAMPLE_CONTACT)
                if labels[who] is not None:
                    person = queries.merge_contact(source, merchant_id, labels[who]) or person
                snapshot = tpl.merge_snapshot(person["first_name"], person["last_name"], person["email"], person.get("attributes"), rendered)
                filled = render_for_recipient(rendered, snapshot, service.PREVIEW_UNSUBSCRIBE)
                st.markdown(f"**Subject:** {fmt.plain(filled.subject)}")
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
                sent = ui.write("template.send_test", service.send_test, settings, merchant_id, to=to, actor=ui.actor(), template=st.session_state["tpl_name"],
                                contact_id=labels[who])
                st.success(f"Test sent to {sent.to} via {sent.provider}.")
            except (ValueError, LookupError, EmailDeliveryError) as exc:
                ui.field_error(str(exc))
