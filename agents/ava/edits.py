"""Validation of a person's edit of a workflow step: pure, so the CLI, the app and `edit_step` share it.

`check_step_changes` returns the cleaned changes and, per field, what is wrong and how to
fix it; the app shows each message under its field, `edit_step` refuses with all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents.ava.steps import COMMON_EDITABLE, EDITABLE_CONFIG
from agents.limits import FORMATS

MAX_ATTEMPTS = 20
MAX_VARIATIONS = 6


def editable_fields(step_type: str) -> set[str]:
    return COMMON_EDITABLE | EDITABLE_CONFIG.get(step_type, set())


def _time(value: Any, field: str) -> tuple[str | None, str | None]:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None, f"{field} {value!r} is not ISO-8601; use e.g. 2026-12-01T09:00:00+00:00"
    if parsed.tzinfo is None:
        return None, f"{field} {value!r} has no time zone; add one, e.g. +00:00"
    return parsed.astimezone(UTC).isoformat(), None


def _whole(value: Any, field: str, low: int, high: int) -> tuple[int | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            return None, f"{field} must be a whole number from {low} to {high}"
    if not low <= value <= high:
        return None, f"{field} must be a whole number from {low} to {high}"
    return value, None


def check_step_changes(step_type: str, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(cleaned changes, {field: problem}); the changes are usable only when the problems are empty."""
    allowed = editable_fields(step_type)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for field in sorted(set(changes) - allowed):
        errors[field] = f"cannot edit {field} of a {step_type} step; editable: {', '.join(sorted(allowed))}"
    for field, value in changes.items():
        if field not in allowed:
            continue
        problem = None
        if field in ("due_at", "escalate_after"):
            value, problem = _time(value, field)
        elif field == "max_attempts":
            value, problem = _whole(value, field, 1, MAX_ATTEMPTS)
        elif field == "variations":
            value, problem = _whole(value, field, 1, MAX_VARIATIONS)
        elif field == "formats":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list) or not items:
                problem = f"formats needs at least one of {', '.join(FORMATS)}"
            else:
                items = list(dict.fromkeys(str(v).strip().lower() for v in items if str(v).strip()))
                unknown = [v for v in items if v not in FORMATS]
                if unknown or not items:
                    problem = f"unknown format(s) {', '.join(unknown)}; use any of {', '.join(FORMATS)}" if unknown else \
                        f"formats needs at least one of {', '.join(FORMATS)}"
                value = items
        elif field == "final":
            if not isinstance(value, bool):
                problem = "final must be true or false"
        elif field == "slots":
            value, problem = _slots(value)
        elif field in ("email_segment", "email_template"):
            value = value.strip() if isinstance(value, str) else value
            if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "" or len(str(value)) > 200:
                what = "a segment id or name" if field == "email_segment" else "a template name, e.g. Article"
                problem = f"{field} must be {what}"
        if problem:
            errors[field] = problem
        else:
            clean[field] = value
    return clean, errors


def _slots(value: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
    if not isinstance(value, list):
        return None, "slots must be a list of {format, variant, at}"
    out = []
    for index, slot in enumerate(value, start=1):
        if not isinstance(slot, dict) or not {"format", "variant", "at"} <= set(slot):
            return None, f"slot {index}: each slot needs format, variant and at (ISO-8601 with zone)"
        if slot["format"] not in FORMATS:
            return None, f"slot {index}: unknown format {slot['format']!r}; use any of {', '.join(FORMATS)}"
        variant, problem = _whole(slot["variant"], f"slot {index} variant", 1, 12)
        if problem:
            return None, problem
        at, problem = _time(slot["at"], f"slot {index} time")
        if problem:
            return None, problem
        out.append({**slot, "variant": variant, "at": at})
    return out, None
