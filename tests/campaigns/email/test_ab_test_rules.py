"""A/B test input rules and the state checks of start, decide and the winner, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from campaigns.audiences.segments import save_segment
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AbTest, Contact
from campaigns.email import ab_tests
from campaigns.lifecycle import service as campaign_service

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _spec(**overrides) -> dict:
    spec = {"name": "Subject test", "campaign_id": "cmp", "segment_id": 1, "variable": "subject",
            "variants": [{"subject": "Winter is here"}, {"subject": "Save 20%"}], "cell_size": 2}
    return spec | overrides


@pytest.mark.parametrize(("overrides", "message"), [
    ({"min_hours": 48, "max_hours": 24}, "max_hours (24) must be more than min_hours (48)"),
    ({"variants": [{"subject": "One"}, {"subject": ""}]}, "a subject test needs a subject on every variant"),
    ({"variable": "content", "variants": [{"template": "a"}, {"template": "b"}]}, "subject: give the subject line the variants share"),
    ({"variable": "send_time", "subject": "Hi", "variants": [{"send_hour": 9}, {"send_hour": 18}]}, "needs min_hours >= 24"),
    ({"variants": [{"subject": "Same"}, {"subject": "Same"}]}, "the variants' subjects must all differ"),
])
def test_inputs_that_are_refused(overrides, message) -> None:
    with pytest.raises(ab_tests.AbTestError, match=re.escape(message)):
        ab_tests.parse_input(_spec(**overrides))


def test_a_sequential_rule_in_words() -> None:
    test = AbTest(metric="click", decision_rule="sequential", threshold=0.95, min_hours=6,
                  decision={"config": {"alpha": 0.01, "max_hours": 48, "fallback": "control"}})
    assert ab_tests.rule_in_words(test) == (
        "sequential mixture SPRT on click rate at alpha 0.01 (Bonferroni over the variants): a variant wins when it is ahead and its "
        "likelihood ratio reaches (variants / alpha). Decided no earlier than 6 h after the cells were due; after 48 h without a "
        "conclusive result, the control is sent to the rest.")


def _draft(url: str) -> int:
    with session_scope(url) as s:
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com") for i in range(6)])
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        with pytest.raises(ab_tests.AbTestError, match=f"segment: no segment {segment.id + 99} for merchant 'acme'"):
            ab_tests.create_ab_test(s, "acme", _spec(campaign_id=campaign.id, segment_id=segment.id + 99), actor="ana", now=T0)
        return ab_tests.create_ab_test(s, "acme", _spec(campaign_id=campaign.id, segment_id=segment.id), actor="ana", now=T0).id


def test_a_draft_cannot_be_decided_or_send_a_winner(store_url: str) -> None:
    test_id = _draft(store_url)
    with session_scope(store_url) as s:
        test = ab_tests.get_test(s, "acme", test_id)
        waiting = ab_tests.evaluate(s, test, T0 + timedelta(days=10))
        assert waiting.outcome == "wait" and waiting.winner_position is None and waiting.reason.startswith("the test has not started")
        with pytest.raises(ab_tests.AbTestError, match=f"A/B test {test_id} is DRAFT; start it first"):
            ab_tests.decide(s, "acme", test_id, "ana", now=T0)
        with pytest.raises(ab_tests.AbTestError, match=f"A/B test {test_id} is DRAFT: no winner yet"):
            ab_tests.prepare_winner(s, "acme", test_id, "ana", now=T0)
        assert ab_tests.get_test(s, "acme", test_id).status == ab_tests.DRAFT


def test_a_cancelled_test_cannot_start(store_url: str) -> None:
    test_id = _draft(store_url)
    with session_scope(store_url) as s:
        s.execute(update(AbTest).where(AbTest.id == test_id).values(status=ab_tests.CANCELLED))
    with session_scope(store_url) as s:
        with pytest.raises(ab_tests.AbTestError, match=f"A/B test {test_id} was cancelled; create a new one"):
            ab_tests.start_ab_test(s, "acme", test_id, "ana", now=T0)
        assert ab_tests.get_test(s, "acme", test_id).status == ab_tests.CANCELLED
