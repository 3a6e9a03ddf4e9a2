"""The warehouse interface every backend implements (connection.py: DuckDB, PostgreSQL; spark.py: Spark)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from campaigns.warehouse.schema import LOADED_AT, RAW_SCHEMA, RawTable


#: The one placeholder style of warehouse SQL in Python, on both backends.
PARAM = "?"


def _sql_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamp with time zone" if dtype.time_zone else "timestamp"
    mapping = {pl.Date: "date", pl.Int64: "bigint", pl.Int32: "integer", pl.Float64: "double precision", pl.Boolean: "boolean", pl.UInt32: "bigint"}
    for polars_type, sql in mapping.items():
        if dtype == polars_type:
            return sql
    return "varchar"


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad SQL identifier {name!r}")
    return f'"{name}"'


class Warehouse(ABC):
    dialect: str

    @abstractmethod
    def load_raw(self, table: RawTable, files: Sequence[Path]) -> int:
        """Rebuild raw.<table> from landing files, newest row per key wins; returns the row count."""

    @abstractmethod
    def replace_table(self, schema: str, name: str, frame: pl.DataFrame) -> int:
        """Atomically replace schema.name with `frame`."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Rows of `sql`, written with ``?`` placeholders (:data:`PARAM`) on every backend."""

    @abstractmethod
    def relations(self) -> pl.DataFrame:
        """schema, name, kind of every table and view outside the system schemas."""

    def release(self) -> None:
        """Let another process (dbt) open the warehouse: a no-op but on Spark's embedded metastore."""

    def count(self, schema: str, name: str) -> int:
        return int(self.query(f"select count(*) as n from {_ident(schema)}.{_ident(name)}")["n"][0])

    def create_table_sql(self, schema: str, name: str, columns: dict[str, pl.DataType], if_not_exists: bool = False) -> str:
        cols = ", ".join(f"{_ident(c)} {_sql_type(t)}" for c, t in columns.items())
        return f"create table {'if not exists ' if if_not_exists else ''}{_ident(schema)}.{_ident(name)} ({cols})"

    def replace_rows(self, schema: str, name: str, frame: pl.DataFrame, match: dict[str, Any]) -> int:
        """In one transaction, delete the rows equal to `match` and insert `frame` (a partition's rows)."""
        where = " and ".join(f"{_ident(c)} = {PARAM}" for c in match) or "true"
        return self._delete_insert(schema, name, frame, where, list(match.values()))

    def replace_between(self, schema: str, name: str, frame: pl.DataFrame, column: str, start: Any, end: Any,
                        match: dict[str, Any] | None = None) -> int:
        """In one transaction, delete the rows with start <= column < end (and equal to `match`) and insert `frame` (a partition range's rows)."""
        where = " and ".join([f"{_ident(column)} >= {PARAM} and {_ident(column)} < {PARAM}", *(f"{_ident(c)} = {PARAM}" for c in match or {})])
        return self._delete_insert(schema, name, frame, where, [start, end, *(match or {}).values()])

    def replace_merchants(self, schema: str, name: str, frame: pl.DataFrame, merchants: Sequence[str]) -> int:
        """In one transaction, delete the rows of `merchants` and insert `frame` (a merchant partition's rows).

        The table is created from `frame` when missing; the other merchants' rows stay as they are.
        """
        if not merchants:
            raise ValueError("replace_merchants needs at least one merchant id")
        where = f"merchant_id in ({', '.join(PARAM for _ in merchants)})"
        return self._delete_insert(schema, name, frame, where, list(merchants))

    def load_raw_merchants(self, table: RawTable, files: Sequence[Path], merchants: Sequence[str]) -> int:
        """Replace the rows of `merchants` in raw.<table> with their landing files (newest row per key wins); returns rows written."""
        if not files:
            frame = pl.DataFrame(schema=table.polars_schema)
        else:
            frame = pl.concat([pl.read_parquet(f, columns=table.column_names).with_columns(pl.lit(i).alias("_file")) for i, f in enumerate(files)])
            frame = frame.sort("_file").unique(subset=list(table.key), keep="last", maintain_order=True).drop("_file")
        frame = frame.select(table.column_names).cast(table.polars_schema).with_columns(  # type: ignore[arg-type]
            pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias(LOADED_AT))
        return self.replace_merchants(RAW_SCHEMA, table.name, frame, merchants)

    def replace_contents(self, schema: str, name: str, frame: pl.DataFrame) -> int:
        """In one transaction, empty schema.name and insert `frame` (columns by name), keeping the
        table: its declared column types and the views over it (dbt's marts over the Python
        outputs). A missing table is created from `frame`."""
        return self._delete_insert(schema, name, frame, "true", [])

    @abstractmethod
    def _delete_insert(self, schema: str, name: str, frame: pl.DataFrame, where: str, params: list[Any]) -> int:
        """Delete the rows matching `where` (``?`` placeholders) and insert `frame`, in one transaction."""
