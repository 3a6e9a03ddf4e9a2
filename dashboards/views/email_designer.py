"""Email Designer: templates with a live preview, audiences, A/B tests, automation flows, results and broadcasts."""

import streamlit as st

from dashboards import ui
from dashboards.views.email import ab_tab, automations_tab, broadcasts_tab, results_tab, segments_tab, templates_tab

st.title("Email Designer")
st.caption("Write and preview templates, pick who gets them, test variants, automate follow-ups, read the results and send broadcasts.")
ui.show_flash()
merchant_id = ui.current_merchant()

tabs = ["Templates", "Audience", "A/B tests", "Automations", "Results", "Broadcasts"]
templates, audience, ab_tests, automations, results, broadcasts = st.tabs(tabs)
with templates:
    templates_tab.render(merchant_id)
with audience:
    segments_tab.render(merchant_id)
with ab_tests:
    ab_tab.render(merchant_id)
with automations:
    automations_tab.render(merchant_id)
with results:
    results_tab.render(merchant_id)
with broadcasts:
    broadcasts_tab.render(merchant_id)
