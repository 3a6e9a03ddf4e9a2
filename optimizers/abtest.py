"""A/B test statistics for email: posteriors, P(beat control), P(best), intervals, a sequential test, the decision.

Pure functions: counts in, dataclasses out.

Rates (open, click, conversion): each variant's rate has a Beta posterior from a uniform Beta(1, 1)
prior, Beta(1 + successes, 1 + failures). P(variant beats control) is exact: for integer
parameters P(p_B > p_A) is a finite sum of Beta-function ratios (Evan Miller's closed form),
summed over the smaller of the two success parameters and in log space. P(best) and the
expected loss integrate the posteriors numerically (adaptive quadrature, tolerance 1e-10).

Revenue (per recipient, zeros included): a normal approximation of each cell's mean revenue per
recipient, N(mean, sd^2 / n) (the central limit theorem; fair for cells of a few hundred, revenue
being heavy-tailed). Intervals are mean +- 1.96 standard errors.

Sequential rule: the mixture sequential probability ratio test of Johari, Pekelis and Walsh
("Always valid inference", 2017) on the difference of each variant and the control, with a normal
mixing distribution N(0, tau^2) on the difference. Lambda >= 1 / alpha rejects "no difference";
its type I error is at most alpha however often it is looked at. With k variants each comparison
uses alpha / k (Bonferroni), so the family-wise error stays at most alpha.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
from scipy import integrate, special, stats

Metric = Literal["open", "click", "conversion", "revenue"]
Rule = Literal["bayesian", "sequential"]
Fallback = Literal["best_mean", "control"]
METRICS: tuple[str, ...] = ("open", "click", "conversion", "revenue")
RULES: tuple[str, ...] = ("bayesian", "sequential")
FALLBACKS: tuple[str, ...] = ("best_mean", "control")
PRIOR_ALPHA = 1.0  # uniform Beta(1, 1) prior on every rate
PRIOR_BETA = 1.0
Z95 = 1.959963984540054
LAMBDA_CAP = 1e300  # finite, so a decision stays valid JSON (PostgreSQL's json refuses Infinity)
DEFAULT_TAU = {"open": 0.05, "click": 0.02, "conversion": 0.01}  # mixing sd: the size of difference worth detecting


@dataclass(frozen=True)
class CellData:
    """What one cell did: `n` recipients delivered; `successes` of them did the metric (rates), or their revenue sums (revenue)."""

    position: int  # 0 is the control
    label: str
    n: int
    successes: int = 0
    revenue_sum: float = 0.0
    revenue_sum_sq: float = 0.0  # sum over recipients of revenue^2 (zeros add nothing)

    def __post_init__(self) -> None:
        if self.n < 0 or self.successes < 0 or self.successes > self.n:
            raise ValueError(f"cell {self.label!r}: need 0 <= successes ({self.successes}) <= recipients ({self.n})")


@dataclass(frozen=True)
class VariantStats:
    position: int
    label: str
    n: int
    successes: int
    estimate: float  # observed rate, or mean revenue per recipient
    posterior_mean: float
    low: float  # 95% interval (credible for rates, normal-approximation for revenue)
    high: float
    p_beat_control: float | None  # None for the control itself
    p_best: float
    expected_loss: float  # E[max over variants - this variant]: what choosing it costs if it is not the best
    sequential_lambda: float | None = None  # mixture likelihood ratio against the control (sequential rule)


@dataclass(frozen=True)
class Decision:
    """`outcome`: winner (a variant beat the control), control (the control beat every variant), wait, or fallback (max wait reached)."""

    outcome: Literal["winner", "control", "wait", "fallback"]
    winner_position: int | None
    reason: str
    rule: str
    metric: str
    threshold: float
    variants: tuple[VariantStats, ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {**asdict(self), "variants": [asdict(v) for v in self.variants]}


# --- Beta posteriors (rates) ---------------------------------------------------------------------


def beta_posterior(successes: int, n: int) -> tuple[float, float]:
    return PRIOR_ALPHA + successes, PRIOR_BETA + (n - successes)


def prob_b_beats_a(a: tuple[float, float], b: tuple[float, float]) -> float:
    """P(p_B > p_A) for independent Beta posteriors a = (alpha_A, beta_A), b = (alpha_B, beta_B).

    Integer alphas: the exact sum
        P = sum_{i=0}^{alpha_B - 1} B(alpha_A + i, beta_A + beta_B) / ((beta_B + i) B(1 + i, beta_B) B(alpha_A, beta_A)),
    taken over the smaller alpha (using P(B > A) = 1 - P(A > B)). Otherwise adaptive quadrature.
    """
    (aa, ba), (ab, bb) = a, b
    if float(aa).is_integer() and float(ab).is_integer():
        if ab <= aa:
            return float(min(1.0, max(0.0, _miller_sum(aa, ba, ab, bb))))
        return float(min(1.0, max(0.0, 1.0 - _miller_sum(ab, bb, aa, ba))))
    return _quad_b_beats_a(a, b)


def _miller_sum(aa: float, ba: float, ab: float, bb: float) -> float:
    i = np.arange(int(ab), dtype=float)
    logs = special.betaln(aa + i, ba + bb) - np.log(bb + i) - special.betaln(1 + i, bb) - special.betaln(aa, ba)
    return float(np.exp(special.logsumexp(logs)))


def _quad_b_beats_a(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Independent reference: integral of f_B(x) F_A(x) over [0, 1]."""
    dist_a, dist_b = stats.beta(*a), stats.beta(*b)
    lo, hi = _support([dist_a, dist_b])
    value, _ = integrate.quad(lambda x: dist_b.pdf(x) * dist_a.cdf(x), lo, hi, points=[dist_a.mean(), dist_b.mean()], limit=500,
                              epsabs=1e-12, epsrel=1e-10)
    return float(value + (1.0 - dist_b.cdf(hi)))  # B's (negligible) mass above `hi` beats A, all of whose mass is below


def _support(dists: Sequence) -> tuple[float, float]:
    """Where all the posteriors' mass is (outside it every density is below 1e-13 of its mass)."""
    lo = min(float(d.ppf(1e-13)) for d in dists)
    hi = max(float(d.ppf(1 - 1e-13)) for d in dists)
    return lo, hi


def prob_best(dists: Sequence) -> list[float]:
    """P(variant k has the highest value) = integral of f_k(x) prod_{j != k} F_j(x) dx, for frozen scipy distributions."""
    if len(dists) == 1:
        return [1.0]
    lo, hi = _support(dists)
    points = sorted({float(d.mean()) for d in dists})
    out = []
    for k, dk in enumerate(dists):
        others = [d for j, d in enumerate(dists) if j != k]
        value, _ = integrate.quad(lambda x, dk=dk, others=others: dk.pdf(x) * math.prod(d.cdf(x) for d in others), lo, hi,
                                  points=points, limit=500, epsabs=1e-12, epsrel=1e-10)
        out.append(value)
    total = sum(out)
    return [v / total for v in out] if total > 0 else [1.0 / len(dists)] * len(dists)


def expected_max(dists: Sequence) -> float:
    """E[max_k X_k] = lo + integral over [lo, hi] of (1 - prod_k F_k(x)) dx (every X_k lies above lo)."""
    lo, hi = _support(dists)
    points = sorted({float(d.mean()) for d in dists})
    value, _ = integrate.quad(lambda x: 1.0 - math.prod(d.cdf(x) for d in dists), lo, hi, points=points, limit=500, epsabs=1e-12, epsrel=1e-10)
    return lo + value


# --- normal approximation (revenue) ---------------------------------------------------------------


def revenue_mean_se(cell: CellData) -> tuple[float, float]:
    """Mean revenue per recipient and its standard error (sample sd / sqrt(n)); a floor keeps an all-zero cell comparable."""
    if cell.n == 0:
        return 0.0, 1e6  # no information: an interval over everything
    mean = cell.revenue_sum / cell.n
    var = max(cell.revenue_sum_sq / cell.n - mean * mean, 0.0) * (cell.n / (cell.n - 1) if cell.n > 1 else 1.0)
    return mean, max(math.sqrt(var / cell.n), 1e-9)


def prob_normal_b_beats_a(a: tuple[float, float], b: tuple[float, float]) -> float:
    (ma, sa), (mb, sb) = a, b
    return float(stats.norm.cdf((mb - ma) / math.hypot(sa, sb)))


# --- the mixture SPRT ------------------------------------------------------------------------------


def msprt_lambda(diff: float, variance: float, tau: float) -> float:
    """Mixture likelihood ratio for an observed difference `diff` with sampling variance `variance`, mixing N(0, tau^2).

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 diff^2 / (2 V (V + tau^2))), V = the difference's variance.
    """
    if variance <= 0:
        return LAMBDA_CAP if diff != 0 else 1.0
    t2 = tau * tau
    exponent = t2 * diff * diff / (2 * variance * (variance + t2))
    return min(LAMBDA_CAP, math.sqrt(variance / (variance + t2)) * math.exp(min(exponent, 700.0)))


def difference_variance(metric: str, control: CellData, variant: CellData) -> tuple[float, float]:
    """(variant - control) and its sampling variance; rates use the observed p(1 - p) / n (a cell with no data gives inf)."""
    if control.n == 0 or variant.n == 0:
        return 0.0, math.inf
    if metric == "revenue":
        (ma, sa), (mb, sb) = revenue_mean_se(control), revenue_mean_se(variant)
        return mb - ma, sa * sa + sb * sb
    pa, pb = control.successes / control.n, variant.successes / variant.n
    return pb - pa, pa * (1 - pa) / control.n + pb * (1 - pb) / variant.n


# --- one evaluation ----------------------------------------------------------------------------------


def analyse(cells: Sequence[CellData], metric: str, tau: float | None = None) -> tuple[VariantStats, ...]:
    """Posteriors and comparisons of every cell; cells[0] (position 0) is the control."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if not 2 <= len(cells) <= 8:
        raise ValueError(f"an A/B test has 2 to 8 variants, not {len(cells)}")
    cells = sorted(cells, key=lambda c: c.position)
    if metric == "revenue":
        params = [revenue_mean_se(c) for c in cells]
        dists = [stats.norm(m, s) for m, s in params]
        beats = [None, *(prob_normal_b_beats_a(params[0], p) for p in params[1:])]
        estimates = [m for m, _ in params]
        intervals = [(m - Z95 * s, m + Z95 * s) for m, s in params]
    else:
        params = [beta_posterior(c.successes, c.n) for c in cells]
        dists = [stats.beta(a, b) for a, b in params]
        beats = [None, *(prob_b_beats_a(params[0], p) for p in params[1:])]
        estimates = [c.successes / c.n if c.n else 0.0 for c in cells]
        intervals = [(float(d.ppf(0.025)), float(d.ppf(0.975))) for d in dists]
    best = prob_best(dists)
    top = expected_max(dists)
    tau = tau if tau is not None else DEFAULT_TAU.get(metric, 0.0)
    out = []
    for k, (cell, dist) in enumerate(zip(cells, dists, strict=True)):
        lam = None
        if k > 0:
            diff, var = difference_variance(metric, cells[0], cell)
            scale = tau if metric != "revenue" else (tau or max(abs(estimates[0]) * 0.1, 1e-6))  # revenue: 10% of the control's mean
            lam = msprt_lambda(diff, var, scale) if math.isfinite(var) else 1.0
        out.append(VariantStats(cell.position, cell.label, cell.n, cell.successes, estimates[k], float(dist.mean()), intervals[k][0],
                                intervals[k][1], beats[k], best[k], max(top - float(dist.mean()), 0.0), lam))
    return tuple(out)


def decide(
    cells: Sequence[CellData],
    metric: str,
    rule: str = "bayesian",
    threshold: float = 0.95,
    alpha: float = 0.05,
    *,
    max_wait_reached: bool = False,
    fallback: str = "best_mean",
    tau: float | None = None,
) -> Decision:
    """Apply the stated rule to the cells (position 0 the control).

    bayesian: the variant with the highest P(beat control) wins if that is >= threshold; the control wins if every
    variant's P(beat control) <= 1 - threshold. sequential: a variant wins if its mixture likelihood ratio against the
    control is >= k / alpha (k variants besides the control) and it is ahead; the best such wins. The control wins if
    every variant is significantly behind. Otherwise wait; once the maximum wait is reached, the fallback applies:
    best_mean sends the variant with the highest posterior mean, control sends the control.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {', '.join(FALLBACKS)}, not {fallback!r}")
    if not 0.5 < threshold < 1:
        raise ValueError(f"threshold must be between 0.5 and 1 (e.g. 0.95), not {threshold}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be between 0 and 0.5 (e.g. 0.05), not {alpha}")
    variants = analyse(cells, metric, tau)
    control, challengers = variants[0], variants[1:]
    made = lambda outcome, position, reason: Decision(outcome, position, reason, rule, metric, threshold, variants)  # noqa: E731
    if rule == "bayesian":
        leader = max(challengers, key=lambda v: (v.p_beat_control, v.posterior_mean))
        if leader.p_beat_control >= threshold:
            return made("winner", leader.position, f"{leader.label} beats the control {control.label} with probability "
                        f"{leader.p_beat_control:.3f} >= {threshold:g}")
        if all(v.p_beat_control <= 1 - threshold for v in challengers):
            return made("control", control.position, f"every variant beats the control {control.label} with probability "
                        f"<= {1 - threshold:.3g}, so the control wins")
    else:
        bar = len(challengers) / alpha
        ahead = [v for v in challengers if v.sequential_lambda >= bar and v.posterior_mean > control.posterior_mean]
        if ahead:
            leader = max(ahead, key=lambda v: v.posterior_mean)
            return made("winner", leader.position, f"{leader.label} is ahead of the control with mixture likelihood ratio "
                        f"{leader.sequential_lambda:.3g} >= {bar:g} (alpha {alpha:g} over {len(challengers)} comparisons)")
        if all(v.sequential_lambda >= bar and v.posterior_mean < control.posterior_mean for v in challengers):
            return made("control", control.position, f"every variant is behind the control with likelihood ratio >= {bar:g}, so the control wins")
    if not max_wait_reached:
        return made("wait", None, "no variant is conclusively better or worse yet; keep waiting for more opens, clicks or purchases")
    if fallback == "control":
        return made("fallback", control.position, f"the maximum wait passed without a conclusive result; the control {control.label} is sent (fallback: control)")
    pick = max(variants, key=lambda v: (v.posterior_mean, -v.position))
    return made("fallback", pick.position, f"the maximum wait passed without a conclusive result; {pick.label} has the highest posterior mean "
                f"({pick.posterior_mean:.4g}) and is sent (fallback: best_mean)")
