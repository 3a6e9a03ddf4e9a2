"""Campaign Orchestrator: the marketer's app. Run with `streamlit run dashboards/app.py`."""

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this file's folder on sys.path, not the project root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards import queries, ui  # noqa: E402
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
    "Settings": [
        st.Page(str(PAGE_DIR / "webhooks.py"), title="Webhooks", icon=":material/webhook:"),
    ],
}

with st.sidebar:
    st.markdown("### Campaign Orchestrator")
    try:
        ui.ensure_store()
        merchants = queries.merchants(queries.source())
    except Exception as exc:  # the store may be unreachable; say so instead of a traceback
        merchants = []
        st.error(f"The operational store is not reachable: {plain(exc)}")
    if merchants:
        ids = [m[0] for m in merchants]
        names = dict(merchants)
        default = ids.index(queries.settings().default_merchant) if queries.settings().default_merchant in ids else 0
        st.session_state["merchant_id"] = st.selectbox("Merchant", ids, index=default, format_func=lambda m: names[m], key="merchant_select")
    else:
        st.session_state["merchant_id"] = None
        st.caption("No merchant yet.")

page = st.navigation(PAGES)
ui.run_page(page.run)
ui.warm_up()  # after the page, so the first render never shares the CPU with it
