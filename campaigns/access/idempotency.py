"""Idempotency records: the response to a request sent with an ``Idempotency-Key``, to replay on a retry.

The record is written in the same transaction as the work it answers, and (api key, idempotency
key) is unique, so of two concurrent requests with one key only one can commit its work; the
other finds the record and replays it. The same key with a different request is refused. A person
calling with an OIDC token (no API key) has their records by (merchant, user, idempotency key).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.store.models import IdempotencyRecord

MAX_KEY_LENGTH = 200
KEY_PATTERN = r"^[!-~]{1,200}$"  # visible ASCII, no spaces: what a UUID or a request id looks like


class IdempotencyMismatch(ValueError):
    """The key was used before with a different request."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([method.upper().encode(), path.encode(), body])).hexdigest()


def check_key(key: str) -> str:
    if not re.fullmatch(KEY_PATTERN, key):
        raise ValueError(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters without spaces, e.g. a UUID")
    return key


def _caller(api_key_id: int | None, user_id: int | None) -> tuple[object, ...]:
    if (api_key_id is None) == (user_id is None):
        raise ValueError("an idempotency record belongs to exactly one caller: an API key or a user")
    return ((IdempotencyRecord.api_key_id == api_key_id,) if api_key_id is not None
            else (IdempotencyRecord.user_id == user_id, IdempotencyRecord.api_key_id.is_(None)))


def find(session: Session, merchant_id: str, api_key_id: int | None, key: str, fingerprint: str, *,
         user_id: int | None = None) -> StoredResponse | None:
    row = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.merchant_id == merchant_id, *_caller(api_key_id, user_id),
                                                          IdempotencyRecord.key == key))
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyMismatch(f"Idempotency-Key {key!r} was already used with a different request; use a new key for a new request")
    return StoredResponse(row.status_code, row.response_body)


def remember(session: Session, merchant_id: str, api_key_id: int | None, key: str, fingerprint: str, status_code: int, body: str, *,
             user_id: int | None = None) -> None:
    _caller(api_key_id, user_id)
    session.add(IdempotencyRecord(merchant_id=merchant_id, api_key_id=api_key_id, user_id=user_id, key=key, request_hash=fingerprint,
                                  status_code=status_code, response_body=body))
    session.flush()
