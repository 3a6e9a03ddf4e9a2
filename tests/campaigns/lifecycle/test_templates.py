"""Campaign templates: one per goal, splits summing to 1, prefills the campaign input accepts."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.core.enums import MARKETING_CHANNELS, Channel
from campaigns.lifecycle import templates as ct
from campaigns.lifecycle.service import CampaignInput


def test_every_goal_has_a_template() -> None:
    assert {t.goal for t in ct.TEMPLATES} == set(ct.GOALS)
    assert [t.id for t in ct.templates("webinar")] == ["webinar"]
    with pytest.raises(ValueError, match="unknown goal"):
        ct.templates("world_domination")
    with pytest.raises(LookupError, match="use one of"):
        ct.get_template("nope")


@pytest.mark.parametrize("template", ct.TEMPLATES, ids=lambda t: t.id)
def test_splits_sum_to_one_and_cadence_is_organic(template: ct.CampaignTemplate) -> None:
    assert sum(template.budget_split.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0 < f <= 1 for f in template.budget_split.values())
    for channel, per_week in template.cadence.items():
        assert MARKETING_CHANNELS[channel] is not Channel.ADS and per_week >= 1
    assert set(template.drafts) <= set(template.channels)


@pytest.mark.parametrize("template", ct.TEMPLATES, ids=lambda t: t.id)
@pytest.mark.parametrize("total", [Decimal("1000"), Decimal("999.99"), Decimal("0.05"), 7])
def test_split_amounts_add_up_to_the_total_in_cents(template: ct.CampaignTemplate, total) -> None:
    amounts = template.split_amounts(total)
    assert list(amounts) == template.channels
    assert sum(amounts.values()) == Decimal(str(total)).quantize(Decimal("0.01"))
    assert all(a == a.quantize(Decimal("0.01")) for a in amounts.values())


@pytest.mark.parametrize("template", ct.TEMPLATES, ids=lambda t: t.id)
def test_prefill_is_a_valid_campaign(template: ct.CampaignTemplate) -> None:
    values = template.prefill()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    campaign = CampaignInput(
        name=f"From {template.name}", type=values["type"], description=values["description"], channels=values["channels"],
        budget=values["budget"], start_date=start, end_date=start + timedelta(days=values["duration_days"]),
        goals={"goal": values["goal"], "kpi": values["kpi"]},
    )
    assert campaign.channels == template.channels
    assert sum(values["split"].values()) == values["budget"]


def test_a_bad_template_fails_when_defined() -> None:
    good = ct.get_template("webinar")
    with pytest.raises(ValueError, match="sum to"):
        replace(good, budget_split={"email": 0.5, "linkedin": 0.4})
    with pytest.raises(ValueError, match="unknown channels"):
        replace(good, budget_split={"fax": 1.0}, cadence={}, drafts={})
    with pytest.raises(ValueError, match="organic"):
        replace(good, budget_split={"google_ads": 1.0}, cadence={"google_ads": 3}, drafts={})
