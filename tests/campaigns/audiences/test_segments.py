"""Segment rules compiled to parameterised SQL and counted on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.audiences import segments as sg
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, SocialAccount

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
INJECTION = "x' OR '1'='1"

# (email, first_name, timezone, tags, subscribed, age in days)
PEOPLE = [
    ("ada@example.com", "Ada", "Europe/London", ["customer", "vip"], True, 2),
    ("bo@example.com", "Bo", "Europe/Berlin", ["customer"], False, 10),
    ("cleo@example.com", "Cleo", "America/New_York", ["prospect"], True, 40),
    ("dev@example.com", "Dev", "America/New_York", [], True, 400),
    ("esme@example.com", "Esme", "Asia/Tokyo", ["prospect", INJECTION], True, 1),
    ("finn@example.com", "50% Finn", "Europe/London", ["Customer"], True, 5),
]


@pytest.fixture
def store_url(store_url: str) -> str:
    """The shared store (acme, globex) with the people above in both merchants."""
    url = store_url
    with session_scope(url) as s:
        for merchant in ("acme", "globex"):
            for email, first, zone, tags, subscribed, age in PEOPLE:
                s.add(Contact(merchant_id=merchant, email=email, first_name=first, timezone=zone, tags=tags,
                              subscribed=subscribed, created_at=NOW - timedelta(days=age)))
        # globex has one more contact, so a leak across merchants would change every count
        s.add(Contact(merchant_id="globex", email="gus@example.com", first_name="Gus", timezone="Europe/London", tags=["customer"]))
        s.add(SocialAccount(merchant_id="acme", platform="x", handle="acme_x"))
        s.add(SocialAccount(merchant_id="acme", platform="linkedin", handle="acme_li"))
        s.add(SocialAccount(merchant_id="globex", platform="x", handle="globex_x"))
    return url


def _expected(predicate) -> int:
    """The count computed in Python over the same people, independently of the compiler."""
    return sum(1 for email, first, zone, tags, subscribed, age in PEOPLE if predicate(email, first, zone, tags, subscribed, age))


CASES = [
    ({}, lambda *p: True),
    ({"all": []}, lambda *p: True),
    ({"all": [{"field": "tags", "op": "contains", "value": "customer"}]}, lambda e, f, z, t, s, a: "customer" in t),
    ({"all": [{"field": "tags", "op": "not_contains", "value": "customer"}]}, lambda e, f, z, t, s, a: "customer" not in t),
    ({"all": [{"field": "timezone", "op": "in", "value": ["Europe/London", "Asia/Tokyo"]}]}, lambda e, f, z, t, s, a: z in ("Europe/London", "Asia/Tokyo")),
    ({"all": [{"field": "timezone", "op": "not_in", "value": ["Europe/London"]}]}, lambda e, f, z, t, s, a: z != "Europe/London"),
    ({"all": [{"field": "timezone", "op": "starts_with", "value": "europe/"}]}, lambda e, f, z, t, s, a: z.startswith("Europe/")),
    ({"all": [{"field": "subscribed", "op": "eq", "value": False}]}, lambda e, f, z, t, s, a: not s),
    ({"all": [{"field": "first_name", "op": "eq", "value": "Ada"}]}, lambda e, f, z, t, s, a: f == "Ada"),
    ({"all": [{"field": "first_name", "op": "ne", "value": "Ada"}]}, lambda e, f, z, t, s, a: f != "Ada"),
    ({"all": [{"field": "email", "op": "contains", "value": "E@EXAMPLE"}]}, lambda e, f, z, t, s, a: "e@example" in e),
    ({"all": [{"field": "created_at", "op": "within_days", "value": 7}]}, lambda e, f, z, t, s, a: a <= 7),
    (
        {"any": [{"field": "tags", "op": "contains", "value": "vip"},
                 {"all": [{"field": "timezone", "op": "eq", "value": "America/New_York"}, {"field": "created_at", "op": "within_days", "value": 100}]}]},
        lambda e, f, z, t, s, a: "vip" in t or (z == "America/New_York" and a <= 100),
    ),
]


@pytest.mark.parametrize(("rules", "predicate"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_rules_count_what_python_counts(store_url: str, rules, predicate) -> None:
    with session_scope(store_url) as s:
        assert sg.count_contacts(s, "acme", rules, now=NOW) == _expected(predicate)


def test_injection_attempts_stay_literal(store_url: str) -> None:
    with session_scope(store_url) as s:
        # the one contact really tagged with the odd string matches, and only it
        tag = {"all": [{"field": "tags", "op": "contains", "value": INJECTION}]}
        assert [c.email for c in sg.sample_contacts(s, "acme", tag)] == ["esme@example.com"]
        for value in ("' OR 1=1 --", "Ada'; DROP TABLE contacts; --", 'x" OR "1"="1'):
            assert sg.count_contacts(s, "acme", {"all": [{"field": "first_name", "op": "eq", "value": value}]}) == 0
        # LIKE wildcards in a value are characters, not patterns
        assert sg.count_contacts(s, "acme", {"all": [{"field": "first_name", "op": "contains", "value": "%"}]}) == 1
        assert sg.count_contacts(s, "acme", {"all": [{"field": "first_name", "op": "starts_with", "value": "_"}]}) == 0
        assert sg.count_contacts(s, "acme", {}) == len(PEOPLE)  # the table is still there
        compiled = sg.contacts_query("acme", tag).compile(dialect=s.get_bind().dialect)
    assert INJECTION not in str(compiled) and "OR '1'" not in str(compiled)
    assert INJECTION in compiled.params.values()  # it travels as a bound parameter


def test_every_count_is_scoped_to_one_merchant(store_url: str) -> None:
    with session_scope(store_url) as s:
        assert sg.count_contacts(s, "acme", {}) == len(PEOPLE)
        assert sg.count_contacts(s, "globex", {}) == len(PEOPLE) + 1
        assert sg.count_contacts(s, "nobody", {}) == 0


@pytest.mark.parametrize(
    ("rules", "path", "words"),
    [
        ([], "rules", "must be an object"),
        ({"all": {"field": "tags"}}, "rules.all", "must be a list"),
        ({"all": [], "any": []}, "rules", "exactly one key"),
        ({"any": []}, "rules.any", "at least one condition"),
        ({"all": [{"field": "shoe_size", "op": "eq", "value": "9"}]}, "rules.all[0].field", "unknown field 'shoe_size'"),
        ({"all": [{"field": "tags", "op": "eq", "value": "vip"}]}, "rules.all[0].op", "use one of contains, not_contains"),
        ({"all": [{"field": "tags", "op": "contains"}]}, "rules.all[0].value", "missing"),
        ({"all": [{"field": "tags", "op": "contains", "value": 3}]}, "rules.all[0].value", "must be text"),
        ({"all": [{"field": "subscribed", "op": "eq", "value": "yes"}]}, "rules.all[0].value", "true or false"),
        ({"all": [{"field": "created_at", "op": "within_days", "value": -1}]}, "rules.all[0].value", "whole number of days"),
        ({"all": [{"field": "timezone", "op": "in", "value": []}]}, "rules.all[0].value", "non-empty list"),
        ({"all": [{"field": "timezone", "op": "in", "value": ["UTC", 4]}]}, "rules.all[0].value[1]", "must be text"),
        ({"any": [{"field": "tags", "op": "contains", "value": "a", "extra": 1}]}, "rules.any[0]", "unknown keys extra"),
        ({"all": [{"any": [{"event": "opened", "within_days": 30}]}]}, "rules.all[0].any[0]", "unknown keys within_days"),
        ({"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]}, "rules.all[0].all[0].all[0].all[0].all", "nest at most"),
    ],
)
def test_bad_rules_name_the_path(rules, path: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        sg.compile_rules(rules)
    assert isinstance(caught.value, sg.RuleError)
    assert str(caught.value).startswith(f"{path}: "), str(caught.value)
    assert words in str(caught.value)


def test_saved_segments_and_channel_audiences(store_url: str) -> None:
    customers = {"all": [{"field": "tags", "op": "contains", "value": "customer"}]}
    with session_scope(store_url) as s:
        first = sg.save_segment(s, "acme", "Customers", customers, actor="ana").id
        again = sg.save_segment(s, "acme", "Customers", {"all": [{"field": "tags", "op": "contains", "value": "vip"}]}, actor="ana").id
        assert first == again  # same name: the rules are replaced
        with pytest.raises(sg.RuleError):
            sg.save_segment(s, "acme", "Broken", {"any": []}, actor="ana")
        with pytest.raises(ValueError, match="name"):
            sg.save_segment(s, "acme", " ", customers, actor="ana")
    with session_scope(store_url) as s:
        assert [(g.name, g.rules["all"][0]["value"]) for g in sg.list_segments(s, "acme")] == [("Customers", "vip")]
        assert sg.list_segments(s, "globex") == []
        email, x, linkedin, ads = sg.channel_audiences(s, "acme", ["email", "x", "linkedin", "google_ads"], customers)
    assert email.kind == "email" and email.size == _expected(lambda e, f, z, t, sub, a: "customer" in t and sub)
    assert x.accounts == ("@acme_x",) and linkedin.accounts == ("@acme_li",)  # never globex's handle
    assert ads.kind == "ads" and "tagged 'customer'" in ads.note and "Google Ads" in ads.note


def test_describe_reads_like_a_sentence() -> None:
    rules = {"all": [{"field": "tags", "op": "contains", "value": "customer"},
                     {"field": "timezone", "op": "in", "value": ["Europe/London", "Europe/Berlin"]}]}
    assert sg.describe(rules) == "(tagged 'customer' and timezone is one of Europe/London, Europe/Berlin)"
    assert sg.describe({}) == "every contact"


def test_in_lists_are_capped() -> None:
    at_limit = {"all": [{"field": "email", "op": "in", "value": [f"p{i}@example.com" for i in range(sg.MAX_IN_VALUES)]}]}
    sg.validate_rules(at_limit)
    too_many = {"all": [{"field": "email", "op": "not_in", "value": [f"p{i}@example.com" for i in range(200_000)]}]}
    with pytest.raises(sg.RuleError, match=r"rules.all\[0\].value: \"not_in\" lists 200,000 values; at most 10,000"):
        sg.validate_rules(too_many)
