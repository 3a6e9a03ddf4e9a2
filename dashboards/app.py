"""Campaign Orchestrator: the marketer's app. Run with `streamlit run dashboards/app.py`."""

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this file's folder on sys.path, not the project root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards import queries  # noqa: E402
from dashboards.charts import register_theme  # noqa: E402

st.set_page_config(page_title="Campaign Orchestrator", page_icon=":material/campaign:", layout="wide")
register_theme()

PAGES = [
    st.Page(str(ROOT / "dashboards" / "pages" / "overview.py"), title="Overview", icon=":material/dashboard:", default=True),
]

with st.sidebar:
    st.markdown("### Campaign Orchestrator")
    try:
        merchants = queries.merchants(queries.source())
    except Exception as exc:  # the store may be unreachable; say so instead of a traceback
        merchants = []
        st.error(f"The operational store is not reachable: {exc}")
    if merchants:
        ids = [m[0] for m in merchants]
        names = dict(merchants)
        default = ids.index(queries.settings().default_merchant) if queries.settings().default_merchant in ids else 0
        st.session_state["merchant_id"] = st.selectbox("Merchant", ids, index=default, format_func=lambda m: names[m], key="merchant_select")
    else:
        st.session_state["merchant_id"] = None
        st.caption("No merchant yet.")

st.navigation(PAGES).run()
