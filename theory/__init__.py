"""theory: machine checks of the CWMP theory (docs/THEORY.md).

Public API:
    retained_fraction_topk(rho, dist)         Top-K retained fraction of E[g^2] at keep-rate rho
    TwoPoint(low, high, p_high), LogNormal(mu, sigma)   cost laws (.mean, .cv, .from_cv)
    cwmp_curve(beta, dist, cost)              CWMP large-d limit at per-coordinate budget beta
    topk_curve(beta, dist, cost)              budget-mode Top-K large-d limit
    efficiency_ratio(beta, dist, cost)        eta_CWMP / eta_TopK at equal energy (T3)
    small_cv_coefficient(frac, dist)          kappa in ratio = 1 + kappa CV^2 + O(CV^3)
    finite_d_bounds(beta, d, delta, ...)      (1 - delta) interval for retained/energy at dimension d (T2)
    influence_moments(...), prob_cwmp_beats_topk(d, beta, ...)
    CurvePoint, FiniteDBounds, InfluenceMoments   frozen result dataclasses

The claims report (C1-C9, T1, T2 / T2-coverage / T2-pbeat, T3) is `python -m theory` / `cwmp theory`.
Importing this package does no work beyond importing numpy/scipy.
"""

from .bounds import FiniteDBounds, InfluenceMoments, finite_d_bounds, influence_moments, prob_cwmp_beats_topk
from .distributions import GRAD_DISTS, LogNormal, TwoPoint
from .model import (DEFAULT_COST, CurvePoint, cwmp_curve, efficiency_ratio, retained_fraction_topk,
                    small_cv_coefficient, topk_curve)

__all__ = [
    "GRAD_DISTS", "DEFAULT_COST", "TwoPoint", "LogNormal", "CurvePoint", "FiniteDBounds", "InfluenceMoments",
    "retained_fraction_topk", "cwmp_curve", "topk_curve", "efficiency_ratio", "small_cv_coefficient",
    "finite_d_bounds", "influence_moments", "prob_cwmp_beats_topk",
]
