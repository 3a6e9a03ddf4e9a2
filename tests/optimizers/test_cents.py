"""split_cents: hand-computed largest-remainder cases; the parts always add up to the amount."""

from decimal import Decimal

import pytest

from optimizers.cents import split_cents


def test_leftover_cents_go_to_the_largest_remainders_ties_to_the_first() -> None:
    # 10 cents / 3 = 3.33 each: one leftover cent, tie broken by order
    assert split_cents(Decimal("0.10"), {"a": 1, "b": 1, "c": 1}) == {"a": Decimal("0.04"), "b": Decimal("0.03"), "c": Decimal("0.03")}
    # 100.00 / 6 = 16.666...: 1666 cents each, 4 left over for the first four
    assert list(split_cents(Decimal("100"), dict.fromkeys("abcdef", 1)).values()) == [Decimal("16.67")] * 4 + [Decimal("16.66")] * 2


def test_proportional_with_the_largest_remainder_first() -> None:
    # 1000 cents over 1:2:4 = 142.857, 285.714, 571.428 -> floors 142, 285, 571 (998), remainders .857 > .714 > .428
    assert split_cents(Decimal("10.00"), {"a": 1, "b": 2, "c": 4}) == {"a": Decimal("1.43"), "b": Decimal("2.86"), "c": Decimal("5.71")}
    # 3/7 of 5.00 = 214.28 cents, 4/7 = 285.71: remainders .28 < .71
    assert split_cents(Decimal("5.00"), {"x": 3, "y": 4}) == {"x": Decimal("2.14"), "y": Decimal("2.86")}


def test_negative_weights_count_as_zero_and_all_zero_splits_evenly() -> None:
    assert split_cents(Decimal("1.00"), {"a": -2, "b": 1}) == {"a": Decimal("0.00"), "b": Decimal("1.00")}
    assert split_cents(Decimal("1.00"), {"a": 0, "b": 0, "c": 0}) == {"a": Decimal("0.34"), "b": Decimal("0.33"), "c": Decimal("0.33")}


@pytest.mark.parametrize("total", ["0", "0.01", "99.99", "1234567.89"])
def test_the_parts_add_up_exactly(total: str) -> None:
    parts = split_cents(Decimal(total), {"a": 0.1, "b": 0.7, "c": 0.2, "d": 1e-9})
    assert sum(parts.values()) == Decimal(total)
    assert all(p == p.quantize(Decimal("0.01")) and p >= 0 for p in parts.values())


def test_refuses_fractions_of_a_cent_and_nothing_to_split_across() -> None:
    with pytest.raises(ValueError, match="more than two decimals"):
        split_cents(Decimal("1.005"), {"a": 1})
    with pytest.raises(ValueError, match="no part"):
        split_cents(Decimal("1"), {})
