"""Budget planning without curves (split_by_return) and over curve specs (optimal_split), by hand-computed cases."""

import math
from decimal import Decimal

import pytest

from campaigns.budget.planning import optimal_split, split_by_return


def test_split_by_return_weights_planned_shares_by_relative_return_within_half_and_double() -> None:
    # returns: email 50/10 = 5, ads 20/100 = 0.2, mean 2.6 -> factors 1.923 and 0.0769 (floored at 0.5)
    # weights 0.5 * 1.923 = 0.9615 and 0.5 * 0.5 = 0.25 -> 1000 x 0.79365 = 793.65..., 206.34... -> 793.65 + 206.35 by remainders
    split = split_by_return(Decimal("1000.00"), {"email": 0.5, "ads": 0.5}, {"email": (10.0, 50.0), "ads": (100.0, 20.0)})
    email = 1000 * (0.5 * 5 / 2.6) / (0.5 * 5 / 2.6 + 0.25)
    assert split["email"] == Decimal(f"{math.floor(email * 100) / 100:.2f}") or split["email"] == Decimal(f"{math.ceil(email * 100) / 100:.2f}")
    assert sum(split.values()) == Decimal("1000.00")


def test_split_by_return_keeps_shares_without_spend_and_caps_at_double() -> None:
    # only one channel with spend: its return is the mean, factor 1; the other keeps its share
    assert split_by_return(Decimal("100"), {"a": 0.25, "b": 0.75}, {"a": (10.0, 30.0)}) == {"a": Decimal("25.00"), "b": Decimal("75.00")}
    # returns 9 and 1 (mean 5): factors 1.8 and 0.5 -> weights 0.9 and 0.25 -> 78.26..., 21.73...
    split = split_by_return(Decimal("100"), {"a": 0.5, "b": 0.5}, {"a": (1.0, 9.0), "b": (1.0, 1.0)})
    assert split == {"a": Decimal("78.26"), "b": Decimal("21.74")}


def test_optimal_split_equalises_marginal_returns() -> None:
    # a (1 - exp(-x / b)): marginals 1000/100 e^{-x/100} = 1000/400 e^{-(200 - x)/400} at x = (400 ln 4 + 200) / 5 = 150.9
    result = optimal_split(200.0, {"email": {"family": "exponential", "a": 1000.0, "b": 100.0},
                                   "search": {"family": "exponential", "a": 1000.0, "b": 400.0}})
    assert result.allocation["email"] == pytest.approx((400 * math.log(4) + 200) / 5, abs=1e-4)
    assert sum(result.allocation.values()) == pytest.approx(200.0)
