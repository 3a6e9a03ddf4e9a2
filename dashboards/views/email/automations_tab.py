"""Email, Automations tab: each automation's status and flow (an Altair node-link drawing with per-step counts); activate or pause."""

from __future__ import annotations

import json

import altair as alt
import polars as pl
import streamlit as st

from campaigns.access.roles import AccessDenied
from campaigns.core import json_input
from campaigns.email import automations as auto
from campaigns.email.flows import FlowError
from dashboards import formatting as fmt
from dashboards import queries, ui

BOX_W, BOX_H = 0.44, 0.32  # half-width and half-height of a step box, in layout units
TYPE_COLOURS = {"trigger": "#3D5A80", "send_email": "#2E6F57", "wait": "#C9A227", "condition": "#E07A3F", "random_split": "#8D6A9F",
                "update_field": "#6C8EAD", "end": "#8A8F98"}


def flow_chart(nodes: list, edges: list, counts: dict[str, dict[str, int]]) -> alt.LayerChart:
    """Boxes (label, how many ran the step, how many are at it now) joined by edges with their branch labels."""
    pos = {n.id: (n.x, n.y) for n in nodes}
    boxes = pl.DataFrame([{
        "id": n.id, "type": n.type, "label": n.label[:34], "x": n.x, "y": n.y, "x0": n.x - BOX_W, "x1": n.x + BOX_W, "y0": n.y - BOX_H,
        "y1": n.y + BOX_H, "ran": counts.get(n.id, {}).get("passed", 0), "here": counts.get(n.id, {}).get("here", 0),
        "counts": "" if n.type == "trigger" else f"ran {counts.get(n.id, {}).get('passed', 0)} · here {counts.get(n.id, {}).get('here', 0)}",
    } for n in nodes])
    lines = pl.DataFrame([{
        "x": pos[e.source][0], "y": pos[e.source][1] - BOX_H, "x2": pos[e.target][0], "y2": pos[e.target][1] + BOX_H,
        "mx": (pos[e.source][0] + pos[e.target][0]) / 2, "my": (pos[e.source][1] - BOX_H + pos[e.target][1] + BOX_H) / 2,
        "label": e.label + (" (loop)" if e.back else ""), "back": e.back,
    } for e in edges])
    xs = alt.Scale(domain=[float(boxes["x0"].min()) - 0.1, float(boxes["x1"].max()) + 0.1])
    ys = alt.Scale(domain=[float(boxes["y0"].min()) - 0.1, float(boxes["y1"].max()) + 0.1])
    none = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    edge_layer = alt.Chart(lines).mark_rule(strokeWidth=1.5).encode(
        x=alt.X("x:Q", scale=xs, axis=none), y=alt.Y("y:Q", scale=ys, axis=none), x2="x2:Q", y2="y2:Q",
        strokeDash=alt.condition("datum.back", alt.value([4, 3]), alt.value([1, 0])), color=alt.value("#999"))
    edge_text = alt.Chart(lines).mark_text(fontSize=11, color="#B8336A", dx=8, align="left").encode(
        x=alt.X("mx:Q", scale=xs), y=alt.Y("my:Q", scale=ys), text="label:N")
    box_layer = alt.Chart(boxes).mark_rect(cornerRadius=6, opacity=0.9).encode(
        x=alt.X("x0:Q", scale=xs, axis=none), x2="x1:Q", y=alt.Y("y0:Q", scale=ys, axis=none), y2="y1:Q",
        color=alt.Color("type:N", scale=alt.Scale(domain=list(TYPE_COLOURS), range=list(TYPE_COLOURS.values())), title="step"),
        tooltip=["id:N", "type:N", "label:N", alt.Tooltip("ran:Q", title="contacts that ran it"), alt.Tooltip("here:Q", title="at it now")])
    label_layer = alt.Chart(boxes).mark_text(color="white", fontWeight="bold", fontSize=12, dy=-7).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), text="label:N")
    count_layer = alt.Chart(boxes).mark_text(color="white", fontSize=11, dy=9).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), text="counts:N")
    width = max(1, int(boxes["x"].max() - boxes["x"].min()) + 1)
    return alt.layer(edge_layer, box_layer, label_layer, count_layer, edge_text).properties(
        height=95 * (int(-boxes["y"].min()) + 1), width=max(320, 260 * width))


# a starting point that validates as it is: welcome email, a wait, a branch on the open
STARTER_FLOW = {
    "name": "Welcome series",
    "trigger": {"type": "signup"},
    "start": "welcome",
    "steps": {
        "welcome": {"type": "send_email", "template": "Newsletter", "subject": "Welcome, {{ first_name | default('friend') }}", "next": "pause"},
        "pause": {"type": "wait", "days": 2, "until_hour": 9, "next": "opened"},
        "opened": {"type": "condition", "previous_email": "opened", "then": "tag", "else": "done"},
        "tag": {"type": "update_field", "add_tags": ["engaged"], "next": "done"},
        "done": {"type": "end"},
    },
}


def _create(merchant_id: str, text: str) -> tuple[int | None, list[str]]:
    """A DRAFT automation from the editor's JSON, or the problems (each with its path) and nothing written."""
    try:
        definition = json_input.loads(text)  # depth and size limits before parsing
    except json_input.JsonInputError as exc:
        return None, [str(exc)]
    try:
        return ui.write("automation.create", auto.create_automation, merchant_id, definition, ui.actor()).id, []
    except FlowError as exc:
        return None, exc.problems
    except (auto.AutomationError, LookupError) as exc:
        return None, [str(exc)]


def new_automation(merchant_id: str, expanded: bool) -> None:
    with st.expander("New automation from a flow", expanded=expanded, icon=":material/add:"):
        st.caption("Trigger, start and steps as JSON (see docs/email.md for every field). It is saved as a DRAFT; "
                   "activating it approves the emails it creates.")
        ui.seed("automation_new_json", json.dumps(STARTER_FLOW, indent=2))
        text = st.text_area("Flow", key="automation_new_json", height=320)
        if ui.can("automation.create") and st.button("Create automation", key="automation_create", icon=":material/account_tree:"):
            created, problems = _create(merchant_id, text)
            if problems:
                for problem in problems:
                    ui.field_error(problem)
            else:
                ui.flash(f"Created automation #{created} (DRAFT). Pick it below to see its flow and activate it.")
                st.rerun()


def render(merchant_id: str) -> None:
    automations = queries.automations(queries.source(), merchant_id)
    for a in automations:
        if a["problem"]:
            st.warning(f"Automation {a['id']} has an invalid definition: {fmt.plain(a['problem'])}")
    new_automation(merchant_id, expanded=not automations)
    if not automations:
        ui.empty_state("No automations yet. Create one above, or from a flow file:\n\n"
                       "```\ncampaigns automations create --file welcome.json\ncampaigns automations activate 1\n```")
        return
    st.dataframe(pl.DataFrame([{"id": a["id"], "name": a["name"], "status": a["status"], "trigger": a["trigger"],
                                "in flow": a["totals"]["ACTIVE"] + a["totals"]["WAITING"], "completed": a["totals"]["COMPLETED"],
                                "failed": a["totals"]["FAILED"]} for a in automations]), hide_index=True, width="stretch")
    by_id = {a["id"]: a for a in automations}
    chosen = st.selectbox("Automation", list(by_id), format_func=lambda i: f"#{i} {by_id[i]['name']} ({by_id[i]['status']})",
                          key="automation_pick")
    a = by_id[chosen]
    if a["nodes"]:
        st.altair_chart(flow_chart(a["nodes"], a["edges"], a["counts"]), width="content")
        st.caption("Each box: what the step does, how many contacts ran it, how many are at it now (waiting or due). Dashed: a loop back.")
    action = {"DRAFT": "activate", "PAUSED": "activate", "ACTIVE": "pause"}.get(a["status"])
    if action is None:
        st.caption(f"This automation is {a['status']}; nothing to change here.")
        return
    pending_key = f"automation_confirm_{chosen}"
    if ui.can(f"automation.{action}") and st.button(f"{action.capitalize()} #{chosen}", key=f"automation_{action}"):
        st.session_state[pending_key] = action
    if st.session_state.get(pending_key) != action:
        return
    what = ("start enrolling contacts and sending its emails (your activation approves emails created from its subjects)"
            if action == "activate" else "stop enrolling and running steps; enrolled contacts wait where they are")
    answer = ui.confirm(f"{action.capitalize()} automation #{chosen} {a['name']!r}? This will {what}.", action=f"automation.{action}", key="automation",
                        pending=pending_key, yes="Yes, " + action, icon=":material/account_tree:")
    if answer is None:
        return
    try:
        status = ui.write(f"automation.{action}", auto.activate if action == "activate" else auto.pause, merchant_id, chosen, ui.actor()).status
    except (auto.AutomationError, LookupError, AccessDenied) as exc:
        ui.field_error(str(exc))
        return
    ui.flash(f"Automation #{chosen} is now {status}.")
    st.rerun()
