"""The wizard's budget splits: whole cents adding up to the budget (optimizers.cents.split_cents)."""

from dashboards import wizard


def test_even_split_hands_leftover_cents_to_the_first_channels() -> None:
    assert wizard.even_split(100, ["a", "b", "c"]) == {"a": 33.34, "b": 33.33, "c": 33.33}
    assert wizard.even_split(100, list("abcdef")) == {"a": 16.67, "b": 16.67, "c": 16.67, "d": 16.67, "e": 16.66, "f": 16.66}
    assert wizard.even_split(100, []) == {}


def test_template_split_renormalises_the_template_shares_over_the_chosen_channels() -> None:
    template = wizard.campaign_templates.TEMPLATES[0]
    first, second = list(template.budget_split)[:2]
    share = template.budget_split[first] / (template.budget_split[first] + template.budget_split[second])
    split = wizard.template_split(template.id, 1000, [first, second, "not_in_template"])
    assert round(sum(split.values()), 2) == 1000.0
    assert split["not_in_template"] == 0.0
    assert abs(split[first] - 1000 * share) <= 0.01
