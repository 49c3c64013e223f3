"""Finite-d bounds for T2 (docs/THEORY.md, Section 4, "T2 concentration").

Setting: d i.i.d. pairs (g_i, c_i), unit-variance g independent of c, budget
B = beta d, both selections run with the ``dantzig`` greedy. R_d = (1/d) sum of
kept g_i^2, E_d = (1/d) sum of kept c_i.

Energy (both selections, pathwise). Dantzig stops at the first item that does
not fit, so ``beta - c_b/d < E_d <= beta`` (c_b the cost of that item) unless
every item fits. Hence ``E_d in [beta - q/d, beta]`` where q bounds max_i c_i
(the top cost of a bounded law; a union-bound quantile for the lognormal),
failing with probability <= P(mean c <= beta) + P(max c > q).

Retained, CWMP. LP duality gives, for every sample, with
``H_d(l) = (1/d) sum (g_i^2 - l c_i)_+`` and ``F_d(l) = (1/d) sum c_i 1{g_i^2 > l c_i}``::

    LP*/d = min_l [l beta + H_d(l)],   R_d <= LP*/d,   R_d >= LP*/d - max_i g_i^2 / d.

At the population threshold tau, ``r = tau beta + H(tau)``; so

* ``method="clt"`` (asymptotic, tight): sqrt(d) (R_d - r) -> N(0, Var[psi]) with
  influence ``psi = (g^2 - tau c)_+`` (the delta method: r'(tau)/e'(tau) = tau);
  interval r +- z_{1-delta/2} sd(psi)/sqrt(d).
* ``method="cantelli"`` (non-asymptotic, only second moments): upper side
  R_d <= tau beta + H_d(tau) (weak duality) plus Cantelli's one-sided inequality;
  lower side by convexity of l -> l beta + H_d(l): on the events
  ``F_d(tau_lo) >= beta >= F_d(tau_hi)`` its minimiser lies in [tau_lo, tau_hi], so
  ``LP*/d >= tau beta + H_d(tau) - w |beta - F_d(tau)|``, w = max(tau - tau_lo, tau_hi - tau);
  each event gets its share of delta by Cantelli/Chebyshev, and max g^2 a union bound.

Budget-mode Top-K has influence ``psi_T = (g^2 - (a^2/E[c]) c) 1{|g| >= a}`` (delta
method), which also gives ``P(CWMP beats Top-K) ~ Phi(sqrt(d) (r_C - r_T) / sd(psi_C - psi_T))``.
That normal approximation is asymptotic only: it ignores ties and the O(1/d) one-item granularity,
and the claims report (row T2-pbeat) finds Monte Carlo excluding it at finite d (e.g. d <= 1e4 at
cost CV 0.02), so it is withdrawn there as a finite-d predictor.

Student-t(3) gradients have E[g^4] = inf: sd(psi) is infinite, the 1/sqrt(d)
rate fails (the fluctuations are of order d^(-1/3)), and both retained
intervals come back as [0, inf) with ``sd_influence = inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .distributions import LogNormal, TwoPoint, check_cost, check_dist, tail_moment, tail_prob
from .model import DEFAULT_COST, cwmp_curve, cwmp_energy, topk_curve

BOUND_METHODS = ("clt", "cantelli")
SELECTORS = ("cwmp", "topk")


@dataclass(frozen=True)
class InfluenceMoments:
    """Asymptotic (delta-method) moments of sqrt(d)(R_d - r) for both selections."""

    tau: float  # CWMP threshold: keep g^2 >= tau c
    a: float  # Top-K threshold: keep |g| >= a
    r_cwmp: float  # large-d retained fraction, CWMP
    r_topk: float  # large-d retained fraction, Top-K (budget mode)
    sd_cwmp: float  # sd of psi_C = (g^2 - tau c)_+ ; inf for student_t3
    sd_topk: float  # sd of psi_T = (g^2 - a^2 c/E[c]) 1{|g| >= a}
    sd_diff: float  # sd of psi_C - psi_T: drives P(CWMP beats Top-K) at finite d


@dataclass(frozen=True)
class FiniteDBounds:
    """A (1 - delta) interval for per-coordinate retained and energy at dimension d."""

    selector: str  # "cwmp" (l2 score, dantzig) or "topk" (budget mode, dantzig)
    method: str  # "clt" (asymptotic) or "cantelli" (non-asymptotic, CWMP only)
    d: int
    delta: float  # total miss probability: retained and energy together
    beta: float
    retained_limit: float  # large-d limit r (fraction of E[g^2])
    retained_lo: float
    retained_hi: float
    energy_limit: float  # large-d limit of energy per coordinate (= beta below E[c])
    energy_lo: float
    energy_hi: float
    sd_influence: float  # asymptotic sd of sqrt(d)(R_d - r); inf when E[g^4] = inf
    delta_energy: float  # the part of delta spent on the energy interval (0 if pathwise)

    def contains(self, retained: float, energy: float) -> bool:
        return (self.retained_lo <= retained <= self.retained_hi) and (self.energy_lo <= energy <= self.energy_hi)


def _moments(beta: float, dist: str, cost) -> InfluenceMoments:
    cw, tk = cwmp_curve(beta, dist, cost), topk_curve(beta, dist, cost)
    tau, a = cw.threshold, tk.threshold
    kappa = a * a / cost.mean
    if dist == "student_t3":
        inf = math.inf
        return InfluenceMoments(tau, a, cw.retained, tk.retained, inf, inf, inf)

    def m(k, t):
        return tail_moment(t, dist, k)

    # psi_C = (g^2 - tau c)_+ ; E[psi_C] = r - tau beta
    e_c = cw.retained - tau * cw.energy
    e_c2 = cost.expect(lambda c: m(4, np.sqrt(tau * c)) - 2 * tau * c * m(2, np.sqrt(tau * c))
                       + (tau * c) ** 2 * m(0, np.sqrt(tau * c)))
    # psi_T = (g^2 - kappa c) 1{|g| >= a}
    e_t = tk.retained - kappa * cost.mean * float(m(0, a))
    e_t2 = cost.expect(lambda c: m(4, a) - 2 * kappa * c * m(2, a) + (kappa * c) ** 2 * m(0, a))

    def cross(c):
        t = np.maximum(np.sqrt(tau * c), a)
        return m(4, t) - (tau + kappa) * c * m(2, t) + tau * kappa * c * c * m(0, t)

    e_ct = cost.expect(cross)
    var_c = max(e_c2 - e_c**2, 0.0)
    var_t = max(e_t2 - e_t**2, 0.0)
    var_d = max(e_c2 + e_t2 - 2 * e_ct - (e_c - e_t) ** 2, 0.0)
    return InfluenceMoments(tau, a, cw.retained, tk.retained, math.sqrt(var_c), math.sqrt(var_t), math.sqrt(var_d))


def influence_moments(beta: float, dist: str = "gaussian", cost: TwoPoint | LogNormal = DEFAULT_COST) -> InfluenceMoments:
    """Delta-method moments at budget beta, 0 < beta < E[c]."""
    check_dist(dist)
    cost = check_cost(cost)
    beta = float(beta)
    if not (0.0 < beta < cost.mean):
        raise ValueError(f"beta must be in (0, E[c]={cost.mean:.6g}), got {beta!r}")
    return _moments(beta, dist, cost)


def prob_cwmp_beats_topk(d: int, beta: float, dist: str = "gaussian", cost: TwoPoint | LogNormal = DEFAULT_COST) -> float:
    """Normal (delta-method) approximation of P(R_d^CWMP > R_d^TopK) at equal budget beta d.

    Asymptotic only; it does not model ties or the one-item granularity and fails at finite d
    where the gap d (r_C - r_T) is not large against one item's value (claims report row T2-pbeat)."""
    d = _check_d(d)
    mom = influence_moments(beta, dist, cost)
    gap = mom.r_cwmp - mom.r_topk
    if mom.sd_diff == 0.0 or not math.isfinite(mom.sd_diff):
        return math.nan if not math.isfinite(mom.sd_diff) else float(gap > 0)
    return float(stats.norm.cdf(math.sqrt(d) * gap / mom.sd_diff))


def _check_d(d) -> int:
    if isinstance(d, bool) or int(d) != d or int(d) < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    return int(d)


def _cantelli_t(sd: float, alpha: float, n: int) -> float:
    """t with sd^2/(sd^2 + n t^2) = alpha: P(mean - mu >= t) <= alpha."""
    return sd * math.sqrt((1.0 - alpha) / (alpha * n))


def _energy_interval(beta: float, d: int, cost, delta_share: float) -> tuple[float, float, float]:
    """Pathwise energy band [beta - q/d, beta] and the probability it can fail."""
    # P(every item fits) = P(mean c <= beta) <= Var c/(Var c + d (E c - beta)^2) (Cantelli)
    p_allfit = cost.var / (cost.var + d * (cost.mean - beta) ** 2) if cost.var > 0 else 0.0
    if math.isfinite(cost.max_cost):
        return beta - cost.max_cost / d, beta, p_allfit
    q = cost.cost_quantile_upper(delta_share / d)  # union bound over d items
    return beta - q / d, beta, p_allfit + delta_share


def finite_d_bounds(
    beta: float,
    d: int,
    delta: float = 0.05,
    dist: str = "gaussian",
    cost: TwoPoint | LogNormal = DEFAULT_COST,
    method: str = "clt",
    selector: str = "cwmp",
) -> FiniteDBounds:
    """(1 - delta) interval for (R_d, E_d) of the finite-d selection (see module doc).

    ``clt`` is asymptotic (its coverage is what T2's Monte Carlo measures);
    ``cantelli`` is a non-asymptotic guarantee for CWMP needing only second
    moments. The energy band is pathwise up to the (stated) all-fit and
    max-cost events, whose probability is reported in ``delta_energy``.
    """
    check_dist(dist)
    cost = check_cost(cost)
    d = _check_d(d)
    beta = float(beta)
    if not (0.0 < beta < cost.mean):
        raise ValueError(f"beta must be in (0, E[c]={cost.mean:.6g}), got {beta!r}")
    delta = float(delta)
    if not (0.0 < delta < 1.0):
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    if method not in BOUND_METHODS:
        raise ValueError(f"method must be one of {BOUND_METHODS}, got {method!r}")
    if selector not in SELECTORS:
        raise ValueError(f"selector must be one of {SELECTORS}, got {selector!r}")
    if method == "cantelli" and selector != "cwmp":
        raise ValueError("method='cantelli' needs the LP sandwich: selector must be 'cwmp'")

    mom = _moments(beta, dist, cost)
    e_share = 0.0 if math.isfinite(cost.max_cost) else delta / 10.0
    e_lo, e_hi, delta_e = _energy_interval(beta, d, cost, e_share)
    delta_r = delta - delta_e
    r = mom.r_cwmp if selector == "cwmp" else mom.r_topk
    sd = mom.sd_cwmp if selector == "cwmp" else mom.sd_topk

    def done(lo: float, hi: float) -> FiniteDBounds:
        # no clip at 1: R_d is normalised by E[g^2], not by the sample's sum, and can exceed 1
        return FiniteDBounds(selector, method, d, delta, beta, r, max(lo, 0.0), hi,
                             beta, max(e_lo, 0.0), e_hi, sd, delta_e)

    if delta_r <= 0 or not math.isfinite(sd):
        return done(0.0, math.inf)  # no finite-variance guarantee available
    if method == "clt":
        half = float(stats.norm.isf(delta_r / 2.0)) * sd / math.sqrt(d)
        return done(r - half, r + half)
    return done(*_cantelli_retained(beta, d, dist, cost, mom, delta_r))


def _cantelli_retained(beta, d, dist, cost, mom: InfluenceMoments, delta_r: float) -> tuple[float, float]:
    tau = mom.tau
    hi = mom.r_cwmp + _cantelli_t(mom.sd_cwmp, delta_r / 2.0, d)
    alpha = delta_r / 10.0  # five events share the lower side's delta_r/2

    def var_energy(t: float) -> float:
        e = cwmp_energy(t, dist, cost)
        e2 = cost.expect(lambda c: c * c * tail_prob(np.sqrt(t * c), dist))
        return max(e2 - e * e, 0.0)

    k = (1.0 - alpha) / (alpha * d)
    # tau_lo < tau with e(tau_lo) - beta = sqrt(k Var): then P(F_d(tau_lo) < beta) <= alpha
    f_lo = lambda u: cwmp_energy(math.exp(u), dist, cost) - beta - math.sqrt(k * var_energy(math.exp(u)))  # noqa: E731
    f_hi = lambda u: beta - cwmp_energy(math.exp(u), dist, cost) - math.sqrt(k * var_energy(math.exp(u)))  # noqa: E731
    u0 = math.log(tau)
    lo_u = u0 - 1.0
    while f_lo(lo_u) < 0:
        lo_u -= 1.0
        if lo_u < u0 - 60:
            return 0.0, hi  # budget too close to E[c] for this d: no lower guarantee
    hi_u = u0 + 1.0
    while f_hi(hi_u) < 0:
        hi_u += 1.0
    tau_lo = math.exp(optimize.brentq(f_lo, lo_u, u0, xtol=1e-13))
    tau_hi = math.exp(optimize.brentq(f_hi, u0, hi_u, xtol=1e-13))
    w = max(tau - tau_lo, tau_hi - tau)
    sd_f = math.sqrt(var_energy(tau))
    t_f = sd_f / math.sqrt(d * alpha)  # Chebyshev, two-sided
    t_h = _cantelli_t(mom.sd_cwmp, alpha, d)
    # max_i g_i^2 <= q_v with probability >= 1 - alpha/2 (union bound)
    q_v = float(_abs_quantile(alpha / (2.0 * d), dist)) ** 2
    # all items must satisfy c_i <= beta d (else some are dropped): union bound
    p_big = d * (0.0 if cost.max_cost <= beta * d else _cost_sf(cost, beta * d))
    if p_big > alpha / 2.0:
        return 0.0, hi
    lo = mom.r_cwmp - t_h - w * t_f - q_v / d
    return lo, hi


def _abs_quantile(alpha: float, dist: str) -> float:
    from .distributions import abs_isf

    return abs_isf(alpha, dist)


def _cost_sf(cost, x: float) -> float:
    if isinstance(cost, TwoPoint):
        return 0.0 if x >= cost.high else (cost.p_high if x >= cost.low else 1.0)
    return float(stats.norm.sf((math.log(x) - cost.mu) / cost.sigma)) if cost.sigma > 0 else float(x < math.exp(cost.mu))
