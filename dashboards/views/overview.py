"""Overview: KPIs with period deltas and the daily trend, top and bottom campaigns, alerts, what needs approval."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import streamlit as st

from dashboards import formatting as fmt
from dashboards import queries, ui
from dashboards.alerts_ui import show_alerts
from dashboards.charts import campaign_ranking, spend_revenue_trend

NO_DATA = (
    "No data yet. Load the demo merchant and build the pipeline:\n\n"
    "```\ncampaigns demo-data\ncampaigns build\n```\n\n"
    "or bring your own exports with `campaigns import touchpoints|conversions|spend FILE`, then `campaigns build`."
)
RANKED = 5
OVERPACING, UNDERPACING = 1.15, 0.75  # spend vs the budget's elapsed share, outside which a campaign is flagged
ROAS_DROP = -0.20  # week over week
MIN_WEEKLY_SPEND = 50.0  # below this a ROAS swing is noise


def kpis(daily: pl.DataFrame, currency: str) -> tuple[date, int]:
    days = st.segmented_control("Period", [7, 30, 90], default=30, format_func=lambda d: f"Last {d} days", key="overview_period") or 30
    end = daily["activity_date"].max()
    current, previous = queries.period_totals(daily, end, days)
    st.caption(f"Data through {fmt.day(end)} (UTC), compared with the {days} days before.")

    def delta(key: str) -> str | None:
        change = fmt.change(current[key], previous[key])
        return None if change is None or math.isnan(current[key]) else fmt.signed_percent(change)

    spend_col, revenue_col, roas_col, conversions_col = st.columns(4)
    spend_col.metric("Spend", fmt.money(current["spend"], currency), delta("spend"), delta_color="off", border=True)
    revenue_col.metric("Revenue", fmt.money(current["revenue"], currency), delta("revenue"), border=True)
    roas_col.metric("ROAS", "-" if math.isnan(current["roas"]) else fmt.ratio(current["roas"]), delta("roas"), border=True)
    conversions_col.metric("Conversions", fmt.number(current["conversions"]), delta("conversions"), border=True)

    st.subheader("Spend and revenue per day")
    window = daily.filter(daily["activity_date"] > end - timedelta(days=days))
    st.altair_chart(spend_revenue_trend(window), width="stretch")
    return end, days


def top_and_bottom(merchant_id: str, currency: str, end: date | None, days: int) -> None:
    source = queries.source()
    st.subheader("Top and bottom campaigns")
    names = dict(zip(*queries.campaigns(source, merchant_id).select("id", "name").to_dict(as_series=False).values(), strict=True))
    ranked: pl.DataFrame | None = None
    if queries.PERFORMANCE in queries.marts(source) and end is not None:
        try:
            totals = queries.campaign_totals(source, merchant_id, end - timedelta(days=days - 1), end)
            ranked = totals.filter(pl.col("spend") > 0).sort("roas", descending=True, nulls_last=True)
            st.caption(f"By return on ad spend over the last {days} days (attributed revenue / spend).")
        except Exception as exc:  # another team's mart: a change there shows as a note, not a broken page
            st.caption(f"Campaign results could not be read from the performance mart ({exc}); showing the store's figures.")
    if ranked is None:
        store = queries.store_campaign_totals(source, merchant_id)
        if store.height:
            ranked = store.with_columns((pl.col("revenue") / pl.col("spend")).alias("roas")).filter(pl.col("spend") > 0).sort("spend", descending=True)
            st.caption("By spend, from the campaign metrics in the store (the performance mart is not built yet).")
        else:
            spent = queries.campaigns(source, merchant_id).filter(pl.col("spent") > 0)
            if spent.height:
                ranked = spent.select(pl.col("id").alias("campaign_id"), pl.col("spent").alias("spend"), pl.lit(None, pl.Float64).alias("revenue"),
                                      pl.lit(None, pl.Float64).alias("roas")).sort("spend", descending=True)
                st.caption("By spend recorded on the campaigns (no results yet).")
    if ranked is None or ranked.is_empty():
        st.info("No campaign results yet. They appear once campaigns run and `campaigns build` has processed their spend and conversions.",
                icon=":material/leaderboard:")
        return
    ranked = ranked.with_columns(pl.col("campaign_id").map_elements(lambda c: names.get(c, c), return_dtype=pl.String).alias("name"))
    top = ranked.head(RANKED)
    bottom = ranked.tail(min(RANKED, max(ranked.height - RANKED, 0))).reverse()
    best, worst = st.columns(2)
    for column, frame, title in ((best, top, "Top"), (worst, bottom, "Bottom")):
        with column:
            st.markdown(f"**{title}**")
            if frame.is_empty():
                st.caption("Too few campaigns with results to rank.")
                continue
            if frame["roas"].is_not_null().any():
                st.altair_chart(campaign_ranking(frame.with_columns(pl.col("roas").fill_null(0.0)), worst_first=title == "Bottom"),
                                width="stretch")
            st.dataframe(
                frame.select(
                    pl.col("name").alias("Campaign"),
                    pl.col("spend").map_elements(lambda v: fmt.money(v, currency), return_dtype=pl.String).alias("Spend"),
                    pl.col("revenue").map_elements(lambda v: fmt.money(v, currency), return_dtype=pl.String).alias("Revenue"),
                    pl.col("roas").map_elements(fmt.ratio, return_dtype=pl.String).alias("ROAS"),
                ),
                hide_index=True, width="stretch",
            )


def pacing(merchant_id: str, currency: str) -> list[str]:
    """Warnings for ACTIVE campaigns spending well above or below budget × elapsed share of the flight."""
    source = queries.source()
    active = queries.campaigns(source, merchant_id).filter(
        (pl.col("status") == "ACTIVE") & pl.col("budget").is_not_null() & (pl.col("budget") > 0)
        & pl.col("start_date").is_not_null() & pl.col("end_date").is_not_null()
    )
    if active.is_empty():
        return []
    as_of = datetime.now(UTC)
    spend = {row["id"]: row["spent"] for row in active.iter_rows(named=True)}
    if queries.PERFORMANCE in queries.marts(source):
        try:
            through = queries.spend_through(source, merchant_id)
            if through is not None:
                as_of = datetime.combine(through + timedelta(days=1), time(0), UTC)  # the end of the last day with spend
                totals = queries.campaign_totals(source, merchant_id, None, through)
                spend.update(dict(zip(totals["campaign_id"].to_list(), totals["spend"].to_list(), strict=True)))
        except Exception:  # keep the store's spend: a missing or changed mart must not hide the other alerts
            pass
    out = []
    for row in active.iter_rows(named=True):
        flight = (row["end_date"] - row["start_date"]).total_seconds()
        share = min(max((as_of - row["start_date"]).total_seconds() / flight, 0.0), 1.0) if flight > 0 else 1.0
        expected = row["budget"] * share
        spent = float(spend.get(row["id"]) or 0)
        if share < 0.1 or expected <= 0:
            continue
        pace = spent / expected
        what = f"**{row['name']}** has spent {fmt.money(spent, currency)} of {fmt.money(row['budget'], currency)} with {fmt.percent(share, 0)} of its flight gone"
        if pace > OVERPACING:
            out.append(f"{what}: overspending ({fmt.percent(pace, 0)} of plan). Lower bids or daily caps, or move budget.")
        elif pace < UNDERPACING:
            out.append(f"{what}: underspending ({fmt.percent(pace, 0)} of plan). Check delivery or reallocate the budget.")
    return out


def roas_drops(merchant_id: str, daily: pl.DataFrame) -> list[str]:
    source = queries.source()
    out = []
    if not daily.is_empty():
        end = daily["activity_date"].max()
        now, before = queries.period_totals(daily, end, 7)
        change = fmt.change(now["roas"], before["roas"])
        if change is not None and change <= ROAS_DROP:
            out.append(f"Overall ROAS fell {fmt.percent(-change, 0)} week over week, to {fmt.ratio(now['roas'])} from {fmt.ratio(before['roas'])}.")
    if queries.PERFORMANCE not in queries.marts(source):
        return out
    try:
        through = queries.spend_through(source, merchant_id)
        weekly = queries.campaign_week_over_week(source, merchant_id, through) if through else pl.DataFrame()
    except Exception:  # a changed mart: no per-campaign check rather than a broken page
        return out
    names = dict(zip(*queries.campaigns(source, merchant_id).select("id", "name").to_dict(as_series=False).values(), strict=True))
    for row in weekly.iter_rows(named=True):
        if row["spend_now"] < MIN_WEEKLY_SPEND or row["spend_before"] < MIN_WEEKLY_SPEND:
            continue
        now, before = row["revenue_now"] / row["spend_now"], row["revenue_before"] / row["spend_before"]
        change = fmt.change(now, before)
        if change is not None and change <= ROAS_DROP:
            out.append(f"**{names.get(row['campaign_id'], row['campaign_id'])}**: ROAS fell {fmt.percent(-change, 0)} week over week "
                       f"({fmt.ratio(before)} → {fmt.ratio(now)}).")
    return out


def alerts(merchant_id: str, currency: str, daily: pl.DataFrame, tz: str = "UTC") -> None:
    source = queries.source()
    st.subheader("Alerts")
    found = show_alerts(merchant_id, tz=tz)  # raised by the campaign monitor (pacing, KPI, return), kept until handled
    posts = queries.problem_posts(source, merchant_id)
    if posts.height:
        found += 1
        failed, review = (posts.filter(pl.col("status") == s).height for s in ("FAILED", "NEEDS_REVIEW"))
        st.warning(f"{failed} social post{'s' if failed != 1 else ''} failed and {review} need{'s' if review == 1 else ''} review "
                   "(the outcome is unknown: check the platform before retrying).", icon=":material/report:")
        with st.expander("Posts to look at"):
            st.dataframe(posts.drop("id"), hide_index=True, width="stretch")
    for message in pacing(merchant_id, currency):
        found += 1
        st.warning(message, icon=":material/speed:")
    for message in roas_drops(merchant_id, daily):
        found += 1
        st.warning(message, icon=":material/trending_down:")
    if not found:
        st.success("Nothing needs attention: no failed posts, every active campaign is pacing to plan and no ROAS drop week over week.",
                   icon=":material/check_circle:")


def approvals(merchant_id: str, tz: str) -> None:
    waiting = queries.awaiting_approval(queries.source(), merchant_id)
    total = queries.awaiting_approval_count(queries.source(), merchant_id)
    st.subheader(f"Needs approval ({total})")
    if waiting.is_empty():
        st.caption("Nothing waits for approval. Drafts written in the campaign builder or by Leo show here until someone approves them.")
        return
    st.dataframe(
        waiting.with_columns(pl.col("updated_at").map_elements(lambda v: fmt.moment(v, tz), return_dtype=pl.String)).drop("id"),
        hide_index=True, width="stretch", height=320,
    )
    if total > waiting.height:
        st.caption(f"The {waiting.height} most recent of {total}.")
    st.page_link(ui.PAGE_FILES["campaigns"], label="Review campaign content in Campaigns", icon=":material/verified:")


def main() -> None:
    st.title("Overview")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    source = queries.source()
    profile = ui.merchant_profile(merchant_id)
    currency = profile["currency"]
    end, days = None, 30
    daily = pl.DataFrame()
    if not queries.has_overview(source):
        st.info(NO_DATA, icon=":material/rocket_launch:")
    else:
        daily = queries.overview_daily(source, merchant_id)
        if daily.is_empty():
            st.info(f"No activity for this merchant yet. Import its spend and conversions with `campaigns import ... --merchant {merchant_id}`, "
                    "then `campaigns build`.", icon=":material/upload_file:")
        else:
            end, days = kpis(daily, currency)
    st.divider()
    top_and_bottom(merchant_id, currency, end, days)
    alerts(merchant_id, currency, daily, profile["timezone"])
    approvals(merchant_id, profile["timezone"])


main()
