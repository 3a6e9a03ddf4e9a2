"""A small OpenID Connect provider for the browser and API tests: discovery, an authorization endpoint that signs in a
fixed person at once, a token endpoint that returns an RS256-signed ID token, and the JWKS. It speaks the real wire format
(authorization-code flow with a client secret), so Streamlit's `st.login` runs unchanged against it.

For the API's bearer tokens it also signs any claims with any of its keys (`sign`), rotates its keys (`rotate`), and
counts the requests to each path (`requests`), so tests see when the API fetched the discovery document and the JWKS."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey

CLIENT_ID, CLIENT_SECRET = "campaigns-app", "provider-test-secret"


class Provider:
    def __init__(self, email: str, clock: Callable[[], float] = time.time) -> None:
        self.email, self.clock = email, clock  # `clock`: the verifier's (a subprocess keeps the machine's own)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.published: list[Key] = [self.key]  # what the JWKS serves
        self.requests: Counter[str] = Counter()
        self.codes: dict[str, dict[str, str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def id_token(self, nonce: str) -> str:
        now = int(self.clock())
        claims = {"iss": self.issuer, "sub": "person-1", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce,
                  "email": self.email, "email_verified": True, "name": "Provider Person"}
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def add_ec_key(self, kid: str = "ec-key") -> ECKey:
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})
        self.published.append(key)
        return key

    def rotate(self, kid: str) -> RSAKey:
        """A new signing key, published beside the old ones (as providers do while tokens signed before are still valid)."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
        self.published.append(self.key)
        return self.key

    def sign(self, claims: dict, key: Key | None = None, **header: str) -> str:
        key = key or self.key
        alg = header.pop("alg", None) or str(key.get("alg") or "RS256")
        return jwt.encode({"alg": alg, "kid": key.kid, **header}, claims, key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                provider.requests[url.path] += 1
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    base = provider.issuer
                    self._json({"issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
                                "jwks_uri": f"{base}/jwks", "response_types_supported": ["code"], "subject_types_supported": ["public"],
                                "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "profile"],
                                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]})
                elif url.path == "/jwks":
                    self._json({"keys": [key.as_dict(private=False) for key in provider.published]})
                elif url.path == "/authorize":
                    if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                        self._json({"error": "invalid_request"}, 400)
                        return
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {"nonce": query.get("nonce", ""), "redirect_uri": query["redirect_uri"]}
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}")
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = self.headers.get("Authorization", "")
                client = (base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1) if auth.startswith("Basic ")
                          else [form.get("client_id", ""), form.get("client_secret", "")])
                grant = provider.codes.pop(form.get("code", ""), None)
                if urlparse(self.path).path != "/token" or client != [CLIENT_ID, CLIENT_SECRET] or grant is None \
                        or form.get("redirect_uri") != grant["redirect_uri"]:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                            "id_token": provider.id_token(grant["nonce"]), "scope": "openid email profile"})

        return Handler
