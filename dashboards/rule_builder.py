"""A segment rule editor: condition rows for the common case, JSON for anything nested.

Returns the rules it shows and the first problem (a RuleError message) or None; the
caller decides what to do with an invalid rule (the builder blocks its Next button).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import streamlit as st

from campaigns.services.segments import EVERYONE, FIELD_OPS, OP_LABELS, RuleError, validate_rules
from dashboards.ui import field_error, seed

FIELD_LABELS = {
    "tags": "Tags",
    "timezone": "Time zone",
    "subscribed": "Subscribed",
    "created_at": "Created",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
}
DEFAULT_CONDITION = {"field": "tags", "op": "contains", "value": ""}


def flat(rules: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """(match, conditions) when the rule fits in rows (one group of plain conditions), else None."""
    if not rules:
        return "all", []
    if len(rules) != 1 or next(iter(rules)) not in ("all", "any"):
        return None
    match = next(iter(rules))
    items = rules[match]
    if not isinstance(items, list) or not all(isinstance(i, dict) and "field" in i for i in items):
        return None
    return match, [dict(i) for i in items]


def _value_kind(field_name: str, op: str) -> str:
    if field_name == "subscribed":
        return "bool"
    if field_name == "created_at":
        return "days"
    if op in ("in", "not_in"):
        return "list"
    return "text"


def rules_of(key: str) -> dict[str, Any]:
    rows = st.session_state.get(f"{key}_rows", [])
    return {st.session_state.get(f"{key}_match_value", "all"): [{k: r[k] for k in ("field", "op", "value")} for r in rows]}


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
        rules = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
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
        field_col, op_col, value_col, remove_col = st.columns([3, 3, 4, 1], vertical_alignment="bottom")
        fields = list(FIELD_OPS)
        field_name = field_col.selectbox(
            "Field", fields, index=fields.index(row["field"]) if row["field"] in fields else 0,
            key=f"{key}_{uid}_field", format_func=lambda f: FIELD_LABELS.get(f, f),
        )
        ops = list(FIELD_OPS[field_name])
        op = op_col.selectbox(
            "Condition", ops, index=ops.index(row["op"]) if row.get("op") in ops else 0, key=f"{key}_{uid}_op_{field_name}",
            format_func=lambda o: OP_LABELS.get(o, o),
        )
        value = _value_widget(value_col, key, uid, field_name, op, row.get("value"))
        if remove_col.button(":material/close:", key=f"{key}_{uid}_remove", help="Remove this condition"):
            st.session_state[f"{key}_rows"] = [r for r in rows if r["uid"] != uid]
            st.rerun()
        row.update(field=field_name, op=op, value=value)
        conditions.append({"field": field_name, "op": op, "value": value})
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


def _value_widget(container, key: str, uid: str, field_name: str, op: str, value: Any) -> Any:
    kind = _value_kind(field_name, op)
    widget_key = f"{key}_{uid}_value_{kind}"
    if kind == "bool":
        return container.selectbox("Value", [True, False], index=0 if value is not False else 1, key=widget_key,
                                   format_func=lambda b: "yes" if b else "no")
    if kind == "days":
        days = value if isinstance(value, int) and not isinstance(value, bool) else 30
        return int(container.number_input("Days", min_value=0, max_value=3650, value=days, step=1, key=widget_key))
    if kind == "list":
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        text = container.text_input("Values (comma-separated)", value=shown, key=widget_key)
        return [part.strip() for part in text.split(",") if part.strip()]
    shown = ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None or isinstance(value, bool) else str(value))
    return container.text_input("Value", value=shown, key=widget_key)
