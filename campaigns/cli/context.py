"""What every command group needs: the migrated store, the merchant a command acts for, a worker id."""

from __future__ import annotations

# Start-up cost: settings (pydantic-settings and the publishers' configuration) and the store (SQLAlchemy,
# Alembic) are imported inside the functions, which only commands call, so every command group imports this
# module and its --help still loads neither.

import os
import socket
import sys
from pathlib import Path


def migrated_store() -> str:
    """The store URL, with the schema brought up to date first (commands may run before `campaigns migrate`)."""
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import migrate

    settings = get_settings()
    migrate(settings.store_url)
    return settings.store_url


def store_session():  # noqa: ANN201 (a context manager of a Session; the store loads lazily)
    """One transaction on the migrated store: `with store_session() as session: ...`."""
    from campaigns.core.store.db import session_scope

    return session_scope(migrated_store())


def merchant_or_default(merchant: str | None) -> str:
    """The --merchant value or CAMPAIGNS_DEFAULT_MERCHANT, checked against the merchant id grammar (exit 2 naming the rule)."""
    from campaigns.cli.output import fail
    from campaigns.core.identifiers import InvalidMerchantIdError, validate_merchant_id
    from campaigns.core.settings import get_settings

    value = merchant if merchant is not None else get_settings().default_merchant
    try:
        return validate_merchant_id(value)
    except InvalidMerchantIdError as exc:
        fail(f"{exc}{'' if merchant is not None else ' (from CAMPAIGNS_DEFAULT_MERCHANT)'}")


def worker_id() -> str:
    """Names this process in claims and leases (host and pid), as the exactly-once ledgers expect."""
    return f"cli-{socket.gethostname()}-{os.getpid()}"[:80]


def read_secret(what: str, value: str | None, path: Path | None = None, *, flag: str, strip: bool = True) -> str | None:
    """A secret from its option's value, standard input (the value '-', first line) or a file; None when not given.

    `strip` drops surrounding whitespace (a file's newline); a password keeps its spaces and loses only the line end.
    An empty secret fails, naming `flag`: a value on the command line would show in `ps`, so stdin and files exist.
    """
    from campaigns.cli.output import fail

    if value is not None and path is not None:
        fail(f"give the {what} one way: {flag} or {flag}-file")
    if path is not None:
        try:
            value = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the {what} from {path}: {exc.__class__.__name__}; give a readable UTF-8 text file")
    elif value == "-":
        value = sys.stdin.readline()
        if not value.strip():
            fail(f"{flag}: the {what} is empty (standard input is empty); pipe it in, e.g. `printf %s \"$SECRET\" | campaigns ...`")
    if value is None:
        return None
    value = value.strip() if strip else value.rstrip("\r\n")
    if not value.strip():
        fail(f"{flag}: the {what} is empty; give the {what} itself")
    return value
