"""Social Scheduler: the week's posts, best times per account, the queue with its actions, and a compose form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from campaigns.core.crypto import TokenKeyError, cipher_from_settings
from campaigns.social import accounts as social_accounts
from campaigns.social import connect, scheduling, video, worker
from campaigns.social.media_store import media_store
from dashboards import media_ui, queries, ui
from dashboards import formatting as fmt
from dashboards.charts import posting_heatmap, week_calendar
from publishers.base import SocialPost
from publishers.limits import check

BEST_SLOT = "Best slot (from the heatmap)"
PICK_TIME = "Pick a time"
WORKER_ID = "app-sandbox"
PROBLEMS = ("FAILED", "NEEDS_REVIEW")


CONNECTABLE = ("x", "linkedin", "facebook", "instagram")


def account_label(account: dict[str, Any]) -> str:
    flag = "" if account["status"] == social_accounts.ACTIVE else " (reconnect needed)"
    return f"{fmt.channel_label(account['platform'])} @{account['handle'].removeprefix('@')} · {account['timezone']}{flag}"


# --- calendar and heatmap ----------------------------------------------------------------------
def calendar(queue: pl.DataFrame, account: dict[str, Any]) -> None:
    tz = account["timezone"]
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    picked = st.date_input("Week of", value=today, key="social_week", format="YYYY-MM-DD",
                           help=f"Queued and published posts of this account, in its time zone ({tz}).")
    start = (picked if isinstance(picked, date) else today) - timedelta(days=(picked if isinstance(picked, date) else today).weekday())
    days = [f"{start + timedelta(days=i):%a %d %b}" for i in range(7)]
    rows = []
    for item in queue.filter(pl.col("account_id") == account["id"]).iter_rows(named=True):
        moment = item["published_at"] or item["scheduled_at"]
        local = moment.astimezone(ZoneInfo(tz))
        if start <= local.date() < start + timedelta(days=7):
            rows.append({"day": f"{local:%a %d %b}", "hour": local.hour + local.minute / 60, "status": item["status"],
                         "account": item["account"], "text": item["text"][:80], "when": fmt.moment(moment, tz)})
    if not rows:
        st.caption(f"Nothing queued or published for this account in the week of {start:%d %b %Y}. Compose a post below.")
        return
    frame = pl.DataFrame(rows)
    st.altair_chart(week_calendar(frame, days), width="stretch")


def heatmap(merchant_id: str, account: dict[str, Any]) -> None:
    frame, posts, note = queries.account_heatmap(queries.source(), merchant_id, account["id"])
    st.altair_chart(posting_heatmap(frame), width="stretch")
    basis = f"{posts} past posts" if posts else "no posting history yet: the platform's typical curve"
    st.caption(f"Engagement rate (likes, shares and clicks per impression) by local hour in {account['timezone']}; from {basis}{note}. "
               "Hover a cell for its confidence.")


# --- the queue ---------------------------------------------------------------------------------
def queue_section(queue: pl.DataFrame, merchant_id: str, tz_of: dict[int, str]) -> None:
    st.subheader("Queue")
    if queue.is_empty():
        ui.empty_state("The queue is empty. Compose a post below, or queue approved campaign content with "
                       "`campaigns social schedule`.", icon=":material/schedule_send:")
        return
    counts = dict(queue.group_by("status").len().iter_rows())
    st.markdown("  ".join(f"**{s}** {counts.get(s, 0)}" for s in ("QUEUED", "PUBLISHING", "PUBLISHED", "FAILED", "NEEDS_REVIEW", "CANCELLED")))
    problems = queue.filter(pl.col("status").is_in(PROBLEMS))
    if not problems.is_empty():
        st.warning(f"{problems.height} post(s) failed or need review; see the highlighted rows and their reasons.", icon=":material/warning:")
    shown = queue.with_columns(
        pl.struct("scheduled_at", "account_id").map_elements(lambda r: fmt.moment(r["scheduled_at"], tz_of.get(r["account_id"], "UTC")),
                                                            return_dtype=pl.String).alias("when"),
    ).select(pl.col("id").alias("Id"), pl.col("status").alias("Status"), pl.col("account").alias("Account"), pl.col("when").alias("Scheduled (local)"),
             pl.col("attempts").alias("Attempts"), pl.col("reason").alias("Reason"), pl.col("text").str.slice(0, 100).alias("Text"))
    highlight = "background-color: #FBE3EA"
    styled = shown.to_pandas().style.apply(
        lambda row: [highlight if row["Status"] in PROBLEMS else "" for _ in row], axis=1)
    st.dataframe(styled, hide_index=True, width="stretch", key="social_queue_table")

    actionable = queue.filter(pl.col("status").is_in(["QUEUED", "NEEDS_REVIEW"]))
    if actionable.is_empty():
        return
    labels = {r["id"]: f"#{r['id']} {r['status']} · {r['account']} · {r['text'][:40]}" for r in actionable.iter_rows(named=True)}
    status_of = dict(zip(actionable["id"].to_list(), actionable["status"].to_list(), strict=True))
    pick_col, cancel_col, review_col = st.columns([4, 1, 2], vertical_alignment="bottom")
    item_id = pick_col.selectbox("Post", list(labels), key="social_queue_pick", format_func=labels.__getitem__)
    queued_preview(merchant_id, item_id, dict(zip(actionable["id"].to_list(), actionable["platform"].to_list(), strict=True))[item_id])
    if ui.can("post.cancel") and cancel_col.button("Cancel", key="social_cancel", icon=":material/cancel:", help="Stops a QUEUED or NEEDS_REVIEW post; it becomes FAILED."):
        ui.change("post.cancel", scheduling.cancel, merchant_id, item_id, ui.actor(), "cancelled in the app", done=f"Cancelled post #{item_id}.")
    if status_of.get(item_id) == "NEEDS_REVIEW":
        outcome = review_col.selectbox("Review outcome", ["requeue", "failed"], key="social_review_outcome",
                                       format_func={"requeue": "Not published: send again", "failed": "Drop it"}.__getitem__)
        if ui.can("post.resolve_review") and review_col.button("Mark reviewed", key="social_review", icon=":material/fact_check:",
                             help="After checking the account: send it again, or drop it."):
            ui.change("post.resolve_review", scheduling.resolve_review, merchant_id, item_id, actor=ui.actor(), outcome=outcome, note="reviewed in the app",
                      done=f"Post #{item_id} reviewed: {outcome}.")


def queued_preview(merchant_id: str, item_id: int, platform: str) -> None:
    """The picked post as the platform will show it, media included (image thumbnails, a video's duration)."""
    with st.expander("Preview with media", icon=":material/visibility:"):
        try:
            post = queries.social_post_media(queries.source(), merchant_id, item_id)
            html = ui.publishers()[platform].preview(SocialPost(text=post["text"], media=post["media"], media_alt=post["media_alt"]),
                                                     durations=post["durations"])
        except Exception as exc:  # a preview is a help, never a blocker
            st.caption(f"No preview: {fmt.plain(exc)}")
        else:
            st.html(html)


def publish_due() -> None:
    st.subheader("Publish due now")
    st.caption("Sends every post whose time has come **to the sandbox outbox** (`outbox/<platform>.jsonl` in the app's home): "
               "nothing leaves this machine. The scheduled worker does the same on its own schedule.")
    if ui.can("post.publish_due") and st.button("Publish due now (sandbox)", key="social_publish_due", icon=":material/send:"):
        ui.require("post.publish_due")
        try:
            report = worker.run_worker(queries.settings(), worker_id=WORKER_ID, live=False)
        finally:
            queries.clear_store_caches()
        outcomes = report.outcomes
        if not outcomes:
            ui.flash("Nothing was due.", "info")
        else:
            summary = ", ".join(f"#{o.item_id} {o.status}" + (f" ({o.reason})" if o.reason else "") for o in outcomes)
            ui.flash(f"Sandbox run: {summary}.")
        st.rerun()


# --- compose -----------------------------------------------------------------------------------
def compose(merchant_id: str, accounts: list[dict[str, Any]], account: dict[str, Any]) -> None:
    st.subheader("Compose")
    by_id = {a["id"]: a for a in accounts}
    left, right = st.columns(2)
    with left:
        account_id = account["id"]  # the account picked at the top of the page: calendar, best times and compose agree
        target = by_id[account_id]
        st.markdown(f"Posting as **{fmt.plain(account_label(target))}** (change it with **Account** at the top).")
        text = st.text_area("Text", key="compose_text", height=160, placeholder="What to post…",
                            help="For X, a line holding only --- splits the post into a thread.")
        when_kind = st.radio("When", [BEST_SLOT, PICK_TIME], key="compose_when", horizontal=True)
        local_now = datetime.now(UTC).astimezone(ZoneInfo(target["timezone"]))
        if when_kind == PICK_TIME:
            day_col, time_col = st.columns(2)
            ui.seed("compose_date", local_now.date() + timedelta(days=1))
            ui.seed("compose_time", time(9, 0))
            on_day = day_col.date_input("Date", key="compose_date", format="YYYY-MM-DD")
            at_time = time_col.time_input("Time", key="compose_time", step=timedelta(minutes=15))
            st.caption(f"In the account's time zone, {target['timezone']}.")
        upload_round = st.session_state.setdefault("compose_upload_round", 0)  # a new uploader once a post is scheduled
        attached = media_ui.media_uploader(f"compose_{upload_round}", target["platform"])
        issues = check(target["platform"], text, attached.counted()) if text.strip() else []
        for issue in issues:
            ui.field_error(str(issue))
        if target["status"] != social_accounts.ACTIVE:
            ui.field_error(f"This account needs re-authentication; {social_accounts.REAUTH_HINT}.")
        ready = bool(text.strip()) and not issues and attached.ok and target["status"] == social_accounts.ACTIVE
        if ui.can("post.schedule_own_text") and st.button("Schedule", key="compose_schedule", type="primary", icon=":material/schedule_send:", disabled=not ready):
            try:
                if when_kind == BEST_SLOT:
                    scheduled_at = queries.next_best_slot(queries.source(), merchant_id, account_id)
                else:
                    scheduled_at = scheduling.schedule_time(datetime.combine(on_day, at_time), target["timezone"])
                if attached.files:
                    settings = queries.settings()
                    item = ui.write("post.schedule_own_text", video.schedule_with_media, merchant_id, account_id=account_id, text=text,
                                    scheduled_at=scheduled_at, author=ui.actor(), files=attached.files, alts=attached.alts,
                                    store=media_store(settings), base_url=settings.public_url)
                else:
                    item = ui.write("post.schedule_own_text", scheduling.schedule_text, merchant_id, account_id=account_id, text=text,
                                    scheduled_at=scheduled_at, author=ui.actor())
            except (social_accounts.QueueError, LookupError, ValueError) as exc:
                ui.flash(f"Not scheduled: {fmt.plain(exc)}", "warning")
            else:
                images = f" with {attached.summary()}" if attached.files else ""
                ui.flash(f"Scheduled post #{item.id}{images} for {fmt.moment(item.scheduled_at, target['timezone'])}.")
                st.session_state.pop("compose_text", None)
                st.session_state["compose_upload_round"] = upload_round + 1
            st.rerun()
        if not text.strip():
            st.caption("Write the text to see the preview and enable **Schedule**.")
    with right:
        st.markdown(f"**Preview on {fmt.channel_label(target['platform'])}**")
        if text.strip():
            try:
                st.html(preview_html(target["platform"], text, attached.previews(), attached.durations()))
            except Exception as exc:  # a preview is a help, never a blocker
                st.caption(f"No preview: {fmt.plain(exc)}")
        else:
            st.caption("The preview appears as you type.")


def preview_html(platform: str, text: str, images: list[str] | None = None, durations: dict[str, float] | None = None) -> str:
    publishers = ui.publishers()
    return publishers[platform].preview(SocialPost(text=text, media=images or []), durations=durations or {})


# --- page --------------------------------------------------------------------------------------
# --- connecting accounts ---------------------------------------------------------------------------
def start_connect(merchant_id: str, platform: str) -> None:
    """Keep a pending connection and remember its authorization URL for the link button."""
    settings = queries.settings()
    clients = connect.clients_from_settings(settings)
    try:
        started = ui.write("account.connect", connect.start_connection, merchant_id, platform, actor=ui.actor(), clients=clients,
                           redirect_uri=settings.oauth_redirect_uri(platform), cipher=cipher_from_settings(settings),
                           ttl=timedelta(minutes=settings.oauth_connect_minutes))
    except (ValueError, LookupError, TokenKeyError) as exc:
        ui.flash(f"Cannot connect {fmt.channel_label(platform)}: {exc}", "warning")
        st.session_state.pop("connect_url", None)
    else:
        st.session_state["connect_url"] = (platform, started.authorization_url, f"{started.expires_at:%H:%M} UTC")
    finally:
        for client in clients.values():
            client.close()


def connect_section(merchant_id: str, accounts: list[dict[str, Any]], *, expanded: bool = False) -> None:
    for account in accounts:
        if account["status"] != social_accounts.ACTIVE:
            reason = f": {account['reauth_reason']}" if account.get("reauth_reason") else ""
            st.warning(f"{fmt.channel_label(account['platform'])} {account['handle']} needs to be reconnected{reason}. "
                       "Its queued posts stop until then; connect it again below.", icon=":material/link_off:")
    pending = st.session_state.get("connect_url")  # open while a started connection's link waits to be used
    with st.expander("Connect account", expanded=expanded or bool(pending) or any(a["status"] != social_accounts.ACTIVE for a in accounts),
                     icon=":material/add_link:"):
        st.caption("Sign in on the platform and grant access; the accounts you manage there are added here, their tokens encrypted. "
                   "LinkedIn adds the organization pages you administer, Facebook your pages, Instagram the professional accounts linked to them.")
        for column, platform in zip(st.columns(len(CONNECTABLE)), CONNECTABLE, strict=True):
            if column.button(f"Connect {fmt.channel_label(platform)}", key=f"connect_{platform}", icon=":material/link:"):
                start_connect(merchant_id, platform)
                st.rerun()
        if pending:
            platform, url, until = pending
            st.link_button(f"Open {fmt.channel_label(platform)} to grant access", url, type="primary", icon=":material/open_in_new:")
            st.caption(f"The link works until {until}. After granting access you return to this installation's public address; "
                       "then come back here and press **Show connected accounts**.")
            if st.button("Show connected accounts", key="connect_done", icon=":material/refresh:"):
                # the callback wrote the account in the public server's process: read the store afresh
                queries.clear_store_caches()
                st.session_state.pop("connect_url", None)
                st.rerun()


def main() -> None:
    st.title("Social Scheduler")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    accounts = queries.social_accounts(queries.source(), merchant_id)
    if not accounts:
        ui.empty_state("No social accounts connected yet. Connect one with the buttons below (or `campaigns accounts connect --platform x`), "
                       "then come back to plan posts.", icon=":material/share:")
        connect_section(merchant_id, accounts, expanded=True)
        st.stop()
    connect_section(merchant_id, accounts)
    by_id = {a["id"]: a for a in accounts}
    account_id = st.selectbox("Account", list(by_id), key="social_account", format_func=lambda i: account_label(by_id[i]))
    account = by_id[account_id]
    queue = queries.social_queue(queries.source(), merchant_id)

    week, best = st.tabs(["Week calendar", "Best times"])
    with week:
        calendar(queue, account)
    with best:
        heatmap(merchant_id, account)
    queue_section(queue, merchant_id, {a["id"]: a["timezone"] for a in accounts})
    publish_due()
    compose(merchant_id, accounts, account)


main()
