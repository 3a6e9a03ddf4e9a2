"""Who is calling: an API key (``Authorization: Bearer co_...``) or a person with their identity provider's access
token (a JWT, when CAMPAIGNS_API_OIDC_ISSUER is set); their merchant and role; their rate limit.

Every route under /marketing takes a `Caller` and runs its service call through `run` /
`run_idempotent`, which check the role with `require` first. A key's merchant is the key's; a person's is
the one they name in ``X-Campaigns-Merchant`` (or their only one) and only if they have a membership there.
Either way the merchant is fixed before any route runs, so another merchant's ids are simply not found (404).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends, Header, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from campaigns.access import idempotency
from campaigns.access.api_keys import KEY_PREFIX, KeyIdentity, verify_key
from campaigns.access.oidc_tokens import OidcConfig, TokenVerifier, UserIdentity, identity_for
from campaigns.access.roles import Permission, Role, require
from campaigns.api.problems import ApiProblem
from campaigns.core.identifiers import MERCHANT_ID_GRAMMAR
from campaigns.core.settings import Settings
from campaigns.core.store.db import read_scope, session_scope
from campaigns.core.store.types import utcnow

T = TypeVar("T")
MERCHANT_HEADER = "X-Campaigns-Merchant"
# Two ways to say who calls, both `Authorization: Bearer ...`: OpenAPI lists them as alternatives on every operation.
_bearer = HTTPBearer(auto_error=False, description="A merchant's API key: `Authorization: Bearer co_...` (create one with `campaigns api-keys create`).")
_oidc = HTTPBearer(auto_error=False, scheme_name="OidcBearer", bearerFormat="JWT", description=(
    "An access token (a JWT) from the installation's identity provider, when it sets CAMPAIGNS_API_OIDC_ISSUER and "
    "CAMPAIGNS_API_OIDC_AUDIENCE: `Authorization: Bearer eyJ...`. The token's email names a user here; their membership gives "
    f"the role. With several memberships, name the merchant in `{MERCHANT_HEADER}`. See docs/api.md."))
MerchantHeader = Annotated[str | None, Header(alias=MERCHANT_HEADER, pattern=f"^{MERCHANT_ID_GRAMMAR}$", description=(
    "The merchant this request acts for. Needed with an OIDC token when the person belongs to several merchants; "
    "optional with one. With an API key leave it out (if sent, it must be the key's own merchant)."), examples=["acme"])]


class RateLimiter:
    """A token bucket per key: `per_minute` requests a minute on average, bursts up to `per_minute`."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.rate, self.clock = float(per_minute), per_minute / 60.0, clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key_id: Hashable) -> int | None:
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


class VerifiedKeys:
    """API keys this process verified in the last `seconds`: the next requests with the key within that time skip the store.

    A key revoked meanwhile is refused once its `seconds` are up (each process asks the store again then, and records
    the key's use at most once a minute as before); its expiry is checked on every request. Only keys that verified are
    kept, by their hash, so unknown keys never fill it."""

    MAX_KEYS = 10_000

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._verified: dict[bytes, tuple[KeyIdentity, float]] = {}
        self._pending: dict[tuple[asyncio.AbstractEventLoop, bytes], asyncio.Future[KeyIdentity]] = {}  # verifications under way

    def get(self, key: str) -> KeyIdentity | None:
        """The identity of a key verified less than `seconds` ago and not expired since; None: verify it."""
        entry = self._verified.get(hashlib.sha256(key.encode()).digest())
        if entry is None or self.clock() >= entry[1]:
            return None
        identity = entry[0]
        if identity.expires_at is not None and identity.expires_at <= utcnow():
            return None  # the store says why
        return identity

    async def verify(self, store_url: str, key: str) -> KeyIdentity:
        """Ask the store (in a worker thread); requests with the same key meanwhile wait for this answer instead of asking too."""
        digest = hashlib.sha256(key.encode()).digest()
        waiting = (asyncio.get_running_loop(), digest)  # a future belongs to its loop (a test client may run several)
        pending = self._pending.get(waiting)
        if pending is None:
            pending = self._pending[waiting] = asyncio.ensure_future(run_in_threadpool(self._verify, store_url, key, digest))
            pending.add_done_callback(lambda _: self._pending.pop(waiting, None))
        return await asyncio.shield(pending)

    def _verify(self, store_url: str, key: str, digest: bytes) -> KeyIdentity:
        with session_scope(store_url) as session:
            identity = verify_key(session, key)
        if self.seconds > 0:
            if len(self._verified) >= self.MAX_KEYS:
                self._verified.clear()
            self._verified[digest] = (identity, self.clock() + self.seconds)
        return identity


@dataclass(frozen=True)
class Caller:
    identity: KeyIdentity | UserIdentity
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

    @property
    def api_key_id(self) -> int | None:
        return self.identity.id if isinstance(self.identity, KeyIdentity) else None

    @property
    def user_id(self) -> int | None:
        return self.identity.id if isinstance(self.identity, UserIdentity) else None


def oidc_verifier(settings: Settings) -> TokenVerifier | None:
    """The verifier of OIDC bearer tokens when CAMPAIGNS_API_OIDC_ISSUER is set (it fetches nothing until a token comes);
    ValueError naming the setting to fix when the configuration is incomplete."""
    if not settings.api_oidc_issuer:
        if settings.api_oidc_audience:
            raise ValueError("CAMPAIGNS_API_OIDC_AUDIENCE is set but CAMPAIGNS_API_OIDC_ISSUER is not; set the issuer too, or unset both")
        return None
    if not settings.api_oidc_audience:
        raise ValueError("CAMPAIGNS_API_OIDC_ISSUER is set but CAMPAIGNS_API_OIDC_AUDIENCE is not; set it to the audience (aud) "
                         "the identity provider puts in access tokens for this API")
    return TokenVerifier(OidcConfig(settings.api_oidc_issuer, settings.api_oidc_audience, settings.api_oidc_email_claim,
                                    tuple(settings.api_oidc_algorithms), float(settings.api_oidc_cache_seconds), settings.api_oidc_timeout_seconds))


async def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                 _token: Annotated[HTTPAuthorizationCredentials | None, Depends(_oidc)], merchant: MerchantHeader = None) -> Caller:
    # async, so a key verified a moment ago costs no trip to a worker thread; the store is read in one when needed
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiProblem(401, "Unauthorized", "send an API key as 'Authorization: Bearer co_...' (create one with `campaigns api-keys create`)"
                         " or, where the identity provider is configured, its access token as 'Authorization: Bearer <JWT>'",
                         headers={"WWW-Authenticate": "Bearer"})
    store_url, token = request.app.state.store_url, credentials.credentials
    verifier: TokenVerifier | None = getattr(request.app.state, "oidc_verifier", None)
    identity: KeyIdentity | UserIdentity
    if token.startswith(KEY_PREFIX) or verifier is None:
        keys: VerifiedKeys = request.app.state.verified_keys
        identity = keys.get(token) or await keys.verify(store_url, token)
        if merchant is not None and merchant != identity.merchant_id:
            raise ApiProblem(403, "Forbidden", f"an API key acts for its own merchant only; leave out {MERCHANT_HEADER} "
                             "or use a key of the merchant you name")
        bucket: tuple[str, int] = ("api-key", identity.id)
    else:
        identity = await run_in_threadpool(_person, verifier, store_url, token, merchant)
        bucket = ("user", identity.id)
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.retry_after(bucket)
    if wait is not None:
        who = "this key" if bucket[0] == "api-key" else "you"
        raise ApiProblem(429, "Too Many Requests", f"{who} made more than {int(limiter.capacity)} requests in a minute; "
                         f"retry after {wait} s", headers={"Retry-After": str(wait)})
    return Caller(identity, store_url)


def _person(verifier: TokenVerifier, store_url: str, token: str, merchant: str | None) -> UserIdentity:
    verified = verifier.verify(token)  # before opening a store session: it may fetch the provider's keys
    with session_scope(store_url) as session:
        return identity_for(session, verified.email, merchant)


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


async def read(who: Caller, permission: Permission, work: Callable[[Session], T]) -> T:
    """`run` for a short read from an `async def` route: on SQLite in the event loop's own thread, elsewhere in a worker thread.

    Python's sqlite3 lets go of the GIL for every row it steps; from a worker thread each row then became a hand-over
    with the event loop's thread, and those hand-overs cost more CPU than the query (17 ms instead of 3 ms per page of
    50 campaigns at 50 clients, docs/benchmarks.md). A read under WAL does not wait for writers, so it holds the loop
    for about a millisecond. A PostgreSQL query waits on the network, so it goes to a thread, and runs in autocommit:
    `work` must read with one statement."""
    if who.store_url.startswith("sqlite"):
        return run(who, permission, work)
    return await anyio.to_thread.run_sync(_read_once_more_if_dropped, who, permission, work, limiter=_read_threads())


# PostgreSQL reads run in at most this many threads per process (other sync routes keep the default pool). Each
# thread's trip to the database ends in a wait for the GIL, and the more threads wait, the longer each waits:
# at 50 clients, 4 threads served 1,053-1,194 lists/s with p95 59-94 ms where 16 served 759-832/s with p95
# 118-121 ms (docs/benchmarks.md). The requests beyond them wait in the event loop, where waiting costs nothing.
READ_THREADS = 4
_read_limiter: RunVar[anyio.CapacityLimiter] = RunVar("campaigns_read_limiter")  # one per event loop, as anyio keeps its own


def _read_threads() -> anyio.CapacityLimiter:
    limiter = _read_limiter.get(None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(READ_THREADS)
        _read_limiter.set(limiter)
    return limiter


def _read_once_more_if_dropped(who: Caller, permission: Permission, work: Callable[[Session], T]) -> T:
    """One read statement in autocommit (`read_scope`), repeated once on a connection the database dropped.

    The read pool skips the ping before each checkout (a round trip per request); a read is safe to repeat,
    and the engine has by then thrown away every connection older than the drop."""
    require(who.role, permission)
    try:
        with read_scope(who.store_url) as session:
            return work(session)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with read_scope(who.store_url) as session:
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
            stored = idempotency.find(session, who.merchant_id, who.api_key_id, key, fingerprint, user_id=who.user_id)
            if stored is None:
                status, payload = work(session)
                body = jsonable_encoder(payload)
                idempotency.remember(session, who.merchant_id, who.api_key_id, key, fingerprint, status, json.dumps(body), user_id=who.user_id)
                return JSONResponse(body, status_code=status, headers=headers(body) if headers else None)
    except IntegrityError:
        # a concurrent request with the same key committed first: its work stands, ours rolled back
        with session_scope(who.store_url) as session:
            stored = idempotency.find(session, who.merchant_id, who.api_key_id, key, fingerprint, user_id=who.user_id)
        if stored is None:
            raise
    replayed = json.loads(stored.body)
    return JSONResponse(replayed, status_code=stored.status_code,
                        headers={**(headers(replayed) if headers else {}), "Idempotent-Replayed": "true"})
