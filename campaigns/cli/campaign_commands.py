"""`campaigns campaigns ...` and `campaigns merchants ...`: the campaign API from the shell."""

from __future__ import annotations

# Start-up cost: the store, the campaign service and SQLAlchemy with them are imported inside the commands that
# use them, so `campaigns --help`, `campaigns campaigns --help` and `campaigns merchants --help` do not load them.

import json
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from campaigns.cli.output import EXIT_UNDELIVERED, console, fail
from campaigns.cli.context import merchant_or_default as _merchant
from campaigns.core.enums import CampaignStatus, CampaignType
from campaigns.lifecycle.states import ACTIONS, TransitionError
from campaigns.core.settings import get_settings

app = typer.Typer(no_args_is_help=True)
merchants_app = typer.Typer(no_args_is_help=True)

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]


def _session():
    from campaigns.core.store.db import migrate, session_scope

    settings = get_settings()
    migrate(settings.store_url)
    return session_scope(settings.store_url)


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors())


@app.command("list")
def list_(
    merchant: MerchantOption = None,
    status: Annotated[CampaignStatus | None, typer.Option(help="Only this status.")] = None,
    search: Annotated[str | None, typer.Option(help="Name contains this text.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a merchant's campaigns."""
    from campaigns.core.merchants import UnknownMerchantError, require_merchant
    from campaigns.lifecycle import service

    with _session() as session:
        try:
            merchant_id = require_merchant(session, _merchant(merchant)).id  # refused like every other command's
        except UnknownMerchantError as exc:
            fail(str(exc))
        rows = service.list_campaigns(session, merchant_id, status=status, search=search)
        data = [
            {"id": c.id, "name": c.name, "type": str(c.type), "status": str(c.status), "channels": c.channels,
             "budget": float(c.budget) if c.budget is not None else None,
             "start_date": c.start_date.isoformat() if c.start_date else None, "end_date": c.end_date.isoformat() if c.end_date else None}
            for c in rows
        ]
    if as_json:
        console.print_json(json.dumps(data))
        return
    table = Table("id", "name", "type", "status", "channels", "budget", "start", "end")
    for c in data:
        table.add_row(c["id"], c["name"], c["type"], c["status"], ", ".join(c["channels"]), f"{c['budget']:,.0f}" if c["budget"] else "-",
                      (c["start_date"] or "-")[:10], (c["end_date"] or "-")[:10])
    console.print(table)


@app.command()
def create(
    name: Annotated[str, typer.Option(help="Campaign name, unique per merchant.")],
    type: Annotated[CampaignType, typer.Option("--type", help="Goal type.")],
    channels: Annotated[str, typer.Option(help="Comma-separated, e.g. email,x,google_ads.")] = "",
    budget: Annotated[float | None, typer.Option(help="Total budget.")] = None,
    start: Annotated[str | None, typer.Option(help="Start, ISO-8601 with zone (e.g. 2026-12-01T00:00:00Z).")] = None,
    end: Annotated[str | None, typer.Option(help="End, ISO-8601 with zone.")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Create a DRAFT campaign."""
    from campaigns.core.merchants import UnknownMerchantError
    from campaigns.lifecycle import service

    try:
        data = service.CampaignInput(
            name=name, type=type, channels=[c for c in channels.split(",") if c.strip()], budget=budget,
            start_date=_when(start, "--start"), end_date=_when(end, "--end"),
        )
        with _session() as session:
            campaign = service.create_campaign(session, _merchant(merchant), data, actor)
            console.print(f"created {campaign.id} ({campaign.name}) as DRAFT")
    except ValidationError as exc:
        fail(_validation_message(exc))
    except (ValueError, UnknownMerchantError) as exc:
        fail(str(exc))


def _when(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not ISO-8601; use e.g. 2026-12-01T00:00:00Z")
    if parsed.tzinfo is None:
        fail(f"{flag} {value!r} has no time zone; add one, e.g. {value}Z for UTC")
    return parsed


def _change(action: str, campaign_id: str, merchant: str | None, actor: str, reschedule_to: datetime | None = None) -> None:
    from campaigns.workflows.campaign_status import change_status

    try:
        with _session() as session:
            change = change_status(session, _merchant(merchant), campaign_id, action, actor, reschedule_to=reschedule_to)
    except (TransitionError, LookupError) as exc:
        fail(str(exc))
    console.print(change.summary(), highlight=False)


def _transition(action: str):
    def command(
        campaign_id: Annotated[str, typer.Argument(help="Campaign id (cmp_...).")],
        merchant: MerchantOption = None,
        actor: ActorOption = "cli",
    ) -> None:
        _change(action, campaign_id, merchant, actor)

    command.__doc__ = f"{action.capitalize()} a campaign (refused with the reason when not allowed); says what happened to its queued items."
    return command


for _action in ACTIONS:
    if _action != "resume":
        app.command(_action)(_transition(_action))


@app.command()
def resume(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (cmp_...).")],
    reschedule_to: Annotated[str | None, typer.Option("--reschedule-to", help="Send what missed its moment while paused at this ISO-8601 "
                                                      "time instead of dropping it (e.g. 2026-12-03T09:00:00+01:00).")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Resume a PAUSED campaign: held items still in their window go out; those whose moment passed are reported (or rescheduled)."""
    _change("resume", campaign_id, merchant, actor, _when(reschedule_to, "--reschedule-to"))


@app.command()
def tick(
    at: Annotated[str | None, typer.Option("--at", help="Act as of this ISO-8601 instant (default: now).")] = None,
    merchant: Annotated[str | None, typer.Option("--merchant", help="Only this merchant (default: every merchant).")] = None,
) -> None:
    """Activate SCHEDULED campaigns whose start has come and complete ACTIVE ones whose end has (for cron; the Dagster sensor does the same)."""
    from campaigns.core.store.db import migrate
    from campaigns.workflows.campaign_status import tick as run_tick

    url = get_settings().store_url
    migrate(url)
    report = run_tick(url, _when(at, "--at"), merchant_id=merchant)
    for change in report.changed:
        console.print(change.line(), highlight=False)
    if not report.changed:
        console.print("no campaign starts or ends now")
    for campaign_id, reason in report.refused.items():
        console.print(f"[yellow]{campaign_id} could not start:[/] {reason}", highlight=False)
    if report.refused:
        raise typer.Exit(EXIT_UNDELIVERED)


@app.command()
def show(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (cmp_...).")],
    merchant: MerchantOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One campaign: its fields, what it allows now, and its queued items (held while it is paused)."""
    from campaigns.core import queue
    from campaigns.lifecycle import service
    from campaigns.lifecycle.states import allowed_actions
    from campaigns.workflows.campaign_status import waiting_items

    try:
        with _session() as session:
            merchant_id = _merchant(merchant)
            c = service.get_campaign(session, merchant_id, campaign_id)
            held = queue.is_held(session, c.id)
            data = {"id": c.id, "name": c.name, "type": str(c.type), "status": str(c.status), "description": c.description, "channels": c.channels,
                    "budget": float(c.budget) if c.budget is not None else None,
                    "start_date": c.start_date.isoformat() if c.start_date else None, "end_date": c.end_date.isoformat() if c.end_date else None,
                    "goals": c.goals, "allowed_actions": allowed_actions(service.facts_of(c)),
                    "queued": [{"channel": i.channel, "id": i.id, "due_at": i.due_at.isoformat() if i.due_at else None, "label": i.label,
                                "held": held} for i in waiting_items(session, merchant_id, c.id)]}
    except LookupError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(json.dumps(data, default=str))
        return
    for key in ("id", "name", "type", "status", "channels", "budget", "start_date", "end_date"):
        console.print(f"{key}: {data[key]}", highlight=False)
    console.print(f"allowed now: {', '.join(data['allowed_actions']) or 'nothing (final)'}", highlight=False)
    table = Table("channel", "id", "due (UTC)", "item", "state", title="queued items")
    for item in data["queued"]:
        table.add_row(item["channel"], str(item["id"]), (item["due_at"] or "when reached")[:16], item["label"], queue.HELD if item["held"] else "waiting")
    console.print(table)


@app.command()
def update(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (cmp_...).")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    type: Annotated[CampaignType | None, typer.Option("--type", help="Goal type (DRAFT or SCHEDULED only).")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    channels: Annotated[str | None, typer.Option(help="Comma-separated channels, replacing the current ones.")] = None,
    budget: Annotated[float | None, typer.Option(help="New total budget.")] = None,
    start: Annotated[str | None, typer.Option(help="New start, ISO-8601 with zone (not once it has started).")] = None,
    end: Annotated[str | None, typer.Option(help="New end, ISO-8601 with zone.")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Change a campaign's fields; each status allows some (refused with the reason for the others)."""
    from campaigns.lifecycle import service

    given = {"name": name, "type": type, "description": description, "budget": budget,
             "channels": None if channels is None else [c for c in channels.split(",") if c.strip()],
             "start_date": _when(start, "--start"), "end_date": _when(end, "--end")}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        fail("nothing to change; give at least one of --name, --type, --description, --channels, --budget, --start, --end")
    try:
        changes = service.CampaignUpdate(**given)
        with _session() as session:
            c = service.update_campaign(session, _merchant(merchant), campaign_id, changes, actor)
            console.print(f"updated {c.id}: {', '.join(sorted(given))}", highlight=False)
    except ValidationError as exc:
        fail(_validation_message(exc))
    except (ValueError, LookupError) as exc:
        fail(str(exc))


@app.command()
def duplicate(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (cmp_...).")],
    name: Annotated[str | None, typer.Option(help="The copy's name (default: \"<name> (copy)\").")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Copy a campaign (any status) as a new DRAFT without dates or queued items."""
    from campaigns.lifecycle import service

    try:
        with _session() as session:
            copy = service.duplicate_campaign(session, _merchant(merchant), campaign_id, actor, name=name)
            console.print(f"created {copy.id} ({copy.name}) as DRAFT; set its dates with "
                          f"`campaigns campaigns update {copy.id} --start ISO --end ISO`", highlight=False)
    except (ValueError, LookupError) as exc:
        fail(str(exc))


@app.command()
def delete(campaign_id: str, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Delete a DRAFT campaign."""
    from campaigns.lifecycle import service

    try:
        with _session() as session:
            service.delete_campaign(session, _merchant(merchant), campaign_id, actor)
        console.print(f"deleted {campaign_id}")
    except (TransitionError, LookupError) as exc:
        fail(str(exc))


@merchants_app.command("add")
def merchants_add(
    merchant_id: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone, e.g. Europe/Berlin (default UTC for a new merchant).")] = None,
) -> None:
    """Add a merchant (tenant); on an existing one, --name and --timezone update it and the change is shown."""
    from campaigns.core.merchants import add_or_update_merchant

    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            fail(f"unknown time zone {timezone!r}; use an IANA name such as Europe/Berlin")
    with _session() as session:
        change = add_or_update_merchant(session, merchant_id, name, timezone, actor="cli")
        current = f"name {change.merchant.name!r}, time zone {change.merchant.timezone}"
    if change.created:
        console.print(f"merchant {merchant_id} is ready ({current})")
    elif change.changed:
        what = "; ".join(f"{attr} {old!r} -> {new!r}" for attr, (old, new) in change.changed.items())
        console.print(f"merchant {merchant_id} already exists; updated {what}")
    else:
        console.print(f"merchant {merchant_id} already exists; nothing changed ({current}); give --name or --timezone to change it")


@merchants_app.command("list")
def merchants_list() -> None:
    """List merchants."""
    from campaigns.core.merchants import list_merchants

    with _session() as session:
        for m in list_merchants(session):
            console.print(f"{m.id}\t{m.name}\t{m.timezone}")


@merchants_app.command("brand-voice")
def merchants_brand_voice(
    merchant_id: str,
    avoid: Annotated[str | None, typer.Option(help="Words or phrases Leo never uses, comma-separated (an empty string clears them).")] = None,
    emoji: Annotated[bool | None, typer.Option("--emoji/--no-emoji", help="Allow emoji in Leo's copy (default: off).")] = None,
    hashtags: Annotated[int | None, typer.Option(help="At most this many hashtags per social post (0-30); -1 for the format's default.")] = None,
    sign_off: Annotated[str | None, typer.Option(help="A closing line added to every social post and email (an empty string removes it).")] = None,
    description: Annotated[str | None, typer.Option(help="How the brand sounds, in a few sentences (given to the model).")] = None,
    actor: ActorOption = "cli",
) -> None:
    """Show or set a merchant's brand voice, which Leo applies offline and with a model."""
    from campaigns.core.merchants import BrandVoiceError, UnknownMerchantError, get_brand_voice, set_brand_voice

    changes = (avoid, emoji, hashtags, sign_off, description)
    try:
        with _session() as session:
            if all(c is None for c in changes):
                voice = get_brand_voice(session, merchant_id)
            else:
                voice = set_brand_voice(
                    session, merchant_id, actor=actor, description=description, emoji=emoji, sign_off=sign_off,
                    words_to_avoid=[w for w in avoid.split(",")] if avoid is not None else None,
                    hashtag_count=hashtags if hashtags is not None and hashtags >= 0 else None, clear_hashtag_count=hashtags == -1,
                )
            data = {"merchant": merchant_id, "words_to_avoid": list(voice.words_to_avoid) if voice else [],
                    "emoji": bool(voice.emoji) if voice else False, "hashtag_count": voice.hashtag_count if voice else None,
                    "sign_off": voice.sign_off if voice else "", "description": voice.description if voice else ""}
    except (BrandVoiceError, UnknownMerchantError) as exc:
        fail(str(exc).replace("[", "\\["))
    console.print_json(json.dumps(data))
