"""The Spark warehouse (CAMPAIGNS_WAREHOUSE=spark): a local PySpark session over Parquet tables.

The tables live under ``$CAMPAIGNS_HOME/spark/warehouse`` and their catalog in an embedded
(Derby) Hive metastore beside it, the same settings dbt's `spark` target uses
(dbt_project/profiles.yml), so the raw tables loaded here are dbt's sources and the marts
dbt builds are read here. Needs the ``spark`` extra (pyspark) and a Java 17 runtime.

The embedded metastore admits one JVM at a time: the session started here is process-wide
and :meth:`SparkWarehouse.release` ends it (and its JVM) before dbt starts its own; the
next call here starts a new one. A cluster keeps its metastore in a server instead, and the
limit goes away (docs/data.md).

Parquet tables have no transactions and no DELETE: a partial replacement (replace_rows,
replace_between, replace_contents) writes the kept and the new rows to a staging table and
swaps it in, so a reader may briefly miss the table.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from campaigns.warehouse.base import Warehouse, _ident
from campaigns.warehouse.schema import LOADED_AT, RAW_SCHEMA, RawTable

if TYPE_CHECKING:  # pyspark is optional: imported only when a Spark warehouse is used
    from pyspark.sql import DataFrame, SparkSession

#: Raw tables partitioned by merchant: a merchant's rows are one folder a build can skip to.
PARTITION_COLUMN = "merchant_id"

_lock = threading.Lock()
_session: SparkSession | None = None
_session_key: tuple[Path, SparkSize] | None = None


@dataclass(frozen=True)
class SparkSize:
    """How big the local session is (Settings.spark_env: CAMPAIGNS_SPARK_*); the defaults suit the demo on a small machine."""

    driver_memory: str = "1g"
    shuffle_partitions: int = 2
    codegen: bool = False  # small data: compiling code for every query costs more than it saves

    @classmethod
    def of(cls, settings: Any) -> SparkSize:  # settings: campaigns.core.settings.Settings (CAMPAIGNS_SPARK_*)
        return cls(settings.spark_driver_memory, settings.spark_shuffle_partitions, settings.spark_codegen)


def spark_conf(spark_dir: Path, size: SparkSize = SparkSize()) -> dict[str, str]:
    """The session's settings; dbt's `spark` target sets the same (profiles.yml)."""
    return {
        "spark.master": "local[2]",
        "spark.app.name": "campaigns",
        "spark.driver.memory": size.driver_memory,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(size.shuffle_partitions),
        "spark.sql.codegen.wholeStage": "true" if size.codegen else "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.default": "parquet",
        "spark.sql.warehouse.dir": str(spark_dir / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        # The SQL the Python side shares with DuckDB and PostgreSQL quotes identifiers with "..."
        # (dbt's own session keeps Spark's default: its macros quote with backticks).
        "spark.sql.ansi.enabled": "true",
        "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    }


def spark_session(spark_dir: Path, size: SparkSize = SparkSize()) -> SparkSession:
    """The process-wide session on `spark_dir` of this size, started on first use (a JVM's memory is fixed at its start)."""
    global _session, _session_key
    with _lock:
        if _session is not None and _session_key == (spark_dir, size):
            return _session
        if _session is not None:
            _stop_locked()
        from pyspark.sql import SparkSession

        spark_dir.mkdir(parents=True, exist_ok=True)
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in spark_conf(spark_dir, size).items():
            builder = builder.config(key, value)
        _session, _session_key = builder.getOrCreate(), (spark_dir, size)
        return _session


def stop_spark() -> None:
    """End the process's session and its JVM, releasing the embedded metastore for another process."""
    with _lock:
        _stop_locked()


def _stop_locked() -> None:
    global _session, _session_key
    if _session is None:
        return
    from pyspark import SparkContext

    _session.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        process = getattr(gateway, "proc", None)
        gateway.shutdown()
        if process is not None:
            # The JVM exits when its stdin closes; only then is the metastore's lock free.
            process.stdin.close()
            try:
                process.wait(timeout=60)
            except Exception:  # noqa: BLE001 - a JVM that does not exit is killed
                process.kill()
                process.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None
    _session, _session_key = None, None


def _spark_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamp"  # an instant, shown in the session zone (UTC); naive frames are UTC
    mapping = {pl.Date: "date", pl.Int64: "bigint", pl.Int32: "int", pl.Float64: "double", pl.Boolean: "boolean", pl.UInt32: "bigint"}
    for polars_type, sql in mapping.items():
        if dtype == polars_type:
            return sql
    return "string"


def _for_spark(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the dtypes Spark reads from Arrow: UTC instants, signed integers."""
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            column = pl.col(name).dt.cast_time_unit("us")
            casts.append((column.dt.replace_time_zone("UTC") if dtype.time_zone is None else column.dt.convert_time_zone("UTC")).alias(name))
        elif dtype in (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64, pl.Int8, pl.Int16):
            casts.append(pl.col(name).cast(pl.Int64))
        elif dtype == pl.Null:
            casts.append(pl.col(name).cast(pl.String))
    return frame.with_columns(casts) if casts else frame


class SparkWarehouse(Warehouse):
    dialect = "spark"

    def __init__(self, spark_dir: Path, size: SparkSize = SparkSize()):
        self.spark_dir, self.size = spark_dir, size

    @property
    def spark(self) -> SparkSession:
        return spark_session(self.spark_dir, self.size)

    def release(self) -> None:
        stop_spark()

    def _frame(self, frame: pl.DataFrame) -> DataFrame:
        frame = _for_spark(frame)
        schema = ", ".join(f"`{c}` {_spark_type(t)}" for c, t in frame.schema.items())
        return self.spark.createDataFrame(frame.to_arrow(compat_level=pl.CompatLevel.oldest()), schema=schema)

    def create_table_sql(self, schema: str, name: str, columns: dict[str, pl.DataType], if_not_exists: bool = False) -> str:
        cols = ", ".join(f"{_ident(c)} {_spark_type(t)}" for c, t in columns.items())
        return f"create table {'if not exists ' if if_not_exists else ''}{_ident(schema)}.{_ident(name)} ({cols}) using parquet"

    def _save(self, data: DataFrame, schema: str, name: str, partition: bool = False) -> None:
        self.spark.sql(f"create schema if not exists {_ident(schema)}")
        writer = data.write.mode("overwrite").format("parquet")
        if partition and PARTITION_COLUMN in data.columns:
            writer = writer.partitionBy(PARTITION_COLUMN)
        writer.saveAsTable(f"`{schema}`.`{name}`")

    def load_raw(self, table: RawTable, files: Sequence[Path]) -> int:
        from pyspark.sql import functions as F
        from pyspark.sql.window import Window

        spark = self.spark  # started first: a column expression (F.lit) needs a running session
        loaded_at = F.lit(datetime.now(UTC)).cast("timestamp").alias(LOADED_AT)
        if not files:
            data = self._frame(pl.DataFrame(schema={**table.polars_schema, LOADED_AT: pl.Datetime("us", "UTC")}))
        else:
            data = spark.read.parquet(*(str(f) for f in files))
            if len({f.parent for f in files}) != len(files):
                # several files of one merchant: the newest file's row of a key wins (as on DuckDB)
                newest = Window.partitionBy(*table.key).orderBy(F.col("_metadata.file_path").desc())
                data = data.withColumn("_rank", F.row_number().over(newest)).where("_rank = 1")
            data = data.select(*(F.col(c).cast(_spark_type(t)) for c, t in table.polars_schema.items()), loaded_at)
        self._save(data, RAW_SCHEMA, table.name, partition=True)
        return self.count(RAW_SCHEMA, table.name)

    def replace_table(self, schema: str, name: str, frame: pl.DataFrame) -> int:
        self._save(self._frame(frame), schema, name, partition=schema == RAW_SCHEMA)
        return frame.height

    def _delete_insert(self, schema: str, name: str, frame: pl.DataFrame, where: str, params: list[Any]) -> int:
        spark = self.spark
        spark.sql(f"create schema if not exists {_ident(schema)}")
        spark.sql(self.create_table_sql(schema, name, dict(frame.schema), if_not_exists=True))
        target = f"{_ident(schema)}.{_ident(name)}"
        columns = spark.table(target).schema.fields
        incoming = self._frame(frame)
        present = set(incoming.columns)
        # the table's columns and types, by name: a column the frame lacks is null
        new_rows = incoming.selectExpr(*(
            f"cast({_ident(f.name) if f.name in present else 'null'} as {f.dataType.simpleString()}) as {_ident(f.name)}" for f in columns
        ))
        if where == "true":  # the whole table: overwrite it in place (its schema, and the views over it, stay)
            new_rows.write.insertInto(f"`{schema}`.`{name}`", overwrite=True)
            return frame.height
        kept = spark.sql(f"select * from {target} where not coalesce({where}, false)", args=params or None)
        staging = f"{name}__replacing"
        partitioned = [c.name for c in spark.catalog.listColumns(f"`{schema}`.`{name}`") if c.isPartition]
        spark.sql(f"drop table if exists {_ident(schema)}.{_ident(staging)}")
        writer = kept.unionByName(new_rows).write.format("parquet")
        if partitioned:
            writer = writer.partitionBy(*partitioned)
        writer.saveAsTable(f"`{schema}`.`{staging}`")
        # Parquet tables have no DELETE: the kept and new rows replace the table in one swap.
        spark.sql(f"drop table {target}")
        spark.sql(f"alter table {_ident(schema)}.{_ident(staging)} rename to {target}")
        return frame.height

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        table = self.spark.sql(sql, args=list(params) if params else None).toArrow()
        return pl.from_arrow(table)  # type: ignore[return-value]

    def relations(self) -> pl.DataFrame:
        rows = []
        for database in self.spark.catalog.listDatabases():
            for table in self.spark.catalog.listTables(database.name):
                if not table.isTemporary:
                    rows.append((database.name, table.name, "VIEW" if table.tableType == "VIEW" else "BASE TABLE"))
        return pl.DataFrame(rows, schema=["schema", "name", "kind"], orient="row").sort("schema", "name")
