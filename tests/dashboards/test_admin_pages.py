"""The owners' pages: Members (grant, revoke, reset a password, the four-eyes rule) and the Audit log (filter, CSV)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.access import signin, users
from campaigns.access.roles import Role
from campaigns.core.audit import record
from campaigns.core.merchants import ensure_merchant
from campaigns.core.policy import four_eyes
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from dashboards.ui import ROLE_KEY
from tests.dashboards.helpers import APP, as_member, signed_in


@pytest.fixture
def store(home: Path) -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        ensure_merchant(s, "globex", name="Globex")
        users.add_user(s, "bo@example.com", "tests", password="bo's first passphrase")
        users.add_user(s, "cy@example.com", "tests")
        users.grant(s, "bo@example.com", "acme", Role.MARKETER, "tests")
        users.grant(s, "cy@example.com", "globex", Role.OWNER, "tests")
        record(s, "acme", "bo@example.com", "content.edit", "campaign_content", "7")
        record(s, "globex", "cy@example.com", "content.edit", "campaign_content", "8")
    return url


def _page(role: Role, path: str) -> AppTest:
    at = signed_in(AppTest.from_file(APP, default_timeout=60), get_settings(), "owner@example.com", {"acme": role}).run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_members_page_grants_revokes_resets_and_sets_four_eyes(store: str) -> None:
    at = _page(Role.OWNER, "views/members.py")
    assert at.dataframe[0].value["email"].to_list() == ["bo@example.com", "owner@example.com"]
    at.text_input(key="member_email").input("cy@example.com")
    at.selectbox(key="member_role").select("approver")
    at.button[0].click().run()  # Grant (the form's submit)
    assert "cy@example.com is now approver." in [s.value for s in at.success]
    at.selectbox(key="member_pick").select("bo@example.com")
    at.text_input(key="member_password").input("reset by the owner!")
    [b for b in at.button if b.label == "Reset password"][0].click().run()
    with session_scope(store) as s:
        assert signin.sign_in(s, "bo@example.com", "reset by the owner!").ok
    at.toggle(key="member_four_eyes").set_value(True).run()
    with session_scope(store) as s:
        assert four_eyes(s, "acme") and not four_eyes(s, "globex")
    at.selectbox(key="member_pick").select("cy@example.com")
    at.button(key="member_revoke").click().run()
    with session_scope(store) as s:
        assert users.role_of(s, users.get_user(s, "cy@example.com").id, "acme") is None
        assert users.role_of(s, users.get_user(s, "cy@example.com").id, "globex") is Role.OWNER


def test_audit_page_filters_and_exports_only_this_merchant(store: str) -> None:
    at = _page(Role.OWNER, "views/audit.py")
    entries = at.dataframe[0].value
    assert "cy@example.com" not in entries["actor"].to_list() and "bo@example.com" in entries["actor"].to_list()
    at.text_input(key="audit_action").input("content.").run()
    assert at.dataframe[0].value["action"].to_list() == ["content.edit"]
    at.text_input(key="audit_actor").input("nobody@example.com").run()
    assert "No audit entries match" in at.info[0].value


@pytest.mark.parametrize("role", [Role.MARKETER, Role.APPROVER, Role.VIEWER])
def test_admin_pages_are_refused_to_other_roles(store: str, role: Role) -> None:
    at = signed_in(AppTest.from_file(APP, default_timeout=60), get_settings(), "owner@example.com", {"acme": role}).run()
    for path in ("views/members.py", "views/audit.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in this role's navigation
            at.switch_page(path)
        # and run directly with a forged session (merchant and display role), the page itself refuses
        page = as_member(AppTest.from_file(str(Path(APP).parent / path), default_timeout=60), "acme", role, "owner@example.com")
        page.session_state[ROLE_KEY] = Role.OWNER
        page.run()
        assert "This page is not open to you on acme" in page.error[0].value and not page.dataframe
