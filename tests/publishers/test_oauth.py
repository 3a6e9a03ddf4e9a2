"""The OAuth protocol clients against local fakes of X, LinkedIn and Facebook Login."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from pydantic import SecretStr

from publishers.config import OAuthConfig
from publishers.oauth import (
    FacebookOAuth,
    InstagramOAuth,
    LinkedInOAuth,
    OAuthError,
    XOAuth,
    build_oauth_clients,
    classify,
    new_pkce,
)
from tests.publishers.fake_oauth import FakeFacebookOAuth, FakeLinkedInOAuth, FakeXOAuth, config_for, follow_consent

REDIRECT = "https://app.example.com/oauth/callback/x"


@pytest.fixture
def fake_x_oauth():
    fake = FakeXOAuth().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_li_oauth():
    fake = FakeLinkedInOAuth().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_fb_oauth():
    fake = FakeFacebookOAuth().start()
    yield fake
    fake.stop()


def _code(client, state: str = "st-1", redirect: str = REDIRECT) -> tuple[str, str | None]:
    verifier, challenge = new_pkce() if client.uses_pkce else (None, None)
    location = follow_consent(client.authorization_url(state=state, redirect_uri=redirect, code_challenge=challenge))
    query = parse_qs(urlparse(location).query)
    assert query["state"] == [state]
    return query["code"][0], verifier


def test_pkce_pair_follows_rfc_7636() -> None:
    verifier, challenge = new_pkce()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert challenge == base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert new_pkce()[0] != verifier


def test_x_code_exchange_with_pkce_discovery_and_rotating_refresh(fake_x_oauth) -> None:
    client = XOAuth(config_for(fake_x_oauth, "x"))
    url = client.authorization_url(state="st-1", redirect_uri=REDIRECT, code_challenge="abc")
    query = parse_qs(urlparse(url).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [REDIRECT]
    assert query["scope"] == ["tweet.read tweet.write users.read offline.access"]
    code, verifier = _code(client)
    tokens = client.exchange(code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert tokens.expires_in == 7200 and tokens.refresh_token is not None and "offline.access" in tokens.scopes
    client.check_scopes(tokens.scopes)
    [account] = client.accounts(tokens)
    assert (account.handle, account.external_id) == ("@juniperfinch", FakeXOAuth.USER["id"])
    fresh = client.refresh(tokens.refresh_token.get_secret_value())
    assert fresh.refresh_token != tokens.refresh_token
    with pytest.raises(OAuthError) as refused:
        client.refresh(tokens.refresh_token.get_secret_value())  # spent: X rotated it
    assert refused.value.kind == "invalid_grant" and refused.value.reconnect
    assert tokens.refresh_token.get_secret_value() not in str(refused.value)
    request = [r for r in fake_x_oauth.requests if r["path"] == "/2/oauth2/token"][0]
    assert request["headers"]["Authorization"].startswith("Basic ") and request["form"]["grant_type"] == ["authorization_code"]
    client.close()


def test_x_refuses_a_wrong_verifier_a_reused_code_and_a_missing_scope(fake_x_oauth) -> None:
    client = XOAuth(config_for(fake_x_oauth, "x"))
    code, _ = _code(client)
    with pytest.raises(OAuthError) as wrong:
        client.exchange(code, redirect_uri=REDIRECT, code_verifier=new_pkce()[0])
    assert wrong.value.kind == "invalid_grant" and "verifier" in wrong.value.reason
    with pytest.raises(OAuthError, match="authorization code was invalid"):
        client.exchange(code, redirect_uri=REDIRECT, code_verifier="x" * 50)
    fake_x_oauth.withheld = {"offline.access"}
    code, verifier = _code(client)
    tokens = client.exchange(code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert tokens.refresh_token is None
    with pytest.raises(OAuthError) as missing:
        client.check_scopes(tokens.scopes)
    assert missing.value.kind == "scope_missing" and "offline.access" in missing.value.reason
    fake_x_oauth.revoke()
    with pytest.raises(OAuthError) as revoked:
        client.accounts(tokens)
    assert revoked.value.kind == "revoked"


def test_x_configuration_and_outages(fake_x_oauth, closed_port) -> None:
    with pytest.raises(OAuthError) as unset:
        XOAuth(OAuthConfig()).authorization_url(state="s", redirect_uri=REDIRECT, code_challenge="c")
    assert unset.value.kind == "misconfigured" and "CAMPAIGNS_X_CLIENT_ID" in unset.value.reason and not unset.value.reconnect
    with pytest.raises(ValueError, match="PKCE"):
        XOAuth(config_for(fake_x_oauth, "x")).authorization_url(state="s", redirect_uri=REDIRECT)
    wrong_secret = XOAuth(config_for(fake_x_oauth, "x", x_client_secret=SecretStr("nope")))
    with pytest.raises(OAuthError) as bad_client:
        wrong_secret.refresh("x-refresh-1")
    assert bad_client.value.kind == "misconfigured"
    fake_x_oauth.fail_next("token", "500")
    with pytest.raises(OAuthError) as down:
        XOAuth(config_for(fake_x_oauth, "x")).refresh("x-refresh-1")
    assert down.value.kind == "unavailable" and not down.value.reconnect
    unreachable = XOAuth(config_for(fake_x_oauth, "x", x_base_url=f"http://127.0.0.1:{closed_port}"))
    with pytest.raises(OAuthError) as refused:
        unreachable.refresh("x-refresh-1")
    assert refused.value.kind == "unavailable" and "x-refresh-1" not in str(refused.value)


def test_linkedin_organizations_refresh_and_errors(fake_li_oauth) -> None:
    client = LinkedInOAuth(config_for(fake_li_oauth, "linkedin"))
    assert "code_challenge" not in client.authorization_url(state="s", redirect_uri=REDIRECT)
    code, _ = _code(client)
    tokens = client.exchange(code, redirect_uri=REDIRECT)
    assert tokens.expires_in == 5184000 and tokens.refresh_expires_in == 31536000
    assert tokens.scopes == {"r_organization_social", "w_organization_social", "rw_organization_admin"}
    accounts = client.accounts(tokens)
    assert [a.handle for a in accounts] == ["urn:li:organization:2414183"]  # the ANALYST role cannot post
    acl = [r for r in fake_li_oauth.requests if r["path"] == "/rest/organizationAcls"][0]
    assert acl["headers"]["Linkedin-Version"] == "202510" and acl["headers"]["X-Restli-Protocol-Version"] == "2.0.0"
    fresh = client.renew("urn:li:organization:2414183", tokens.refresh_token.get_secret_value())
    assert fresh.refresh_token == tokens.refresh_token and fresh.access_token != tokens.access_token
    fake_li_oauth.refresh_expired = True
    with pytest.raises(OAuthError) as expired:
        client.refresh(tokens.refresh_token.get_secret_value())
    assert expired.value.kind == "expired"
    fake_li_oauth.refresh_expired = False
    fake_li_oauth.revoke()
    with pytest.raises(OAuthError) as revoked:
        client.refresh(tokens.refresh_token.get_secret_value())
    assert revoked.value.kind == "revoked" and revoked.value.reconnect
    with pytest.raises(OAuthError) as redirect_mismatch:
        client.exchange(_code(client)[0], redirect_uri="https://elsewhere.example/cb")
    assert redirect_mismatch.value.kind == "expired"  # LinkedIn's one message covers mismatch and expiry
    fake_li_oauth.withheld = {"rw_organization_admin"}
    tokens = client.exchange(_code(client)[0], redirect_uri=REDIRECT)
    with pytest.raises(OAuthError) as scope:
        client.check_scopes(tokens.scopes)
    assert scope.value.kind == "scope_missing"
    with pytest.raises(OAuthError) as forbidden:
        client.accounts(tokens)
    assert forbidden.value.kind == "scope_missing"
    with pytest.raises(OAuthError) as bad_client:
        LinkedInOAuth(config_for(fake_li_oauth, "linkedin", linkedin_client_secret=SecretStr("no"))).refresh("r")
    assert bad_client.value.kind == "misconfigured"


def test_facebook_pages_and_instagram_accounts_with_page_tokens(fake_fb_oauth) -> None:
    config = config_for(fake_fb_oauth, "facebook")
    facebook, instagram = FacebookOAuth(config), InstagramOAuth(config)
    url = facebook.authorization_url(state="s", redirect_uri=REDIRECT)
    assert parse_qs(urlparse(url).query)["scope"] == ["pages_show_list,pages_read_engagement,pages_manage_posts,business_management"]
    code, _ = _code(facebook)
    tokens = facebook.exchange(code, redirect_uri=REDIRECT)
    assert tokens.access_token.get_secret_value().startswith("user-long-") and tokens.refresh_expires_in == 5183944
    facebook.check_scopes(tokens.scopes)
    [page] = facebook.accounts(tokens)  # the read-only page is left out
    assert (page.handle, page.name) == ("104729", "Juniper & Finch") and page.tokens.access_token.get_secret_value().startswith("page-104729-")
    assert page.tokens.expires_in is None and page.tokens.refresh_token == tokens.refresh_token
    code, _ = _code(instagram)
    ig_tokens = instagram.exchange(code, redirect_uri=REDIRECT)
    instagram.check_scopes(ig_tokens.scopes)
    [ig] = instagram.accounts(ig_tokens)
    assert (ig.handle, ig.external_id) == ("@juniperfinch", "17841400000000001") and ig.tokens.access_token.get_secret_value().startswith("page-104729-")
    renewed = instagram.renew("17841400000000001", ig_tokens.refresh_token.get_secret_value())
    assert renewed.access_token.get_secret_value().startswith("page-104729-") and renewed.refresh_token != ig_tokens.refresh_token
    with pytest.raises(OAuthError) as gone:
        facebook.renew("999", tokens.refresh_token.get_secret_value())
    assert gone.value.kind == "revoked"
    fake_fb_oauth.revoke()
    with pytest.raises(OAuthError) as expired:
        facebook.renew("104729", tokens.refresh_token.get_secret_value())
    assert expired.value.kind == "expired" and "subcode 463" in expired.value.reason


def test_facebook_code_errors(fake_fb_oauth) -> None:
    facebook = FacebookOAuth(config_for(fake_fb_oauth, "facebook"))
    code, _ = _code(facebook)
    facebook.exchange(code, redirect_uri=REDIRECT)
    with pytest.raises(OAuthError) as used:
        facebook.exchange(code, redirect_uri=REDIRECT)
    assert used.value.kind == "invalid_grant" and "been used" in used.value.reason
    fake_fb_oauth.expire_codes = True
    with pytest.raises(OAuthError) as expired:
        facebook.exchange(_code(facebook)[0], redirect_uri=REDIRECT)
    assert expired.value.kind == "expired"
    fake_fb_oauth.expire_codes = False
    fake_fb_oauth.withheld = {"pages_manage_posts", "pages_show_list"}
    tokens = facebook.exchange(_code(facebook)[0], redirect_uri=REDIRECT)
    with pytest.raises(OAuthError, match="pages_manage_posts, pages_show_list"):
        facebook.check_scopes(tokens.scopes)
    with pytest.raises(OAuthError) as forbidden:
        facebook.accounts(tokens)
    assert forbidden.value.kind == "scope_missing"
    fake_fb_oauth.fail_next("token", "500")
    with pytest.raises(OAuthError) as down:
        facebook.exchange("code-x", redirect_uri=REDIRECT)
    assert down.value.kind == "unavailable"
    with pytest.raises(OAuthError) as secret:
        FacebookOAuth(config_for(fake_fb_oauth, "facebook", facebook_app_secret=SecretStr("wrong"))).exchange("c", redirect_uri=REDIRECT)
    assert secret.value.kind == "misconfigured" and "wrong" not in str(secret.value)
    with pytest.raises(OAuthError, match="CAMPAIGNS_FACEBOOK_APP_ID"):
        FacebookOAuth(OAuthConfig()).authorization_url(state="s", redirect_uri=REDIRECT)


@pytest.mark.parametrize(("status", "body", "kind"), [
    (400, {"error": {"message": "x", "code": 190, "error_subcode": 458}}, "revoked"),
    (400, {"error": {"message": "x", "code": 10}}, "scope_missing"),
    (400, {"error": {"message": "(#4) Application request limit reached", "code": 4}}, "unavailable"),
    (400, {"error": {"message": "x", "code": 190}}, "invalid_grant"),
    (400, {"error": "access_denied", "error_description": "The user denied"}, "access_denied"),
    (401, {"title": "Unauthorized"}, "revoked"),
    (429, {"title": "Too Many Requests"}, "unavailable"),
])
def test_error_shapes_map_to_kinds(status, body, kind) -> None:
    assert classify("x", httpx.Response(status, json=body)).kind == kind


def test_the_factory_builds_every_platform() -> None:
    clients = build_oauth_clients(OAuthConfig(x_client_id="id"))
    assert sorted(clients) == ["facebook", "instagram", "linkedin", "x"] and "id" in repr(clients["x"])


def test_malformed_answers_are_unavailable_not_a_crash(httpserver) -> None:
    """A token endpoint or profile that answers 200 without what the protocol promises (a proxy's page, a partial body)."""
    httpserver.expect_request("/2/oauth2/token", method="POST").respond_with_json({"token_type": "bearer"})
    httpserver.expect_request("/2/users/me").respond_with_json({"data": {}})
    httpserver.expect_request("/v21.0/oauth/access_token").respond_with_data("<html>maintenance</html>", content_type="text/html")
    config = OAuthConfig(x_client_id="id", x_base_url=httpserver.url_for(""), facebook_app_id="app", facebook_app_secret=SecretStr("s"),
                         facebook_base_url=httpserver.url_for("/v21.0"))
    client = XOAuth(config)
    with pytest.raises(OAuthError, match="without an access_token") as no_token:
        client.refresh("r-1")
    assert no_token.value.kind == "unavailable"
    from publishers.oauth import TokenSet

    with pytest.raises(OAuthError, match="without a user id"):
        client.accounts(TokenSet(SecretStr("a")))
    with pytest.raises(OAuthError, match="without a JSON object") as html:
        FacebookOAuth(config).exchange("c", redirect_uri=REDIRECT)
    assert html.value.kind == "unavailable"
