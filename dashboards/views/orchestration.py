"""Orchestration: Ava's plan for a campaign (timeline, channels, budget, contingencies, prediction), its workflow
steps with human overrides, step edits, content approvals, LLM cost; and a form that plans a new campaign."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import altair as alt
import polars as pl
import streamlit as st
from pydantic import ValidationError

from agents.ava import execution
from agents.ava.edits import check_step_changes, editable_fields
from agents.ava.views import allocation_frame, allocation_total, contingency_rows, timeline_frame
from campaigns.workflows import engine as workflow
from agents.leo.store import reject_campaign_content
from agents.limits import FORMATS
from campaigns.core import json_input
from campaigns.core.enums import MARKETING_CHANNELS, CampaignType
from dashboards import charts, queries, ui
from dashboards import formatting as fmt

STEP_COLOURS = {"DONE": "#2E6F57", "SKIPPED": "#8A8F98", "WAITING": "#C9A227", "PENDING": "#3D5A80", "RUNNING": "#6C8EAD",
                "FAILED": "#B8336A", "CANCELLED": "#5B5F66"}
KPIS = ("impressions", "clicks", "engagements", "conversions", "revenue", "roas")
EDITABLE_STATUSES = ("PENDING", "WAITING", "FAILED")
PENDING_KEY = "orch_pending"  # the override waiting for its confirmation
EDIT_ERRORS_KEY = "orch_edit_errors"
PLAN_ERRORS_KEY = "orch_plan_errors"
NEXT_CAMPAIGN_KEY = "orch_select_next"


# --- charts and form errors (the plan's rows come from agents.ava.views) ------------------------
def timeline_chart(frame: pl.DataFrame) -> alt.LayerChart:
    """A Gantt chart: phase bars and step due times on one time axis (UTC)."""
    lanes = frame.sort("order")["lane"].to_list()
    y = alt.Y("lane:N", sort=lanes, title=None, axis=alt.Axis(labelLimit=220))
    tooltip = ["lane:N", alt.Tooltip("start:T", title="from", format="%Y-%m-%d %H:%M"), "status:N", "detail:N"]
    phases = (alt.Chart(frame.filter(pl.col("kind") == "phase")).mark_bar(cornerRadius=3, color=charts.PALETTE[0], opacity=0.75)
              .encode(x=alt.X("start:T", title="UTC"), x2="end:T", y=y, tooltip=[*tooltip, alt.Tooltip("end:T", title="until")]))
    steps = (alt.Chart(frame.filter(pl.col("kind") == "step")).mark_point(filled=True, size=120, shape="diamond")
             .encode(x="start:T", y=y, tooltip=tooltip,
                     color=alt.Color("status:N", title="step status", scale=alt.Scale(domain=list(STEP_COLOURS), range=list(STEP_COLOURS.values())))))
    return (phases + steps).properties(height=charts.AXIS_ALLOWANCE + 28 * max(len(lanes), 1))


def plan_form_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors of a PlanRequest by form field: goal.target -> target, start/end and the date check -> dates."""
    errors: dict[str, str] = {}
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        if not loc or loc[0] in ("start", "end"):
            field = "dates"
        elif loc[0] == "goal" and len(loc) > 1:
            field = loc[1]
        else:
            field = loc[0]
        errors.setdefault(field, e["msg"].removeprefix("Value error, "))
    return errors


# --- writes ------------------------------------------------------------------------------------
OVERRIDES: dict[str, tuple[str, str]] = {  # action -> (question, icon)
    "pause": ("Pause the workflow? No step runs until it is resumed.", ":material/pause:"),
    "resume": ("Resume the workflow? Due steps run on the next sensor tick.", ":material/play_arrow:"),
    "cancel": ("Cancel the workflow for good? Its open steps are cancelled; this cannot be undone.", ":material/cancel:"),
    "skip": ("Skip step {order}? The steps after it may run.", ":material/skip_next:"),
    "retry": ("Run step {order} again? Do this after fixing what it reported.", ":material/replay:"),
    "approve": ("Approve cc-{content} exactly as it reads now? Any later edit needs a new approval.", ":material/verified:"),
    "reject": ("Reject cc-{content}? It will not be scheduled.", ":material/thumb_down:"),
}


ACTION_OF = {name: f"content.{name}" if name in ("approve", "reject") else f"workflow.{name}" for name in OVERRIDES}


def override_call(merchant_id: str, campaign_id: str, pending: dict[str, Any], reason: str, drafts: list[dict[str, Any]]) -> tuple[Any, ...]:
    """The action's name, the service function and its arguments for a confirmed override."""
    action, note = pending["action"], reason or "from the Orchestration page"
    if action in ("pause", "resume", "cancel"):
        return f"workflow.{action}", getattr(workflow, action), merchant_id, campaign_id, ui.actor(), note
    if action == "skip":
        return "workflow.skip", workflow.skip_step, merchant_id, campaign_id, pending["order"], ui.actor(), note
    if action == "retry":
        return "workflow.retry", workflow.retry_step, merchant_id, campaign_id, pending["order"], ui.actor()
    if pending["content"] not in {d["id"] for d in drafts}:
        raise LookupError(f"cc-{pending['content']} is not a draft of {campaign_id}")
    return (f"content.{action}", execution.approve if action == "approve" else reject_campaign_content, merchant_id, pending["content"],
            ui.actor(), note)


def ask(action: str, **target: Any) -> None:
    st.session_state[PENDING_KEY] = {"action": action, **target}
    st.rerun()


def confirmation(merchant_id: str, campaign_id: str, drafts: list[dict[str, Any]]) -> None:
    pending = st.session_state.get(PENDING_KEY)
    if not pending or pending.get("campaign") != campaign_id:
        return
    question, icon = OVERRIDES[pending["action"]]
    answer = ui.confirm(question.format(order=pending.get("order"), content=pending.get("content")), action=ACTION_OF[pending["action"]],
                        key="orch", pending=PENDING_KEY,
                        yes=f"Confirm {pending['action']}", no="Back", icon=icon, reason="Reason (for the audit log)")
    if answer is None:
        return
    target = f" step {pending['order']}" if "order" in pending else f" cc-{pending['content']}" if "content" in pending else ""
    try:
        call = override_call(merchant_id, campaign_id, pending, answer.reason, drafts)
    except LookupError as exc:
        ui.flash(f"That did not happen: {fmt.plain(exc)}", "warning")
        st.rerun()
    ui.change(*call, done=f"Workflow of {campaign_id}: {pending['action']}{target} done.")


# --- sections ----------------------------------------------------------------------------------
def plan_section(plan: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    if not plan:
        st.info("This workflow holds no plan.")
        return
    st.markdown(fmt.plain(plan.get("summary") or ""))
    st.caption(fmt.plain(f"{plan.get('start')} to {plan.get('end')} ({plan.get('timezone')}) · engine: {plan.get('engine', 'offline')}")
               + (" · offline engine, no model was asked" if str(plan.get("engine", "offline")).startswith("offline") else ""))
    st.markdown("**Timeline**")
    st.altair_chart(timeline_chart(timeline_frame(plan, steps)), width="stretch")
    left, right = st.columns(2)
    with left:
        st.markdown("**Channels and why**")
        st.dataframe(pl.DataFrame(plan.get("channels") or [], schema={"channel": pl.String, "format": pl.String, "reason": pl.String}),
                     hide_index=True, width="stretch", key="orch_channels")
    with right:
        st.markdown("**Budget allocation**")
        frame = allocation_frame(plan)
        total, budget = allocation_total(plan), Decimal(str(plan.get("budget", "0")))
        if not frame.is_empty():
            st.altair_chart(charts.budget_split({r["channel"]: float(r["amount"]) for r in frame.iter_rows(named=True)}), width="stretch")
        st.dataframe(frame, hide_index=True, width="stretch", key="orch_allocation")
        mark = ":material/check_circle:" if total == budget else ":material/error:"
        st.caption(f"{mark} {total:,.2f} allocated of a {budget:,.2f} {plan.get('currency', '')} budget · "
                   f"{(plan.get('budget_allocation') or {}).get('explanation', '')}")
    st.markdown("**Contingency plans**")
    st.dataframe(pl.DataFrame(contingency_rows(plan), schema={"trigger": pl.String, "when": pl.String, "action": pl.String, "automatic": pl.String}),
                 hide_index=True, width="stretch", key="orch_contingencies")
    prediction = plan.get("prediction") or {}
    if prediction:
        st.markdown("**Success prediction**")
        cols = st.columns(3)
        cols[0].metric(f"Expected {prediction['kpi']}", f"{prediction['expected']:,.1f}")
        cols[1].metric(f"Range ({float(prediction['interval']):.0%})", f"{prediction['low']:,.1f} – {prediction['high']:,.1f}")
        chance = prediction.get("probability_of_target")
        cols[2].metric(f"Chance of the target {prediction.get('target') or ''}".strip(), "no target" if chance is None else f"{chance:.0%}")
        st.caption(prediction.get("basis", ""))


def steps_section(merchant_id: str, campaign_id: str, data: dict[str, Any], contents: list[dict[str, Any]]) -> None:
    steps = data["steps"]
    table = pl.DataFrame([{"step": s["order"], "type": s["type"], "status": s["status"], "attempts": s["attempts"],
                           "due (UTC)": (s["due_at"] or "")[:16].replace("T", " "), "error": s["error"] or "", "detail": workflow.step_summary(s)}
                          for s in steps],
                         schema={"step": pl.Int64, "type": pl.String, "status": pl.String, "attempts": pl.Int64, "due (UTC)": pl.String,
                                 "error": pl.String, "detail": pl.String})
    st.dataframe(table, hide_index=True, width="stretch", key="orch_steps")
    for e in data["escalations"][:3]:
        st.warning(f"Needs a person (step {e.get('step')}): {fmt.plain(e.get('reason'))}", icon=":material/support_agent:")
    confirmation(merchant_id, campaign_id, contents)

    st.markdown("**Overrides**")
    state = data["state"]
    bar = st.container(horizontal=True, gap="small")
    for action, allowed in (("pause", state == workflow.ACTIVE), ("resume", state == workflow.PAUSED),
                            ("cancel", state in (workflow.ACTIVE, workflow.PAUSED))):
        if ui.can(ACTION_OF[action]) and bar.button(action.capitalize(), key=f"orch_{action}", icon=OVERRIDES[action][1], disabled=not allowed):
            ask(action, campaign=campaign_id)
    orders = [s["order"] for s in steps if s["order"] > 0]
    types = {s["order"]: s for s in steps}
    step_col, skip_col, retry_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    order = step_col.selectbox("Step", orders, key="orch_step", format_func=lambda o: f"{o}: {types[o]['type']} ({types[o]['status']})")
    status = types[order]["status"] if order is not None else ""
    if ui.can("workflow.skip") and skip_col.button("Skip", key="orch_skip", icon=OVERRIDES["skip"][1], disabled=status not in EDITABLE_STATUSES or state == workflow.CANCELLED):
        ask("skip", campaign=campaign_id, order=order)
    if ui.can("workflow.retry") and retry_col.button("Retry", key="orch_retry", icon=OVERRIDES["retry"][1], disabled=status != "FAILED"):
        ask("retry", campaign=campaign_id, order=order)

    st.markdown("**Content waiting for approval**")
    if not contents:
        st.caption("No draft of this campaign waits for approval.")
    else:
        labels = {c["id"]: f"cc-{c['id']} · {c['channel']} · {c['text']}" for c in contents}
        pick_col, approve_col, reject_col = st.columns([4, 1, 1], vertical_alignment="bottom")
        content_id = pick_col.selectbox("Draft", list(labels), key="orch_content", format_func=labels.__getitem__)
        if ui.can("content.approve") and approve_col.button("Approve", key="orch_approve", icon=OVERRIDES["approve"][1], type="primary"):
            ask("approve", campaign=campaign_id, content=content_id)
        if ui.can("content.reject") and reject_col.button("Reject", key="orch_reject", icon=OVERRIDES["reject"][1]):
            ask("reject", campaign=campaign_id, content=content_id)


def edit_section(merchant_id: str, campaign_id: str, steps: list[dict[str, Any]], config_of: dict[int, dict[str, Any]]) -> None:
    st.markdown("**Edit a step**")
    editable = [s for s in steps if s["order"] > 0 and s["status"] in EDITABLE_STATUSES]
    if not editable:
        st.caption("No step can be edited now: only PENDING, WAITING or FAILED steps can.")
        return
    by_order = {s["order"]: s for s in editable}
    order = st.selectbox("Step to edit", list(by_order), key="orch_edit_step", format_func=lambda o: f"{o}: {by_order[o]['type']}")
    step, config = by_order[order], config_of.get(order, {})
    fields = editable_fields(step["type"])
    errors: dict[str, str] = st.session_state.get(EDIT_ERRORS_KEY, {}) if st.session_state.get("orch_edit_for") == (campaign_id, order) else {}
    prefix = f"orch_edit_{campaign_id}_{order}_"
    with st.form(f"orch_edit_form_{order}"):
        values: dict[str, Any] = {}
        values["due_at"] = st.text_input("Due at (ISO-8601 with zone)", value=step["due_at"] or "", key=prefix + "due_at")
        if "due_at" in errors:
            ui.field_error(errors["due_at"])
        values["max_attempts"] = st.number_input("Max attempts", value=int(config.get("max_attempts", workflow.DEFAULT_MAX_ATTEMPTS)), step=1,
                                                 key=prefix + "max_attempts")
        if "max_attempts" in errors:
            ui.field_error(errors["max_attempts"])
        if "formats" in fields:
            values["formats"] = st.multiselect("Formats", FORMATS, default=[f for f in config.get("formats", []) if f in FORMATS], key=prefix + "formats")
            if "formats" in errors:
                ui.field_error(errors["formats"])
        if "variations" in fields:
            values["variations"] = st.number_input("Variations per format", value=int(config.get("variations", 2)), step=1, key=prefix + "variations")
            if "variations" in errors:
                ui.field_error(errors["variations"])
        if "escalate_after" in fields:
            values["escalate_after"] = st.text_input("Escalate after (ISO-8601 with zone)", value=config.get("escalate_after") or "",
                                                     key=prefix + "escalate_after")
            if "escalate_after" in errors:
                ui.field_error(errors["escalate_after"])
        if "slots" in fields:
            values["slots"] = st.text_area("Slots (JSON list of format, variant, at)", value=json.dumps(config.get("slots", []), indent=1),
                                           height=160, key=prefix + "slots")
            if "slots" in errors:
                ui.field_error(errors["slots"])
        if "final" in fields:
            values["final"] = st.checkbox("Final report", value=bool(config.get("final")), key=prefix + "final")
        for name, label in (("email_segment", "Email segment (id or name; default: the campaign's)"),
                            ("email_template", "Email template (default: Article, or another with a {{ content }} slot)")):
            if name in fields:
                values[name] = st.text_input(label, value=str(config.get(name) or ""), key=prefix + name)
                if name in errors:
                    ui.field_error(errors[name])
        submitted = st.form_submit_button("Save step", icon=":material/save:", key="orch_edit_save")
    if submitted:
        current = {"due_at": step["due_at"] or "", **{k: config.get(k) for k in fields if k != "due_at"}}
        changes, problems = {}, {}
        for key, value in values.items():
            if key == "slots":
                try:
                    value = json_input.loads(value)  # depth and size limits before parsing
                except json_input.JsonInputError as exc:
                    problems["slots"] = f"{exc}; give a list of objects"
                    continue
            if key in ("email_segment", "email_template") and value == "" and current.get(key) is None:
                continue  # left empty: the default stays
            if value != current.get(key):
                changes[key] = value
        clean, found = check_step_changes(step["type"], changes)
        problems.update(found)
        st.session_state["orch_edit_for"] = (campaign_id, order)
        if problems:
            st.session_state[EDIT_ERRORS_KEY] = problems
            st.rerun()
        st.session_state.pop(EDIT_ERRORS_KEY, None)
        if not clean:
            ui.flash("Nothing changed.", "info")
            st.rerun()
        ui.change("workflow.edit_step", execution.edit_step, merchant_id, campaign_id, order, clean, ui.actor(),
                  done=f"Step {order} ({step['type']}) updated: {', '.join(sorted(clean))}.")


def cost_section(merchant_id: str, usage: dict[str, Any]) -> None:
    st.markdown("**LLM cost**")
    if not usage.get("calls"):
        st.caption("No model calls for this campaign: everything ran on the offline engine, at no cost.")
    else:
        cols = st.columns(4)
        cols[0].metric("Cost (USD)", f"${usage['cost_usd']:,.4f}")
        cols[1].metric("Calls", f"{usage['calls']}", help=f"in {usage['runs']} run(s)")
        cols[2].metric("Tokens in / out", f"{usage['input_tokens']:,} / {usage['output_tokens']:,}")
        cols[3].metric("Cache read tokens", f"{usage['cache_read_input_tokens']:,}")
        if usage.get("unpriced_calls"):
            st.caption(f"{usage['unpriced_calls']} call(s) of models without a price are not in the cost; add them to CAMPAIGNS_LLM_PRICES.")
    table = queries.llm_usage(queries.source(), merchant_id)
    if not table.is_empty():
        with st.expander("Cost per campaign", icon=":material/payments:"):
            st.dataframe(table, hide_index=True, width="stretch", key="orch_costs",
                         column_config={"cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.4f")})


def new_plan_section(merchant_id: str, expanded: bool) -> None:
    errors: dict[str, str] = st.session_state.get(PLAN_ERRORS_KEY, {})
    profile = ui.merchant_profile(merchant_id)
    zone = profile.get("timezone") or "UTC"
    with st.expander("Plan a new campaign", icon=":material/add_task:", expanded=expanded or bool(errors)):
        with st.form("orch_plan_form"):
            name = st.text_input("Name (default: the post's title)", key="orch_plan_name")
            goal_col, kpi_col, target_col = st.columns(3)
            goal = goal_col.selectbox("Goal", [t.value for t in CampaignType], index=2, key="orch_plan_goal")
            kpi = kpi_col.selectbox("KPI", ["(default for the goal)", *KPIS], key="orch_plan_kpi")
            target = target_col.number_input("KPI target (0: none)", value=0.0, step=10.0, key="orch_plan_target")
            if "target" in errors or "kpi" in errors:
                ui.field_error(errors.get("target") or errors["kpi"])
            budget_col, currency_col = st.columns([3, 1])
            budget = budget_col.text_input("Budget", value="10000", key="orch_plan_budget")
            if "budget" in errors:
                ui.field_error(errors["budget"])
            currency = currency_col.text_input("Currency", value=profile.get("currency") or "USD", key="orch_plan_currency")
            if "currency" in errors:
                ui.field_error(errors["currency"])
            start_col, end_col, zone_col = st.columns(3)
            today = date.today()
            start = start_col.date_input("Start", value=today + timedelta(days=7), key="orch_plan_start")
            end = end_col.date_input("End", value=today + timedelta(days=27), key="orch_plan_end")
            timezone = zone_col.text_input("Time zone", value=zone, key="orch_plan_timezone")
            if "dates" in errors:
                ui.field_error(errors["dates"])
            if "timezone" in errors:
                ui.field_error(errors["timezone"])
            channels = st.multiselect("Channels (default: the goal's)", list(MARKETING_CHANNELS), key="orch_plan_channels")
            if "channels" in errors:
                ui.field_error(errors["channels"])
            segments = st.text_input("Audience segments (comma-separated)", key="orch_plan_segments")
            variations = st.number_input("Variants per format", min_value=1, max_value=6, value=2, key="orch_plan_variations")
            blog = st.text_area("Blog post (optional: Markdown with front matter, HTML or text)", height=160, key="orch_plan_blog")
            if "blog" in errors:
                ui.field_error(errors["blog"])
            submitted = st.form_submit_button("Plan and save", icon=":material/auto_awesome:", type="primary", key="orch_plan_submit")
    if submitted:
        create_plan(merchant_id, {"name": name, "goal": goal, "kpi": None if kpi.startswith("(") else kpi, "target": target or None,
                                  "budget": budget, "currency": currency, "start": start, "end": end, "timezone": timezone, "channels": channels,
                                  "segments": segments, "variations": int(variations), "blog": blog})


def build_request(values: dict[str, Any]) -> tuple[Any, Any, dict[str, str]]:
    """(PlanRequest, SourcePost or None, {field: problem}) from the form's values."""
    from agents.ava.models import Goal, PlanRequest  # Ava's planner stack loads only when a plan is made here
    from agents.settings import get_agent_settings
    from agents.source import SourceError, parse_post

    errors: dict[str, str] = {}
    budget = str(values["budget"]).replace(",", "").replace("_", "").strip()
    try:
        amount = Decimal(budget)
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            errors["budget"] = f"{values['budget']!r}: give an amount of zero or more with at most two decimals, e.g. 2500.50"
    except ArithmeticError:
        errors["budget"] = f"{values['budget']!r} is not a number; use e.g. 10000 or 2500.50"
    source = None
    if str(values.get("blog") or "").strip():
        settings = get_agent_settings()
        try:
            source = parse_post(values["blog"], max_bytes=settings.max_source_bytes, max_chars=settings.max_source_chars)
        except SourceError as exc:
            errors["blog"] = str(exc)
    try:
        request = PlanRequest(
            goal=Goal(type=values["goal"], kpi=values.get("kpi"), target=values.get("target")),
            budget=budget if "budget" not in errors else "0", currency=str(values["currency"]).upper(), start=values["start"], end=values["end"],
            timezone=str(values["timezone"]).strip(), segments=[s.strip() for s in str(values.get("segments") or "").split(",") if s.strip()],
            channels=values.get("channels") or None, name=str(values.get("name") or "").strip() or None, variations=values.get("variations", 2))
    except ValidationError as exc:
        errors.update({k: v for k, v in plan_form_errors(exc).items() if k not in errors})
        request = None
    return (request if not errors else None), source, errors


def create_plan(merchant_id: str, values: dict[str, Any]) -> None:
    from agents.ava.planner import plan_campaign  # the planner and its optimizer load only when a plan is made here
    from agents.leo.performance import warehouse_history
    from agents.settings import get_agent_settings

    request, source, errors = build_request(values)
    if errors:
        st.session_state[PLAN_ERRORS_KEY] = errors
        st.rerun()
    st.session_state.pop(PLAN_ERRORS_KEY, None)
    with st.spinner("Ava is planning…"):
        plan = plan_campaign(request, source=source, settings=get_agent_settings(),
                             content_history=warehouse_history(queries.settings(), merchant_id))
    try:
        campaign, _ = ui.write("campaign.create_from_plan", execution.create_campaign_from_plan, merchant_id, plan, actor=ui.actor())
    except (LookupError, ValueError) as exc:
        ui.flash(f"The plan was not saved: {fmt.plain(exc)}", "warning")
    else:
        st.session_state[NEXT_CAMPAIGN_KEY] = campaign.id
        ui.flash(f"Planned and saved {campaign.id} (DRAFT) with its workflow: {fmt.plain(plan.summary)}")
    st.rerun()


# --- page --------------------------------------------------------------------------------------
def main() -> None:
    st.title("Orchestration")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    campaigns = dict(queries.workflow_campaigns(queries.source(), merchant_id))
    new_plan_section(merchant_id, expanded=not campaigns)
    if not campaigns:
        ui.empty_state("No campaign plans yet. Plan one above, or from the shell:\n\n"
                       "```\ncampaigns plan --goal CONVERSION --budget 10000 --start 2026-12-01 --end 2026-12-21 --blog post.md --save\n```",
                       icon=":material/account_tree:")
        return
    wanted = st.session_state.pop(NEXT_CAMPAIGN_KEY, None)
    if wanted in campaigns:
        st.session_state["orch_campaign"] = wanted
    campaign_id = st.selectbox("Campaign", list(campaigns), key="orch_campaign", format_func=lambda c: f"{campaigns[c]} ({c})")
    view = queries.workflow_view(queries.source(), merchant_id, campaign_id)
    data, plan, contents, config_of = view["status"], view["plan"], view["drafts"], view["configs"]
    usage = data.get("usage") or {}
    head = st.columns(4)
    head[0].metric("Workflow", data["state"])
    head[1].metric("Budget", f"{Decimal(str(plan.get('budget', '0'))):,.2f} {plan.get('currency', '')}")
    head[2].metric("KPI target", f"{plan.get('goal', {}).get('target') or '—'}", help=f"KPI: {plan.get('kpi')}")
    head[3].metric("LLM cost", f"${usage.get('cost_usd', 0.0):,.4f}", help=f"{usage.get('calls', 0)} model call(s)")
    plan_tab, steps_tab, cost_tab = st.tabs(["Plan", f"Workflow steps ({len(data['steps'])})", "Cost"])
    with plan_tab:
        plan_section(plan, data["steps"])
    with steps_tab:
        steps_section(merchant_id, campaign_id, data, contents)
        edit_section(merchant_id, campaign_id, data["steps"], config_of)
    with cost_tab:
        cost_section(merchant_id, usage)


main()
