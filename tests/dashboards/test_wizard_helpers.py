"""The campaign builder's state apart from its widgets: validation, step errors, and the round trip to the store's terms."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from campaigns.core.enums import CampaignType
from campaigns.lifecycle.drafts import SavedDraft
from dashboards import wizard

TODAY = date(2026, 11, 24)  # injected: the builder's dates never depend on the real clock here


def _draft(**overrides) -> dict:
    draft = wizard.blank("UTC", TODAY)
    draft.update(name="Winter boots", channels=["email", "x"], budget=100.0, split={"email": 60.0, "x": 40.0})
    draft.update(overrides)
    return draft


def test_blank_starts_tomorrow_at_nine_for_thirty_days_in_the_merchants_zone() -> None:
    draft = wizard.blank("Europe/Paris", TODAY)
    assert (draft["start_day"], draft["start_time"]) == (date(2026, 11, 25), time(9, 0))
    assert draft["end_day"] == date(2026, 12, 25)
    assert draft["timezone"] == "Europe/Paris"
    assert draft["rules"] == wizard.EVERYONE and draft["rules"] is not wizard.EVERYONE  # a copy the editor may change


def test_from_template_prefills_channels_split_and_flight_length() -> None:
    template = wizard.campaign_templates.TEMPLATES[0]
    values = template.prefill()
    draft = wizard.from_template(template.id, "UTC", TODAY)
    assert draft["template_id"] == template.id
    assert draft["channels"] == list(values["channels"])
    assert sum(draft["split"].values()) == pytest.approx(float(values["budget"]))
    assert (draft["end_day"] - draft["start_day"]).days == values["duration_days"]
    assert draft["name"] == ""  # the person names the campaign


def test_to_utc_and_money() -> None:
    assert wizard.to_utc(None, time(9, 0), "UTC") is None
    assert wizard.to_utc(date(2026, 7, 1), time(9, 0), "Europe/Paris") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert wizard.to_utc(date(2026, 1, 1), None, "UTC") == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # no time: midnight
    assert wizard.money(None) is None
    assert wizard.money(0.125) == Decimal("0.13")  # half up, not banker's rounding
    assert wizard.money(10) == Decimal("10.00")


def test_a_complete_draft_has_no_errors() -> None:
    assert wizard.validate(_draft()) == {}


def test_validate_names_each_problem_by_field_in_actionable_words() -> None:
    errors = wizard.validate(_draft(name="  ", channels=[], budget=0.0, start_day=None, end_day=None))
    assert errors["name"] == ["give the campaign a name"]
    assert errors["channels"] == ["choose at least one channel"]
    assert errors["budget"] == ["set a total budget above zero"]
    assert errors["start_date"] == ["pick a start date"]
    assert errors["end_date"] == ["pick an end date"]


def test_a_split_that_misses_the_budget_says_how_much_to_add_or_remove() -> None:
    short = wizard.validate(_draft(split={"email": 50.0, "x": 40.0}))
    assert short["split"] == ["the channel amounts add up to 90.00, not the total 100.00: add 10.00"]
    over = wizard.validate(_draft(split={"email": 60.0, "x": 40.5}))
    assert over["split"] == ["the channel amounts add up to 100.50, not the total 100.00: remove 0.50"]
    # a channel not chosen does not count towards the split
    assert "split" not in wizard.validate(_draft(split={"email": 60.0, "x": 40.0, "linkedin": 999.0}))


def test_end_before_start_negative_cadence_and_target_and_a_bad_rule_are_reported() -> None:
    errors = wizard.validate(_draft(end_day=TODAY, start_day=date(2026, 12, 1), cadence={"x": -1.0, "linkedin": -5.0},
                                    target=-3.0, rules={"all": [{"field": "nope", "op": "eq", "value": 1}]}))
    assert any("end_date must be after start_date" in m for m in errors["end_date"])
    assert errors["cadence"] == ["x: posts per week cannot be negative"]  # linkedin is not a chosen channel
    assert errors["target"] == ["the target cannot be negative"]
    assert errors["rules"] and "nope" in errors["rules"][0]


def test_content_over_the_platform_limit_blocks_but_empty_or_unlimited_channels_do_not() -> None:
    long_post = "a" * 300
    errors = wizard.validate(_draft(drafts={"x": long_post, "email": "b" * 10_000}))
    assert list(errors) == ["drafts.x"]
    assert "over x's 280; shorten it by 20" in errors["drafts.x"][0]
    assert wizard.content_problems("x", "   ") == []  # may be written later
    assert wizard.content_problems("email", long_post) == []  # no platform limit
    # media is attached when scheduling, so instagram's "needs an image" is not a draft problem
    assert wizard.content_problems("instagram", "a caption") == []


def test_step_errors_keep_the_steps_own_fields_and_review_shows_them_all() -> None:
    draft = _draft(name="", budget=0.0, drafts={"x": "a" * 300})
    errors = wizard.validate(draft)
    assert set(wizard.step_errors(draft, "Basics", errors)) == {"name"}
    assert set(wizard.step_errors(draft, "Channels and budget", errors)) == {"budget"}
    assert set(wizard.step_errors(draft, "Content", errors)) == {"drafts.x"}
    assert wizard.step_errors(draft, "Schedule", errors) == {}
    assert wizard.step_errors(draft, "Review", errors) == errors
    assert wizard.step_errors(draft, "Basics") == {"name": ["give the campaign a name"]}  # validates when not given errors


def test_a_further_draft_over_the_limit_is_flagged_with_its_number() -> None:
    errors = wizard.validate(_draft(more_drafts={"x": ["fine", "x" * 300], "linkedin": ["x" * 300]}))  # LinkedIn is not chosen
    assert list(wizard.step_errors(_draft(), "Content", errors)) == ["drafts.x.3"]
    assert errors["drafts.x.3"][0].startswith("draft 3: ")


def test_rules_json_is_canonical() -> None:
    assert wizard.rules_json({"b": 1, "a": [2]}) == wizard.rules_json({"a": [2], "b": 1}) == '{"a":[2],"b":1}'


def test_to_draft_carries_the_fields_contents_allocations_and_step() -> None:
    draft = _draft(campaign_id="cmp_1", step=3, drafts={"email": "Subject: hi", "linkedin": "dropped channel"}, split={"email": 60.004, "x": None})
    stored = wizard.to_draft(draft)
    assert stored.campaign_id == "cmp_1"
    assert stored.step == "Channels and budget"
    assert stored.contents == {"email": "Subject: hi", "x": ""}  # only the chosen channels
    assert stored.allocations == {"email": Decimal("60.00"), "x": Decimal("0")}
    assert stored.fields["budget"] == Decimal("100.00")
    assert stored.fields["start_date"] == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert wizard.to_draft(_draft(budget=0.0)).fields["budget"] is None  # no budget yet, not a zero budget


def test_from_saved_round_trips_the_draft_in_the_merchants_zone() -> None:
    original = _draft(timezone="America/New_York", campaign_id="cmp_9", goal="product_launch", kpi="conversions", target=250.0,
                      cadence={"x": 3.0}, audience_mode="rules", rules={"all": [{"field": "tags", "op": "contains", "value": "vip"}]},
                      social_account_ids=["acc_1"], ads_note="lookalikes", drafts={"email": "Subject: hello", "x": "post"},
                      more_drafts={"x": ["second post", "third post"]}, start_time=time(8, 30))
    stored = wizard.to_draft(original)
    assert stored.more == {"x": ["second post", "third post"]}
    fields = {**stored.fields, "type": CampaignType(stored.fields["type"])}  # the store gives the enum back
    saved_at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    saved = SavedDraft(campaign_id="cmp_9", fields=fields, contents=stored.contents, allocations=stored.allocations, saved_at=saved_at,
                       more=stored.more)
    back = wizard.from_saved(saved, "America/New_York")
    for key in ("campaign_id", "name", "type", "goal", "kpi", "target", "cadence", "audience_mode", "rules", "social_account_ids",
                "ads_note", "channels", "budget", "split", "drafts", "more_drafts", "start_day", "start_time", "end_day", "end_time", "timezone"):
        assert back[key] == original[key], key
    assert back["saved_at"] == saved_at
    assert back["step"] == 0  # the builder reopens at the first step


def test_from_saved_fills_defaults_for_a_draft_saved_with_only_a_name() -> None:
    fields = {"name": "Bare", "type": CampaignType.AWARENESS, "description": "", "channels": [], "budget": None,
              "start_date": None, "end_date": None, "target_audience": {}, "goals": {}}
    back = wizard.from_saved(SavedDraft("cmp_2", fields, {}, {}, None), "UTC")
    assert (back["name"], back["type"], back["budget"]) == ("Bare", "AWARENESS", 0.0)
    assert (back["goal"], back["kpi"], back["audience_mode"]) == (wizard.OTHER_GOAL, "revenue", "everyone")
    assert back["rules"] == wizard.EVERYONE
    # no dates saved: the builder proposes a flight again instead of leaving the pickers empty
    assert back["start_day"] is not None and back["end_day"] > back["start_day"]
    assert wizard.validate({**back, "channels": ["email"], "budget": 10.0, "split": {"email": 10.0}}) == {}


def test_template_split_without_any_of_the_templates_channels_splits_evenly() -> None:
    template = wizard.campaign_templates.TEMPLATES[0]
    others = [c for c in wizard.CHANNELS if c not in template.budget_split][:2]
    assert len(others) == 2
    assert wizard.template_split(template.id, 100, others) == wizard.even_split(100, others) == dict(zip(others, [50.0, 50.0]))
