"""The segment rule editor: rows for flat rules, JSON for nested ones, and the first problem named by its row.

Driven with AppTest on a tiny script around `rule_builder`; it needs no store.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboards import rule_builder as rb


def _editor(initial: dict, seed_name: str = "s1") -> AppTest:
    def script(initial_json: str, seed_name: str) -> None:
        import json as _json

        import streamlit as st

        from dashboards.rule_builder import rule_builder

        rules, problem = rule_builder("rb", _json.loads(initial_json), seed_name)
        st.session_state["out"] = {"rules": rules, "problem": problem}

    at = AppTest.from_function(script, args=(json.dumps(initial), seed_name), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _out(at: AppTest) -> dict:
    return at.session_state["out"]


def _errors(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if ":red[" in m.value]


# --- pure helpers ---------------------------------------------------------------------------
def test_flat_accepts_one_group_of_plain_conditions_only() -> None:
    assert rb.flat({}) == ("all", [])
    assert rb.flat({"any": [{"event": "opened", "op": "ever"}, {"rfm": ["champions"]}]}) == (
        "any", [{"event": "opened", "op": "ever"}, {"rfm": ["champions"]}])
    assert rb.flat({"all": [], "any": []}) is None  # two groups
    assert rb.flat({"not": [{"field": "tags"}]}) is None
    assert rb.flat({"all": [{"any": [{"field": "tags"}]}]}) is None  # nested
    assert rb.flat({"all": "tags"}) is None


def test_value_kind_and_row_numbers() -> None:
    assert [rb._value_kind(f, op) for f, op in [("subscribed", "eq"), ("created_at", "within_days"), ("rfm_recency", "gte"),
                                                ("tags", "in"), ("email", "contains")]] == ["bool", "days", "score", "list", "text"]
    assert rb._row_of("rules.all[2].value", "all") == 2
    assert rb._row_of("rules.any[x]", "any") is None
    assert rb._row_of("rules", "all") is None
    assert rb._kind({"event": "opened"}) == "event" and rb._kind({"rfm": []}) == "rfm" and rb._kind({}) == "tags"


# --- the editor -------------------------------------------------------------------------------
def test_no_condition_means_every_contact() -> None:
    at = _editor({"all": []})
    assert _out(at) == {"rules": {"all": []}, "problem": None}
    assert any("every contact" in c.value for c in at.caption)


def test_rows_show_the_conditions_and_an_empty_value_names_its_row() -> None:
    at = _editor({"all": [{"field": "subscribed", "op": "eq", "value": True}, {"field": "tags", "op": "contains", "value": "vip"}]})
    assert _out(at)["problem"] is None
    at.button(key="rb_add").click().run()  # a new, empty tags condition
    out = _out(at)
    assert len(out["rules"]["all"]) == 3
    assert out["problem"] is not None and out["problem"].startswith("condition 3:")
    assert _errors(at) and "condition 3" in _errors(at)[0]


def test_removing_a_row_and_switching_match() -> None:
    at = _editor({"all": [{"field": "tags", "op": "contains", "value": "a"}, {"field": "tags", "op": "contains", "value": "b"}]})
    first_uid = at.session_state["rb_rows"][0]["uid"]
    at.button(key=f"rb_{first_uid}_remove").click().run()
    assert _out(at)["rules"] == {"all": [{"field": "tags", "op": "contains", "value": "b"}]}
    at.radio(key="rb_match").set_value("any").run()
    assert _out(at)["rules"] == {"any": [{"field": "tags", "op": "contains", "value": "b"}]}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("event", {"event": "opened", "op": "within_days", "days": 30}),
        ("rfm", {"rfm": ["champions"]}),
        ("subscribed", {"field": "subscribed", "op": "eq", "value": True}),
    ],
)
def test_switching_a_rows_kind_starts_it_from_that_kinds_default(kind: str, expected: dict) -> None:
    at = _editor({"all": [{"field": "tags", "op": "contains", "value": "vip"}]})
    uid = at.session_state["rb_rows"][0]["uid"]
    at.selectbox(key=f"rb_{uid}_field").set_value(kind).run()
    out = _out(at)
    assert out["rules"] == {"all": [expected]}
    assert out["problem"] is None


def test_field_to_field_keeps_what_was_typed() -> None:
    at = _editor({"all": [{"field": "tags", "op": "contains", "value": "vip"}]})
    uid = at.session_state["rb_rows"][0]["uid"]
    at.selectbox(key=f"rb_{uid}_field").set_value("email").run()
    assert _out(at)["rules"]["all"][0] == {"field": "email", "op": "contains", "value": "vip"}


def test_event_counts_and_windows_and_a_kept_email_campaign() -> None:
    at = _editor({"all": [{"event": "clicked", "op": "count_at_least", "count": 3, "days": 14, "email_campaign_id": "em_1"}]})
    assert _out(at)["rules"]["all"][0] == {"event": "clicked", "op": "count_at_least", "count": 3, "days": 14, "email_campaign_id": "em_1"}
    uid = at.session_state["rb_rows"][0]["uid"]
    at.selectbox(key=f"rb_{uid}_event_op").set_value("never").run()
    assert _out(at)["rules"]["all"][0] == {"event": "clicked", "op": "never", "email_campaign_id": "em_1"}


def test_list_score_and_days_values() -> None:
    at = _editor({"all": [{"field": "timezone", "op": "in", "value": ["UTC", "Europe/Paris"]},
                          {"field": "rfm_monetary", "op": "gte", "value": 9},
                          {"field": "created_at", "op": "within_days", "value": "soon"}]})
    rules = _out(at)["rules"]["all"]
    assert rules[0]["value"] == ["UTC", "Europe/Paris"]
    assert rules[1]["value"] == 4  # out of 1-5: the editor offers its default score
    assert rules[2]["value"] == 30  # not a number of days: the default window


def test_a_nested_rule_opens_as_json_and_json_problems_are_named() -> None:
    nested = {"any": [{"all": [{"field": "tags", "op": "contains", "value": "a"}]}, {"rfm": ["champions"]}]}
    at = _editor(nested)
    assert at.toggle(key="rb_json_mode").value is True
    assert _out(at) == {"rules": nested, "problem": None}
    at.text_area(key="rb_json_text").set_value('{"all": [').run()
    assert _out(at)["problem"].startswith("not valid JSON: ")
    assert "line 1" in _out(at)["problem"]
    at.text_area(key="rb_json_text").set_value('{"all": [{"field": "shoe_size", "op": "eq", "value": 1}]}').run()
    assert "shoe_size" in _out(at)["problem"]
    assert _errors(at)


def test_flat_json_goes_back_to_rows_with_what_was_typed() -> None:
    at = _editor({"all": []})
    at.toggle(key="rb_json_mode").set_value(True).run()
    assert json.loads(at.text_area(key="rb_json_text").value) == {"all": []}
    typed = {"any": [{"field": "tags", "op": "contains", "value": "vip"}]}
    at.text_area(key="rb_json_text").set_value(json.dumps(typed)).run()
    at.toggle(key="rb_json_mode").set_value(False).run()
    assert _out(at) == {"rules": typed, "problem": None}
    assert at.radio(key="rb_match").value == "any"


def test_a_new_seed_starts_over_from_the_new_rules() -> None:
    at = _editor({"all": [{"field": "tags", "op": "contains", "value": "a"}]}, seed_name="first")
    at.button(key="rb_add").click().run()
    assert len(_out(at)["rules"]["all"]) == 2
    at.session_state["rb_seed"] = "older"  # as if another campaign had been open before
    at.run()
    assert _out(at)["rules"] == {"all": [{"field": "tags", "op": "contains", "value": "a"}]}
