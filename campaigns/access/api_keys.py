"""Per-merchant API keys: shown once, stored hashed, one role each, expiring, revocable, last use recorded.

A key reads ``co_<prefix>_<secret>``: the prefix (public, unique) finds the row, and only a SHA-256 hash
of the whole key is stored. The secret is 256 random bits, so a fast hash is enough (a slow password
hash protects guessable secrets; this one is not guessable) and every request can be checked quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaigns.access.roles import Role
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import ApiKey
from campaigns.core.store.types import utcnow

KEY_PREFIX = "co_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per key
EXPIRED = "the API key has expired; create a new one with `campaigns api-keys create`"


class ApiKeyError(ValueError):
    """The key is malformed, unknown, revoked or expired (the API answers 401 with this message)."""


class ApiKeyNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class CreatedKey:
    id: int
    key: str  # the only time the full key exists outside the caller's hands
    prefix: str
    role: Role
    expires_at: datetime | None


@dataclass(frozen=True)
class KeyIdentity:
    """Who a verified key speaks for."""

    id: int
    merchant_id: str
    role: Role
    name: str
    expires_at: datetime | None = None

    @property
    def actor(self) -> str:
        return f"api-key:{self.name}"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, merchant_id: str, name: str, role: Role | str, *, actor: str,
               expires_in: timedelta | None = None, now: datetime | None = None) -> CreatedKey:
    require_merchant(session, merchant_id)
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("give the key a name of 1 to 200 characters saying who uses it, e.g. --name 'shop backend'")
    try:
        role = Role(str(role).lower())
    except ValueError:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}") from None
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("the expiry must be in the future, e.g. --expires-in-days 90")
    now = now or utcnow()
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(merchant_id=merchant_id, prefix=prefix, secret_hash=_hash(key), name=name, role=role.value, created_by=actor,
                 created_at=now, expires_at=now + expires_in if expires_in else None)
    session.add(row)
    session.flush()
    record(session, merchant_id, actor, "api_key.create", "api_key", str(row.id), name=name, role=role.value,
           expires_at=row.expires_at.isoformat() if row.expires_at else None)
    return CreatedKey(row.id, key, prefix, role, row.expires_at)


def list_keys(session: Session, merchant_id: str) -> list[ApiKey]:
    require_merchant(session, merchant_id)
    return list(session.scalars(select(ApiKey).where(ApiKey.merchant_id == merchant_id).order_by(ApiKey.id)))


def revoke_key(session: Session, merchant_id: str, key_id: int, *, actor: str, now: datetime | None = None) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.merchant_id == merchant_id, ApiKey.id == key_id))
    if row is None:
        raise ApiKeyNotFoundError(f"no API key {key_id} for merchant {merchant_id!r}; list them with `campaigns api-keys list`")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        record(session, merchant_id, actor, "api_key.revoke", "api_key", str(row.id), name=row.name)
    return row


def verify_key(session: Session, key: str, *, now: datetime | None = None) -> KeyIdentity:
    """The identity of a presented key, recording its use; raises ApiKeyError for anything else."""
    now = now or utcnow()
    parts = key.strip().split("_", 2) if key.startswith(KEY_PREFIX) else []
    if len(parts) != 3 or not parts[1]:
        raise ApiKeyError("the API key is malformed; send the whole key as 'Authorization: Bearer co_...'")
    keys = ApiKey.__table__.c  # a plain row, not an ORM object: this runs on every API request
    row = session.execute(select(keys.id, keys.merchant_id, keys.role, keys.name, keys.secret_hash, keys.revoked_at, keys.expires_at,
                                 keys.last_used_at).where(keys.prefix == parts[1])).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(key.strip())):
        raise ApiKeyError("the API key is not valid; create one with `campaigns api-keys create`")
    if row.revoked_at is not None:
        raise ApiKeyError("the API key was revoked; create a new one with `campaigns api-keys create`")
    if row.expires_at is not None and row.expires_at <= now:
        raise ApiKeyError(EXPIRED)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return KeyIdentity(row.id, row.merchant_id, Role(row.role), row.name, row.expires_at)
