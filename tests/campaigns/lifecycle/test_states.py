from datetime import UTC, datetime
from decimal import Decimal

import pytest

from campaigns.core.enums import CampaignStatus as S
from campaigns.lifecycle.states import ACTIONS, CampaignFacts, TransitionError, allowed_actions, check_transition, explain_refusal

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 31, tzinfo=UTC)


def facts(status: S, start=START, end=END, budget=Decimal("1000"), channels=True) -> CampaignFacts:
    return CampaignFacts(status=status, start_date=start, end_date=end, budget=budget, has_channels=channels)


# Every legal move, written out by hand from the seed's lifecycle.
LEGAL = {
    (S.DRAFT, "schedule"): S.SCHEDULED,
    (S.DRAFT, "launch"): S.ACTIVE,
    (S.SCHEDULED, "launch"): S.ACTIVE,
    (S.SCHEDULED, "unschedule"): S.DRAFT,
    (S.ACTIVE, "pause"): S.PAUSED,
    (S.ACTIVE, "complete"): S.COMPLETED,
    (S.PAUSED, "resume"): S.ACTIVE,
    (S.PAUSED, "complete"): S.COMPLETED,
    (S.SCHEDULED, "cancel"): S.CANCELLED,
    (S.ACTIVE, "cancel"): S.CANCELLED,
    (S.PAUSED, "cancel"): S.CANCELLED,
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_transition_table_matches_the_lifecycle(status: S, action: str) -> None:
    expected = LEGAL.get((status, action))
    if expected is None:
        with pytest.raises(TransitionError, match=f"cannot {action}"):
            check_transition(action, facts(status))
    else:
        assert check_transition(action, facts(status)) is expected


def test_launching_a_completed_campaign_says_completed_is_final() -> None:
    with pytest.raises(TransitionError, match="COMPLETED campaign: completed campaigns are final"):
        check_transition("launch", facts(S.COMPLETED))
    with pytest.raises(TransitionError, match="CANCELLED campaign: cancelled campaigns are final; duplicate it"):
        check_transition("resume", facts(S.CANCELLED))


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"start": None}, "set a start date and an end date"),
        ({"end": None}, "set a start date and an end date"),
        ({"budget": None}, "set a budget above zero"),
        ({"budget": Decimal("0")}, "set a budget above zero"),
        ({"end": START}, "must be after the start date"),
        ({"end": datetime(2026, 11, 1, tzinfo=UTC)}, "must be after the start date"),
        ({"channels": False}, "choose at least one channel"),
    ],
)
@pytest.mark.parametrize("action", ["schedule", "launch"])
def test_scheduling_or_launching_needs_dates_budget_and_channels(kwargs: dict, reason: str, action: str) -> None:
    with pytest.raises(TransitionError, match=reason):
        check_transition(action, facts(S.DRAFT, **kwargs))


def test_allowed_actions_and_unknown_action() -> None:
    assert allowed_actions(facts(S.ACTIVE)) == ["pause", "complete", "cancel"]
    assert allowed_actions(facts(S.CANCELLED)) == []
    assert allowed_actions(facts(S.COMPLETED)) == []
    assert "unknown action 'archive'" in explain_refusal("archive", facts(S.DRAFT))
