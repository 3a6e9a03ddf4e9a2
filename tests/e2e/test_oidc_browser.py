"""Signing in through an identity provider in Chromium: the app, started with an `[auth]` secrets file pointing at a
local OpenID Connect provider, sends the visitor there with `st.login`, gets them back signed in as the person the
provider vouched for, with that person's role on their merchant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns.access import users
from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from tests.e2e.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.machine_clock import machine_time
from tests.e2e.test_browser import CHROMIUM_ARGS, VIEWPORT, _free_port, chromium, running_app, settled  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


@pytest.fixture
def provider() -> Provider:
    with Provider("Ana@Example.com", clock=machine_time) as running:  # the app that checks its tokens is a subprocess
        yield running


@pytest.fixture
def oidc_app(tmp_path: Path, provider: Provider) -> Iterator[str]:
    home = tmp_path / "home"
    url = Settings(home=home).store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        users.add_user(s, "ana@example.com", "tests")  # an identity-provider account: no password
        users.grant(s, "ana@example.com", "acme", Role.APPROVER, "tests")
    port = _free_port()
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-long-random-cookie-secret-for-the-test-only"\n'
        f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.issuer}/.well-known/openid-configuration"\n', encoding="utf-8")
    with running_app(home, tmp_path / "streamlit.log", "--secrets.files", str(secrets_file), port=port) as app_url:
        yield app_url


def test_sign_in_through_the_identity_provider(chromium: Path, oidc_app: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            tab = browser.new_context(viewport=VIEWPORT).new_page()
            tab.set_default_timeout(60_000)
            tab.goto(oidc_app)
            settled(tab)
            assert tab.get_by_role("textbox", name="Password").count() == 0  # no local form with a provider
            assert tab.locator('[data-testid="stSidebarNavLink"]').count() == 0
            tab.get_by_role("button", name="Sign in", exact=True).click()  # to the provider and back
            tab.get_by_text("Signed in as").wait_for()
            settled(tab)
            assert "ana@example.com" in tab.locator('[data-testid="stSidebar"]').inner_text()
            assert "approver" in tab.locator('[data-testid="stSidebar"]').inner_text()
            assert tab.locator('[data-testid="stSidebarNavLink"]').count() > 0
        finally:
            browser.close()
