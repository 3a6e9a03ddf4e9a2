"""Connecting social accounts by OAuth: the flow's state kept server-side, the callback, token refresh.

1. `start_connection` keeps a pending connection (a hash of ``state``, the PKCE verifier
   encrypted, the redirect URI, an expiry) and returns the platform's authorization URL.
2. The platform sends the person to ``CAMPAIGNS_PUBLIC_URL/oauth/callback/<platform>`` with
   ``state`` and ``code`` (or ``error``); the public server's route calls `complete_connection`,
   which claims the pending connection once, exchanges the code, checks the granted scopes,
   discovers the accounts (the X user, the LinkedIn organizations, the Facebook pages, the
   Instagram professional accounts of those pages) and stores their tokens encrypted.
   Headless servers paste the redirect URL instead (`complete_from_redirect_url`).
3. `refresh_account` renews an account's tokens (before they expire and after a 401) under a
   lock on the account; a refusal marks the account "reconnect needed".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.crypto import MissingTokenKeyError, TokenCipher, TokenKeyError, cipher_from_settings, require_cipher
from campaigns.core.merchants import require_merchant
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import OAuthConnection, SocialAccount
from campaigns.core.store.types import utcnow
from campaigns.social.accounts import ACTIVE, account_ref, add_account, mark_needs_reauth, valid_timezone
from publishers.oauth import OAUTH_PLATFORMS, OAuthClient, OAuthError, PlatformAccount, TokenSet, build_oauth_clients, new_pkce, new_state

PENDING, EXCHANGING, CONNECTED, FAILED = "PENDING", "EXCHANGING", "CONNECTED", "FAILED"
SYSTEM_ACTOR = "oauth-callback"


class ConnectError(ValueError):
    """A connection that cannot be started or completed as asked; the message says how to fix it."""


@dataclass(frozen=True)
class StartedConnection:
    connection_id: int
    platform: str
    authorization_url: str = field(repr=False)
    redirect_uri: str
    expires_at: datetime


@dataclass(frozen=True)
class ConnectionResult:
    connection_id: int
    merchant_id: str
    platform: str
    status: str
    accounts: tuple[tuple[int, str], ...] = ()  # (account id, handle)
    error: str | None = None
    error_kind: str | None = None


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def clients_from_settings(settings: Settings) -> dict[str, OAuthClient]:
    return build_oauth_clients(settings.oauth_config())


def start_connection(
    session: Session,
    merchant_id: str,
    platform: str,
    *,
    actor: str,
    clients: Mapping[str, OAuthClient],
    redirect_uri: str,
    cipher: TokenCipher | None,
    now: datetime | None = None,
    ttl: timedelta = timedelta(minutes=15),
    timezone: str = "UTC",
    target: str | None = None,
) -> StartedConnection:
    """Keep a pending connection and return the URL the person opens to grant access."""
    require_merchant(session, merchant_id)
    if platform not in OAUTH_PLATFORMS:
        raise ConnectError(f"unknown platform {platform!r}; use one of {', '.join(OAUTH_PLATFORMS)}")
    client = clients[platform]
    valid_timezone(timezone)
    key = require_cipher(cipher, "store the tokens of the account being connected")
    now = now or utcnow()
    state = new_state()
    verifier, challenge = new_pkce() if client.uses_pkce else (None, None)
    try:
        url = client.authorization_url(state=state, redirect_uri=redirect_uri, code_challenge=challenge)
    except OAuthError as exc:
        raise ConnectError(exc.reason) from None
    row = OAuthConnection(merchant_id=merchant_id, platform=platform, state_hash=_state_hash(state),
                          code_verifier_enc=key.encrypt(verifier) if verifier else None, redirect_uri=redirect_uri,
                          scopes=" ".join(client.scopes), timezone=timezone, target=(target or "").strip() or None, started_by=actor,
                          status=PENDING, account_ids=[], expires_at=now + ttl)
    session.add(row)
    session.flush()
    record(session, merchant_id, actor, "account.connect_start", "oauth_connection", str(row.id), platform=platform, target=row.target)
    return StartedConnection(row.id, platform, url, redirect_uri, row.expires_at)


def connection_status(session: Session, merchant_id: str, connection_id: int, now: datetime | None = None) -> ConnectionResult:
    row = session.scalar(select(OAuthConnection).where(OAuthConnection.merchant_id == merchant_id, OAuthConnection.id == connection_id))
    if row is None:
        raise ConnectError(f"no account connection {connection_id} for merchant {merchant_id!r}; start one with `campaigns accounts connect`")
    handles = dict(session.execute(select(SocialAccount.id, SocialAccount.handle).where(
        SocialAccount.merchant_id == merchant_id, SocialAccount.id.in_(row.account_ids or []))).tuples().all())
    status = FAILED if row.status == PENDING and row.expires_at < (now or utcnow()) else row.status
    error = row.error if status == row.status else "the connection expired before the platform called back; start it again"
    return ConnectionResult(row.id, merchant_id, row.platform, status, tuple((i, handles.get(i, "")) for i in row.account_ids or []), error)


def _claim(store_url: str, state: str, platform: str | None, now: datetime, cipher: TokenCipher | None) -> tuple[OAuthConnection, str | None]:
    """Take the pending connection of `state` exactly once (a repeated callback finds it taken)."""
    with session_scope(store_url) as session:
        row = session.scalar(select(OAuthConnection).where(OAuthConnection.state_hash == _state_hash(state)))
        if row is None:
            raise ConnectError("unknown state: this authorization was not started here or has been cleaned up; start the connection again")
        if platform is not None and row.platform != platform:
            raise ConnectError(f"this authorization was started for {row.platform}, not {platform}; start the connection again")
        if row.status != PENDING:
            raise ConnectError(f"this authorization was already used ({row.status.lower()}); start the connection again")
        claimed = session.execute(update(OAuthConnection).where(OAuthConnection.id == row.id, OAuthConnection.status == PENDING)
                                  .values(status=EXCHANGING).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            raise ConnectError("this authorization is being completed by another request; wait for it")
        verifier = None
        if row.code_verifier_enc:
            try:
                verifier = require_cipher(cipher, "read the connection's PKCE verifier").decrypt(row.code_verifier_enc)
            except TokenKeyError:
                verifier = None  # answered below as a failed connection
        session.expunge(row)
    if row.expires_at < now:
        raise _Failed("expired", "the connection expired before the platform called back; start it again")
    if row.code_verifier_enc and verifier is None:
        raise _Failed("misconfigured", "the connection's PKCE verifier cannot be read with CAMPAIGNS_TOKEN_KEY (was the key changed?); start it again")
    return row, verifier


class _Failed(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def complete_connection(
    store_url: str,
    state: str,
    *,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    platform: str | None = None,
    clients: Mapping[str, OAuthClient] | None = None,
    cipher: TokenCipher | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ConnectionResult:
    """What the callback route calls with the query's ``state`` and ``code`` (or ``error``).

    Raises ConnectError for a state that is unknown, used or for another platform (answer 400);
    otherwise returns the result, CONNECTED or FAILED with the reason, which is also stored for
    the person who started the connection (the CLI polls it).
    """
    if not state:
        raise ConnectError("the callback has no state parameter; start the connection again")
    if clients is None or cipher is None:
        settings = settings or get_settings()
        clients = clients if clients is not None else clients_from_settings(settings)
        cipher = cipher if cipher is not None else cipher_from_settings(settings)
    now = now or utcnow()
    try:
        row, verifier = _claim(store_url, state, platform, now, cipher)
    except _Failed as failed:
        return _fail_by_state(store_url, state, failed.kind, failed.reason, now)
    client = clients[row.platform]
    try:
        if error or not code:
            kind = "access_denied" if (error or "").startswith(("access_denied", "user_cancelled")) else "invalid_grant"
            raise OAuthError(kind, f"{row.platform} did not grant access: {error or 'no code'}{f' ({error_description})' if error_description else ''}",
                             platform=row.platform)
        tokens = client.exchange(code, redirect_uri=row.redirect_uri, code_verifier=verifier)
        if tokens.scopes:
            client.check_scopes(tokens.scopes)
        found = [a for a in client.accounts(tokens) if row.target is None or row.target in (a.external_id, a.handle, a.handle.lstrip("@"))]
        if not found:
            where = f" matching {row.target}" if row.target else ""
            raise OAuthError("no_accounts", f"the grant reaches no {row.platform} account{where} that can publish "
                             f"({_no_accounts_hint(row.platform)})", platform=row.platform)
    except OAuthError as exc:
        return _finish(store_url, row, now, kind=exc.kind, error=exc.reason)
    except Exception as exc:
        # a bug must not leave the connection claimed for ever: record it, then let it surface
        _finish(store_url, row, now, kind="error", error=f"unexpected error: {type(exc).__name__}")
        raise
    try:
        return _finish(store_url, row, now, accounts=found, cipher=cipher)
    except (ValueError, LookupError, TokenKeyError) as exc:  # an account the store refuses (QueueError), a key gone meanwhile
        return _finish(store_url, row, now, kind="misconfigured", error=f"the accounts could not be stored: {exc}")


def _no_accounts_hint(platform: str) -> str:
    return {
        "linkedin": "the member must be an administrator of the organization page",
        "facebook": "the person must be able to create content on the page, and choose the page in the dialog",
        "instagram": "link the Instagram professional account to a Facebook page and choose that page in the dialog",
    }.get(platform, "connect with the account you want to publish as")


def _fail_by_state(store_url: str, state: str, kind: str, reason: str, now: datetime) -> ConnectionResult:
    with session_scope(store_url) as session:
        row = session.scalar(select(OAuthConnection).where(OAuthConnection.state_hash == _state_hash(state)))
        session.expunge(row)
    return _finish(store_url, row, now, kind=kind, error=reason)


def _finish(store_url: str, row: OAuthConnection, now: datetime, *, accounts: list[PlatformAccount] = (), cipher: TokenCipher | None = None,
            kind: str | None = None, error: str | None = None) -> ConnectionResult:
    with session_scope(store_url) as session:
        stored = session.scalar(select(OAuthConnection).where(OAuthConnection.id == row.id, OAuthConnection.merchant_id == row.merchant_id))
        connected: list[tuple[int, str]] = []
        if error is None:
            for found in accounts:
                account = add_account(session, row.merchant_id, row.platform, found.handle, actor=row.started_by, timezone=row.timezone,
                                      access_token=found.tokens.access_token.get_secret_value(),
                                      refresh_token=found.tokens.refresh_token.get_secret_value() if found.tokens.refresh_token else None,
                                      cipher=cipher)
                account.external_id = found.external_id
                _set_expiry(account, found.tokens, now)
                connected.append((account.id, account.handle))
            stored.status, stored.account_ids = CONNECTED, [i for i, _ in connected]
            record(session, row.merchant_id, row.started_by, "account.connect", "oauth_connection", str(row.id), platform=row.platform,
                   accounts=[h for _, h in connected])
        else:
            stored.status, stored.error = FAILED, error
            record(session, row.merchant_id, SYSTEM_ACTOR, "account.connect_failed", "oauth_connection", str(row.id), platform=row.platform,
                   kind=kind, reason=error)
        stored.completed_at = now
        stored.code_verifier_enc = None  # spent
    return ConnectionResult(row.id, row.merchant_id, row.platform, stored.status, tuple(connected), error, kind)


def complete_from_redirect_url(store_url: str, redirect_url: str, **kwargs) -> ConnectionResult:
    """The headless path: the person pastes the address the platform redirected their browser to."""
    query = parse_qs(urlparse(redirect_url.strip()).query)
    state = (query.get("state") or [""])[0]
    if not state:
        raise ConnectError("the pasted address has no state parameter; paste the whole address the browser was sent to after granting access")
    first = lambda name: (query.get(name) or [None])[0]  # noqa: E731
    platform = urlparse(redirect_url.strip()).path.rstrip("/").rsplit("/", 1)[-1]
    return complete_connection(store_url, state, code=first("code"), error=first("error"),
                               error_description=first("error_description") or first("error_message"),
                               platform=platform if platform in OAUTH_PLATFORMS else None, **kwargs)


# --- refresh -----------------------------------------------------------------------------


def _set_expiry(account: SocialAccount, tokens: TokenSet, now: datetime) -> None:
    account.token_expires_at = now + timedelta(seconds=tokens.expires_in) if tokens.expires_in else None
    if tokens.refresh_expires_in:
        account.refresh_expires_at = now + timedelta(seconds=tokens.refresh_expires_in)
    elif tokens.refresh_token is None:
        account.refresh_expires_at = None
    if tokens.scopes:
        account.scopes = " ".join(sorted(tokens.scopes))


def store_refreshed(session: Session, account: SocialAccount, tokens: TokenSet, cipher: TokenCipher, now: datetime, actor: str) -> None:
    account.access_token_enc = cipher.encrypt(tokens.access_token.get_secret_value())
    if tokens.refresh_token is not None:
        account.refresh_token_enc = cipher.encrypt(tokens.refresh_token.get_secret_value())
    _set_expiry(account, tokens, now)
    record(session, account.merchant_id, actor, "account.token_refresh", "social_account", str(account.id), platform=account.platform)


def refresh_account(session: Session, account: SocialAccount, client: OAuthClient, cipher: TokenCipher | None, now: datetime, actor: str) -> TokenSet:
    """Renew one account's tokens and store them; OAuthError when the platform refuses (kind says whether to reconnect)."""
    key = require_cipher(cipher, "store the refreshed token")
    if not account.refresh_token_enc:
        raise OAuthError("expired", "no refresh token is stored; connect the account again", platform=account.platform)
    refresh_token = key.decrypt(account.refresh_token_enc)
    tokens = client.renew(account_ref(account), refresh_token)
    store_refreshed(session, account, tokens, key, now, actor)
    return tokens


def purge_connections(session: Session, now: datetime, keep: timedelta = timedelta(days=7)) -> int:
    """Forget started connections whose time ran out more than `keep` ago (their outcome was shown long since)."""
    return session.execute(delete(OAuthConnection).where(OAuthConnection.expires_at < now - keep)
                           .execution_options(synchronize_session=False)).rowcount or 0


def refresh_due(store_url: str, clients: Mapping[str, OAuthClient], cipher: TokenCipher | None, *, now: datetime | None = None,
                margin: timedelta = timedelta(days=1), actor: str = "token-refresher") -> dict[str, list[str]]:
    """Refresh every ACTIVE account whose token expires within `margin`; refusals mark it "reconnect needed".

    Also forgets connections that expired more than a week ago.

    Returns the handles by outcome (refreshed, reconnect, later).
    """
    now = now or utcnow()
    out: dict[str, list[str]] = {"refreshed": [], "reconnect": [], "later": []}
    with session_scope(store_url) as session:
        purge_connections(session, now)
        due = session.execute(select(SocialAccount.id, SocialAccount.merchant_id).where(
            SocialAccount.status == ACTIVE, SocialAccount.token_expires_at.is_not(None), SocialAccount.token_expires_at <= now + margin,
            SocialAccount.refresh_token_enc.is_not(None))).tuples().all()
    for account_id, merchant_id in due:
        with session_scope(store_url) as session:
            account = session.scalar(select(SocialAccount).where(SocialAccount.id == account_id, SocialAccount.merchant_id == merchant_id))
            label = f"{account.platform} {account.handle}"
            try:
                refresh_account(session, account, clients[account.platform], cipher, now, actor)
                out["refreshed"].append(label)
            except OAuthError as exc:
                if exc.kind == "unavailable":
                    out["later"].append(label)
                    continue
                mark_needs_reauth(session, merchant_id, account_id, f"the token cannot be refreshed ({exc.reason})", actor)
                out["reconnect"].append(label)
            except MissingTokenKeyError:
                out["later"].append(label)
            except TokenKeyError as exc:
                mark_needs_reauth(session, merchant_id, account_id, str(exc), actor)
                out["reconnect"].append(label)
    return out
