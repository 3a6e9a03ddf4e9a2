"""`campaigns accounts connect|refresh` (OAuth) and `campaigns keys generate|rotate` (the token key).

`accounts connect` prints the platform's authorization URL, then waits until the public server's
callback has completed the connection (it polls the store), or, with ``--paste``, reads the
address the browser was redirected to (for servers the platform cannot call back).
"""

from __future__ import annotations

# Start-up cost: the store, the social context and the OAuth clients (httpx) are imported inside the
# commands that use them, so `campaigns --help` and `campaigns keys --help` do not load them.

import time
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from campaigns.cli.context import merchant_or_default as _merchant
from campaigns.cli.context import migrated_store
from campaigns.cli.output import console, fail
from campaigns.core.settings import get_settings

keys_app = typer.Typer(no_args_is_help=True)

POLL_SECONDS = 2.0


def connect(
    platform: Annotated[str, typer.Option(help="x, linkedin, facebook or instagram.")],
    merchant: Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")] = None,
    timezone: Annotated[str, typer.Option(help="The connected accounts' time zone, e.g. America/New_York.")] = "UTC",
    only: Annotated[str | None, typer.Option("--only", help="Connect only this page, organization URN or Instagram username.")] = None,
    paste: Annotated[bool, typer.Option("--paste", help="Headless: paste the address the browser was sent to instead of waiting for the callback.")] = False,
    actor: Annotated[str, typer.Option(help="Who connects it, for the audit log.")] = "cli",
) -> None:
    """Connect social accounts by OAuth: open the printed URL, grant access, and the accounts are stored (tokens encrypted)."""
    from campaigns.core.crypto import TokenKeyError, cipher_from_settings
    from campaigns.core.merchants import UnknownMerchantError
    from campaigns.core.store.db import session_scope
    from campaigns.social.accounts import QueueError
    from campaigns.social.connect import PENDING, ConnectError, clients_from_settings, complete_from_redirect_url, connection_status, start_connection

    settings = get_settings()
    url = migrated_store()
    merchant_id = _merchant(merchant)
    clients, cipher = clients_from_settings(settings), cipher_from_settings(settings)
    try:
        redirect_uri = settings.oauth_redirect_uri(platform)
        with session_scope(url) as session:
            started = start_connection(session, merchant_id, platform, actor=actor, clients=clients, redirect_uri=redirect_uri, cipher=cipher,
                                       ttl=timedelta(minutes=settings.oauth_connect_minutes), timezone=timezone, target=only)
    except (ConnectError, QueueError, TokenKeyError, UnknownMerchantError, ValueError) as exc:
        fail(str(exc))
    console.print(f"Open this address, sign in to {platform} and grant access (valid until {started.expires_at:%H:%M} UTC):")
    console.print(started.authorization_url, markup=False, highlight=False, soft_wrap=True)
    try:
        if paste:
            pasted = typer.prompt("Paste the whole address your browser was sent to")
            result = complete_from_redirect_url(url, pasted, clients=clients, cipher=cipher)
        else:
            console.print(f"waiting for {platform} to call back {redirect_uri} (Ctrl-C to stop; --paste for servers it cannot reach)")
            while True:
                with session_scope(url) as session:
                    result = connection_status(session, merchant_id, started.connection_id)
                if result.status not in (PENDING, "EXCHANGING"):
                    break
                time.sleep(POLL_SECONDS)
    except ConnectError as exc:
        fail(str(exc))
    finally:
        for client in clients.values():
            client.close()
    if result.status != "CONNECTED":
        fail(f"{platform} was not connected: {escape(result.error or result.status)}")
    for account_id, handle in result.accounts:
        console.print(f"account {account_id}: {platform} {escape(handle)} connected")


def refresh(
    within_hours: Annotated[int, typer.Option("--within-hours", help="Refresh tokens that expire within this many hours.")] = 24,
) -> None:
    """Refresh every token about to expire; accounts whose refresh is refused are marked "reconnect needed"."""
    from campaigns.core.crypto import cipher_from_settings
    from campaigns.social.connect import clients_from_settings, refresh_due

    settings = get_settings()
    clients = clients_from_settings(settings)
    try:
        outcome = refresh_due(migrated_store(), clients, cipher_from_settings(settings), margin=timedelta(hours=within_hours))
    finally:
        for client in clients.values():
            client.close()
    console.print(f"{len(outcome['refreshed'])} refreshed, {len(outcome['reconnect'])} need reconnecting, {len(outcome['later'])} to retry later")
    for label in outcome["reconnect"]:
        console.print(f"reconnect needed: {escape(label)} (campaigns accounts connect)")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new token key (put it first in CAMPAIGNS_TOKEN_KEY, then run `campaigns keys rotate`)."""
    from campaigns.core.crypto import generate_key

    console.print(generate_key(), markup=False, highlight=False)


@keys_app.command("rotate")
def keys_rotate(actor: Annotated[str, typer.Option(help="Who rotates, for the audit log.")] = "cli") -> None:
    """Re-encrypt every stored token with the first key of CAMPAIGNS_TOKEN_KEY=new,old (the old keys still decrypt)."""
    from campaigns.core.crypto import TokenKeyError, cipher_from_settings, require_cipher
    from campaigns.core.store.db import session_scope
    from campaigns.social.accounts import rotate_token_key

    settings = get_settings()
    try:
        cipher = require_cipher(cipher_from_settings(settings), "re-encrypt the stored tokens")
    except TokenKeyError as exc:
        fail(str(exc))
    with session_scope(migrated_store()) as session:
        counts = rotate_token_key(session, cipher, actor)
    console.print(f"re-encrypted {counts['tokens']} tokens of {counts['accounts']} accounts and {counts['connections']} pending connections "
                  "with the first key")
    if counts["unreadable"]:
        console.print(f"{counts['unreadable']} accounts had tokens no key could read: they are marked \"reconnect needed\"")
    console.print("the other keys can now be removed from CAMPAIGNS_TOKEN_KEY")
