"""`campaigns users ...` (add, list, grant, revoke, disable, enable, reset-password, four-eyes) and `campaigns audit ...`.

Passwords are read from a hidden prompt (typed twice) or, with --password-stdin, from the first line of standard
input; never from an argument, which would land in the shell history and the process list. The CLI runs with the
store's own credentials, so it acts as the operator: `--actor` names them in the audit log.
"""

from __future__ import annotations

# Start-up cost: the store and the access services (SQLAlchemy, argon2) are imported inside the commands, so
# `campaigns --help` and `campaigns users --help` load neither.

import getpass
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from campaigns.cli.context import merchant_or_default, migrated_store, read_secret
from campaigns.cli.output import console, fail

users_app = typer.Typer(no_args_is_help=True, help="Users who sign in to the app, and their role on each merchant.")
audit_app = typer.Typer(no_args_is_help=True, help="Read and export a merchant's audit log.")

ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log (default: cli:<your login>).")]
MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
StdinOption = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")]


def _default_actor() -> str:
    return f"cli:{getpass.getuser()}"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return read_secret("password", "-", flag="--password-stdin", strip=False)
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run(work):  # noqa: ANN001, ANN202 - one transaction; domain refusals exit 2 with their message
    from campaigns.access.roles import AccessDenied
    from campaigns.core.store.db import session_scope

    try:
        with session_scope(migrated_store()) as session:
            return work(session)
    except (LookupError, ValueError, AccessDenied) as exc:
        fail(str(exc))


@users_app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="The user's email address (their sign-in name; the identity provider's email claim).")],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    merchant: Annotated[str | None, typer.Option("--merchant", help="Also grant a role on this merchant.")] = None,
    role: Annotated[str, typer.Option("--role", help="Role with --merchant: owner, marketer, approver or viewer.")] = "viewer",
    sso_only: Annotated[bool, typer.Option("--sso-only", help="No local password: the user signs in only through the identity provider.")] = False,
    password_stdin: StdinOption = False,
    actor: ActorOption = "",
) -> None:
    """Add a user (with a local password unless --sso-only), optionally with a role on a merchant."""
    from campaigns.access import users

    password = None if sso_only else _password(password_stdin)

    def work(session):  # noqa: ANN001, ANN202
        user = users.add_user(session, email, actor or _default_actor(), display_name=name, password=password)
        if merchant:
            users.grant(session, user.email, merchant, role, actor or _default_actor())
        return user.email

    added = _run(work)
    console.print(f"Added {added}" + (f" as {role} of {merchant}." if merchant else ". Grant a role with `campaigns users grant`."))


@users_app.command("list")
def list_(merchant: Annotated[str | None, typer.Option("--merchant", help="Only this merchant's members.")] = None) -> None:
    """List users with their roles per merchant."""
    from campaigns.access import users

    rows = _run(lambda session: [(u.email, u.display_name, u.password_hash is not None, u.disabled_at, u.locked_until, m)
                                 for u, m in users.list_users(session, merchant)])
    table = Table("email", "name", "sign-in", "state", "roles")
    now = datetime.now(UTC)
    for email, name, local, disabled, locked, memberships in rows:
        state = "disabled" if disabled else ("locked" if locked and locked > now else "active")
        table.add_row(email, name, "password" if local else "identity provider", state,
                      ", ".join(f"{m.merchant_id}: {m.role.value}" for m in memberships) or "none")
    console.print(table if rows else "No users yet: add one with `campaigns users add EMAIL --merchant M --role owner`.")


@users_app.command("grant")
def grant(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    role: Annotated[str, typer.Argument(help="owner, marketer, approver or viewer.")],
    merchant: MerchantOption = None,
    actor: ActorOption = "",
) -> None:
    """Give a user a role on a merchant (replacing the role they had there)."""
    from campaigns.access import users

    merchant_id = merchant_or_default(merchant)
    _run(lambda session: users.grant(session, email, merchant_id, role, actor or _default_actor()))
    console.print(f"{email.strip().lower()} is now {role.strip().lower()} of {merchant_id}.")


@users_app.command("revoke")
def revoke(email: Annotated[str, typer.Argument(help="The user's email.")], merchant: MerchantOption = None, actor: ActorOption = "") -> None:
    """Remove a user's role on a merchant."""
    from campaigns.access import users

    merchant_id = merchant_or_default(merchant)
    _run(lambda session: users.revoke(session, email, merchant_id, actor or _default_actor()))
    console.print(f"{email.strip().lower()} no longer has a role on {merchant_id}.")


@users_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="The user's email.")], actor: ActorOption = "") -> None:
    """Stop a user signing in and end their sessions (their memberships stay for the record)."""
    from campaigns.access import users

    _run(lambda session: users.disable_user(session, email, actor or _default_actor()))
    console.print(f"Disabled {email.strip().lower()}; their sessions have ended.")


@users_app.command("enable")
def enable(email: Annotated[str, typer.Argument(help="The user's email.")], actor: ActorOption = "") -> None:
    """Let a disabled user sign in again."""
    from campaigns.access import users

    _run(lambda session: users.enable_user(session, email, actor or _default_actor()))
    console.print(f"Enabled {email.strip().lower()}.")


@users_app.command("reset-password")
def reset_password(email: Annotated[str, typer.Argument(help="The user's email.")], password_stdin: StdinOption = False,
                   actor: ActorOption = "") -> None:
    """Set a new local password; clears a lockout and ends the user's sessions."""
    from campaigns.access import users

    password = _password(password_stdin)
    _run(lambda session: users.reset_password(session, email, password, actor or _default_actor()))
    console.print(f"New password set for {email.strip().lower()}; their sessions have ended.")


@users_app.command("four-eyes")
def four_eyes(state: Annotated[str, typer.Argument(help="on or off.")], merchant: MerchantOption = None, actor: ActorOption = "") -> None:
    """Turn the four-eyes rule on or off: with it on, nobody approves content they wrote or edited."""
    from campaigns.access import users

    if state not in ("on", "off"):
        fail(f"four-eyes takes on or off, not {state!r}")
    merchant_id = merchant_or_default(merchant)
    _run(lambda session: users.set_four_eyes(session, merchant_id, state == "on", actor or _default_actor()))
    console.print(f"Four-eyes rule {state} for {merchant_id}.")


def _filter(actor: str | None, action: str | None, entity: str | None, since: datetime | None, until: datetime | None, limit: int):  # noqa: ANN202
    from campaigns.core.audit import AuditFilter

    def utc(day: datetime | None, shift: timedelta = timedelta()) -> datetime | None:
        return None if day is None else datetime.combine(day.date() + shift, time(), UTC)

    return AuditFilter(actor=actor, action=action, entity_id=entity, since=utc(since), until=utc(until, timedelta(days=1)), limit=limit)


FilterActor = Annotated[str | None, typer.Option("--actor", help="Only entries by this actor (an email, cli:..., leo, ava, system).")]
FilterAction = Annotated[str | None, typer.Option("--action", help="An action (content.approve) or a prefix ending in a dot (content.).")]
FilterEntity = Annotated[str | None, typer.Option("--entity", help="Only entries about this entity id (a campaign id, a content id).")]
Since = Annotated[datetime | None, typer.Option("--since", formats=["%Y-%m-%d"], help="From this day (UTC), e.g. 2026-03-01.")]
Until = Annotated[datetime | None, typer.Option("--until", formats=["%Y-%m-%d"], help="Up to and including this day (UTC).")]
Limit = Annotated[int, typer.Option("--limit", min=1, help="At most this many entries, newest first.")]


@audit_app.command("list")
def audit_list(merchant: MerchantOption = None, actor: FilterActor = None, action: FilterAction = None, entity: FilterEntity = None,
               since: Since = None, until: Until = None, limit: Limit = 50) -> None:
    """Show a merchant's audit entries, newest first."""
    from campaigns.core.audit import search
    from campaigns.core.merchants import require_merchant

    merchant_id = merchant_or_default(merchant)
    where = _filter(actor, action, entity, since, until, limit)

    def work(session):  # noqa: ANN001, ANN202
        require_merchant(session, merchant_id)
        return [(e.created_at, e.actor, e.action, f"{e.entity_type} {e.entity_id}") for e in search(session, merchant_id, where)]

    rows = _run(work)
    table = Table("when (UTC)", "actor", "action", "entity")
    for when, who, what, entity_ in rows:
        table.add_row(f"{when:%Y-%m-%d %H:%M:%S}", who, what, entity_)
    console.print(table if rows else "No audit entries match.")


@audit_app.command("export")
def audit_export(out: Annotated[Path | None, typer.Option("--out", help="CSV file to write (default: standard output).")] = None,
                 merchant: MerchantOption = None, actor: FilterActor = None, action: FilterAction = None, entity: FilterEntity = None,
                 since: Since = None, until: Until = None, limit: Limit = 100_000) -> None:
    """Export a merchant's audit entries as CSV (details as JSON)."""
    from campaigns.core.audit import search, to_csv
    from campaigns.core.merchants import require_merchant

    merchant_id = merchant_or_default(merchant)
    where = _filter(actor, action, entity, since, until, limit)

    def work(session):  # noqa: ANN001, ANN202
        require_merchant(session, merchant_id)
        return to_csv(search(session, merchant_id, where))

    text = _run(work)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot be written ({exc.strerror}); give a path in a folder you can write to")
    console.print(f"Wrote {text.count(chr(10)) - 1} entries to {out}.")
