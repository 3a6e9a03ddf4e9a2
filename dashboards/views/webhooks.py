"""Webhooks: subscribe the merchant's other systems to events, rotate secrets, read the delivery log, replay."""

import streamlit as st

from campaigns.access.roles import Permission
from campaigns.core.crypto import cipher_from_settings
from campaigns.core.outbox import EVENT_TYPES
from campaigns.core.store.types import utcnow
from campaigns.integrations import delivery, endpoints
from dashboards import queries, ui

st.title("Webhooks")
st.caption("Tell your other systems (CRM, data platform, chat) what happens here. Messages are signed as the Standard Webhooks "
           "specification says; verify them with any of its libraries. See docs/webhooks.md.")
ui.show_flash()
merchant_id = ui.current_merchant(Permission.ADMIN)  # endpoints carry the merchant's data out: owners only
source = queries.source()

# A secret is shown once, right after it was made; kept only in this browser session until dismissed.
shown = st.session_state.get("webhook_secret")
if shown:
    with st.container(border=True):
        st.success(f"Signing secret for {shown['endpoint']}: copy it into the receiver now, it is not shown again.", icon=":material/key:")
        st.code(shown["secret"], language=None)
        if st.button("I have stored it", key="webhook_secret_done"):
            st.session_state.pop("webhook_secret")
            st.rerun()

with st.expander("Add an endpoint", expanded=not queries.webhook_endpoints(source, merchant_id), icon=":material/add_link:"):
    with st.form("webhook_add", clear_on_submit=False):
        url = st.text_input("URL", placeholder="https://crm.example.com/hooks/campaigns", help="https; plain http only to localhost")
        chosen = st.multiselect("Events (none = all)", list(EVENT_TYPES), key="webhook_events", format_func=lambda e: f"{e}: {EVENT_TYPES[e]}")
        note = st.text_input("Description", max_chars=200)
        if st.form_submit_button("Add endpoint", type="primary", icon=":material/add:"):
            try:
                _, secret = ui.write("webhook.add", endpoints.add_endpoint, merchant_id, url, chosen, actor=ui.actor(), cipher=cipher_from_settings(queries.settings()),
                                     description=note)
            except (LookupError, ValueError) as exc:
                ui.field_error(str(exc))
            else:
                st.session_state["webhook_secret"] = {"endpoint": secret.endpoint_id, "secret": secret.secret}
                ui.flash(f"Endpoint {secret.endpoint_id} added.")
                st.rerun()

rows = queries.webhook_endpoints(source, merchant_id)
if not rows:
    ui.empty_state("No endpoint yet: add one above, or from the command line with `campaigns webhooks add URL`.")
for row in rows:
    with st.container(border=True):
        head, actions = st.columns([3, 2])
        head.text(row["url"])  # user text: rendered as text, never as Markdown
        head.caption(f"{row['id']} · events: {row['events']}" + (" · rotating: two signatures for 24 h" if row["rotating"] else ""))
        if row["description"]:
            head.text(row["description"])
        if not row["enabled"]:
            head.warning(f"Disabled: {row['disabled_reason']}", icon=":material/block:")
        toggle, rotate, remove = actions.columns(3)
        if toggle.button("Enable" if not row["enabled"] else "Disable", key=f"wh_toggle_{row['id']}"):
            ui.change("webhook.toggle", endpoints.set_enabled, merchant_id, row["id"], not row["enabled"], actor=ui.actor(),
                      done=f"Endpoint {row['id']} {'enabled: waiting deliveries resume' if not row['enabled'] else 'disabled'}.")
        if rotate.button("Rotate secret", key=f"wh_rotate_{row['id']}"):
            st.session_state["wh_pending"] = ("rotate", row["id"])
        if remove.button("Remove", key=f"wh_remove_{row['id']}"):
            st.session_state["wh_pending"] = ("remove", row["id"])

pending = st.session_state.get("wh_pending")
if pending:
    action, endpoint_id = pending
    if action == "rotate":
        answer = ui.confirm(f"Give {endpoint_id} a new signing secret? The old one keeps signing beside it for 24 hours.",
                            action="webhook.rotate", key="wh_rotate", pending="wh_pending", yes="Rotate")
        if answer:
            try:
                secret = ui.write("webhook.rotate", endpoints.rotate_secret, merchant_id, endpoint_id, actor=ui.actor(), cipher=cipher_from_settings(queries.settings()))
            except (LookupError, ValueError) as exc:
                ui.flash(f"The secret was not rotated: {exc}", "warning")
            else:
                st.session_state["webhook_secret"] = {"endpoint": endpoint_id, "secret": secret.secret}
            st.rerun()
    else:
        answer = ui.confirm(f"Remove {endpoint_id} and its delivery log? The receiver gets nothing more.", action="webhook.remove", key="wh_remove", pending="wh_pending",
                            yes="Remove")
        if answer:
            ui.change("webhook.remove", endpoints.remove_endpoint, merchant_id, endpoint_id, actor=ui.actor(), done=f"Endpoint {endpoint_id} removed.")

st.subheader("Delivery log")
status = st.segmented_control("Status", ["PENDING", "DELIVERED", "FAILED"], key="wh_status")
log = queries.webhook_deliveries(source, merchant_id, status)
if log.is_empty():
    st.caption("Nothing delivered yet: events appear here as campaigns, posts and emails change.")
else:
    st.dataframe(log, hide_index=True, width="stretch")
    failed = log.filter(log["status"] == "FAILED")["id"].to_list()
    if failed:
        replay_id = st.selectbox("Replay a failed delivery", failed, key="wh_replay_id")
        if st.button("Replay", key="wh_replay", icon=":material/replay:"):
            ui.change("webhook.replay", delivery.replay, merchant_id, int(replay_id), actor=ui.actor(), now=utcnow(),
                      done=f"Delivery {replay_id} will be sent on the next run (within a minute while Dagster runs).")
