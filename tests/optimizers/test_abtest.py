"""A/B maths against hand-computed posteriors: exact fractions, symmetric cases, and a hand-worked mixture SPRT."""

from __future__ import annotations

import math
from fractions import Fraction
from math import comb, factorial

import pytest
from scipy import stats

from optimizers import abtest
from optimizers.abtest import CellData


def _beta_fn(p: int, q: int) -> Fraction:
    return Fraction(factorial(p - 1) * factorial(q - 1), factorial(p + q - 1))


def exact_p_b_beats_a(a: tuple[int, int], b: tuple[int, int]) -> Fraction:
    """Independent of the code's sum: P(B > A) = E_B[F_A(X)], with F_A(x) for integer parameters as a binomial tail:
    F_A(x) = sum_{j >= alpha_A} C(n, j) x^j (1-x)^(n-j), n = alpha_A + beta_A - 1, and each term integrates against f_B exactly."""
    (aa, ba), (ab, bb) = a, b
    n = aa + ba - 1
    return sum((comb(n, j) * _beta_fn(ab + j, bb + n - j) / _beta_fn(ab, bb) for j in range(aa, n + 1)), Fraction(0))


def test_one_open_against_none_is_five_sixths_by_hand() -> None:
    # A: 0 of 1 -> Beta(1, 2); B: 1 of 1 -> Beta(2, 1). P(B > A) = int_0^1 2x (1 - (1-x)^2) dx = 4/3 - 1/2 = 5/6
    assert abtest.beta_posterior(0, 1) == (1, 2) and abtest.beta_posterior(1, 1) == (2, 1)
    assert exact_p_b_beats_a((1, 2), (2, 1)) == Fraction(5, 6)
    assert abtest.prob_b_beats_a((1, 2), (2, 1)) == pytest.approx(5 / 6, abs=1e-12)
    assert abtest.prob_b_beats_a((2, 1), (1, 2)) == pytest.approx(1 / 6, abs=1e-12)


@pytest.mark.parametrize(("a", "b"), [((2, 10), (4, 8)), ((11, 91), (21, 81)), ((5, 3), (3, 5)), ((30, 271), (42, 259)), ((1, 1), (7, 2))])
def test_closed_form_equals_exact_fractions_and_quadrature(a, b) -> None:
    exact = float(exact_p_b_beats_a(a, b))
    assert abtest.prob_b_beats_a(a, b) == pytest.approx(exact, abs=1e-12)
    assert abtest._quad_b_beats_a(a, b) == pytest.approx(exact, abs=1e-8)


@pytest.mark.parametrize("params", [(1, 1), (3, 7), (101, 901), (5001, 45001)])
def test_identical_posteriors_are_a_coin_flip(params) -> None:
    assert abtest.prob_b_beats_a(params, params) == pytest.approx(0.5, abs=1e-9)  # 5,000 log-space terms: ~1e-10 rounding
    best = abtest.prob_best([stats.beta(*params)] * 3)
    assert best == pytest.approx([1 / 3] * 3, abs=1e-8)


def test_two_variant_p_best_equals_p_beat_control_and_intervals_are_beta_quantiles() -> None:
    cells = [CellData(0, "A", 100, 10), CellData(1, "B", 100, 20)]
    a, b = abtest.analyse(cells, "click")
    exact = float(exact_p_b_beats_a((11, 91), (21, 81)))
    assert b.p_beat_control == pytest.approx(exact, abs=1e-12) and b.p_best == pytest.approx(exact, abs=1e-8)
    assert a.p_best == pytest.approx(1 - exact, abs=1e-8)
    assert (b.low, b.high) == pytest.approx((stats.beta.ppf(0.025, 21, 81), stats.beta.ppf(0.975, 21, 81)))
    assert b.posterior_mean == pytest.approx(21 / 102) and b.estimate == pytest.approx(0.2)
    # expected loss of choosing A is E[max] - E[A]; E[max] - E[B] + E[B] - E[A] is the same quantity
    assert a.expected_loss - b.expected_loss == pytest.approx(21 / 102 - 11 / 102, abs=1e-9)


def test_p_best_of_three_sums_to_one_and_matches_a_simulation() -> None:
    cells = [CellData(0, "A", 200, 20), CellData(1, "B", 200, 28), CellData(2, "C", 200, 24)]
    variants = abtest.analyse(cells, "open")
    assert sum(v.p_best for v in variants) == pytest.approx(1.0, abs=1e-9)
    draws = stats.beta.rvs([[21], [29], [25]], [[181], [173], [177]], size=(3, 400_000), random_state=1)
    simulated = [(draws.argmax(axis=0) == k).mean() for k in range(3)]
    assert [v.p_best for v in variants] == pytest.approx(simulated, abs=0.004)  # Monte Carlo only as a cross-check


def test_bayesian_rule_winner_control_wait_and_fallbacks() -> None:
    win = abtest.decide([CellData(0, "A", 10, 1), CellData(1, "B", 10, 9)], "open")
    p = float(exact_p_b_beats_a((2, 10), (10, 2)))
    assert win.outcome == "winner" and win.winner_position == 1 and p > 0.95
    assert win.variants[1].p_beat_control == pytest.approx(p, abs=1e-12) and "0.95" in win.reason

    control = abtest.decide([CellData(0, "A", 10, 9), CellData(1, "B", 10, 1), CellData(2, "C", 10, 2)], "open")
    assert control.outcome == "control" and control.winner_position == 0

    close = [CellData(0, "A", 10, 3), CellData(1, "B", 10, 4)]  # P(B > A) is about 0.67: no decision
    assert 0.05 < float(exact_p_b_beats_a((4, 8), (5, 7))) < 0.95
    assert abtest.decide(close, "open").outcome == "wait"
    late = abtest.decide(close, "open", max_wait_reached=True)
    assert late.outcome == "fallback" and late.winner_position == 1  # highest posterior mean
    assert abtest.decide(close, "open", max_wait_reached=True, fallback="control").winner_position == 0
    # a stricter threshold keeps waiting where 0.95 decides
    assert abtest.decide([CellData(0, "A", 10, 1), CellData(1, "B", 10, 9)], "open", threshold=0.9999).outcome == "wait"


def test_mixture_sprt_by_hand() -> None:
    # A: 100 of 1000, B: 150 of 1000. diff = 0.05; V = 0.1*0.9/1000 + 0.15*0.85/1000 = 0.0002175; tau = 0.05 (open)
    v, t2, d = 0.0002175, 0.0025, 0.05
    by_hand = math.sqrt(v / (v + t2)) * math.exp(t2 * d * d / (2 * v * (v + t2)))
    assert by_hand == pytest.approx(math.sqrt(0.0002175 / 0.0027175) * math.exp(0.00000625 / (2 * 0.0002175 * 0.0027175)))
    diff, var = abtest.difference_variance("open", CellData(0, "A", 1000, 100), CellData(1, "B", 1000, 150))
    assert (diff, var) == pytest.approx((0.05, 0.0002175))
    assert abtest.msprt_lambda(diff, var, 0.05) == pytest.approx(by_hand, rel=1e-12)
    decision = abtest.decide([CellData(0, "A", 1000, 100), CellData(1, "B", 1000, 150)], "open", rule="sequential", alpha=0.05)
    assert by_hand > 20 and decision.outcome == "winner" and decision.winner_position == 1
    # two variants: each needs Lambda >= 2 / alpha = 40 (Bonferroni); equal cells never conclude
    tied = abtest.decide([CellData(0, "A", 1000, 100), CellData(1, "B", 1000, 100), CellData(2, "C", 1000, 100)], "open", rule="sequential")
    assert tied.outcome == "wait" and tied.variants[1].sequential_lambda < 1


def test_revenue_uses_a_normal_approximation_of_mean_revenue_per_recipient() -> None:
    # A: 100 recipients, 10 bought 20 each -> mean 2, sd^2 = (10*400/100 - 4) * 100/99; B: 100, 10 bought 40 -> mean 4
    a = CellData(0, "A", 100, 10, 200.0, 4000.0)
    b = CellData(1, "B", 100, 10, 400.0, 16000.0)
    var_a, var_b = (40 - 4) * 100 / 99, (160 - 16) * 100 / 99
    se_a, se_b = math.sqrt(var_a / 100), math.sqrt(var_b / 100)
    ma, mb = abtest.analyse([a, b], "revenue")
    assert (ma.estimate, mb.estimate) == (2.0, 4.0)
    assert (mb.low, mb.high) == pytest.approx((4 - 1.959964 * se_b, 4 + 1.959964 * se_b), abs=1e-6)
    assert mb.p_beat_control == pytest.approx(stats.norm.cdf(2 / math.hypot(se_a, se_b)), abs=1e-12)


def test_bad_inputs_name_the_fix() -> None:
    with pytest.raises(ValueError, match="2 to 8"):
        abtest.analyse([CellData(0, "A", 1, 0)], "open")
    with pytest.raises(ValueError, match="metric must be one of"):
        abtest.analyse([CellData(0, "A", 1, 0), CellData(1, "B", 1, 0)], "likes")
    with pytest.raises(ValueError, match="successes"):
        CellData(0, "A", 3, 4)
    with pytest.raises(ValueError, match="threshold"):
        abtest.decide([CellData(0, "A", 1, 0), CellData(1, "B", 1, 0)], "open", threshold=1.5)
