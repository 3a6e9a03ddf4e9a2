"""OpenID Connect bearer tokens for the API: a JWT from the merchant's identity provider instead of an API key.

The provider's discovery document (``ISSUER/.well-known/openid-configuration``) names its JWKS; both are fetched
over HTTPS when the first token arrives (never at import or start-up), kept for `cache_seconds`, and the JWKS is
fetched again at most once a minute when a token names a key id it does not hold (the provider rotated its keys).
A token is accepted when its signature verifies with one of those keys under an allowed asymmetric algorithm
(never ``none``, never a shared-secret HS*: a public key must never double as an HMAC secret), and its ``iss``,
``aud``, ``exp``, ``nbf`` and ``iat`` hold with a minute's leeway for clock skew.

The token says who the person is (the email claim); this store says what they may do: an active user with a
membership on the merchant, read on every request, so disabling a user or revoking a role takes effect at once.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import httpx
from joserfc import jws
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import ECKey, Key, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy.orm import Session

from campaigns.access.roles import Role
from campaigns.access.users import find_user, memberships_of, normalise_email
from campaigns.core.settings import OIDC_SIGNING_ALGORITHMS

log = logging.getLogger(__name__)

LEEWAY_SECONDS = 60  # clock skew between the provider and this server
REFETCH_SECONDS = 60  # an unknown key id fetches the JWKS again at most this often (a stream of made-up ids costs one fetch a minute)
MAX_TOKEN_BYTES = 16 * 1024
MAX_DOCUMENT_BYTES = 512 * 1024  # discovery document or JWKS
ASYMMETRIC_ALGORITHMS = OIDC_SIGNING_ALGORITHMS
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


class TokenError(ValueError):
    """The bearer token is not acceptable (the API answers 401 with ``error="invalid_token"`` and this message)."""


class ProviderUnavailable(RuntimeError):
    """The identity provider's discovery document or keys could not be had (the API answers 503; nothing is wrong with the token)."""


class MerchantRequired(ValueError):
    """The person belongs to several merchants and did not say which one this request is for."""


class NoMembership(PermissionError):
    """The person has no role on the merchant the request names (the same answer whether that merchant exists or not)."""


def check_algorithms(algorithms: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The algorithms, when each is an asymmetric signature this API verifies; ValueError naming the bad one otherwise."""
    if not algorithms:
        raise ValueError(f"allow at least one signing algorithm, e.g. [\"RS256\", \"ES256\"]; choose from {', '.join(ASYMMETRIC_ALGORITHMS)}")
    for alg in algorithms:
        if alg not in ASYMMETRIC_ALGORITHMS:
            why = ("an unsigned token proves nothing" if alg.lower() == "none"
                   else "a shared-secret algorithm would let anyone holding the provider's public key sign tokens" if alg.upper().startswith("HS")
                   else "it is not a signing algorithm this API verifies")
            raise ValueError(f"algorithm {alg!r} is not allowed ({why}); choose from {', '.join(ASYMMETRIC_ALGORITHMS)}")
    return tuple(algorithms)


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str, setting: str) -> None:
    parts = urlparse(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _loopback(parts.hostname):
        return  # a provider on this machine (a local Keycloak, the tests' fake)
    raise ValueError(f"{what} {url!r} must be an https:// URL (plain http only on 127.0.0.1 or localhost); fix {setting}")


@dataclass(frozen=True)
class OidcConfig:
    """What the API trusts: tokens of `issuer` for `audience`, naming the person in `email_claim`."""

    issuer: str  # exactly as the provider's discovery document and tokens spell it (a trailing slash counts)
    audience: str
    email_claim: str = "email"
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    cache_seconds: float = 3600.0
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        _check_url(self.issuer, "the OIDC issuer", "CAMPAIGNS_API_OIDC_ISSUER")
        if not self.audience.strip():
            raise ValueError("CAMPAIGNS_API_OIDC_AUDIENCE is empty; set it to the audience (aud) the provider puts in tokens for this API")
        if not self.email_claim.strip():
            raise ValueError("CAMPAIGNS_API_OIDC_EMAIL_CLAIM is empty; leave it unset for `email`, or name the claim that holds the email address")
        check_algorithms(self.algorithms)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


@dataclass(frozen=True)
class VerifiedToken:
    email: str
    subject: str | None
    claims: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class UserIdentity:
    """Who a verified token speaks for, on which merchant, with which role."""

    id: int  # the user's id
    email: str
    merchant_id: str
    role: Role

    @property
    def actor(self) -> str:
        # the plain email, as the app records a signed-in person: one person is one actor in the audit log and for
        # the four-eyes rule, whether they wrote in the app and approve through the API or the other way round
        return self.email


class TokenVerifier:
    """Verifies tokens of one issuer; holds the provider's keys between requests (thread-safe)."""

    def __init__(self, config: OidcConfig, *, clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.config, self.clock, self.transport = config, clock, transport
        self._lock = threading.Lock()
        self._jwks_uri: str | None = None
        self._keys: list[Key] | None = None
        self._fetched_at = self._tried_at = float("-inf")  # the last fetch that worked; the last one tried
        self._failure: str | None = None

    # --- the provider's keys -----------------------------------------------------------------
    def _get_json(self, client: httpx.Client, url: str, what: str) -> dict[str, Any]:
        try:
            response = client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the identity provider's {what} at {url} did not answer ({type(exc).__name__}); retry shortly") from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"the identity provider's {what} at {url} answered HTTP {response.status_code}; "
                                      "check CAMPAIGNS_API_OIDC_ISSUER and retry")
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ProviderUnavailable(f"the identity provider's {what} at {url} is larger than {MAX_DOCUMENT_BYTES // 1024} KB")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"the identity provider's {what} at {url} is not a JSON object")
        return body

    def _fetch(self, *, discover: bool) -> None:
        with httpx.Client(timeout=self.config.timeout_seconds, follow_redirects=False, transport=self.transport) as client:
            if discover or self._jwks_uri is None:
                document = self._get_json(client, self.config.discovery_url, "discovery document")
                if document.get("issuer") != self.config.issuer:
                    raise ProviderUnavailable(f"the discovery document at {self.config.discovery_url} names the issuer {document.get('issuer')!r}; "
                                              "set CAMPAIGNS_API_OIDC_ISSUER to exactly that")
                jwks_uri = document.get("jwks_uri")
                if not isinstance(jwks_uri, str):
                    raise ProviderUnavailable(f"the discovery document at {self.config.discovery_url} has no jwks_uri")
                try:
                    _check_url(jwks_uri, "the provider's jwks_uri", "the provider")
                except ValueError as exc:
                    raise ProviderUnavailable(str(exc)) from None
                self._jwks_uri = jwks_uri
            keys = self._get_json(client, self._jwks_uri, "key set (JWKS)").get("keys")
        if not isinstance(keys, list):
            raise ProviderUnavailable(f"the key set at {self._jwks_uri} has no `keys` list")
        self._keys = [key for key in (_import(k) for k in keys) if key is not None]

    def _refresh(self, *, discover: bool) -> None:
        """Fetch again, at most once every REFETCH_SECONDS; on failure keep the keys we had (a provider outage must not
        stop the tokens it signed before) and, without any, say why until the next try."""
        now = self.clock()
        if 0 <= now - self._tried_at < REFETCH_SECONDS:
            if self._keys is None and self._failure is not None:
                raise ProviderUnavailable(self._failure)
            return
        self._tried_at = now
        try:
            self._fetch(discover=discover)
            self._fetched_at, self._failure = now, None
        except ProviderUnavailable as exc:
            self._failure = str(exc)
            if self._keys is None:
                raise
            log.warning("keeping the identity provider's previous keys: %s", exc)

    def signing_key(self, kid: str | None, alg: str) -> Key:
        with self._lock:
            if self._keys is None or not 0 <= self.clock() - self._fetched_at < self.config.cache_seconds:
                self._refresh(discover=True)
            key = _find(self._keys or [], kid, alg)
            if key is None:
                self._refresh(discover=False)  # an unknown key id: the provider may have rotated its keys
                key = _find(self._keys or [], kid, alg)
        if key is None:
            named = f"key {kid!r}" if kid else "single key (the token names no `kid`)"
            raise TokenError(f"unknown signing key: the identity provider at {self.config.issuer} publishes no {named} for {alg}; "
                             "get a new token from the provider (if it rotated its keys just now, retry in a minute)")
        return key

    # --- the token ------------------------------------------------------------------------------
    def verify(self, token: str) -> VerifiedToken:
        """The person a valid token names; TokenError saying what is wrong and the fix otherwise."""
        if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
            raise TokenError("the bearer token is neither an API key (co_...) nor a JWT; send an access token from the identity provider "
                             "or an API key as 'Authorization: Bearer ...'")
        try:
            compact = jws.extract_compact(token.encode())
            header = compact.headers()
        except (JoseError, ValueError, TypeError):
            raise TokenError("the token is malformed (not a compact JWS); send the access token exactly as the identity provider issued it") from None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise TokenError(f"the token is signed with {str(alg)[:20]!r}, which this API does not accept; accepted: {', '.join(self.config.algorithms)} "
                             "(unsigned tokens and shared-secret HS* signatures are always refused)")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenError("the token's `kid` header is not a string; send the token exactly as the identity provider issued it")
        key = self.signing_key(kid, alg)
        try:
            valid = jws.validate_compact(compact, key, algorithms=[alg])
        except JoseError:
            valid = False
        if not valid:
            raise TokenError(f"bad signature: the token was not signed by the identity provider's key {kid!r}; "
                             "send the token unchanged, exactly as the provider issued it")
        try:
            claims = json.loads(compact.payload)
        except (TypeError, ValueError):
            claims = None
        if not isinstance(claims, dict):
            raise TokenError("the token's payload is not a JSON object of claims")
        self._check_claims(claims)
        return VerifiedToken(self._email(claims), claims.get("sub") if isinstance(claims.get("sub"), str) else None, claims)

    def _check_claims(self, claims: dict[str, Any]) -> None:
        config = self.config
        registry = JWTClaimsRegistry(now=int(self.clock()), leeway=LEEWAY_SECONDS, iss={"essential": True, "value": config.issuer},
                                     aud={"essential": True, "value": config.audience}, exp={"essential": True})
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            at = datetime.fromtimestamp(claims["exp"], UTC).isoformat(timespec="seconds")
            raise TokenError(f"the token expired at {at}; get a new access token from the identity provider") from None
        except MissingClaimError as exc:
            raise TokenError(f"the token lacks the claim(s) {exc.claim}; ask the identity provider for a token with iss, aud and exp") from None
        except InvalidClaimError as exc:
            raise TokenError(_claim_problem(exc.claim, claims, config)) from None
        except JoseError as exc:
            raise TokenError(f"the token's claims are not valid ({exc.error}); get a new token from the identity provider") from None

    def _email(self, claims: dict[str, Any]) -> str:
        claim = self.config.email_claim
        value = claims.get(claim)
        if not isinstance(value, str) or not value.strip():
            raise TokenError(f"the token has no `{claim}` claim with an email address; ask the identity provider to put the email in "
                             f"`{claim}`, or set CAMPAIGNS_API_OIDC_EMAIL_CLAIM to the claim that holds it")
        if claims.get("email_verified") is False:
            raise TokenError("the identity provider says this email address is not verified (email_verified is false); "
                             "verify it at the provider and get a new token")
        try:
            return normalise_email(value)
        except ValueError:
            raise TokenError(f"the token's `{claim}` claim is not an email address; set CAMPAIGNS_API_OIDC_EMAIL_CLAIM to the claim that holds one") from None


def _claim_problem(claim: str, claims: dict[str, Any], config: OidcConfig) -> str:
    if claim == "aud":
        return (f"wrong audience: the token is for {_short(claims.get('aud'))}, not this API; ask the identity provider for a token "
                f"with the audience {config.audience!r} (CAMPAIGNS_API_OIDC_AUDIENCE)")
    if claim == "iss":
        return (f"wrong issuer: the token was issued by {_short(claims.get('iss'))}, and this API trusts {config.issuer!r} only "
                "(CAMPAIGNS_API_OIDC_ISSUER); get a token from that provider")
    if claim in ("nbf", "iat"):
        return f"the token is not valid yet (its `{claim}` is in the future); check the clocks of this server and the identity provider"
    return f"the token's `{claim}` claim is not valid; get a new token from the identity provider"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:120] + "..."


def _import(data: object) -> Key | None:
    """A signing key of the set, or None for what we do not verify with (encryption keys, symmetric or unknown types)."""
    if not isinstance(data, dict) or data.get("use", "sig") != "sig" or data.get("kty") not in ("RSA", "EC"):
        return None
    try:
        return (RSAKey if data["kty"] == "RSA" else ECKey).import_key(data)
    except (JoseError, ValueError, TypeError, KeyError):
        log.warning("skipping a key of the identity provider's JWKS that does not import (kid %r)", data.get("kid"))
        return None


def _fits(key: Key, alg: str) -> bool:
    if key.get("alg") not in (None, alg):
        return False
    if alg.startswith(("RS", "PS")):
        return isinstance(key, RSAKey)
    return isinstance(key, ECKey) and key.get("crv") == _EC_CURVES.get(alg)


def _find(keys: list[Key], kid: str | None, alg: str) -> Key | None:
    fitting = [key for key in keys if _fits(key, alg)]
    if kid is None:
        return fitting[0] if len(fitting) == 1 else None  # without a kid only an unambiguous set will do
    return next((key for key in fitting if key.kid == kid), None)


def identity_for(session: Session, email: str, merchant_id: str | None) -> UserIdentity:
    """The active user with this email, on the merchant they named (or their only one), with their role there.

    TokenError when nobody active has the email; MerchantRequired when they belong to several merchants and named none;
    NoMembership when they have no role on the named merchant (worded the same whether the merchant exists or not).
    """
    user = find_user(session, email)
    if user is None or user.disabled_at is not None:
        raise TokenError(f"no such user: {email} has no active account here (unknown or disabled); an owner adds you with "
                         f"`campaigns users add {email} --sso-only` and grants you a role")
    memberships = memberships_of(session, user.id)
    if merchant_id is None:
        if len(memberships) == 1:
            merchant_id = memberships[0].merchant_id
        elif not memberships:
            raise NoMembership(f"{email} has no role on any merchant; ask an owner to grant you one (`campaigns users grant`)")
        else:
            raise MerchantRequired(f"{email} belongs to several merchants; say which with the header X-Campaigns-Merchant: "
                                   f"one of {', '.join(m.merchant_id for m in memberships)}")
    role = next((m.role for m in memberships if m.merchant_id == merchant_id), None)
    if role is None:
        raise NoMembership(f"{email} has no membership in merchant {merchant_id!r} (or it does not exist); "
                           f"your merchants: {', '.join(m.merchant_id for m in memberships) or 'none'}")
    return UserIdentity(user.id, user.email, merchant_id, role)
