"""What every command group needs: the migrated store, the merchant a command acts for, a worker id."""

from __future__ import annotations

import os
import socket

from campaigns.core.settings import get_settings


def migrated_store() -> str:
    """The store URL, with the schema brought up to date first (commands may run before `campaigns migrate`)."""
    # Imported here: SQLAlchemy and Alembic would otherwise load with every command group, even for its --help.
    from campaigns.core.store.db import migrate

    settings = get_settings()
    migrate(settings.store_url)
    return settings.store_url


def merchant_or_default(merchant: str | None) -> str:
    return merchant or get_settings().default_merchant


def worker_id() -> str:
    """Names this process in claims and leases (host and pid), as the exactly-once ledgers expect."""
    return f"cli-{socket.gethostname()}-{os.getpid()}"[:80]
