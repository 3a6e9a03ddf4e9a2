"""Many rows into one store table in the caller's transaction: COPY on PostgreSQL, batched INSERTs elsewhere.

A 100k-row import through multi-row INSERTs spends most of its time building and parsing the SQL
text of each batch; COPY streams the rows instead. Values are what the ORM would bind: aware
datetimes, JSON columns as Python lists and dicts (serialised here with the same encoder).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.orm import Session

BATCH = 1000


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts of column values, all with the same keys) into `table`; no ids come back."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        for start in range(0, len(rows), BATCH):
            session.execute(insert(table), list(rows[start : start + BATCH]))
        return
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    connection = session.connection().connection.driver_connection  # psycopg, inside this session's transaction
    with connection.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(_values(row, columns, json_columns))


def _values(row: dict[str, Any], columns: list[str], json_columns: set[str]) -> Iterable[Any]:
    for column in columns:
        value = row[column]
        if column in json_columns:
            yield None if value is None else json.dumps(value)
        elif isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value.isoformat()} for {column}; pass a timezone-aware datetime (UTC)")
            yield value.astimezone(UTC)
        else:
            yield value
