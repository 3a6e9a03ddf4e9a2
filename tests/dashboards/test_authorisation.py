"""Who may do what in the app, checked on the server: every write action × every role × a member of another merchant.

The matrix drives `ui.write`, the one way a page changes the store, in a real Streamlit script run (AppTest) against
a real store: the role comes from the store, never from what the page showed. A static check proves every write in
the pages names an action of the matrix, so no page can add a write the matrix does not cover. Then the Campaigns
page: a viewer sees no launch or approve button, and a forged launch (the pending request set by hand) is refused
and changes nothing.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from campaigns.access.roles import Role, allows
from campaigns.core.enums import CampaignStatus
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import AuditLog, Campaign, CampaignContent
from campaigns.lifecycle import service as campaign_service
from dashboards.ui import ACTIONS, ROLE_KEY
from tests.dashboards.helpers import APP, signed_in

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
WRITERS = {"write", "change", "_change", "confirm", "require"}  # ui.write, ui.change, the budget page's wrapper, ui.confirm, ui.require


def _try_every_action(merchant_in_session: str, merchant_acted_on: str) -> None:
    import streamlit as st

    from campaigns.access.roles import AccessDenied
    from dashboards import ui

    def stub(session, merchant_id: str) -> str:
        return "done"

    outcomes = {}
    for action in ui.ACTIONS:
        try:
            outcomes[action] = ui.write(action, stub, merchant_acted_on)
        except AccessDenied:
            outcomes[action] = "refused"
    st.session_state["outcomes"] = outcomes


@pytest.fixture
def store(home: Path) -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        ensure_merchant(s, "globex")
    return url


def _run(store: str, email: str, roles: dict[str, Role], in_session: str, acted_on: str) -> dict[str, str]:
    at = signed_in(AppTest.from_function(_try_every_action, args=(in_session, acted_on), default_timeout=30), get_settings(), email, roles)
    at.session_state["merchant_id"] = in_session  # as the selector would set it, or forged
    at.session_state[ROLE_KEY] = Role.OWNER  # a forged display role changes nothing: the check reads the store
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["outcomes"]


@pytest.mark.parametrize("role", list(Role))
def test_every_action_is_allowed_exactly_by_the_roles_that_may(store: str, role: Role) -> None:
    outcomes = _run(store, f"{role.value}@example.com", {"acme": role}, "acme", "acme")
    expected = {action: "done" if allows(role, permission) else "refused" for action, permission in ACTIONS.items()}
    assert outcomes == expected
    # viewers change nothing; every other role may do something, and no role but the owner may do everything
    assert set(outcomes.values()) == ({"refused"} if role is Role.VIEWER else {"done"} if role is Role.OWNER else {"done", "refused"})


def test_a_member_of_another_merchant_is_refused_everything(store: str) -> None:
    # a globex owner who forges acme into the session's merchant
    assert set(_run(store, "outsider@example.com", {"globex": Role.OWNER}, "acme", "acme").values()) == {"refused"}
    # or keeps globex in the session but has a page act on acme
    assert set(_run(store, "outsider@example.com", {"globex": Role.OWNER}, "globex", "acme").values()) == {"refused"}


def test_a_signed_out_or_ended_session_is_refused_everything(store: str) -> None:
    at = AppTest.from_function(_try_every_action, args=("acme", "acme"), default_timeout=30)
    at.session_state["merchant_id"] = "acme"
    at.run()
    assert set(at.session_state["outcomes"].values()) == {"refused"}
    from campaigns.access import users

    signed_in(at, get_settings(), "gone@example.com", {"acme": Role.MARKETER})
    with session_scope(store) as s:
        users.disable_user(s, "gone@example.com", "tests")
    at.run()
    assert set(at.session_state["outcomes"].values()) == {"refused"}


def _action_names(node: ast.Call) -> list[ast.expr]:
    names = [kw.value for kw in node.keywords if kw.arg == "action"]
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name in ("write", "change", "_change", "require") and node.args:
        names.append(node.args[0])
    return names


def test_every_write_in_the_pages_names_an_action_of_the_matrix() -> None:
    constants, prefixes, calls = set(), set(), 0
    for path in DASHBOARDS.rglob("*.py"):
        if path.name == "ui.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name not in WRITERS or (isinstance(func, ast.Attribute) and getattr(func.value, "id", "") != "ui") \
                    or (isinstance(func, ast.Name) and name != "_change"):
                continue
            calls += 1
            names = _action_names(node)
            assert names, f"{path.name}:{node.lineno}: {name}() without an action name"
            for arg in names:
                if isinstance(arg, ast.Constant):
                    constants.add(arg.value)
                elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                    prefixes.add(arg.values[0].value)
                elif isinstance(arg, ast.Name) and arg.id == "action" and path.name == "budget.py":
                    pass  # _change forwarding its own argument; its callers are checked as _change(...)
                elif (isinstance(arg, ast.Subscript) and getattr(arg.value, "id", "") == "ACTION_OF") or \
                        (isinstance(arg, ast.Starred) and path.name == "orchestration.py"):  # override_call's names, as ACTION_OF
                    prefixes.update(("workflow.", "content."))
                else:
                    pytest.fail(f"{path.name}:{node.lineno}: the action of {name}() is not a name the matrix can check")
    assert calls > 30
    assert constants <= set(ACTIONS), constants - set(ACTIONS)
    uncovered = {a for a in ACTIONS if a not in constants and not any(a.startswith(p) for p in prefixes)}
    assert uncovered == set(), f"actions no page uses: {uncovered}"


# --- the Campaigns page as each role sees it -----------------------------------------------------
@pytest.fixture
def campaign(store: str) -> str:
    with session_scope(store) as s:
        c = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(
            name="Spring", type="CONVERSION", channels=["email"], budget=Decimal("500"), start_date=datetime(2030, 3, 1, tzinfo=UTC),
            end_date=datetime(2030, 3, 31, tzinfo=UTC)), actor="ana@example.com")
        s.add(CampaignContent(merchant_id="acme", campaign_id=c.id, channel="email", body="Spring is here"))
        return c.id


def _campaigns_page(role: Role, email: str) -> AppTest:
    at = signed_in(AppTest.from_file(APP, default_timeout=60), get_settings(), email, {"acme": role})
    at.run()
    at.switch_page("views/campaigns.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_viewer_sees_no_launch_or_approve_button_and_a_forged_launch_is_refused(store: str, campaign: str) -> None:
    at = _campaigns_page(Role.VIEWER, "vic@example.com")
    labels = {b.label for b in at.button}
    assert not labels & {"Launch", "Schedule", "Unschedule", "Pause", "Approve", "Delete draft", "Edit in builder"}
    at.session_state["campaign_pending_action"] = {"campaign_id": campaign, "action": "launch"}  # forged
    at.run()
    assert any("may not do this here" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "action_confirm"]
    with session_scope(store) as s:
        assert s.get(Campaign, campaign).status is CampaignStatus.DRAFT
    assert "Members" not in [p for p in at.session_state] and not [b for b in at.sidebar.button if b.label == "Members"]


def test_an_approver_launches_and_the_audit_log_names_them(store: str, campaign: str) -> None:
    at = _campaigns_page(Role.APPROVER, "apu@example.com")
    labels = {b.label for b in at.button}
    assert {"Launch", "Schedule", "Approve"} <= labels and not labels & {"Delete draft", "Edit in builder"}
    at.button(key="action_launch").click().run()
    assert [w.value for w in at.warning][0].startswith("**Launch “Spring”?**")
    at.button(key="action_confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with session_scope(store) as s:
        assert s.get(Campaign, campaign).status is CampaignStatus.ACTIVE
        launch = s.scalar(select(AuditLog).where(AuditLog.entity_id == campaign).order_by(AuditLog.id.desc()).limit(1))
        assert launch.actor == "apu@example.com"


def test_a_marketer_sees_edits_but_no_launch(store: str, campaign: str) -> None:
    labels = {b.label for b in _campaigns_page(Role.MARKETER, "meg@example.com").button}
    assert {"Delete draft", "Edit in builder"} <= labels and not labels & {"Launch", "Schedule", "Approve"}
