"""Social Scheduler's "Connect account" buttons and the reconnect warning, with AppTest on an empty home."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import OAuthConnection
from campaigns.social.accounts import add_account, mark_needs_reauth
from campaigns.demo.owner import DEMO_OWNER
from tests.dashboards.helpers import assert_clean
from tests.publishers.fake_oauth import follow_consent

SOCIAL = "views/social.py"


@pytest.fixture
def configured(home, monkeypatch: pytest.MonkeyPatch):
    from tests.publishers.fake_oauth import FakeXOAuth

    fake = FakeXOAuth().start()
    for name, value in {"CAMPAIGNS_TOKEN_KEY": Fernet.generate_key().decode(), "CAMPAIGNS_X_CLIENT_ID": fake.client_id,
                        "CAMPAIGNS_X_AUTHORIZE_URL": fake.url("/i/oauth2/authorize"), "CAMPAIGNS_PUBLIC_URL": "https://app.example.com"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    migrate(get_settings().store_url)
    with session_scope(get_settings().store_url) as s:
        ensure_merchant(s, get_settings().default_merchant)
    yield fake
    fake.stop()


def _start(app, monkeypatch):
    at = app(get_settings())
    at.switch_page(SOCIAL).run()
    assert_clean(at)
    return at


def test_connect_button_hands_out_the_authorization_link(configured, app, monkeypatch) -> None:
    at = _start(app, monkeypatch)
    assert "No social accounts connected yet" in at.info[0].value
    at.button(key="connect_x").click().run()
    assert_clean(at)
    [link] = [e for e in at.get("link_button")]
    url = link.proto.url
    assert url.startswith(configured.url("/i/oauth2/authorize?")) and "code_challenge=" in url and "state=" in url
    assert "oauth/callback/x" in follow_consent(url)
    with session_scope(get_settings().store_url) as s:
        [row] = s.scalars(select(OAuthConnection)).all()
        assert row.platform == "x" and row.started_by == DEMO_OWNER and row.status == "PENDING"


def test_a_platform_without_an_app_says_what_to_set(configured, app, monkeypatch) -> None:
    at = _start(app, monkeypatch)
    at.button(key="connect_linkedin").click().run()
    assert_clean(at)
    assert any("CAMPAIGNS_LINKEDIN_CLIENT_ID" in w.value for w in at.warning)
    assert not at.get("link_button")


def test_an_account_needing_reconnection_is_shown_with_its_reason(configured, app, monkeypatch) -> None:
    with session_scope(get_settings().store_url) as s:
        account = add_account(s, get_settings().default_merchant, "x", "@shop", actor="ana")
        mark_needs_reauth(s, get_settings().default_merchant, account.id, "the refresh was refused (revoked)", actor="worker")
    at = _start(app, monkeypatch)
    assert any("needs to be reconnected: the refresh was refused (revoked)" in w.value for w in at.warning)
    assert "(reconnect needed)" in at.selectbox(key="social_account").options[0] and "@@" not in at.selectbox(key="social_account").options[0]


def test_show_connected_accounts_reads_what_the_callback_wrote(configured, app, monkeypatch) -> None:
    at = _start(app, monkeypatch)
    at.button(key="connect_x").click().run()
    assert at.get("link_button")
    with session_scope(get_settings().store_url) as s:  # what the public server's callback writes, in its own process
        add_account(s, get_settings().default_merchant, "x", "@juniperfinch", actor="oauth-callback")
    at.run()
    assert "No social accounts connected yet" in at.info[0].value  # the page's cached read still has none
    at.button(key="connect_done").click().run()
    assert_clean(at)
    assert [o.split(" · ")[0] for o in at.selectbox(key="social_account").options] == ["X @juniperfinch"]
    assert not at.get("link_button")
