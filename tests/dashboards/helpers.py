"""Shared by the AppTest and browser tests: the app's pages, pointing the app at a home, a copy of the built demo."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.core.settings import Settings, get_settings

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
PAGES = {
    "Overview": "views/overview.py",
    "Analytics": "views/analytics.py",
    "Budget": "views/budget.py",
    "Campaigns": "views/campaigns.py",
    "Campaign builder": "views/builder.py",
    "Templates": "views/templates.py",
    "Audiences": "views/audiences.py",
    "Social Scheduler": "views/social.py",
    "Content Studio": "views/studio.py",
    "Orchestration": "views/orchestration.py",
    "Email Designer": "views/email_designer.py",
    "Webhooks": "views/webhooks.py",
}


def point_at(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("CAMPAIGNS_HOME", str(settings.home_path))
    for key in ("CAMPAIGNS_DATABASE_URL", "CAMPAIGNS_WAREHOUSE"):
        monkeypatch.delenv(key, raising=False)
    if settings.warehouse == "postgres":
        monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", "postgres")
    get_settings.cache_clear()


def assert_clean(at: AppTest) -> None:
    """No exception and no error message on the page (the app turns exceptions into st.error)."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def copy_built_home(built: Settings, home: Path) -> Path:
    """A private, writable copy of a built embedded home: the store and the Parquet marts (not the DuckDB file)."""
    home.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(built.home_path / "app.db"), sqlite3.connect(home / "app.db")
    try:
        with target:
            source.backup(target)  # consistent even with a WAL beside the file
    finally:
        source.close()
        target.close()
    shutil.copytree(built.home_path / "serving", home / "serving")
    return home
