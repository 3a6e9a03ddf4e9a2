"""Members: who has which role on this merchant; grant, revoke, reset a password, the four-eyes rule. Owners only.

A person is added once (`campaigns users add`, or their first identity-provider sign-in once an owner has added
them); here an owner gives existing users a role on this merchant.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from campaigns.access import users
from campaigns.access.roles import Permission, Role
from dashboards import queries, ui

ROLES = [r.value for r in Role]


def main() -> None:
    merchant_id = ui.current_merchant(Permission.ADMIN)
    st.title("Members")
    ui.show_flash()
    rows = queries.members(queries.source(), merchant_id)
    st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch", key="members_table")
    st.caption("owner: members, settings and keys · marketer: campaigns, content, schedules · "
               "approver: approves content and sends, launches · viewer: reads only")

    st.subheader("Give a role")
    with st.form("member_grant"):
        email_col, role_col = st.columns([3, 1])
        email = email_col.text_input("Email of an existing user", key="member_email")
        role = role_col.selectbox("Role", ROLES, index=ROLES.index("viewer"), key="member_role")
        if st.form_submit_button("Grant", icon=":material/person_add:"):
            ui.change("member.grant", users.grant, email, merchant_id, role, ui.actor(), done=f"{email.strip().lower()} is now {role}.")

    emails = [r["email"] for r in rows]
    st.subheader("Revoke or reset a password")
    picked = st.selectbox("Member", emails, key="member_pick")
    revoke_col, _ = st.columns([1, 3])
    if picked and revoke_col.button("Revoke role", key="member_revoke", icon=":material/person_remove:"):
        ui.change("member.revoke", users.revoke, picked, merchant_id, ui.actor(), done=f"{picked} no longer has a role here.")
    with st.form("member_reset"):
        password = st.text_input("New password (tell them in person; they are signed out everywhere)", type="password", key="member_password")
        if st.form_submit_button("Reset password", icon=":material/lock_reset:") and picked:
            # the service checks again that the signed-in owner owns this merchant and that the user is a member of it
            ui.change("user.reset_password", users.reset_password, picked, password, ui.actor(), merchant_id=merchant_id,
                      actor_user_id=ui.viewer_id(), done=f"New password set for {picked}.")

    st.subheader("Four-eyes rule")
    on = queries.four_eyes_on(queries.source(), merchant_id)
    wanted = st.toggle("The author of content may not approve it", value=on, key="member_four_eyes")
    if wanted != on:
        ui.change("policy.four_eyes", users.set_four_eyes, merchant_id, wanted, ui.actor(),
                  done=f"Four-eyes rule {'on' if wanted else 'off'}.")


main()
