"""The landing zone: validated imports as immutable Parquet files under CAMPAIGNS_HOME/landing.

Imports never write the warehouse directly (DuckDB allows one writer, and a running
pipeline may hold it); the ingest assets load landing files into the `raw` schema,
keeping the newest row per key, so re-importing the same ids never duplicates rows.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from campaigns.core.private import FILE_MODE, private_dir
from campaigns.core.processes import pid_alive
from campaigns.core.identifiers import validate_merchant_id
from campaigns.warehouse.schema import RawTable

# A temporary file without its writer's pid (written before the pid was part of the name) is left for this long.
UNNAMED_TMP_SECONDS = 3600


def landing_files(landing_dir: Path, table: RawTable, merchants: Collection[str] | None = None) -> list[Path]:
    """Every landing file of a table, all merchants (or those in `merchants`), oldest first."""
    folder = landing_dir / table.name
    if not folder.exists():
        return []
    files = folder.glob("*/*.parquet") if merchants is None else (f for m in merchants for f in (folder / validate_merchant_id(m)).glob("*.parquet"))
    # Names start with a UTC timestamp, so sorting by name is sorting by import time.
    return sorted(files, key=lambda p: p.name)


def clear_landing(landing_dir: Path, merchant_id: str) -> int:
    """Remove one merchant's landing files (the demo generator replaces its tenant)."""
    validate_merchant_id(merchant_id)  # a glob: "*" would remove every merchant's files
    removed = 0
    for path in landing_dir.glob(f"*/{merchant_id}/*.parquet"):
        path.unlink()
        removed += 1
    return removed


def write_landing(landing_dir: Path, table: RawTable, frame: pl.DataFrame) -> tuple[Path, bool]:
    """Write one merchant's rows atomically; returns (path, written). An identical earlier file is reused."""
    frame = frame.select(table.column_names).cast(table.polars_schema)  # type: ignore[arg-type]
    merchants = frame["merchant_id"].unique().to_list()
    if len(merchants) != 1:
        raise ValueError(f"a landing file holds one merchant's rows; got {len(merchants)} merchants")
    digest = _digest(frame)
    remove_abandoned_tmp(landing_dir)
    # paths are built from validated ids only: "../../x" or "x/y" would land outside the merchant's folder
    folder = private_dir(landing_dir / table.name / validate_merchant_id(merchants[0]))
    existing = next(iter(folder.glob(f"*-{digest}.parquet")), None)
    if existing is not None:
        return existing, False
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder / f"{stamp}-{digest}.parquet"
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"  # the writer's pid: a later import knows whether it was abandoned
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, target)  # readers see the whole file or none of it
    return target, True


# Rows per Parquet row group of a streamed landing file: polars' default for write_parquet.
STREAM_ROW_GROUP_ROWS = 512 * 512


def write_landing_stream(landing_dir: Path, table: RawTable, merchant_id: str, frames: Iterable[pl.DataFrame]) -> tuple[Path, bool, int]:
    """Write one merchant's rows, arriving as chunks, into ONE landing file; returns (path, written, rows).

    Memory holds one chunk at a time. The file is named by the same digest as write_landing's
    for the chunks concatenated, so an identical earlier file is reused the same way, and the
    table stays one file per merchant (the ingest then has no keys to dedupe)."""
    import pyarrow.parquet as pq

    folder = private_dir(landing_dir / table.name / validate_merchant_id(merchant_id))
    remove_abandoned_tmp(landing_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    tmp = folder / f".{stamp}-stream.parquet.{os.getpid()}.tmp"
    hasher = hashlib.sha256()
    rows = 0
    writer = None
    try:
        for frame in frames:
            frame = frame.select(table.column_names).cast(table.polars_schema)  # type: ignore[arg-type]
            if frame.height == 0:
                continue
            if frame["merchant_id"].ne(merchant_id).any():
                raise ValueError(f"a landing file holds one merchant's rows; got rows of another merchant than {merchant_id!r}")
            _hash_rows_into(hasher, frame)
            rows += frame.height
            arrow = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, arrow.schema, compression="zstd")
            writer.write_table(arrow, row_group_size=STREAM_ROW_GROUP_ROWS)
        if writer is None:
            raise ValueError(f"no rows for {table.name}: a landing file holds at least one row")
        writer.close()
        writer = None
        hasher.update(str(rows).encode())
        digest = hasher.hexdigest()[:16]
        existing = next(iter(folder.glob(f"*-{digest}.parquet")), None)
        if existing is not None:
            tmp.unlink()
            return existing, False, rows
        target = folder / f"{stamp}-{digest}.parquet"
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)  # readers see the whole file or none of it
        return target, True, rows
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise


def remove_abandoned_tmp(landing_dir: Path) -> list[Path]:
    """Remove the temporary files of imports that were killed before their rename (their writer is gone).

    A temporary file whose writer still runs belongs to an import in progress and is kept.
    """
    removed = []
    for tmp in landing_dir.glob("*/*/.*.tmp") if landing_dir.exists() else []:
        writer = tmp.name.removesuffix(".tmp").rsplit(".", 1)[-1]
        if writer.isdigit():
            abandoned = not pid_alive(int(writer))
        else:
            abandoned = time.time() - tmp.stat().st_mtime > UNNAMED_TMP_SECONDS
        if abandoned:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _digest(frame: pl.DataFrame) -> str:
    hasher = hashlib.sha256()
    _hash_rows_into(hasher, frame)
    hasher.update(str(frame.height).encode())
    return hasher.hexdigest()[:16]


def _hash_rows_into(hasher, frame: pl.DataFrame) -> None:
    # each row's 64-bit hash, little-endian, in row order: chunk by chunk gives the digest of the whole
    hasher.update(frame.hash_rows(seed=0).to_numpy().astype("<u8", copy=False).tobytes())
