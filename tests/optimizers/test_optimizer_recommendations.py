"""Plain-language moves: greedy pairing, effects from the curves, sensible rounding."""

import pytest

from optimizers.allocation import optimize
from optimizers.curves import Exponential, Log
from optimizers.recommendations import format_amount, moves_for_result, recommend_moves, round_sensibly


CURVES = {"meta_ads": Log(800.0, 500.0), "email": Exponential(5000.0, 1200.0), "search": Exponential(3000.0, 2000.0)}


def test_greedy_pairs_largest_cut_with_largest_increase():
    current = {"meta_ads": 3000.0, "email": 500.0, "search": 1000.0}
    recommended = {"meta_ads": 1000.0, "email": 1700.0, "search": 1800.0}
    moves = recommend_moves(current, recommended, CURVES)
    assert [(m.source, m.target) for m in moves] == [("meta_ads", "email"), ("meta_ads", "search")]
    assert [m.amount for m in moves] == pytest.approx([1200.0, 800.0])
    first = moves[0]
    expected = (CURVES["email"].value(1700.0) - CURVES["email"].value(500.0)) + (CURVES["meta_ads"].value(1800.0) - CURVES["meta_ads"].value(3000.0))
    assert first.effect == pytest.approx(float(expected))
    assert first.text == f"move 1,200 from meta_ads to email: {format_amount(first.effect, signed=True)} expected revenue"
    total = sum(float(CURVES[n].value(recommended[n]) - CURVES[n].value(current[n])) for n in CURVES)
    assert sum(m.effect for m in moves) == pytest.approx(total)


def test_budget_change_becomes_add_or_cut():
    moves = recommend_moves({"email": 1000.0, "search": 1000.0}, {"email": 1500.0, "search": 1000.0}, CURVES)
    assert len(moves) == 1 and moves[0].source is None and moves[0].text.startswith("add 500 to email")
    moves = recommend_moves({"email": 1000.0}, {"email": 400.0}, CURVES)
    assert moves[0].target is None and moves[0].text.startswith("cut 600 from email") and moves[0].effect < 0


def test_tiny_changes_are_noise():
    assert recommend_moves({"email": 1000.0, "search": 1000.0}, {"email": 1000.4, "search": 999.6}, CURVES) == []


@pytest.mark.parametrize("value, text", [(1234.5, "1,200"), (56.7, "57"), (3.44, "3.4"), (12345.0, "12,000"), (999.6, "1,000"), (0.0, "0")])
def test_rounding(value, text):
    assert format_amount(value) == text
    assert format_amount(-3400.2, signed=True) == "-3,400" and format_amount(3400.2, signed=True) == "+3,400"
    assert round_sensibly(1234.5) == 1200.0


def test_moves_for_a_result_add_up_to_its_gain():
    problem = {"budget": 5500.0, "channels": [
        {"name": "meta_ads", "curve": {"family": "log", "a": 800, "b": 500}, "current_spend": 3000},
        {"name": "email", "curve": {"family": "exponential", "a": 5000, "b": 1200}, "current_spend": 500},
        {"name": "search", "curve": {"family": "hill", "a": 9000, "k": 3000, "s": 2.2}, "current_spend": 2000}]}
    res = optimize(problem)
    moves = moves_for_result(problem, res)
    assert moves and all(m.text.startswith("move ") for m in moves)
    assert sum(m.effect for m in moves) == pytest.approx(res.gain, rel=1e-6)
