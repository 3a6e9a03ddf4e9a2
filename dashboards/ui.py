"""Small pieces every page uses: the signed-in person and their role, the merchant guard, empty states, flash
messages, field errors, the confirmation box, and `write`, the one way a page changes the store.

Authorisation happens here, on the server, on every run: `current_merchant()` refuses a page to someone without the
role it needs, and `write()` checks the signed-in session and the role for the named action against the store in
the same transaction as the change. Pages hide the buttons a role may not use (`can`), but hiding is only courtesy:
a forged action reaches `write()` and is refused there.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from campaigns.access import signin, users
from campaigns.access.roles import AccessDenied, Permission, Role, allows
from campaigns.core.store.db import migrate, session_scope
from dashboards import queries
from dashboards.formatting import plain
from publishers import build_publishers
from publishers.base import Publisher, SocialPost

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("dashboards")
FLASH_KEY = "_flash"
TOKEN_KEY = "_auth_token"  # the signed-in session's token (server-side session state; only its hash is in the store)
ROLE_KEY = "_role"  # the role on the picked merchant as of this run: for showing buttons only, never for a check

E, A, O = Permission.EDIT, Permission.APPROVE, Permission.ADMIN
# Every change the app can make, and the permission it needs. Launching, approving, sending and rebalancing need
# APPROVE; writing and stopping things need EDIT; members and policy need ADMIN (roles.py has the matrix).
ACTIONS: dict[str, Permission] = {
    "campaign.save_draft": E, "campaign.edit_draft": E, "campaign.delete": E, "campaign.create_from_plan": E,
    "campaign.schedule": A, "campaign.launch": A, "campaign.resume": A,
    "campaign.pause": E, "campaign.unschedule": E, "campaign.complete": E,
    "content.edit": E, "content.approve": A, "content.reject": A,
    "workflow.edit_step": E, "workflow.pause": E, "workflow.cancel": E,
    "workflow.resume": A, "workflow.skip": A, "workflow.retry": A,
    "segment.save": E,
    "post.cancel": E, "post.resolve_review": A,
    "post.schedule_own_text": A,  # scheduling one's own text counts as approving it
    "automation.create": E, "automation.pause": E, "automation.activate": A,
    "template.save": E, "template.send_test": E,
    "ab_test.launch": A,
    "budget.apply": A, "budget.undo": A,
    "post.publish_due": A,
    "member.grant": O, "member.revoke": O, "user.reset_password": O, "policy.four_eyes": O,
    "campaign.cancel": E,
    "contact.import": E, "contact.edit": E, "contact.delete": E,
    "account.connect": O,  # a platform grant speaks for the merchant on that platform
    "webhook.add": O, "webhook.toggle": O, "webhook.rotate": O, "webhook.remove": O, "webhook.replay": O,
    "email.create": E, "email.send_test": E, "email.unschedule": E,  # broadcasts (Email Designer)
    "email.schedule": A, "email.send_now": A,  # sending to a segment needs APPROVE, like a launch
    # approved drafts onto their channels: marketers schedule what an approver signed off (the approval of the exact version gates it)
    "content.schedule": E, "content.to_email": E, "content.export_ads": E,
    "post.schedule_with_media": A,  # images or videos added while scheduling approved text: the scheduler approves the post with them
    "alert.acknowledge": E, "alert.dismiss": E,
}

PAGE_FILES = {
    "overview": "views/overview.py",
    "campaigns": "views/campaigns.py",
    "builder": "views/builder.py",
    "templates": "views/templates.py",
    "audiences": "views/audiences.py",
    "email": "views/email_designer.py",
}


def empty_state(message: str, icon: str = ":material/lightbulb:") -> None:
    st.info(message, icon=icon)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as the store knows them this run."""

    user_id: int
    email: str
    name: str
    memberships: tuple[users.MerchantRole, ...]


def viewer() -> Viewer | None:
    """The signed-in person, checked against the store on every run: an expired or revoked session signs out at once."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    try:
        with session_scope(queries.settings().store_url) as session:
            user = signin.session_user(session, token)
            return Viewer(user.id, user.email, user.display_name or user.email, tuple(users.memberships_of(session, user.id)))
    except signin.SessionInvalidError as exc:
        st.session_state.pop(TOKEN_KEY, None)
        flash(str(exc), "warning")
        return None


def actor() -> str:
    """Who the audit log names for a change made now: the email of the live session's user (AccessDenied without one)."""
    with session_scope(queries.settings().store_url) as session:
        try:
            return signin.session_user(session, st.session_state.get(TOKEN_KEY) or "").email
        except signin.SessionInvalidError:
            raise AccessDenied(None, Permission.READ) from None


def viewer_id() -> int:
    """The signed-in user's id, from the live session (AccessDenied without one)."""
    with session_scope(queries.settings().store_url) as session:
        try:
            return signin.session_user(session, st.session_state.get(TOKEN_KEY) or "").id
        except signin.SessionInvalidError:
            raise AccessDenied(None, Permission.READ) from None


def _checked(session: Session, permission: Permission) -> tuple[str, Role]:
    """(merchant, role) when the live session's user may `permission` on the picked merchant; AccessDenied otherwise."""
    token, merchant_id = st.session_state.get(TOKEN_KEY), st.session_state.get("merchant_id")
    if not token or not merchant_id:
        raise AccessDenied(None, permission)
    try:
        user = signin.session_user(session, token)
    except signin.SessionInvalidError:
        raise AccessDenied(None, permission) from None
    return merchant_id, users.authorize(session, user.id, merchant_id, permission)


def require(action: str) -> None:
    """Check, against the store, that the signed-in person may `action` on the picked merchant (for changes that do
    not go through write(), such as running the publishing worker); AccessDenied otherwise."""
    with session_scope(queries.settings().store_url) as session:
        _checked(session, ACTIONS[action])


def can(action: str) -> bool:
    """Whether to show the control for `action` (display only: write() makes the real check)."""
    return allows(st.session_state.get(ROLE_KEY), ACTIONS[action])


def current_merchant(needs: Permission = Permission.READ) -> str:
    """The merchant picked in the sidebar when the signed-in person's role there allows `needs`; otherwise stop the page."""
    merchant_id = st.session_state.get("merchant_id")
    if not merchant_id:
        empty_state(
            "You have no role on any merchant yet. An owner gives you one with\n\n"
            "```\ncampaigns users grant YOUR-EMAIL viewer --merchant MERCHANT\n```\n\n"
            "To try the product, load the demo merchant and build the pipeline (`campaigns demo-data`, `campaigns build`); "
            "`campaigns serve` prints the demo owner's sign-in.",
            icon=":material/rocket_launch:",
        )
        st.stop()
    try:
        with session_scope(queries.settings().store_url) as session:
            _checked(session, needs)
    except AccessDenied as exc:
        st.error(f"This page is not open to you on {merchant_id}: {exc}.", icon=":material/block:")
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


def write(action: str, service: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one service function, `service(session, *args, **kwargs)`, in one transaction on the app's store, if allowed.

    `action` names the change (a key of ACTIONS). In the same transaction, before the service runs, the signed-in
    session must be live and its user's role on the picked merchant must allow the action, and the service must be
    acting on that merchant; otherwise AccessDenied and nothing is written. The store's cached reads are cleared
    afterwards, whether it worked or not, so the next run shows the store as it is. The service's own errors pass
    through for the page to show.
    """
    permission = ACTIONS[action]
    try:
        with session_scope(queries.settings().store_url) as session:
            merchant_id, _ = _checked(session, permission)
            if not any(isinstance(arg, str) and arg == merchant_id for arg in (*args, *kwargs.values())):
                raise AccessDenied(None, permission)  # a page acting on another merchant than the one checked
            return service(session, *args, **kwargs)
    finally:
        queries.clear_store_caches()


def change(action: str, service: Callable[..., object], *args: object, done: str, refused: str = "That did not happen",
           **kwargs: object) -> None:
    """`write(action, service, ...)`, then say on the next run that it happened (`done`) or why it did not, and rerun.

    A domain refusal (the services raise LookupError or ValueError subclasses) or a refused role becomes a warning,
    never a traceback.
    """
    try:
        write(action, service, *args, **kwargs)
    except (LookupError, ValueError, AccessDenied) as exc:
        flash(f"{refused}: {plain(exc)}", "warning")
    else:
        flash(done)
    st.rerun()


@dataclass(frozen=True)
class Confirmed:
    reason: str = ""  # what the person typed in the reason field, when one was asked for


def confirm(question: str, *, action: str, key: str, pending: str, yes: str, no: str = "Cancel", icon: str = ":material/help:",
            reason: str | None = None) -> Confirmed | None:
    """Ask before a change: the question, an optional reason field, and the confirm and cancel buttons.

    `action` names the change (a key of ACTIONS): a role that may not make it gets a refusal instead of the
    question (and the change itself is refused again by write()). `pending` is the session-state key holding the
    request being confirmed; either answer clears it. Cancel reruns the page at once. Returns `Confirmed` when the
    person confirmed (the caller then makes the change and reruns), None while the question waits. Widget keys:
    `{key}_confirm`, `{key}_cancel` and `{key}_reason`.
    """
    if not can(action):
        st.session_state.pop(pending, None)
        st.warning(f"Your role ({st.session_state.get(ROLE_KEY) or 'none'}) may not do this here; ask an owner of the merchant.",
                   icon=":material/block:")
        return None
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
    except AccessDenied as exc:
        st.error(f"Refused: {exc}.", icon=":material/block:")
    except Exception as exc:  # st.stop/st.rerun are BaseExceptions and pass through
        log.exception("page failed")
        st.error(
            f"Something went wrong on this page: {type(exc).__name__}: {plain(exc)}\n\n"
            "Try again in a moment; if it keeps happening, check the app's log for details.",
            icon=":material/error:",
        )
