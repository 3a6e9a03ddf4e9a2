"""Shared by the AppTest and browser tests: the app's pages, pointing the app at a home, a copy of the built demo, running one tab."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.access import signin, users
from campaigns.access.roles import Role
from campaigns.core.merchants import list_merchants
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.demo.owner import DEMO_OWNER
from dashboards import queries
from dashboards.ui import ROLE_KEY, TOKEN_KEY

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
}
ADMIN_PAGES = {"Members": "views/members.py", "Audit log": "views/audit.py", "Webhooks": "views/webhooks.py"}  # in the navigation of owners only


def session_token(settings: Settings, email: str = DEMO_OWNER, roles: dict[str, Role] | None = None) -> str:
    """A live app session for `email` (created if missing), with `roles` per merchant (default: owner of every merchant
    the user has no role on yet, so the demo owner keeps theirs and no audit entry is added for them)."""
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        user = users.find_user(s, email) or users.add_user(s, email, "tests")
        if roles is None:
            mine = {m.merchant_id for m in users.memberships_of(s, user.id)}
            roles = {m.id: Role.OWNER for m in list_merchants(s) if m.id not in mine}
        for merchant_id, role in roles.items():
            users.grant(s, email, merchant_id, role, "tests")
        return signin.start_session(s, user, "password")


def signed_in(at: AppTest, settings: Settings, email: str = DEMO_OWNER, roles: dict[str, Role] | None = None) -> AppTest:
    """The AppTest with a signed-in session, as the sign-in form would leave it."""
    at.session_state[TOKEN_KEY] = session_token(settings, email, roles)
    return at


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


def as_member(at: AppTest, merchant_id: str, role: Role = Role.OWNER, email: str = "tester@example.com") -> AppTest:
    """For a page or tab run on its own (AppTest.from_function): signed in with `role` on `merchant_id`, which is picked,
    as app.py's sidebar would leave the session."""
    signed_in(at, get_settings(), email, {merchant_id: role})
    at.session_state["merchant_id"], at.session_state[ROLE_KEY] = merchant_id, role
    return at


def run_tab(page: Callable[[], None], merchant_id: str = "acme", role: Role = Role.OWNER, email: str = "tester@example.com") -> AppTest:
    """Run a page's tab on its own (`page` renders it), as `email` with `role` on `merchant_id`, after clearing the app's
    cached reads (the test wrote the store behind the app's back: do what the TTL would do); no exception allowed."""
    queries.clear_store_caches()
    at = as_member(AppTest.from_function(page, default_timeout=60), merchant_id, role, email).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
