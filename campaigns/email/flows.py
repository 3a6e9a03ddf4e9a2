"""Automation flows: the definition JSON, its validation, and a layout for drawing it (pure: no I/O).

A flow is a trigger, a start step and a graph of steps, each step naming the step(s) after it::

    {
      "name": "Welcome series",                      # optional; `campaigns automations create --name` wins
      "trigger": {"type": "signup"},
      "start": "welcome",
      "steps": {
        "welcome": {"type": "send_email", "template": "Welcome", "subject": "Welcome, {{ first_name }}", "next": "pause"},
        "pause":   {"type": "wait", "days": 2, "until_hour": 9, "next": "opened"},
        "opened":  {"type": "condition", "previous_email": "opened", "then": "tag", "else": "split"},
        "split":   {"type": "random_split", "branches": [{"weight": 50, "next": "nudge"}, {"weight": 50, "next": "done"}]},
        "nudge":   {"type": "send_email", "email_campaign_id": 12, "next": "done"},
        "tag":     {"type": "update_field", "add_tags": ["engaged"], "set": {"stage": "warm"}, "next": "done"},
        "done":    {"type": "end"}
      }
    }

Triggers (when a contact is enrolled):

| type         | fields                                          | enrolled when                                                        |
|--------------|-------------------------------------------------|----------------------------------------------------------------------|
| `signup`     | -                                               | the contact is created, or a `signed_up` event arrives (once ever)   |
| `tag_added`  | `tag`                                           | a `tag_added` event whose details name the tag (once per event)      |
| `purchase`   | `min_value` (optional)                          | a `purchased` event worth at least `min_value` (once per event)      |
| `date_field` | `field`, `offset_days` (0), `at_hour` (9), `yearly` (false) | on the contact's local day `attributes[field] + offset_days`, from `at_hour` local time (once per date) |

Steps (`next`, `then`, `else` and a branch's `next` name another step; left out, the flow ends there):

| type           | fields                                                                                         |
|----------------|------------------------------------------------------------------------------------------------|
| `send_email`   | `email_campaign_id` (an email campaign of kind automation) or `subject` + optional `template` and `preview_text`; `next` |
| `wait`         | `days` and/or `hours`, and/or `until_hour` (the next time the contact's clock shows that hour); `next` |
| `condition`    | `rules` (segment rules on the contact) or `previous_email`: `opened` / `clicked`; `then`, `else` |
| `random_split` | `branches`: two or more `{"weight": positive number, "next": step}` (deterministic per enrollment) |
| `update_field` | `set` (attributes to set; null removes), `add_tags`, `remove_tags`; `next`                       |
| `end`          | -                                                                                              |

`validate_flow` returns a `Flow` or raises `FlowError` listing every problem with its path
(``steps.check.then: no step named 'x' ...``): unknown step types, missing targets, steps
the start never reaches, and cycles that contain no wait (they would spin forever).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

MAX_STEPS = 100
STEP_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,60}$"


class FlowError(ValueError):
    """A definition that cannot run; `problems` are "path: what is wrong and how to fix it" lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- triggers ----------------------------------------------------------------------------------


class SignupTrigger(_Model):
    type: Literal["signup"]


class TagAddedTrigger(_Model):
    type: Literal["tag_added"]
    tag: str = Field(min_length=1, max_length=100)


class PurchaseTrigger(_Model):
    type: Literal["purchase"]
    min_value: Decimal | None = Field(default=None, ge=0)


class DateFieldTrigger(_Model):
    type: Literal["date_field"]
    field: str = Field(min_length=1, max_length=100, description="an attribute holding a date, YYYY-MM-DD")
    offset_days: int = Field(default=0, ge=-366, le=366, description="-3: three days before the date")
    at_hour: int = Field(default=9, ge=0, le=23, description="local hour of the contact's day")
    yearly: bool = Field(default=False, description="every year on the date's month and day (birthdays, anniversaries)")


Trigger = Annotated[SignupTrigger | TagAddedTrigger | PurchaseTrigger | DateFieldTrigger, Field(discriminator="type")]
TRIGGER_TYPES = ("signup", "tag_added", "purchase", "date_field")

# --- steps -------------------------------------------------------------------------------------


class SendEmailStep(_Model):
    type: Literal["send_email"]
    email_campaign_id: int | None = Field(default=None, gt=0)
    template: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    preview_text: str = Field(default="", max_length=150)
    next: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SendEmailStep:
        if self.email_campaign_id is None and not self.subject:
            raise ValueError("give either email_campaign_id (an automation email campaign) or a subject (and optionally a template)")
        if self.email_campaign_id is not None and (self.subject or self.template):
            raise ValueError("give email_campaign_id or subject/template, not both")
        return self


class WaitStep(_Model):
    type: Literal["wait"]
    days: float | None = Field(default=None, ge=0, le=366)
    hours: float | None = Field(default=None, ge=0, le=24 * 366)
    until_hour: int | None = Field(default=None, ge=0, le=23, description="then until the contact's local clock shows this hour")
    next: str | None = None

    @model_validator(mode="after")
    def _something(self) -> WaitStep:
        if not self.days and not self.hours and self.until_hour is None:
            raise ValueError("say how long to wait: days, hours and/or until_hour (0-23, the contact's local time)")
        return self


class ConditionStep(_Model):
    type: Literal["condition"]
    rules: dict[str, Any] | None = None
    previous_email: Literal["opened", "clicked"] | None = None
    then: str | None = None
    else_: str | None = Field(default=None, alias="else")

    @model_validator(mode="after")
    def _one_test(self) -> ConditionStep:
        if (self.rules is None) == (self.previous_email is None):
            raise ValueError('give exactly one of rules (segment rules on the contact) or previous_email ("opened" or "clicked")')
        return self


class Branch(_Model):
    weight: float = Field(gt=0)
    next: str | None = None


class RandomSplitStep(_Model):
    type: Literal["random_split"]
    branches: list[Branch] = Field(min_length=2, max_length=10)


class UpdateFieldStep(_Model):
    type: Literal["update_field"]
    set: dict[str, Any] = Field(default_factory=dict)
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    next: str | None = None

    @field_validator("add_tags", "remove_tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        cleaned = [t.strip() for t in tags]
        if any(not t or len(t) > 100 for t in cleaned):
            raise ValueError("tags are 1-100 characters")
        return cleaned

    @field_validator("set")
    @classmethod
    def _plain_values(cls, values: dict[str, Any]) -> dict[str, Any]:
        for key, value in values.items():
            if not key.strip() or len(key) > 100:
                raise ValueError(f"attribute name {key!r} must be 1-100 characters")
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                raise ValueError(f"attribute {key!r}: values are text, numbers, true/false or null (to remove it)")
        return values

    @model_validator(mode="after")
    def _something(self) -> UpdateFieldStep:
        if not self.set and not self.add_tags and not self.remove_tags:
            raise ValueError("change something: set, add_tags or remove_tags")
        return self


class EndStep(_Model):
    type: Literal["end"]


Step = SendEmailStep | WaitStep | ConditionStep | RandomSplitStep | UpdateFieldStep | EndStep
STEP_MODELS: dict[str, type[_Model]] = {
    "send_email": SendEmailStep, "wait": WaitStep, "condition": ConditionStep, "random_split": RandomSplitStep,
    "update_field": UpdateFieldStep, "end": EndStep,
}


@dataclass(frozen=True)
class Flow:
    trigger: SignupTrigger | TagAddedTrigger | PurchaseTrigger | DateFieldTrigger
    start: str
    steps: dict[str, Step]

    def to_json(self) -> dict[str, Any]:
        """The stored form: ``{"start": ..., "steps": {...}}`` (the trigger is stored in its own column)."""
        return {"start": self.start, "steps": {k: v.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
                                                   | {"type": v.type} for k, v in self.steps.items()}}

    def trigger_json(self) -> dict[str, Any]:
        return self.trigger.model_dump(mode="json", exclude_none=True)


# --- validation ----------------------------------------------------------------------------------


def _loc(loc: tuple[Any, ...]) -> str:
    parts = ""
    for item in loc:
        parts += f"[{item}]" if isinstance(item, int) else (f".{item}" if parts else str(item))
    return parts


def _pydantic_problems(prefix: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = tuple(x for x in err["loc"] if x not in TRIGGER_TYPES)  # drop the union tag pydantic adds
        path = f"{prefix}.{_loc(loc)}" if loc else prefix
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field; remove it (see the field list in the automation docs)"
        out.append(f"{path}: {message}")
    return out


def targets(step: Step) -> list[tuple[str, str | None, str]]:
    """(field path inside the step, target step id or None, edge label) for every way out of a step."""
    if isinstance(step, ConditionStep):
        return [("then", step.then, "yes"), ("else", step.else_, "no")]
    if isinstance(step, RandomSplitStep):
        total = sum(b.weight for b in step.branches)
        return [(f"branches[{i}].next", b.next, f"{b.weight / total:.0%}") for i, b in enumerate(step.branches)]
    if isinstance(step, EndStep):
        return []
    return [("next", step.next, "")]


def validate_flow(definition: Any, rules_check: Callable[[Mapping[str, Any]], None] | None = None) -> Flow:
    """The validated flow, or FlowError naming every problem by path.

    `rules_check` validates a condition's segment rules (the segments module's `validate_rules`,
    passed in so this module stays pure); its error's message starts with ``rules...``.
    """
    if not isinstance(definition, Mapping):
        raise FlowError(["definition: must be a JSON object with trigger, start and steps"])
    problems: list[str] = []
    unknown_top = set(definition) - {"trigger", "start", "steps", "name"}
    problems += [f"{key}: unknown field; a flow has name, trigger, start and steps" for key in sorted(unknown_top)]
    trigger = None
    raw_trigger = definition.get("trigger")
    if not isinstance(raw_trigger, Mapping):
        problems.append(f"trigger: missing; give an object with type one of {', '.join(TRIGGER_TYPES)}")
    elif raw_trigger.get("type") not in TRIGGER_TYPES:
        problems.append(f"trigger.type: {raw_trigger.get('type')!r} is not a trigger; use one of {', '.join(TRIGGER_TYPES)}")
    else:
        try:
            trigger = TypeAdapter(Trigger).validate_python(dict(raw_trigger))
        except ValidationError as exc:
            problems += _pydantic_problems("trigger", exc)
    raw_steps = definition.get("steps")
    steps: dict[str, Step] = {}
    if not isinstance(raw_steps, Mapping) or not raw_steps:
        problems.append("steps: missing; give an object of step id -> step, e.g. {\"hello\": {\"type\": \"send_email\", ...}}")
        raw_steps = {}
    if len(raw_steps) > MAX_STEPS:
        problems.append(f"steps: {len(raw_steps)} steps; at most {MAX_STEPS} per flow, split it into several automations")
    for step_id, raw in raw_steps.items():
        path = f"steps.{step_id}"
        if not isinstance(step_id, str) or not re.match(STEP_ID_PATTERN, step_id):
            problems.append(f"{path}: step ids are 1-60 letters, digits, _ or -")
            continue
        if not isinstance(raw, Mapping):
            problems.append(f"{path}: must be an object with a type")
            continue
        kind = raw.get("type")
        if kind not in STEP_MODELS:
            problems.append(f"{path}.type: unknown step type {kind!r}; use one of {', '.join(STEP_MODELS)}")
            continue
        try:
            step = STEP_MODELS[kind].model_validate(dict(raw))
        except ValidationError as exc:
            problems += _pydantic_problems(path, exc)
            continue
        if isinstance(step, ConditionStep) and step.rules is not None and rules_check is not None:
            try:
                rules_check(step.rules)
            except ValueError as exc:
                problems.append(f"{path}.{exc}")
        steps[step_id] = step  # type: ignore[assignment]
    start = definition.get("start")
    if not isinstance(start, str) or not start:
        problems.append("start: missing; name the first step")
    elif raw_steps and start not in raw_steps:
        problems.append(f"start: no step named {start!r}; use one of {', '.join(sorted(map(str, raw_steps)))}")
    for step_id, step in steps.items():
        for field_path, target, _ in targets(step):
            if target is not None and target not in raw_steps:
                problems.append(f"steps.{step_id}.{field_path}: no step named {target!r}; add it or point at an existing step")
    if not problems and isinstance(start, str):
        problems += _graph_problems(start, steps)
    if problems:
        raise FlowError(problems)
    assert trigger is not None and isinstance(start, str)
    return Flow(trigger, start, steps)


def _graph_problems(start: str, steps: dict[str, Step]) -> list[str]:
    reached = _reachable(start, steps)
    problems = [f"steps.{s}: unreachable from start {start!r}; link to it from another step or delete it" for s in steps if s not in reached]
    cycle = _cycle_without_wait(steps)
    if cycle:
        loop = " -> ".join([*cycle, cycle[0]])
        problems.append(f"steps.{cycle[0]}: the loop {loop} has no wait step; add a wait inside it so a contact cannot spin forever")
    return problems


def _reachable(start: str, steps: dict[str, Step]) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node in seen or node not in steps:
            continue
        seen.add(node)
        stack.extend(t for _, t, _ in targets(steps[node]) if t)
    return seen


def _cycle_without_wait(steps: dict[str, Step]) -> list[str] | None:
    """A cycle through non-wait steps only (a wait on the loop makes it a timed repeat, which is allowed)."""
    graph = {s: [t for _, t, _ in targets(step) if t and not isinstance(steps.get(t), WaitStep)]
             for s, step in steps.items() if not isinstance(step, WaitStep)}
    colour: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if colour.get(nxt) == 1:
                return path[path.index(nxt):]
            if colour.get(nxt) is None and (found := visit(nxt)):
                return found
        colour[node] = 2
        path.pop()
        return None

    for node in graph:
        if colour.get(node) is None and (found := visit(node)):
            return found
    return None




# --- per-step decisions that must not depend on the clock or the database -----------------------


def split_branch(step: RandomSplitStep, enrollment_id: int, step_id: str, seq: int) -> int:
    """Which branch an enrollment takes: a hash of (enrollment, step, seq) onto the weights, so a re-run picks the same one."""
    digest = hashlib.sha256(f"{enrollment_id}|{step_id}|{seq}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(b.weight for b in step.branches)
    acc = 0.0
    for i, branch in enumerate(step.branches):
        acc += branch.weight
        if point < acc:
            return i
    return len(step.branches) - 1


# --- words and a layout for drawing ----------------------------------------------------------------


def step_label(step: Step) -> str:
    if isinstance(step, SendEmailStep):
        return f"Email: {step.subject}" if step.subject else f"Email #{step.email_campaign_id}"
    if isinstance(step, WaitStep):
        parts = []
        if step.days:
            parts.append(f"{step.days:g} day{'s' if step.days != 1 else ''}")
        if step.hours:
            parts.append(f"{step.hours:g} h")
        text = "Wait " + " ".join(parts) if parts else "Wait"
        return text + (f" until {step.until_hour:02d}:00" if step.until_hour is not None else "")
    if isinstance(step, ConditionStep):
        return f"{step.previous_email.capitalize()} previous email?" if step.previous_email else "Matches rules?"
    if isinstance(step, RandomSplitStep):
        return "Random split " + "/".join(f"{b.weight:g}" for b in step.branches)
    if isinstance(step, UpdateFieldStep):
        parts = [f"+{t}" for t in step.add_tags] + [f"-{t}" for t in step.remove_tags] + [f"{k}={v}" for k, v in step.set.items()]
        return "Update " + ", ".join(parts)
    return "End"


def trigger_label(trigger: Any) -> str:
    if isinstance(trigger, TagAddedTrigger):
        return f"Tag added: {trigger.tag}"
    if isinstance(trigger, PurchaseTrigger):
        return "Purchase" + (f" ≥ {trigger.min_value}" if trigger.min_value is not None else "")
    if isinstance(trigger, DateFieldTrigger):
        offset = f" {trigger.offset_days:+d} d" if trigger.offset_days else ""
        return f"Date {trigger.field}{offset}{' yearly' if trigger.yearly else ''} at {trigger.at_hour:02d}:00"
    return "Signup"


@dataclass(frozen=True)
class LayoutNode:
    id: str
    type: str
    label: str
    layer: int  # distance (in steps) from the trigger
    x: float  # position within the layer, centred on 0
    y: float  # = -layer, so the flow reads top to bottom


@dataclass(frozen=True)
class LayoutEdge:
    source: str
    target: str
    label: str
    back: bool  # points to an earlier layer (a loop through a wait)


TRIGGER_NODE = "__trigger__"


def layout(flow: Flow) -> tuple[list[LayoutNode], list[LayoutEdge]]:
    """A layered drawing: trigger on top, each step one layer below the deepest step leading to it (loops ignored)."""
    order: list[str] = []  # depth-first discovery order gives stable, readable positions
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        order.append(node)
        for _, target, _ in targets(flow.steps[node]):
            if target is None:
                continue
            if state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                visit(target)
        state[node] = 2

    visit(flow.start)
    layer = {flow.start: 1}
    # longest path over forward edges, in a topological order (reverse post-order works for a DAG once back edges are dropped)
    for node in _topological(flow, order, back):
        for _, target, _ in targets(flow.steps[node]):
            if target is not None and (node, target) not in back:
                layer[target] = max(layer.get(target, 0), layer[node] + 1)
    by_layer: dict[int, list[str]] = {}
    for node in order:
        by_layer.setdefault(layer[node], []).append(node)
    nodes = [LayoutNode(TRIGGER_NODE, "trigger", trigger_label(flow.trigger), 0, 0.0, 0.0)]
    for depth, members in sorted(by_layer.items()):
        for i, node in enumerate(members):
            step = flow.steps[node]
            nodes.append(LayoutNode(node, step.type, step_label(step), depth, i - (len(members) - 1) / 2, -float(depth)))
    edges = [LayoutEdge(TRIGGER_NODE, flow.start, "", False)]
    for node in order:
        for _, target, label in targets(flow.steps[node]):
            if target is not None:
                edges.append(LayoutEdge(node, target, label, (node, target) in back))
    return nodes, edges


def _topological(flow: Flow, order: list[str], back: set[tuple[str, str]]) -> list[str]:
    indegree = {n: 0 for n in order}
    for node in order:
        for _, target, _ in targets(flow.steps[node]):
            if target is not None and (node, target) not in back:
                indegree[target] += 1
    ready = [n for n in order if indegree[n] == 0]
    out: list[str] = []
    while ready:
        node = ready.pop(0)
        out.append(node)
        for _, target, _ in targets(flow.steps[node]):
            if target is not None and (node, target) not in back:
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
    return out
