"""Altair chart builders with one shared look."""

from __future__ import annotations

import altair as alt
import polars as pl

PALETTE = ["#2E6F57", "#E07A3F", "#3D5A80", "#B8336A", "#8D6A9F", "#6C8EAD", "#C9A227"]
STATUS_COLOURS = {"DRAFT": "#8A8F98", "SCHEDULED": "#3D5A80", "ACTIVE": "#2E6F57", "PAUSED": "#C9A227", "COMPLETED": "#5B5F66"}


def theme() -> dict:
    return {
        "config": {
            "font": "Inter, system-ui, sans-serif",
            "range": {"category": PALETTE},
            "axis": {"labelColor": "#444", "titleColor": "#444", "gridColor": "#EEE"},
            "view": {"stroke": None},
            "legend": {"orient": "top"},
        }
    }


def register_theme() -> None:
    @alt.theme.register("campaigns", enable=True)
    def _campaigns():  # noqa: ANN202
        return alt.theme.ThemeConfig(theme())


def spend_revenue_trend(daily: pl.DataFrame) -> alt.Chart:
    """Daily spend and revenue as two lines (a few hundred points at most)."""
    long = daily.select("activity_date", "spend", "revenue").unpivot(index="activity_date", variable_name="measure", value_name="amount")
    return (
        alt.Chart(long)
        .mark_line(point=False, strokeWidth=2)
        .encode(
            x=alt.X("activity_date:T", title=None),
            y=alt.Y("amount:Q", title="per day", axis=alt.Axis(format="~s")),
            color=alt.Color("measure:N", title=None),
            tooltip=[alt.Tooltip("activity_date:T", title="date"), "measure:N", alt.Tooltip("amount:Q", format=",.0f")],
        )
        .properties(height=280)
    )
