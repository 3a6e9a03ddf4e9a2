"""`campaigns webhooks ...`: subscribe URLs to events, rotate secrets, read the delivery log, replay, deliver."""

from __future__ import annotations

# Start-up cost: the store, the integrations context and httpx are imported inside the commands,
# so `campaigns --help` and `campaigns webhooks --help` load none of them.

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from campaigns.cli.context import merchant_or_default, migrated_store, worker_id
from campaigns.cli.output import console, fail

app = typer.Typer(no_args_is_help=True)

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option(help="Who does it, for the audit log.")]


def _errors() -> tuple[type[Exception], ...]:
    from campaigns.core.crypto import TokenKeyError
    from campaigns.core.merchants import UnknownMerchantError
    from campaigns.integrations.endpoints import EndpointNotFoundError, WebhookEndpointError

    return (WebhookEndpointError, EndpointNotFoundError, UnknownMerchantError, TokenKeyError)


def _cipher():
    from campaigns.core.crypto import cipher_from_settings
    from campaigns.core.settings import get_settings

    return cipher_from_settings(get_settings())


@app.command("events")
def events() -> None:
    """List the event types an endpoint can subscribe to."""
    from campaigns.core.outbox import EVENT_TYPES

    table = Table("event", "when")
    for name, when in EVENT_TYPES.items():
        table.add_row(name, when)
    console.print(table)


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The receiver's https URL.")],
    event: Annotated[list[str] | None, typer.Option("--event", help="An event type to send (repeatable; default all). See `campaigns webhooks events`.")] = None,
    description: Annotated[str, typer.Option(help="A note for the list.")] = "",
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Subscribe a URL to events; prints its signing secret once."""
    from campaigns.core.store.db import session_scope
    from campaigns.integrations.endpoints import add_endpoint

    url_ = migrated_store()
    try:
        with session_scope(url_) as session:
            endpoint, secret = add_endpoint(session, merchant_or_default(merchant), url, event, actor=actor, cipher=_cipher(), description=description)
            endpoint_id, events_ = endpoint.id, endpoint.events
    except _errors() as exc:
        fail(escape(str(exc)))
    console.print(f"webhook endpoint {endpoint_id} receives {', '.join(events_)}", highlight=False)
    console.print(f"signing secret (shown once, store it in the receiver): {secret.secret}", highlight=False, soft_wrap=True)


@app.command("list")
def list_endpoints_(merchant: MerchantOption = None) -> None:
    """List the merchant's endpoints, enabled or not, with why an endpoint was disabled."""
    from campaigns.core.store.db import session_scope
    from campaigns.integrations.endpoints import list_endpoints

    with session_scope(migrated_store()) as session:
        rows = [(e.id, e.url, ", ".join(e.events), "yes" if e.enabled else "no", e.disabled_reason or "", e.description)
                for e in list_endpoints(session, merchant_or_default(merchant))]
    # ids are copied into other commands: never wrapped
    table = Table(Column("id", no_wrap=True), "url", "events", "enabled", "disabled because", "description")
    for row in rows:
        table.add_row(*(escape(str(v)) for v in row))
    console.print(table)


@app.command("remove")
def remove(endpoint_id: str, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Remove an endpoint and its delivery log."""
    from campaigns.core.store.db import session_scope
    from campaigns.integrations.endpoints import remove_endpoint

    try:
        with session_scope(migrated_store()) as session:
            remove_endpoint(session, merchant_or_default(merchant), endpoint_id, actor=actor)
    except _errors() as exc:
        fail(escape(str(exc)))
    console.print(f"removed webhook endpoint {escape(endpoint_id)}", highlight=False)


@app.command("enable")
def enable(endpoint_id: str, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Enable an endpoint again (after it was disabled for failing); its waiting deliveries resume."""
    _set_enabled(endpoint_id, True, merchant, actor)


@app.command("disable")
def disable(endpoint_id: str, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Stop sending to an endpoint; deliveries wait until it is enabled again."""
    _set_enabled(endpoint_id, False, merchant, actor)


def _set_enabled(endpoint_id: str, enabled: bool, merchant: str | None, actor: str) -> None:
    from campaigns.core.store.db import session_scope
    from campaigns.integrations.endpoints import set_enabled

    try:
        with session_scope(migrated_store()) as session:
            set_enabled(session, merchant_or_default(merchant), endpoint_id, enabled, actor=actor)
    except _errors() as exc:
        fail(escape(str(exc)))
    console.print(f"webhook endpoint {escape(endpoint_id)} {'enabled' if enabled else 'disabled'}", highlight=False)


@app.command("rotate-secret")
def rotate_secret(endpoint_id: str, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Give an endpoint a new signing secret; the old one keeps signing beside it for 24 hours."""
    from campaigns.core.store.db import session_scope
    from campaigns.integrations.endpoints import rotate_secret as rotate

    try:
        with session_scope(migrated_store()) as session:
            secret = rotate(session, merchant_or_default(merchant), endpoint_id, actor=actor, cipher=_cipher(), now=datetime.now(UTC))
    except _errors() as exc:
        fail(escape(str(exc)))
    console.print(f"new signing secret (shown once): {secret.secret}", highlight=False, soft_wrap=True)
    console.print("messages carry both signatures for 24 hours; switch the receiver to the new secret within that time", highlight=False)


@app.command("deliveries")
def deliveries(
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint's deliveries.")] = None,
    status: Annotated[str | None, typer.Option(help="PENDING, DELIVERED or FAILED.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    merchant: MerchantOption = None,
) -> None:
    """The delivery log, newest first: event, endpoint, status, attempts, last answer."""
    from campaigns.core.store.db import session_scope
    from campaigns.integrations.delivery import DELIVERED, FAILED, PENDING, deliveries as log

    if status and status.upper() not in (PENDING, DELIVERED, FAILED):
        fail(f"unknown status {escape(status)!r}; use PENDING, DELIVERED or FAILED")
    with session_scope(migrated_store()) as session:
        rows = [(str(d.id), e.type, e.event_id, d.endpoint_id, d.status, str(d.attempts), str(d.last_status_code or ""), (d.last_error or "")[:80])
                for d, e in log(session, merchant_or_default(merchant), endpoint_id=endpoint, status=status, limit=limit)]
    table = Table(Column("id", no_wrap=True), "event", Column("webhook-id", no_wrap=True), Column("endpoint", no_wrap=True),
                  "status", "attempts", "http", "last error")
    for row in rows:
        table.add_row(*(escape(v) for v in row))
    console.print(table)


@app.command("replay")
def replay(delivery_id: int, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Send one delivery again (same id and body, so a receiver that has it drops the repeat)."""
    from campaigns.core.store.db import session_scope
    from campaigns.integrations.delivery import replay as replay_

    try:
        with session_scope(migrated_store()) as session:
            replay_(session, merchant_or_default(merchant), delivery_id, actor=actor, now=datetime.now(UTC))
    except _errors() as exc:
        fail(escape(str(exc)))
    console.print(f"delivery {delivery_id} will be sent on the next run (`campaigns webhooks deliver`)", highlight=False)


@app.command("deliver")
def deliver(limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most deliveries to attempt in this run.")] = 200) -> None:
    """Fan out new events and attempt every due delivery once (what the Dagster sensor runs every minute)."""
    from campaigns.core.crypto import require_cipher
    from campaigns.integrations.delivery import deliver_due

    try:
        cipher = require_cipher(_cipher(), "read webhook signing secrets")
    except _errors() as exc:
        fail(escape(str(exc)))
    report = deliver_due(migrated_store(), cipher, worker_id=worker_id(), now=datetime.now(UTC), limit=limit)
    console.print(report.summary(), highlight=False)
