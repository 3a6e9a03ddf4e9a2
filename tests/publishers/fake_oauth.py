"""Local fakes of the platforms' OAuth servers, on 127.0.0.1, speaking their real endpoints and error shapes.

* `FakeXOAuth`: ``/i/oauth2/authorize`` (PKCE S256 enforced), ``POST /2/oauth2/token``
  (authorization_code and refresh_token grants, refresh tokens rotate), ``/2/users/me``.
* `FakeLinkedInOAuth`: ``/oauth/v2/authorization``, ``POST /oauth/v2/accessToken`` (client secret
  in the form), ``/rest/organizationAcls?q=roleAssignee``.
* `FakeFacebookOAuth`: ``/v21.0/dialog/oauth``, ``/v21.0/oauth/access_token`` (code, then
  ``fb_exchange_token``), ``/v21.0/me/permissions``, ``/v21.0/me/accounts`` with page tokens and
  each page's ``instagram_business_account``.

The authorization page answers at once as a person would: a redirect to ``redirect_uri`` with
``code`` and ``state`` (or ``error=access_denied`` when `deny` is set). `withheld` scopes are not
granted; `revoke()` kills every token; `expire_codes` makes codes arrive expired; every access
token issued is passed to `on_token` callbacks (so a platform fake accepts it).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr
from werkzeug import Request, Response

from publishers.config import OAuthConfig

from tests.publishers.fake_platforms import FakePlatform, _bearer, _json


class FakeOAuth(FakePlatform):
    """What the three fakes share: codes, tokens, consent and the redirect."""

    authorize_path = ""
    scope_separator = " "

    def __init__(self, client_id: str = "app-id", client_secret: str = "app-secret") -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.deny = False
        self.expire_codes = False
        self.withheld: set[str] = set()
        self.codes: dict[str, dict[str, Any]] = {}
        self.access: dict[str, set[str]] = {}  # live access token -> scopes
        self.refresh_tokens: dict[str, set[str]] = {}  # live refresh token -> scopes
        self.on_token: list[Callable[[str], None]] = []
        self._n = itertools.count(1)

    def issue(self, prefix: str, scopes: set[str], *, refresh: bool = True) -> dict[str, Any]:
        n = next(self._n)
        access = f"{prefix}-access-{n}"
        with self.lock:
            self.access[access] = set(scopes)
            body: dict[str, Any] = {"access_token": access}
            if refresh:
                self.refresh_tokens[f"{prefix}-refresh-{n}"] = set(scopes)
                body["refresh_token"] = f"{prefix}-refresh-{n}"
        for hook in self.on_token:
            hook(access)
        return body

    def revoke(self) -> None:
        with self.lock:
            self.access.clear()
            self.refresh_tokens.clear()

    def authorize(self, request: Request) -> Response:
        args = request.args
        redirect = args.get("redirect_uri", "")
        if args.get("client_id") != self.client_id or not redirect:
            return _json({"error": "invalid_request", "error_description": "client_id or redirect_uri is wrong"}, 400)
        if self.deny:
            query = {"error": "access_denied", "error_description": "The user denied the request", "state": args.get("state", "")}
        else:
            code = f"code-{next(self._n)}"
            asked = set(args.get("scope", "").replace(",", " ").split())
            with self.lock:
                self.codes[code] = {"redirect_uri": redirect, "scopes": asked - self.withheld, "challenge": args.get("code_challenge"),
                                    "method": args.get("code_challenge_method"), "used": False}
            query = {"code": code, "state": args.get("state", "")}
        return Response("", status=302, headers={"Location": f"{redirect}?{urlencode(query)}"})

    def take_code(self, code: str | None, redirect_uri: str | None) -> dict[str, Any] | str:
        """The code's grant, or why it is refused: 'invalid', 'used', 'expired', 'redirect'."""
        with self.lock:
            grant = self.codes.get(code or "")
            if grant is None:
                return "invalid"
            if grant["used"]:
                return "used"
            grant["used"] = True
        if self.expire_codes:
            return "expired"
        if grant["redirect_uri"] != redirect_uri:
            return "redirect"
        return grant


class FakeXOAuth(FakeOAuth):
    USER = {"id": "2244994945", "name": "Juniper & Finch", "username": "juniperfinch"}

    def route(self, request: Request) -> Response:
        if request.path == "/i/oauth2/authorize":
            if request.args.get("code_challenge_method") != "S256" or not request.args.get("code_challenge"):
                return _json({"error": "invalid_request", "error_description": "PKCE code_challenge with S256 is required"}, 400)
            return self.authorize(request)
        if request.path == "/2/oauth2/token" and request.method == "POST":
            return self.token(request)
        if request.path == "/2/users/me":
            if _bearer(request) not in self.access:
                return _json({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401)
            return _json({"data": self.USER})
        return _json({"title": "Not Found Error", "status": 404, "detail": f"no route {request.path}"}, 404)

    def token(self, request: Request) -> Response:
        if self._fault("token") == "500":
            return _json({"title": "Service Unavailable", "status": 503, "detail": "Service Unavailable"}, 503)
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = request.form
        if request.headers.get("Authorization") != f"Basic {basic}" or form.get("client_id") != self.client_id:
            return _json({"error": "unauthorized_client", "error_description": "Missing valid authorization header"}, 401)
        invalid = _json({"error": "invalid_request", "error_description": "Value passed for the token was invalid."}, 400)
        if form.get("grant_type") == "authorization_code":
            grant = self.take_code(form.get("code"), form.get("redirect_uri"))
            if isinstance(grant, str):
                return _json({"error": "invalid_request", "error_description": "Value passed for the authorization code was invalid."}, 400)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
            if challenge != grant["challenge"]:
                return _json({"error": "invalid_request", "error_description": "Value passed for the code verifier did not match."}, 400)
            scopes = grant["scopes"]
        elif form.get("grant_type") == "refresh_token":
            with self.lock:
                scopes = self.refresh_tokens.pop(form.get("refresh_token", ""), None)  # X rotates: the old one dies
            if scopes is None:
                return invalid
        else:
            return _json({"error": "unsupported_grant_type", "error_description": "grant_type is not supported"}, 400)
        body = self.issue("x", scopes, refresh="offline.access" in scopes)
        return _json({"token_type": "bearer", "expires_in": 7200, "scope": " ".join(sorted(scopes)), **body})


class FakeLinkedInOAuth(FakeOAuth):
    ORGANIZATIONS = [("urn:li:organization:2414183", "ADMINISTRATOR"), ("urn:li:organization:5550001", "ANALYST")]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refresh_expired = False

    def route(self, request: Request) -> Response:
        if request.path == "/oauth/v2/authorization":
            return self.authorize(request)
        if request.path == "/oauth/v2/accessToken" and request.method == "POST":
            return self.token(request)
        if request.path == "/rest/organizationAcls":
            scopes = self.access.get(_bearer(request) or "")
            if scopes is None:
                return _json({"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
                              "message": "The token used in the request has been revoked by the user"}, 401)
            if "rw_organization_admin" not in scopes:
                return _json({"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                              "message": "Not enough permissions to access: organizationAcls.FINDER-roleAssignee.20251001"}, 403)
            if request.args.get("q") != "roleAssignee" or not request.headers.get("LinkedIn-Version"):
                return _json({"status": 400, "message": "q=roleAssignee and LinkedIn-Version are required"}, 400)
            elements = [{"organization": urn, "role": role, "state": "APPROVED", "roleAssignee": "urn:li:person:8675309"}
                        for urn, role in self.ORGANIZATIONS]
            return _json({"elements": elements, "paging": {"start": 0, "count": len(elements), "links": []}})
        return _json({"status": 404, "message": "Not Found"}, 404)

    def token(self, request: Request) -> Response:
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _json({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("grant_type") == "authorization_code":
            grant = self.take_code(form.get("code"), form.get("redirect_uri"))
            if isinstance(grant, str):
                return _json({"error": "invalid_request", "error_description": "Unable to retrieve access token: appid/redirect uri/code verifier "
                              "does not match authorization code. Or authorization code expired. Or external member binding exists"}, 400)
            body = self.issue("li", grant["scopes"])
            return _json({**body, "expires_in": 5184000, "refresh_token_expires_in": 31536000, "scope": ",".join(sorted(grant["scopes"]))})
        if form.get("grant_type") == "refresh_token":
            with self.lock:
                scopes = self.refresh_tokens.get(form.get("refresh_token", ""))
            if self.refresh_expired:
                return _json({"error": "invalid_grant", "error_description": "The provided authorization grant or refresh token is expired"}, 400)
            if scopes is None:
                return _json({"error": "invalid_grant", "error_description": "The provided authorization grant or refresh token is invalid, "
                              "expired or revoked"}, 400)
            access = self.issue("li", scopes, refresh=False)["access_token"]
            # LinkedIn keeps the refresh token and its original lifetime
            return _json({"access_token": access, "expires_in": 5184000, "refresh_token": form["refresh_token"], "refresh_token_expires_in": 30000000,
                          "scope": ",".join(sorted(scopes))})
        return _json({"error": "unsupported_grant_type", "error_description": "grant_type is not supported"}, 400)


class FakeFacebookOAuth(FakeOAuth):
    """Facebook Login plus the Graph endpoints that list pages; page tokens go to `on_token` as well."""

    VERSION = "/v21.0"
    PAGES = [
        {"id": "104729", "name": "Juniper & Finch", "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE"],
         "instagram_business_account": {"id": "17841400000000001", "username": "juniperfinch"}},
        {"id": "200300", "name": "Read-only page", "tasks": ["ANALYZE"]},
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user_tokens: dict[str, set[str]] = {}  # live user token -> granted permissions
        self.page_tokens: dict[tuple[str, str], str] = {}

    @staticmethod
    def error(message: str, code: int, subcode: int | None = None, status: int = 400) -> Response:
        body: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGh123"}
        if subcode:
            body["error_subcode"] = subcode
        return _json({"error": body}, status)

    def revoke(self) -> None:
        super().revoke()
        with self.lock:
            self.user_tokens.clear()

    def route(self, request: Request) -> Response:
        path = request.path.removeprefix(self.VERSION)
        if path == "/dialog/oauth":
            return self.authorize(request)
        if path == "/oauth/access_token":
            return self.token(request)
        token = _bearer(request) or request.args.get("access_token")
        granted = self.user_tokens.get(token or "")
        if granted is None:
            return self.error("Error validating access token: The session has been invalidated because the user changed their password "
                              "or Facebook has changed the session for security reasons.", 190, 460)
        if path == "/me/permissions":
            return _json({"data": [{"permission": p, "status": "granted"} for p in sorted(granted)]
                          + [{"permission": p, "status": "declined"} for p in sorted(self.withheld)]})
        if path == "/me/accounts":
            if "pages_show_list" not in granted:
                return self.error("(#200) Requires pages_show_list permission to manage the object", 200)
            return _json({"data": [{**page, "access_token": self._page_token(token, page["id"])} for page in self.PAGES],
                          "paging": {"cursors": {"before": "QVFIUm", "after": "QVFIUn"}}})
        return self.error(f"Unknown path components: {path}", 2500)

    def _page_token(self, user_token: str, page_id: str) -> str:
        with self.lock:
            key = (user_token, page_id)
            if key not in self.page_tokens:
                self.page_tokens[key] = f"page-{page_id}-{next(self._n)}"
                new = self.page_tokens[key]
            else:
                return self.page_tokens[key]
        for hook in self.on_token:
            hook(new)
        return new

    def token(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("client_secret") != self.client_secret:
            return self.error("Error validating client secret.", 1)
        if self._fault("token") == "500":
            return self.error("An unexpected error has occurred. Please retry your request later.", 2, status=500)
        if args.get("grant_type") == "fb_exchange_token":
            with self.lock:
                granted = self.user_tokens.get(args.get("fb_exchange_token", ""))
            if granted is None:
                return self.error("Error validating access token: Session has expired on Sunday, 01-Nov-26 10:00:00 PST.", 190, 463)
            long = f"user-long-{next(self._n)}"
            with self.lock:
                self.user_tokens[long] = granted
            return _json({"access_token": long, "token_type": "bearer", "expires_in": 5183944})
        grant = self.take_code(args.get("code"), args.get("redirect_uri"))
        if grant == "expired":
            return self.error("This authorization code has expired.", 100, 36007)
        if grant == "used":
            return self.error("This authorization code has been used.", 100, 36009)
        if isinstance(grant, str):
            return self.error("Invalid verification code format.", 100)
        short = f"user-short-{next(self._n)}"
        with self.lock:
            self.user_tokens[short] = grant["scopes"]
        return _json({"access_token": short, "token_type": "bearer", "expires_in": 5400})


def follow_consent(authorization_url: str) -> str:
    """Open the authorization page as a browser would and return where it redirects (the callback address)."""
    import httpx

    response = httpx.get(authorization_url, follow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def config_for(fake, platform: str, **overrides) -> OAuthConfig:
    secret = SecretStr(fake.client_secret)
    if platform == "x":
        values = dict(x_client_id=fake.client_id, x_client_secret=secret, x_authorize_url=fake.url("/i/oauth2/authorize"), x_base_url=fake.url())
    elif platform == "linkedin":
        values = dict(linkedin_client_id=fake.client_id, linkedin_client_secret=secret, linkedin_authorize_url=fake.url("/oauth/v2/authorization"),
                      linkedin_oauth_base_url=fake.url("/oauth/v2"), linkedin_base_url=fake.url())
    else:
        values = dict(facebook_app_id=fake.client_id, facebook_app_secret=secret, facebook_authorize_url=fake.url("/v21.0/dialog/oauth"),
                      facebook_base_url=fake.url("/v21.0"))
    return OAuthConfig(**{**values, **overrides})
