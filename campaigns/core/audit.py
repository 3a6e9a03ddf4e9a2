"""The audit log: every service write records who did what to which entity."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.store.models import AuditLog


def record(session: Session, merchant_id: str, actor: str, action: str, entity_type: str, entity_id: str, **details: Any) -> None:
    session.add(
        AuditLog(merchant_id=merchant_id, actor=actor, action=action, entity_type=entity_type, entity_id=str(entity_id), details=jsonable(details))
    )


def entries(session: Session, merchant_id: str, entity_id: str | None = None, limit: int = 100) -> list[AuditLog]:
    query = select(AuditLog).where(AuditLog.merchant_id == merchant_id)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    return list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit)))


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass(frozen=True)
class AuditFilter:
    """What to look for in one merchant's audit log; every field optional. Times are UTC, `until` exclusive."""

    actor: str | None = None
    action: str | None = None  # an exact action, or a prefix ending in "." ("content." for every content action)
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500


def search(session: Session, merchant_id: str, where: AuditFilter = AuditFilter()) -> list[AuditLog]:
    """The merchant's audit entries matching `where`, newest first."""
    if where.limit < 1:
        raise ValueError(f"limit is {where.limit}; give a positive number of entries")
    query = select(AuditLog).where(AuditLog.merchant_id == merchant_id)
    if where.actor:
        query = query.where(AuditLog.actor == where.actor)
    if where.action:
        query = query.where(AuditLog.action.startswith(where.action) if where.action.endswith(".") else AuditLog.action == where.action)
    if where.entity_id:
        query = query.where(AuditLog.entity_id == where.entity_id)
    if where.since:
        query = query.where(AuditLog.created_at >= where.since)
    if where.until:
        query = query.where(AuditLog.created_at < where.until)
    return list(session.scalars(query.order_by(AuditLog.id.desc()).limit(where.limit)))


CSV_COLUMNS = ("id", "created_at", "actor", "action", "entity_type", "entity_id", "details")


def to_csv(rows: list[AuditLog]) -> str:
    """The entries as CSV (details as JSON); cells that a spreadsheet would run as a formula are quoted with a '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        cells = [row.id, row.created_at.isoformat(), row.actor, row.action, row.entity_type, row.entity_id,
                 json.dumps(row.details, ensure_ascii=False, sort_keys=True)]
        writer.writerow([_inert(str(cell)) for cell in cells])
    return out.getvalue()


def _inert(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
