"""Audiences: saved segments with their sizes, a rule builder with a live size estimate, per-channel audiences."""

from __future__ import annotations

import streamlit as st

from campaigns.audiences.segments import EVERYONE, RuleError, describe, save_segment, validate_rules
from dashboards import queries, ui, wizard
from dashboards import formatting as fmt
from dashboards.rule_builder import render_segment_builder
from dashboards.ui import field_error, seed


def saved_segments(merchant_id: str) -> list[dict]:
    source = queries.source()
    segments = queries.saved_segments(source, merchant_id)
    st.subheader("Saved segments")
    if not segments:
        st.caption("None yet. Build one below and save it; campaigns can then target it by name.")
        return segments
    rows = []
    for segment in segments:
        try:
            validate_rules(segment["rules"])
            size, words = fmt.number(queries.segment_size(source, merchant_id, wizard.rules_json(segment["rules"]))), describe(segment["rules"])
        except RuleError as exc:
            size, words = fmt.MISSING, f"not countable here yet: {exc.problem}"
        rows.append({"Segment": segment["name"], "Who": words, "Contacts": size})
    st.dataframe(rows, hide_index=True, width="stretch")
    return segments


def builder(merchant_id: str, segments: list[dict]) -> dict | None:
    st.subheader("Build a segment")
    options = [None, *[g["id"] for g in segments]]
    names = {g["id"]: g["name"] for g in segments}
    start_from = st.selectbox("Start from", options, key="audience_start", format_func=lambda i: "An empty rule" if i is None else names[i])
    initial = next((g["rules"] for g in segments if g["id"] == start_from), EVERYONE)
    # the same editor and live size the Email Designer embeds
    rules = render_segment_builder(merchant_id, "aud_rules", initial, seed_name=f"segment:{start_from}")
    problem = None if rules is not None else "invalid rule"
    with st.container(border=True):
        name_col, save_col = st.columns([4, 1], vertical_alignment="bottom")
        seed(f"audience_name_{start_from}", names.get(start_from, ""))
        name = name_col.text_input("Segment name", key=f"audience_name_{start_from}", placeholder="e.g. Customers in Europe")
        if save_col.button("Save segment", key="audience_save", type="primary", icon=":material/save:",
                           disabled=problem is not None, width="stretch"):
            try:
                ui.write("segment.save", save_segment, merchant_id, name, rules, ui.actor())
            except ValueError as exc:
                field_error(str(exc))
            else:
                ui.flash(f"Saved the segment “{name.strip()}”.")
                st.rerun()
    return None if problem else rules


def channel_audiences(merchant_id: str, rules: dict | None) -> None:
    st.subheader("Per-channel audiences")
    st.caption("Who each channel reaches with the rule above: email goes to subscribed contacts, social to the followers of "
               "the connected accounts, ads to an audience built in each ad platform.")
    channels = st.multiselect("Channels", list(wizard.CHANNELS), default=["email", "x", "google_ads"], key="audience_channels",
                              format_func=fmt.channel_label)
    if rules is None or not channels:
        return
    found = queries.channel_audiences(queries.source(), merchant_id, tuple(channels), wizard.rules_json(rules))
    columns = st.columns(min(len(found), 4))
    for i, audience in enumerate(found):
        with columns[i % len(columns)].container(border=True):
            st.markdown(f"**{fmt.channel_label(audience.channel)}** :gray-badge[{audience.kind}]")
            if audience.kind == "email":
                st.markdown(f"{fmt.number(audience.size)} subscribed contacts")
            elif audience.kind == "social":
                st.markdown(", ".join(audience.accounts) or "no account connected")
            st.caption(audience.note)
            for problem in audience.problems:
                st.markdown(f":orange[:material/warning: {problem}]")


def main() -> None:
    st.title("Audiences")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    source = queries.source()
    contacts = queries.contact_count(source, merchant_id)
    accounts = queries.social_accounts(source, merchant_id)
    total_col, account_col = st.columns(2)
    total_col.metric("Contacts", fmt.number(contacts), border=True)
    account_col.metric("Social accounts", fmt.number(len(accounts)), border=True)
    if not contacts:
        ui.empty_state(
            "No contacts for this merchant yet, so every segment is empty. Load the demo merchant, which comes with "
            "400 contacts, with `campaigns demo-data`; rules you build here already work and count as contacts arrive.",
            icon=":material/groups:",
        )
    segments = saved_segments(merchant_id)
    rules = builder(merchant_id, segments)
    channel_audiences(merchant_id, rules)


main()
