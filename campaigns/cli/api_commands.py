"""`campaigns api` (serve the HTTP API) and `campaigns api-keys create|list|revoke` (per-merchant API keys)."""

from __future__ import annotations

# Start-up cost: FastAPI, uvicorn, settings and the store load inside the commands that use them.

from typing import Annotated

import typer
from rich.markup import escape

from campaigns.cli.context import merchant_or_default as _merchant, migrated_store as _store
from campaigns.cli.output import console, fail

keys_app = typer.Typer(no_args_is_help=True)
MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]


def api(
    host: Annotated[str, typer.Option(help="Interface to listen on; keep 127.0.0.1 and put a TLS reverse proxy in front.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64, help=(
        "Server processes (default CAMPAIGNS_API_WORKERS, 1); about one per CPU core serves the most requests."))] = None,
) -> None:
    """Serve the REST API under /marketing (with /docs and /openapi.json) and the public endpoints, until interrupted."""
    from campaigns.api.app import create_app
    from campaigns.api.server import serve
    from campaigns.core.settings import get_settings
    from campaigns.email.webhooks import WebhookConfigError

    settings = get_settings()
    try:
        app_ = create_app(settings, _store())
    except WebhookConfigError as exc:
        fail(str(exc))
    workers = workers or settings.api_workers
    console.print(f"API on http://{host}:{port}/marketing (docs: http://{host}:{port}/docs)"
                  + (f", {workers} worker processes" if workers > 1 else ""))
    serve(app_, host, port, settings.api_max_concurrency, workers=workers)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who uses the key, e.g. 'shop backend'.")],
    role: Annotated[str, typer.Option("--role", help="owner, marketer, approver or viewer.")] = "viewer",
    expires_in_days: Annotated[int | None, typer.Option("--expires-in-days", min=1, help="Days until it stops working (default: never).")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Create an API key for a merchant; the key is shown once, only its hash is kept."""
    from datetime import timedelta

    from campaigns.access.api_keys import create_key
    from campaigns.core.merchants import UnknownMerchantError
    from campaigns.core.store.db import session_scope

    try:
        with session_scope(_store()) as session:
            created = create_key(session, _merchant(merchant), name, role, actor=actor,
                                 expires_in=timedelta(days=expires_in_days) if expires_in_days else None)
    except (ValueError, UnknownMerchantError) as exc:
        fail(escape(str(exc)))
    console.print(f"API key {created.id} ({created.role.value}) created; copy it now, it is not shown again:", highlight=False)
    console.print(created.key, markup=False, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_(merchant: MerchantOption = None) -> None:
    """List a merchant's API keys (never the keys themselves): role, expiry, revocation, last use."""
    from campaigns.access.api_keys import list_keys
    from campaigns.core.merchants import UnknownMerchantError
    from campaigns.core.store.db import session_scope

    try:
        with session_scope(_store()) as session:
            rows = [(k.id, k.prefix, k.name, k.role, k.created_at, k.expires_at, k.revoked_at, k.last_used_at) for k in list_keys(session, _merchant(merchant))]
    except UnknownMerchantError as exc:
        fail(escape(str(exc)))
    if not rows:
        console.print("no API keys yet; create one with `campaigns api-keys create --name NAME --role ROLE`")
    for key_id, prefix, name, role, created, expires, revoked, used in rows:
        state = f"revoked {_when(revoked)}" if revoked else f"expires {_when(expires)}" if expires else "no expiry"
        console.print(f"{key_id}  co_{prefix}_…  {role:<8}  {escape(name)}  (created {_when(created)}, {state}, last used {_when(used)})",
                      highlight=False, soft_wrap=True)


def _when(moment) -> str:  # noqa: ANN001
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@keys_app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `campaigns api-keys list`).")], merchant: MerchantOption = None,
           actor: ActorOption = "cli") -> None:
    """Revoke an API key: it stops working at once."""
    from campaigns.access.api_keys import ApiKeyNotFoundError, revoke_key
    from campaigns.core.store.db import session_scope

    try:
        with session_scope(_store()) as session:
            revoke_key(session, _merchant(merchant), key_id, actor=actor)
    except ApiKeyNotFoundError as exc:
        fail(escape(str(exc)))
    console.print(f"API key {key_id} revoked")
