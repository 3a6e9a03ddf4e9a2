"""Template gallery: campaign templates by goal, a preview, and "use this template"."""

import polars as pl
import streamlit as st

from campaigns.lifecycle import templates as ct
from dashboards import formatting as fmt
from dashboards import ui, wizard
from dashboards.charts import budget_split

st.title("Templates")
st.caption("Start a campaign from a proven shape: channels, how often to post or send, and how to split the budget.")
ui.show_flash()
merchant_id = ui.current_merchant()
profile = ui.merchant_profile(merchant_id)

goal = st.pills("Goal", list(ct.GOALS), format_func=lambda g: ct.GOALS[g], key="templates_goal")
shown = ct.templates(goal)


def use(template_id: str) -> None:
    """Pre-fill the builder with the template and open it."""
    st.session_state["wizard"] = {**wizard.from_template(template_id, profile["timezone"]), "merchant_id": merchant_id}
    for key in [k for k in st.session_state if str(k).startswith("wiz_")]:
        del st.session_state[key]
    ui.flash(f"Started from the “{ct.get_template(template_id).name}” template: give the campaign a name to begin.", "info")
    st.switch_page(ui.PAGE_FILES["builder"])


columns = st.columns(3)
for i, template in enumerate(shown):
    with columns[i % 3].container(border=True):
        st.markdown(f"#### {template.name}")
        st.markdown(f":violet-badge[{ct.GOALS[template.goal]}] :gray-badge[{template.type.value.title()}] :gray-badge[KPI: {ct.KPIS[template.kpi]}]")
        st.write(template.summary)
        st.caption(
            f"{len(template.channels)} channels · {template.duration_days} days · suggested budget "
            f"{fmt.money(template.suggested_budget, profile['currency'])}"
        )
        st.altair_chart(budget_split({fmt.channel_label(c): f for c, f in template.budget_split.items()}), width="stretch")
        preview, act = st.columns(2)
        if preview.button("Preview", key=f"tpl_preview_{template.id}", icon=":material/visibility:", width="stretch"):
            st.session_state["templates_preview"] = template.id
        if act.button("Use template", key=f"tpl_use_{template.id}", type="primary", width="stretch", help="Open the builder pre-filled"):
            use(template.id)

preview_id = st.session_state.get("templates_preview")
if preview_id and any(t.id == preview_id for t in shown):
    template = ct.get_template(preview_id)
    st.divider()
    st.subheader(f"Preview: {template.name}")
    amounts = template.split_amounts(template.suggested_budget)
    table = pl.DataFrame(
        {
            "channel": [fmt.channel_label(c) for c in template.channels],
            "share": [fmt.percent(template.budget_split[c], 0) for c in template.channels],
            "budget": [fmt.money(amounts[c], profile["currency"]) for c in template.channels],
            "cadence": [template.cadence_label(c) for c in template.channels],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    for channel, text in template.drafts.items():
        with st.expander(f"Starter draft · {fmt.channel_label(channel)}"):
            st.text(text)
    if st.button("Use this template", key="tpl_use_preview", type="primary", icon=":material/arrow_forward:"):
        use(template.id)
