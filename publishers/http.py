"""One httpx client per publisher, and the mapping of transport failures and statuses to the taxonomy.

Whether a failure is safe to retry depends on whether the request reached the platform:
a refused connection or a connect timeout never did (Retryable); a read timeout or a
dropped connection after a *creating* request was sent may have posted (Ambiguous). Reads,
polls and token refreshes create nothing, so their failures are always Retryable.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from publishers.base import Credentials
from publishers.errors import Ambiguous, AuthExpired, PublishError, Rejected, Retryable, retry_hint

log = logging.getLogger("publishers")

DEFAULT_TIMEOUT = 15.0


class HttpPublisher:
    """Base of the platform clients: a lazily opened httpx client on the configured base URL."""

    platform = "http"
    sandbox = False

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._transport = transport
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, timeout=self.timeout, transport=self._transport,
                headers={"User-Agent": "campaign-orchestrator/0.1"},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def send(self, method: str, path: str, *, creates: bool, credentials: Credentials | None = None, **kwargs: Any) -> httpx.Response:
        """Make one request; transport failures become Retryable or Ambiguous, never raw httpx errors."""
        secrets = credentials.secrets() if credentials else ()
        where = f"{method} {path.split('?')[0]}"
        try:
            response = self.client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Retryable(f"could not reach {self.base_url} for {where} ({type(exc).__name__}); nothing was sent", platform=self.platform, secrets=secrets) from None
        except httpx.WriteTimeout:
            raise Retryable(f"timed out while sending {where}; the request did not complete", platform=self.platform, secrets=secrets) from None
        except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if creates:
                raise Ambiguous(
                    f"{where} was sent but no answer came back ({type(exc).__name__} after {self.timeout:g}s); it may have been posted",
                    platform=self.platform, secrets=secrets,
                ) from None
            raise Retryable(f"{where} got no answer ({type(exc).__name__})", platform=self.platform, secrets=secrets) from None
        except httpx.HTTPError as exc:
            raise Retryable(f"{where} failed: {type(exc).__name__}: {exc}", platform=self.platform, secrets=secrets) from None
        log.info("%s: %s -> %s", self.platform, where, response.status_code)
        return response


def error_text(response: httpx.Response, limit: int = 300) -> str:
    """The platform's own words about an error, from the usual JSON shapes, else the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:limit] or response.reason_phrase
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return str(body["error"].get("message") or body["error"])[:limit]
        for key in ("detail", "message", "error_description", "error", "title"):
            if body.get(key):
                return str(body[key])[:limit]
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            return str(first.get("message") if isinstance(first, dict) else first)[:limit]
    return str(body)[:limit]


def raise_for_status(response: httpx.Response, platform: str, *, creates: bool, credentials: Credentials | None = None) -> None:
    """Generic mapping; platform modules check their duplicate and error codes first."""
    if response.is_success:
        return
    secrets = credentials.secrets() if credentials else ()
    status = response.status_code
    text = error_text(response)
    raise status_error(platform, status, text, response.headers, creates=creates, secrets=secrets)


def status_error(platform: str, status: int, text: str, headers: Any, *, creates: bool, secrets: tuple[str, ...] = ()) -> PublishError:
    if status == 401:
        return AuthExpired(f"token refused (401): {text}", platform=platform, status_code=status, secrets=secrets)
    if status == 429:
        retry_at, retry_after = retry_hint(headers)
        return Retryable(f"rate limited (429): {text}", platform=platform, status_code=status, retry_at=retry_at, retry_after=retry_after, secrets=secrets)
    if status == 504 and creates:
        # a gateway gave up waiting; the platform behind it may have finished the post
        return Ambiguous(f"gateway timeout (504) after the request was sent: {text}", platform=platform, status_code=status, secrets=secrets)
    if status >= 500:
        retry_at, retry_after = retry_hint(headers)
        return Retryable(f"server error ({status}): {text}", platform=platform, status_code=status, retry_at=retry_at, retry_after=retry_after, secrets=secrets)
    return Rejected(f"refused ({status}): {text}", platform=platform, status_code=status, secrets=secrets)


def fetch_media(url: str, platform: str, *, max_bytes: int, timeout: float = DEFAULT_TIMEOUT, kind: str = "image") -> tuple[bytes, str]:
    """The bytes and MIME type of an image (or, with kind="video", a video) a post refers to, for platforms
    that take uploads rather than URLs.

    Redirects are not followed and at most `max_bytes` are read. A missing or refused file is
    Rejected (the post cannot go out as approved); an unreachable host is Retryable.
    """
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise Rejected(f"the {kind} {url} answered HTTP {response.status_code}; upload it again", platform=platform)
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not mime.startswith(f"{kind}/"):
                raise Rejected(f"{url} is {mime or 'of no stated type'}, not an {kind}" if kind == "image" else
                               f"{url} is {mime or 'of no stated type'}, not a {kind}", platform=platform)
            data = bytearray()
            for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise Rejected(f"the {kind} {url} is over {max_bytes // (1024 * 1024)} MB, {platform}'s limit; compress it", platform=platform)
    except httpx.HTTPError as exc:
        raise Retryable(f"could not fetch the {kind} {url} ({type(exc).__name__}); nothing was sent", platform=platform) from None
    return bytes(data), mime
