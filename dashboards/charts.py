"""Altair chart builders with one shared look."""

from __future__ import annotations

import altair as alt
import polars as pl

PALETTE = ["#2E6F57", "#E07A3F", "#3D5A80", "#B8336A", "#8D6A9F", "#6C8EAD", "#C9A227"]
AXIS_ALLOWANCE = 80  # Streamlit fits a chart's height around its axes: room for the x axis and its title
STATUS_COLOURS = {"DRAFT": "#8A8F98", "SCHEDULED": "#3D5A80", "ACTIVE": "#2E6F57", "PAUSED": "#C9A227", "COMPLETED": "#5B5F66", "CANCELLED": "#9B2C2C"}


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


QUEUE_COLOURS = {"QUEUED": "#3D5A80", "PUBLISHING": "#C9A227", "PUBLISHED": "#2E6F57", "FAILED": "#B8336A", "NEEDS_REVIEW": "#E07A3F"}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def posting_heatmap(frame: pl.DataFrame) -> alt.Chart:
    """Engagement rate by weekday and local hour (168 cells), with the confidence of each."""
    shown = frame.with_columns(pl.col("weekday").map_elements(lambda d: WEEKDAYS[d], return_dtype=pl.String).alias("day"))
    return (
        alt.Chart(shown.select("day", "hour", "rate", "confidence", "posts"))
        .mark_rect(cornerRadius=2)
        .encode(
            x=alt.X("hour:O", title="hour (account's time zone)"),
            y=alt.Y("day:N", sort=WEEKDAYS, title=None),
            color=alt.Color("rate:Q", title="engagement rate", scale=alt.Scale(scheme="greens"), legend=alt.Legend(format=".1%")),
            tooltip=["day:N", "hour:O", alt.Tooltip("rate:Q", format=".2%"), "confidence:N", alt.Tooltip("posts:Q", title="past posts")],
        )
        .properties(height=AXIS_ALLOWANCE + 7 * 26)
    )


def week_calendar(frame: pl.DataFrame, days: list[str]) -> alt.Chart:
    """Posts of one week as dots on a day x hour grid; `frame` has day, hour, minute, status, account, text, when."""
    return (
        alt.Chart(frame)
        .mark_circle(size=180, opacity=0.9)
        .encode(
            x=alt.X("day:N", sort=days, scale=alt.Scale(domain=days), title=None),
            y=alt.Y("hour:Q", scale=alt.Scale(domain=[0, 24], reverse=True), title="hour (account's time zone)"),
            color=alt.Color("status:N", scale=alt.Scale(domain=list(QUEUE_COLOURS), range=list(QUEUE_COLOURS.values())), title=None),
            tooltip=["when:N", "account:N", "status:N", "text:N"],
        )
        .properties(height=360)
    )


def model_comparison(frame: pl.DataFrame, measure: str, title: str) -> alt.Chart:
    """Attributed `measure` per channel, one bar per attribution model, grouped by channel (channels × models rows)."""
    return (
        alt.Chart(frame.select("channel", "model", measure))
        .mark_bar()
        .encode(
            x=alt.X("channel:N", title=None, axis=alt.Axis(labelAngle=0, labelLimit=120)),
            xOffset=alt.XOffset("model:N"),
            y=alt.Y(f"{measure}:Q", title=title, axis=alt.Axis(format="~s")),
            color=alt.Color("model:N", title="Model"),
            tooltip=["channel:N", "model:N", alt.Tooltip(f"{measure}:Q", format=",.2f", title=title)],
        )
        .properties(height=320)
    )


def current_vs_recommended(frame: pl.DataFrame) -> alt.Chart:
    """Current and recommended daily spend per channel, side by side."""
    long = frame.select(pl.col("channel"), pl.col("current_daily_spend").alias("current"),
                        pl.col("recommended_daily_spend").alias("recommended")).unpivot(index="channel", variable_name="spend", value_name="per_day")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None, axis=alt.Axis(labelLimit=160, labelOverlap=False)),
            yOffset="spend:N",
            x=alt.X("per_day:Q", title="daily spend", axis=alt.Axis(format="~s")),
            color=alt.Color("spend:N", title=None, scale=alt.Scale(domain=["current", "recommended"], range=[PALETTE[2], PALETTE[0]])),
            tooltip=["channel:N", "spend:N", alt.Tooltip("per_day:Q", format=",.2f", title="per day")],
        )
        .properties(height=AXIS_ALLOWANCE + 44 * frame.height)
    )


def response_curve(curve: pl.DataFrame, marks: pl.DataFrame, observed: tuple[float, float]) -> alt.Chart:
    """Predicted daily revenue against daily spend, the observed spend range shaded, current and recommended spend marked.

    `curve`: spend, revenue (about a hundred points); `marks`: label, spend, revenue.
    """
    band = (
        alt.Chart(pl.DataFrame({"start": [observed[0]], "end": [observed[1]]}))
        .mark_rect(opacity=0.12, color=PALETTE[5])
        .encode(x="start:Q", x2="end:Q", tooltip=[alt.Tooltip("start:Q", format=",.0f", title="observed from"),
                                                   alt.Tooltip("end:Q", format=",.0f", title="observed to")])
    )
    line = (
        alt.Chart(curve)
        .mark_line(strokeWidth=2, color=PALETTE[0])
        .encode(
            x=alt.X("spend:Q", title="daily spend", axis=alt.Axis(format="~s")),
            y=alt.Y("revenue:Q", title="predicted daily revenue", axis=alt.Axis(format="~s")),
            tooltip=[alt.Tooltip("spend:Q", format=",.0f"), alt.Tooltip("revenue:Q", format=",.0f")],
        )
    )
    points = (
        alt.Chart(marks)
        .mark_point(filled=True, size=90)
        .encode(
            x="spend:Q", y="revenue:Q",
            color=alt.Color("label:N", title=None, scale=alt.Scale(domain=["current", "recommended"], range=[PALETTE[2], PALETTE[1]])),
            tooltip=["label:N", alt.Tooltip("spend:Q", format=",.2f"), alt.Tooltip("revenue:Q", format=",.2f")],
        )
    )
    return (band + line + points).properties(height=300)


EMAIL_STATUS_COLOURS = {"queued": "#3D5A80", "sent": "#2E6F57", "failed": "#9B2C2C", "needs review": "#C9A227", "suppressed": "#8A8F98"}


def email_status_bars(counts: dict[str, int]) -> alt.Chart:
    """One email's recipients by status: a bar per status, in the statuses' own colours."""
    frame = pl.DataFrame({"status": list(EMAIL_STATUS_COLOURS), "recipients": [int(counts.get(s, 0)) for s in EMAIL_STATUS_COLOURS]})
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("status:N", title=None, sort=list(EMAIL_STATUS_COLOURS)),
            x=alt.X("recipients:Q", title="recipients", axis=alt.Axis(format="~s", tickMinStep=1)),
            color=alt.Color("status:N", legend=None, scale=alt.Scale(domain=list(EMAIL_STATUS_COLOURS), range=list(EMAIL_STATUS_COLOURS.values()))),
            tooltip=["status:N", alt.Tooltip("recipients:Q", format=",")],
        )
        .properties(height=AXIS_ALLOWANCE + 26 * frame.height)
    )
