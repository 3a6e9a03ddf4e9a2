"""Merchants (tenants)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.identifiers import InvalidMerchantIdError, validate_merchant_id
from campaigns.core.store.models import Merchant

__all__ = ["InvalidMerchantIdError", "MerchantChange", "UnknownMerchantError", "add_or_update_merchant", "ensure_merchant",
           "list_merchants", "require_merchant"]

MAX_NAME = 200  # merchants.name


class UnknownMerchantError(LookupError):
    pass


@dataclass(frozen=True)
class MerchantChange:
    """What `add_or_update_merchant` did: created, or which fields changed (old, new), or nothing."""

    merchant: Merchant
    created: bool
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)


def _check_name(name: str | None) -> str | None:
    if name is not None and not 0 < len(name.strip()) <= MAX_NAME:
        raise ValueError(f"merchant name: give 1 to {MAX_NAME} characters")
    return name.strip() if name is not None else None


def ensure_merchant(session: Session, merchant_id: str, name: str | None = None, timezone: str = "UTC", actor: str = "system") -> Merchant:
    """The merchant, created when missing (an existing one is left as it is; see `add_or_update_merchant`)."""
    validate_merchant_id(merchant_id)
    name = _check_name(name)
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        merchant = Merchant(id=merchant_id, name=name or merchant_id, timezone=timezone)
        session.add(merchant)
        session.flush()
        record(session, merchant_id, actor, "merchant.create", "merchant", merchant_id, name=merchant.name)
    return merchant


def add_or_update_merchant(session: Session, merchant_id: str, name: str | None = None, timezone: str | None = None,
                           actor: str = "system") -> MerchantChange:
    """Create the merchant, or set the name and time zone given explicitly on an existing one (audited); says which."""
    validate_merchant_id(merchant_id)
    name = _check_name(name)
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        return MerchantChange(ensure_merchant(session, merchant_id, name, timezone or "UTC", actor), created=True)
    changed = {attr: (getattr(merchant, attr), value) for attr, value in (("name", name), ("timezone", timezone))
               if value is not None and value != getattr(merchant, attr)}
    for attr, (_, value) in changed.items():
        setattr(merchant, attr, value)
    if changed:
        session.flush()
        record(session, merchant_id, actor, "merchant.update", "merchant", merchant_id, **{k: new for k, (_, new) in changed.items()})
    return MerchantChange(merchant, created=False, changed=changed)


def require_merchant(session: Session, merchant_id: str) -> Merchant:
    """The merchant, or UnknownMerchantError. The message never lists other merchants: a caller learns only about its own id."""
    validate_merchant_id(merchant_id)
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise UnknownMerchantError(
            f"unknown merchant {merchant_id!r}: no such merchant is known to you; check the id, "
            f"create it with `campaigns merchants add {merchant_id}`, or run `campaigns demo-data`"
        )
    return merchant


def list_merchants(session: Session) -> list[Merchant]:
    return list(session.scalars(select(Merchant).order_by(Merchant.id)))
