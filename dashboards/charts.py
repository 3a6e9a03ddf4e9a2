"""Altair chart builders with one shared look."""

from __future__ import annotations

import altair as alt
import polars as pl

PALETTE = ["#2E6F57", "#E07A3F", "#3D5A80", "#B8336A", "#8D6A9F", "#6C8EAD", "#C9A227"]
AXIS_ALLOWANCE = 80  # Streamlit fits a chart's height around its axes: room for the x axis and its title
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


def status_scale() -> alt.Scale:
    return alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values()))


def channel_bars(frame: pl.DataFrame, measure: str, title: str, number_format: str = "~s") -> alt.Chart:
    """One horizontal bar per channel (a handful of rows, already summed in the warehouse)."""
    return (
        alt.Chart(frame.select("channel", measure))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y("channel:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160, labelOverlap=False)),
            x=alt.X(f"{measure}:Q", title=title, axis=alt.Axis(format=number_format)),
            color=alt.Color("channel:N", legend=None),
            tooltip=["channel:N", alt.Tooltip(f"{measure}:Q", format=",.2f", title=title)],
        )
        .properties(height=AXIS_ALLOWANCE + 36 * frame.height)
    )


def budget_split(split: dict[str, float]) -> alt.Chart:
    """A budget split: one bar per channel with its share written next to it."""
    frame = pl.DataFrame({"channel": list(split), "share": [float(v) for v in split.values()]})
    total = float(frame["share"].sum()) or 1.0
    frame = frame.with_columns((pl.col("share") / total).alias("share"))
    base = alt.Chart(frame).encode(
        y=alt.Y("channel:N", sort="-x", title=None, axis=alt.Axis(labelLimit=120, labelOverlap=False, ticks=False, domain=False)),
        x=alt.X("share:Q", title=None, axis=None, scale=alt.Scale(domain=[0, max(0.6, float(frame["share"].max()) * 1.25)])),
    )
    bars = base.mark_bar(cornerRadiusEnd=3, height=14).encode(color=alt.Color("channel:N", legend=None), tooltip=["channel:N", alt.Tooltip("share:Q", format=".0%")])
    labels = base.mark_text(align="left", dx=4, color="#444").encode(text=alt.Text("share:Q", format=".0%"))
    return (bars + labels).properties(height=22 * frame.height + 10)


def campaign_ranking(frame: pl.DataFrame, worst_first: bool = False) -> alt.Chart:
    """ROAS per campaign (top and bottom few), with the break-even line at 1x."""
    bars = (
        alt.Chart(frame.select("name", "roas", "spend", "revenue"))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y("name:N", sort="x" if worst_first else "-x", title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            x=alt.X("roas:Q", title="ROAS (revenue / spend)"),
            color=alt.condition(alt.datum.roas >= 1, alt.value(PALETTE[0]), alt.value(PALETTE[3])),
            tooltip=["name:N", alt.Tooltip("roas:Q", format=".2f"), alt.Tooltip("spend:Q", format=",.0f"), alt.Tooltip("revenue:Q", format=",.0f")],
        )
    )
    rule = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3], color="#888").encode(x="x:Q")
    return (bars + rule).properties(height=AXIS_ALLOWANCE + 36 * frame.height)


def allocation_bars(frame: pl.DataFrame) -> alt.Chart:
    """Allocated and spent per channel, side by side."""
    long = frame.select("channel", "allocated", "spent").unpivot(index="channel", variable_name="measure", value_name="amount")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None),
            yOffset="measure:N",
            x=alt.X("amount:Q", title=None, axis=alt.Axis(format="~s")),
            color=alt.Color("measure:N", title=None),
            tooltip=["channel:N", "measure:N", alt.Tooltip("amount:Q", format=",.2f")],
        )
        .properties(height=AXIS_ALLOWANCE + 44 * frame.height)
    )
