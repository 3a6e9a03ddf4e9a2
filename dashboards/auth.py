"""Signing in to the app: through the identity provider (OpenID Connect with `st.login`) when one is configured in
the `[auth]` section of `.streamlit/secrets.toml`, with a local account (email and password) otherwise.

Either way the app then holds a session of the access context (a random token in the server-side session state,
its hash in the store), so expiry, disabling a user and resetting a password end it the same way. An identity
provider vouches for the email; the person still needs an account and a role here (no self sign-up).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from campaigns.access import signin
from campaigns.core.store.db import session_scope
from dashboards import queries
from dashboards.ui import TOKEN_KEY, flash, show_flash


def identity_provider() -> dict[str, Any] | None:
    """The `[auth]` secrets when an OIDC provider is configured (client id and metadata URL, directly or per provider)."""
    if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
        return None
    auth = st.secrets["auth"].to_dict()
    if auth.get("client_id") and auth.get("server_metadata_url"):
        return auth
    providers = [name for name, section in auth.items() if isinstance(section, dict) and section.get("client_id")]
    return {**auth, "providers": providers} if providers else None


def _provider_user() -> dict[str, Any]:
    """What the identity provider's cookie says about the visitor ({} when nobody signed in there)."""
    claims = st.user.to_dict()
    return claims if claims.get("is_logged_in") else {}


def _sign_in_with(email: str) -> None:
    with session_scope(queries.settings().store_url) as session:
        outcome = signin.sign_in_external(session, email)
    if outcome.ok:
        st.session_state[TOKEN_KEY] = outcome.token
        st.rerun()
    st.error(outcome.error, icon=":material/block:")


def sign_in_page() -> None:
    """The only thing a signed-out visitor sees."""
    st.markdown("## Campaign Orchestrator")
    show_flash()
    provider = identity_provider()
    if provider is not None:
        claims = _provider_user()
        if claims:  # the provider vouched for this person; they still need an account here
            _sign_in_with(str(claims.get("email") or ""))
            if st.button("Sign out of the identity provider", key="idp_logout"):
                st.logout()
            return
        for name in provider.get("providers") or [None]:
            label = f"Sign in with {name.title()}" if name else "Sign in"
            if st.button(label, key=f"idp_login_{name or 'default'}", type="primary", icon=":material/login:"):
                st.login(name) if name else st.login()
        return
    with st.form("sign_in", border=True):
        st.markdown("Sign in with your account.")
        email = st.text_input("Email", key="sign_in_email", autocomplete="username")
        password = st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    st.caption("No account? An owner adds you with `campaigns users add EMAIL --merchant M --role viewer`; "
               "a forgotten password is reset by an owner (`campaigns users reset-password EMAIL`).")
    if submitted:
        with session_scope(queries.settings().store_url) as session:  # committed whatever the outcome: the lockout counts
            outcome = signin.sign_in(session, email, password)
        if outcome.ok:
            st.session_state[TOKEN_KEY] = outcome.token
            st.rerun()
        st.error(outcome.error, icon=":material/block:")


def sign_out() -> None:
    token = st.session_state.pop(TOKEN_KEY, None)
    if token:
        with session_scope(queries.settings().store_url) as session:
            signin.sign_out(session, token)
    flash("Signed out.", "info")
    if identity_provider() is not None and _provider_user():
        st.logout()
    st.rerun()
