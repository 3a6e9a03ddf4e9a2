"""Automation flow definitions: validation errors name their path; the layout and the random split are checked by hand."""

from __future__ import annotations

from collections import Counter

import pytest

from campaigns.email.flows import (
    TRIGGER_NODE,
    FlowError,
    RandomSplitStep,
    layout,
    split_branch,
    step_label,
    validate_flow,
)
from campaigns.audiences.segments import validate_rules

WELCOME = {
    "name": "Welcome",
    "trigger": {"type": "signup"},
    "start": "hello",
    "steps": {
        "hello": {"type": "send_email", "subject": "Welcome {{ first_name }}", "template": "Welcome", "next": "pause"},
        "pause": {"type": "wait", "days": 2, "until_hour": 9, "next": "opened"},
        "opened": {"type": "condition", "previous_email": "opened", "then": "tag", "else": "split"},
        "split": {"type": "random_split", "branches": [{"weight": 1, "next": "nudge"}, {"weight": 3, "next": "done"}]},
        "nudge": {"type": "send_email", "email_campaign_id": 12, "next": "done"},
        "tag": {"type": "update_field", "add_tags": ["engaged"], "set": {"stage": "warm"}, "next": "done"},
        "done": {"type": "end"},
    },
}


def _problems(definition) -> list[str]:
    with pytest.raises(FlowError) as caught:
        validate_flow(definition, rules_check=validate_rules)
    return caught.value.problems


def test_a_valid_flow_round_trips_through_its_stored_form() -> None:
    flow = validate_flow(WELCOME, rules_check=validate_rules)
    stored = flow.to_json()
    assert stored["start"] == "hello"
    assert stored["steps"]["opened"] == {"type": "condition", "previous_email": "opened", "then": "tag", "else": "split"}
    again = validate_flow({"trigger": flow.trigger_json(), **stored})
    assert again.steps == flow.steps and again.trigger == flow.trigger


def test_every_problem_is_named_by_its_path() -> None:
    bad = {
        "trigger": {"type": "tag_added"},
        "start": "a",
        "steps": {
            "a": {"type": "sendmail"},
            "b": {"type": "condition", "previous_email": "opened", "then": "zz", "else": "a"},
            "c": {"type": "wait"},
            "d": {"type": "send_email", "subject": "x", "colour": "red"},
            "e": {"type": "send_email", "email_campaign_id": 3, "subject": "x"},
            "f": {"type": "condition", "rules": {"all": [{"field": "shoe_size", "op": "eq", "value": 3}]}, "then": "a"},
        },
    }
    problems = _problems(bad)
    assert "trigger.tag: Field required" in problems
    assert any(p.startswith("steps.a.type: unknown step type 'sendmail'") for p in problems)
    assert any(p.startswith("steps.c: say how long to wait") for p in problems)
    assert any(p.startswith("steps.d.colour: unknown field") for p in problems)
    assert any(p.startswith("steps.e: give email_campaign_id or subject/template, not both") for p in problems)
    assert any(p.startswith("steps.f.rules.all[0].field") for p in problems), problems
    assert any(p.startswith("steps.b.then: no step named 'zz'") for p in problems)


def test_unknown_trigger_missing_start_and_start_pointing_nowhere() -> None:
    assert _problems({"trigger": {"type": "birthday"}, "start": "x", "steps": {"a": {"type": "end"}}}) == [
        "trigger.type: 'birthday' is not a trigger; use one of signup, tag_added, purchase, date_field",
        "start: no step named 'x'; use one of a",
    ]
    assert any(p.startswith("start: missing") for p in _problems({"trigger": {"type": "signup"}, "steps": {"a": {"type": "end"}}}))
    assert any(p.startswith("trigger.at_hour") for p in _problems({"trigger": {"type": "date_field", "field": "birthday", "at_hour": 25},
                                                                    "start": "a", "steps": {"a": {"type": "end"}}}))


def test_unreachable_steps_are_reported() -> None:
    problems = _problems({"trigger": {"type": "signup"}, "start": "a", "steps": {"a": {"type": "end"}, "orphan": {"type": "end"}}})
    assert problems == ["steps.orphan: unreachable from start 'a'; link to it from another step or delete it"]


def test_a_loop_without_a_wait_is_refused_and_with_a_wait_allowed() -> None:
    loop = {"trigger": {"type": "signup"}, "start": "a", "steps": {
        "a": {"type": "update_field", "add_tags": ["x"], "next": "b"},
        "b": {"type": "condition", "rules": {"all": []}, "then": "a", "else": "c"},
        "c": {"type": "end"},
    }}
    problems = _problems(loop)
    assert len(problems) == 1 and "the loop a -> b -> a has no wait step" in problems[0] and problems[0].startswith("steps.a:")
    loop["steps"]["b"]["then"] = "w"
    loop["steps"]["w"] = {"type": "wait", "hours": 1, "next": "a"}
    validate_flow(loop, rules_check=validate_rules)  # a timed repeat is fine


def test_layout_puts_each_step_below_the_deepest_step_leading_to_it() -> None:
    flow = validate_flow(WELCOME)
    nodes, edges = layout(flow)
    layer = {n.id: n.layer for n in nodes}
    # by hand: trigger 0, hello 1, pause 2, opened 3, tag/split 4, nudge 5, done 6 (after nudge, the deepest way in)
    assert layer == {TRIGGER_NODE: 0, "hello": 1, "pause": 2, "opened": 3, "tag": 4, "split": 4, "nudge": 5, "done": 6}
    positions = {n.id: n.x for n in nodes if n.layer == 4}
    assert sorted(positions.values()) == [-0.5, 0.5]
    labels = {(e.source, e.target): e.label for e in edges}
    assert labels[("opened", "tag")] == "yes" and labels[("opened", "split")] == "no"
    assert labels[("split", "nudge")] == "25%" and labels[("split", "done")] == "75%"
    assert not any(e.back for e in edges)


def test_a_loop_back_through_a_wait_is_drawn_as_a_back_edge() -> None:
    flow = validate_flow({"trigger": {"type": "purchase", "min_value": 50}, "start": "mail", "steps": {
        "mail": {"type": "send_email", "subject": "Thanks", "next": "wait"},
        "wait": {"type": "wait", "days": 7, "next": "check"},
        "check": {"type": "condition", "previous_email": "clicked", "then": "done", "else": "mail"},
        "done": {"type": "end"},
    }})
    nodes, edges = layout(flow)
    assert [e for e in edges if e.back] and all((e.source, e.target) == ("check", "mail") for e in edges if e.back)
    assert {n.id: n.layer for n in nodes}["done"] == 4
    assert nodes[0].label == "Purchase ≥ 50"


def test_labels_read_like_the_step() -> None:
    flow = validate_flow(WELCOME)
    assert step_label(flow.steps["pause"]) == "Wait 2 days until 09:00"
    assert step_label(flow.steps["tag"]) == "Update +engaged, stage=warm"
    assert step_label(flow.steps["nudge"]) == "Email #12"


def test_random_split_is_deterministic_and_follows_the_weights() -> None:
    step = RandomSplitStep.model_validate({"type": "random_split", "branches": [{"weight": 1, "next": "a"}, {"weight": 3, "next": "b"}]})
    assert split_branch(step, 7, "split", 2) == split_branch(step, 7, "split", 2)
    counts = Counter(split_branch(step, enrollment, "split", 2) for enrollment in range(4000))
    # 1:3 weights -> 1000 expected in branch 0; 4 standard deviations (sqrt(4000 * .25 * .75) ~ 27) either side
    assert 890 <= counts[0] <= 1110
