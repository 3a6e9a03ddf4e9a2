"""Campaigns: the list with filters and status badges, lifecycle actions with confirmation, and the detail."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st

from campaigns.access.roles import AccessDenied
from campaigns.audiences.segments import RuleError, describe, validate_rules
from campaigns.content.approvals import approve_content
from campaigns.core.enums import MARKETING_CHANNELS, CampaignStatus, CampaignType
from campaigns.lifecycle import drafts
from campaigns.lifecycle import service as campaign_service
from campaigns.lifecycle import templates as ct
from campaigns.lifecycle.states import ACTIONS, CampaignFacts, TransitionError, explain_refusal
from campaigns.workflows import campaign_status
from dashboards import content_channels, queries, ui, wizard
from dashboards import formatting as fmt
from dashboards.alerts_ui import show_alerts
from dashboards.charts import STATUS_COLOURS, allocation_bars, channel_bars, spend_revenue_trend

PICK_KEY = "campaign_pick"
PENDING_KEY = "campaign_pending_action"
REFUSED_KEY = "campaign_refused_action"
EMAIL_DESIGNER_FOR_KEY = "bc_open_for"  # broadcasts_tab.OPEN_FOR_KEY, written out: importing the tab would load the email stack here


@dataclass(frozen=True)
class CampaignAction:
    name: str
    label: str
    icon: str
    confirm: str  # what happens, said before it happens


CAMPAIGN_ACTIONS = (
    CampaignAction("schedule", "Schedule", ":material/event:",
                   "It becomes SCHEDULED: it turns ACTIVE by itself at its start time and COMPLETED at its end time."),
    CampaignAction("launch", "Launch", ":material/rocket_launch:",
                   "It becomes ACTIVE now: its queued posts, emails and workflow steps go out at their scheduled times."),
    CampaignAction("pause", "Pause", ":material/pause:",
                   "It becomes PAUSED: its queued posts, email sends and workflow steps are held where they are "
                   "(“held: campaign paused”) until you resume. Ads running on the ad platforms are not paused from here."),
    CampaignAction("resume", "Resume", ":material/play_arrow:",
                   "It becomes ACTIVE again: held items still within their time go out; those whose moment passed while "
                   "paused are not sent, and you are told which (`campaigns campaigns resume --reschedule-to` sends them later instead)."),
    CampaignAction("complete", "Complete", ":material/flag:",
                   "It becomes COMPLETED, which is final: every queued post, email and workflow step not yet sent is cancelled."),
    CampaignAction("cancel", "Cancel", ":material/cancel:",
                   "It becomes CANCELLED, which is final: every queued post, email and workflow step not yet sent is cancelled. "
                   "Duplicate it to run it again."),
    CampaignAction("unschedule", "Unschedule", ":material/event_busy:", "It goes back to DRAFT and will not start on its own."),
    CampaignAction("delete", "Delete draft", ":material/delete:", "The draft and its contents are deleted. This cannot be undone."),
)
BY_NAME = {a.name: a for a in CAMPAIGN_ACTIONS}
if set(BY_NAME) - {"delete"} != set(ACTIONS):
    raise RuntimeError("every lifecycle action needs a button in CAMPAIGN_ACTIONS")


def facts(row: dict[str, Any]) -> CampaignFacts:
    budget = row.get("budget")
    return CampaignFacts(
        status=CampaignStatus(row["status"]),
        start_date=row.get("start_date"),
        end_date=row.get("end_date"),
        budget=Decimal(str(budget)) if budget is not None else None,
        has_channels=bool(row.get("channels")),
    )


def refusal(action: str, row: dict[str, Any]) -> str | None:
    """Why `action` is not allowed for the campaign in `row` now (None when it is)."""
    if action == "delete":
        status = row["status"]
        if status != CampaignStatus.DRAFT.value:
            return f"cannot delete a {status} campaign: only drafts can be deleted; complete it instead to keep its history"
        return None
    return explain_refusal(action, facts(row))


# --- list --------------------------------------------------------------------------------------
def filters(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    search_col, status_col, type_col, channel_col, dates_col = st.columns([3, 2, 2, 2, 3])
    search = search_col.text_input("Search", key="campaigns_search", placeholder="Name contains…", icon=":material/search:")
    statuses = status_col.multiselect("Status", [s.value for s in CampaignStatus], key="campaigns_status")
    types = type_col.multiselect("Type", [t.value for t in CampaignType], key="campaigns_type", format_func=str.title)
    present = sorted({c for cs in frame["channels"].to_list() for c in cs} | set(MARKETING_CHANNELS))
    channels = channel_col.multiselect("Channel", present, key="campaigns_channel", format_func=fmt.channel_label)
    window = dates_col.date_input("Running between", value=(), key="campaigns_dates", format="YYYY-MM-DD",
                                  help="Campaigns whose flight overlaps these dates (merchant's time zone).")
    if search:
        frame = frame.filter(pl.col("name").str.to_lowercase().str.contains(search.lower(), literal=True))
    if statuses:
        frame = frame.filter(pl.col("status").is_in(statuses))
    if types:
        frame = frame.filter(pl.col("type").is_in(types))
    if channels:
        frame = frame.filter(pl.col("channels").list.eval(pl.element().is_in(channels)).list.any())
    if isinstance(window, (tuple, list)) and len(window) == 2:
        first = wizard.to_utc(window[0], None, tz)
        last = wizard.to_utc(window[1], datetime.max.time(), tz)
        frame = frame.filter(
            pl.col("start_date").is_not_null() & (pl.col("start_date") <= last) & (pl.col("end_date").is_null() | (pl.col("end_date") >= first))
        )
    return frame


def table(frame: pl.DataFrame, tz: str, currency: str) -> Any:
    shown = frame.select(
        pl.col("name").alias("Campaign"),
        pl.concat_list(pl.col("status")).alias("Status"),
        pl.col("type").str.to_titlecase().alias("Type"),
        pl.col("channels").alias("Channels"),
        pl.col("budget").alias("Budget"),
        pl.col("start_date").dt.convert_time_zone(tz).dt.date().alias("Starts"),
        pl.col("end_date").dt.convert_time_zone(tz).dt.date().alias("Ends"),
        pl.col("id").alias("Id"),
    )
    return st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=min(36 * (shown.height + 1) + 3, 580),
        key=f"campaigns_table_{zlib.crc32(','.join(frame['id']).encode()):x}",  # a new list starts with no selected row
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "Status": st.column_config.MultiselectColumn("Status", options=list(STATUS_COLOURS), color=list(STATUS_COLOURS.values())),
            "Channels": st.column_config.MultiselectColumn("Channels", options=sorted(MARKETING_CHANNELS), color="auto",
                                                           format_func=fmt.channel_label),
            "Budget": st.column_config.NumberColumn(f"Budget ({currency})", format="localized"),
            "Starts": st.column_config.DateColumn("Starts", format="D MMM YYYY"),
            "Ends": st.column_config.DateColumn("Ends", format="D MMM YYYY"),
        },
    )


# --- actions -----------------------------------------------------------------------------------
def action_bar(row: dict[str, Any], merchant_id: str) -> None:
    pending = st.session_state.get(PENDING_KEY)
    if pending and pending["campaign_id"] == row["id"]:
        confirm(row, merchant_id, pending["action"])
        return
    bar = st.container(horizontal=True, gap="small")
    for action in CAMPAIGN_ACTIONS:
        if not ui.can(f"campaign.{action.name}"):
            continue  # not this role's to do (write() refuses it anyway)
        reason = refusal(action.name, row)
        clicked = bar.button(
            action.label, key=f"action_{action.name}", icon=action.icon,
            type="primary" if reason is None else "secondary", help=reason or action.confirm,
        )
        if clicked:
            if reason is None:
                st.session_state[PENDING_KEY] = {"campaign_id": row["id"], "action": action.name}
                st.session_state.pop(REFUSED_KEY, None)
            else:
                st.session_state[REFUSED_KEY] = {"campaign_id": row["id"], "action": action.name}
            st.rerun()
    refused = st.session_state.get(REFUSED_KEY)
    if refused and refused["campaign_id"] == row["id"]:
        reason = refusal(refused["action"], row)
        if reason:
            st.warning(f"**{BY_NAME[refused['action']].label} is not possible now:** {reason}.",
                       icon=":material/block:")
    allowed = [a.label.lower() for a in CAMPAIGN_ACTIONS if refusal(a.name, row) is None and ui.can(f"campaign.{a.name}")]
    st.caption("Available now: " + (", ".join(allowed) if allowed else "nothing; completed and cancelled campaigns are final") +
               ". Hover over a button to see why it is not.")


def confirm(row: dict[str, Any], merchant_id: str, action_name: str) -> None:
    action = BY_NAME[action_name]
    answer = ui.confirm(f"**{action.label} “{fmt.plain(row['name'])}”?** {action.confirm}", action=f"campaign.{action_name}", key="action", pending=PENDING_KEY,
                        yes=f"Confirm {action.label.lower()}", icon=action.icon)
    if answer is None:
        return
    try:
        if action_name == "delete":
            ui.write("campaign.delete", campaign_service.delete_campaign, merchant_id, row["id"], ui.actor())
        else:
            change = ui.write(f"campaign.{action_name}", campaign_status.change_status, merchant_id, row["id"], action_name, ui.actor())
    except (TransitionError, ValueError, LookupError, AccessDenied) as exc:
        ui.flash(f"{action.label} did not happen: {fmt.plain(exc)}", "warning")
    else:
        if action_name == "delete":
            st.session_state.pop(PICK_KEY, None)
            ui.flash(f"Deleted the draft “{fmt.plain(row['name'])}”.")
        else:
            ui.flash(f"“{fmt.plain(row['name'])}” is now {change.after}." + "".join(f" {e[0].upper()}{e[1:]}." for e in change.effects()))
    st.rerun()


# --- detail ------------------------------------------------------------------------------------
def detail(campaign_id: str, merchant_id: str, profile: dict[str, str]) -> None:
    source = queries.source()
    row = queries.campaign_detail(source, merchant_id, campaign_id)
    if row is None:
        st.info("That campaign is gone (deleted, or it belongs to another merchant). Pick another one above.")
        return
    tz, currency = profile["timezone"], profile["currency"]
    with st.container(border=True):
        title_col, edit_col = st.columns([5, 1], vertical_alignment="center")
        title_col.markdown(f"### {fmt.plain(row['name'])}")
        title_col.markdown(f"{fmt.status_badge(row['status'])} :gray-badge[{row['type'].title()}] :gray-badge[{fmt.plain(row['id'])}]")
        if row["status"] == CampaignStatus.DRAFT.value and ui.can("campaign.edit_draft") and edit_col.button("Edit in builder", key="campaign_edit", icon=":material/edit_note:"):
            saved = ui.write("campaign.edit_draft", drafts.load_draft, merchant_id, row["id"])
            st.session_state["wizard"] = {**wizard.from_saved(saved, tz), "merchant_id": merchant_id}
            for key in [k for k in st.session_state if str(k).startswith("wiz_")]:
                del st.session_state[key]
            st.switch_page(ui.PAGE_FILES["builder"])
        if row["description"]:
            st.caption(fmt.plain(row["description"]))
        action_bar(row, merchant_id)
    campaign_alerts(row, merchant_id, tz)

    summary, content, workflow, performance, budget = st.tabs(["Summary", "Content", "Workflow", "Performance", "Budget"])
    with summary:
        summary_tab(row, tz, currency)
        emails_section(row, merchant_id, tz)
    with content:
        content_tab(row, merchant_id, tz)
        draft_channels(row, merchant_id)
    with workflow:
        workflow_tab(row, tz)
    with performance:
        performance_tab(row, merchant_id, currency)
        posts_section(row, merchant_id)
    with budget:
        budget_tab(row, merchant_id, currency)


def campaign_alerts(row: dict[str, Any], merchant_id: str, tz: str) -> None:
    """The monitor's open alerts for this campaign (pacing, KPI behind, return), to acknowledge or dismiss."""
    show_alerts(merchant_id, row["id"], tz)


def summary_tab(row: dict[str, Any], tz: str, currency: str) -> None:
    schedule, money_col, goal_col = st.columns(3)
    with schedule:
        st.markdown("**Schedule**")
        st.write(f"Starts {fmt.moment(row['start_date'], tz)}")
        st.write(f"Ends {fmt.moment(row['end_date'], tz)}")
        if row["start_date"] and row["end_date"]:
            st.caption(f"{(row['end_date'] - row['start_date']).days} days · times in {tz}")
    with money_col:
        st.markdown("**Budget**")
        st.write(f"{fmt.money(row['budget'], currency)} planned · {fmt.money(row['spent'], currency)} spent (store)")
        st.markdown("**Channels**")
        cadence = row["goals"].get("cadence", {})
        st.write(fmt.plain(", ".join(f"{fmt.channel_label(c)}" + (f" ({cadence[c]:g}/wk)" if c in cadence else "") for c in row["channels"])) or "none yet")
    with goal_col:
        goals = row["goals"]
        st.markdown("**Goal and KPI**")
        goal = ct.GOALS.get(goals.get("goal", ""), "Something else" if goals.get("goal") == wizard.OTHER_GOAL else goals.get("goal") or "not set")
        kpi = ct.KPIS.get(goals.get("kpi", ""), goals.get("kpi") or "not set")
        target = f", target {fmt.number(goals['target'])}" if goals.get("target") else ""
        st.write(fmt.plain(f"{goal} · {kpi}{target}"))
        audience = row["target_audience"]
        st.markdown("**Audience**")
        rules = audience.get("rules")
        try:
            validate_rules(rules)
            words = describe(rules)
        except RuleError:
            words = "a rule the app cannot read"
        name = audience.get("segment_name")
        st.write(fmt.plain(f"{'Segment “' + name + '”: ' if name else ''}{words if rules is not None else 'not set'}"))
        if audience.get("ads_note"):
            st.caption(f"Ads: {fmt.plain(audience['ads_note'])}")


def content_tab(row: dict[str, Any], merchant_id: str, tz: str) -> None:
    if not row["contents"]:
        st.info("No content yet. Write a draft per channel in the campaign builder (Content step)"
                + (", with **Edit in builder** above." if row["status"] == "DRAFT" else "."), icon=":material/edit_note:")
        return
    for channel in sorted({c["channel"] for c in row["contents"]}):
        st.markdown(f"**{fmt.plain(fmt.channel_label(channel))}**")
        for item in [c for c in row["contents"] if c["channel"] == channel]:
            with st.container(border=True):
                head, button = st.columns([5, 1], vertical_alignment="center")
                when = f" · scheduled {fmt.moment(item['scheduled_at'], tz)}" if item["scheduled_at"] else ""
                head.markdown(f"{fmt.status_badge(item['status'])} {fmt.plain(item['title'] or item['content_type'])}{when}")
                if item["status"] == "DRAFT" and item["body"].strip() and ui.can("content.approve") and button.button("Approve", key=f"approve_{item['id']}", icon=":material/verified:"):
                    ui.write("content.approve", approve_content, merchant_id, item["id"], ui.actor())
                    ui.flash(f"Approved the {fmt.plain(fmt.channel_label(channel))} content; it may now be scheduled.")
                    st.rerun()
                st.text(item["body"] or "(empty)")


def draft_channels(row: dict[str, Any], merchant_id: str) -> None:
    """Approved drafts onto their channels: schedule a post, make an email campaign, export the ads copy."""
    approved = [c for c in row["contents"] if c["status"] == "APPROVED" and content_channels.channel_of(c) != "other"]
    if not approved:
        return
    st.markdown("**Send approved drafts**")
    for item in [c for c in approved if content_channels.channel_of(c) != "ads"]:
        st.caption(f"cc-{item['id']} · {fmt.plain(fmt.channel_label(item['channel']))} · {fmt.plain((item['title'] or item['body'])[:80])}")
        content_channels.draft_actions(merchant_id, item, key=f"campaign_cc_{item['id']}")
    if any(content_channels.channel_of(c) == "ads" for c in approved):
        content_channels.export_ads_buttons(merchant_id, row["id"], key=f"campaign_ads_{row['id']}")


def workflow_tab(row: dict[str, Any], tz: str) -> None:
    if not row["workflow"]:
        st.info("No workflow steps. Ava, the strategy agent, turns a goal into a plan with steps; they will show here as they run.",
                icon=":material/account_tree:")
        return
    shown = [{**w, "started_at": fmt.moment(w["started_at"], tz), "finished_at": fmt.moment(w["finished_at"], tz)} for w in row["workflow"]]
    st.dataframe(pl.DataFrame(shown).select("step", "type", "status", "attempts", "started_at", "finished_at", "error"),
                 hide_index=True, width="stretch")


def performance_tab(row: dict[str, Any], merchant_id: str, currency: str) -> None:
    source = queries.source()
    if queries.PERFORMANCE not in queries.marts(source):
        st.info("Metrics appear once the pipeline has built `marts.campaign_performance_daily`: run `campaigns build` "
                "(or wait for the next scheduled run).", icon=":material/query_stats:")
        return
    try:
        daily = queries.campaign_daily(source, merchant_id, row["id"])
        channels = queries.campaign_channels(source, merchant_id, row["id"])
    except Exception as exc:  # the mart is another team's contract; a change there must not break this page
        st.info(f"Metrics could not be read from `marts.{queries.PERFORMANCE}` ({exc}); they will return after the next build.",
                icon=":material/query_stats:")
        return
    if daily.is_empty():
        st.info("No spend or conversions recorded for this campaign yet. They show here after it runs and the next build.",
                icon=":material/hourglass_empty:")
        return
    spend, revenue = float(daily["spend"].sum()), float(daily["revenue"].sum())
    conversions, clicks, impressions = float(daily["conversions"].sum()), float(daily["clicks"].sum()), float(daily["impressions"].sum())
    cols = st.columns(5)
    cols[0].metric("Spend", fmt.money(spend, currency), border=True)
    cols[1].metric("Revenue", fmt.money(revenue, currency), border=True)
    cols[2].metric("ROAS", fmt.ratio(revenue / spend if spend else None), border=True)
    cols[3].metric("ROI", fmt.percent((revenue - spend) / spend if spend else None), border=True)
    cols[4].metric("Conversions", fmt.number(conversions, 1), border=True)
    st.caption(f"CTR {fmt.percent(clicks / impressions if impressions else None, 2)} · CPC {fmt.money(spend / clicks if clicks else None, currency, 2)}"
               f" · CPA {fmt.money(spend / conversions if conversions else None, currency, 2)} · revenue by the mart's attribution model")
    st.altair_chart(spend_revenue_trend(daily), width="stretch")
    if not channels.is_empty():
        left, right = st.columns(2)
        left.altair_chart(channel_bars(channels.with_columns(pl.col("roas").fill_null(0.0)), "roas", "ROAS"), width="stretch")
        right.dataframe(
            channels.select("channel", "spend", "revenue", "conversions", "ctr", "cpa", "roas", "roi"),
            hide_index=True, width="stretch",
            column_config={"spend": st.column_config.NumberColumn(format="%.0f"), "revenue": st.column_config.NumberColumn(format="%.0f"),
                           "conversions": st.column_config.NumberColumn(format="%.1f"), "ctr": st.column_config.NumberColumn(format="percent"),
                           "cpa": st.column_config.NumberColumn(format="%.2f"), "roas": st.column_config.NumberColumn(format="%.2fx"),
                           "roi": st.column_config.NumberColumn(format="percent")},
        )
    st.markdown("**ROI by attribution model**")
    if queries.ROI_BY_MODEL not in queries.marts(source):
        st.caption("`marts.roi_by_model` is not built yet; run `campaigns build`.")
        return
    try:
        roi = queries.campaign_roi_by_model(source, merchant_id, row["id"])
    except Exception as exc:  # see above: a mart change shows as a note
        st.caption(f"`marts.roi_by_model` could not be read ({exc}).")
        return
    if roi.is_empty():
        st.caption("No attributed revenue for this campaign under any model yet.")
    else:
        st.dataframe(roi, hide_index=True, width="stretch",
                     column_config={"spend": st.column_config.NumberColumn(format="%.0f"), "revenue": st.column_config.NumberColumn(format="%.0f"),
                                    "conversions": st.column_config.NumberColumn(format="%.1f"),
                                    "roas": st.column_config.NumberColumn(format="%.2fx"), "roi": st.column_config.NumberColumn(format="percent")})


def budget_tab(row: dict[str, Any], merchant_id: str, currency: str) -> None:
    budget, spent = row["budget"], row["spent"]
    st.write(f"Planned {fmt.money(budget, currency)} · spent {fmt.money(spent, currency)}"
             + (f" ({fmt.percent(spent / budget, 0)})" if budget else ""))
    st.caption("Spent comes from the campaign's results (ad spend per channel), updated by every build.")
    plan = queries.campaign_plan_vs_actual(queries.source(), merchant_id, row["id"])
    if plan.is_empty():
        st.info("No per-channel split yet. Set one in the campaign builder (Channels and budget); "
                "the optimizer adds recommendations here once the campaign has results.", icon=":material/pie_chart:")
        return
    st.markdown("**Plan vs actual**")
    st.altair_chart(allocation_bars(plan), width="stretch")
    shown = plan.with_columns(
        pl.when(pl.col("allocated") > 0).then(pl.col("spent") / pl.col("allocated")).alias("used"),
        pl.when(pl.col("spent") > 0).then(pl.col("revenue") / pl.col("spent")).alias("roas"))
    st.dataframe(shown.select("channel", "allocated", "spent", "used", "revenue", "conversions", "roas"), hide_index=True, width="stretch",
                 column_config={"allocated": st.column_config.NumberColumn(format="%.2f"), "spent": st.column_config.NumberColumn(format="%.2f"),
                                "revenue": st.column_config.NumberColumn(format="%.2f"), "conversions": st.column_config.NumberColumn(format="%.1f"),
                                "used": st.column_config.NumberColumn("used of plan", format="percent"),
                                "roas": st.column_config.NumberColumn(format="%.2fx")})
    delivered(plan)
    recommended = [a for a in row["allocations"] if a["recommended"] is not None]
    if recommended:
        st.caption("Recommendations: " + " · ".join(f"{a['channel']}: {fmt.money(a['recommended'], currency)}" for a in recommended))


def delivered(plan: pl.DataFrame) -> None:
    """What the campaign's channels delivered so far (campaign_metrics): reach and clicks, email sends, opens and clicks,
    engagements on its posts; channels that delivered nothing yet are left out."""
    counts = ("impressions", "clicks", "email_sends", "email_opens", "email_clicks", "engagements")
    active = plan.filter(pl.sum_horizontal(*counts) > 0).select("channel", *counts)
    st.markdown("**Delivered so far**")
    if active.is_empty():
        st.caption("Nothing delivered yet: sends, opens, clicks and post engagements appear here after the daily results run.")
        return
    totals = active.select(pl.sum(c) for c in counts).row(0, named=True)
    cols = st.columns(4)
    cols[0].metric("Emails sent", f"{totals['email_sends']:,.0f}")
    cols[1].metric("Email opens / clicks", f"{totals['email_opens']:,.0f} / {totals['email_clicks']:,.0f}")
    cols[2].metric("Post engagements", f"{totals['engagements']:,.0f}")
    cols[3].metric("Ad impressions / clicks", f"{totals['impressions']:,.0f} / {totals['clicks']:,.0f}")
    st.dataframe(active, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(c.replace("_", " "), format="%d") for c in counts})


def posts_section(row: dict[str, Any], merchant_id: str) -> None:
    """The campaign's own posts with their engagement; its emails and their results are on the Summary tab (`emails_section`)."""
    posts = queries.campaign_posts(queries.source(), merchant_id, row["id"])
    st.markdown("**Posts of this campaign**")
    if posts.is_empty():
        st.caption("No post of this campaign yet. Its emails and their results are on the Summary tab.")
        return
    st.dataframe(posts, hide_index=True, width="stretch")
    st.caption("Its emails and their results are on the Summary tab.")


def emails_section(row: dict[str, Any], merchant_id: str, tz: str) -> None:
    """The campaign's emails (broadcasts and A/B tests' emails) with their status and results, shown only here on the page,
    and the way to the Email Designer to write or send one."""
    items = queries.email_broadcasts(queries.source(), merchant_id, row["id"], every_kind=True)
    st.markdown("**Emails**")
    if items:
        st.dataframe(pl.DataFrame([{"email": f"#{b['id']}", "subject": b["subject"], "kind": b["kind"].replace("_", " "), "status": b["status"],
                                    "when": fmt.moment(b["sent_at"] or b["scheduled_at"], tz) if b["sent_at"] or b["scheduled_at"] else "",
                                    "recipients": b["recipients"], "sent": b["sent"], "failed": b["failed"], "suppressed": b["suppressed"], "waiting": b["waiting"],
                                    "opened": b["opened"], "clicked": b["clicked"]} for b in items]), hide_index=True, width="stretch")
    else:
        st.caption("No email for this campaign yet.")
    if st.button("Open in the Email Designer" if items else "Write a broadcast email", key="campaign_emails_open", icon=":material/mail:",
                 help="The Broadcasts tab: create, test, schedule or send, and follow the results."):
        st.session_state[EMAIL_DESIGNER_FOR_KEY] = row["id"]
        st.switch_page(ui.PAGE_FILES["email"])


# --- page --------------------------------------------------------------------------------------
def main() -> None:
    st.title("Campaigns")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    profile = ui.merchant_profile(merchant_id)
    tz, currency = profile["timezone"], profile["currency"]
    everything = queries.campaigns(queries.source(), merchant_id)
    if everything.is_empty():
        ui.empty_state("No campaigns yet. Build your first one step by step, or start from a template.", icon=":material/campaign:")
        st.page_link(ui.PAGE_FILES["builder"], label="Open the campaign builder", icon=":material/edit_note:")
        st.page_link(ui.PAGE_FILES["templates"], label="Browse templates", icon=":material/auto_awesome_mosaic:")
        st.stop()

    counts = everything.group_by("status").len()
    by_status = dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True))
    st.markdown("  ".join(f"{fmt.status_badge(s.value)} {by_status.get(s.value, 0)}" for s in CampaignStatus))
    frame = filters(everything, tz)
    if frame.is_empty():
        st.info("No campaign matches these filters. Clear the search or widen the dates.", icon=":material/filter_alt_off:")
        return
    event = table(frame, tz, currency)
    ids = frame["id"].to_list()
    names = dict(zip(ids, frame["name"].to_list(), strict=True))
    rows = (event.selection.rows if event is not None and hasattr(event, "selection") else []) or []
    picked_row = ids[rows[0]] if rows and rows[0] < len(ids) else None
    if picked_row and picked_row != st.session_state.get("campaigns_table_last"):
        st.session_state["campaigns_table_last"] = picked_row
        st.session_state[PICK_KEY] = picked_row
    if st.session_state.get(PICK_KEY) not in ids:
        st.session_state[PICK_KEY] = ids[0]
    campaign_id = st.selectbox("Open campaign", ids, key=PICK_KEY, format_func=lambda i: f"{names[i]} ({i})")
    detail(campaign_id, merchant_id, profile)


main()
