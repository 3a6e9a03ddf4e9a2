"""Campaign builder: a step-by-step wizard with live validation, a preview, and drafts saved as you go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from campaigns.audiences.segments import EVERYONE, RuleError, ads_targeting_note, describe, validate_rules
from campaigns.core.enums import MARKETING_CHANNELS, CampaignType, Channel
from campaigns.lifecycle import drafts
from campaigns.lifecycle import templates as ct
from dashboards import formatting as fmt
from dashboards import queries, ui, wizard
from dashboards.rule_builder import rule_builder
from dashboards.ui import field_error, seed
from publishers.limits import LIMITS, measure

WIZARD_KEY = "wizard"
BLANK = "blank"


def _fresh(merchant_id: str, timezone: str) -> dict[str, Any]:
    for key in [k for k in st.session_state if str(k).startswith("wiz_")]:
        del st.session_state[key]
    return {**wizard.blank(timezone), "merchant_id": merchant_id}


def _errors_here(slot, errors: dict[str, list[str]], name: str) -> None:
    with slot:
        for message in errors.get(name, []):
            field_error(message)


# --- steps ---------------------------------------------------------------------------------------
def step_basics(draft: dict[str, Any], slots: dict[str, Any]) -> None:
    if not draft["campaign_id"]:
        with st.container(border=True):
            choice_col, apply_col = st.columns([4, 1], vertical_alignment="bottom")
            seed("wiz_template_pick", draft.get("template_id") or BLANK)
            picked = choice_col.selectbox(
                "Start from a template (optional)", [BLANK, *[t.id for t in ct.TEMPLATES]], key="wiz_template_pick",
                format_func=lambda t: "Blank campaign" if t == BLANK else f"{ct.get_template(t).name} · {ct.GOALS[ct.get_template(t).goal]}",
            )
            if apply_col.button("Apply", key="wiz_template_apply", disabled=picked == (draft.get("template_id") or BLANK)):
                name = draft["name"]
                fresh = wizard.blank(draft["timezone"]) if picked == BLANK else wizard.from_template(picked, draft["timezone"])
                st.session_state[WIZARD_KEY] = {**_fresh(draft["merchant_id"], draft["timezone"]), **fresh, "name": name,
                                                "merchant_id": draft["merchant_id"]}
                st.rerun()
    seed("wiz_name", draft["name"])
    draft["name"] = st.text_input("Campaign name", key="wiz_name", max_chars=200, placeholder="e.g. Winter boots launch")
    slots["name"] = st.container()
    types = [t.value for t in CampaignType]
    seed("wiz_type", draft["type"])
    draft["type"] = st.selectbox("Type", types, key="wiz_type", format_func=str.title,
                                 help="Awareness: reach; engagement: interaction; conversion: sales and sign-ups.")
    slots["type"] = st.container()
    seed("wiz_description", draft["description"])
    draft["description"] = st.text_area("Description", key="wiz_description", height=90, placeholder="What is this campaign for?")


def step_goal(draft: dict[str, Any], slots: dict[str, Any]) -> None:
    goals = [*ct.GOALS, wizard.OTHER_GOAL]
    seed("wiz_goal", draft["goal"] if draft["goal"] in goals else wizard.OTHER_GOAL)
    draft["goal"] = st.selectbox("Goal", goals, key="wiz_goal", format_func=lambda g: ct.GOALS.get(g, "Something else"))
    kpis = list(ct.KPIS)
    seed("wiz_kpi", draft["kpi"] if draft["kpi"] in kpis else kpis[0])
    draft["kpi"] = st.selectbox("Key performance indicator", kpis, key="wiz_kpi", format_func=lambda k: ct.KPIS[k],
                                help="The number this campaign is judged by; the overview and campaign page report it.")
    seed("wiz_target", float(draft.get("target") or 0))
    draft["target"] = st.number_input("Target for the flight (0: no target)", key="wiz_target", min_value=0.0, step=100.0)
    slots["target"] = st.container()


def step_audience(draft: dict[str, Any], slots: dict[str, Any], merchant_id: str) -> None:
    source = queries.source()
    segments = queries.saved_segments(source, merchant_id)
    modes = {"everyone": "Every contact", "saved": "A saved segment", "rules": "Build rules"}
    seed("wiz_audience_mode", draft["audience_mode"] if draft["audience_mode"] in modes else "everyone")
    mode = st.radio("Email audience", list(modes), key="wiz_audience_mode", format_func=modes.get, horizontal=True)
    draft["audience_mode"] = mode
    if mode == "everyone":
        draft.update(rules=dict(EVERYONE), segment_id=None, segment_name="")
    elif mode == "saved":
        if not segments:
            st.info("No saved segments yet. Build one on the **Audiences** page, or choose “Build rules”.", icon=":material/groups:")
            draft.update(rules=dict(EVERYONE), segment_id=None, segment_name="")
        else:
            ids = [g["id"] for g in segments]
            names = {g["id"]: g["name"] for g in segments}
            seed("wiz_segment", draft["segment_id"] if draft["segment_id"] in ids else ids[0])
            segment_id = st.selectbox("Segment", ids, key="wiz_segment", format_func=names.get)
            segment = next(g for g in segments if g["id"] == segment_id)
            draft.update(rules=segment["rules"], segment_id=segment_id, segment_name=segment["name"])
            try:
                validate_rules(segment["rules"])
                st.caption(f"Contacts who are {fmt.plain(describe(segment['rules']))}.")
            except RuleError as exc:
                st.caption(f"This segment uses a rule the builder cannot count: {fmt.plain(exc)}")
    else:
        rules, _problem = rule_builder("wiz_rules", draft["rules"], seed_name=f"{draft['campaign_id']}|{draft.get('template_id')}")
        draft.update(rules=rules, segment_id=None, segment_name="")
    slots["rules"] = st.container()
    size_col, email_col = st.columns(2)
    try:
        validate_rules(draft["rules"])
        key = wizard.rules_json(draft["rules"])
        size_col.metric("Contacts in the audience", fmt.number(queries.segment_size(source, merchant_id, key)), border=True)
        email_col.metric("Of them subscribed to email", fmt.number(queries.segment_size(source, merchant_id, key, True)), border=True)
    except RuleError:
        size_col.metric("Contacts in the audience", fmt.MISSING, border=True)

    st.markdown("**Social accounts** that post this campaign")
    accounts = queries.social_accounts(source, merchant_id)
    if not accounts:
        st.caption("No social accounts connected for this merchant yet; social channels will have no account to post from.")
        draft["social_account_ids"] = []
    else:
        ids = [a["id"] for a in accounts]
        labels = {a["id"]: f"{fmt.channel_label(a['platform'])} @{a['handle']}" for a in accounts}
        seed("wiz_accounts", [i for i in draft["social_account_ids"] if i in ids] or ids)
        draft["social_account_ids"] = st.multiselect("Accounts", ids, key="wiz_accounts", format_func=labels.get, label_visibility="collapsed")
    st.markdown("**Ad audiences**")
    seed("wiz_ads_note", draft["ads_note"] or ads_targeting_note(draft["rules"] if _valid(draft["rules"]) else {}, "ADS"))
    draft["ads_note"] = st.text_area("Targeting note for the ad platforms", key="wiz_ads_note", height=80,
                                     help="Describe the audience to build in the ad platforms (customer list, lookalikes, interests).")


def _valid(rules: dict[str, Any]) -> bool:
    try:
        validate_rules(rules)
        return True
    except RuleError:
        return False


def step_channels(draft: dict[str, Any], slots: dict[str, Any], currency: str) -> None:
    seed("wiz_channels", [c for c in draft["channels"] if c in wizard.CHANNELS])
    channels = st.multiselect("Channels", list(wizard.CHANNELS), key="wiz_channels", format_func=fmt.channel_label)
    draft["channels"] = channels
    slots["channels"] = st.container()
    seed("wiz_budget", float(draft.get("budget") or 0))
    draft["budget"] = st.number_input(f"Total budget ({currency})", key="wiz_budget", min_value=0.0, step=100.0, format="%.2f")
    slots["budget"] = st.container()
    if not channels:
        return
    even_col, template_col = st.columns(2)
    if even_col.button("Split evenly", key="wiz_split_even", icon=":material/balance:"):
        _set_split(draft, wizard.even_split(draft["budget"], channels))
    template_id = draft.get("template_id")
    if template_id and set(ct.get_template(template_id).budget_split) & set(channels):
        if template_col.button("Use the template's split", key="wiz_split_template", icon=":material/auto_awesome_mosaic:"):
            _set_split(draft, wizard.template_split(template_id, draft["budget"], channels))
    st.markdown("**Budget per channel**")
    columns = st.columns(min(len(channels), 4))
    for i, channel in enumerate(channels):
        seed(f"wiz_split_{channel}", float(draft["split"].get(channel, 0.0)))
        draft["split"][channel] = columns[i % len(columns)].number_input(
            fmt.channel_label(channel), key=f"wiz_split_{channel}", min_value=0.0, step=50.0, format="%.2f"
        )
    allocated = sum(draft["split"].get(c, 0.0) for c in channels)
    total = float(draft["budget"] or 0)
    st.progress(min(allocated / total, 1.0) if total else 0.0,
                text=f"Allocated {fmt.money(allocated, currency, 2)} of {fmt.money(total, currency, 2)}")
    slots["split"] = st.container()
    organic = [c for c in channels if MARKETING_CHANNELS[c] is not Channel.ADS]
    if organic:
        st.markdown("**Cadence** (per week)")
        columns = st.columns(min(len(organic), 4))
        for i, channel in enumerate(organic):
            unit = "emails" if MARKETING_CHANNELS[channel] is Channel.EMAIL else "posts"
            seed(f"wiz_cadence_{channel}", float(draft["cadence"].get(channel, 3.0 if unit == "posts" else 1.0)))
            draft["cadence"][channel] = columns[i % len(columns)].number_input(
                f"{fmt.channel_label(channel)} {unit}", key=f"wiz_cadence_{channel}", min_value=0.0, max_value=50.0, step=1.0
            )
    slots["cadence"] = st.container()


def _set_split(draft: dict[str, Any], amounts: dict[str, float]) -> None:
    draft["split"] = dict(amounts)
    for key in [k for k in st.session_state if str(k).startswith("wiz_split_") and k not in ("wiz_split_even", "wiz_split_template")]:
        del st.session_state[key]
    st.rerun()


def step_content(draft: dict[str, Any], slots: dict[str, Any], merchant_id: str) -> None:
    if not draft["channels"]:
        st.info("Choose channels in the previous step first; each channel gets its own draft here.", icon=":material/arrow_back:")
        return
    st.caption("Drafts are saved with the campaign and wait for approval before anything is published: each one on its own, "
               "so a channel may hold several posts of the flight.")
    from_blog_post(draft, merchant_id)
    more_drafts = draft.setdefault("more_drafts", {})
    for channel in draft["channels"]:
        label = fmt.channel_label(channel)
        seed(f"wiz_draft_{channel}", draft["drafts"].get(channel, ""))
        text = st.text_area(label, key=f"wiz_draft_{channel}", height=120,
                            placeholder="Write the post, email (start with “Subject: …”) or ad copy")
        draft["drafts"][channel] = text
        st.caption(_length_hint(channel, text))
        slots[f"drafts.{channel}"] = st.container()
        more = more_drafts.setdefault(channel, [])
        for number in range(2, len(more) + 2):
            key = f"wiz_draft_{channel}_{number}"
            seed(key, more[number - 2])
            more[number - 2] = st.text_area(f"{label} · draft {number}", key=key, height=120,
                                            help="Saved as its own draft, approved and scheduled on its own; empty it to drop it.")
            st.caption(_length_hint(channel, more[number - 2]))
            slots[f"drafts.{channel}.{number}"] = st.container()
        if st.button(f"Another {label} draft", key=f"wiz_more_{channel}", icon=":material/add:"):
            more.append("")
            st.rerun()


def from_blog_post(draft: dict[str, Any], merchant_id: str) -> None:
    """Leo writes drafts per chosen channel from a blog post; they fill the fields below, to edit before saving."""
    has_text = any(draft["drafts"].values()) or any(t for more in draft.get("more_drafts", {}).values() for t in more)
    with st.expander("Start from a blog post", icon=":material/article:", expanded=not has_text):
        post = st.text_area("Blog post (Markdown, HTML or plain text)", key="wiz_blog_post", height=160,
                            placeholder="# Title\n\nPaste the post here: Leo drafts the posts, the email and the ads from it.")
        variations = st.number_input("Drafts per channel", min_value=1, max_value=wizard.MAX_LEO_VARIATIONS, value=1, step=1,
                                     key="wiz_leo_variations",
                                     help="Leo's variations, each from its own angle: keep several to post more than once, or "
                                          "pick one and empty the others.")
        if st.button("Write drafts with Leo", key="wiz_leo", icon=":material/auto_awesome:", disabled=not post.strip()):
            try:
                written = ui.write("content.edit", wizard.drafts_from_post, merchant_id, post, draft["channels"], ui.actor(), int(variations))
            except ValueError as exc:  # the post cannot be read (empty, too long, not text)
                st.error(fmt.plain(str(exc)), icon=":material/error:")
                return
            more_drafts = draft.setdefault("more_drafts", {})
            for channel, texts in written.items():
                draft["drafts"][channel] = texts[0]
                st.session_state[f"wiz_draft_{channel}"] = texts[0]
                for number in range(2, max(len(more_drafts.get(channel, [])), len(texts)) + 2):  # Leo's drafts replace the others
                    st.session_state.pop(f"wiz_draft_{channel}_{number}", None)
                more_drafts[channel] = texts[1:]
            count = sum(len(texts) for texts in written.values())
            ui.flash(f"Leo wrote {count} draft(s) from the post; edit them below before saving.")
            st.rerun()


def _length_hint(channel: str, text: str) -> str:
    if channel in LIMITS:
        return f"{measure(channel, text)} / {LIMITS[channel].max_length} characters on {fmt.channel_label(channel)}"
    return f"{len(text)} characters"


def step_schedule(draft: dict[str, Any], slots: dict[str, Any]) -> None:
    tz = draft["timezone"]
    st.caption(f"Times are in **{tz}**, the merchant's time zone; they are stored in UTC.")
    day_col, time_col = st.columns(2)
    seed("wiz_start_day", draft["start_day"])
    seed("wiz_start_time", draft["start_time"])
    draft["start_day"] = day_col.date_input("Start date", key="wiz_start_day", format="YYYY-MM-DD")
    draft["start_time"] = time_col.time_input("Start time", key="wiz_start_time", step=900)
    slots["start_date"] = st.container()
    day_col, time_col = st.columns(2)
    seed("wiz_end_day", draft["end_day"])
    seed("wiz_end_time", draft["end_time"])
    draft["end_day"] = day_col.date_input("End date", key="wiz_end_day", format="YYYY-MM-DD")
    draft["end_time"] = time_col.time_input("End time", key="wiz_end_time", step=900)
    slots["end_date"] = st.container()
    start = wizard.to_utc(draft["start_day"], draft["start_time"], tz)
    end = wizard.to_utc(draft["end_day"], draft["end_time"], tz)
    if start and end and end > start:
        days = (end - start).total_seconds() / 86400
        st.caption(f"{days:.0f} days · starts {start:%Y-%m-%d %H:%M} UTC · ends {end:%Y-%m-%d %H:%M} UTC")
        planned = [f"{fmt.channel_label(c)}: about {draft['cadence'][c] * days / 7:.0f}" for c in draft["channels"] if draft["cadence"].get(c)]
        if planned:
            st.caption("Planned posts and emails over the flight: " + ", ".join(planned))


# --- the whole campaign at a glance -------------------------------------------------------------
def preview(draft: dict[str, Any], merchant_id: str, currency: str, errors: dict[str, list[str]]) -> None:
    tz = draft["timezone"]
    st.markdown(f"#### {fmt.plain(draft['name']) or 'Untitled campaign'}")
    st.markdown(f"{fmt.status_badge('DRAFT') if draft['campaign_id'] else ':gray-badge[not saved yet]'} "
                f":gray-badge[{draft['type'].title()}]" + (f" :violet-badge[{ct.get_template(draft['template_id']).name}]" if draft.get("template_id") else ""))
    if draft["description"]:
        st.caption(fmt.plain(draft["description"]))
    goal = ct.GOALS.get(draft["goal"], "Something else")
    target = f" · target {fmt.number(draft['target'])}" if draft.get("target") else ""
    st.markdown(f"**Goal** {fmt.plain(goal)} · **KPI** {fmt.plain(ct.KPIS.get(draft['kpi'], draft['kpi']))}{fmt.plain(target)}")
    audience = describe(draft["rules"]) if _valid(draft["rules"]) else "an invalid rule"
    if draft.get("segment_name"):
        audience = f"segment “{draft['segment_name']}” ({audience})"
    st.markdown(f"**Audience** {fmt.plain(audience)}")
    if _valid(draft["rules"]):
        size = queries.segment_size(queries.source(), merchant_id, wizard.rules_json(draft["rules"]))
        st.caption(f"{fmt.number(size)} contacts")
    st.markdown(f"**Budget** {fmt.money(draft['budget'], currency, 2)}")
    if draft["channels"]:
        rows = []
        for channel in draft["channels"]:
            cadence = draft["cadence"].get(channel)
            unit = "emails" if MARKETING_CHANNELS[channel] is Channel.EMAIL else "posts"
            rows.append(
                {"channel": fmt.channel_label(channel), "budget": fmt.money(draft["split"].get(channel, 0), currency, 2),
                 "cadence": fmt.per_week(cadence, unit) if cadence else ("always on" if MARKETING_CHANNELS[channel] is Channel.ADS else "–"),
                 "draft": (draft["drafts"].get(channel) or "–")[:60] + _more_note(draft, channel)}
            )
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("No channels yet.")
    start = wizard.to_utc(draft["start_day"], draft["start_time"], tz)
    end = wizard.to_utc(draft["end_day"], draft["end_time"], tz)
    st.markdown(f"**Schedule** {fmt.moment(start, tz)} → {fmt.moment(end, tz)}")
    left = sum(len(v) for v in errors.values())
    if left:
        st.markdown(f":orange[:material/warning: {left} thing{'s' if left > 1 else ''} to fix before saving]")
        for step in wizard.STEPS[:-1]:
            for messages in wizard.step_errors(draft, step, errors).values():
                for message in messages:
                    st.caption(f"{step}: {fmt.plain(message)}")
    else:
        st.markdown(":green[:material/check_circle: Ready to save]")
    if draft.get("saved_at"):
        saved = draft["saved_at"]
        st.caption(f"Draft {draft['campaign_id']} saved {fmt.moment(saved, tz) if isinstance(saved, datetime) else saved}.")


def _more_note(draft: dict[str, Any], channel: str) -> str:
    more = sum(1 for t in draft.get("more_drafts", {}).get(channel, []) if t.strip())
    return f" (+{more} more)" if more else ""


# --- page ------------------------------------------------------------------------------------
def main() -> None:
    st.title("Campaign builder")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    profile = ui.merchant_profile(merchant_id)
    currency, tz = profile["currency"], profile["timezone"]
    draft = st.session_state.get(WIZARD_KEY)
    if not draft or draft.get("merchant_id") != merchant_id:
        draft = st.session_state[WIZARD_KEY] = _fresh(merchant_id, tz)

    step_index = draft["step"]
    step = wizard.STEPS[step_index]
    top_left, top_right = st.columns([5, 1], vertical_alignment="center")
    top_left.progress((step_index + 1) / len(wizard.STEPS), text=f"Step {step_index + 1} of {len(wizard.STEPS)}: **{step}**")
    if top_right.button("Start over", key="wiz_start_over", icon=":material/restart_alt:",
                        help="Clear the builder; a draft already saved stays in Campaigns."):
        st.session_state[WIZARD_KEY] = _fresh(merchant_id, tz)
        st.rerun()
    st.caption(" → ".join(f"**{s}**" if i == step_index else s for i, s in enumerate(wizard.STEPS)))

    if draft.get("finished"):
        st.success(f"Saved **{fmt.plain(draft['name'])}** ({draft['campaign_id']}) as a draft. Schedule or launch it from Campaigns.",
                   icon=":material/check_circle:")
        open_col, again_col = st.columns(2)
        if open_col.button("Open in Campaigns", key="wiz_open", type="primary", icon=":material/campaign:"):
            st.session_state["campaign_pick"] = draft["campaign_id"]
            st.session_state[WIZARD_KEY] = _fresh(merchant_id, tz)
            st.switch_page(ui.PAGE_FILES["campaigns"])
        if again_col.button("Build another campaign", key="wiz_again", icon=":material/add:"):
            st.session_state[WIZARD_KEY] = _fresh(merchant_id, tz)
            st.rerun()
        return

    form, side = st.columns([3, 2], gap="large")
    slots: dict[str, Any] = {}
    with form:
        st.subheader(step)
        if step == "Basics":
            step_basics(draft, slots)
        elif step == "Goal and KPI":
            step_goal(draft, slots)
        elif step == "Audience":
            step_audience(draft, slots, merchant_id)
        elif step == "Channels and budget":
            step_channels(draft, slots, currency)
        elif step == "Content":
            step_content(draft, slots, merchant_id)
        elif step == "Schedule":
            step_schedule(draft, slots)
        else:
            st.caption("Check the whole campaign on the right, then save it. It stays a draft until you schedule or launch it.")
        errors = wizard.validate(draft)
        if draft.get("save_errors_for") == draft["name"]:  # a refused name stays flagged until it changes
            for name, message in draft.get("save_errors", {}).items():
                errors.setdefault(name, []).append(message)
        here = wizard.step_errors(draft, step, errors)
        attempted = step_index in draft.setdefault("attempted", [])
        for name, slot in slots.items():
            shown = {k: v for k, v in here.items() if k == name}
            if name == "name" and not draft["name"] and not attempted:
                continue  # say "give it a name" after the first try, not before typing
            _errors_here(slot, shown, name)
        st.divider()
        back_col, save_col, next_col = st.columns(3)
        if back_col.button("Back", key="wiz_back", icon=":material/arrow_back:", disabled=step_index == 0, width="stretch"):
            draft["step"] = step_index - 1
            st.rerun()
        if save_col.button("Save draft", key="wiz_save", icon=":material/save:", width="stretch", disabled=not draft["name"].strip()):
            if _persist(draft, merchant_id, step_index):
                ui.flash(f"Draft saved as {draft['campaign_id']}.")
            st.rerun()
        last = step_index == len(wizard.STEPS) - 1
        label = "Save campaign" if last else "Next"
        if next_col.button(label, key="wiz_next", type="primary", icon=":material/check:" if last else ":material/arrow_forward:", width="stretch"):
            if here:
                draft["attempted"] = sorted({*draft["attempted"], step_index})
                st.rerun()
            if _persist(draft, merchant_id, step_index):
                if last:
                    draft["finished"] = True
                else:
                    draft["step"] = step_index + 1
            st.rerun()
    with side, st.container(border=True):
        st.markdown("##### Preview")
        preview(draft, merchant_id, currency, errors)


def _persist(draft: dict[str, Any], merchant_id: str, step_index: int) -> bool:
    """Save the draft to the store; a problem (e.g. a name in use) is shown next to its field."""
    draft["save_errors"] = {}
    try:
        draft["campaign_id"] = ui.write("campaign.save_draft", drafts.save_draft, merchant_id, wizard.to_draft(draft), ui.actor())
    except ValueError as exc:  # DraftNotEditable, a duplicate name, a refused update
        message = str(exc)
        if "already exists" in message:
            draft.update(save_errors={"name": message}, save_errors_for=draft["name"], step=0)
        else:
            ui.flash(f"Could not save the draft: {fmt.plain(message)}", "warning")
        return False
    draft["saved_at"] = datetime.now().astimezone()
    return True


main()
