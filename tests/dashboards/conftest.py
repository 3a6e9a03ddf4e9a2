"""Fixtures for driving the app with AppTest: start it against a home, a writable copy of the built demo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import migrate, session_scope
from dashboards import queries
from tests.dashboards.helpers import APP, assert_clean, copy_built_home, point_at, signed_in


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Callable[[Settings], AppTest]:
    """Start the app against a home, signed in (as the demo owner, owner of every merchant); returns the AppTest after its
    first run."""

    def start(settings: Settings) -> AppTest:
        point_at(monkeypatch, settings)
        at = signed_in(AppTest.from_file(APP, default_timeout=60), settings)
        at.run()
        assert_clean(at)
        return at

    return start


@pytest.fixture
def demo_copy(built_home: Settings, tmp_path: Path) -> Settings:
    """A private, writable copy of the built demo, for tests that change things."""
    return Settings(home=copy_built_home(built_home, tmp_path / "demo_copy"))


@pytest.fixture
def acme_store(home: Path) -> str:
    """A migrated store in a fresh home with the merchant acme (named Acme) and the app's caches cleared: for a page's tab
    run on its own (`run_tab`); returns the store's URL."""
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
    queries.clear_store_caches()
    return url
