"""What Facebook Pages and Instagram share: the Graph API's error object and its timestamps.

A Graph error looks like ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}`` and its *code* matters more than the HTTP status (an expired token comes
back as 400 with code 190). Rate-limit answers carry the wait in the
``x-business-use-case-usage`` header (minutes until access is regained).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from publishers.base import Credentials
from publishers.errors import AuthExpired, Duplicate, Rejected, Retryable, retry_hint
from publishers.http import raise_for_status, status_error

DUPLICATE_CODE = 506
AUTH_CODES = {102, 190}
PERMISSION_CODES = {10, *range(200, 300)}
RATE_LIMIT_CODES = {4, 17, 32, 613}
TRANSIENT_CODES = {1, 2}


def raise_for_graph(response: httpx.Response, platform: str, *, creates: bool, credentials: Credentials) -> None:
    if response.is_success:
        return
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        raise_for_status(response, platform, creates=creates, credentials=credentials)
        return
    secrets = credentials.secrets()
    code, subcode = error.get("code"), error.get("error_subcode")
    text = f"{error.get('message', 'error')} (type {error.get('type')}, code {code}" + (f"/{subcode}" if subcode else "") + f", fbtrace_id {error.get('fbtrace_id')})"
    status = response.status_code
    if code == DUPLICATE_CODE:
        raise Duplicate(f"duplicate post: {text}", platform=platform, status_code=status, secrets=secrets)
    if code in AUTH_CODES:
        raise AuthExpired(f"token no longer valid: {text}", platform=platform, status_code=status, secrets=secrets)
    if code in PERMISSION_CODES:
        raise AuthExpired(f"permission missing; reconnect the account and grant it: {text}", platform=platform, status_code=status, secrets=secrets)
    if code in RATE_LIMIT_CODES or status == 429:
        retry_at, retry_after = retry_hint(response.headers)
        retry_after = retry_after or _regain_access_seconds(response.headers)
        raise Retryable(f"rate limited: {text}", platform=platform, status_code=status, retry_at=retry_at, retry_after=retry_after, secrets=secrets)
    if code in TRANSIENT_CODES or error.get("is_transient") or status >= 500:
        raise status_error(platform, max(status, 500), text, response.headers, creates=creates, secrets=secrets)
    raise Rejected(f"refused: {text}", platform=platform, status_code=status, secrets=secrets)


def _regain_access_seconds(headers: httpx.Headers) -> float | None:
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = [entry.get("estimated_time_to_regain_access", 0) for entries in usage.values() for entry in entries]
    except (ValueError, AttributeError, TypeError):
        return None
    return max(minutes, default=0) * 60.0 or None


def parse_time(value: str | None) -> datetime | None:
    """Graph timestamps look like 2026-11-24T10:00:00+0000."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, fmt).astimezone(UTC)
        except ValueError:
            continue
    return None


def bearer(credentials: Credentials) -> dict[str, str]:
    # GETs carry the token in a header so it never appears in a logged URL
    return {"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"}
