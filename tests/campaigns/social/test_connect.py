"""Connecting accounts by OAuth through the fake platforms: the pending state, the callback, refresh, key rotation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaigns.core.audit import entries
from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AuditLog, OAuthConnection, SocialAccount
from campaigns.social.accounts import ACTIVE, NEEDS_REAUTH, add_account, credentials_for, rotate_token_key, status_label
from campaigns.social.connect import (
    CONNECTED,
    FAILED,
    ConnectError,
    complete_connection,
    complete_from_redirect_url,
    connection_status,
    refresh_due,
    start_connection,
)
from publishers.oauth import build_oauth_clients
from tests.publishers.fake_oauth import FakeFacebookOAuth, FakeLinkedInOAuth, FakeXOAuth, config_for, follow_consent

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PUBLIC = "https://app.example.com"


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(generate_key())


@pytest.fixture
def fakes():
    running = {"x": FakeXOAuth().start(), "linkedin": FakeLinkedInOAuth().start(), "facebook": FakeFacebookOAuth().start()}
    yield running
    for fake in running.values():
        fake.stop()


@pytest.fixture
def clients(fakes):
    from dataclasses import asdict

    from publishers.config import OAuthConfig

    merged = {}
    for platform, fake in fakes.items():
        merged.update({k: v for k, v in asdict(config_for(fake, platform)).items() if v != getattr(OAuthConfig(), k)})
    built = build_oauth_clients(OAuthConfig(**merged))
    yield built
    for client in built.values():
        client.close()


def _start(store_url, clients, cipher, platform, merchant="acme", now=NOW, **kw):
    with session_scope(store_url) as s:
        return start_connection(s, merchant, platform, actor="ana", clients=clients, redirect_uri=f"{PUBLIC}/oauth/callback/{platform}",
                                cipher=cipher, now=now, **kw)


def _connect(store_url, clients, cipher, platform, **kw):
    started = _start(store_url, clients, cipher, platform, **kw)
    location = follow_consent(started.authorization_url)
    return complete_from_redirect_url(store_url, location, clients=clients, cipher=cipher, now=NOW)


def test_x_connects_once_with_state_and_pkce_kept_server_side(store_url, clients, cipher) -> None:
    started = _start(store_url, clients, cipher, "x", timezone="Europe/Berlin")
    assert started.redirect_uri == f"{PUBLIC}/oauth/callback/x" and "authorization_url" not in repr(started)
    location = follow_consent(started.authorization_url)
    state = location.split("state=")[1].split("&")[0]
    with session_scope(store_url) as s:
        row = s.get(OAuthConnection, started.connection_id)
        assert row.state_hash == hashlib.sha256(state.encode()).hexdigest() and state not in str(vars(row))
        assert row.code_verifier_enc and cipher.decrypt(row.code_verifier_enc) not in started.authorization_url
        assert connection_status(s, "acme", started.connection_id, now=NOW).status == "PENDING"
    result = complete_from_redirect_url(store_url, location, clients=clients, cipher=cipher, now=NOW)
    assert result.status == CONNECTED and [h for _, h in result.accounts] == ["@juniperfinch"] and result.error is None
    with session_scope(store_url) as s:
        account = s.get(SocialAccount, result.accounts[0][0])
        assert account.external_id == FakeXOAuth.USER["id"] and account.timezone == "Europe/Berlin" and account.status == ACTIVE
        assert account.token_expires_at == NOW + timedelta(hours=2) and "offline.access" in account.scopes
        credentials = credentials_for(account, cipher)
        assert credentials.access_token.get_secret_value().startswith("x-access-") and "x-access" not in account.access_token_enc
        assert s.get(OAuthConnection, started.connection_id).code_verifier_enc is None  # spent
        assert connection_status(s, "acme", started.connection_id).accounts == result.accounts
        actions = [e.action for e in s.scalars(select(AuditLog).where(AuditLog.merchant_id == "acme"))]
        assert {"account.connect_start", "account.add", "account.connect"} <= set(actions)
        assert "x-access" not in str([e.details for e in s.scalars(select(AuditLog))])
        with pytest.raises(ConnectError, match="no account connection"):
            connection_status(s, "globex", started.connection_id)  # another merchant's connection
    with pytest.raises(ConnectError, match="already used"):
        complete_from_redirect_url(store_url, location, clients=clients, cipher=cipher, now=NOW)
    with pytest.raises(ConnectError, match="unknown state"):
        complete_connection(store_url, "forged-state", code="code-1", clients=clients, cipher=cipher)
    with pytest.raises(ConnectError, match="no state"):
        complete_from_redirect_url(store_url, f"{PUBLIC}/oauth/callback/x?code=abc", clients=clients, cipher=cipher)


def test_a_refusal_an_expiry_a_missing_scope_and_a_wrong_platform_fail_with_the_reason(store_url, clients, cipher, fakes) -> None:
    fakes["x"].deny = True
    denied = _connect(store_url, clients, cipher, "x")
    assert denied.status == FAILED and denied.error_kind == "access_denied" and "denied" in denied.error
    fakes["x"].deny = False
    late = _start(store_url, clients, cipher, "x", now=NOW - timedelta(hours=1))
    expired = complete_from_redirect_url(store_url, follow_consent(late.authorization_url), clients=clients, cipher=cipher, now=NOW)
    assert expired.status == FAILED and expired.error_kind == "expired"
    fakes["x"].withheld = {"tweet.write"}
    scoped = _connect(store_url, clients, cipher, "x")
    assert scoped.status == FAILED and scoped.error_kind == "scope_missing" and "tweet.write" in scoped.error
    started = _start(store_url, clients, cipher, "linkedin")
    location = follow_consent(started.authorization_url).replace("/callback/linkedin", "/callback/x")
    with pytest.raises(ConnectError, match="started for linkedin"):
        complete_from_redirect_url(store_url, location, clients=clients, cipher=cipher)
    with session_scope(store_url) as s:
        assert s.scalars(select(SocialAccount)).all() == []
        assert connection_status(s, "acme", scoped.connection_id).error == scoped.error
        failures = [e for e in s.scalars(select(AuditLog).where(AuditLog.action == "account.connect_failed"))]
        assert {e.details["kind"] for e in failures} == {"access_denied", "expired", "scope_missing"}
        # a connection nobody completed shows as expired once its time is over
        assert connection_status(s, "acme", started.connection_id, now=NOW).status == "PENDING"
        assert connection_status(s, "acme", started.connection_id, now=NOW + timedelta(hours=1)).status == FAILED


def test_linkedin_organizations_and_facebook_pages_and_instagram_accounts(store_url, clients, cipher, fakes) -> None:
    linkedin = _connect(store_url, clients, cipher, "linkedin")
    assert [h for _, h in linkedin.accounts] == ["urn:li:organization:2414183"]
    facebook = _connect(store_url, clients, cipher, "facebook")
    assert [h for _, h in facebook.accounts] == ["104729"]
    instagram = _connect(store_url, clients, cipher, "instagram", target="juniperfinch")
    assert [h for _, h in instagram.accounts] == ["@juniperfinch"]
    nothing = _connect(store_url, clients, cipher, "instagram", target="someone-else")
    assert nothing.status == FAILED and nothing.error_kind == "no_accounts" and "Facebook page" in nothing.error
    with session_scope(store_url) as s:
        ig = s.get(SocialAccount, instagram.accounts[0][0])
        assert ig.external_id == "17841400000000001" and ig.token_expires_at is None and ig.refresh_expires_at == NOW + timedelta(seconds=5183944)
        assert credentials_for(ig, cipher).account_ref == "17841400000000001"
        li = s.get(SocialAccount, linkedin.accounts[0][0])
        assert li.token_expires_at == NOW + timedelta(days=60) and li.refresh_expires_at == NOW + timedelta(days=365)


def test_start_refuses_what_cannot_work(store_url, clients, cipher) -> None:
    with pytest.raises(ConnectError, match="unknown platform 'myspace'"):
        _start(store_url, clients, cipher, "myspace")
    with pytest.raises(Exception, match="CAMPAIGNS_TOKEN_KEY is not set"):
        _start(store_url, clients, None, "x")
    unconfigured = build_oauth_clients(__import__("publishers.config", fromlist=["OAuthConfig"]).OAuthConfig())
    with pytest.raises(ConnectError, match="CAMPAIGNS_LINKEDIN_CLIENT_ID"):
        _start(store_url, unconfigured, cipher, "linkedin")


def test_refresh_due_renews_expiring_tokens_and_marks_refused_ones(store_url, clients, cipher, fakes) -> None:
    linkedin = _connect(store_url, clients, cipher, "linkedin")
    x = _connect(store_url, clients, cipher, "x")
    later = NOW + timedelta(days=59, hours=12)
    fakes["x"].revoke()
    outcome = refresh_due(store_url, clients, cipher, now=later)
    assert outcome["refreshed"] == ["linkedin urn:li:organization:2414183"] and outcome["reconnect"] == ["x @juniperfinch"]
    with session_scope(store_url) as s:
        li = s.get(SocialAccount, linkedin.accounts[0][0])
        assert li.token_expires_at == later + timedelta(days=60)
        gone = s.get(SocialAccount, x.accounts[0][0])
        assert gone.status == NEEDS_REAUTH and status_label(gone) == "reconnect needed" and "refreshed" in gone.reauth_reason
    assert refresh_due(store_url, clients, cipher, now=later) == {"refreshed": [], "reconnect": [], "later": []}
    fakes["x"].fail_next("token", "500")
    with session_scope(store_url) as s:
        s.get(SocialAccount, x.accounts[0][0]).status = ACTIVE
    assert refresh_due(store_url, clients, cipher, now=later)["later"] == ["x @juniperfinch"]
    assert refresh_due(store_url, clients, None, now=later)["later"] == ["x @juniperfinch"]
    assert refresh_due(store_url, clients, TokenCipher(generate_key()), now=later)["reconnect"] == ["x @juniperfinch"]
    with session_scope(store_url) as s:
        assert s.scalars(select(OAuthConnection)).all() == []  # the connections expired long before `later`: forgotten


def test_key_rotation_re_encrypts_every_token_and_marks_unreadable_ones(store_url, cipher, clients) -> None:
    old_key, new_key = generate_key(), generate_key()
    old = TokenCipher(old_key)
    with session_scope(store_url) as s:
        a = add_account(s, "acme", "x", "@acme", actor="ana", access_token="acc-A", refresh_token="ref-A", cipher=old).id
        b = add_account(s, "globex", "facebook", "104729", actor="ana", access_token="acc-B", cipher=old).id
        c = add_account(s, "globex", "x", "@lost", actor="ana", access_token="acc-C", cipher=TokenCipher(generate_key())).id
        add_account(s, "globex", "x", "@no-token", actor="ana")
    pending = _start(store_url, clients, old, "x")
    rotating = TokenCipher(f"{new_key},{old_key}")
    with session_scope(store_url) as s:
        counts = rotate_token_key(s, rotating, actor="ops")
    assert counts == {"accounts": 2, "tokens": 3, "unreadable": 1, "connections": 1}
    new_only = TokenCipher(new_key)
    with session_scope(store_url) as s:
        assert credentials_for(s.get(SocialAccount, a), new_only).refresh_token.get_secret_value() == "ref-A"
        assert credentials_for(s.get(SocialAccount, b), new_only).access_token.get_secret_value() == "acc-B"
        lost = s.get(SocialAccount, c)
        assert lost.status == NEEDS_REAUTH and lost.access_token_enc is None and "rotation" in lost.reauth_reason
        assert new_only.decrypt(s.get(OAuthConnection, pending.connection_id).code_verifier_enc)
        audit = {e.merchant_id: e.details for e in s.scalars(select(AuditLog).where(AuditLog.action == "keys.rotate"))}
        assert audit == {"acme": {"tokens": 2, "unreadable": 0}, "globex": {"tokens": 1, "unreadable": 1}}
        assert [e.action for e in entries(s, "globex", str(c))][0] == "account.needs_reauth"


def test_a_verifier_stored_under_another_key_fails_the_connection_clearly(store_url, clients, cipher) -> None:
    started = _start(store_url, clients, cipher, "x")
    location = follow_consent(started.authorization_url)
    result = complete_from_redirect_url(store_url, location, clients=clients, cipher=TokenCipher(generate_key()), now=NOW)
    assert result.status == FAILED and result.error_kind == "misconfigured" and "PKCE verifier" in result.error
    with pytest.raises(ConnectError, match="no state parameter"):
        complete_connection(store_url, "", code="c", clients=clients, cipher=cipher)


def test_refreshing_an_account_without_a_refresh_token_asks_for_a_reconnection(store_url, clients, cipher) -> None:
    from campaigns.social.connect import refresh_account
    from publishers.oauth import OAuthError

    with session_scope(store_url) as s:
        account = add_account(s, "acme", "x", "@acme", actor="ana", access_token="a", cipher=cipher)
        with pytest.raises(OAuthError) as refused:
            refresh_account(s, account, clients["x"], cipher, NOW, "ops")
        assert refused.value.kind == "expired" and refused.value.reconnect


def test_a_failure_while_storing_or_a_bug_never_leaves_the_connection_claimed(store_url, clients, cipher, monkeypatch) -> None:
    import campaigns.social.connect as service
    from campaigns.social.accounts import QueueError

    started = _start(store_url, clients, cipher, "x")
    location = follow_consent(started.authorization_url)
    monkeypatch.setattr(service, "add_account", lambda *a, **k: (_ for _ in ()).throw(QueueError("handle refused")))
    stored = complete_from_redirect_url(store_url, location, clients=clients, cipher=cipher, now=NOW)
    assert stored.status == FAILED and "could not be stored: handle refused" in stored.error
    started = _start(store_url, clients, cipher, "x")
    location = follow_consent(started.authorization_url)
    monkeypatch.setattr(clients["x"], "accounts", lambda tokens: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        complete_from_redirect_url(store_url, location, clients=clients, cipher=cipher, now=NOW)
    with session_scope(store_url) as s:
        row = s.get(OAuthConnection, started.connection_id)
        assert row.status == FAILED and row.error == "unexpected error: ZeroDivisionError"


def test_two_callbacks_at_once_complete_the_connection_once(store_url, clients, cipher, fakes) -> None:
    from concurrent.futures import ThreadPoolExecutor

    started = _start(store_url, clients, cipher, "x")
    location = follow_consent(started.authorization_url)

    def callback(_):
        try:
            return complete_from_redirect_url(store_url, location, clients=clients, cipher=cipher, now=NOW).status
        except ConnectError as exc:
            return str(exc)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(callback, range(4)))
    assert answers.count(CONNECTED) == 1, answers
    assert all("already used" in a or "another request" in a for a in answers if a != CONNECTED)
    assert fakes["x"].count("POST", "/2/oauth2/token") == 1  # the code was exchanged once
