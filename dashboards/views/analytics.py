"""Analytics: attribution models side by side per channel, ROI by model × campaign × channel, the daily trend."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from campaigns.core.safe_csv import csv_bytes
from dashboards import formatting as fmt
from dashboards import queries, ui
from dashboards.charts import model_comparison, spend_revenue_trend

NO_MARTS = (
    "No analytics yet: the attribution and performance marts are built by the pipeline. Load the demo merchant and build it:\n\n"
    "```\ncampaigns demo-data\ncampaigns build\n```\n\n"
    "or import your own touchpoints, conversions and spend with `campaigns import ...`, then run `campaigns build`."
)
DATA_DRIVEN = ("markov", "shapley")
MEASURES = {"revenue": "Attributed revenue", "conversions": "Attributed conversions"}


def csv_button(frame: pl.DataFrame, label: str, file_name: str, key: str) -> None:
    st.download_button(label, csv_bytes(frame), file_name=file_name, mime="text/csv", key=key,
                       icon=":material/download:", disabled=frame.is_empty())


def filters(merchant_id: str) -> tuple[date | None, date | None, tuple[str, ...]]:
    """Date and campaign filters; returns (first_day, last_day, campaign_ids), None/() meaning no filter."""
    source = queries.source()
    bounds = queries.analytics_date_bounds(source, merchant_id)
    names = dict(zip(*queries.campaigns(source, merchant_id).select("id", "name").to_dict(as_series=False).values(), strict=True))
    dates_col, campaigns_col = st.columns([1, 2])
    first_day = last_day = None
    with dates_col:
        if bounds is not None:
            picked = st.date_input("Dates", value=bounds, min_value=bounds[0], max_value=bounds[1], key="analytics_dates",
                                   help="Conversions by the day they happened; spend by the day it was spent (UTC).")
            if isinstance(picked, (tuple, list)) and len(picked) == 2 and tuple(picked) != tuple(bounds):
                first_day, last_day = picked
    with campaigns_col:
        picked_campaigns = st.multiselect("Campaigns", list(names), format_func=lambda c: names.get(c, c), key="analytics_campaigns",
                                          placeholder="All campaigns")
    return first_day, last_day, tuple(sorted(picked_campaigns))


def attribution(merchant_id: str, first_day: date | None, last_day: date | None, campaign_ids: tuple[str, ...]) -> None:
    st.subheader("Attribution models side by side")
    frame, filtered = queries.attribution_comparison(queries.source(), merchant_id, first_day, last_day, campaign_ids)
    if frame.is_empty():
        st.info("No attributed conversions for this selection. Widen the dates or pick other campaigns; if nothing shows at all, "
                "run `campaigns build` after importing touchpoints and conversions.", icon=":material/filter_alt_off:")
        return
    if filtered:
        st.caption("For the selected dates and campaigns, summed from each conversion's credits (Markov per journey, "
                   "so it can differ from the all-time channel split).")
    elif first_day or last_day or campaign_ids:
        st.caption("The attribution facts are not built, so these totals cover all dates and campaigns.")
    measure = st.segmented_control("Measure", list(MEASURES), default="revenue", format_func=lambda m: MEASURES[m],
                                   key="analytics_measure") or "revenue"
    models = sorted(frame["model"].unique().to_list(), key=lambda m: (m in DATA_DRIVEN, m))
    st.caption(f"{len(models)} models: rule-based ({', '.join(m for m in models if m not in DATA_DRIVEN) or 'none'}) "
               f"and data-driven ({', '.join(m for m in models if m in DATA_DRIVEN) or 'not built'}). "
               "Each model shares out the same conversions; they differ in which touches get the credit.")
    st.altair_chart(model_comparison(frame, measure, MEASURES[measure]), width="stretch")
    wide = frame.pivot(on="model", index="channel", values=measure).select("channel", *models)
    money = measure == "revenue"
    st.dataframe(wide.sort("channel"), hide_index=True, width="stretch", key="analytics_attribution_table",
                 column_config={m: st.column_config.NumberColumn(m, format="dollar" if money else "%.1f") for m in models})
    csv_button(frame, "Download attribution (CSV)", "attribution_by_channel.csv", "analytics_attribution_csv")


def roi(merchant_id: str, campaign_ids: tuple[str, ...], names: dict[str, str]) -> None:
    st.subheader("ROI by model, campaign and channel")
    frame = queries.roi_table(queries.source(), merchant_id, campaign_ids)
    if frame.is_empty():
        st.info("No campaign ROI yet: it needs campaign spend and attributed conversions. Run `campaigns build` once spend is imported.",
                icon=":material/paid:")
        return
    st.caption("Over each campaign's whole history (the date filter does not apply): ROI = (attributed revenue − spend) / spend.")
    model = st.selectbox("Model", ["all", *sorted(frame["model"].unique().to_list())], key="analytics_roi_model")
    shown = frame if model == "all" else frame.filter(pl.col("model") == model)
    shown = shown.with_columns(pl.col("campaign_id").replace_strict(names, default=pl.col("campaign_id")).alias("campaign")).select(
        "model", "campaign", "campaign_id", "channel", "spend", "conversions", "revenue", "roas", "roi")
    st.dataframe(
        shown, hide_index=True, width="stretch", height=360, key="analytics_roi_table",
        column_config={
            "spend": st.column_config.NumberColumn("spend", format="dollar"),
            "revenue": st.column_config.NumberColumn("revenue", format="dollar"),
            "conversions": st.column_config.NumberColumn("conversions", format="%.1f"),
            "roas": st.column_config.NumberColumn("ROAS", format="%.2fx"),
            "roi": st.column_config.NumberColumn("ROI", format="percent"),
        },
    )
    csv_button(shown, "Download ROI (CSV)", "roi_by_model.csv", "analytics_roi_csv")


def trend(merchant_id: str, first_day: date | None, last_day: date | None, campaign_ids: tuple[str, ...], currency: str) -> None:
    st.subheader("Spend and revenue per day")
    if queries.PERFORMANCE not in queries.marts(queries.source()):
        st.info("The daily performance mart is not built yet: run `campaigns build`.", icon=":material/show_chart:")
        return
    daily = queries.performance_trend(queries.source(), merchant_id, first_day, last_day, campaign_ids)
    if daily.is_empty():
        st.info("No spend or revenue in this selection. Widen the dates or pick other campaigns.", icon=":material/filter_alt_off:")
        return
    spend, revenue = float(daily["spend"].sum() or 0), float(daily["revenue"].sum() or 0)
    left, middle, right = st.columns(3)
    left.metric("Spend", fmt.money(spend, currency), border=True)
    middle.metric("Revenue", fmt.money(revenue, currency), border=True)
    right.metric("ROAS", fmt.ratio(revenue / spend) if spend else fmt.MISSING, border=True)
    st.caption("Revenue attributed with the pipeline's performance model (linear by default).")
    st.altair_chart(spend_revenue_trend(daily), width="stretch")
    csv_button(daily, "Download daily trend (CSV)", "daily_trend.csv", "analytics_trend_csv")


def main() -> None:
    st.title("Analytics")
    merchant_id = ui.current_merchant()
    source = queries.source()
    available = set(queries.marts(source))
    needed = {*queries.ATTRIBUTION_MARTS, queries.ATTRIBUTION_DAILY_ALL, *queries.ROI_MARTS, queries.PERFORMANCE}
    if not available & needed:
        st.info(NO_MARTS, icon=":material/rocket_launch:")
        st.stop()
    stale = queries.data_driven_staleness(source)
    if stale:
        st.warning(stale, icon=":material/history:")
    currency = ui.merchant_profile(merchant_id)["currency"]
    names = dict(zip(*queries.campaigns(source, merchant_id).select("id", "name").to_dict(as_series=False).values(), strict=True))
    first_day, last_day, campaign_ids = filters(merchant_id)
    attribution(merchant_id, first_day, last_day, campaign_ids)
    st.divider()
    roi(merchant_id, campaign_ids, names)
    st.divider()
    trend(merchant_id, first_day, last_day, campaign_ids, currency)


main()
