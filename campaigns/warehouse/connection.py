"""Warehouse connections: DuckDB (embedded default) and PostgreSQL (production); Spark in spark.py.

Connections are opened per unit of work and closed right after, because dbt runs in a
subprocess in the same Dagster run and DuckDB lets only one process hold the file.

SQL handed to a warehouse is written once, for both backends, with ``?`` placeholders
(:data:`PARAM`); the PostgreSQL connection translates them for psycopg (:func:`pyformat`).
Where Python needs a timestamp's UTC calendar date it uses :func:`utc_date`, the twin of
the dbt macro of the same name.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import psycopg

from campaigns.core.private import private_dir, private_file
from campaigns.warehouse.base import PARAM, Warehouse, _ident, _sql_type
from campaigns.warehouse.schema import LOADED_AT, RAW_SCHEMA, RawTable

__all__ = ["PARAM", "Warehouse", "DuckDBWarehouse", "PostgresWarehouse", "WarehouseBusyError", "open_warehouse", "pyformat", "utc_date"]


def pyformat(sql: str) -> str:
    """`sql` written with ``?`` placeholders, as psycopg's ``%s`` style.

    A ``?`` outside string literals, quoted identifiers and comments becomes ``%s``; every
    other ``%`` is doubled so psycopg reads it literally (``like 'a%'``, ``x % 7``). A
    ``%s`` already there is kept, so SQL written for psycopg still runs unchanged.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # '' or "" inside the quotes
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            keep = sql[i : i + 2] in ("%s", "%%")
            out.append(sql[i : i + 2] if keep else "%%")
            i += 2 if keep else 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def utc_date(column: str) -> str:
    """SQL for the UTC calendar date of a timestamp with time zone (the dbt macro `utc_date`)."""
    return f"cast(({column} at time zone 'UTC') as date)"


class WarehouseBusyError(RuntimeError):
    """The DuckDB file is held by a writing process (a pipeline run)."""


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            private_dir(self.path.parent)
        elif not self.path.exists():
            raise FileNotFoundError(f"no warehouse at {self.path}; run `campaigns build` first")
        try:
            con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseBusyError(f"the warehouse {self.path} is being written by another process; try again when the run ends") from exc
            raise
        if not read_only:
            private_file(self.path)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def load_raw(self, table: RawTable, files: Sequence[Path]) -> int:
        cols = table.column_names
        with self.connect() as con:
            con.execute(f"create schema if not exists {RAW_SCHEMA}")
            con.execute("begin")
            con.execute(f"drop table if exists {RAW_SCHEMA}.{table.name}")
            con.execute(self.create_table_sql(RAW_SCHEMA, table.name, {**table.polars_schema, LOADED_AT: pl.Datetime("us", "UTC")}))
            if files:
                keys = ", ".join(table.key)
                select = ", ".join(cols)
                # Row order in raw tables means nothing; not keeping it makes the load much cheaper.
                con.execute("set preserve_insertion_order = false")
                if len({f.parent for f in files}) == len(files):
                    # one file per merchant: keys are unique within a validated file, nothing to dedupe
                    con.execute(f"insert into {RAW_SCHEMA}.{table.name} select {select}, now() from read_parquet(?)", [[str(f) for f in files]])
                else:
                    con.execute(
                        f"""
                        insert into {RAW_SCHEMA}.{table.name}
                        select {select}, now() from read_parquet(?, filename = true)
                        qualify row_number() over (partition by {keys} order by filename desc) = 1
                        """,
                        [[str(f) for f in files]],
                    )
            con.execute("commit")
            return con.execute(f"select count(*) from {RAW_SCHEMA}.{table.name}").fetchone()[0]

    def replace_table(self, schema: str, name: str, frame: pl.DataFrame) -> int:
        with self.connect() as con:
            con.execute(f"create schema if not exists {_ident(schema)}")
            con.execute("begin")
            con.execute(f"drop table if exists {_ident(schema)}.{_ident(name)}")
            con.execute(self.create_table_sql(schema, name, dict(frame.schema)))
            if frame.height:
                con.register("incoming", frame.to_arrow())
                con.execute(f"insert into {_ident(schema)}.{_ident(name)} select * from incoming")
            con.execute("commit")
        return frame.height

    def _delete_insert(self, schema: str, name: str, frame: pl.DataFrame, where: str, params: list[Any]) -> int:
        with self.connect() as con:
            con.execute(f"create schema if not exists {_ident(schema)}")
            con.execute(self.create_table_sql(schema, name, dict(frame.schema), if_not_exists=True))
            con.execute("begin")
            con.execute(f"delete from {_ident(schema)}.{_ident(name)} where {where}", params)
            if frame.height:
                con.register("incoming", frame.to_arrow())
                columns = ", ".join(_ident(c) for c in frame.columns)
                con.execute(f"insert into {_ident(schema)}.{_ident(name)} ({columns}) select {columns} from incoming")
            con.execute("commit")
        return frame.height

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        with self.connect(read_only=True) as con:
            return pl.from_arrow(con.sql(sql, params=list(params) if params else None).to_arrow_table())  # type: ignore[return-value]

    def relations(self) -> pl.DataFrame:
        return self.query(
            "select table_schema as schema, table_name as name, table_type as kind from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2"
        )


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, url: str):
        self.url = url.replace("postgresql+psycopg://", "postgresql://")

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.url) as con:  # commits on success, rolls back on error
            yield con

    def _copy_in(self, con: psycopg.Connection, schema: str, name: str, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        columns = ", ".join(_ident(c) for c in frame.columns)
        # one format for every timestamp: naive ones are UTC (a zone-less column ignores the offset on the way in)
        frame = frame.with_columns(pl.col(c).dt.replace_time_zone("UTC") for c, dtype in frame.schema.items()
                                   if isinstance(dtype, pl.Datetime) and dtype.time_zone is None)
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="\\N", datetime_format="%Y-%m-%dT%H:%M:%S%.f%z")
        with con.cursor().copy(f"copy {_ident(schema)}.{_ident(name)} ({columns}) from stdin with (format csv, null '\\N')") as copy:
            copy.write(buffer.getvalue())

    def load_raw(self, table: RawTable, files: Sequence[Path]) -> int:
        if not files:
            frame = pl.DataFrame(schema=table.polars_schema)
        elif len({f.parent for f in files}) == len(files):
            # one file per merchant: keys are unique within a validated file, nothing to dedupe (as on DuckDB)
            frame = pl.concat([pl.read_parquet(f, columns=table.column_names) for f in files])
        else:
            frame = pl.concat([pl.read_parquet(f).with_columns(pl.lit(i).alias("_file")) for i, f in enumerate(files)])
            frame = frame.sort("_file").unique(subset=list(table.key), keep="last", maintain_order=True).drop("_file")
        frame = frame.select(table.column_names).with_columns(pl.lit(datetime.now(UTC)).alias(LOADED_AT))
        return self.replace_table(RAW_SCHEMA, table.name, frame)

    def replace_table(self, schema: str, name: str, frame: pl.DataFrame) -> int:
        with self.connect() as con:
            con.execute(f"create schema if not exists {_ident(schema)}")
            con.execute(f"drop table if exists {_ident(schema)}.{_ident(name)} cascade")
            con.execute(self.create_table_sql(schema, name, dict(frame.schema)))
            self._copy_in(con, schema, name, frame)
            # Fresh statistics, or the planner guesses row counts and sorts millions of
            # touchpoints for a merge join where a hash join on the conversions is 4x faster.
            con.execute(f"analyze {_ident(schema)}.{_ident(name)}")
        return frame.height

    def _delete_insert(self, schema: str, name: str, frame: pl.DataFrame, where: str, params: list[Any]) -> int:
        with self.connect() as con:  # one transaction: readers see the old rows or the new ones
            con.execute(f"create schema if not exists {_ident(schema)}")
            con.execute(self.create_table_sql(schema, name, dict(frame.schema), if_not_exists=True))
            if where == "true":  # the whole table: cheaper than a delete, and as transactional
                con.execute(f"truncate {_ident(schema)}.{_ident(name)}")
            else:
                con.execute(pyformat(f"delete from {_ident(schema)}.{_ident(name)} where {where}"), params)
            self._copy_in(con, schema, name, frame)
            con.execute(f"analyze {_ident(schema)}.{_ident(name)}")
        return frame.height

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        with self.connect() as con:
            cursor = con.execute(pyformat(sql), params) if params else con.execute(sql)
            rows = cursor.fetchall()
            names = [d.name for d in cursor.description or []]
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    def relations(self) -> pl.DataFrame:
        return self.query(
            "select table_schema as schema, table_name as name, table_type as kind from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2"
        )


def open_warehouse(settings) -> Warehouse:  # settings: campaigns.core.settings.Settings
    if settings.warehouse == "postgres":
        return PostgresWarehouse(settings.postgres_warehouse_url)
    if settings.warehouse == "spark":
        from campaigns.warehouse.spark import SparkSize, SparkWarehouse  # pyspark (the spark extra) loads only here

        return SparkWarehouse(settings.spark_dir, SparkSize.of(settings))
    return DuckDBWarehouse(settings.duckdb_path)
