"""The ASGI app: the public endpoints and the REST API under /marketing, with limits, problem+json errors and OpenAPI.

Every module in `campaigns.api.public` and `campaigns.api.marketing` that defines ``router`` is
mounted (and its ``setup(app)`` run, if it has one), so a new concern is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from campaigns.api import marketing, public
from campaigns.api.auth import MERCHANT_HEADER, RateLimiter, VerifiedKeys, oidc_verifier
from campaigns.api import limits
from campaigns.api.problems import install as install_problems
from campaigns.core.settings import Settings
from campaigns.core.store.db import POOL_SIZE
from campaigns.email.webhooks import MAX_BODY_BYTES as WEBHOOK_BODY_BYTES

DESCRIPTION = """The Campaign Orchestrator API. Authenticate with a merchant's API key (`Authorization: Bearer co_...`):
every call acts on that key's merchant with that key's role. Where the installation trusts an identity provider,
a person may instead send its access token (a JWT): their membership gives merchant and role (name the merchant in
`X-Campaigns-Merchant` when they have several). Errors are `application/problem+json` (RFC 9457).
POSTs that create or send honour `Idempotency-Key`. Lists are paged with `limit` and `cursor`. See docs/api.md."""


def _modules(package: ModuleType) -> list[ModuleType]:
    return [importlib.import_module(f"{package.__name__}.{info.name}") for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)]


def body_limit_for(path: str) -> int:
    return WEBHOOK_BODY_BYTES if path.startswith("/webhooks/") else limits.API_BODY_BYTES


class ThreadLimit:
    """Sync routes run in anyio's worker threads (40 by default). Python runs one of them at a time, so more
    threads than store connections only queue for the pool: match them (`campaigns.core.store.db.POOL_SIZE`)."""

    def __init__(self, app, threads: int) -> None:  # noqa: ANN001
        self.app, self.threads, self.applied = app, threads, False

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if not self.applied:  # the limiter belongs to the running event loop, so it is set from inside it
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
            self.applied = True
        await self.app(scope, receive, send)


def create_app(settings: Settings, store_url: str | None = None, *, api: bool = True) -> FastAPI:
    """The app `campaigns api` serves; with api=False only the public endpoints (what `campaigns email serve-unsubscribe` serves).

    Raises the public modules' configuration errors (a missing token key, a bad webhook key) and an incomplete OIDC
    configuration here, at start-up (the identity provider itself is asked only when the first token comes).
    """
    app = FastAPI(title="Campaign Orchestrator API", version="1", description=DESCRIPTION,
                  docs_url="/docs" if api else None, redoc_url=None, openapi_url="/openapi.json" if api else None)
    app.state.settings = settings
    app.state.store_url = store_url or settings.store_url
    app.state.rate_limiter = RateLimiter(settings.api_rate_limit_per_minute)
    app.state.verified_keys = VerifiedKeys(settings.api_key_cache_seconds)
    app.state.oidc_verifier = oidc_verifier(settings) if api else None
    install_problems(app)
    for module in [*_modules(public), *(_modules(marketing) if api else [])]:
        if hasattr(module, "setup"):
            module.setup(app)
        app.include_router(module.router)
    if settings.api_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.api_cors_origins, allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match", MERCHANT_HEADER], expose_headers=["ETag", "Location", "Retry-After"])
    app.add_middleware(limits.BodyLimitMiddleware, limit_for=body_limit_for, body_timeout=limits.BODY_TIMEOUT_SECONDS)
    app.add_middleware(ThreadLimit, threads=POOL_SIZE)
    return app


def create_from_environment() -> FastAPI:
    """The app of one worker process when `campaigns api --workers N` serves several (the parent migrated the store)."""
    from campaigns.api.server import freeze_startup_heap
    from campaigns.core.settings import get_settings

    app = create_app(get_settings())
    freeze_startup_heap()
    return app
