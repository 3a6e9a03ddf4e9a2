"""The sign-in a signed-out visitor gets: a local-account form (with the lockout's answers), or the identity
provider's button when `[auth]` is configured; signing out ends the session in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.access import signin, users
from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from dashboards.ui import TOKEN_KEY
from tests.dashboards.helpers import APP

PASSWORD = "correct horse battery"


@pytest.fixture
def store(home: Path) -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        users.add_user(s, "ana@example.com", "tests", password=PASSWORD)
        users.grant(s, "ana@example.com", "acme", Role.APPROVER, "tests")
    return url


def _signed_out() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_signed_out_visitor_gets_only_the_form(store: str) -> None:
    at = _signed_out()
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    assert not at.sidebar.selectbox and not at.metric and not at.title


def test_wrong_password_then_sign_in_then_sign_out(store: str) -> None:
    at = _signed_out()
    at.text_input(key="sign_in_email").input("ana@example.com")
    at.text_input(key="sign_in_password").input("not it at all")
    at.button[0].click().run()
    assert [e.value for e in at.error] == [signin.WRONG]
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert "Signed in as **ana@example.com** · approver" in [c.value for c in at.sidebar.caption]
    assert at.sidebar.selectbox[0].options == ["Acme"]
    token = at.session_state[TOKEN_KEY]
    at.sidebar.button(key="sign_out").click().run()
    assert [t.label for t in at.text_input] == ["Email", "Password"] and "Signed out." in [i.value for i in at.info]
    with session_scope(store) as s, pytest.raises(signin.SessionInvalidError):
        signin.session_user(s, token)


def test_an_ended_session_returns_to_the_sign_in(store: str) -> None:
    with session_scope(store) as s:
        token = signin.sign_in(s, "ana@example.com", PASSWORD).token
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[TOKEN_KEY] = token
    at.run()
    assert at.sidebar.selectbox
    with session_scope(store) as s:
        users.reset_password(s, "ana@example.com", "a brand new passphrase", "owner")
    at.run()
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    assert "your session has ended; sign in again" in [w.value for w in at.warning]


def test_with_an_identity_provider_the_sign_in_is_its_button(store: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 40,
                          "client_id": "campaigns", "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.run()
    assert not at.exception and not at.text_input
    assert [b.label for b in at.button] == ["Sign in"]


def test_several_identity_providers_get_a_button_each(store: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 40,
                          "google": {"client_id": "g", "client_secret": "s", "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"},
                          "okta": {"client_id": "o", "client_secret": "s", "server_metadata_url": "https://example.okta.com/.well-known/openid-configuration"}}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Okta"]


OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 40, "client_id": "campaigns", "client_secret": "s",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


@pytest.mark.parametrize(("email", "signed_in"), [("ANA@example.com", True), ("stranger@example.com", False)])
def test_a_person_the_provider_vouched_for_needs_an_account_here(store: str, monkeypatch: pytest.MonkeyPatch, email: str,
                                                                  signed_in: bool) -> None:
    from dashboards import auth

    # what Streamlit's identity cookie holds after the provider's callback (the browser test drives the real flow)
    monkeypatch.setattr(auth, "_provider_user", lambda: {"is_logged_in": True, "email": email})
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = OIDC
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if signed_in:
        assert "Signed in as **ana@example.com** · approver" in [c.value for c in at.sidebar.caption]
    else:
        assert "stranger@example.com has no active account here" in at.error[0].value
        assert [b.label for b in at.button] == ["Sign out of the identity provider"]
