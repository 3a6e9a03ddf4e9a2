"""Overview: spend, revenue, ROAS and conversions with period deltas, and the daily trend."""

import math
from datetime import timedelta

import streamlit as st

from dashboards import queries
from dashboards.charts import spend_revenue_trend

st.title("Overview")
merchant_id = st.session_state.get("merchant_id")

if not merchant_id or not queries.has_overview(queries.source()):
    st.info(
        "No data yet. Load the demo merchant and build the pipeline:\n\n"
        "```\ncampaigns demo-data\ncampaigns build\n```\n\n"
        "or bring your own exports with `campaigns import touchpoints|conversions|spend FILE`, then `campaigns build`.",
        icon=":material/rocket_launch:",
    )
    st.stop()

daily = queries.overview_daily(queries.source(), merchant_id)
if daily.is_empty():
    st.info(f"No activity for this merchant yet. Import its spend and conversions with `campaigns import ... --merchant {merchant_id}`, then `campaigns build`.")
    st.stop()

days = st.segmented_control("Period", [7, 30, 90], default=30, format_func=lambda d: f"Last {d} days", key="overview_period") or 30
end = daily["activity_date"].max()
current, previous = queries.period_totals(daily, end, days)
st.caption(f"Data through {end:%d %b %Y} (UTC), compared with the {days} days before.")


def delta(key: str) -> str | None:
    now, before = current[key], previous[key]
    if not before or math.isnan(before) or math.isnan(now):
        return None
    return f"{(now - before) / before:+.1%}"


spend_col, revenue_col, roas_col, conversions_col = st.columns(4)
spend_col.metric("Spend", f"{current['spend']:,.0f}", delta("spend"), delta_color="off", border=True)
revenue_col.metric("Revenue", f"{current['revenue']:,.0f}", delta("revenue"), border=True)
roas_col.metric("ROAS", "-" if math.isnan(current["roas"]) else f"{current['roas']:.2f}x", delta("roas"), border=True)
conversions_col.metric("Conversions", f"{current['conversions']:,.0f}", delta("conversions"), border=True)

st.subheader("Spend and revenue per day")
window = daily.filter(daily["activity_date"] > end - timedelta(days=days))
st.altair_chart(spend_revenue_trend(window), width="stretch")
