"""Small pieces every page uses: the merchant guard, empty states, flash messages, field errors, the confirmation
box, and `write`, the one way a page changes the store."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from campaigns.core.store.db import migrate, session_scope
from dashboards import queries
from dashboards.formatting import plain
from publishers import build_publishers
from publishers.base import Publisher, SocialPost

P = ParamSpec("P")
T = TypeVar("T")

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
    st.markdown(f":red[:material/error: {plain(message)}]")  # messages quote user input: shown as text


@st.cache_resource(show_spinner=False)
def _migrated(store_url: str) -> str:
    migrate(store_url)
    return store_url


@st.cache_resource(show_spinner=False)
def _publishers(source_key: str) -> dict[str, Publisher[SocialPost]]:
    return build_publishers(queries.settings().publisher_config())


def publishers() -> dict[str, Publisher[SocialPost]]:
    """The configured publishers by platform, built once per configuration (previews on every card would rebuild them)."""
    return _publishers(queries.source())


def ensure_store() -> None:
    """Bring the store to the current schema once per app process (an Alembic check costs about a second)."""
    _migrated(queries.settings().store_url)


# Modules a page imports only when it needs them, loaded in the background once the first page is up:
# the budget planner pulls in scipy's optimizer (about a second of CPU), which the Budget page's first
# visitor would otherwise wait for.
BACKGROUND_IMPORTS = ("campaigns.budget.planning",)


@st.cache_resource(show_spinner=False)
def _background_imports() -> threading.Thread:
    def load() -> None:
        for name in BACKGROUND_IMPORTS:
            importlib.import_module(name)

    thread = threading.Thread(target=load, name="app-background-imports", daemon=True)
    thread.start()
    return thread


def warm_up() -> None:
    """Start loading the heavy modules a page imports lazily, once per app process; call after a page has rendered."""
    _background_imports()


def write(service: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one service function, `service(session, *args, **kwargs)`, in one transaction on the app's store.

    The store's cached reads are cleared afterwards, whether it worked or not, so the next run shows the store as it is.
    The service's own errors pass through for the page to show.
    """
    try:
        with session_scope(queries.settings().store_url) as session:
            return service(session, *args, **kwargs)
    finally:
        queries.clear_store_caches()


def change(service: Callable[..., object], *args: object, done: str, refused: str = "That did not happen", **kwargs: object) -> None:
    """`write(service, ...)`, then say on the next run that it happened (`done`) or why it did not, and rerun.

    A domain refusal (the services raise LookupError or ValueError subclasses) becomes a warning, never a traceback.
    """
    try:
        write(service, *args, **kwargs)
    except (LookupError, ValueError) as exc:
        flash(f"{refused}: {plain(exc)}", "warning")
    else:
        flash(done)
    st.rerun()


@dataclass(frozen=True)
class Confirmed:
    reason: str = ""  # what the person typed in the reason field, when one was asked for


def confirm(question: str, *, key: str, pending: str, yes: str, no: str = "Cancel", icon: str = ":material/help:",
            reason: str | None = None) -> Confirmed | None:
    """Ask before a change: the question, an optional reason field, and the confirm and cancel buttons.

    `pending` is the session-state key holding the request being confirmed; either answer clears it. Cancel reruns
    the page at once. Returns `Confirmed` when the person confirmed (the caller then makes the change and reruns),
    None while the question waits. Widget keys: `{key}_confirm`, `{key}_cancel` and `{key}_reason`.
    """
    with st.container(border=True):
        st.warning(question, icon=icon)
        typed = st.text_input(reason, key=f"{key}_reason") if reason else ""
        yes_col, no_col, _ = st.columns([2, 1, 3])
        if yes_col.button(yes, key=f"{key}_confirm", type="primary", icon=":material/check:"):
            st.session_state.pop(pending, None)
            return Confirmed(typed)
        if no_col.button(no, key=f"{key}_cancel"):
            st.session_state.pop(pending, None)
            st.rerun()
    return None


def run_page(body: Callable[[], None]) -> None:
    """Run a page; an unexpected error becomes a message, never a traceback."""
    try:
        body()
    except Exception as exc:  # st.stop/st.rerun are BaseExceptions and pass through
        log.exception("page failed")
        st.error(
            f"Something went wrong on this page: {type(exc).__name__}: {plain(exc)}\n\n"
            "Try again in a moment; if it keeps happening, check the app's log for details.",
            icon=":material/error:",
        )
