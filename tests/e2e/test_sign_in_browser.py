"""Local sign-in in Chromium on a fresh store (no build needed): a signed-out visitor sees only the sign-in, a wrong
password is refused, a deep link is the page shown after signing in, and a viewer sees no launch or approve button."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from campaigns.access import users
from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import CampaignContent
from campaigns.lifecycle import service as campaign_service
from tests.e2e.test_browser import VIEWPORT, browser, chromium, running_app, settled, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
PASSWORD = "the marketers' passphrase"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("sign_in") / "home"
    url = Settings(home=home).store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        for email, role in (("owner@example.com", Role.OWNER), ("viewer@example.com", Role.VIEWER)):
            users.add_user(s, email, "tests", password=PASSWORD)
            users.grant(s, email, "acme", role, "tests")
        c = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(
            name="Spring", type="CONVERSION", channels=["email"], budget=Decimal("500"), start_date=datetime(2030, 3, 1, tzinfo=UTC),
            end_date=datetime(2030, 3, 31, tzinfo=UTC)), actor="owner@example.com")
        s.add(CampaignContent(merchant_id="acme", campaign_id=c.id, channel="email", body="Spring is here"))
    with running_app(home, home.parent / "streamlit.log") as app:
        yield app


@pytest.fixture
def tab(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def test_a_signed_out_visitor_sees_only_the_sign_in(tab, app_url: str) -> None:
    tab.goto(f"{app_url}/campaigns")
    settled(tab)
    tab.get_by_role("button", name="Sign in", exact=True).wait_for()
    assert tab.locator('[data-testid="stSidebarNavLink"]').count() == 0
    assert tab.get_by_role("heading", name="Campaigns").count() == 0 and tab.get_by_text("Spring").count() == 0
    sign_in(tab, "owner@example.com", "not the password at all")
    tab.locator('[data-testid="stAlertContentError"]', has_text="wrong email or password").wait_for()
    assert tab.locator('[data-testid="stSidebarNavLink"]').count() == 0


def test_a_deep_link_is_the_page_shown_after_signing_in(tab, app_url: str) -> None:
    tab.goto(f"{app_url}/campaigns")
    settled(tab)
    sign_in(tab, "owner@example.com", PASSWORD)
    settled(tab, "Campaigns")
    titles = [t.strip().splitlines()[-1].strip() for t in tab.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
    assert titles[-3:] == ["Members", "Audit log", "Webhooks"]
    assert tab.get_by_role("button", name="Launch", exact=True).count() == 1


def test_a_viewer_sees_no_launch_or_approve_button(tab, app_url: str) -> None:
    tab.goto(f"{app_url}/campaigns")
    settled(tab)
    sign_in(tab, "viewer@example.com", PASSWORD)
    settled(tab, "Campaigns")
    tab.get_by_text("viewer@example.com").wait_for()
    for label in ("Launch", "Schedule", "Approve", "Delete draft", "Edit in builder"):
        assert tab.get_by_role("button", name=label, exact=True).count() == 0, f"a viewer sees {label}"
    titles = [t.strip().splitlines()[-1].strip() for t in tab.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
    assert not {"Members", "Audit log", "Webhooks"} & set(titles)
