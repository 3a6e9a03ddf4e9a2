"""Parquet snapshots of the marts, so the app never waits on DuckDB's single-writer lock.

On the embedded default the app reads these files with an in-memory DuckDB; a pipeline
writing the warehouse cannot block or break it. On PostgreSQL the app reads the marts
directly (MVCC readers never block), so the asset only records that. On Spark the marts
are copied the same way, read through the Spark session.
"""


import os
import time
from pathlib import Path

import dagster as dg

from campaigns.warehouse.connection import DuckDBWarehouse, Warehouse
from assets.resources import CampaignsResource

SERVED_SCHEMA = "marts"


def publish_marts(warehouse: Warehouse, serving_dir: Path) -> dict[str, int]:
    serving_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    if not isinstance(warehouse, DuckDBWarehouse):
        # Spark: each mart read through the warehouse (the marts are small) and written here, so the
        # app reads files with DuckDB and never starts a JVM or waits on Spark's metastore.
        relations = warehouse.relations()
        for table in relations.filter(relations["schema"] == SERVED_SCHEMA)["name"].to_list():
            frame = warehouse.query(f'select * from {SERVED_SCHEMA}."{table}"')
            tmp = serving_dir / f".{table}.parquet.tmp"
            frame.write_parquet(tmp)
            os.replace(tmp, serving_dir / f"{table}.parquet")
            counts[table] = frame.height
        return counts
    with warehouse.connect(read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = ?", [SERVED_SCHEMA]).fetchall()]
        for table in tables:
            target = serving_dir / f"{table}.parquet"
            tmp = serving_dir / f".{table}.parquet.tmp"
            con.execute(f'copy (select * from {SERVED_SCHEMA}."{table}") to \'{tmp}\' (format parquet)')
            os.replace(tmp, target)  # readers see the old file or the new one, never half of one
            counts[table] = con.execute(f'select count(*) from {SERVED_SCHEMA}."{table}"').fetchone()[0]
    return counts


def serving_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=["serving", "marts_snapshot"],
        group_name="serving",
        kinds={"duckdb", "parquet"},
        deps=mart_keys,
        description="Parquet copies of every mart for the Streamlit app (embedded default).",
    )
    def marts_snapshot(campaigns: CampaignsResource) -> dg.MaterializeResult:
        settings = campaigns.settings()
        if settings.warehouse == "postgres":
            return dg.MaterializeResult(metadata={"note": "PostgreSQL warehouse: the app reads the marts directly"})
        started = time.perf_counter()
        warehouse = DuckDBWarehouse(settings.duckdb_path) if settings.warehouse == "duckdb" else campaigns.open_warehouse()
        counts = publish_marts(warehouse, settings.home_path / "serving")
        return dg.MaterializeResult(
            metadata={"tables": len(counts), "dagster/row_count": sum(counts.values()), "rows": dg.MetadataValue.json(counts), "seconds": round(time.perf_counter() - started, 3)}
        )

    return marts_snapshot
