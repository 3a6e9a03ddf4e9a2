"""Event and RFM conditions against hand-made contacts and events, on SQLite and PostgreSQL.

Every expected set below was worked out by hand from the EVENTS table, not by running the compiler.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from campaigns.audiences import rfm
from campaigns.audiences import segments as sg
from campaigns.audiences.events import store_events
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, EmailCampaign

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NAMES = ("ada", "bo", "cleo", "dev", "esme", "finn", "gus", "hana", "ivo", "june")

# (name, kind, days before NOW (negative: after NOW), value, email campaign "EC1"/"EC2"/None)
EVENTS = [
    ("ada", "opened", 1, None, None), ("ada", "opened", 3, None, "EC1"), ("ada", "opened", 10, None, "EC1"),
    ("ada", "clicked", 3, None, "EC1"),
    ("bo", "opened", 40, None, None),  # exactly 40 days: inside "within 40", outside "within 39"
    ("cleo", "opened", 2, None, "EC2"),
    ("dev", "opened", -2, None, None),  # in the future: never counts
    ("esme", "signed_up", 5, None, None),
    ("hana", "opened", 0.5, None, None), ("hana", "opened", 20, None, None), ("hana", "opened", 29, None, None),
    ("hana", "clicked", 200, None, None),
    # purchases (RFM): see test_rfm_buckets_match_the_hand_computed_table
    ("ada", "purchased", 1, "100", None), ("ada", "purchased", 5, "50", None), ("ada", "purchased", 20, "50", None),
    ("bo", "purchased", 200, "500", None),
    *[("cleo", "purchased", d, "40", None) for d in (2, 10, 30, 60, 90)],
    ("dev", "purchased", 3, "10", None),
    *[("esme", "purchased", d, "100", None) for d in (100, 120, 150, 180)],
    ("finn", "purchased", 40, "0.10", None), ("finn", "purchased", 45, "0.20", None),
    ("gus", "purchased", 40, "0.30", None), ("gus", "purchased", -1, "1000", None),  # the future one is ignored
    *[("ivo", "purchased", d, "300", None) for d in (0.5, 7, 14, 21, 28)],
    ("june", "purchased", 1 / 24, "20", None),
]
# globex: the same people with other purchases; a leak across merchants would move acme's ranks
GLOBEX_EVENTS = [("bo", "purchased", 1, "9999", None), ("dev", "purchased", 1, "9999", None), ("dev", "opened", 1, None, None),
                 *[("gus", "purchased", d, "5000", None) for d in range(1, 8)]]

# hand-computed: R, F, M scores and bucket with n = 9 buyers
RFM_EXPECTED = {
    "ada": (4, 3, 3, "potential_loyalists"),
    "bo": (1, 1, 4, "lost"),
    "cleo": (3, 4, 3, "loyal"),
    "dev": (3, 1, 2, "promising"),
    "esme": (1, 4, 4, "cant_lose"),
    "finn": (2, 3, 1, "at_risk"),
    "gus": (2, 1, 1, "hibernating"),
    "ivo": (4, 4, 5, "champions"),
    "june": (5, 1, 2, "new"),
}
EVERYONE = set(NAMES)


@pytest.fixture
def store(store_url: str) -> str:
    with session_scope(store_url) as s:
        for merchant, events in (("acme", EVENTS), ("globex", GLOBEX_EVENTS)):
            ids = {}
            for name in NAMES:
                contact = Contact(merchant_id=merchant, email=f"{name}@example.com", first_name=name.title())
                s.add(contact)
                s.flush()
                ids[name] = contact.id
            campaigns = {}
            for label in ("EC1", "EC2"):
                ec = EmailCampaign(merchant_id=merchant, subject=label)
                s.add(ec)
                s.flush()
                campaigns[label] = ec.id
            store_events(s, [{"merchant_id": merchant, "contact_id": ids[name], "kind": kind, "occurred_at": NOW - timedelta(days=days),
                              "value": Decimal(value) if value else None, "email_campaign_id": campaigns.get(ec)}
                             for name, kind, days, value, ec in events])
    return store_url


def _names(s, rules, merchant: str = "acme") -> set[str]:
    return {c.first_name.lower() for c in s.scalars(sg.contacts_query(merchant, rules, NOW))}


def _campaign_id(s, merchant: str, label: str) -> int:
    return s.scalar(select(EmailCampaign.id).where(EmailCampaign.merchant_id == merchant, EmailCampaign.subject == label))


EVENT_CASES = [
    ({"event": "opened", "op": "within_days", "days": 7}, {"ada", "cleo", "hana"}),
    ({"event": "opened", "op": "not_within_days", "days": 7}, EVERYONE - {"ada", "cleo", "hana"}),
    ({"event": "opened", "op": "within_days", "days": 40}, {"ada", "bo", "cleo", "hana"}),
    ({"event": "opened", "op": "within_days", "days": 39}, {"ada", "cleo", "hana"}),
    ({"event": "opened", "op": "ever"}, {"ada", "bo", "cleo", "hana"}),  # dev's open is in the future
    ({"event": "opened", "op": "never"}, EVERYONE - {"ada", "bo", "cleo", "hana"}),
    ({"event": "opened", "op": "count_at_least", "count": 3, "days": 30}, {"ada", "hana"}),
    ({"event": "opened", "op": "count_at_least", "count": 3, "days": 28}, {"ada"}),
    ({"event": "opened", "op": "count_at_least", "count": 2}, {"ada", "hana"}),
    ({"event": "opened", "op": "count_at_most", "count": 1, "days": 30}, EVERYONE - {"ada", "hana"}),
    ({"event": "opened", "op": "count_at_most", "count": 0}, EVERYONE - {"ada", "bo", "cleo", "hana"}),
    ({"event": "clicked", "op": "within_days", "days": 30}, {"ada"}),
    ({"event": "clicked", "op": "ever"}, {"ada", "hana"}),
    ({"event": "signed_up", "op": "within_days", "days": 7}, {"esme"}),
    ({"event": "purchased", "op": "count_at_least", "count": 4, "days": 365}, {"cleo", "esme", "ivo"}),
    ({"event": "purchased", "op": "count_at_least", "count": 4, "days": 60}, {"cleo", "ivo"}),  # cleo's 4th is exactly 60 days old
    ({"event": "purchased", "op": "count_at_least", "count": 4, "days": 59}, {"ivo"}),
    ({"event": "purchased", "op": "never"}, {"hana"}),
    ({"event": "purchased", "op": "not_within_days", "days": 30}, {"bo", "esme", "finn", "gus", "hana"}),
]


def test_event_conditions_match_the_hand_worked_sets(store: str) -> None:
    # one database for all cases (a fresh PostgreSQL database per case would be slow)
    wrong = []
    with session_scope(store) as s:
        for condition, expected in EVENT_CASES:
            got = _names(s, {"all": [condition]})
            count = sg.count_contacts(s, "acme", {"all": [condition]}, now=NOW)
            if got != expected or count != len(expected):
                wrong.append(f"{condition}: got {sorted(got)} (count {count}), expected {sorted(expected)}")
    assert not wrong, "\n".join(wrong)


def test_event_conditions_by_email_campaign_and_nested(store: str) -> None:
    with session_scope(store) as s:
        ec1, ec2 = _campaign_id(s, "acme", "EC1"), _campaign_id(s, "acme", "EC2")
        assert _names(s, {"all": [{"event": "opened", "op": "ever", "email_campaign_id": ec1}]}) == {"ada"}
        assert _names(s, {"all": [{"event": "opened", "op": "within_days", "days": 2, "email_campaign_id": ec1}]}) == set()
        assert _names(s, {"all": [{"event": "opened", "op": "ever", "email_campaign_id": ec2}]}) == {"cleo"}
        # globex's campaign id never matches acme's events
        assert _names(s, {"all": [{"event": "opened", "op": "ever", "email_campaign_id": _campaign_id(s, "globex", "EC1")}]}) == set()
        # opened lately but did not buy in the last week, or signed up lately
        rules = {"any": [{"all": [{"event": "opened", "op": "within_days", "days": 30},
                                  {"event": "purchased", "op": "not_within_days", "days": 7}]},
                         {"event": "signed_up", "op": "within_days", "days": 30}]}
        assert _names(s, rules) == {"hana", "esme"}
        # with field conditions in the same group
        assert _names(s, {"all": [{"field": "first_name", "op": "starts_with", "value": "h"},
                                  {"event": "clicked", "op": "ever"}]}) == {"hana"}


def test_events_of_another_merchant_never_count(store: str) -> None:
    with session_scope(store) as s:
        assert _names(s, {"all": [{"event": "opened", "op": "within_days", "days": 7}]}, "globex") == {"dev"}
        assert _names(s, {"all": [{"event": "purchased", "op": "ever"}]}, "globex") == {"bo", "dev", "gus"}


def test_rfm_scores_in_sql_match_the_hand_computed_table(store: str) -> None:
    with session_scope(store) as s:
        ids = {c.first_name.lower(): c.id for c in s.scalars(select(Contact).where(Contact.merchant_id == "acme"))}
        got = sg.contact_rfm(s, "acme", list(ids.values()), now=NOW)
    assert {name: got[cid] for name, cid in ids.items() if cid in got} == RFM_EXPECTED


def test_rfm_reference_in_python_matches_the_same_table() -> None:
    purchases = [(name, NOW - timedelta(days=days), Decimal(value)) for name, kind, days, value, _ in EVENTS if kind == "purchased"]
    got = rfm.scores(rfm.summarise(purchases, NOW))
    assert {k: (v.recency, v.frequency, v.monetary, v.bucket) for k, v in got.items()} == RFM_EXPECTED


def test_rfm_bucket_conditions(store: str) -> None:
    with session_scope(store) as s:
        got = {bucket: _names(s, {"all": [{"rfm": bucket}]}) for bucket in rfm.BUCKET_NAMES}
    assert got == {bucket: {n for n, v in RFM_EXPECTED.items() if v[3] == bucket} for bucket in rfm.BUCKET_NAMES}


def test_rfm_lists_and_score_fields(store: str) -> None:
    with session_scope(store) as s:
        assert _names(s, {"all": [{"rfm": ["at_risk", "cant_lose"]}]}) == {"finn", "esme"}
        assert _names(s, {"all": [{"field": "rfm_recency", "op": "gte", "value": 4}]}) == {"ada", "ivo", "june"}
        assert _names(s, {"all": [{"field": "rfm_frequency", "op": "eq", "value": 1}]}) == {"bo", "dev", "gus", "june"}
        assert _names(s, {"all": [{"field": "rfm_monetary", "op": "lte", "value": 2}]}) == {"finn", "gus", "dev", "june"}
        # never-buyers have no scores: even "at most 5" leaves hana out
        assert "hana" not in _names(s, {"all": [{"field": "rfm_monetary", "op": "lte", "value": 5}]})
        # an RFM condition next to an event condition
        assert _names(s, {"all": [{"rfm": "champions"}, {"event": "opened", "op": "never"}]}) == {"ivo"}
        # compiled without a merchant (as validate_rules does), PARTITION BY keeps merchants apart
        clause = sg.compile_rules({"all": [{"rfm": "lost"}]}, NOW)
        rows = s.scalars(select(Contact.first_name).where(Contact.merchant_id == "acme", clause)).all()
    assert [r.lower() for r in rows] == ["bo"]


def test_injection_attempts_in_event_and_rfm_values_are_refused_or_literal(store: str) -> None:
    with session_scope(store) as s:
        for bad in ("opened' OR 1=1 --", "opened%", "open_d", "opened\\", "öpened"):
            with pytest.raises(sg.RuleError, match=r"^rules.all\[0\].event: unknown event"):
                sg.count_contacts(s, "acme", {"all": [{"event": bad, "op": "ever"}]}, now=NOW)
            with pytest.raises(sg.RuleError, match=r"^rules.all\[0\].rfm: unknown RFM bucket"):
                sg.count_contacts(s, "acme", {"all": [{"rfm": bad}]}, now=NOW)
        with pytest.raises(sg.RuleError, match=r"^rules.all\[0\].days: must be a whole number"):
            sg.count_contacts(s, "acme", {"all": [{"event": "opened", "op": "within_days", "days": "7 OR 1=1"}]}, now=NOW)
        compiled = sg.contacts_query("acme", {"all": [{"event": "opened", "op": "within_days", "days": 7}]}, NOW).compile(
            dialect=s.get_bind().dialect)
        assert "'opened'" not in str(compiled) and "opened" in compiled.params.values()
        assert sg.count_contacts(s, "acme", {}) == len(NAMES)


BAD_EVENT_RULES = [
    ({"all": [{"event": "opened"}]}, "rules.all[0].op", "is not an event condition"),
    ({"all": [{"event": "opened", "op": "within_days"}]}, "rules.all[0].days", "is missing"),
    ({"all": [{"event": "opened", "op": "within_days", "days": 0}]}, "rules.all[0].days", "from 1 to 3650"),
    ({"all": [{"event": "opened", "op": "within_days", "days": True}]}, "rules.all[0].days", "whole number"),
    ({"all": [{"event": "opened", "op": "ever", "days": 3}]}, "rules.all[0].days", "takes no days"),
    ({"all": [{"event": "opened", "op": "count_at_least"}]}, "rules.all[0].count", "is missing"),
    ({"all": [{"event": "opened", "op": "count_at_least", "count": 0}]}, "rules.all[0].count", "from 1"),
    ({"all": [{"event": "opened", "op": "within_days", "days": 3, "count": 2}]}, "rules.all[0].count", "takes no count"),
    ({"any": [{"event": "opened", "op": "ever", "email_campaign_id": "12"}]}, "rules.any[0].email_campaign_id", "email campaign id"),
    ({"any": [{"event": "opened", "op": "ever", "within": 3}]}, "rules.any[0]", "unknown keys within"),
    ({"all": [{"event": "opened", "within_days": 30}]}, "rules.all[0]", "unknown keys within_days"),
    ({"all": [{"event": "opened", "op": "ever", "field": "tags"}]}, "rules.all[0]", "one of field, event or rfm"),
    ({"all": [{"rfm": []}]}, "rules.all[0].rfm", "at least one bucket"),
    ({"all": [{"rfm": ["loyal", "vip"]}]}, "rules.all[0].rfm[1]", "unknown RFM bucket 'vip'"),
    ({"all": [{"rfm": "loyal", "op": "eq"}]}, "rules.all[0]", "unknown keys op"),
    ({"all": [{"field": "rfm_recency", "op": "gte", "value": 6}]}, "rules.all[0].value", "RFM score from 1 to 5"),
    ({"all": [{"field": "rfm_recency", "op": "contains", "value": 3}]}, "rules.all[0].op", "use one of eq, gte, lte"),
]


@pytest.mark.parametrize(("rules", "path", "words"), BAD_EVENT_RULES, ids=[f"bad{i}" for i in range(len(BAD_EVENT_RULES))])
def test_bad_event_and_rfm_rules_name_the_path(rules, path: str, words: str) -> None:
    with pytest.raises(sg.RuleError) as caught:
        sg.validate_rules(rules)
    assert str(caught.value).startswith(f"{path}: "), str(caught.value)
    assert words in str(caught.value)


def test_describe_event_and_rfm_conditions() -> None:
    rules = {"all": [{"event": "opened", "op": "within_days", "days": 30}, {"event": "purchased", "op": "never"},
                     {"event": "clicked", "op": "count_at_least", "count": 3, "days": 90, "email_campaign_id": 12},
                     {"rfm": ["at_risk", "cant_lose"]}, {"field": "rfm_recency", "op": "gte", "value": 4}]}
    assert sg.describe(rules) == (
        "(opened an email in the last 30 days and never purchased and clicked an email at least 3 times in the last 90 days "
        "(email campaign 12) and RFM bucket At risk or Can't lose them and RFM recency score is at least 4)")


def test_the_send_snapshot_uses_event_rules(store: str) -> None:
    """email_delivery snapshots recipients with contacts_query(merchant, rules, now); events at that moment decide."""
    rules = {"all": [{"event": "opened", "op": "within_days", "days": 7}]}
    with session_scope(store) as s:
        at_send = {c.first_name.lower() for c in s.scalars(sg.contacts_query("acme", rules, NOW))}
        week_later = {c.first_name.lower() for c in s.scalars(sg.contacts_query("acme", rules, NOW + timedelta(days=7)))}
    assert at_send == {"ada", "cleo", "hana"}
    assert week_later == {"dev"}  # a week on, the opens before NOW fall out and dev's open (NOW + 2 days) is in
