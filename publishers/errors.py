"""The failure taxonomy the queue acts on.

| error        | meaning                                               | the queue                          |
|--------------|-------------------------------------------------------|------------------------------------|
| Retryable    | not accepted, try later (refused connection, 5xx, 429) | back to QUEUED after a backoff     |
| AuthExpired  | the token is no longer valid (401)                     | refresh once, else NEEDS_REAUTH     |
| Duplicate    | the platform already has this content                  | FAILED (terminal)                   |
| Rejected     | the platform refuses the content (4xx validation)      | FAILED (terminal)                   |
| Ambiguous    | the request was sent and no answer came back           | reconcile, else NEEDS_REVIEW        |

Every message passes through `redact`, so tokens never reach logs, exceptions or the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ClassVar

_TOKEN_PARAMS = re.compile(r"(?i)\b(access_token|refresh_token|client_secret|api_key|password)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization:\s*)(\w+)\s+[^\s,;]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _TOKEN_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)} ***", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} ***", text)


class PublishError(Exception):
    kind: ClassVar[str] = "error"
    terminal: ClassVar[bool] = True

    def __init__(
        self,
        reason: str,
        *,
        platform: str,
        status_code: int | None = None,
        secrets: Iterable[str] = (),
        partial_ids: Iterable[str] = (),
        accepted: Iterable[str] = (),
    ) -> None:
        self.reason = redact(reason, secrets)
        self.platform = platform
        self.status_code = status_code
        # ids already created before the failure (earlier parts of a thread, earlier batches)
        self.partial_ids = tuple(partial_ids)
        # email recipients the provider accepted before the failure
        self.accepted = tuple(accepted)
        super().__init__(f"{platform}: {self.reason}")

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"error_kind": self.kind, "reason": self.reason, "status_code": self.status_code}
        if self.partial_ids:
            out["partial_ids"] = list(self.partial_ids)
        if self.accepted:
            out["accepted_count"] = len(self.accepted)
        return out


class Retryable(PublishError):
    kind = "retryable"
    terminal = False

    def __init__(self, reason: str, *, retry_at: datetime | None = None, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(reason, **kwargs)
        self.retry_at = retry_at
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        if self.retry_at is not None:
            out["retry_at"] = self.retry_at.isoformat()
        if self.retry_after is not None:
            out["retry_after_s"] = self.retry_after
        return out


class AuthExpired(PublishError):
    kind = "auth_expired"


class Duplicate(PublishError):
    kind = "duplicate"


class Rejected(PublishError):
    kind = "rejected"


class Ambiguous(PublishError):
    kind = "ambiguous"
    terminal = False


def retry_hint(headers: dict[str, str] | object) -> tuple[datetime | None, float | None]:
    """(absolute time, or seconds) to wait, from `x-rate-limit-reset` (X; SendGrid spells it
    `x-ratelimit-reset`), both epoch seconds, or `Retry-After` (seconds or an HTTP date)."""
    get = headers.get  # type: ignore[attr-defined]
    reset = get("x-rate-limit-reset") or get("x-ratelimit-reset")
    if reset:
        try:
            return datetime.fromtimestamp(int(float(reset)), UTC), None
        except (ValueError, OverflowError, OSError):
            pass
    after = get("retry-after")
    if after:
        after = after.strip()
        if after.isdigit():
            return None, float(after)
        try:
            when = parsedate_to_datetime(after)
            return (when if when.tzinfo else when.replace(tzinfo=UTC)), None
        except (TypeError, ValueError):
            pass
    return None, None
