"""Email Designer, Broadcasts tab: create a broadcast (with its segment's live size), send a test, schedule or send it now,
and watch its recipients and results.

Everything goes through the email context's services, as `campaigns email ...` does: creating writes a DRAFT
(`broadcasts.create_email_campaign`), a test goes to one address and records no recipient (`templates.send_test`),
scheduling and sending now are `scheduling.schedule_broadcast` and `scheduling.send_now` behind a confirmation that
says how many recipients and when; the email job then delivers each recipient once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from campaigns.email import broadcasts, scheduling
from campaigns.email import templates as email_templates
from campaigns.email.errors import EmailFieldError, EmailTemplateError
from campaigns.email.review import REVIEW_HINT
from dashboards import charts, queries, ui, wizard
from dashboards import formatting as fmt
from publishers.errors import PublishError

PICK_KEY = "bc_pick"
PENDING_KEY = "bc_pending"
CAMPAIGN_KEY = "bc_campaign"
OPEN_FOR_KEY = "bc_open_for"  # the campaign page sets it to a campaign id: the form opens on that campaign
FIELDS = ("campaign", "template", "segment", "subject", "preview_text", "send_window_hours")
LEFT_OUT = {"no_consent": "without confirmed consent", "unsubscribed": "unsubscribed", "bounced": "bounced", "complained": "complained",
            "manual": "suppressed by hand"}
REFUSALS = (ValueError, LookupError, PermissionError, PublishError)  # domain refusals, a refused role, not approved, a provider's no


def _size_line(size: dict[str, Any]) -> str:
    left_out = ", ".join(f"{n:,} {LEFT_OUT.get(code, code)}" for code, n in sorted(size["excluded"].items()))
    return f"Reaches **{size['reachable']:,}** contacts now" + (f" of {size['total']:,} in the segment (left out: {left_out})" if left_out else "")


def _choices(merchant_id: str) -> tuple[dict[str, str], dict[int, str], list[str]]:
    source = queries.source()
    frame = queries.campaigns(source, merchant_id)
    campaigns = dict(zip(frame["id"].to_list(), frame["name"].to_list(), strict=True))
    segments = {g["id"]: g["name"] for g in queries.saved_segments(source, merchant_id)}
    return campaigns, segments, [t["name"] for t in queries.email_templates(source, merchant_id)]


# --- create ----------------------------------------------------------------------------------------
def new_broadcast(merchant_id: str, campaigns: dict[str, str], segments: dict[int, str], templates: list[str], expanded: bool) -> None:
    with st.expander("New broadcast", expanded=expanded, icon=":material/add:"):
        if not campaigns or not segments:
            ui.empty_state("A broadcast needs a campaign and a saved segment: create a campaign, save a segment in the Audience tab, "
                           "then come back.")
            return
        slots: dict[str, Any] = {}
        if st.session_state.get(CAMPAIGN_KEY) not in campaigns:
            st.session_state.pop(CAMPAIGN_KEY, None)
        left, right = st.columns(2)
        with left:
            campaign_id = st.selectbox("Campaign", list(campaigns), key=CAMPAIGN_KEY, format_func=lambda c: campaigns[c])
            slots["campaign"] = st.empty()
            template = st.selectbox("Template", [None, *templates], key="bc_template", format_func=lambda t: t or "built-in short body",
                                    help="Templates are written and previewed in the Templates tab.")
            slots["template"] = st.empty()
        with right:
            segment_id = st.selectbox("Segment", list(segments), key="bc_segment", format_func=lambda g: segments[g])
            try:
                st.caption(_size_line(queries.audience_size(queries.source(), merchant_id, segment_id)),
                           help="Contacts of the segment now, each mailbox once, without the suppression list, the unsubscribed "
                                "and contacts who have not confirmed: the same count a send takes.")
            except (ValueError, LookupError) as exc:  # a segment whose rules no longer read
                ui.field_error(str(exc))
            slots["segment"] = st.empty()
        ui.seed("bc_subject", "")
        ui.seed("bc_preview", "")
        subject = st.text_input("Subject", key="bc_subject", help='Merge tags work, e.g. {{ first_name | default("there") }}.')
        slots["subject"] = st.empty()
        preview_text = st.text_input("Preview text", key="bc_preview", help="The line inboxes show after the subject (at most 150 characters).")
        slots["preview_text"] = st.empty()
        window_on = st.checkbox("Send-time optimisation", key="bc_window_on",
                                help="Each contact gets the email at their best hour within the window, instead of all at once.")
        hours = st.number_input("Send window (hours)", min_value=1, max_value=72, value=24, key="bc_window", disabled=not window_on)
        slots["send_window_hours"] = st.empty()
        if not ui.can("email.create"):
            st.caption("Creating emails needs the marketer or owner role.")
            return
        if not st.button("Create broadcast", key="bc_create", type="primary", icon=":material/drafts:"):
            return
        try:
            created = ui.write("email.create", broadcasts.create_email_campaign, merchant_id, campaign_id=campaign_id, segment_id=segment_id,
                               subject=subject, actor=ui.actor(), template_name=template, preview_text=preview_text,
                               send_window_hours=int(hours) if window_on else None)
        except EmailFieldError as exc:
            with slots.get(exc.field, st.container()):
                ui.field_error(str(exc))
            return
        except EmailTemplateError as exc:  # the subject or preview text does not render
            with slots["subject"]:
                ui.field_error(str(exc))
            return
        except REFUSALS as exc:
            ui.field_error(str(exc))
            return
        st.session_state[PICK_KEY] = created.id
        ui.flash(f"Created broadcast #{created.id} (DRAFT). Send yourself a test below, then schedule it or send it now.")
        st.rerun()


# --- watch -----------------------------------------------------------------------------------------
def watch(merchant_id: str, item: dict[str, Any], tz: str) -> None:
    source = queries.source()
    head, refresh = st.columns([5, 1], vertical_alignment="center")
    when = {"SCHEDULED": f" · goes out {fmt.moment(item['scheduled_at'], tz)}", "SENT": f" · sent {fmt.moment(item['sent_at'], tz)}"}
    head.markdown(f"{fmt.status_badge(item['status'])} **#{item['id']} {fmt.plain(item['subject'])}**{when.get(item['status'], '')}")
    if refresh.button("Refresh", key="bc_refresh", icon=":material/refresh:", help="Read the counts again (they also refresh every minute)."):
        queries.broadcast_progress.clear()
        queries.email_broadcasts.clear()
        st.rerun()
    progress = queries.broadcast_progress(source, merchant_id, item["id"])
    if not progress["total"]:
        st.caption("No recipients yet: they are fixed when the email is sent (now, or at its scheduled time).")
        return
    counts = {"queued": progress["pending"] + progress["sending"], "sent": progress["sent"], "failed": progress["failed"],
              "needs review": progress["needs_review"], "suppressed": progress["suppressed"]}
    for column, (label, n) in zip(st.columns(len(counts)), counts.items(), strict=True):
        column.metric(label.capitalize(), fmt.number(n), border=True)
    st.altair_chart(charts.email_status_bars(counts), width="stretch")
    if counts["needs review"]:
        st.caption(f"{counts['needs review']} recipients may or may not have got it: {fmt.plain(REVIEW_HINT)}")
    engagement = {"Opened": progress["opened"], "Clicked": progress["clicked"], "Bounced": progress["bounced"],
                  "Unsubscribed": progress["unsubscribed"]}
    for column, (label, n) in zip(st.columns(len(engagement)), engagement.items(), strict=True):
        column.metric(label, fmt.number(n), border=True)
    if not any(engagement.values()):
        st.caption("Opens and clicks arrive with CAMPAIGNS_EMAIL_TRACKING on; bounces and unsubscribes from the provider's webhooks.")


# --- test, schedule, send --------------------------------------------------------------------------
def test_send(merchant_id: str, item: dict[str, Any]) -> None:
    if not ui.can("email.send_test"):
        return
    me = ui.viewer()
    ui.seed("bc_test_to", me.email if me else "")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    to = left.text_input("Send a test to", key="bc_test_to",
                         help="One copy with a sample contact's values, subject marked [TEST], through the configured provider. "
                              "It is not a send to the segment and records no recipient.")
    slot = st.empty()
    if right.button("Send test", key="bc_test_send", icon=":material/send:"):
        try:
            sent = ui.write("email.send_test", email_templates.send_test, queries.settings(), merchant_id, to=to, actor=ui.actor(),
                            email_campaign_id=item["id"])
        except REFUSALS as exc:
            with slot:
                ui.field_error(str(exc))
            return
        where = " (the sandbox outbox: nothing left this machine)" if sent.provider == "sandbox" else ""
        slot.success(f"Test sent to {fmt.plain(sent.to)} via {sent.provider}{where}.", icon=":material/mark_email_read:")


def send_controls(merchant_id: str, item: dict[str, Any], tz: str, segments: dict[int, str]) -> None:
    pending = st.session_state.get(PENDING_KEY)
    if pending and pending["id"] == item["id"]:
        confirm(merchant_id, item, tz, segments, pending)
        return
    if item["status"] == "SCHEDULED" and ui.can("email.unschedule") and st.button("Unschedule", key="bc_unschedule", icon=":material/event_busy:"):
        ui.change("email.unschedule", scheduling.unschedule_broadcast, merchant_id, item["id"], ui.actor(),
                  done=f"Broadcast #{item['id']} is a DRAFT again: it will not go out on its own.", refused="Not unscheduled")
    may_schedule, may_send = ui.can("email.schedule"), ui.can("email.send_now")
    if not (may_schedule or may_send):
        st.caption("Scheduling and sending need the approver or owner role.")
        return
    tomorrow = datetime.now(ZoneInfo(tz)).date() + timedelta(days=1)
    day_col, time_col, schedule_col, now_col = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    day = day_col.date_input(f"Send on ({tz})", value=tomorrow, key=f"bc_day_{item['id']}", format="YYYY-MM-DD")
    at_time = time_col.time_input("At", value=time(9, 0), key=f"bc_time_{item['id']}", step=900)
    slot = st.empty()
    if may_schedule and schedule_col.button("Schedule…", key="bc_schedule", icon=":material/schedule_send:"):
        at = wizard.to_utc(day, at_time, tz)
        if at is None or at <= datetime.now(UTC):  # asked before the confirmation; the service checks it again
            with slot:
                ui.field_error(f"send at: {fmt.moment(at, tz)} is not in the future; pick a later time, or send now")
        else:
            st.session_state[PENDING_KEY] = {"id": item["id"], "action": "schedule", "at": at.isoformat()}
            st.rerun()
    if may_send and now_col.button("Send now…", key="bc_send_now", icon=":material/send:"):
        st.session_state[PENDING_KEY] = {"id": item["id"], "action": "send_now"}
        st.rerun()


def _audience(merchant_id: str, item: dict[str, Any], segments: dict[int, str]) -> tuple[str, str]:
    """(who it goes to, how it is spread) in words, with the segment's live size."""
    segment = segments.get(item["segment_id"], f"#{item['segment_id']}")
    size = queries.audience_size(queries.source(), merchant_id, item["segment_id"]) if item["segment_id"] else {"reachable": 0, "total": 0}
    who = (f"the contacts of segment “{fmt.plain(segment)}” who are reachable then: **{size['reachable']:,}** right now "
           f"({size['total'] - size['reachable']:,} left out: on the suppression list, unsubscribed or not confirmed)")
    return who, f", each contact at their best hour within {item['send_window_hours']} h" if item["send_window_hours"] else ""


def confirm(merchant_id: str, item: dict[str, Any], tz: str, segments: dict[int, str], pending: dict[str, Any]) -> None:
    who, spread = _audience(merchant_id, item, segments)
    subject = fmt.plain(item["subject"])
    if pending["action"] == "schedule":
        at = datetime.fromisoformat(pending["at"])
        question = (f"**Schedule broadcast #{item['id']} “{subject}” for {fmt.moment(at, tz)}?** It goes to {who}. "
                    f"The recipients are fixed at that moment and the email job delivers them{spread}. You can unschedule it until then.")
        if ui.confirm(question, action="email.schedule", key="bc", pending=PENDING_KEY, yes="Yes, schedule", icon=":material/schedule_send:") is None:
            return
        try:
            ui.write("email.schedule", scheduling.schedule_broadcast, merchant_id, item["id"], at, ui.actor())
        except REFUSALS as exc:
            ui.flash(f"Not scheduled: {fmt.plain(exc)}", "warning")
        else:
            ui.flash(f"Broadcast #{item['id']} is SCHEDULED for {fmt.moment(at, tz)}.")
        st.rerun()
    question = (f"**Send broadcast #{item['id']} “{subject}” now?** It goes to {who}. The recipients are fixed now "
                f"and the email job delivers them within minutes{spread}. This cannot be undone.")
    if ui.confirm(question, action="email.send_now", key="bc", pending=PENDING_KEY, yes="Yes, send now", icon=":material/send:") is None:
        return
    try:
        result = ui.write("email.send_now", scheduling.send_now, queries.settings(), merchant_id, item["id"], ui.actor())
    except REFUSALS as exc:
        ui.flash(f"Not sent: {fmt.plain(exc)}", "warning")
    else:
        ui.flash(f"Broadcast #{item['id']} is SENDING: {result.counts['pending']:,} recipients queued, {result.counts['suppressed']:,} left out. "
                 "The email job delivers them; refresh to follow.")
    st.rerun()


def render(merchant_id: str) -> None:
    """The Broadcasts tab of the Email Designer."""
    ui.show_flash()  # shown by the page already when the tab runs inside it
    campaigns, segments, templates = _choices(merchant_id)
    items = queries.email_broadcasts(queries.source(), merchant_id)
    opened_for = st.session_state.pop(OPEN_FOR_KEY, None)
    if opened_for in campaigns:
        st.session_state[CAMPAIGN_KEY] = opened_for
    new_broadcast(merchant_id, campaigns, segments, templates, expanded=not items or opened_for is not None)
    st.subheader("Broadcasts")
    if not items:
        ui.empty_state("No broadcast yet. Create one above, send yourself a test, then schedule it or send it now.")
        return
    by_id = {b["id"]: b for b in items}
    if st.session_state.get(PICK_KEY) not in by_id:
        st.session_state[PICK_KEY] = items[0]["id"]
    chosen = st.selectbox("Broadcast", list(by_id), key=PICK_KEY,
                          format_func=lambda i: f"#{i} {by_id[i]['subject'][:60]} ({by_id[i]['status']}, {campaigns.get(by_id[i]['campaign_id'], '')})")
    item = by_id[chosen]
    tz = ui.merchant_profile(merchant_id)["timezone"]
    with st.container(border=True):
        watch(merchant_id, item, tz)
    test_send(merchant_id, item)
    if item["status"] in ("DRAFT", "SCHEDULED"):
        send_controls(merchant_id, item, tz, segments)
