"""The audit log: every service write records who did what to which entity."""

from __future__ import annotations

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
