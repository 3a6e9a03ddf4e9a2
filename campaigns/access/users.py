"""Users and their merchant memberships: add, list, grant, revoke, disable, reset a password, the four-eyes rule.

A user is global (one sign-in, several merchants); a membership gives them one role on one merchant. Every change
to a membership is audited on that merchant; a change to the user (disable, password reset) on each merchant they
belong to. A merchant always keeps at least one owner, so nobody can lock a merchant out of its own settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns.access.passwords import hash_password
from campaigns.access.roles import Permission, Role, require
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import Membership, Merchant, MerchantPolicy, User, UserSession
from campaigns.core.store.types import utcnow

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserExistsError(ValueError):
    pass


class UnknownUserError(LookupError):
    pass


class LastOwnerError(ValueError):
    pass


@dataclass(frozen=True)
class Member:
    email: str
    display_name: str
    role: Role
    disabled: bool


@dataclass(frozen=True)
class MerchantRole:
    merchant_id: str
    merchant_name: str
    role: Role


def normalise_email(email: str) -> str:
    clean = email.strip().lower()
    if not EMAIL.match(clean) or len(clean) > 254:
        raise ValueError(f"{email!r} is not an email address; give one like ana@example.com")
    return clean


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {value!r}; use one of: {', '.join(r.value for r in Role)}") from None


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise UnknownUserError(f"no user {email.strip().lower()!r}; add them with `campaigns users add {email.strip().lower()}`")
    return user


def add_user(session: Session, email: str, actor: str, *, display_name: str = "", password: str | None = None) -> User:
    """A new user; with a password they may sign in locally, without one only through the identity provider."""
    clean = normalise_email(email)
    if find_user(session, clean) is not None:
        raise UserExistsError(f"user {clean!r} exists already; change their roles with `campaigns users grant`")
    user = User(email=clean, display_name=display_name.strip()[:200], password_hash=hash_password(password) if password is not None else None)
    session.add(user)
    session.flush()
    return user


def role_of(session: Session, user_id: int, merchant_id: str) -> Role | None:
    """The user's role on the merchant, or None (no membership, or the user is disabled)."""
    row = session.execute(
        select(Membership.role, User.disabled_at).join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id, Membership.merchant_id == merchant_id)
    ).first()
    if row is None or row.disabled_at is not None:
        return None
    return Role(row.role)


def authorize(session: Session, user_id: int, merchant_id: str, permission: Permission) -> Role:
    """The user's role on the merchant when it allows `permission`; AccessDenied otherwise (read from the store each call)."""
    role = role_of(session, user_id, merchant_id)
    require(role, permission)
    assert role is not None  # require refuses None
    return role


def memberships_of(session: Session, user_id: int) -> list[MerchantRole]:
    rows = session.execute(
        select(Membership.merchant_id, Merchant.name, Membership.role).join(Merchant, Merchant.id == Membership.merchant_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id, User.disabled_at.is_(None)).order_by(Membership.merchant_id)
    )
    return [MerchantRole(r.merchant_id, r.name, Role(r.role)) for r in rows]


def members(session: Session, merchant_id: str) -> list[Member]:
    require_merchant(session, merchant_id)
    rows = session.execute(
        select(User.email, User.display_name, Membership.role, User.disabled_at).join(Membership, Membership.user_id == User.id)
        .where(Membership.merchant_id == merchant_id).order_by(User.email)
    )
    return [Member(r.email, r.display_name, Role(r.role), r.disabled_at is not None) for r in rows]


def list_users(session: Session, merchant_id: str | None = None) -> list[tuple[User, list[MerchantRole]]]:
    """Every user (or a merchant's members) with all their memberships."""
    query = select(User).order_by(User.email)
    if merchant_id is not None:
        require_merchant(session, merchant_id)
        query = query.join(Membership, Membership.user_id == User.id).where(Membership.merchant_id == merchant_id)
    out = []
    for user in session.scalars(query):
        rows = session.execute(select(Membership.merchant_id, Membership.role).where(Membership.user_id == user.id).order_by(Membership.merchant_id))
        out.append((user, [MerchantRole(r.merchant_id, r.merchant_id, Role(r.role)) for r in rows]))
    return out


def _owners(session: Session, merchant_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Membership).join(User, User.id == Membership.user_id).where(
        Membership.merchant_id == merchant_id, Membership.role == Role.OWNER.value, User.disabled_at.is_(None))) or 0


def _keep_an_owner(session: Session, merchant_id: str, membership: Membership) -> None:
    if membership.role == Role.OWNER.value and _owners(session, merchant_id) <= 1:
        raise LastOwnerError(f"this is the last owner of {merchant_id!r}; grant another user the owner role first")


def grant(session: Session, email: str, merchant_id: str, role: Role | str, actor: str) -> Membership:
    """Give the user `role` on the merchant (replacing the role they had there)."""
    require_merchant(session, merchant_id)
    new_role = parse_role(role) if isinstance(role, str) else role
    user = get_user(session, email)
    membership = session.scalar(select(Membership).where(Membership.user_id == user.id, Membership.merchant_id == merchant_id))
    before = membership.role if membership else None
    if membership is None:
        membership = Membership(user_id=user.id, merchant_id=merchant_id, role=new_role.value, granted_by=actor)
        session.add(membership)
    elif membership.role != new_role.value:
        if new_role is not Role.OWNER:
            _keep_an_owner(session, merchant_id, membership)
        membership.role, membership.granted_by, membership.granted_at = new_role.value, actor, utcnow()
    session.flush()
    if before != new_role.value:
        record(session, merchant_id, actor, "member.grant", "user", user.email, role=new_role.value, before=before)
    return membership


def revoke(session: Session, email: str, merchant_id: str, actor: str) -> None:
    require_merchant(session, merchant_id)
    user = get_user(session, email)
    membership = session.scalar(select(Membership).where(Membership.user_id == user.id, Membership.merchant_id == merchant_id))
    if membership is None:
        raise UnknownUserError(f"{user.email!r} is not a member of {merchant_id!r}; `campaigns users list --merchant {merchant_id}` shows who is")
    _keep_an_owner(session, merchant_id, membership)
    record(session, merchant_id, actor, "member.revoke", "user", user.email, role=membership.role)
    session.delete(membership)
    session.flush()


def _merchants_of(session: Session, user_id: int) -> list[str]:
    return list(session.scalars(select(Membership.merchant_id).where(Membership.user_id == user_id).order_by(Membership.merchant_id)))


def revoke_sessions(session: Session, user_id: int, now: datetime | None = None) -> None:
    session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None)).values(revoked_at=now or utcnow()))


def disable_user(session: Session, email: str, actor: str) -> User:
    """The user can no longer sign in and their open sessions end; memberships stay for the record."""
    user = get_user(session, email)
    if user.disabled_at is not None:
        return user
    for merchant_id in _merchants_of(session, user.id):
        membership = session.scalar(select(Membership).where(Membership.user_id == user.id, Membership.merchant_id == merchant_id))
        assert membership is not None
        _keep_an_owner(session, merchant_id, membership)
    user.disabled_at = utcnow()
    revoke_sessions(session, user.id)
    for merchant_id in _merchants_of(session, user.id):
        record(session, merchant_id, actor, "user.disable", "user", user.email)
    session.flush()
    return user


def enable_user(session: Session, email: str, actor: str) -> User:
    user = get_user(session, email)
    if user.disabled_at is not None:
        user.disabled_at = None
        for merchant_id in _merchants_of(session, user.id):
            record(session, merchant_id, actor, "user.enable", "user", user.email)
    return user


def reset_password(session: Session, email: str, password: str, actor: str, *, merchant_id: str | None = None,
                   actor_user_id: int | None = None) -> User:
    """Set a new password, clear the lockout and end the user's sessions.

    From the app an owner resets the password of a member of their merchant: pass `merchant_id` and the owner's
    `actor_user_id`, and both the owner's role and the user's membership are checked. The CLI runs with the store's
    own credentials and passes neither.
    """
    user = get_user(session, email)
    if merchant_id is not None:
        authorize(session, actor_user_id if actor_user_id is not None else -1, merchant_id, Permission.ADMIN)
        if merchant_id not in _merchants_of(session, user.id):
            raise UnknownUserError(f"{user.email!r} is not a member of {merchant_id!r}")
    user.password_hash = hash_password(password)
    user.failed_attempts, user.locked_until = 0, None
    revoke_sessions(session, user.id)
    for merchant in _merchants_of(session, user.id):
        record(session, merchant, actor, "user.reset_password", "user", user.email)
    session.flush()
    return user


def set_four_eyes(session: Session, merchant_id: str, on: bool, actor: str) -> None:
    """Turn the rule "the author of content may not approve it" on or off for the merchant (audited)."""
    require_merchant(session, merchant_id)
    policy = session.get(MerchantPolicy, merchant_id)
    if policy is None:
        policy = MerchantPolicy(merchant_id=merchant_id, four_eyes=on)
        session.add(policy)
    elif policy.four_eyes == on:
        return
    policy.four_eyes = on
    record(session, merchant_id, actor, "policy.four_eyes", "merchant", merchant_id, on=on)
    session.flush()
