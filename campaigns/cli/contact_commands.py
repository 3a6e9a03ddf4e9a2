"""`campaigns contacts ...`: import, list, show, update, delete, export, export-data, erase and import-events.

Each command parses, calls one service of the audiences context in one transaction, and renders.
Bad input exits with code 2 naming the place and the fix; an import with any bad row writes nothing.
"""

from __future__ import annotations

# Start-up cost: the store, the audience services, SQLAlchemy and polars are imported inside the commands that
# use them, so `campaigns --help` and `campaigns contacts --help` do not load them.

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from campaigns.cli.output import console, fail
from campaigns.cli.segment_commands import MerchantOption, _store_and_merchant

contacts_app = typer.Typer(no_args_is_help=True, help="Contacts: import, browse, edit, export; consent and data-protection requests.")

ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]


@contacts_app.command("import")
def import_contacts(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet: email, first_name, last_name, timezone, tags (;-separated), subscribed, "
                                              "consent_source, consented_at (ISO 8601 with zone), attr_<name>.")],
    merchant: MerchantOption = None,
    update_existing: Annotated[bool, typer.Option("--update-existing", help="Update contacts already there (default: leave them as they are).")] = False,
    actor: ActorOption = "cli",
) -> None:
    """Import contacts: all or nothing, every problem named by row and column; suppressed addresses stay suppressed."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sqlalchemy.exc import IntegrityError

    from campaigns.audiences.contact_import import import_contacts as run_import
    from campaigns.core.problems import ImportValidationError
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"{file.name}: reading", total=None)

        def progress(phase: str, done: int, total: int) -> None:
            bar.update(task, description=f"{file.name}: {phase}", completed=done, total=total)

        try:
            with session_scope(url) as session:
                result = run_import(session, merchant_id, file, update_existing=update_existing, actor=actor, progress=progress)
        except ImportValidationError as exc:
            bar.stop()
            fail(str(exc))
        except IntegrityError:
            bar.stop()
            fail(f"{file.name} was not imported; nothing was written: another writer added some of these contacts at the same moment. "
                 "Run the import again: it matches them now")
    console.print(f"{file.name}: {result.rows:,} rows for {merchant_id}: {result.created:,} new, {result.updated:,} updated, "
                  f"{result.unchanged:,} already there" + ("" if update_existing or not result.unchanged else " (add --update-existing to update them)"),
                  highlight=False, soft_wrap=True)
    if result.kept_suppressed:
        console.print(f"{result.kept_suppressed:,} addresses are on the suppression list and stay unsubscribed", highlight=False, soft_wrap=True)


@contacts_app.command("list")
def list_contacts(
    merchant: MerchantOption = None,
    search: Annotated[str, typer.Option("--search", help="Part of an address, a name or a tag.")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
) -> None:
    """Contacts by id, optionally searched."""
    from campaigns.audiences import contacts as service
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    with session_scope(url) as session:
        rows, total = service.list_contacts(session, merchant_id, search, limit, offset)
        table = Table("id", "email", "name", "time zone", "tags", "subscribed", "status", title=f"contacts of {merchant_id}")
        for c in rows:
            table.add_row(str(c.id), c.email, f"{c.first_name} {c.last_name}".strip(), c.timezone, ", ".join(map(str, c.tags or [])),
                          "yes" if c.subscribed else "no", c.status)
    if not total:
        console.print(f"no contacts{' match ' + repr(search) if search else ''}; import some with [bold]campaigns contacts import FILE.csv[/]")
        return
    console.print(table)
    console.print(f"{len(rows):,} of {total:,} shown", highlight=False, soft_wrap=True)


@contacts_app.command("show")
def show(contact: Annotated[str, typer.Argument(help="Contact id or email address.")], merchant: MerchantOption = None) -> None:
    """One contact: fields, tags, custom fields, consent history, suppression, segments and latest events."""
    from campaigns.audiences import contacts as service
    from campaigns.audiences.privacy import segment_memberships
    from campaigns.audiences.suppression import suppressed_emails
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    with session_scope(url) as session:
        try:
            c = service.get_contact(session, merchant_id, contact)
        except LookupError as exc:
            fail(str(exc))
        fields = service.contact_fields(c)
        consents = service.consent_history(session, merchant_id, c.id)
        suppressed = suppressed_emails(session, merchant_id, [c.email]).get(c.email.lower())
        segments = segment_memberships(session, merchant_id, c.id)
        events = service.contact_events(session, merchant_id, c.id, limit=10)
        for name, value in fields.items():
            console.print(f"[bold]{name}[/]: {value}", highlight=False, soft_wrap=True)
        console.print(f"[bold]suppressed[/]: {suppressed.value if suppressed else 'no'}", highlight=False, soft_wrap=True)
        console.print(f"[bold]segments[/]: {', '.join(s['name'] for s in segments) or 'none'}", highlight=False, soft_wrap=True)
        history = Table("when", "consent", "purpose", "source", "wording", title="consent history")
        for r in consents:
            history.add_row(f"{r.occurred_at:%Y-%m-%d %H:%M}", "granted" if r.granted else "withdrawn", r.purpose, r.source, r.wording)
        console.print(history)
        recent = Table("when", "event", "value", title="latest events")
        for e in events:
            recent.add_row(f"{e.occurred_at:%Y-%m-%d %H:%M}", e.kind, "" if e.value is None else str(e.value))
        console.print(recent)


@contacts_app.command("update")
def update(
    contact: Annotated[str, typer.Argument(help="Contact id or email address.")],
    merchant: MerchantOption = None,
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA name, e.g. Europe/Paris.")] = None,
    tags: Annotated[str | None, typer.Option("--tags", help="The whole new list, ;-separated (empty string clears).")] = None,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="name=value sets a custom field, name= removes it (repeatable).")] = None,
    subscribed: Annotated[bool | None, typer.Option("--subscribed/--unsubscribed", help="Consent to marketing email.")] = None,
    consent_source: Annotated[str, typer.Option("--consent-source", help="Where the person agreed (needed with --subscribed).")] = "",
    actor: ActorOption = "cli",
) -> None:
    """Edit a contact; subscribing needs a consent source and is recorded in the consent history."""
    from campaigns.audiences import contacts as service
    from campaigns.core.store.db import session_scope

    attributes: dict[str, str | None] = {}
    for item in attr or []:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            fail(f"--attr {item!r}: write name=value (or name= to remove the field)")
        attributes[name.strip()] = value if value else None
    changes = service.ContactChanges(first_name=first_name, last_name=last_name, timezone=timezone,
                                     tags=None if tags is None else tags.split(";"), attributes=attributes or None, subscribed=subscribed,
                                     consent_source=consent_source)
    url, merchant_id = _store_and_merchant(merchant)
    try:
        with session_scope(url) as session:
            c, changed = service.update_contact(session, merchant_id, contact, changes, actor=actor)
            contact_id = c.id
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    console.print(f"contact {contact_id}: " + (f"changed {', '.join(changed)}" if changed else "nothing to change"), highlight=False, soft_wrap=True)


@contacts_app.command("delete")
def delete(
    contact: Annotated[str, typer.Argument(help="Contact id or email address.")],
    merchant: MerchantOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    actor: ActorOption = "cli",
) -> None:
    """Delete a contact with its events and consent history (the suppression list keeps the address). For a GDPR request use `erase`."""
    from campaigns.audiences import contacts as service
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    if not yes and not typer.confirm(f"delete contact {contact} and its events?"):
        raise typer.Exit(1)
    try:
        with session_scope(url) as session:
            contact_id = service.delete_contact(session, merchant_id, contact, actor=actor)
    except LookupError as exc:
        fail(str(exc))
    console.print(f"deleted contact {contact_id}", highlight=False, soft_wrap=True)


@contacts_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (the import's columns); - for standard output.")] = Path("-"),
    merchant: MerchantOption = None,
) -> None:
    """Every active contact as CSV in the import's columns, so the file can be imported again."""
    from campaigns.audiences import contacts as service
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    with session_scope(url) as session:
        rows = service.export_rows(session, merchant_id)
    header = list(rows[0]) if rows else ["email", "first_name", "last_name", "timezone", "tags", "subscribed", "consent_source", "consented_at"]
    if str(out) == "-":
        _write_csv(sys.stdout, header, rows)
        return
    if out.is_dir():
        fail(f"{out} is a folder; give a file name such as contacts.csv")
    try:
        with out.open("w", newline="", encoding="utf-8") as handle:
            _write_csv(handle, header, rows)
    except OSError as exc:
        fail(f"{out}: cannot be written ({exc.strerror}); choose a writable path")
    console.print(f"wrote {len(rows):,} contacts to {out}", highlight=False, soft_wrap=True)


def _write_csv(handle, header: list[str], rows: list[dict]) -> None:
    writer = csv.DictWriter(handle, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)


@contacts_app.command("export-data")
def export_data(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    merchant: MerchantOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="JSON file to write (default: standard output).")] = None,
    actor: ActorOption = "cli",
) -> None:
    """Everything held about a person, as JSON (a data-access request); audited."""
    from campaigns.audiences import privacy
    from campaigns.audiences.contacts import ContactError
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    try:
        with session_scope(url) as session:
            data = privacy.export_data(session, merchant_id, email, actor=actor)
    except ContactError as exc:
        fail(str(exc))
    text = privacy.to_json(data)
    if out is None:
        sys.stdout.write(text + "\n")
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot be written ({exc.strerror}); choose a writable path")
    console.print(f"wrote what {merchant_id} holds about {data['email']} ({len(data['contacts'])} contact(s)) to {out}", highlight=False, soft_wrap=True)


@contacts_app.command("erase")
def erase(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    merchant: MerchantOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    actor: ActorOption = "cli",
) -> None:
    """Erase a person (GDPR): personal data removed, events anonymised, the address kept only as a salted hash on the suppression list."""
    from campaigns.audiences import privacy
    from campaigns.audiences.contacts import ContactError
    from campaigns.core.store.db import session_scope

    url, merchant_id = _store_and_merchant(merchant)
    if not yes and not typer.confirm(f"erase everything {merchant_id} holds about {email}? This cannot be undone"):
        raise typer.Exit(1)
    try:
        with session_scope(url) as session:
            result = privacy.erase(session, merchant_id, email, actor=actor)
    except (ContactError, privacy.NobodyToErase) as exc:
        fail(str(exc))
    console.print(f"erased: {result.contacts} contact(s), {result.events_anonymised:,} events anonymised, {result.sends_cleared:,} sent emails "
                  f"cleared, {result.values_redacted:,} other mentions redacted; the address is now suppressed as a hash", highlight=False, soft_wrap=True)


@contacts_app.command("import-events")
def import_events(
    file: Annotated[Path, typer.Argument(help="CSV: email or contact_id, kind, occurred_at (with zone), value, event_key, email_campaign_id.")],
    merchant: MerchantOption = None,
) -> None:
    """Import contact events from CSV: all or nothing; re-importing the same events adds nothing."""
    from campaigns.audiences import events as contact_events
    from campaigns.core.problems import ImportValidationError
    from campaigns.core.store.db import session_scope

    if file.is_dir():
        fail(f"{file} is a folder; give a CSV file of events")
    url, merchant_id = _store_and_merchant(merchant)
    try:
        with console.status(f"importing {file.name}"), session_scope(url) as session:
            result = contact_events.import_events_csv(session, merchant_id, file)
    except ImportValidationError as exc:
        fail(str(exc))
    console.print(f"{file.name}: {result.rows:,} rows, {result.added:,} new events for {merchant_id}, "
                  f"{result.already_there:,} already imported", highlight=False, soft_wrap=True)
