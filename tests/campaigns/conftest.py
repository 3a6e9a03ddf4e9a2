"""A migrated store on SQLite and on a throwaway PostgreSQL database, with merchants acme and globex."""

import pytest

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
    else:
        url = Settings(database_url=request.getfixturevalue("pg_url")).store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        ensure_merchant(s, "globex")
    return url
