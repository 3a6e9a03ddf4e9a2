"""Email Designer, Audience tab: build who gets an email (fields, tags, events, RFM buckets) with a live size, and save it."""

from __future__ import annotations

import streamlit as st

from campaigns.audiences.segments import describe, save_segment
from dashboards import formatting as fmt
from dashboards import queries, ui
from dashboards.rule_builder import render_segment_builder

# what marketers reach for most in email: recent engagement, and customers slipping away
STARTING_POINTS = {
    "Everyone": {"all": []},
    "Opened in the last 30 days": {"all": [{"event": "opened", "op": "within_days", "days": 30}]},
    "Win back (RFM at risk or can't lose)": {"all": [{"rfm": ["at_risk", "cant_lose"]}]},
}


def render(merchant_id: str) -> None:
    saved = queries.saved_segments(queries.source(), merchant_id)
    options = {**STARTING_POINTS, **{f"Saved: {s['name']}": s["rules"] for s in saved}}
    start = st.selectbox("Start from", list(options), key="email_aud_start")
    rules = render_segment_builder(merchant_id, "email_aud", options[start], seed_name=f"email_aud:{start}")
    with st.form("email_aud_save", border=True):
        name = st.text_input("Save as segment", placeholder="e.g. Engaged readers in Europe", key="email_aud_name")
        if st.form_submit_button("Save segment", icon=":material/save:", disabled=rules is None):
            try:
                segment_id = ui.write("segment.save", save_segment, merchant_id, name, rules or {}, ui.actor()).id
            except ValueError as exc:  # RuleError and a missing or duplicate name
                ui.field_error(str(exc))
            else:
                ui.flash(f"Saved segment {segment_id} ({fmt.plain(describe(rules or {}))}). Use it with `campaigns email create --segment {segment_id}`.")
                st.rerun()
    if saved:
        st.caption("Saved segments: " + fmt.plain(", ".join(f"{s['name']} (id {s['id']})" for s in saved)))
