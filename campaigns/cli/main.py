"""`campaigns`: demo data, imports, builds, status and campaign management from the shell."""

from __future__ import annotations

# Start-up cost: the command groups load lazily (LazyGroup below), and the commands defined here import settings,
# the store, the warehouse, Dagster and Rich's progress bars inside their functions, so `campaigns --help` and
# every command load only what they run.

import importlib
import sys
import traceback
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from campaigns.cli.output import EXIT_INTERNAL, EXIT_INVALID, SafeConsole, console, err_console, fail

if TYPE_CHECKING:
    from rich.progress import Progress


@dataclass(frozen=True)
class Lazy:
    """A command or command group defined in another module, loaded only when it runs or shows its own help."""

    target: str  # "module:attribute": a command function, or a Typer app for a group
    help: str  # the one line `campaigns --help` shows; the loaded command's first help paragraph says the same
    group: bool = False


# Listed in this order by `campaigns --help`: these commands, then the ones defined below, then the groups.
LAZY_COMMANDS = {
    "status": Lazy("campaigns.cli.status_command:status", "Show materializations, warehouse row counts and the last run."),
    "repurpose": Lazy("campaigns.cli.agent_commands:repurpose", "Repurpose a blog post into posts, threads, captions, emails and ads (drafts to approve)."),
    "repurpose-report": Lazy("campaigns.cli.agent_commands:repurpose_report", "Repurpose every post in a folder and report each quality check per post."),
    "plan": Lazy("campaigns.cli.agent_commands:plan", "Plan a campaign: channels, budget split to the cent, content, schedule, contingencies, prediction."),
    "approve": Lazy("campaigns.cli.agent_commands:approve", "Approve content exactly as it is now; any later edit needs a new approval."),
    "optimize": Lazy("campaigns.cli.optimize_commands:optimize", "Allocate a budget across channels to the provable optimum of their response curves."),
    "api": Lazy("campaigns.cli.api_commands:api", "Serve the REST API under /marketing (with /docs and /openapi.json) and the public endpoints, until interrupted."),
    "rebalance": Lazy("campaigns.cli.budget_commands:rebalance",
                      "Recommend (and with --apply, write) the revenue-optimal split of a campaign's budget across its channels."),
}
LAZY_GROUPS = {
    "campaigns": Lazy("campaigns.cli.campaign_commands:app", "Create, list, launch and pause campaigns.", group=True),
    "merchants": Lazy("campaigns.cli.campaign_commands:merchants_app", "Merchants (tenants).", group=True),
    "export": Lazy("campaigns.cli.export_commands:app", "Export attribution and ROI tables as CSV.", group=True),
    "accounts": Lazy("campaigns.cli.social_commands:accounts_app", "Connect social accounts.", group=True),
    "social": Lazy("campaigns.cli.social_commands:social_app", "Schedule, list and publish social posts.", group=True),
    "keys": Lazy("campaigns.cli.connect_commands:keys_app", "The key that encrypts platform tokens: generate a new one, rotate to it.", group=True),
    "email": Lazy("campaigns.cli.email_commands:app", "Create and send email campaigns; unsubscribe and suppress addresses.", group=True),
    "workflow": Lazy("campaigns.cli.agent_commands:workflow_app", "Run and steer campaign workflows.", group=True),
    "automations": Lazy("campaigns.cli.automation_commands:app",
                        "Automation workflows: create from a flow file, activate, pause, run due steps.", group=True),
    "segments": Lazy("campaigns.cli.segment_commands:segments_app",
                     "Preview, save and list audience segments (rules on fields, tags, events, RFM).", group=True),
    "webhooks": Lazy("campaigns.cli.webhook_commands:app",
                     "Outbound webhooks: subscribe URLs to events, rotate secrets, delivery log and replay.", group=True),
    "content": Lazy("campaigns.cli.content_commands:app", "Approved drafts onto the channels: queue social posts, make email campaigns, export ads copy for the ad platforms.", group=True),
    "api-keys": Lazy("campaigns.cli.api_commands:keys_app", "Per-merchant API keys: create (shown once), list, revoke.", group=True),
    "contacts": Lazy("campaigns.cli.contact_commands:contacts_app", "Contacts: import, browse, edit, export; consent, data export and erasure.", group=True),
    "users": Lazy("campaigns.cli.access_commands:users_app", "Users who sign in to the app, and their role on each merchant.", group=True),
    "audit": Lazy("campaigns.cli.access_commands:audit_app", "Read and export a merchant's audit log.", group=True),
}


class _Unloaded(TyperCommand):
    """Stands in for a lazy command in listings (help, shell completion) without importing its module."""

    def __init__(self, name: str, lazy: Lazy) -> None:
        super().__init__(name, help=lazy.help, short_help=lazy.help)
        self.lazy = lazy

    def load(self) -> TyperCommand | TyperGroup:
        module, attribute = self.lazy.target.split(":")
        obj = getattr(importlib.import_module(module), attribute)
        # Built exactly as `app.add_typer(obj, name=..., help=...)` / `app.command(name)(obj)` would build it.
        holder = typer.Typer()
        if self.lazy.group:
            holder.add_typer(obj, name=self.name, help=self.lazy.help)
        else:
            holder.command(self.name)(obj)
        return typer.main.get_group(holder).commands[self.name]


# Recent Typer ships its own copy of Click (typer._click); older ones use the click package. Either way its usage
# errors, --help exits and aborts are let through to Typer, which reports them itself.
try:
    from typer import _click as _click_impl
except ImportError:  # pragma: no cover - older Typer
    import click as _click_impl  # type: ignore[no-redef]
_CLI_EXITS: tuple[type[BaseException], ...] = (
    typer.Exit, typer.Abort, _click_impl.ClickException,
    *(getattr(_click_impl.exceptions, name) for name in ("Exit", "Abort") if hasattr(_click_impl.exceptions, name)),
)


class LazyGroup(TyperGroup):
    """The top-level group: imports a command's module only when that command is resolved (run, or its help shown).

    Listing the commands (`campaigns --help`, shell completion) shows the registry's help lines instead,
    so starting the CLI costs Typer and Rich, not SQLAlchemy, polars, scipy or Dagster.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        defined_here = dict(self.commands)
        self.commands = {
            **{name: _Unloaded(name, lazy) for name, lazy in LAZY_COMMANDS.items()},
            **defined_here,
            **{name: _Unloaded(name, lazy) for name, lazy in LAZY_GROUPS.items()},
        }
        self._listing = False

    def get_command(self, ctx, cmd_name: str):
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, _Unloaded) and not self._listing:
            command = self.commands[cmd_name] = command.load()
        return command

    def invoke(self, ctx):
        """Runs the command under the one top-level error handler (`handle_error`)."""
        try:
            return super().invoke(ctx)
        except _CLI_EXITS:  # usage errors, --help, Ctrl-C and `fail`: Click and Typer report these themselves
            raise
        except Exception as exc:  # noqa: BLE001 - the one place every command's unexpected errors end
            raise typer.Exit(handle_error(exc, debug=bool(ctx.meta.get(DEBUG_KEY)))) from None

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def shell_complete(self, ctx, incomplete: str):
        self._listing = True
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup, help="Campaign Orchestrator: plan, publish and measure marketing campaigns.", no_args_is_help=True, pretty_exceptions_enable=False,
)

DEBUG_KEY = "campaigns.debug"
DEBUG_HINT = "rerun with `campaigns --debug ...` (or CAMPAIGNS_DEBUG=1) to see the traceback"


def expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean bad input or a state the action does not allow: a message and exit 2, never a traceback.

    ValueError covers the contexts' own errors (rules, problems, imports, pydantic validation, JSON limits,
    merchant ids) and LookupError the unknown ones (merchants, campaigns, templates); RuntimeError
    subclasses are listed one by one, because a bare RuntimeError is a bug.
    """
    from campaigns.audiences.suppression import MissingUnsubscribeKeyError
    from campaigns.core.crypto import TokenKeyError

    return (ValueError, LookupError, TokenKeyError, MissingUnsubscribeKeyError)


def handle_error(exc: BaseException, *, debug: bool) -> int:
    """Print one clear line for `exc` (the traceback too with --debug); returns the exit code."""
    if debug:
        err_console.print(Text("".join(traceback.format_exception(exc)).rstrip()), highlight=False, soft_wrap=True)
    if isinstance(exc, RecursionError):
        message, code = "the input is nested too deeply to read; flatten it (JSON inputs allow at most 64 levels)", EXIT_INVALID
    elif isinstance(exc, MemoryError):
        message, code = "the input is too large to process; split it into smaller files", EXIT_INVALID
    elif isinstance(exc, OSError) and exc.filename is not None:
        message, code = f"{exc.filename}: {exc.strerror or exc}; check the path and its permissions", EXIT_INVALID
    elif isinstance(exc, expected_errors()):
        message, code = str(exc).strip() or type(exc).__name__, EXIT_INVALID
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = f"internal error: {type(exc).__name__}{': ' + first[:300] if first else ''}"
        if not debug:
            message += f"; {DEBUG_HINT}"
        code = EXIT_INTERNAL
    err_console.print(Text.assemble(Text("error:", style="bold red"), " ", message), highlight=False, soft_wrap=True)
    return code


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", envvar="CAMPAIGNS_DEBUG", help="Print the full traceback of an error.")] = False,
) -> None:
    """Campaign Orchestrator: plan, publish and measure marketing campaigns."""
    from campaigns.core.private import restrict_umask

    ctx.meta[DEBUG_KEY] = debug
    # What the commands create under CAMPAIGNS_HOME (and what `serve`'s children create) is owner-only.
    restrict_umask()


class ImportKind(StrEnum):
    touchpoints = "touchpoints"
    conversions = "conversions"
    spend = "spend"


class Scale(StrEnum):
    demo = "demo"
    bench = "bench"
    large = "large"


def _progress() -> Progress:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # Bound to the real stdout, so it keeps drawing while a build redirects library output to a log.
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
        console=SafeConsole(file=sys.stdout),
    )


@app.command("demo-data")
def demo_data(
    scale: Annotated[Scale, typer.Option(help="demo: ~20 campaigns, ~140k touchpoints; bench: ~1M users, ~5M touchpoints; "
                                              "large: ~10M users, ~50M touchpoints, drawn and written in chunks (minutes; about 400 MB of landing files).")] = Scale.demo,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and --as-of give the same data.")] = 7,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last day of the 90-day history (YYYY-MM-DD); default today (UTC).")] = None,
) -> None:
    """Generate the deterministic demo merchant into the store and the landing zone."""
    from campaigns.core.settings import get_settings
    from campaigns.demo.generator import generate
    from campaigns.demo.writer import write_demo

    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date; use YYYY-MM-DD")
    settings = get_settings()
    with _progress() as progress:
        task = progress.add_task("generating", total=8)
        data = generate(scale.value, seed, as_of_date)
        # streamed tables (large scale) report each chunk as it is drawn and written
        steps = 8 + sum(stream.chunks for stream in data.streams)
        progress.update(task, total=steps, completed=1)
        counts = write_demo(settings, data, progress=lambda name: (progress.update(task, description=f"wrote {name}"), progress.advance(task)))
        progress.update(task, completed=steps, description="done")
    table = Table("table", "rows", title=f"demo merchant (scale {scale.value}, seed {seed}, as of {data.as_of})")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"Generating truth: {settings.home_path / 'demo' / 'TRUTH.md'}. Next: [bold]campaigns build[/]")


@app.command("import")
def import_file(
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="A .csv or .parquet file.")],
    merchant: Annotated[str | None, typer.Option(help="Merchant the rows belong to (default CAMPAIGNS_DEFAULT_MERCHANT).")] = None,
) -> None:
    """Validate a file and add it to the landing zone (all-or-nothing; re-imports never duplicate)."""
    from campaigns.core.merchants import UnknownMerchantError, require_merchant
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import migrate, session_scope
    from campaigns.warehouse.landing import write_landing
    from campaigns.warehouse.schema import IMPORTABLE
    from campaigns.warehouse.validate import ImportValidationError, validate_file

    from campaigns.cli.context import merchant_or_default

    settings = get_settings()
    merchant_id = merchant_or_default(merchant)  # the id grammar: it names the landing folder
    migrate(settings.store_url)
    try:
        with session_scope(settings.store_url) as session:
            require_merchant(session, merchant_id)
    except UnknownMerchantError as exc:
        fail(str(exc))
    try:
        validated = validate_file(file, kind.value, merchant_id)
    except ImportValidationError as exc:
        fail(str(exc))
    path, written = write_landing(settings.landing_dir, IMPORTABLE[kind.value], validated.frame)
    for notice in validated.notices:
        console.print(f"[yellow]note:[/] {notice}")
    if written:
        console.print(f"imported {validated.frame.height:,} {kind.value} rows for {merchant_id} into {path}")
    else:
        console.print(f"{file.name} was already imported ({path.name}); nothing new to add")
    console.print("Next: [bold]campaigns build[/] to load it into the warehouse")


@app.command()
def build(select: Annotated[str | None, typer.Option(help="Only this asset group or stage (ingest, analytics, serving, ...).")] = None) -> None:
    """Materialize every asset in this process on the configured store and warehouse."""
    from campaigns.core.settings import get_settings
    from pipelines import fail_abandoned_runs, run_build

    settings = get_settings()
    abandoned = fail_abandoned_runs(settings)
    if abandoned:
        console.print(f"[yellow]note:[/] marked {len(abandoned)} run(s) of a killed build failed: {', '.join(r[:8] for r in abandoned)}")
    with _progress() as progress:
        task = progress.add_task("loading definitions", total=None)
        stages: list = []

        def on_stage(stage: str, n: int) -> None:
            progress.update(task, description=f"{stage} ({n} assets)")

        def on_done(result) -> None:
            stages.append(result)
            progress.advance(task)

        log_path = settings.home_path / "logs" / "build.log"
        try:
            results = run_build(settings, select, on_stage=on_stage, on_done=on_done, log_path=log_path)
        except ValueError as exc:
            fail(str(exc))
        progress.update(task, total=len(results), completed=len(results), description="done")
    table = Table("stage", "assets", "seconds", "result", title="build")
    for r in results:
        table.add_row(r.stage, str(r.assets), f"{r.seconds:.1f}", "[green]ok[/]" if r.success else "[red]failed[/]")
    console.print(table)
    console.print(f"total {sum(r.seconds for r in results):.1f} s; dbt's log: {log_path}")
    failed = [r for r in results if not r.success]
    if failed:
        fail("; ".join(failed[0].failures) or f"stage {failed[0].stage} failed; see the Dagster UI run {failed[0].run_id}", code=1)


@app.command()
def migrate() -> None:
    """Create or upgrade the operational store's tables."""
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import migrate as run_migrations

    settings = get_settings()
    run_migrations(settings.store_url)
    console.print(f"store at {settings.store_url.split('@')[-1]} is up to date")


@app.command()
def serve(
    dagster_port: Annotated[int, typer.Option(help="Dagster UI port.")] = 3000,
    app_port: Annotated[int, typer.Option(help="Streamlit port.")] = 8501,
    api_port: Annotated[int, typer.Option(help="REST API port (on 127.0.0.1).")] = 8700,
    host: Annotated[str, typer.Option(help="Interface both UIs listen on; keep 127.0.0.1 unless a proxy with sign-in and TLS is in front.")]
    = "127.0.0.1",
) -> None:
    """Serve the Dagster UI, the Streamlit app and the REST API until interrupted."""
    from campaigns.cli.serve import serve_both
    from campaigns.core.settings import get_settings

    serve_both(get_settings(), dagster_port, app_port, api_port, host)


if __name__ == "__main__":
    app()
