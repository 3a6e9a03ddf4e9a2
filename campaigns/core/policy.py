"""Per-merchant access policy every context may consult; the access context owns changing it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.store.models import MerchantPolicy


def four_eyes(session: Session, merchant_id: str) -> bool:
    """Whether the merchant requires that the author of content is not the one who approves it (off by default)."""
    return bool(session.scalar(select(MerchantPolicy.four_eyes).where(MerchantPolicy.merchant_id == merchant_id)))
