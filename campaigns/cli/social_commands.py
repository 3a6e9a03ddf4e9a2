"""`campaigns accounts ...` and `campaigns social ...`: connect accounts, schedule and publish posts."""

from __future__ import annotations

# Start-up cost: the store, the social context (accounts, scheduling, the publishing worker) and the publishers
# are imported inside the commands that use them, so `campaigns --help`, `campaigns accounts --help` and
# `campaigns social --help` do not load them.

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from campaigns.cli import connect_commands

from campaigns.cli.output import console, fail
from campaigns.cli.context import merchant_or_default as _merchant, read_secret, store_session as _session
from campaigns.core.enums import QueueStatus
from campaigns.core.settings import get_settings

accounts_app = typer.Typer(no_args_is_help=True)
social_app = typer.Typer(no_args_is_help=True)

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]


@accounts_app.command("add")
def accounts_add(
    platform: Annotated[str, typer.Option(help="x, facebook, instagram or linkedin.")],
    handle: Annotated[str, typer.Option(help="The account's id on the platform (X user id or @handle, page id, Instagram user id, LinkedIn URN).")],
    access_token: Annotated[str | None, typer.Option(
        help="OAuth access token, stored encrypted; '-' reads it from stdin (a value on the command line shows in `ps`).")] = None,
    access_token_file: Annotated[Path | None, typer.Option(help="Read the access token from this file.")] = None,
    ask_token: Annotated[bool, typer.Option("--ask-token", help="Prompt for the access token (typing hidden).")] = False,
    refresh_token: Annotated[str | None, typer.Option(help="OAuth refresh token, where the platform has one; '-' reads it from stdin.")] = None,
    refresh_token_file: Annotated[Path | None, typer.Option(help="Read the refresh token from this file.")] = None,
    timezone: Annotated[str, typer.Option(help="The account's time zone, e.g. America/New_York.")] = "UTC",
    merchant: MerchantOption = None,
    actor: Annotated[str, typer.Option(help="Who connects it, for the audit log.")] = "cli",
) -> None:
    """Add (or reconnect) a social account with tokens you already have; `accounts connect` gets them by OAuth."""
    from campaigns.core.crypto import TokenKeyError, cipher_from_settings
    from campaigns.social.accounts import QueueError, add_account
    from campaigns.core.merchants import UnknownMerchantError

    if ask_token and (access_token or access_token_file):
        fail("give the access token one way: --access-token, --access-token-file or --ask-token")
    if ask_token:
        access_token = typer.prompt("Access token", hide_input=True)
    access_token = read_secret("access token", access_token, access_token_file, flag="--access-token")
    refresh_token = read_secret("refresh token", refresh_token, refresh_token_file, flag="--refresh-token")
    try:
        with _session() as session:
            account = add_account(session, _merchant(merchant), platform, handle, actor=actor, access_token=access_token,
                                    refresh_token=refresh_token, timezone=timezone, cipher=cipher_from_settings(get_settings()))
            console.print(f"account {account.id}: {account.platform} {escape(account.handle)} ({account.timezone}) is {account.status}")
    except (QueueError, TokenKeyError, UnknownMerchantError) as exc:
        fail(str(exc))


@accounts_app.command("list")
def accounts_list(merchant: MerchantOption = None) -> None:
    """List connected accounts ("reconnect needed" when a token was refused or cannot be read)."""
    from campaigns.social.accounts import list_accounts, status_label

    table = Table("id", "platform", "handle", "time zone", "status", "token expires (UTC)")
    with _session() as session:
        for a in list_accounts(session, _merchant(merchant)):
            expires = f"{a.token_expires_at:%Y-%m-%d %H:%M}" if a.token_expires_at else ""
            table.add_row(str(a.id), a.platform, escape(a.handle), a.timezone, status_label(a) + (f" ({escape(a.reauth_reason)})" if a.reauth_reason else ""),
                          expires)
    console.print(table)


accounts_app.command("connect")(connect_commands.connect)
accounts_app.command("refresh")(connect_commands.refresh)


@social_app.command("schedule")
def schedule(
    account: Annotated[int, typer.Option(help="Account id (campaigns accounts list).")],
    text: Annotated[str, typer.Option(help="The post; separate thread parts with a line holding only ---.")],
    at: Annotated[str | None, typer.Option(help="When: ISO-8601; without an offset it is the account's local time.")] = None,
    best: Annotated[bool, typer.Option("--best", help="Take the next best slot from the account's engagement history.")] = False,
    campaign: Annotated[str | None, typer.Option(help="Campaign id, for UTM tags and reporting.")] = None,
    author: Annotated[str, typer.Option(help="Who wrote it; scheduling your own text counts as your approval.")] = "cli",
    media: Annotated[list[Path] | None, typer.Option("--media", help="An image (JPEG, PNG, GIF or WebP) or MP4 video to attach "
                                                                     "(repeatable, in order).")] = None,
    alt: Annotated[list[str] | None, typer.Option("--alt", help="Alt text of the image at the same position (repeatable; images only).")] = None,
    merchant: MerchantOption = None,
) -> None:
    """Schedule a post you wrote (your approval is recorded)."""
    from campaigns.social.accounts import QueueError, get_account
    from campaigns.social.media_store import media_store
    from campaigns.social.video import schedule_with_media
    from campaigns.social.scheduling import schedule_text, schedule_time
    from campaigns.social.posting_slots import best_slot

    if (at is None) == (not best):
        fail("give exactly one of --at TIME or --best")
    files = []
    for path in media or []:
        try:
            files.append((path.name, path.read_bytes()))
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror}; give the path of an image or MP4 video file")
    merchant_id = _merchant(merchant)
    settings = get_settings()
    try:
        with _session() as session:
            acct = get_account(session, merchant_id, account)
            if best:
                slot, note = best_slot(get_settings(), session, merchant_id, acct, datetime.now(UTC))
                when = slot.at
                console.print(f"best slot: {slot.local:%a %d %b %H:%M} {acct.timezone} (expected engagement {slot.rate:.2%}, {slot.confidence} confidence){note}")
            else:
                when = schedule_time(at, acct.timezone)
            if files:  # every file checked before any is stored; the files are written last, inside this transaction
                item = schedule_with_media(session, merchant_id, account_id=account, text=text, scheduled_at=when, author=author,
                                           files=files, alts=list(alt or []), store=media_store(settings), base_url=settings.public_url,
                                           campaign_id=campaign)
            else:
                item = schedule_text(session, merchant_id, account_id=account, text=text, scheduled_at=when, author=author,
                                     campaign_id=campaign)
            console.print(f"queued post {item.id} for {item.scheduled_at:%Y-%m-%d %H:%M} UTC on {acct.platform} ({item.status.value})")
    except (QueueError, LookupError, ValueError) as exc:
        fail(str(exc))


@social_app.command("queue")
def queue(
    status: Annotated[str | None, typer.Option(help="Only this status (QUEUED, PUBLISHING, PUBLISHED, FAILED, NEEDS_REVIEW).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    merchant: MerchantOption = None,
) -> None:
    """Show the publishing queue with statuses and reasons."""
    from campaigns.social.scheduling import list_queue

    try:
        wanted = QueueStatus(status.upper()) if status else None
    except ValueError:
        fail(f"unknown status {status!r}; use one of {', '.join(s.value for s in QueueStatus)}")
    with _session() as session:
        rows = [
            {"id": i.id, "account_id": i.account_id, "status": i.status.value, "scheduled_at": i.scheduled_at.isoformat(), "attempts": i.attempts,
             "platform_post_id": i.platform_post_id, "reason": i.last_error, "text": i.text}
            for i in list_queue(session, _merchant(merchant), status=wanted)
        ]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("id", "account", "status", "scheduled (UTC)", "attempts", "post id", "reason", "text")
    for r in rows:
        table.add_row(str(r["id"]), str(r["account_id"]), r["status"], r["scheduled_at"][:16], str(r["attempts"]), r["platform_post_id"] or "",
                      (r["reason"] or "")[:60], r["text"][:40])
    console.print(table)


@social_app.command("publish-due")
def publish_due(
    live: Annotated[bool | None, typer.Option("--live/--sandbox", help="Call the platforms, or record to the sandbox outbox (default: CAMPAIGNS_PUBLISH_MODE).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many posts in this run.")] = 50,
) -> None:
    """Publish every approved post that is due (exactly once; what may have posted is reconciled)."""
    from campaigns.social.worker import run_worker

    settings = get_settings()
    use_live = settings.publish_mode == "live" if live is None else live
    report = run_worker(settings, worker_id=f"cli-{os.getpid()}", live=use_live, limit=limit)
    console.print(f"{'live' if use_live else 'sandbox'}: {report.summary()}")
    for outcome in report.outcomes:
        if outcome.reason:
            console.print(f"  post {outcome.item_id}: {outcome.status} - {outcome.reason}")
