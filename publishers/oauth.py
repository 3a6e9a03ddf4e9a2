"""OAuth 2.0 protocol clients: authorization URL, code exchange, refresh, and the accounts a grant reaches.

* **X**: authorization code with PKCE (S256); tokens at ``POST /2/oauth2/token`` (HTTP Basic
  for confidential clients); refresh tokens rotate; the account is ``GET /2/users/me``.
* **LinkedIn**: 3-legged OAuth 2.0 (``/oauth/v2/authorization`` and ``/oauth/v2/accessToken``
  on www.linkedin.com); programmatic refresh tokens where LinkedIn granted them; the
  organization pages are the member's approved administrator roles (``/rest/organizationAcls``).
* **Facebook Pages and Instagram** (Facebook Login): the code gives a short-lived user token,
  exchanged for a long-lived one (``fb_exchange_token``, about 60 days); the pages come with
  their own page tokens (``/me/accounts``), which do not expire while the user token is
  valid, and each page names its Instagram professional account (``instagram_business_account``).
  The long-lived user token is what "refreshes" a page token: extended, then asked again.

The clients know nothing of the store: they take and return tokens, and raise `OAuthError`,
whose ``kind`` says whether the person must connect again (``reconnect``) or the call may be
tried later (``unavailable``). Secrets never appear in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from publishers.config import OAuthConfig
from publishers.errors import PublishError, redact
from publishers.http import HttpPublisher

# kinds after which only the person can help: the grant is gone or was never enough
RECONNECT_KINDS = frozenset({"invalid_grant", "expired", "revoked", "scope_missing", "access_denied", "no_accounts"})
OAUTH_PLATFORMS = ("x", "linkedin", "facebook", "instagram")


class OAuthError(Exception):
    """An OAuth step failed. ``kind``: invalid_grant, expired, revoked, scope_missing, access_denied,
    no_accounts (the person must connect again), unavailable (try later) or misconfigured (fix the app settings)."""

    def __init__(self, kind: str, reason: str, *, platform: str, secrets_: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.platform = platform
        self.reason = redact(reason, secrets_)
        super().__init__(f"{platform}: {self.reason}")

    @property
    def reconnect(self) -> bool:
        return self.kind in RECONNECT_KINDS


@dataclass(frozen=True)
class TokenSet:
    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_in: int | None = None  # seconds; None: no expiry known
    refresh_expires_in: int | None = None
    scopes: frozenset[str] = frozenset()

    def secrets(self) -> tuple[str, ...]:
        out = [self.access_token.get_secret_value()]
        if self.refresh_token is not None:
            out.append(self.refresh_token.get_secret_value())
        return tuple(out)


@dataclass(frozen=True)
class PlatformAccount:
    """One account a grant can publish as, with the tokens to use for it."""

    handle: str
    external_id: str
    name: str
    tokens: TokenSet = field(repr=False)


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
    return verifier, challenge


def _scopes(value: Any) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(s for s in str(value).replace(",", " ").split() if s)


def _seconds(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def classify(platform: str, response: httpx.Response, *, secrets_: tuple[str, ...] = ()) -> OAuthError:
    """An error answer of a token or discovery endpoint as an OAuthError, from each platform's error shape."""
    status, body = response.status_code, _body(response)
    if status == 429 or status >= 500:
        return OAuthError("unavailable", f"{platform} answered {status}; try again later", platform=platform, secrets_=secrets_)
    error = body.get("error")
    if isinstance(error, dict):  # Graph API: {"error": {"message", "type", "code", "error_subcode"}}
        code, subcode, message = error.get("code"), error.get("error_subcode"), str(error.get("message", ""))
        if subcode in (463, 467) or subcode == 36007:
            kind = "expired"
        elif subcode in (458, 459, 460, 452, 464):
            kind = "revoked"
        elif code in (10, 200) or (isinstance(code, int) and 200 <= code < 300):
            kind = "scope_missing"
        elif code == 101 or (code == 1 and "client" in message.lower()):
            kind = "misconfigured"
        elif code in (4, 17, 32, 613):
            kind = "unavailable"
        else:
            kind = "invalid_grant"
        return OAuthError(kind, f"{message} (code {code}{f', subcode {subcode}' if subcode else ''})", platform=platform, secrets_=secrets_)
    description = str(body.get("error_description") or body.get("message") or body.get("detail") or response.text[:200])
    code = str(error or body.get("code") or "")
    lowered = description.lower()
    if code in ("invalid_client", "unauthorized_client"):
        kind = "misconfigured"
    elif code in ("access_denied", "user_cancelled_login", "user_cancelled_authorize"):
        kind = "access_denied"
    elif status == 403 or code == "ACCESS_DENIED" or "scope" in lowered or "permission" in lowered:
        kind = "scope_missing"
    elif "revoked" in lowered:
        kind = "revoked"
    elif "expired" in lowered:
        kind = "expired"
    elif status == 401 and not code:
        kind = "revoked"
    else:
        kind = "invalid_grant"
    return OAuthError(kind, f"{code or status}: {description}", platform=platform, secrets_=secrets_)


class OAuthClient:
    """What every platform's client offers; subclasses fill in the endpoints and the discovery."""

    platform: ClassVar[str] = ""
    scopes: ClassVar[tuple[str, ...]] = ()  # asked for
    required_scopes: ClassVar[frozenset[str]] = frozenset()  # without these nothing can be published
    uses_pkce: ClassVar[bool] = False
    scope_separator: ClassVar[str] = " "

    def __init__(self, authorize_url: str, client_id: str | None, client_secret: SecretStr | None, *, transport: httpx.BaseTransport | None = None) -> None:
        self.authorize_endpoint = authorize_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._transport = transport
        self._http: dict[str, HttpPublisher] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r})"

    def _secret(self) -> str:
        return self._client_secret.get_secret_value() if self._client_secret else ""

    def http(self, base_url: str) -> HttpPublisher:
        if base_url not in self._http:
            client = HttpPublisher(base_url, transport=self._transport)
            client.platform = self.platform
            self._http[base_url] = client
        return self._http[base_url]

    def close(self) -> None:
        for client in self._http.values():
            client.close()

    def configured(self) -> None:
        if not self.client_id or (not self.uses_pkce and not self._client_secret):
            raise OAuthError("misconfigured", f"the {self.platform} app is not configured: set {self.settings_hint}", platform=self.platform)

    settings_hint: ClassVar[str] = ""

    def request(self, base_url: str, method: str, path: str, *, secrets_: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
        """One call that creates nothing; its failure is an OAuthError, its answer the JSON body."""
        try:
            response = self.http(base_url).send(method, path, creates=False, **kwargs)
        except PublishError as exc:
            raise OAuthError("unavailable", exc.reason, platform=self.platform, secrets_=secrets_) from None
        if not response.is_success:
            raise classify(self.platform, response, secrets_=secrets_)
        body = _body(response)
        if not body:
            raise OAuthError("unavailable", f"{method} {path} answered {response.status_code} without a JSON object", platform=self.platform)
        return body

    # --- the flow -------------------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None, extra: dict[str, str] | None = None) -> str:
        self.configured()
        params = {"response_type": "code", "client_id": self.client_id or "", "redirect_uri": redirect_uri,
                  "scope": self.scope_separator.join(self.scopes), "state": state}
        if self.uses_pkce:
            if not code_challenge:
                raise ValueError(f"{self.platform} needs a PKCE code challenge")
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        params.update(extra or {})
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    def check_scopes(self, granted: frozenset[str]) -> None:
        if missing := sorted(self.required_scopes - granted):
            raise OAuthError("scope_missing", f"the grant lacks {', '.join(missing)}; connect again and allow every permission asked for",
                             platform=self.platform)

    def exchange(self, code: str, *, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:  # pragma: no cover - overridden
        raise NotImplementedError

    def refresh(self, refresh_token: str) -> TokenSet:  # pragma: no cover - overridden
        raise NotImplementedError

    def accounts(self, tokens: TokenSet) -> list[PlatformAccount]:  # pragma: no cover - overridden
        raise NotImplementedError

    def renew(self, account_ref: str, refresh_token: str) -> TokenSet:
        """New tokens for one connected account from what was stored as its refresh token."""
        return self.refresh(refresh_token)


def _token_set(platform: str, body: dict[str, Any], *, keep_refresh: str | None = None) -> TokenSet:
    if not body.get("access_token"):
        raise OAuthError("unavailable", "the token endpoint answered without an access_token", platform=platform)
    refresh = body.get("refresh_token") or keep_refresh
    return TokenSet(SecretStr(str(body["access_token"])), SecretStr(str(refresh)) if refresh else None, _seconds(body.get("expires_in")),
                    _seconds(body.get("refresh_token_expires_in")), _scopes(body.get("scope")))


class XOAuth(OAuthClient):
    platform = "x"
    scopes = ("tweet.read", "tweet.write", "users.read", "offline.access")
    required_scopes = frozenset({"tweet.read", "tweet.write", "users.read", "offline.access"})
    uses_pkce = True
    settings_hint = "CAMPAIGNS_X_CLIENT_ID (and CAMPAIGNS_X_CLIENT_SECRET for a confidential client)"

    def __init__(self, config: OAuthConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config.x_authorize_url, config.x_client_id, config.x_client_secret, transport=transport)
        self.api = config.x_base_url

    def _token(self, form: dict[str, str], secrets_: tuple[str, ...]) -> dict[str, Any]:
        self.configured()
        form["client_id"] = self.client_id or ""
        auth = (self.client_id or "", self._secret()) if self._client_secret else None
        return self.request(self.api, "POST", "/2/oauth2/token", data=form, auth=auth, secrets_=secrets_ + (self._secret(),))

    def exchange(self, code: str, *, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": code_verifier or ""}
        return _token_set(self.platform, self._token(form, (code, code_verifier or "")))

    def refresh(self, refresh_token: str) -> TokenSet:
        body = self._token({"grant_type": "refresh_token", "refresh_token": refresh_token}, (refresh_token,))
        return _token_set(self.platform, body)

    def accounts(self, tokens: TokenSet) -> list[PlatformAccount]:
        body = self.request(self.api, "GET", "/2/users/me", headers={"Authorization": f"Bearer {tokens.access_token.get_secret_value()}"},
                            secrets_=tokens.secrets())
        user = body.get("data") or {}
        if not user.get("id"):
            raise OAuthError("unavailable", "GET /2/users/me answered without a user id", platform=self.platform)
        return [PlatformAccount(f"@{user.get('username') or user['id']}", str(user["id"]), str(user.get("name") or ""), tokens)]


class LinkedInOAuth(OAuthClient):
    platform = "linkedin"
    scopes = ("r_organization_social", "w_organization_social", "rw_organization_admin")
    required_scopes = frozenset({"w_organization_social", "rw_organization_admin"})
    settings_hint = "CAMPAIGNS_LINKEDIN_CLIENT_ID and CAMPAIGNS_LINKEDIN_CLIENT_SECRET"
    POSTING_ROLES = frozenset({"ADMINISTRATOR", "CONTENT_ADMINISTRATOR"})

    def __init__(self, config: OAuthConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config.linkedin_authorize_url, config.linkedin_client_id, config.linkedin_client_secret, transport=transport)
        self.oauth_base, self.api, self.version = config.linkedin_oauth_base_url, config.linkedin_base_url, config.linkedin_version

    def _token(self, form: dict[str, str], secrets_: tuple[str, ...], keep_refresh: str | None = None) -> TokenSet:
        self.configured()
        form.update(client_id=self.client_id or "", client_secret=self._secret())
        body = self.request(self.oauth_base, "POST", "/accessToken", data=form, secrets_=secrets_ + (self._secret(),))
        return _token_set(self.platform, body, keep_refresh=keep_refresh)

    def exchange(self, code: str, *, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}, (code,))

    def refresh(self, refresh_token: str) -> TokenSet:
        # LinkedIn keeps the refresh token (its lifetime counts from the first grant) and may not repeat it
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token}, (refresh_token,), keep_refresh=refresh_token)

    def accounts(self, tokens: TokenSet) -> list[PlatformAccount]:
        headers = {"Authorization": f"Bearer {tokens.access_token.get_secret_value()}", "LinkedIn-Version": self.version,
                   "X-Restli-Protocol-Version": "2.0.0"}
        body = self.request(self.api, "GET", "/rest/organizationAcls", params={"q": "roleAssignee", "state": "APPROVED"}, headers=headers,
                            secrets_=tokens.secrets())
        found: dict[str, PlatformAccount] = {}
        for element in body.get("elements") or []:
            urn = str(element.get("organization") or element.get("organizationTarget") or "")
            if urn.startswith("urn:li:organization:") and element.get("role") in self.POSTING_ROLES and element.get("state", "APPROVED") == "APPROVED":
                found.setdefault(urn, PlatformAccount(urn, urn, urn.rsplit(":", 1)[-1], tokens))
        return list(found.values())


class FacebookOAuth(OAuthClient):
    """Facebook Login for Pages; `InstagramOAuth` is the same login asking for Instagram's permissions."""

    platform = "facebook"
    scopes = ("pages_show_list", "pages_read_engagement", "pages_manage_posts", "business_management")
    required_scopes = frozenset({"pages_show_list", "pages_read_engagement", "pages_manage_posts"})
    scope_separator = ","
    settings_hint = "CAMPAIGNS_FACEBOOK_APP_ID and CAMPAIGNS_FACEBOOK_APP_SECRET"
    PAGE_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"

    def __init__(self, config: OAuthConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config.facebook_authorize_url, config.facebook_app_id, config.facebook_app_secret, transport=transport)
        self.graph = config.facebook_base_url

    def _long_lived(self, user_token: str, secrets_: tuple[str, ...]) -> dict[str, Any]:
        params = {"grant_type": "fb_exchange_token", "client_id": self.client_id or "", "client_secret": self._secret(), "fb_exchange_token": user_token}
        return self.request(self.graph, "GET", "/oauth/access_token", params=params, secrets_=secrets_ + (user_token, self._secret()))

    def exchange(self, code: str, *, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        self.configured()
        params = {"client_id": self.client_id or "", "client_secret": self._secret(), "redirect_uri": redirect_uri, "code": code}
        short = self.request(self.graph, "GET", "/oauth/access_token", params=params, secrets_=(code, self._secret()))
        if not short.get("access_token"):
            raise OAuthError("unavailable", "the token endpoint answered without an access_token", platform=self.platform)
        user_token = str(short["access_token"])
        long = self._long_lived(user_token, ())
        token = str(long.get("access_token") or user_token)
        granted = self.permissions(token)
        # the user token is kept as the "refresh token": it is what gives new page tokens
        return TokenSet(SecretStr(token), SecretStr(token), None, _seconds(long.get("expires_in")), granted)

    def permissions(self, user_token: str) -> frozenset[str]:
        body = self.request(self.graph, "GET", "/me/permissions", headers={"Authorization": f"Bearer {user_token}"}, secrets_=(user_token,))
        return frozenset(str(p.get("permission")) for p in body.get("data") or [] if p.get("status") == "granted")

    def pages(self, user_token: str) -> list[dict[str, Any]]:
        body = self.request(self.graph, "GET", "/me/accounts", params={"fields": self.PAGE_FIELDS, "limit": 100},
                            headers={"Authorization": f"Bearer {user_token}"}, secrets_=(user_token,))
        return [p for p in body.get("data") or [] if p.get("id") and p.get("access_token")]

    def _account(self, page: dict[str, Any], tokens: TokenSet) -> PlatformAccount | None:
        tasks = page.get("tasks")
        if tasks is not None and "CREATE_CONTENT" not in tasks:
            return None  # the person cannot post on this page
        page_tokens = TokenSet(SecretStr(str(page["access_token"])), tokens.refresh_token, None, tokens.refresh_expires_in, tokens.scopes)
        return PlatformAccount(str(page["id"]), str(page["id"]), str(page.get("name") or ""), page_tokens)

    def accounts(self, tokens: TokenSet) -> list[PlatformAccount]:
        user_token = (tokens.refresh_token or tokens.access_token).get_secret_value()
        return [a for page in self.pages(user_token) if (a := self._account(page, tokens)) is not None]

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new long-lived user token (possible while the current one is still valid)."""
        self.configured()
        long = self._long_lived(refresh_token, ())
        token = str(long.get("access_token") or refresh_token)
        return TokenSet(SecretStr(token), SecretStr(token), _seconds(long.get("expires_in")), _seconds(long.get("expires_in")))

    def renew(self, account_ref: str, refresh_token: str) -> TokenSet:
        user = self.refresh(refresh_token)
        for account in self.accounts(user):
            if account.external_id == account_ref:
                return account.tokens
        raise OAuthError("revoked", f"the login no longer manages {account_ref}; connect the account again", platform=self.platform)


class InstagramOAuth(FacebookOAuth):
    platform = "instagram"
    scopes = ("pages_show_list", "pages_read_engagement", "instagram_basic", "instagram_content_publish", "business_management")
    required_scopes = frozenset({"pages_show_list", "instagram_basic", "instagram_content_publish"})

    def _account(self, page: dict[str, Any], tokens: TokenSet) -> PlatformAccount | None:
        ig = page.get("instagram_business_account") or {}
        if not ig.get("id"):
            return None  # a page without a linked Instagram professional account
        page_tokens = TokenSet(SecretStr(str(page["access_token"])), tokens.refresh_token, None, tokens.refresh_expires_in, tokens.scopes)
        handle = f"@{ig['username']}" if ig.get("username") else str(ig["id"])
        return PlatformAccount(handle, str(ig["id"]), str(page.get("name") or ""), page_tokens)


def build_oauth_clients(config: OAuthConfig, *, transport: httpx.BaseTransport | None = None) -> dict[str, OAuthClient]:
    return {
        "x": XOAuth(config, transport=transport),
        "linkedin": LinkedInOAuth(config, transport=transport),
        "facebook": FacebookOAuth(config, transport=transport),
        "instagram": InstagramOAuth(config, transport=transport),
    }
