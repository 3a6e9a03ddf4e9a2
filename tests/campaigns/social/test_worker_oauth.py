"""The publishing worker with OAuth-connected accounts: refresh before expiry and on a 401, refusals, a changed key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.enums import QueueStatus
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import SocialAccount
from campaigns.social.accounts import NEEDS_REAUTH, add_account, credentials_for
from campaigns.social.connect import complete_from_redirect_url, start_connection
from campaigns.social.receipts import receipts_for
from campaigns.social.scheduling import get_item, schedule_text
from campaigns.social.worker import publish_due
from publishers.linkedin import LinkedInPublisher
from publishers.oauth import build_oauth_clients
from publishers.x import XPublisher
from tests.publishers.fake_oauth import FakeLinkedInOAuth, FakeXOAuth, config_for, follow_consent
from tests.publishers.fake_platforms import FakeLinkedIn, FakeX


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(generate_key())


@pytest.fixture
def now() -> datetime:
    # the wall clock: the fakes stamp posts with it, as the platforms do
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def linkedin():
    """LinkedIn's API and its OAuth server: every token the OAuth server issues is accepted by the API."""
    api, oauth = FakeLinkedIn(token="unused").start(), FakeLinkedInOAuth().start()
    oauth.on_token.append(api.tokens.add)
    clients = build_oauth_clients(config_for(oauth, "linkedin"))
    publisher = LinkedInPublisher(api.url(), timeout=2.0)
    yield api, oauth, clients, publisher
    publisher.close()
    api.stop()
    oauth.stop()


@pytest.fixture
def x():
    api, oauth = FakeX(access_token="unused").start(), FakeXOAuth().start()
    oauth.on_token.append(api.valid_access.add)
    clients = build_oauth_clients(config_for(oauth, "x"))
    publisher = XPublisher(api.url(), timeout=2.0)
    yield api, oauth, clients, publisher
    publisher.close()
    api.stop()
    oauth.stop()


def _connect(url: str, clients, cipher: TokenCipher, platform: str, at: datetime) -> int:
    with session_scope(url) as s:
        started = start_connection(s, "acme", platform, actor="ana", clients=clients, redirect_uri=f"https://app.example.com/oauth/callback/{platform}",
                                   cipher=cipher, now=at)
    result = complete_from_redirect_url(url, follow_consent(started.authorization_url), clients=clients, cipher=cipher, now=at)
    assert result.status == "CONNECTED", result.error
    return result.accounts[0][0]


def _schedule(url: str, account: int, text: str, at: datetime) -> int:
    with session_scope(url) as s:
        return schedule_text(s, "acme", account_id=account, text=text, scheduled_at=at, author="ana").id


def _item(url: str, item_id: int):
    with session_scope(url) as s:
        return get_item(s, "acme", item_id)


def _outcomes(url: str, item_id: int) -> list[str]:
    with session_scope(url) as s:
        return [r["outcome"] for r in receipts_for(s, "acme", item_id)]


def test_a_401_refreshes_the_linkedin_token_through_oauth_and_the_post_goes_out(store_url, linkedin, cipher, now) -> None:
    api, oauth, clients, publisher = linkedin
    account = _connect(store_url, clients, cipher, "linkedin", now)
    api.tokens.clear()  # LinkedIn stops accepting the stored access token before its stated expiry
    item = _schedule(store_url, account, "Spring collection is live", now - timedelta(minutes=1))
    report = publish_due(store_url, {"linkedin": publisher}, "w1", now, cipher=cipher, oauth=clients)
    assert [o.status for o in report.outcomes] == ["PUBLISHED"] and len(api.posts) == 1
    assert _outcomes(store_url, item) == ["auth_expired", "published"]
    with session_scope(store_url) as s:
        stored = s.get(SocialAccount, account)
        assert credentials_for(stored, cipher).access_token.get_secret_value() in api.tokens
        assert stored.token_expires_at > now + timedelta(days=59)


def test_a_token_about_to_expire_is_refreshed_before_the_post_is_sent(store_url, x, cipher, now) -> None:
    api, oauth, clients, publisher = x
    account = _connect(store_url, clients, cipher, "x", now - timedelta(hours=1, minutes=55))  # expires in five minutes
    item = _schedule(store_url, account, "Five minutes left on this token", now - timedelta(minutes=1))
    report = publish_due(store_url, {"x": publisher}, "w1", now, cipher=cipher, oauth=clients)
    assert [o.status for o in report.outcomes] == ["PUBLISHED"] and api.created == 1
    assert _outcomes(store_url, item) == ["published"]  # no attempt was spent on a 401
    assert oauth.count("POST", "/2/oauth2/token") == 2  # the code exchange, then the refresh


def test_a_refused_refresh_stops_the_accounts_items_with_the_reason(store_url, linkedin, cipher, now) -> None:
    api, oauth, clients, publisher = linkedin
    account = _connect(store_url, clients, cipher, "linkedin", now)
    api.tokens.clear()
    oauth.revoke()
    first = _schedule(store_url, account, "First post", now - timedelta(minutes=2))
    second = _schedule(store_url, account, "Second post", now - timedelta(minutes=1))
    report = publish_due(store_url, {"linkedin": publisher}, "w1", now, cipher=cipher, oauth=clients)
    assert [o.status for o in report.outcomes] == ["FAILED", "FAILED"] and api.posts == []
    assert "refresh was refused" in _item(store_url, first).last_error and "revoked" in _item(store_url, first).last_error
    assert "needs re-authentication" in _item(store_url, second).last_error and "revoked" in _item(store_url, second).last_error
    with session_scope(store_url) as s:
        assert s.get(SocialAccount, account).status == NEEDS_REAUTH
    again = publish_due(store_url, {"linkedin": publisher}, "w1", now + timedelta(hours=1), cipher=cipher, oauth=clients)
    assert again.outcomes == []  # nothing is retried


def test_an_outage_of_the_token_endpoint_retries_later(store_url, x, cipher, now) -> None:
    api, oauth, clients, publisher = x
    account = _connect(store_url, clients, cipher, "x", now - timedelta(hours=1, minutes=55))
    item = _schedule(store_url, account, "Token endpoint is down", now - timedelta(minutes=1))
    oauth.fail_next("token", "500")
    report = publish_due(store_url, {"x": publisher}, "w1", now, cipher=cipher, oauth=clients)
    assert [o.status for o in report.outcomes] == ["QUEUED"] and _outcomes(store_url, item) == ["refresh_failed"]
    assert api.created == 0


def test_a_changed_token_key_marks_the_account_and_stops_its_items(store_url, x, cipher, now) -> None:
    api, oauth, clients, publisher = x
    with session_scope(store_url) as s:
        account = add_account(s, "acme", "x", FakeX.USER_ID, actor="ana", access_token="x-access-1", cipher=cipher).id
    first = _schedule(store_url, account, "Written with the old key", now - timedelta(minutes=2))
    second = _schedule(store_url, account, "Also the old key", now - timedelta(minutes=1))
    report = publish_due(store_url, {"x": publisher}, "w1", now, cipher=TokenCipher(generate_key()), oauth=clients)
    assert [o.status for o in report.outcomes] == ["FAILED", "FAILED"] and api.created == 0
    for item in (first, second):
        assert "cannot be decrypted" in _item(store_url, item).last_error and _item(store_url, item).status is QueueStatus.FAILED
    with session_scope(store_url) as s:
        assert s.get(SocialAccount, account).status == NEEDS_REAUTH
