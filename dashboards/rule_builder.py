"""A segment rule editor: condition rows for the common case, JSON for anything nested.

A row is a contact field, an event ("opened in the last 30 days", "purchased at least 3
times") or an RFM bucket. `rule_builder` returns the rules it shows and the first problem (a
RuleError message) or None; the caller decides what to do with an invalid rule (the builder
blocks its Next button). `render_segment_builder` adds the live size estimate, for pages that
embed a segment picker (the Email Designer).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import streamlit as st

from campaigns.audiences.events import EVENT_KINDS
from campaigns.core import json_input
from campaigns.audiences.rfm import BUCKET_NAMES, BUCKETS
from campaigns.audiences.segments import EVENT_OPS, EVERYONE, FIELD_OPS, MAX_DAYS, OP_LABELS, RuleError, describe, validate_rules
from dashboards import formatting as fmt
from dashboards import queries
from dashboards.ui import field_error, seed
from dashboards.wizard import rules_json

FIELD_LABELS = {
    "tags": "Tags",
    "timezone": "Time zone",
    "subscribed": "Subscribed",
    "created_at": "Created",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "rfm_recency": "RFM recency score",
    "rfm_frequency": "RFM frequency score",
    "rfm_monetary": "RFM monetary score",
    "event": "Event",
    "rfm": "RFM bucket",
}
KINDS = [*FIELD_OPS, "event", "rfm"]  # what the first selectbox of a row offers
DEFAULT_CONDITION = {"field": "tags", "op": "contains", "value": ""}
DEFAULT_OF_KIND = {
    "event": {"event": "opened", "op": "within_days", "days": 30},
    "rfm": {"rfm": ["champions"]},
}
BUCKET_LABELS = {b.name: b.label for b in BUCKETS}
EVENT_OP_LABELS = {"ever": "ever", "never": "never", "within_days": "in the last N days", "not_within_days": "not in the last N days",
                   "count_at_least": "at least K times", "count_at_most": "at most K times"}


def _kind(condition: dict[str, Any]) -> str:
    return "event" if "event" in condition else "rfm" if "rfm" in condition else condition.get("field", "tags")


def _condition_of(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "uid"}


def flat(rules: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """(match, conditions) when the rule fits in rows (one group of plain conditions), else None."""
    if not rules:
        return "all", []
    if len(rules) != 1 or next(iter(rules)) not in ("all", "any"):
        return None
    match = next(iter(rules))
    items = rules[match]
    if not isinstance(items, list) or not all(isinstance(i, dict) and ("field" in i or "event" in i or "rfm" in i) for i in items):
        return None
    return match, [dict(i) for i in items]


def _value_kind(field_name: str, op: str) -> str:
    if field_name == "subscribed":
        return "bool"
    if field_name == "created_at":
        return "days"
    if field_name.startswith("rfm_"):
        return "score"
    if op in ("in", "not_in"):
        return "list"
    return "text"


def rules_of(key: str) -> dict[str, Any]:
    rows = st.session_state.get(f"{key}_rows", [])
    return {st.session_state.get(f"{key}_match_value", "all"): [_condition_of(r) for r in rows]}


def _reset_rows(key: str, rules: dict[str, Any]) -> None:
    match, conditions = flat(rules) or ("all", [])
    st.session_state[f"{key}_rows"] = [{"uid": uuid.uuid4().hex[:8], **c} for c in conditions]
    st.session_state[f"{key}_match_value"] = match
    st.session_state.pop(f"{key}_match", None)


def _reset(key: str, rules: dict[str, Any], seed_name: str) -> None:
    _reset_rows(key, rules)
    st.session_state[f"{key}_seed"] = seed_name
    st.session_state[f"{key}_json_mode"] = flat(rules) is None
    st.session_state[f"{key}_json_text"] = json.dumps(rules or EVERYONE, indent=2)


def rule_builder(key: str, initial: dict[str, Any], seed_name: str) -> tuple[dict[str, Any], str | None]:
    """Render the editor; `seed_name` says where `initial` came from, and a new one starts over from it."""
    if st.session_state.get(f"{key}_seed") != seed_name:
        _reset(key, initial, seed_name)
    seed(f"{key}_json_mode", False)
    json_mode = st.toggle("Edit as JSON", key=f"{key}_json_mode", help='For nested groups: {"all": [...]} inside {"any": [...]} and so on.')
    if json_mode:
        return _json_editor(key)
    return _rows_editor(key)


def _json_editor(key: str) -> tuple[dict[str, Any], str | None]:
    seed(f"{key}_json_text", json.dumps(rules_of(key), indent=2))
    text = st.text_area("Rules (JSON)", key=f"{key}_json_text", height=180)
    try:
        rules = json_input.loads(text or "{}")  # depth and size limits before parsing
    except json_input.JsonInputError as exc:
        message = str(exc)
        field_error(message)
        return {}, message
    try:
        validate_rules(rules)
    except RuleError as exc:
        field_error(str(exc))
        return rules, str(exc)
    if flat(rules) is not None:  # switching back to rows keeps what was typed here
        st.session_state[f"{key}_pending_rows"] = rules
    return rules, None


def _rows_editor(key: str) -> tuple[dict[str, Any], str | None]:
    pending = st.session_state.pop(f"{key}_pending_rows", None)
    if pending is not None:
        _reset_rows(key, pending)
    st.session_state.pop(f"{key}_json_text", None)  # JSON is rebuilt from the rows next time
    rows: list[dict[str, Any]] = st.session_state[f"{key}_rows"]
    seed(f"{key}_match", st.session_state.get(f"{key}_match_value", "all"))
    match = st.radio(
        "Contacts must match", ["all", "any"], key=f"{key}_match", horizontal=True,
        format_func=lambda m: "all conditions" if m == "all" else "any condition",
    )
    st.session_state[f"{key}_match_value"] = match
    conditions: list[dict[str, Any]] = []
    for row in rows:
        uid = row["uid"]
        kind_col, op_col, value_col, remove_col = st.columns([3, 3, 4, 1], vertical_alignment="bottom")
        kind = kind_col.selectbox(
            "Field", KINDS, index=KINDS.index(_kind(row)) if _kind(row) in KINDS else 0,
            key=f"{key}_{uid}_field", format_func=lambda f: FIELD_LABELS.get(f, f),
        )
        if kind != _kind(row):  # switched kind: start the row from that kind's default
            if kind in FIELD_OPS and "field" in row:  # field to field keeps what was typed, as before
                fresh = {"field": kind, "op": row.get("op"), "value": row.get("value")}
            else:
                fresh = DEFAULT_OF_KIND.get(kind) or {"field": kind, "op": FIELD_OPS[kind][0], "value": None}
            row.clear()
            row.update(uid=uid, **fresh)
        if kind == "event":
            condition = _event_row(op_col, value_col, key, uid, row)
        elif kind == "rfm":
            condition = _rfm_row(op_col, value_col, key, uid, row)
        else:
            condition = _field_row(op_col, value_col, key, uid, kind, row)
        if remove_col.button(":material/close:", key=f"{key}_{uid}_remove", help="Remove this condition"):
            st.session_state[f"{key}_rows"] = [r for r in rows if r["uid"] != uid]
            st.rerun()
        row.clear()
        row.update(uid=uid, **condition)
        conditions.append(condition)
    if st.button("Add condition", icon=":material/add:", key=f"{key}_add"):
        rows.append({"uid": uuid.uuid4().hex[:8], **DEFAULT_CONDITION})
        st.rerun()
    rules = {match: conditions}
    try:
        validate_rules(rules)
    except RuleError as exc:
        where = _row_of(exc.path, match)
        label = f"condition {where + 1}: {exc.problem}" if where is not None else str(exc)
        field_error(label)
        return rules, label
    if not conditions:
        st.caption("No condition: every contact of the merchant.")
    return rules, None


def _row_of(path: str, match: str) -> int | None:
    prefix = f"rules.{match}["
    if not path.startswith(prefix):
        return None
    number = path[len(prefix):].split("]", 1)[0]
    return int(number) if number.isdigit() else None


def _field_row(op_col, value_col, key: str, uid: str, field_name: str, row: dict[str, Any]) -> dict[str, Any]:
    ops = list(FIELD_OPS[field_name])
    op = op_col.selectbox(
        "Condition", ops, index=ops.index(row["op"]) if row.get("op") in ops else 0, key=f"{key}_{uid}_op_{field_name}",
        format_func=lambda o: OP_LABELS.get(o, o),
    )
    return {"field": field_name, "op": op, "value": _value_widget(value_col, key, uid, field_name, op, row.get("value"))}


def _event_row(op_col, value_col, key: str, uid: str, row: dict[str, Any]) -> dict[str, Any]:
    kinds = list(EVENT_KINDS)
    event = op_col.selectbox("Event", kinds, index=kinds.index(row["event"]) if row.get("event") in kinds else 0, key=f"{key}_{uid}_event")
    ops = list(EVENT_OPS)
    when_col, number_col = value_col.columns(2, vertical_alignment="bottom")
    op = when_col.selectbox("When", ops, index=ops.index(row["op"]) if row.get("op") in ops else 0, key=f"{key}_{uid}_event_op",
                            format_func=lambda o: EVENT_OP_LABELS.get(o, o))
    condition: dict[str, Any] = {"event": event, "op": op}
    if op.startswith("count_"):
        count = row.get("count") if isinstance(row.get("count"), int) else 1
        condition["count"] = int(number_col.number_input("K times", min_value=0, max_value=100_000, value=count, step=1,
                                                         key=f"{key}_{uid}_event_count"))
    if op in ("within_days", "not_within_days", "count_at_least", "count_at_most"):
        days = row.get("days") if isinstance(row.get("days"), int) else 30
        days_col = number_col if not op.startswith("count_") else value_col
        condition["days"] = int(days_col.number_input("In the last N days", min_value=1, max_value=MAX_DAYS, value=days, step=1,
                                                      key=f"{key}_{uid}_event_days"))
    if row.get("email_campaign_id") is not None:  # kept from JSON; rows do not edit it
        condition["email_campaign_id"] = row["email_campaign_id"]
    return condition


def _rfm_row(op_col, value_col, key: str, uid: str, row: dict[str, Any]) -> dict[str, Any]:
    op_col.markdown("is one of", help="RFM scores rank buyers 1-5 by recency, frequency and money spent; contacts who never bought are in no bucket.")
    current = row.get("rfm")
    chosen = [b for b in (current if isinstance(current, list) else [current]) if b in BUCKET_NAMES]
    picked = value_col.multiselect("Buckets", list(BUCKET_NAMES), default=chosen, key=f"{key}_{uid}_rfm",
                                   format_func=lambda b: BUCKET_LABELS.get(b, b))
    return {"rfm": picked}


def _value_widget(container, key: str, uid: str, field_name: str, op: str, value: Any) -> Any:
    kind = _value_kind(field_name, op)
    widget_key = f"{key}_{uid}_value_{kind}"
    if kind == "bool":
        return container.selectbox("Value", [True, False], index=0 if value is not False else 1, key=widget_key,
                                   format_func=lambda b: "yes" if b else "no")
    if kind == "days":
        days = value if isinstance(value, int) and not isinstance(value, bool) else 30
        return int(container.number_input("Days", min_value=0, max_value=3650, value=days, step=1, key=widget_key))
    if kind == "score":
        score = value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5 else 4
        return int(container.number_input("Score (1-5)", min_value=1, max_value=5, value=score, step=1, key=widget_key))
    if kind == "list":
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        text = container.text_input("Values (comma-separated)", value=shown, key=widget_key)
        return [part.strip() for part in text.split(",") if part.strip()]
    shown = ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None or isinstance(value, bool) else str(value))
    return container.text_input("Value", value=shown, key=widget_key)


def render_segment_builder(merchant_id: str, key: str, initial: dict[str, Any] | None = None,
                           seed_name: str | None = None) -> dict[str, Any] | None:
    """The rule editor with a live size estimate; returns the rules when they are valid, else None.

    For pages that pick an audience (the Email Designer). `key` keeps its widgets apart from other builders;
    a new `seed_name` (default: the initial rules) starts the editor over from `initial`.
    """
    rules_col, size_col = st.columns([3, 2], gap="large")
    with rules_col:
        rules, problem = rule_builder(key, initial or EVERYONE, seed_name=seed_name or f"{key}:{rules_json(initial or EVERYONE)}")
    with size_col:
        if problem is not None:
            st.metric("Contacts matching", fmt.MISSING, border=True)
            st.caption("Fix the rule to see the size.")
            return None
        source = queries.source()
        st.metric("Contacts matching", fmt.number(queries.segment_size(source, merchant_id, rules_json(rules))), border=True)
        st.metric("Of them subscribed to email", fmt.number(queries.segment_size(source, merchant_id, rules_json(rules), True)), border=True)
        st.caption(f"Who: {fmt.plain(describe(rules))}. Membership is taken again when the email is sent.")
    return rules
