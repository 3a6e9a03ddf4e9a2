"""`campaigns segments ...` (preview, save, list); the contact commands use its store helper (campaigns.cli.contact_commands).

Rules files hold the JSON rule language of `campaigns.audiences.segments`; a bad file or rule
exits with code 2 and names the file and the path inside the rule (``rules.all[1].days``).
"""

from __future__ import annotations

# Start-up cost: the store, the audience services and SQLAlchemy and polars with them are imported inside the
# commands that use them, so `campaigns --help` and `campaigns segments --help` do not load them.

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from campaigns.cli.output import console, fail
from campaigns.core.settings import get_settings

segments_app = typer.Typer(no_args_is_help=True, help="Preview, save and list audience segments.")

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
RulesOption = Annotated[Path, typer.Option("--rules", help='A JSON rules file, e.g. {"all": [{"event": "opened", "op": "within_days", "days": 30}]}.')]


def _store_and_merchant(merchant: str | None) -> tuple[str, str]:
    from campaigns.core.merchants import UnknownMerchantError, require_merchant
    from campaigns.core.store.db import migrate, session_scope

    settings = get_settings()
    migrate(settings.store_url)
    merchant_id = merchant or settings.default_merchant
    try:
        with session_scope(settings.store_url) as session:
            require_merchant(session, merchant_id)
    except UnknownMerchantError as exc:
        fail(str(exc))
    return settings.store_url, merchant_id


def read_rules(path: Path) -> dict[str, Any]:
    """The rules in `path`, validated; exits 2 naming the file and the rule path on any problem."""
    from campaigns.audiences import segments as sg
    from campaigns.core import json_input

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: file not found; give the path of a JSON rules file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot be read ({exc}); save it as UTF-8 JSON")
    try:
        rules = json_input.loads(text or "{}", what=path.name)  # depth and size limits before parsing
    except json_input.JsonInputError as exc:
        fail(str(exc))
    try:
        sg.validate_rules(rules)
    except sg.RuleError as exc:
        fail(f"{path.name}: {exc}")
    return rules


@segments_app.command()
def preview(
    rules: RulesOption,
    merchant: MerchantOption = None,
    sample: Annotated[int, typer.Option("--sample", min=0, max=500, help="How many matching contacts to list.")] = 10,
) -> None:
    """How many contacts match the rules now, who they are in words, and a sample of them."""
    from campaigns.audiences import segments as sg
    from campaigns.core.store.db import session_scope
    from campaigns.core.store.types import utcnow

    parsed = read_rules(rules)
    url, merchant_id = _store_and_merchant(merchant)
    now = utcnow()
    with session_scope(url) as session:
        total = sg.count_contacts(session, merchant_id, parsed, now=now)
        subscribed = sg.count_contacts(session, merchant_id, parsed, now=now, subscribed_only=True)
        people = sg.sample_contacts(session, merchant_id, parsed, limit=sample, now=now) if sample else []
        scores = sg.contact_rfm(session, merchant_id, [c.id for c in people], now=now)
    console.print(f"Who: {sg.describe(parsed)}", highlight=False)
    console.print(f"[bold]{total:,}[/] contacts of {merchant_id} match ({subscribed:,} subscribed to email), as of {now:%Y-%m-%d %H:%M} UTC")
    if people:
        table = Table("id", "email", "name", "time zone", "tags", "subscribed", "RFM", title=f"first {len(people)} by id")
        for c in people:
            r = scores.get(c.id)
            table.add_row(str(c.id), c.email, f"{c.first_name} {c.last_name}".strip(), c.timezone, ", ".join(map(str, c.tags or [])),
                          "yes" if c.subscribed else "no", f"{r[3]} ({r[0]}{r[1]}{r[2]})" if r else "-")
        console.print(table)
    console.print("Membership is taken again at send time; save it with [bold]campaigns segments save[/]")


@segments_app.command()
def save(
    name: Annotated[str, typer.Option("--name", help="Segment name; an existing segment with this name gets the new rules.")],
    rules: RulesOption,
    merchant: MerchantOption = None,
    actor: Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")] = "cli",
) -> None:
    """Save (or replace by name) a segment for email campaigns to target."""
    from campaigns.audiences import segments as sg
    from campaigns.core.store.db import session_scope

    parsed = read_rules(rules)
    url, merchant_id = _store_and_merchant(merchant)
    try:
        with session_scope(url) as session:
            segment = sg.save_segment(session, merchant_id, name, parsed, actor)
            size = sg.count_contacts(session, merchant_id, parsed)
            segment_id = segment.id
    except ValueError as exc:
        fail(str(exc))
    console.print(f"saved segment {segment_id} “{name.strip()}”: {sg.describe(parsed)} ({size:,} contacts now)", highlight=False)
    console.print(f"Next: [bold]campaigns email create --segment {segment_id}[/] ...")


@segments_app.command("list")
def list_segments(merchant: MerchantOption = None) -> None:
    """Saved segments with their size now."""
    from campaigns.audiences import segments as sg
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    table = Table("id", "name", "who", "contacts", title=f"segments of {merchant_id}")
    with session_scope(url) as session:
        segments = sg.list_segments(session, merchant_id)
        for segment in segments:
            try:
                size, who = f"{sg.count_contacts(session, merchant_id, segment.rules):,}", sg.describe(segment.rules)
            except sg.RuleError as exc:
                size, who = "-", f"invalid rule: {exc}; save it again with campaigns segments save"
            table.add_row(str(segment.id), segment.name, who, size)
    if not segments:
        console.print(f"{merchant_id} has no segments yet; preview one with [bold]campaigns segments preview --rules FILE.json[/]")
        return
    console.print(table)
