"""Campaign Orchestrator: the marketer's app. Run with `streamlit run dashboards/app.py`."""

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this file's folder on sys.path, not the project root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from campaigns.access.roles import Permission, allows  # noqa: E402
from dashboards import auth, queries, ui  # noqa: E402
from dashboards.charts import register_theme  # noqa: E402
from dashboards.formatting import plain  # noqa: E402

st.set_page_config(page_title="Campaign Orchestrator", page_icon=":material/campaign:", layout="wide")
register_theme()

PAGE_DIR = ROOT / "dashboards" / "views"  # not "pages": Streamlit would also run that folder as a legacy multipage app
PAGES = {
    "Analyse": [
        st.Page(str(PAGE_DIR / "overview.py"), title="Overview", icon=":material/dashboard:", default=True),
        st.Page(str(PAGE_DIR / "analytics.py"), title="Analytics", icon=":material/insights:"),
        st.Page(str(PAGE_DIR / "budget.py"), title="Budget", icon=":material/account_balance_wallet:"),
    ],
    "Plan and run": [
        st.Page(str(PAGE_DIR / "campaigns.py"), title="Campaigns", icon=":material/campaign:"),
        st.Page(str(PAGE_DIR / "builder.py"), title="Campaign builder", icon=":material/edit_note:"),
        st.Page(str(PAGE_DIR / "templates.py"), title="Templates", icon=":material/auto_awesome_mosaic:"),
        st.Page(str(PAGE_DIR / "audiences.py"), title="Audiences", icon=":material/groups:"),
        st.Page(str(PAGE_DIR / "social.py"), title="Social Scheduler", icon=":material/schedule_send:"),
        st.Page(str(PAGE_DIR / "studio.py"), title="Content Studio", icon=":material/auto_fix_high:"),
        st.Page(str(PAGE_DIR / "orchestration.py"), title="Orchestration", icon=":material/account_tree:"),
        st.Page(str(PAGE_DIR / "email_designer.py"), title="Email Designer", icon=":material/mail:"),
    ],
}

ADMIN_PAGES = [  # shown to owners only; each page checks the role again itself
    st.Page(str(PAGE_DIR / "members.py"), title="Members", icon=":material/manage_accounts:"),
    st.Page(str(PAGE_DIR / "audit.py"), title="Audit log", icon=":material/history:"),
    st.Page(str(PAGE_DIR / "webhooks.py"), title="Webhooks", icon=":material/webhook:"),
]

try:
    ui.ensure_store()
    person = ui.viewer()
except Exception as exc:  # the store may be unreachable; say so instead of a traceback
    st.error(f"The operational store is not reachable: {plain(exc)}")
    st.stop()
if person is None:  # a signed-out visitor sees the sign-in and nothing else
    for key in ("merchant_id", ui.ROLE_KEY):
        st.session_state.pop(key, None)
    # Registered but hidden and never run: a deep link (/campaigns) stays the page asked for, shown after the sign-in.
    st.navigation(PAGES, position="hidden")
    auth.sign_in_page()
    st.stop()

with st.sidebar:
    st.markdown("### Campaign Orchestrator")
    if person.memberships:  # only the merchants this person has a role on
        ids = [m.merchant_id for m in person.memberships]
        names = {m.merchant_id: m.merchant_name for m in person.memberships}
        roles = {m.merchant_id: m.role for m in person.memberships}
        preferred = queries.settings().default_merchant
        default = ids.index(preferred) if preferred in ids else 0
        picked = st.selectbox("Merchant", ids, index=default, format_func=lambda m: names[m], key="merchant_select")
        st.session_state["merchant_id"], st.session_state[ui.ROLE_KEY] = picked, roles[picked]
        st.caption(f"Signed in as **{plain(person.email)}** · {roles[picked].value}")
    else:
        st.session_state["merchant_id"], st.session_state[ui.ROLE_KEY] = None, None
        st.caption(f"Signed in as **{plain(person.email)}** · no merchant yet")
    refresh_col, out_col = st.columns(2)
    # the store's reads are cached for a minute: what a worker or another person changed shows at once after this
    if refresh_col.button("Refresh", key="refresh_data", icon=":material/refresh:", help="Read the store again (the page shows reads up to a minute old)."):
        queries.clear_store_caches()
        st.rerun()
    if out_col.button("Sign out", key="sign_out", icon=":material/logout:"):
        auth.sign_out()

admin = allows(st.session_state.get(ui.ROLE_KEY), Permission.ADMIN)
page = st.navigation({**PAGES, "Administer": ADMIN_PAGES} if admin else PAGES, expanded=True)  # owners have 13 pages: show all
ui.run_page(page.run)
ui.warm_up()  # after the page, so the first render never shares the CPU with it
