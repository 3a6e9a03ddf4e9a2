"""`campaigns automations ...`: create automation workflows from a JSON file, list, show, activate, pause, run due steps.

The flow file format is documented in `campaigns.email.flows`.
"""

from __future__ import annotations

# Start-up cost: the automations (their flows, runner and triggers, and delivery with them), settings, the store
# and Rich's progress bars are imported inside the commands that use them, so `campaigns --help`,
# `campaigns automations --help` and each command load only what they run.

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from campaigns.cli.context import merchant_or_default as _merchant, migrated_store as _store, worker_id as _worker_id
from campaigns.cli.output import console, fail

app = typer.Typer(no_args_is_help=True, help="Automation workflows: triggers and steps run per contact, exactly once.")

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]
IdArgument = Annotated[int, typer.Argument(help="Automation id (see `campaigns automations list`).")]


def expected_errors() -> tuple[type[Exception], ...]:
    """The errors a command reports as a message with exit code 2 (bad input or a state the action does not allow)."""
    from campaigns.content.approvals import NotApprovedError
    from campaigns.core.merchants import UnknownMerchantError

    return (LookupError, ValueError, NotApprovedError, UnknownMerchantError)


@app.command()
def create(
    file: Annotated[Path, typer.Option("--file", help="The flow as JSON: trigger, start, steps (and optionally name).")],
    name: Annotated[str | None, typer.Option("--name", help="Name (default: the file's \"name\").")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Create a DRAFT automation from a flow file (validated; every problem is named by its path)."""
    from campaigns.core import json_input
    from campaigns.core.store.db import session_scope
    from campaigns.email import automations as auto
    from campaigns.email.flows import FlowError

    try:
        definition = json_input.loads(file.read_text(encoding="utf-8"), what=str(file))  # depth and size limits before parsing
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except json_input.JsonInputError as exc:
        fail(str(exc))
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, not UTF-8
        fail(f"{file}: cannot be read ({exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}); save the flow as UTF-8 JSON")
    url = _store()
    try:
        with session_scope(url) as session:
            automation = auto.create_automation(session, _merchant(merchant), definition, actor, name=name)
            automation_id, automation_name = automation.id, automation.name
    except FlowError as exc:
        fail(f"{file} is not a valid flow:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except expected_errors() as exc:
        fail(f"{file}: {exc}")
    console.print(f"created automation {automation_id} {automation_name!r} (DRAFT). Next: [bold]campaigns automations activate {automation_id}[/]")


@app.command("list")
def list_(merchant: MerchantOption = None) -> None:
    """Automations with their status and how many contacts are in them."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import automations as auto

    url = _store()
    merchant_id = _merchant(merchant)
    try:
        with session_scope(url) as session:
            rows = []
            for a in auto.list_automations(session, merchant_id):
                counts = auto.enrollment_counts(session, merchant_id, a.id)
                rows.append((str(a.id), a.name, a.status, a.trigger.get("type", ""), str(counts["ACTIVE"] + counts["WAITING"]),
                             str(counts["COMPLETED"]), str(counts["FAILED"])))
    except expected_errors() as exc:
        fail(str(exc))
    if not rows:
        console.print("no automations yet; create one with `campaigns automations create --file flow.json`")
        return
    table = Table("id", "name", "status", "trigger", "in flow", "completed", "failed", title=f"automations of {merchant_id}")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command()
def show(automation_id: IdArgument, merchant: MerchantOption = None) -> None:
    """The steps in flow order, and per step how many contacts ran it and how many are at it now."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import automations as auto
    from campaigns.email.flows import FlowError, layout

    url = _store()
    merchant_id = _merchant(merchant)
    try:
        with session_scope(url) as session:
            a = auto.get_automation(session, merchant_id, automation_id)
            flow = auto.flow_of(a)
            counts = auto.step_counts(session, merchant_id, a.id)
            totals = auto.enrollment_counts(session, merchant_id, a.id)
            emails = auto.email_campaign_ids(a)
            title = f"automation {a.id} {a.name!r}: {a.status}"
    except (FlowError, *expected_errors()) as exc:
        fail(str(exc))
    nodes, edges = layout(flow)
    exits: dict[str, list[str]] = {}
    for e in edges:
        exits.setdefault(e.source, []).append(f"{e.label + ' ' if e.label else ''}→ {e.target}")
    table = Table("step", "type", "does", "then", "ran", "here now", title=title)
    for node in nodes:
        if node.type == "trigger":
            table.add_row("(trigger)", "trigger", node.label, ", ".join(exits.get(node.id, [])), "", "")
            continue
        does = node.label + (f" (email campaign {emails[node.id]})" if node.id in emails else "")
        c = counts.get(node.id, {"passed": 0, "here": 0})
        table.add_row(node.id, node.type, does, ", ".join(exits.get(node.id, [])) or "end", str(c["passed"]), str(c["here"]))
    console.print(table)
    console.print(", ".join(f"{k.lower()} {v}" for k, v in totals.items()))


def _transition(action: str, automation_id: int, merchant: str | None, actor: str) -> None:
    from campaigns.core.store.db import session_scope
    from campaigns.email import automations as auto

    url = _store()
    try:
        with session_scope(url) as session:
            changer = {"activate": auto.activate, "pause": auto.pause, "archive": auto.archive}[action]
            a = changer(session, _merchant(merchant), automation_id, actor)
            status = a.status
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"automation {automation_id} is {status}")


@app.command()
def activate(automation_id: IdArgument, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Start enrolling contacts (creates the automation's emails the first time; your subject and template count as approved by you)."""
    _transition("activate", automation_id, merchant, actor)


@app.command()
def pause(automation_id: IdArgument, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Stop enrolling and running steps; enrolled contacts wait where they are until it is activated again."""
    _transition("pause", automation_id, merchant, actor)


@app.command()
def archive(automation_id: IdArgument, merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Retire it for good: contacts still in it exit at the next run."""
    _transition("archive", automation_id, merchant, actor)


@app.command("approve-emails")
def approve_emails(automation_id: IdArgument, note: Annotated[str, typer.Option(help="What you checked.")] = "",
                   merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Approve the current subject and body of every email the automation sends (after reviewing them)."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import automations as auto

    url = _store()
    try:
        with session_scope(url) as session:
            ids = auto.approve_emails(session, _merchant(merchant), automation_id, actor, note)
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"approved email campaigns {', '.join(map(str, ids)) or '(none yet: activate first)'}")


@app.command("run-due")
def run_due(
    merchant: Annotated[str | None, typer.Option("--merchant", help="Only this merchant (default: every merchant, like the pipeline).")] = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Also deliver the emails the steps queued.")] = True,
) -> None:
    """Enrol triggered contacts, run every due step once, and send the queued emails (what the Dagster sensor does every minute)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import automation_runner as runner
    from campaigns.email import automation_triggers as triggers

    settings = get_settings()
    url = _store()
    now = datetime.now(UTC)
    worker = _worker_id()
    try:
        enrolled = triggers.enroll_due(url, now, merchant_id=merchant)
        with session_scope(url) as session:
            due = runner.due_count(session, now, merchant)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("running due steps", total=due or None)
            report = runner.run_due(url, now, worker, merchant_id=merchant, limit=max(due, 1),
                                  on_progress=lambda n: progress.advance(task, n))
            progress.update(task, completed=report.claimed, total=max(report.claimed, 1), description="done")
        emails = runner.deliver_automation_emails(url, settings, worker, now, merchant_id=merchant) if send else []
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"{enrolled} enrolled; {report.summary()}")
    for kind, n in sorted(report.steps.items()):
        console.print(f"  {kind}: {n}")
    sent = sum(e.outcomes.get("SENT", 0) for e in emails)
    if send:
        console.print(f"{sent} emails sent")
    for e in emails:
        if e.error:
            console.print(f"[yellow]email campaign {e.email_campaign_id}:[/] {e.error}")
    for error in report.errors[:10]:
        console.print(f"[yellow]{error}[/]")
