"""The app shell: an unreachable store is said in words, and ui's write helpers turn refusals and errors into messages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from campaigns.core.settings import get_settings
from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import session_scope
from dashboards.ui import ROLE_KEY
from tests.dashboards.helpers import APP, signed_in


def test_an_unreachable_store_is_said_in_words_and_nothing_else_shows(home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/not_there")  # nothing listens on port 9
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("The operational store is not reachable" in e.value for e in at.error)
    assert not at.sidebar.selectbox and not at.text_input  # no sign-in form, no merchant, no page


def test_a_signed_in_person_without_a_role_is_told_how_to_get_one(home) -> None:
    at = signed_in(AppTest.from_file(APP, default_timeout=60), get_settings(), "new@example.com", roles={}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Signed in as **new@example.com** · no merchant yet" in [c.value for c in at.sidebar.caption]
    assert "campaigns users grant YOUR-EMAIL viewer" in at.info[0].value and "campaigns demo-data" in at.info[0].value


def _changer(outcome: str) -> None:
    import streamlit as st

    from dashboards import ui

    ui.show_flash()

    def service(session, merchant_id: str, value: str) -> None:
        if value == "refuse":
            raise ValueError("the campaign is ACTIVE")
        if value == "missing":
            raise LookupError("no campaign cmp_9")
        if value == "crash":
            raise RuntimeError("disk full")

    if st.button("Go", key="go"):
        ui.change("campaign.pause", service, "acme", outcome, done="Done it", refused="Could not pause")
    if st.button("Page", key="page"):
        ui.run_page(lambda: service(None, "acme", outcome))


@pytest.mark.parametrize(("outcome", "kind", "message"), [
    ("ok", "success", "Done it"),
    ("refuse", "warning", "Could not pause: the campaign is ACTIVE"),
    ("missing", "warning", "Could not pause: no campaign cmp_9"),
])
def test_change_says_what_happened_on_the_next_run(home, outcome: str, kind: str, message: str) -> None:
    from campaigns.core.store.db import migrate

    migrate(get_settings().store_url)
    with session_scope(get_settings().store_url) as s:
        ensure_merchant(s, "acme")
    at = signed_in(AppTest.from_function(_changer, args=(outcome,), default_timeout=30), get_settings())
    at.session_state["merchant_id"], at.session_state[ROLE_KEY] = "acme", Role.OWNER
    at.run()
    at.button(key="go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in getattr(at, kind)] == [message]


def test_run_page_turns_an_unexpected_error_into_a_message(home) -> None:
    at = AppTest.from_function(_changer, args=("crash",), default_timeout=30).run()
    at.button(key="page").click().run()
    assert not at.exception
    assert "Something went wrong on this page: RuntimeError: disk full" in at.error[0].value
    assert "check the app's log" in at.error[0].value
