"""Large-d limits of Top-K and CWMP (docs/THEORY.md, Section 4).

With d i.i.d. pairs (g_i, c_i), g independent of c, sorting becomes a
threshold as d grows:

* budget-mode Top-K keeps ``|g| >= a`` with ``P(|g| >= a) = rho``; it spends
  ``rho E[c]`` per coordinate, so at per-coordinate budget ``beta`` it runs at
  ``rho = beta / E[c]``;
* CWMP (score ``l2``: g^2/c) keeps ``g^2 >= tau c``; energy
  ``e(tau) = E[c P(g^2 >= tau c | c)]``, retained
  ``r(tau) = E[E[g^2 1{g^2 >= tau c} | c]]``, and tau solves ``e(tau) = beta``.

All retained quantities are fractions of E[g^2] (g has unit variance here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .distributions import (
    LogNormal,
    TwoPoint,
    abs_isf,
    abs_pdf,
    check_cost,
    check_dist,
    tail_moment,
    tail_prob,
)

#: Default hardware-like profile: 25 % memory-intensive coordinates costing 5x
#: the cached ones (mean 2.0, CV 0.866).
DEFAULT_COST = TwoPoint(low=1.0, high=5.0, p_high=0.25)


@dataclass(frozen=True)
class CurvePoint:
    """One point of a large-d retained/energy curve."""

    method: str  # "cwmp-l2" or "topk-budget"
    dist: str  # gradient law (unit variance)
    beta: float  # per-coordinate energy budget B/d, same unit as the costs
    threshold: float  # cwmp: tau in g^2 >= tau*c (inf when beta = 0); topk: a in |g| >= a
    retained: float  # E[g^2 m] / E[g^2], in [0, 1]
    energy: float  # E[c m] per coordinate; equals beta unless beta >= E[c] (all kept)
    kept_fraction: float  # P(m = 1): the limit of (number kept)/d

    @property
    def efficiency(self) -> float:
        """eta = retained / energy (nan when nothing is kept)."""
        return self.retained / self.energy if self.energy > 0 else math.nan


def _check_rho(rho: float) -> float:
    rho = float(rho)
    if not (0.0 < rho <= 1.0):
        raise ValueError(f"rho must be in (0, 1], got {rho!r}")
    return rho


def _check_beta(beta: float) -> float:
    beta = float(beta)
    if not (beta >= 0.0 and math.isfinite(beta)):
        raise ValueError(f"beta must be finite and >= 0, got {beta!r}")
    return beta


def retained_fraction_topk(rho: float, dist: str = "gaussian") -> float:
    """E[g^2 1{|g| >= a}] / E[g^2] where P(|g| >= a) = rho.

    Closed forms (s the threshold of the unit-variance law):
    gaussian ``2[t phi(t) + 1 - Phi(t)]``; laplace ``rho (1 + L + L^2/2)``,
    ``L = -ln rho``; student_t3 ``1 - (2/pi)(atan s - s/(1+s^2))``.
    """
    rho = _check_rho(rho)
    check_dist(dist)
    if rho == 1.0:
        return 1.0
    return float(tail_moment(abs_isf(rho, dist), dist, 2))


def topk_curve(beta: float, dist: str = "gaussian", cost: TwoPoint | LogNormal = DEFAULT_COST) -> CurvePoint:
    """Budget-mode Top-K in the large-d limit at per-coordinate budget beta."""
    beta = _check_beta(beta)
    check_dist(dist)
    cost = check_cost(cost)
    rho = min(beta / cost.mean, 1.0)
    if rho == 0.0:
        return CurvePoint("topk-budget", dist, beta, math.inf, 0.0, 0.0, 0.0)
    a = 0.0 if rho == 1.0 else abs_isf(rho, dist)
    return CurvePoint("topk-budget", dist, beta, a, retained_fraction_topk(rho, dist), rho * cost.mean, rho)


def cwmp_energy(tau: float, dist: str, cost: TwoPoint | LogNormal) -> float:
    """e(tau) = E[c P(g^2 >= tau c | c)]."""
    return cost.expect(lambda c: c * tail_prob(np.sqrt(tau * c), dist))


def cwmp_retained(tau: float, dist: str, cost: TwoPoint | LogNormal) -> float:
    """r(tau) = E[E[g^2 1{g^2 >= tau c} | c]]."""
    return cost.expect(lambda c: tail_moment(np.sqrt(tau * c), dist, 2))


def cwmp_kept(tau: float, dist: str, cost: TwoPoint | LogNormal) -> float:
    """P(g^2 >= tau c)."""
    return cost.expect(lambda c: tail_prob(np.sqrt(tau * c), dist))


def cwmp_threshold(beta: float, dist: str, cost: TwoPoint | LogNormal) -> float:
    """tau solving e(tau) = beta (0 when beta >= E[c], inf when beta = 0)."""
    if beta <= 0.0:
        return math.inf
    if beta >= cost.mean:
        return 0.0
    # e is continuous and strictly decreasing from E[c] (tau=0) to 0; solve in log tau.
    f = lambda u: cwmp_energy(math.exp(u), dist, cost) / beta - 1.0  # noqa: E731
    lo, hi = -5.0, 5.0
    while f(lo) < 0:
        lo -= 5.0
    while f(hi) > 0:
        hi += 5.0
    u = optimize.brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return math.exp(u)


def cwmp_curve(beta: float, dist: str = "gaussian", cost: TwoPoint | LogNormal = DEFAULT_COST) -> CurvePoint:
    """CWMP (l2 score) in the large-d limit at per-coordinate budget beta."""
    beta = _check_beta(beta)
    check_dist(dist)
    cost = check_cost(cost)
    tau = cwmp_threshold(beta, dist, cost)
    if math.isinf(tau):
        return CurvePoint("cwmp-l2", dist, beta, math.inf, 0.0, 0.0, 0.0)
    if tau == 0.0:
        return CurvePoint("cwmp-l2", dist, beta, 0.0, 1.0, cost.mean, 1.0)
    return CurvePoint(
        "cwmp-l2",
        dist,
        beta,
        tau,
        cwmp_retained(tau, dist, cost),
        cwmp_energy(tau, dist, cost),
        cwmp_kept(tau, dist, cost),
    )


def efficiency_ratio(beta: float, dist: str = "gaussian", cost: TwoPoint | LogNormal = DEFAULT_COST) -> float:
    """eta_CWMP / eta_TopK at equal energy beta (= r_CWMP / r_TopK), for 0 < beta < E[c]."""
    beta = _check_beta(beta)
    cost = check_cost(cost)
    if not (0.0 < beta < cost.mean):
        raise ValueError(f"beta must be in (0, E[c]={cost.mean:.6g}), got {beta!r}")
    c, t = cwmp_curve(beta, dist, cost), topk_curve(beta, dist, cost)
    return c.efficiency / t.efficiency


def small_cv_coefficient(budget_fraction: float, dist: str = "gaussian") -> float:
    """kappa in eta_CWMP/eta_TopK = 1 + kappa CV^2 + O(CV^3) at beta = budget_fraction * E[c].

    Second-order Lagrangian expansion (docs/THEORY.md, T3): with
    ``a`` the Top-K threshold at rho = budget_fraction and ``f`` the density of |g|,
    ``kappa = a^3 f(a) / (4 M_2(a))``; independent of the cost law's shape.
    sympy re-derives it for the two-point Gaussian case (theory.symbolic).
    """
    rho = _check_rho(budget_fraction)
    if rho == 1.0:
        return 0.0
    a = abs_isf(rho, check_dist(dist))
    return float(a**3 * abs_pdf(a, dist) / (4.0 * tail_moment(a, dist, 2)))
