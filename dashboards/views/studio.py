"""Content Studio: Leo's repurposed drafts by source post, variations side by side, edit, approve or reject; the approvals inbox.

Ava's plans, workflow steps and overrides are on the Orchestration page (views/orchestration.py)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from agents.leo.drafts import ANGLE_HINTS
from agents.leo.store import approve_campaign_content, approve_repurposed, edit_repurposed, reject_campaign_content, reject_repurposed
from dashboards import content_channels, media_ui, queries, ui
from dashboards import formatting as fmt
from publishers.base import SOCIAL_PLATFORMS, SocialPost

# the field a person edits for each format (the rest stays as Leo wrote it)
EDIT_FIELD = {"x": "text", "linkedin": "text", "facebook": "text", "instagram": "text", "email": "text", "ads": "primary_text"}
STATUS_ICONS = {"DRAFT": ":gray-badge[DRAFT]", "APPROVED": ":green-badge[APPROVED]", "REJECTED": ":red-badge[REJECTED]",
                "PUBLISHED": ":blue-badge[PUBLISHED]"}


def engine_badge(engine: str) -> str:
    if not engine or engine.lower().startswith("offline"):
        return f":gray-badge[:material/computer: offline engine{' · ' + engine if engine and engine.lower() != 'offline' else ''}]"
    return f":violet-badge[:material/smart_toy: model {engine}]"


# --- one variant -------------------------------------------------------------------------------
def why_leo_wrote_this(row: dict[str, Any]) -> None:
    """The variant's angle and the post's sentences it draws on (the traceability kept in its JSON), shown as plain text."""
    payload = row["payload"]
    refs = [r for r in payload.get("source_sentences") or [] if isinstance(r, dict) and r.get("text")]
    angle = row["angle"] or "unknown"
    with st.expander(f"Why Leo wrote this: {angle} angle, {len(refs)} source sentence(s)", icon=":material/format_quote:"):
        st.caption(f"Angle: {angle} — {ANGLE_HINTS.get(angle, 'no description for this angle')}.")
        if not refs:
            st.caption("No source sentences recorded for this variant.")
        for ref in refs:
            st.text(f"{ref.get('id', '?')}: {ref['text']}")  # the post's own words, never rendered as Markdown
        for note in payload.get("notes") or []:
            st.caption(f"Note: {note}")


def chosen_image(row: dict[str, Any]) -> None:
    """The post's image Leo chose for this draft (a thumbnail and its alt text); it is fetched and stored when the draft is scheduled."""
    media = row["payload"].get("media")
    if not isinstance(media, dict) or not media.get("src"):
        return
    src = str(media["src"])
    try:
        st.image(src, width=160)  # an http(s) address is loaded by the browser; a file next to the post is read here
    except Exception:  # a thumbnail is a help, never a blocker
        st.caption(f"Image: {fmt.plain(src)}")
    st.caption(f"Alt text: {fmt.plain(media.get('alt') or '')} · {fmt.plain(media.get('why') or 'chosen from the post')}")


def variant_card(row: dict[str, Any], merchant_id: str) -> None:
    with st.container(border=True):
        st.markdown(f"**Variant {row['variant']}** {STATUS_ICONS.get(row['status'], row['status'])} {engine_badge(row['engine'])}")
        if row["angle"]:
            st.caption(f"Angle: {fmt.plain(row['angle'])} · rc-{row['id']}")
        if row["format"] in SOCIAL_PLATFORMS:
            try:
                st.html(ui.publishers()[row["format"]].preview(SocialPost(text=row["text"])))
            except Exception as exc:  # a preview is a help, never a blocker
                st.caption(f"No preview: {fmt.plain(exc)}")
            chosen_image(row)
        else:
            st.text(row["text"][:1200])
        why_leo_wrote_this(row)
        if row["format"] in SOCIAL_PLATFORMS and row["status"] == "APPROVED":
            media_ui.schedule_draft_with_media(merchant_id, row)
        field = EDIT_FIELD.get(row["format"])
        with st.expander("Edit", icon=":material/edit:"):
            current = str(row["payload"].get(field) or "")
            new = st.text_area(f"{field.replace('_', ' ').capitalize()}", value=current, key=f"studio_edit_{row['id']}", height=140)
            st.caption("Saving an edit voids an earlier approval: the new text needs approving again.")
            if st.button("Save edit", key=f"studio_save_{row['id']}", icon=":material/save:", disabled=new == current):
                ui.change("content.edit", edit_repurposed, merchant_id, row["id"], {field: new}, ui.actor(),
                          done=f"Saved the edit of rc-{row['id']}; it is a draft again until approved.")
        approve_col, reject_col = st.columns(2)
        if row["status"] != "APPROVED" and ui.can("content.approve") and approve_col.button("Approve", key=f"studio_approve_{row['id']}", icon=":material/verified:",
                                                              type="primary"):
            ui.change("content.approve", approve_repurposed, merchant_id, row["id"], ui.actor(), "approved in the content studio",
                      done=f"Approved rc-{row['id']} as it reads now.")
        if row["status"] != "REJECTED" and ui.can("content.reject") and reject_col.button("Reject", key=f"studio_reject_{row['id']}", icon=":material/thumb_down:"):
            ui.change("content.reject", reject_repurposed, merchant_id, row["id"], ui.actor(), "rejected in the content studio", done=f"Rejected rc-{row['id']}.")
        channels(row, merchant_id)


def channels(row: dict[str, Any], merchant_id: str) -> None:
    """An approved variant stored with a campaign onto its channel: Schedule, Make email campaign, or Export ads (the campaign's)."""
    content_id = row["payload"].get("campaign_content_id")
    if row["status"] != "APPROVED" or not content_id or not row.get("campaign_id"):
        return
    if row["format"] == "ads":
        content_channels.export_ads_buttons(merchant_id, row["campaign_id"], key=f"studio_ads_{row['id']}")
        return
    content = {"id": int(content_id), "status": "APPROVED", "platform": row["format"] if row["format"] != "email" else None,
               "channel": row["format"], "content_type": "email" if row["format"] == "email" else "post"}
    content_channels.draft_actions(merchant_id, content, key=f"studio_cc_{row['id']}")


def source_section(rows: list[dict[str, Any]], merchant_id: str) -> None:
    formats = sorted({r["format"] for r in rows})
    tabs = st.tabs([fmt.plain(fmt.channel_label(f)) for f in formats])
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
    st.caption(f"{awaiting.height} item(s) in DRAFT. Approving binds the approval to the text as it reads now; an edit needs a new one.")
    st.dataframe(awaiting.select(pl.col("kind").alias("Kind"), pl.col("id").alias("Id"), pl.col("channel").alias("Channel"),
                                 pl.col("what").alias("What"), pl.col("campaign").alias("Campaign"), pl.col("updated_at").alias("Updated")),
                 hide_index=True, width="stretch", key="studio_inbox")
    labels = {f"{'cc' if r['kind'] == 'campaign content' else 'rc'}-{r['id']}": f"{r['kind']} {r['id']} · {r['channel']} · {(r['what'] or '')[:60]}"
              for r in awaiting.iter_rows(named=True)}
    pick_col, approve_col, reject_col = st.columns([4, 1, 1], vertical_alignment="bottom")
    picked = pick_col.selectbox("Item", list(labels), key="studio_inbox_item", format_func=labels.__getitem__)
    kind, _, number = picked.partition("-")
    item_id = int(number)
    if ui.can("content.approve") and approve_col.button("Approve", key="studio_inbox_approve", icon=":material/verified:", type="primary"):
        approve = approve_campaign_content if kind == "cc" else approve_repurposed
        ui.change("content.approve", approve, merchant_id, item_id, ui.actor(), "approved in the approvals inbox", done=f"Approved {picked} as it reads now.")
    if ui.can("content.reject") and reject_col.button("Reject", key="studio_inbox_reject", icon=":material/thumb_down:"):
        reject = reject_campaign_content if kind == "cc" else reject_repurposed
        ui.change("content.reject", reject, merchant_id, item_id, ui.actor(), "rejected in the approvals inbox", done=f"Rejected {picked}.")


# --- page --------------------------------------------------------------------------------------
def main() -> None:
    st.title("Content Studio")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    rows = queries.repurposed(queries.source(), merchant_id)
    drafts = [r for r in rows if r["status"] == "DRAFT"]
    studio, approvals = st.tabs(["Drafts by source post", f"Approvals inbox ({len(drafts)})"])
    with studio:
        if not rows:
            ui.empty_state("No repurposed content yet. Ask Leo to turn a blog post into posts, emails and ads:\n\n"
                           "```\ncampaigns repurpose blog/post.md --url https://yourshop.example/blog/post\n```", icon=":material/auto_fix_high:")
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


main()
