"""Who is calling: the API key in ``Authorization: Bearer co_...``, its merchant and role, and its rate limit.

Every route under /marketing takes a `Caller` and runs its service call through `run` /
`run_idempotent`, which check the role with `require` first. The merchant always comes from
the key, never from the request, so another merchant's ids are simply not found (404).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns.access import idempotency
from campaigns.access.api_keys import ApiKeyError, KeyIdentity, verify_key
from campaigns.access.roles import Permission, Role, require
from campaigns.api.problems import ApiProblem
from campaigns.core.store.db import session_scope

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="A merchant's API key: `Authorization: Bearer co_...` (create one with `campaigns api-keys create`).")


class RateLimiter:
    """A token bucket per key: `per_minute` requests a minute on average, bursts up to `per_minute`."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.rate, self.clock = float(per_minute), per_minute / 60.0, clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key_id: int) -> int | None:
        """None when the request may go ahead (and is counted); otherwise the whole seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return None
            self._buckets[key_id] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))


@dataclass(frozen=True)
class Caller:
    identity: KeyIdentity
    store_url: str

    @property
    def merchant_id(self) -> str:
        return self.identity.merchant_id

    @property
    def role(self) -> Role:
        return self.identity.role

    @property
    def actor(self) -> str:
        return self.identity.actor


def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiKeyError("send an API key as 'Authorization: Bearer co_...'; create one with `campaigns api-keys create`")
    store_url = request.app.state.store_url
    with session_scope(store_url) as session:
        identity = verify_key(session, credentials.credentials)
    wait = request.app.state.rate_limiter.retry_after(identity.id)
    if wait is not None:
        raise ApiProblem(429, "Too Many Requests", f"this key made more than {int(request.app.state.rate_limiter.capacity)} requests in a minute; "
                         f"retry after {wait} s", headers={"Retry-After": str(wait)})
    return Caller(identity, store_url)


CallerDep = Annotated[Caller, Depends(caller)]
CampaignId = Annotated[str, Path(min_length=1, max_length=40, description="A campaign id (cmp_...)", examples=["cmp_1a2b3c4d"])]
IdempotencyKey = Annotated[str | None, Header(pattern=idempotency.KEY_PATTERN, description=(
    "Any unique string (a UUID is usual) for this request: sending it again with the same body replays the first response "
    "instead of acting twice; with a different body it is refused (422)."), examples=["5f0c9a8e-2b1d-4c3e-9f7a-1b2c3d4e5f60"])]


def run(who: Caller, permission: Permission, work: Callable[[Session], T]) -> T:
    """Check the role, then run one service call in one transaction."""
    require(who.role, permission)
    with session_scope(who.store_url) as session:
        return work(session)


def run_idempotent(who: Caller, permission: Permission, key: str | None, fingerprint: str,
                   work: Callable[[Session], tuple[int, Any]], headers: Callable[[Any], dict[str, str]] | None = None) -> JSONResponse:
    """`run` for a POST that creates or sends: with an Idempotency-Key, the first response is stored with the work and replayed after."""
    require(who.role, permission)
    if key is None:
        with session_scope(who.store_url) as session:
            status, payload = work(session)
            body = jsonable_encoder(payload)
        return JSONResponse(body, status_code=status, headers=headers(body) if headers else None)
    key = idempotency.check_key(key)
    try:
        with session_scope(who.store_url) as session:
            stored = idempotency.find(session, who.merchant_id, who.identity.id, key, fingerprint)
            if stored is None:
                status, payload = work(session)
                body = jsonable_encoder(payload)
                idempotency.remember(session, who.merchant_id, who.identity.id, key, fingerprint, status, json.dumps(body))
                return JSONResponse(body, status_code=status, headers=headers(body) if headers else None)
    except IntegrityError:
        # a concurrent request with the same key committed first: its work stands, ours rolled back
        with session_scope(who.store_url) as session:
            stored = idempotency.find(session, who.merchant_id, who.identity.id, key, fingerprint)
        if stored is None:
            raise
    replayed = json.loads(stored.body)
    return JSONResponse(replayed, status_code=stored.status_code,
                        headers={**(headers(replayed) if headers else {}), "Idempotent-Replayed": "true"})
