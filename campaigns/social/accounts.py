"""Social accounts: connect and reconnect them (tokens stored encrypted), read their credentials, mark them for re-authentication.

An account's ``handle`` is the id the platform's API needs (``external_id`` wins when the
platform gave one); every read and write is scoped to the account's merchant.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.crypto import TokenCipher, TokenKeyError, require_cipher
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import OAuthConnection, SocialAccount
from publishers.base import SOCIAL_PLATFORMS, Credentials

ACTIVE = "ACTIVE"
NEEDS_REAUTH = "NEEDS_REAUTH"
REAUTH_HINT = "reconnect it (`campaigns accounts connect` or the Social Scheduler's Connect button), then requeue the post"


class QueueError(ValueError):
    """A social account or post that cannot be accepted as given; the message says how to fix it."""


class AccountNotFoundError(LookupError):
    pass


def valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin") from None
    return name


def add_account(
    session: Session,
    merchant_id: str,
    platform: str,
    handle: str,
    *,
    actor: str,
    access_token: str | None = None,
    refresh_token: str | None = None,
    timezone: str = "UTC",
    cipher: TokenCipher | None = None,
) -> SocialAccount:
    """Connect an account, or reconnect it (new tokens, ACTIVE again). Tokens are stored encrypted.

    `handle` is the id the platform's API needs: the X user id (or @handle), the Facebook
    page id, the Instagram user id, or the LinkedIn author URN (urn:li:organization:123).
    """
    require_merchant(session, merchant_id)
    if platform not in SOCIAL_PLATFORMS:
        raise QueueError(f"unknown platform {platform!r}; use one of {', '.join(SOCIAL_PLATFORMS)}")
    handle = handle.strip()
    if not handle:
        raise QueueError("handle is empty; give the account's id on the platform")
    if platform == "linkedin" and not handle.startswith("urn:li:"):
        raise QueueError("a LinkedIn account is its author URN, e.g. urn:li:organization:123 or urn:li:person:abc")
    valid_timezone(timezone)
    encrypted: dict[str, str | None] = {}
    if access_token or refresh_token:
        key = require_cipher(cipher)
        encrypted = {
            "access_token_enc": key.encrypt(access_token) if access_token else None,
            "refresh_token_enc": key.encrypt(refresh_token) if refresh_token else None,
        }
    account = session.scalar(select(SocialAccount).where(
        SocialAccount.merchant_id == merchant_id, SocialAccount.platform == platform, SocialAccount.handle == handle))
    action = "account.reconnect" if account is not None else "account.add"
    if account is None:
        account = SocialAccount(merchant_id=merchant_id, platform=platform, handle=handle)
        session.add(account)
    account.timezone = timezone
    account.status = ACTIVE
    account.reauth_reason = None
    for name, value in encrypted.items():
        setattr(account, name, value)
    session.flush()
    record(session, merchant_id, actor, action, "social_account", str(account.id), platform=platform, handle=handle,
           has_access_token=bool(access_token), has_refresh_token=bool(refresh_token))
    return account


def list_accounts(session: Session, merchant_id: str) -> list[SocialAccount]:
    return list(session.scalars(select(SocialAccount).where(SocialAccount.merchant_id == merchant_id).order_by(SocialAccount.platform, SocialAccount.handle)))


def get_account(session: Session, merchant_id: str, account_id: int) -> SocialAccount:
    account = session.scalar(select(SocialAccount).where(SocialAccount.merchant_id == merchant_id, SocialAccount.id == account_id))
    if account is None:
        raise AccountNotFoundError(f"no social account {account_id} for merchant {merchant_id!r}; list them with `campaigns accounts list`")
    return account


def account_ref(account: SocialAccount) -> str:
    # `external_id` is what the platform API wants; `handle` is the display name (and the fallback)
    return account.external_id or account.handle


def credentials_for(account: SocialAccount, cipher: TokenCipher | None) -> Credentials:
    if not account.access_token_enc and not account.refresh_token_enc:
        return Credentials.of(account_ref(account))
    key = require_cipher(cipher, f"read the stored token of {account.platform} account {account.handle}")
    return Credentials.of(
        account_ref(account),
        key.decrypt(account.access_token_enc) if account.access_token_enc else "",
        key.decrypt(account.refresh_token_enc) if account.refresh_token_enc else None,
    )


def mark_needs_reauth(session: Session, merchant_id: str, account_id: int, reason: str, actor: str) -> None:
    account = get_account(session, merchant_id, account_id)
    if account.status != NEEDS_REAUTH:
        account.status = NEEDS_REAUTH
        account.reauth_reason = reason
        record(session, merchant_id, actor, "account.needs_reauth", "social_account", str(account.id), reason=reason)


def status_label(account: SocialAccount) -> str:
    """How the app and the CLI show an account's state."""
    return "reconnect needed" if account.status == NEEDS_REAUTH else account.status.lower()


def rotate_token_key(session: Session, cipher: TokenCipher, actor: str) -> dict[str, int]:
    """Re-encrypt every stored token (and pending PKCE verifier) with the first key of `cipher`, audited per merchant.

    Run with ``CAMPAIGNS_TOKEN_KEY=new,old``: the old keys still decrypt, the new one encrypts.
    A token no key can read is dropped and its account marked "reconnect needed".
    """
    counts = {"accounts": 0, "tokens": 0, "unreadable": 0, "connections": 0}
    by_merchant: dict[str, dict[str, int]] = {}
    for account in session.scalars(select(SocialAccount).order_by(SocialAccount.id).with_for_update()):
        if not account.access_token_enc and not account.refresh_token_enc:
            continue
        mine = by_merchant.setdefault(account.merchant_id, {"tokens": 0, "unreadable": 0})
        try:
            rotated = {name: cipher.rotate(value) for name in ("access_token_enc", "refresh_token_enc") if (value := getattr(account, name))}
        except TokenKeyError:
            mine["unreadable"] += 1
            counts["unreadable"] += 1
            account.access_token_enc = account.refresh_token_enc = None
            mark_needs_reauth(session, account.merchant_id, account.id, "its stored token could not be decrypted with any CAMPAIGNS_TOKEN_KEY "
                              "key during key rotation", actor)
            continue
        for name, value in rotated.items():
            setattr(account, name, value)
        counts["accounts"] += 1
        counts["tokens"] += len(rotated)
        mine["tokens"] += len(rotated)
    for connection in session.scalars(select(OAuthConnection).where(OAuthConnection.code_verifier_enc.is_not(None)).with_for_update()):
        try:
            connection.code_verifier_enc = cipher.rotate(connection.code_verifier_enc)
            counts["connections"] += 1
        except TokenKeyError:
            connection.code_verifier_enc = None  # that connection can no longer complete; it fails with a clear reason
    for merchant_id, mine in sorted(by_merchant.items()):
        record(session, merchant_id, actor, "keys.rotate", "social_account", "*", tokens=mine["tokens"], unreadable=mine["unreadable"])
    return counts
