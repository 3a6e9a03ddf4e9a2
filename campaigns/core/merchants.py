"""Merchants (tenants)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.identifiers import InvalidMerchantIdError, validate_merchant_id
from campaigns.core.store.models import Merchant, MerchantBrandVoice

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


# --- brand voice -----------------------------------------------------------------------------------

MAX_WORDS_TO_AVOID = 100


class BrandVoiceError(ValueError):
    """A brand voice setting out of range; the message names the setting and the fix."""


def get_brand_voice(session: Session, merchant_id: str) -> MerchantBrandVoice | None:
    """The merchant's brand voice, or None when it has none (Leo then uses CAMPAIGNS_BRAND_VOICE and the format defaults)."""
    require_merchant(session, merchant_id)
    return session.get(MerchantBrandVoice, merchant_id)


def set_brand_voice(session: Session, merchant_id: str, *, actor: str, description: str | None = None,
                    words_to_avoid: list[str] | None = None, emoji: bool | None = None, hashtag_count: int | None = None,
                    clear_hashtag_count: bool = False, sign_off: str | None = None) -> MerchantBrandVoice:
    """Create or change the merchant's brand voice; only the settings given change. Audited as ``merchant.brand_voice``."""
    require_merchant(session, merchant_id)
    voice = session.get(MerchantBrandVoice, merchant_id)
    if voice is None:
        voice = MerchantBrandVoice(merchant_id=merchant_id, description="", words_to_avoid=[], emoji=False, hashtag_count=None, sign_off="")
        session.add(voice)
    if description is not None:
        if len(description) > 2000:
            raise BrandVoiceError("description: at most 2,000 characters; describe the tone in a few sentences")
        voice.description = description.strip()
    if words_to_avoid is not None:
        words = list(dict.fromkeys(w.strip() for w in words_to_avoid if w and w.strip()))
        if len(words) > MAX_WORDS_TO_AVOID or any(len(w) > 60 for w in words):
            raise BrandVoiceError(f"words to avoid: at most {MAX_WORDS_TO_AVOID} words or phrases of at most 60 characters each")
        voice.words_to_avoid = words
    if emoji is not None:
        voice.emoji = emoji
    if clear_hashtag_count:
        voice.hashtag_count = None
    elif hashtag_count is not None:
        if not 0 <= hashtag_count <= 30:
            raise BrandVoiceError(f"hashtag count {hashtag_count}: use a number from 0 to 30")
        voice.hashtag_count = hashtag_count
    if sign_off is not None:
        if len(sign_off) > 200 or "\n" in sign_off.strip():
            raise BrandVoiceError("sign-off: one line of at most 200 characters")
        voice.sign_off = sign_off.strip()
    session.flush()
    record(session, merchant_id, actor, "merchant.brand_voice", "merchant", merchant_id, words_to_avoid=list(voice.words_to_avoid),
           emoji=voice.emoji, hashtag_count=voice.hashtag_count, sign_off=voice.sign_off)
    return voice
