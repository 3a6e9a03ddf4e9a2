"""An approved draft onto its channel, from the Content Studio and the campaign page: schedule a post, make an email
campaign, export the ads copy. Shells over the services of `campaigns content ...`; each control shows only to a role
whose action `ui.write` would allow (and `ui.write` checks again)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st
from sqlalchemy.orm import Session

from dashboards import queries, ui
from dashboards import formatting as fmt
from publishers.base import SOCIAL_PLATFORMS

# Start-up cost: Leo's export, the email templates and the posting-slot model take seconds to import; they load when a
# button is pressed, so the campaign page does not pay for them on every visit.

EXPORT_KEY = "content_ads_export"  # session state: {campaign id: AdsExport} of the last export asked for


def channel_of(content: dict[str, Any]) -> str:
    """social, email or ads for a campaign content row (channel, platform, content_type)."""
    if (content.get("platform") or content.get("channel") or "").lower() in SOCIAL_PLATFORMS:
        return "social"
    if (content.get("channel") or "").lower() == "email" or content.get("content_type") == "email":
        return "email"
    if content.get("content_type") == "ad" or (content.get("channel") or "").lower().endswith("_ads"):
        return "ads"
    return "other"


def _schedule(session: Session, merchant_id: str, content_id: int, account_id: int, actor: str, at: datetime | None) -> str:
    from campaigns.social.campaign_content import schedule_draft  # see the start-up note above

    item, note = schedule_draft(queries.settings(), session, merchant_id, content_id, account_id, actor=actor, at=at)
    return f"Queued cc-{content_id} as post {item.id} for {item.scheduled_at:%Y-%m-%d %H:%M} UTC: {note}."


def _to_email(session: Session, merchant_id: str, content_id: int, segment_id: int, template: str, actor: str) -> str:
    from campaigns.email.from_draft import email_from_draft  # see the start-up note above

    return email_from_draft(session, merchant_id, content_id, segment_id=segment_id, template_name=template, actor=actor).note


def _report(write: Callable[[], str]) -> None:
    """Run one `ui.write` and say on the next run what happened, or why not."""
    try:
        note = write()
    except (LookupError, ValueError, PermissionError) as exc:  # domain refusals and a refused role: a warning naming the fix
        ui.flash(f"That did not happen: {fmt.plain(exc)}", "warning")
    else:
        ui.flash(fmt.plain(note))
    st.rerun()


def _schedule_form(merchant_id: str, content: dict[str, Any], key: str) -> None:
    platform = (content.get("platform") or content.get("channel") or "").lower()
    accounts = [a for a in queries.social_accounts(queries.source(), merchant_id) if a["platform"] == platform and a["status"] == "ACTIVE"]
    if not accounts:
        st.caption(f"No active {fmt.plain(platform)} account: connect one on the Social Scheduler page, then schedule this post.")
        return
    by_id = {a["id"]: a for a in accounts}
    account_id = st.selectbox("Account", list(by_id), key=f"{key}_account", format_func=lambda i: f"{by_id[i]['handle']} ({by_id[i]['timezone']})")
    when = st.radio("When", ["Best time", "Chosen time"], key=f"{key}_when", horizontal=True)
    at = None
    if when == "Chosen time":
        zone = by_id[account_id]["timezone"]
        day_col, time_col = st.columns(2)
        day = day_col.date_input("Day", value=date.today() + timedelta(days=1), key=f"{key}_day")
        clock = time_col.time_input("Time", value=time(9), key=f"{key}_time", step=900)
        at = datetime.combine(day, clock, ZoneInfo(zone)).astimezone(UTC)
        st.caption(f"In {fmt.plain(zone)}, the account's time zone.")
    if st.button("Schedule", key=f"{key}_schedule", icon=":material/schedule_send:", type="primary"):
        _report(lambda: ui.write("content.schedule", _schedule, merchant_id, content["id"], account_id, ui.actor(), at))


def _email_form(merchant_id: str, content: dict[str, Any], key: str) -> None:
    segments = queries.saved_segments(queries.source(), merchant_id)
    templates = [t["name"] for t in queries.email_templates(queries.source(), merchant_id)]
    if not segments or not templates:
        st.caption("Needs a saved segment (Audiences page) and an email template with a {{ content }} slot "
                   "(Email Designer: install the starters for Article).")
        return
    names = {s["id"]: s["name"] for s in segments}
    segment_col, template_col = st.columns(2)
    segment_id = segment_col.selectbox("Segment", list(names), key=f"{key}_segment", format_func=lambda i: fmt.plain(names[i]))
    template = template_col.selectbox("Template", templates, key=f"{key}_template", index=templates.index("Article") if "Article" in templates else 0,
                                      format_func=fmt.plain)
    st.caption("The draft's subject, preview text and body go into the template's {{ content }} slot; once per draft.")
    if st.button("Make email campaign", key=f"{key}_email", icon=":material/forward_to_inbox:", type="primary"):
        _report(lambda: ui.write("content.to_email", _to_email, merchant_id, content["id"], segment_id, template, ui.actor()))


def draft_actions(merchant_id: str, content: dict[str, Any], key: str) -> None:
    """Schedule (social) or Make email campaign (email) for an APPROVED campaign content; nothing for other drafts or roles."""
    if content.get("status") != "APPROVED":
        return
    kind = channel_of(content)
    action = {"social": "content.schedule", "email": "content.to_email"}.get(kind)
    if action is None or not ui.can(action):
        return
    label = "Schedule" if kind == "social" else "Make email campaign"
    with st.expander(label, icon=":material/send:"):
        if kind == "social":
            _schedule_form(merchant_id, content, key)
        else:
            _email_form(merchant_id, content, key)


def export_ads_buttons(merchant_id: str, campaign_id: str, key: str) -> None:
    """Export ads: the campaign's approved ads copy as the Google Ads Editor and Meta bulk-upload CSV files, to download."""
    if not ui.can("content.export_ads"):
        return
    from agents.leo.ads_export import GOOGLE_FILE, META_FILE, export_ads  # see the start-up note above

    exports: dict[str, Any] = st.session_state.setdefault(EXPORT_KEY, {})  # campaign id -> AdsExport
    if st.button("Export ads", key=f"{key}_export", icon=":material/download:"):
        try:
            exports[campaign_id] = ui.write("content.export_ads", export_ads, merchant_id, campaign_id)
        except (LookupError, ValueError, PermissionError) as exc:
            st.warning(f"That did not happen: {fmt.plain(exc)}")
    report = exports.get(campaign_id)
    if report is None:
        return
    for repurposed_id, reason in report.skipped.items():
        st.caption(f"Skipped rc-{repurposed_id}: {fmt.plain(reason)}")
    if not report.exported:
        st.info("No approved ads copy to export yet: approve an ads draft first.", icon=":material/info:")
        return
    st.caption(f"{len(report.exported)} ad(s): import the files in Google Ads Editor and Meta Ads Manager.")
    google_col, meta_col = st.columns(2)
    google_col.download_button("Google Ads Editor CSV", report.google_csv, file_name=GOOGLE_FILE, mime="text/csv", key=f"{key}_google")
    meta_col.download_button("Meta bulk upload CSV", report.meta_csv, file_name=META_FILE, mime="text/csv", key=f"{key}_meta")
