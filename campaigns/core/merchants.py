"""Merchants (tenants)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.store.models import Merchant


class UnknownMerchantError(LookupError):
    pass


def ensure_merchant(session: Session, merchant_id: str, name: str | None = None, timezone: str = "UTC", actor: str = "system") -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        merchant = Merchant(id=merchant_id, name=name or merchant_id, timezone=timezone)
        session.add(merchant)
        session.flush()
        record(session, merchant_id, actor, "merchant.create", "merchant", merchant_id, name=merchant.name)
    return merchant


def require_merchant(session: Session, merchant_id: str) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        known = ", ".join(session.scalars(select(Merchant.id).order_by(Merchant.id))) or "none yet"
        raise UnknownMerchantError(
            f"unknown merchant {merchant_id!r} (known: {known}); create it with `campaigns merchants add {merchant_id}` "
            "or run `campaigns demo-data`"
        )
    return merchant


def list_merchants(session: Session) -> list[Merchant]:
    return list(session.scalars(select(Merchant).order_by(Merchant.id)))
