"""`campaigns status`: what is materialized, row counts, and the last run."""

from __future__ import annotations

# Start-up cost: Dagster and the warehouse drivers are imported inside the command, so `campaigns --help` does
# not load them.

from datetime import UTC, datetime

from rich.table import Table

from campaigns.cli.output import console
from campaigns.core.settings import get_settings


def status() -> None:
    """Show materializations, warehouse row counts and the last run."""
    import dagster as dg

    from campaigns.warehouse.connection import WarehouseBusyError, open_warehouse
    from pipelines import ensure_dagster_home

    settings = get_settings()
    console.print(f"store: {settings.store_url.split('@')[-1]}   warehouse: {settings.warehouse} ({ {'duckdb': settings.duckdb_path, 'spark': settings.spark_dir}.get(settings.warehouse, 'postgres') })")
    ensure_dagster_home(settings)
    instance = dg.DagsterInstance.get()
    table = Table("asset", "last materialized (UTC)", "rows", title="assets")
    keys = sorted(instance.get_asset_keys(), key=lambda k: k.to_user_string())
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        if event is None:
            table.add_row(key.to_user_string(), "never", "")
            continue
        meta = event.asset_materialization.metadata if event.asset_materialization else {}
        rows = meta.get("dagster/row_count")
        when = datetime.fromtimestamp(event.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(key.to_user_string(), when, f"{rows.value:,}" if rows is not None else "")
    if keys:
        console.print(table)
    else:
        console.print("nothing materialized yet: run [bold]campaigns demo-data[/] then [bold]campaigns build[/]")
    runs = instance.get_runs(limit=1)
    if runs:
        run = runs[0]
        stats = instance.get_run_stats(run.run_id)
        ended = datetime.fromtimestamp(stats.end_time, UTC).strftime("%Y-%m-%d %H:%M:%S") if stats.end_time else "running"
        console.print(f"last run: {run.job_name} {run.status.value} (ended {ended}, run id {run.run_id[:8]})")
    try:
        warehouse = open_warehouse(settings)
        relations = warehouse.relations()
    except FileNotFoundError:
        console.print("warehouse: not created yet")
        return
    except WarehouseBusyError as exc:
        console.print(f"warehouse: {exc}")
        return
    counts = Table("schema", "relation", "kind", "rows", title="warehouse")
    for schema, name, kind in relations.iter_rows():
        counts.add_row(schema, name, kind.lower(), f"{warehouse.count(schema, name):,}")
    console.print(counts)
