"""Local passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommendation), never the password itself."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a cap keeps a huge paste from costing memory

_hasher = PasswordHasher()  # argon2id
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone's")


class PasswordPolicyError(ValueError):
    pass


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"the password has {len(password)} characters; use at least {MIN_LENGTH} (a passphrase of a few words is fine)")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"the password is longer than {MAX_LENGTH} characters; use a shorter one")
    if not password.strip():
        raise PasswordPolicyError("the password is only spaces; choose one with letters or words")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash (an identity-provider account) never matches, at the same cost."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password[:MAX_LENGTH]) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
