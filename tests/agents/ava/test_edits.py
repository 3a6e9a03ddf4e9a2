"""Checking a person's edit of a workflow step: each problem named by its field, values cleaned."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.ava.edits import check_step_changes


def test_good_edits_are_cleaned() -> None:
    clean, errors = check_step_changes("generate_content", {
        "due_at": "2026-12-01T10:00:00+01:00", "max_attempts": 5.0, "formats": "X, email,x", "variations": 3})
    assert errors == {}
    assert clean == {"due_at": "2026-12-01T09:00:00+00:00", "max_attempts": 5, "formats": ["x", "email"], "variations": 3}
    clean, errors = check_step_changes("schedule", {"slots": [{"format": "x", "variant": 1, "at": datetime(2026, 12, 2, 8, tzinfo=UTC)}]})
    assert errors == {} and clean["slots"][0]["at"] == "2026-12-02T08:00:00+00:00"


def test_every_problem_is_named_by_its_field() -> None:
    clean, errors = check_step_changes("await_approval", {
        "due_at": "tomorrow", "escalate_after": "2026-12-01T09:00:00", "max_attempts": 0, "formats": ["x"], "final": True})
    assert clean == {}
    assert "not ISO-8601" in errors["due_at"]
    assert "no time zone" in errors["escalate_after"]
    assert "from 1 to 20" in errors["max_attempts"]
    assert "cannot edit formats of a await_approval step" in errors["formats"] and "escalate_after" in errors["formats"]
    assert set(errors) == {"due_at", "escalate_after", "max_attempts", "formats", "final"}
    _, errors = check_step_changes("generate_content", {"formats": ["x", "tiktok"], "variations": 9})
    assert "tiktok" in errors["formats"] and "from 1 to 6" in errors["variations"]
    _, errors = check_step_changes("schedule", {"slots": [{"format": "x", "variant": 1, "at": "2026-12-02T08:00:00"}]})
    assert "slot 1 time" in errors["slots"] and "no time zone" in errors["slots"]
    _, errors = check_step_changes("monitor", {"final": "yes", "max_attempts": True})
    assert errors == {"final": "final must be true or false", "max_attempts": "max_attempts must be a whole number from 1 to 20"}


def test_the_schedule_step_takes_an_email_segment_and_template() -> None:
    clean, errors = check_step_changes("schedule", {"email_segment": " Regulars ", "email_template": "Article"})
    assert errors == {} and clean == {"email_segment": "Regulars", "email_template": "Article"}
    assert check_step_changes("schedule", {"email_segment": 7})[0] == {"email_segment": 7}
    _, errors = check_step_changes("schedule", {"email_segment": "", "email_template": ["Article"]})
    assert errors == {"email_segment": "email_segment must be a segment id or name", "email_template": "email_template must be a template name, e.g. Article"}
    assert "cannot edit email_segment" in check_step_changes("monitor", {"email_segment": 7})[1]["email_segment"]
