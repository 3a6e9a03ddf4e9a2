"""What every command group needs: the migrated store, the merchant a command acts for, a worker id."""

from __future__ import annotations

# Start-up cost: settings (pydantic-settings and the publishers' configuration) and the store (SQLAlchemy,
# Alembic) are imported inside the functions, which only commands call, so every command group imports this
# module and its --help still loads neither.

import os
import socket


def migrated_store() -> str:
    """The store URL, with the schema brought up to date first (commands may run before `campaigns migrate`)."""
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import migrate

    settings = get_settings()
    migrate(settings.store_url)
    return settings.store_url


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
