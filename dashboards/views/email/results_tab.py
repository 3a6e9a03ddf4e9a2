"""Email Designer, Results tab: each email campaign's delivery and engagement, as a table and a rate chart."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from campaigns.core.safe_csv import csv_bytes
from dashboards import formatting as fmt
from dashboards import queries, ui

RATES = {"open_rate": "Open rate", "click_rate": "Click rate", "conversion_rate": "Conversion rate"}


def rate_chart(frame: pl.DataFrame) -> alt.Chart:
    """Open, click and conversion rate per email campaign (only those with delivered emails)."""
    long = (frame.filter(pl.col("sent") > 0)
            .with_columns(pl.format("#{} {}", pl.col("email_campaign_id"), pl.col("subject").str.slice(0, 40)).alias("email"))
            .unpivot(on=list(RATES), index=["email", "sent"], variable_name="measure", value_name="rate")
            .with_columns(pl.col("measure").replace_strict(RATES)))
    return (alt.Chart(long).mark_bar()
            .encode(y=alt.Y("email:N", title=None, sort=None), x=alt.X("rate:Q", title="Share of delivered emails", axis=alt.Axis(format="%")),
                    yOffset=alt.YOffset("measure:N", sort=list(RATES.values())), color=alt.Color("measure:N", title=None, sort=list(RATES.values())),
                    tooltip=["email", "measure", alt.Tooltip("rate:Q", format=".1%"), alt.Tooltip("sent:Q", format=",")])
            .properties(height=alt.Step(12)))


def render(merchant_id: str) -> None:
    frame = queries.email_results(queries.source(), merchant_id)
    if frame.is_empty():
        ui.empty_state("No email campaigns yet. Create one in the Broadcasts tab (or with `campaigns email create --campaign ID --segment ID "
                       "--subject TEXT --template NAME`), or start an A/B test in the A/B tests tab.")
        return
    delivered = frame.filter(pl.col("sent") > 0)
    totals = st.columns(4)
    totals[0].metric("Emails delivered", fmt.number(frame["sent"].sum()), border=True)
    sent = delivered["sent"].sum()
    totals[1].metric("Open rate", fmt.percent(delivered["opened"].sum() / sent if sent else None), border=True)
    totals[2].metric("Click rate", fmt.percent(delivered["clicked"].sum() / sent if sent else None), border=True)
    totals[3].metric("Revenue from email", fmt.money(frame["revenue"].sum()), border=True)
    if not delivered.is_empty():
        st.altair_chart(rate_chart(frame), width="stretch")
    table = frame.select(
        pl.col("email_campaign_id").alias("Email"), pl.col("subject").alias("Subject"), pl.col("kind").alias("Kind"),
        pl.col("status").alias("Status"), pl.col("recipients").alias("Recipients"), pl.col("sent").alias("Delivered"),
        pl.col("suppressed").alias("Suppressed"), pl.col("failed").alias("Failed"), pl.col("waiting").alias("Waiting"),
        (pl.col("open_rate") * 100).alias("Open %"), (pl.col("click_rate") * 100).alias("Click %"),
        (pl.col("conversion_rate") * 100).alias("Conversion %"), pl.col("revenue").alias("Revenue"),
    )
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.1f") for c in ("Open %", "Click %", "Conversion %")})
    st.caption("Rates are distinct contacts per delivered email; revenue sums purchases attributed to the email.")
    st.download_button("Download CSV", csv_bytes(table), file_name="email_results.csv", mime="text/csv", key="email_results_csv")
