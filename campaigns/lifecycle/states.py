"""The campaign state machine: which status moves are legal and why others are not.

Pure functions: the services call `check_transition` before writing, so an illegal move
never reaches the database and the caller gets the reason to show to a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from campaigns.core.enums import CampaignStatus as S


class TransitionError(ValueError):
    """An illegal status move; the message says why and what to do instead."""


# action -> (statuses it may start from, status it leads to)
ACTIONS: dict[str, tuple[frozenset[S], S]] = {
    "schedule": (frozenset({S.DRAFT}), S.SCHEDULED),
    "launch": (frozenset({S.DRAFT, S.SCHEDULED}), S.ACTIVE),
    "pause": (frozenset({S.ACTIVE}), S.PAUSED),
    "resume": (frozenset({S.PAUSED}), S.ACTIVE),
    "complete": (frozenset({S.ACTIVE, S.PAUSED}), S.COMPLETED),
    "unschedule": (frozenset({S.SCHEDULED}), S.DRAFT),
    "cancel": (frozenset({S.SCHEDULED, S.ACTIVE, S.PAUSED}), S.CANCELLED),
}
FINAL = frozenset({S.COMPLETED, S.CANCELLED})


@dataclass(frozen=True)
class CampaignFacts:
    """What the rules need to know about a campaign."""

    status: S
    start_date: datetime | None
    end_date: datetime | None
    budget: Decimal | None
    has_channels: bool = True


def allowed_actions(facts: CampaignFacts) -> list[str]:
    return [action for action in ACTIONS if explain_refusal(action, facts) is None]


def explain_refusal(action: str, facts: CampaignFacts) -> str | None:
    """The reason `action` is not allowed now, or None when it is."""
    if action not in ACTIONS:
        return f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}"
    sources, _ = ACTIONS[action]
    if facts.status not in sources:
        if facts.status in FINAL:
            return f"cannot {action} a {facts.status.value} campaign: {facts.status.value.lower()} campaigns are final; duplicate it to run again"
        allowed = ", ".join(sorted(s.value for s in sources))
        return f"cannot {action} a {facts.status.value} campaign: {action} needs status {allowed}"
    if action in {"schedule", "launch"}:
        if facts.start_date is None or facts.end_date is None:
            return f"cannot {action}: set a start date and an end date first"
        if facts.end_date <= facts.start_date:
            return f"cannot {action}: the end date ({facts.end_date:%Y-%m-%d}) must be after the start date ({facts.start_date:%Y-%m-%d})"
        if facts.budget is None or facts.budget <= 0:
            return f"cannot {action}: set a budget above zero first"
        if not facts.has_channels:
            return f"cannot {action}: choose at least one channel first"
    return None


def check_transition(action: str, facts: CampaignFacts) -> S:
    """The status `action` leads to; raises TransitionError with the reason when illegal."""
    reason = explain_refusal(action, facts)
    if reason is not None:
        raise TransitionError(reason)
    return ACTIONS[action][1]


# Which fields a person may change in each status, and why not the others.
EDITABLE: dict[S, frozenset[str]] = {
    S.DRAFT: frozenset({"name", "type", "description", "channels", "budget", "start_date", "end_date", "target_audience", "goals"}),
    S.SCHEDULED: frozenset({"name", "type", "description", "channels", "budget", "start_date", "end_date", "target_audience", "goals"}),
    S.ACTIVE: frozenset({"name", "description", "channels", "budget", "end_date", "target_audience", "goals"}),
    S.PAUSED: frozenset({"name", "description", "channels", "budget", "end_date", "target_audience", "goals"}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}
_RUNNING_REASONS = {
    "type": "its goal type shaped its plan, KPI and attribution since it started; duplicate it to run it with another type",
    "start_date": "it has already started; change its end date instead, or duplicate it for a new flight",
}


def explain_edit_refusal(status: S, field: str) -> str | None:
    """Why `field` cannot be changed in `status` (None when it can)."""
    if field in EDITABLE[status]:
        return None
    if status in FINAL:
        return f"cannot edit a {status.value} campaign: {status.value.lower()} campaigns are final; duplicate it to run again"
    return f"cannot change {field} of a {status.value} campaign: {_RUNNING_REASONS.get(field, 'not editable now')}"
