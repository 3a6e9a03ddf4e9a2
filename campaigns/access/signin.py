"""Signing in: local passwords with a lockout, identity-provider sign-ins, and the app's sessions.

`sign_in` never raises for a wrong password: the failed attempt and the lockout counter must be committed even
though the sign-in failed, so it returns the outcome for the shell to show. Messages never say whether the email
exists. Sessions are random tokens of which only the sha256 is stored; they end at `expires_at`, when the user signs
out, is disabled or has their password reset.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.access.passwords import hash_password, needs_rehash, verify_password
from campaigns.access.users import find_user, normalise_email
from campaigns.core.store.models import LoginAttempt, User, UserSession
from campaigns.core.store.types import utcnow

MAX_FAILURES = 5  # consecutive wrong passwords before the account locks
LOCKOUT = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)  # a working day; then sign in again
WRONG = "wrong email or password"


class SessionInvalidError(LookupError):
    pass


@dataclass(frozen=True)
class SignIn:
    user: User | None
    token: str | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.token is not None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _attempt(session: Session, email: str, succeeded: bool, reason: str, now: datetime) -> None:
    session.add(LoginAttempt(email=email[:254], succeeded=succeeded, reason=reason, attempted_at=now))


def start_session(session: Session, user: User, method: str, now: datetime | None = None, ttl: timedelta = SESSION_TTL) -> str:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=_token_hash(token), user_id=user.id, method=method, created_at=now, expires_at=now + ttl))
    user.last_sign_in_at = now
    session.flush()
    return token


def sign_in(session: Session, email: str, password: str, now: datetime | None = None) -> SignIn:
    """Check a local password; on success a new session token. Commit the session whatever the outcome."""
    now = now or utcnow()
    clean = email.strip().lower()
    user = find_user(session, clean)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)  # same cost as any other answer
        _attempt(session, clean, False, "locked", now)
        return SignIn(None, None, f"too many wrong passwords: this account is locked until {user.locked_until:%H:%M} UTC, "
                                  "or until an owner resets its password")
    if user is None or not verify_password(user.password_hash, password):
        if user is None:
            verify_password(None, password)
        _attempt(session, clean, False, "unknown" if user is None else "wrong_password", now)
        if user is not None:
            user.failed_attempts += 1
            if user.failed_attempts >= MAX_FAILURES:
                user.locked_until, user.failed_attempts = now + LOCKOUT, 0
        session.flush()
        return SignIn(None, None, WRONG)
    if user.disabled_at is not None:
        _attempt(session, clean, False, "disabled", now)
        return SignIn(None, None, "this account is disabled; ask an owner of your merchant")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_attempts, user.locked_until = 0, None
    _attempt(session, clean, True, "password", now)
    return SignIn(user, start_session(session, user, "password", now))


def sign_in_external(session: Session, email: str, now: datetime | None = None) -> SignIn:
    """A person the identity provider vouched for: they need an account here (no self sign-up), not disabled."""
    now = now or utcnow()
    try:
        clean = normalise_email(email)
    except ValueError:
        return SignIn(None, None, "the identity provider gave no usable email address; ask your administrator to release the `email` claim")
    user = find_user(session, clean)
    if user is None or user.disabled_at is not None:
        _attempt(session, clean, False, "oidc_unknown" if user is None else "disabled", now)
        return SignIn(None, None, f"{clean} has no active account here; ask an owner to add you with `campaigns users add {clean}` and grant you a role")
    _attempt(session, clean, True, "oidc", now)
    return SignIn(user, start_session(session, user, "oidc", now))


def session_user(session: Session, token: str, now: datetime | None = None) -> User:
    """The user of a live session; SessionInvalidError when the token is unknown, expired, revoked or the user disabled."""
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise SessionInvalidError("your session has ended; sign in again")
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        raise SessionInvalidError("this account is disabled; ask an owner of your merchant")
    return user


def sign_out(session: Session, token: str, now: datetime | None = None) -> None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
