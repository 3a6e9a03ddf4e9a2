"""Audiences: contacts (upload, search, a contact page with edits) and segments (saved, a rule builder with a live size, per channel)."""

from __future__ import annotations

import streamlit as st

from campaigns.audiences.contacts import delete_contact, update_contact
from campaigns.audiences.segments import EVERYONE, RuleError, describe, save_segment, validate_rules
from dashboards import contacts_ui, queries, ui, wizard
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
                ui.flash(f"Saved the segment “{fmt.plain(name.strip())}”.")
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
            st.markdown(f"**{fmt.plain(fmt.channel_label(audience.channel))}** :gray-badge[{fmt.plain(audience.kind)}]")
            if audience.kind == "email":
                st.markdown(f"{fmt.number(audience.size)} subscribed contacts")
            elif audience.kind == "social":
                st.markdown(fmt.plain(", ".join(audience.accounts)) or "no account connected")
            st.caption(fmt.plain(audience.note))
            for problem in audience.problems:
                st.markdown(f":orange[:material/warning: {fmt.plain(problem)}]")


def upload(merchant_id: str) -> None:
    st.subheader("Import contacts")
    st.caption("A CSV or Parquet file with an `email` column and any of first_name, last_name, timezone, tags (;-separated), subscribed, "
               "consent_source, consented_at (ISO 8601 with a zone) and attr_<name> custom fields. Every row is checked first: "
               "one bad row and nothing is imported. Contacts without a consent source get no marketing email.")
    file = st.file_uploader("Contacts file", type=["csv", "parquet"], key="contacts_file")
    update_existing = st.checkbox("Update contacts that are already here", key="contacts_update_existing")
    if file is not None and st.button("Import", key="contacts_import", type="primary", icon=":material/upload:"):
        outcome = contacts_ui.import_upload(merchant_id, file.name, file.getvalue(), update_existing)
        if outcome.result is not None:
            r = outcome.result
            ui.flash(f"Imported {file.name}: {r.created:,} new, {r.updated:,} updated, {r.unchanged:,} already here"
                     + (f", {r.kept_suppressed:,} kept unsubscribed (suppressed)" if r.kept_suppressed else "") + ".")
            st.rerun()
        st.error(f"{file.name} was not imported; nothing was written. Fix these {outcome.total:,} problems and upload it again.",
                 icon=":material/error:")
        st.dataframe(outcome.problems, hide_index=True, width="stretch", key="contacts_problems")


def contact_list(merchant_id: str) -> int | None:
    st.subheader("Contacts")
    search = st.text_input("Search", key="contacts_search", placeholder="part of an address, a name or a tag")
    rows, total = queries.contact_list(queries.source(), merchant_id, search.strip(), 100)
    if not total:
        st.caption("No contact matches." if search.strip() else "No contacts yet: import a file above.")
        return None
    st.dataframe([{"Id": r["id"], "Email": r["email"], "Name": r["name"], "Tags": r["tags"], "Subscribed": r["subscribed"],
                   "Status": r["status"]} for r in rows], hide_index=True, width="stretch")
    st.caption(f"{len(rows):,} of {fmt.number(total)} shown" + ("; search to narrow them down" if total > len(rows) else ""))
    labels = {r["id"]: f"{r['email']} ({r['name']})" if r["name"] else r["email"] for r in rows}
    return st.selectbox("Open a contact", [None, *labels], key="contact_open", format_func=lambda i: "—" if i is None else labels[i])


def contact_detail(merchant_id: str, contact_id: int) -> None:
    contact = queries.contact_page(queries.source(), merchant_id, contact_id)
    if contact is None:
        st.caption("This contact no longer exists.")
        return
    with st.container(border=True):
        st.markdown(f"#### {contact['email']}")
        badges = [":green-badge[subscribed]" if contact["subscribed"] else ":gray-badge[not subscribed]", f":blue-badge[{contact['status']}]"]
        if contact["suppressed"]:
            badges.append(f":red-badge[suppressed: {contact['suppressed'].lower()}]")
        st.markdown(" ".join(badges))
        st.markdown(f"**Segments:** {', '.join(s['name'] for s in contact['segments']) or 'none'}")
        edit(merchant_id, contact)
        st.markdown("**Consent history**")
        if contact["consents"]:
            st.dataframe(contact["consents"], hide_index=True, width="stretch")
        else:
            st.caption("No consent recorded: this contact gets no marketing email.")
        st.markdown("**Latest events**")
        if contact["events"]:
            st.dataframe(contact["events"], hide_index=True, width="stretch")
        else:
            st.caption("No events yet.")
        remove(merchant_id, contact)


def edit(merchant_id: str, contact: dict) -> None:
    key = f"contact_{contact['id']}"
    first, last, zone = st.columns(3)
    first_name = first.text_input("First name", value=contact["first_name"], key=f"{key}_first")
    last_name = last.text_input("Last name", value=contact["last_name"], key=f"{key}_last")
    timezone = zone.text_input("Time zone", value=contact["timezone"], key=f"{key}_zone")
    tags = st.text_input("Tags (;-separated)", value=";".join(map(str, contact["tags"])), key=f"{key}_tags")
    attributes = st.text_area("Custom fields (name=value, one a line)", value=contacts_ui.attributes_text(contact["attributes"]), key=f"{key}_attrs")
    subscribed = st.checkbox("Subscribed to marketing email", value=contact["subscribed"], key=f"{key}_subscribed")
    consent_source = ""
    if subscribed and not contact["subscribed"]:
        consent_source = st.text_input("Where did they agree?", key=f"{key}_consent", placeholder="e.g. phone call on 3 May")
    if st.button("Save changes", key=f"{key}_save", icon=":material/save:"):
        changes, problems = contacts_ui.edit_changes(contact, first_name, last_name, timezone, tags, attributes, subscribed, consent_source)
        if problems:
            field_error("Custom fields: " + "; ".join(problems))
            return
        try:
            _, changed = ui.write("contact.edit", update_contact, merchant_id, contact["id"], changes, actor=ui.actor())
        except (LookupError, ValueError) as exc:
            field_error(str(exc))
            return
        ui.flash(f"Saved {', '.join(changed)}." if changed else "Nothing to change.")
        st.rerun()


def remove(merchant_id: str, contact: dict) -> None:
    pending = "contact_delete_pending"
    if st.session_state.get(pending) != contact["id"]:
        if st.button("Delete contact", key="contact_delete", icon=":material/delete:"):
            st.session_state[pending] = contact["id"]
            st.rerun()
        return
    answer = ui.confirm(f"Delete {contact['email']} with their events and consent history? (For a person's erasure request, "
                        f"use `campaigns contacts erase`.)", action="contact.delete", key="contact_delete", pending=pending, yes="Delete")
    if answer is not None:
        st.session_state.pop("contact_open", None)
        ui.change("contact.delete", delete_contact, merchant_id, contact["id"], actor=ui.actor(), done=f"Deleted {contact['email']}.", refused="Not deleted")


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
            "No contacts for this merchant yet, so every segment is empty. Import your own in the Contacts tab (or with "
            "`campaigns contacts import FILE.csv`), or load the demo merchant with `campaigns demo-data`; rules you build here "
            "already work and count as contacts arrive.",
            icon=":material/groups:",
        )
    segments_tab, contacts_tab = st.tabs(["Segments", "Contacts"])
    with segments_tab:
        segments = saved_segments(merchant_id)
        rules = builder(merchant_id, segments)
        channel_audiences(merchant_id, rules)
    with contacts_tab:
        upload(merchant_id)
        chosen = contact_list(merchant_id)
        if chosen is not None:
            contact_detail(merchant_id, chosen)


main()
