"""Small pieces every page uses: the merchant guard, empty states, flash messages, field errors."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from dashboards import queries

log = logging.getLogger("dashboards")
ACTOR = "app"  # who the audit log names for writes made in the app (no sign-in yet)
FLASH_KEY = "_flash"

PAGE_FILES = {
    "overview": "views/overview.py",
    "campaigns": "views/campaigns.py",
    "builder": "views/builder.py",
    "templates": "views/templates.py",
    "audiences": "views/audiences.py",
}


def empty_state(message: str, icon: str = ":material/lightbulb:") -> None:
    st.info(message, icon=icon)


def current_merchant() -> str:
    """The merchant picked in the sidebar; without one, say how to get one and stop the page."""
    merchant_id = st.session_state.get("merchant_id")
    if not merchant_id:
        empty_state(
            "No merchant yet. Load the demo merchant and build the pipeline:\n\n"
            "```\ncampaigns demo-data\ncampaigns build\n```\n\n"
            "or add your own with `campaigns merchants add ACME --name \"Acme\" --timezone Europe/Berlin`.",
            icon=":material/rocket_launch:",
        )
        st.stop()
    return merchant_id


def merchant_profile(merchant_id: str) -> dict[str, str]:
    return queries.merchant_profile(queries.source(), merchant_id)


def flash(message: str, kind: str = "success") -> None:
    """A message shown once, on the next run (after st.rerun or a page switch)."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop(FLASH_KEY, (None, None))
    if message:
        {"success": st.success, "warning": st.warning, "info": st.info}.get(kind, st.info)(message)


def seed(key: str, value: object) -> None:
    """Give a widget its starting value once; afterwards the widget owns it (no value= argument needed)."""
    if key not in st.session_state:
        st.session_state[key] = value


def field_error(message: str) -> None:
    """A validation message right under the field it is about."""
    st.markdown(f":red[:material/error: {message}]")


def field_hint(message: str) -> None:
    st.caption(message)


def run_page(body: Callable[[], None]) -> None:
    """Run a page; an unexpected error becomes a message, never a traceback."""
    try:
        body()
    except Exception as exc:  # st.stop/st.rerun are BaseExceptions and pass through
        log.exception("page failed")
        st.error(
            f"Something went wrong on this page: {type(exc).__name__}: {exc}\n\n"
            "Try again in a moment; if it keeps happening, check the app's log for details.",
            icon=":material/error:",
        )
