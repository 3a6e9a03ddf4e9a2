"""OIDC bearer tokens on the API: a local identity provider on 127.0.0.1 serves discovery and its JWKS over real HTTP and
signs real JWTs; the API verifies them (signature, issuer, audience, times), maps the email to a user here and takes the
role from that user's membership on the merchant. The verifier's clock is injected, so every time is fixed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from campaigns.access import users
from campaigns.access.oidc_tokens import LEEWAY_SECONDS, REFETCH_SECONDS, TokenVerifier
from campaigns.access.roles import Role
from campaigns.api.app import create_app
from campaigns.core.audit import entries
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from tests.campaigns.api.conftest import Api, make_api
from tests.e2e.oidc_provider import Provider

AUDIENCE = "https://api.campaigns.example"
T0 = 1_800_000_000  # 2027-01-15 08:00 UTC: the verifier's clock, and the times in the tokens
PROBLEM = "application/problem+json"
INVALID_TOKEN = 'Bearer error="invalid_token"'


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider("ana@example.com") as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(store_url: str, tmp_path: Path, provider: Provider, clock: Clock) -> Api:
    with session_scope(store_url) as s:
        for email, memberships in {"ana@example.com": {"acme": Role.MARKETER}, "vic@example.com": {"acme": Role.VIEWER},
                                   "bob@example.com": {"globex": Role.OWNER}, "dee@example.com": {"acme": Role.OWNER},
                                   "multi@example.com": {"acme": Role.OWNER, "globex": Role.VIEWER}}.items():
            users.add_user(s, email, "tests")
            for merchant, role in memberships.items():
                users.grant(s, email, merchant, role, "tests")
        users.add_user(s, "nomad@example.com", "tests")  # an account without any membership
    with session_scope(store_url) as s:
        users.disable_user(s, "dee@example.com", "tests")
    api = make_api(store_url, tmp_path / "home", api_oidc_issuer=provider.issuer, api_oidc_audience=AUDIENCE)
    verifier: TokenVerifier = api.client.app.state.oidc_verifier
    verifier.clock = clock  # injected: token times and the key cache follow the test's clock
    return api


def claims(provider: Provider, email: str = "ana@example.com", **overrides: object) -> dict:
    return {"iss": provider.issuer, "sub": f"sub-{email}", "aud": AUDIENCE, "iat": T0 - 10, "nbf": T0 - 10, "exp": T0 + 300,
            "email": email, "email_verified": True, **overrides}


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def refused(response, *words: str) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM and response.headers["www-authenticate"] == INVALID_TOKEN
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


NEW_CAMPAIGN = {"name": "Spring via SSO", "type": "AWARENESS"}


def test_a_valid_token_acts_as_the_person_and_the_audit_names_them(api: Api, provider: Provider, store_url: str, clock: Clock) -> None:
    token = provider.sign(claims(provider))
    assert api.client.get("/marketing/campaigns", headers=bearer(token)).status_code == 200
    created = api.client.post("/marketing/campaigns", json=NEW_CAMPAIGN, headers=bearer(token, **{"Idempotency-Key": "sso-1"}))
    assert created.status_code == 201, created.text
    again = api.client.post("/marketing/campaigns", json=NEW_CAMPAIGN, headers=bearer(token, **{"Idempotency-Key": "sso-1"}))
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"] and again.headers["idempotent-replayed"] == "true"
    with session_scope(store_url) as s:
        logged = [e for e in entries(s, "acme", created.json()["id"]) if e.action == "campaign.create"]
    assert [e.actor for e in logged] == ["ana@example.com"]  # the person, as the app records them
    # the only membership needs no header; naming it is fine too
    assert api.client.get("/marketing/campaigns", headers=bearer(token, **{"X-Campaigns-Merchant": "acme"})).status_code == 200
    # an ES256 key of the same provider works as well
    ec = provider.add_ec_key()
    clock.now += REFETCH_SECONDS + 1  # a minute on, the unknown key id fetches the JWKS again
    assert api.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider), key=ec))).status_code == 200


def test_an_expired_token_is_refused_beyond_the_leeway(api: Api, provider: Provider) -> None:
    just = provider.sign(claims(provider, exp=T0 - LEEWAY_SECONDS + 5))  # within the clock-skew leeway
    assert api.client.get("/marketing/campaigns", headers=bearer(just)).status_code == 200
    gone = provider.sign(claims(provider, exp=T0 - LEEWAY_SECONDS - 5))
    refused(api.client.get("/marketing/campaigns", headers=bearer(gone)), "expired", "get a new access token")
    early = provider.sign(claims(provider, nbf=T0 + LEEWAY_SECONDS + 30))
    refused(api.client.get("/marketing/campaigns", headers=bearer(early)), "not valid yet")
    no_exp = claims(provider)
    del no_exp["exp"]
    refused(api.client.get("/marketing/campaigns", headers=bearer(provider.sign(no_exp))), "lacks", "exp")


def test_wrong_audience_and_wrong_issuer_are_refused(api: Api, provider: Provider) -> None:
    other_api = provider.sign(claims(provider, aud="https://other.example"))
    refused(api.client.get("/marketing/campaigns", headers=bearer(other_api)), "wrong audience", AUDIENCE)
    among = provider.sign(claims(provider, aud=["https://other.example", AUDIENCE]))  # one of several audiences is ours
    assert api.client.get("/marketing/campaigns", headers=bearer(among)).status_code == 200
    elsewhere = provider.sign(claims(provider, iss="https://evil.example"))
    refused(api.client.get("/marketing/campaigns", headers=bearer(elsewhere)), "wrong issuer", provider.issuer)


def test_unsigned_and_shared_secret_tokens_are_refused(api: Api, provider: Provider) -> None:
    payload = b64(json.dumps(claims(provider)).encode())
    unsigned = f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}."
    refused(api.client.get("/marketing/campaigns", headers=bearer(unsigned)), "'none'", "does not accept")
    # HS256 "signed" with the provider's public key, which anyone can download: the classic key-confusion forgery
    public_pem = provider.key.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (public_pem, json.dumps(provider.key.as_dict(private=False)).encode()):
        head = b64(json.dumps({"alg": "HS256", "kid": provider.key.kid, "typ": "JWT"}).encode())
        mac = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        refused(api.client.get("/marketing/campaigns", headers=bearer(f"{head}.{payload}.{b64(mac)}")), "'HS256'", "does not accept")
    # a real signature over other claims: the payload was changed after signing
    head, _, signature = provider.sign(claims(provider)).split(".")
    forged = b64(json.dumps(claims(provider, email="multi@example.com")).encode())
    refused(api.client.get("/marketing/campaigns", headers=bearer(f"{head}.{forged}.{signature}")), "bad signature")
    refused(api.client.get("/marketing/campaigns", headers=bearer("not-a-token")), "neither an API key")


def test_an_unknown_key_id_fetches_the_keys_again_once_and_rotation_works(api: Api, provider: Provider, clock: Clock) -> None:
    first = provider.sign(claims(provider))
    for _ in range(3):
        assert api.client.get("/marketing/campaigns", headers=bearer(first)).status_code == 200
    assert provider.requests["/.well-known/openid-configuration"] == 1 and provider.requests["/jwks"] == 1  # cached

    clock.now += REFETCH_SECONDS + 1
    provider.rotate("key-2")  # the provider signs with a new key the API has not seen
    rotated = provider.sign(claims(provider, iat=int(clock.now) - 5, exp=int(clock.now) + 300))
    assert api.client.get("/marketing/campaigns", headers=bearer(rotated)).status_code == 200
    assert provider.requests["/jwks"] == 2 and provider.requests["/.well-known/openid-configuration"] == 1

    # a key the provider never published: one more fetch would not help within the minute, so none is made
    stranger = RSAKey.generate_key(2048, parameters={"kid": "ghost", "alg": "RS256"})
    ghost = provider.sign(claims(provider, iat=int(clock.now) - 5, exp=int(clock.now) + 3600), key=stranger)
    refused(api.client.get("/marketing/campaigns", headers=bearer(ghost)), "unknown signing key", "'ghost'")
    assert provider.requests["/jwks"] == 2
    clock.now += REFETCH_SECONDS + 1
    refused(api.client.get("/marketing/campaigns", headers=bearer(ghost)), "unknown signing key")
    assert provider.requests["/jwks"] == 3  # asked again once, still unknown
    # the old key still verifies its own tokens while the provider publishes it
    assert api.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider, exp=int(clock.now) + 60),
                                                                                 key=provider.published[0]))).status_code == 200

    clock.now += api.client.app.state.settings.api_oidc_cache_seconds + 1  # past the cache: discovery and keys again
    fresh = provider.sign(claims(provider, iat=int(clock.now), exp=int(clock.now) + 300))
    assert api.client.get("/marketing/campaigns", headers=bearer(fresh)).status_code == 200
    assert provider.requests["/.well-known/openid-configuration"] == 2 and provider.requests["/jwks"] == 4


def test_unknown_disabled_and_unverified_people_are_refused(api: Api, provider: Provider) -> None:
    refused(api.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider, "dee@example.com")))),
            "no such user", "dee@example.com", "campaigns users add")
    refused(api.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider, "zed@example.com")))),
            "no such user", "zed@example.com")
    refused(api.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider, email_verified=False)))), "not verified")
    no_email = claims(provider)
    del no_email["email"]
    refused(api.client.get("/marketing/campaigns", headers=bearer(provider.sign(no_email))), "no `email` claim", "CAMPAIGNS_API_OIDC_EMAIL_CLAIM")
    nomad = api.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider, "nomad@example.com"))))
    assert nomad.status_code == 403 and "no role on any merchant" in nomad.json()["detail"]


def test_another_merchants_ids_are_not_found_and_a_merchant_without_membership_is_refused(api: Api, provider: Provider) -> None:
    campaign = api.create("Acme only")
    bob = provider.sign(claims(provider, "bob@example.com"))  # owner of globex, nothing on acme
    for response in (api.client.get(f"/marketing/campaigns/{campaign['id']}", headers=bearer(bob)),
                     api.client.post(f"/marketing/campaigns/{campaign['id']}/launch", headers=bearer(bob)),
                     api.client.delete(f"/marketing/campaigns/{campaign['id']}", headers=bearer(bob))):
        assert response.status_code == 404, response.text
        assert "acme" not in response.text and campaign["name"] not in response.text
    assert campaign["id"] not in api.client.get("/marketing/campaigns", headers=bearer(bob)).text
    assert api.client.get(f"/marketing/campaigns/{campaign['id']}", headers=api.headers()).status_code == 200  # still there
    # naming a merchant without a membership: the same answer whether it exists (acme) or not (nowhere)
    answers = {merchant: api.client.get("/marketing/campaigns", headers=bearer(bob, **{"X-Campaigns-Merchant": merchant}))
               for merchant in ("acme", "nowhere")}
    for merchant, answer in answers.items():
        assert answer.status_code == 403 and answer.headers["content-type"] == PROBLEM
        assert "no membership" in answer.json()["detail"]
    assert answers["acme"].json()["detail"].replace("acme", "M") == answers["nowhere"].json()["detail"].replace("nowhere", "M")


def test_the_role_is_the_membership_on_the_named_merchant(api: Api, provider: Provider) -> None:
    viewer = provider.sign(claims(provider, "vic@example.com"))
    assert api.client.get("/marketing/campaigns", headers=bearer(viewer)).status_code == 200
    denied = api.client.post("/marketing/campaigns", json=NEW_CAMPAIGN, headers=bearer(viewer))
    assert denied.status_code == 403 and "viewer" in denied.json()["detail"]
    assert api.client.get("/marketing/campaigns", params={"search": "SSO"}, headers=api.headers()).json()["items"] == []

    multi = provider.sign(claims(provider, "multi@example.com"))  # owner of acme, viewer of globex
    which = api.client.get("/marketing/campaigns", headers=bearer(multi))
    assert which.status_code == 422 and "X-Campaigns-Merchant" in which.json()["detail"] and "acme, globex" in which.json()["detail"]
    as_viewer = api.client.post("/marketing/campaigns", json=NEW_CAMPAIGN, headers=bearer(multi, **{"X-Campaigns-Merchant": "globex"}))
    assert as_viewer.status_code == 403
    as_owner = api.client.post("/marketing/campaigns", json=NEW_CAMPAIGN, headers=bearer(multi, **{"X-Campaigns-Merchant": "acme"}))
    assert as_owner.status_code == 201
    assert api.client.get(f"/marketing/campaigns/{as_owner.json()['id']}", headers=api.headers()).status_code == 200  # on acme
    bad = api.client.get("/marketing/campaigns", headers=bearer(multi, **{"X-Campaigns-Merchant": "../acme"}))
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM


def test_revoking_the_membership_takes_effect_at_once(api: Api, provider: Provider, store_url: str) -> None:
    token = provider.sign(claims(provider, "vic@example.com"))
    assert api.client.get("/marketing/campaigns", headers=bearer(token)).status_code == 200
    with session_scope(store_url) as s:
        users.revoke(s, "vic@example.com", "acme", "tests")
    assert api.client.get("/marketing/campaigns", headers=bearer(token)).status_code == 403


def test_api_keys_still_work_and_keep_to_their_merchant(api: Api) -> None:
    assert api.client.get("/marketing/campaigns", headers=api.headers()).status_code == 200
    assert api.client.get("/marketing/campaigns", headers=api.headers(**{"X-Campaigns-Merchant": "acme"})).status_code == 200
    other = api.client.get("/marketing/campaigns", headers=api.headers(**{"X-Campaigns-Merchant": "globex"}))
    assert other.status_code == 403 and "its own merchant" in other.json()["detail"]
    bad_key = api.client.get("/marketing/campaigns", headers=bearer(api.keys[Role.VIEWER] + "x"))
    assert bad_key.status_code == 401 and bad_key.headers["www-authenticate"] == INVALID_TOKEN  # a co_ token is never taken for a JWT
    missing = api.client.get("/marketing/campaigns")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"


def test_the_rate_limit_counts_per_person(store_url: str, tmp_path: Path, provider: Provider) -> None:
    with session_scope(store_url) as s:
        for email in ("ana@example.com", "vic@example.com"):
            users.add_user(s, email, "tests")
            users.grant(s, email, "acme", Role.VIEWER, "tests")
    api = make_api(store_url, tmp_path / "home", api_oidc_issuer=provider.issuer, api_oidc_audience=AUDIENCE, api_rate_limit_per_minute=2)
    clock = Clock()
    api.client.app.state.oidc_verifier.clock = clock
    ana, vic = (provider.sign(claims(provider, email)) for email in ("ana@example.com", "vic@example.com"))
    assert [api.client.get("/marketing/campaigns", headers=bearer(ana)).status_code for _ in range(2)] == [200, 200]
    limited = api.client.get("/marketing/campaigns", headers=bearer(ana))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert api.client.get("/marketing/campaigns", headers=bearer(vic)).status_code == 200  # another person has their own bucket


def test_a_provider_that_does_not_answer_gives_503_and_a_custom_email_claim(store_url: str, tmp_path: Path, provider: Provider) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    down = make_api(store_url, tmp_path / "down", api_oidc_issuer=f"http://127.0.0.1:{port}", api_oidc_audience=AUDIENCE)
    answer = down.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider))))
    assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM and answer.headers["retry-after"] == "60"
    assert "did not answer" in answer.json()["detail"]
    slash = make_api(store_url, tmp_path / "slash", api_oidc_issuer=provider.issuer + "/", api_oidc_audience=AUDIENCE)
    mismatch = slash.client.get("/marketing/campaigns", headers=bearer(provider.sign(claims(provider))))
    assert mismatch.status_code == 503 and f"names the issuer {provider.issuer!r}" in mismatch.json()["detail"]
    assert "CAMPAIGNS_API_OIDC_ISSUER" in mismatch.json()["detail"]

    with session_scope(store_url) as s:
        users.add_user(s, "upn@example.com", "tests")
        users.grant(s, "upn@example.com", "acme", Role.VIEWER, "tests")
    upn = make_api(store_url, tmp_path / "upn", api_oidc_issuer=provider.issuer, api_oidc_audience=AUDIENCE,
                   api_oidc_email_claim="preferred_username")
    upn.client.app.state.oidc_verifier.clock = Clock()
    token = provider.sign(claims(provider, "someone-else@example.com", preferred_username="UPN@example.com"))
    assert upn.client.get("/marketing/campaigns", headers=bearer(token)).status_code == 200


def test_the_configuration_is_checked_at_start_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(ValueError, match="CAMPAIGNS_API_OIDC_AUDIENCE is not"):
        create_app(Settings(home=home, api_oidc_issuer="https://idp.example.com"))
    with pytest.raises(ValueError, match="must be an https://"):
        create_app(Settings(home=home, api_oidc_issuer="http://idp.example.com", api_oidc_audience=AUDIENCE))
    for alg in ("none", "HS256"):
        with pytest.raises(ValidationError, match="never none, never HS"):
            Settings(home=home, api_oidc_algorithms=[alg])
    app = create_app(Settings(home=home))
    assert app.state.oidc_verifier is None  # off unless configured: a JWT is then just a malformed API key
    app = create_app(Settings(home=home, api_oidc_issuer="https://idp.example.com/", api_oidc_audience=AUDIENCE))
    assert app.state.oidc_verifier.config.discovery_url == "https://idp.example.com/.well-known/openid-configuration"


def test_openapi_documents_both_ways_and_the_merchant_header(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer" and "co_" in schemes["HTTPBearer"]["description"]
    assert schemes["OidcBearer"] == {**schemes["OidcBearer"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    operation = spec["paths"]["/marketing/campaigns"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}, {"OidcBearer": []}]  # either one
    assert any(p["name"] == "X-Campaigns-Merchant" and p["in"] == "header" and not p.get("required") for p in operation["parameters"])
