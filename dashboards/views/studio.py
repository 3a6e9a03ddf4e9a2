"""Content Studio: Leo's repurposed drafts by source post, variations side by side, edit, approve or reject; the approvals inbox."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from agents.ava import workflow
from agents.leo.store import approve_repurposed, edit_repurposed, get_repurposed
from campaigns.domain.enums import ContentStatus
from campaigns.services.audit import record
from campaigns.store.db import session_scope
from dashboards import queries, ui
from dashboards import formatting as fmt
from publishers import build_publishers
from publishers.base import SOCIAL_PLATFORMS, SocialPost

# the field a person edits for each format (the rest stays as Leo wrote it)
EDIT_FIELD = {"x": "text", "linkedin": "text", "facebook": "text", "instagram": "text", "email": "text", "ads": "primary_text"}
STATUS_ICONS = {"DRAFT": ":gray-badge[DRAFT]", "APPROVED": ":green-badge[APPROVED]", "REJECTED": ":red-badge[REJECTED]",
                "PUBLISHED": ":blue-badge[PUBLISHED]"}


def engine_badge(engine: str) -> str:
    if not engine or engine.lower().startswith("offline"):
        return f":gray-badge[:material/computer: offline engine{' · ' + engine if engine and engine.lower() != 'offline' else ''}]"
    return f":violet-badge[:material/smart_toy: model {engine}]"


# --- writes ------------------------------------------------------------------------------------
def run_write(work: Any, message: str) -> None:
    try:
        with session_scope(queries.settings().store_url) as session:
            work(session)
    except (LookupError, ValueError) as exc:
        ui.flash(f"That did not happen: {exc}", "warning")
    else:
        ui.flash(message)
    finally:
        queries.clear_social_caches()
    st.rerun()


def reject(session: Any, merchant_id: str, repurposed_id: int) -> None:
    """No service rejects a repurposed draft yet: set the status on the scoped row and audit it."""
    row = get_repurposed(session, merchant_id, repurposed_id)
    before = row.status
    row.status = ContentStatus.REJECTED
    record(session, merchant_id, ui.ACTOR, "content.reject", "repurposed", str(row.id), before=before.value, content_hash=row.content_hash)


# --- one variant -------------------------------------------------------------------------------
def variant_card(row: dict[str, Any], merchant_id: str) -> None:
    with st.container(border=True):
        st.markdown(f"**Variant {row['variant']}** {STATUS_ICONS.get(row['status'], row['status'])} {engine_badge(row['engine'])}")
        if row["angle"]:
            st.caption(f"Angle: {row['angle']} · rc-{row['id']}")
        if row["format"] in SOCIAL_PLATFORMS:
            try:
                st.html(build_publishers(queries.settings())[row["format"]].preview(SocialPost(text=row["text"])))
            except Exception as exc:  # a preview is a help, never a blocker
                st.caption(f"No preview: {exc}")
        else:
            st.text(row["text"][:1200])
        field = EDIT_FIELD.get(row["format"])
        with st.expander("Edit", icon=":material/edit:"):
            current = str(row["payload"].get(field) or "")
            new = st.text_area(f"{field.replace('_', ' ').capitalize()}", value=current, key=f"studio_edit_{row['id']}", height=140)
            st.caption("Saving an edit voids an earlier approval: the new text needs approving again.")
            if st.button("Save edit", key=f"studio_save_{row['id']}", icon=":material/save:", disabled=new == current):
                run_write(lambda s: edit_repurposed(s, merchant_id, row["id"], {field: new}, ui.ACTOR),
                          f"Saved the edit of rc-{row['id']}; it is a draft again until approved.")
        approve_col, reject_col = st.columns(2)
        if row["status"] != "APPROVED" and approve_col.button("Approve", key=f"studio_approve_{row['id']}", icon=":material/verified:",
                                                              type="primary"):
            run_write(lambda s: approve_repurposed(s, merchant_id, row["id"], ui.ACTOR, "approved in the content studio"),
                      f"Approved rc-{row['id']} as it reads now.")
        if row["status"] != "REJECTED" and reject_col.button("Reject", key=f"studio_reject_{row['id']}", icon=":material/thumb_down:"):
            run_write(lambda s: reject(s, merchant_id, row["id"]), f"Rejected rc-{row['id']}.")


def source_section(rows: list[dict[str, Any]], merchant_id: str) -> None:
    formats = sorted({r["format"] for r in rows})
    tabs = st.tabs([fmt.channel_label(f) for f in formats])
    for tab, format_ in zip(tabs, formats, strict=True):
        with tab:
            variants = [r for r in rows if r["format"] == format_]
            for col, row in zip(st.columns(len(variants)), variants, strict=True):
                with col:
                    variant_card(row, merchant_id)


def inbox(merchant_id: str) -> None:
    st.subheader("Approvals inbox")
    awaiting = queries.awaiting_approval(queries.source(), merchant_id)
    if awaiting.is_empty():
        st.success("Nothing waits for approval.", icon=":material/done_all:")
        return
    st.caption(f"{awaiting.height} item(s) in DRAFT: repurposed drafts are approved above; campaign content on the Campaigns page.")
    st.dataframe(awaiting.select(pl.col("kind").alias("Kind"), pl.col("id").alias("Id"), pl.col("channel").alias("Channel"),
                                 pl.col("what").alias("What"), pl.col("campaign").alias("Campaign"), pl.col("updated_at").alias("Updated")),
                 hide_index=True, width="stretch", key="studio_inbox")


# --- orchestration -----------------------------------------------------------------------------
def workflows(merchant_id: str) -> None:
    st.subheader("Orchestration")
    campaigns = dict(queries.workflow_campaigns(queries.source(), merchant_id))
    if not campaigns:
        ui.empty_state("No campaign workflows yet. Ava turns a goal into a plan with steps:\n\n"
                       "```\ncampaigns plan \"Grow autumn sales\" --save\n```", icon=":material/account_tree:")
        return
    campaign_id = st.selectbox("Campaign", list(campaigns), key="studio_workflow", format_func=lambda c: f"{campaigns[c]} ({c})")
    with session_scope(queries.settings().store_url) as session:
        data = workflow.status(session, merchant_id, campaign_id)
    st.markdown(f"Workflow state: **{data['state']}**")
    steps = pl.DataFrame([{k: s[k] for k in ("order", "type", "status", "attempts", "due_at", "error")} for s in data["steps"]],
                         schema={"order": pl.Int64, "type": pl.String, "status": pl.String, "attempts": pl.Int64, "due_at": pl.String,
                                 "error": pl.String})
    st.dataframe(steps, hide_index=True, width="stretch")
    if data["escalations"]:
        st.warning(f"{len(data['escalations'])} escalation(s) wait for a person; the latest: {data['escalations'][0].get('reason')}",
                   icon=":material/support_agent:")
    bar = st.container(horizontal=True, gap="small")
    for action, icon in (("pause", ":material/pause:"), ("resume", ":material/play_arrow:"), ("cancel", ":material/cancel:")):
        if bar.button(action.capitalize(), key=f"workflow_{action}", icon=icon):
            run_write(lambda s, a=action: getattr(workflow, a)(s, merchant_id, campaign_id, ui.ACTOR, "from the content studio"),
                      f"Workflow of {campaign_id}: {action} done.")
    if not steps.is_empty():
        step_col, skip_col, retry_col = st.columns([3, 1, 1], vertical_alignment="bottom")
        order = step_col.selectbox("Step", steps["order"].to_list(), key="workflow_step",
                                   format_func=lambda o: f"{o}: {steps.filter(pl.col('order') == o)['type'][0]}")
        if skip_col.button("Skip step", key="workflow_skip", icon=":material/skip_next:"):
            run_write(lambda s: workflow.skip_step(s, merchant_id, campaign_id, order, ui.ACTOR, "skipped in the content studio"),
                      f"Skipped step {order}.")
        if retry_col.button("Retry step", key="workflow_retry", icon=":material/replay:"):
            run_write(lambda s: workflow.retry_step(s, merchant_id, campaign_id, order, ui.ACTOR), f"Step {order} will run again.")


# --- page --------------------------------------------------------------------------------------
def main() -> None:
    st.title("Content Studio")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    rows = queries.repurposed(queries.source(), merchant_id)
    drafts = [r for r in rows if r["status"] == "DRAFT"]
    studio, approvals, orchestration = st.tabs(["Drafts by source post", f"Approvals inbox ({len(drafts)})", "Orchestration"])
    with studio:
        if not rows:
            ui.empty_state("No repurposed content yet. Ask Leo to turn a blog post into posts, emails and ads:\n\n"
                           "```\ncampaigns agents repurpose https://yourshop.example/blog/post\n```", icon=":material/auto_fix_high:")
        else:
            sources = {}
            for r in rows:
                sources.setdefault(r["source_hash"], r["source_title"])
            source_hash = st.selectbox("Source post", list(sources), key="studio_source", format_func=sources.__getitem__)
            picked = [r for r in rows if r["source_hash"] == source_hash]
            counts = {s: sum(1 for r in picked if r["status"] == s) for s in ("DRAFT", "APPROVED", "REJECTED")}
            st.caption(" · ".join(f"{n} {s.lower()}" for s, n in counts.items()) + f" · {len(picked)} outputs in {len({r['format'] for r in picked})} formats")
            source_section(picked, merchant_id)
    with approvals:
        inbox(merchant_id)
    with orchestration:
        workflows(merchant_id)


main()
