"""`campaigns`: demo data, imports, builds, status and campaign management from the shell."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from campaigns.cli import (
    agent_commands,
    campaign_commands,
    email_commands,
    export_commands,
    optimize_commands,
    social_commands,
    status_command,
)
from campaigns.cli.output import console, fail
from campaigns.core.settings import get_settings

app = typer.Typer(help="Campaign Orchestrator: plan, publish and measure marketing campaigns.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(campaign_commands.app, name="campaigns", help="Create, list, launch and pause campaigns.")
app.add_typer(campaign_commands.merchants_app, name="merchants", help="Merchants (tenants).")
app.add_typer(export_commands.app, name="export", help="Export attribution and ROI tables as CSV.")
app.add_typer(social_commands.accounts_app, name="accounts", help="Connect social accounts.")
app.add_typer(social_commands.social_app, name="social", help="Schedule, list and publish social posts.")
app.add_typer(email_commands.app, name="email", help="Create and send email campaigns; unsubscribe and suppress addresses.")
app.add_typer(agent_commands.workflow_app, name="workflow", help="Run and steer campaign workflows.")
from campaigns.cli import automation_commands  # noqa: E402
app.add_typer(automation_commands.app, name="automations", help="Automation workflows: create from a flow file, activate, pause, run due steps.")
from campaigns.cli.segment_commands import contacts_app, segments_app  # noqa: E402
app.add_typer(segments_app, name="segments", help="Preview, save and list audience segments (rules on fields, tags, events, RFM).")
app.add_typer(contacts_app, name="contacts", help="Import contact events (opens, clicks, purchases) from CSV.")
app.command("status")(status_command.status)
app.command("repurpose")(agent_commands.repurpose)
app.command("repurpose-report")(agent_commands.repurpose_report)
app.command("plan")(agent_commands.plan)
app.command("approve")(agent_commands.approve)
app.command("optimize")(optimize_commands.optimize)
from campaigns.cli import budget_commands  # noqa: E402
app.command("rebalance")(budget_commands.rebalance)


class ImportKind(StrEnum):
    touchpoints = "touchpoints"
    conversions = "conversions"
    spend = "spend"


class Scale(StrEnum):
    demo = "demo"
    bench = "bench"


def _progress() -> Progress:
    # Bound to the real stdout, so it keeps drawing while a build redirects library output to a log.
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
        console=Console(file=sys.stdout),
    )


@app.command("demo-data")
def demo_data(
    scale: Annotated[Scale, typer.Option(help="demo: ~20 campaigns, ~140k touchpoints; bench: ~1M users, ~5M touchpoints.")] = Scale.demo,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and --as-of give the same data.")] = 7,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last day of the 90-day history (YYYY-MM-DD); default today (UTC).")] = None,
) -> None:
    """Generate the deterministic demo merchant into the store and the landing zone."""
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
        progress.advance(task)
        counts = write_demo(settings, data, progress=lambda name: (progress.update(task, description=f"wrote {name}"), progress.advance(task)))
        progress.update(task, completed=8, description="done")
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
    from campaigns.warehouse.validate import ImportValidationError, validate_file
    from campaigns.core.merchants import UnknownMerchantError, require_merchant
    from campaigns.core.store.db import migrate, session_scope
    from campaigns.warehouse.landing import write_landing
    from campaigns.warehouse.schema import IMPORTABLE

    settings = get_settings()
    merchant_id = merchant or settings.default_merchant
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
    from pipelines.build import materialize

    settings = get_settings()
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
            results = materialize(settings, select, on_stage=on_stage, on_done=on_done, log_path=log_path)
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
    from campaigns.core.store.db import migrate as run_migrations

    settings = get_settings()
    run_migrations(settings.store_url)
    console.print(f"store at {settings.store_url.split('@')[-1]} is up to date")


@app.command()
def serve(
    dagster_port: Annotated[int, typer.Option(help="Dagster UI port.")] = 3000,
    app_port: Annotated[int, typer.Option(help="Streamlit port.")] = 8501,
) -> None:
    """Serve the Dagster UI and the Streamlit app until interrupted."""
    from campaigns.cli.serve import serve_both

    serve_both(get_settings(), dagster_port, app_port)


if __name__ == "__main__":
    app()
