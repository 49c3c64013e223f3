"""theory.bounds: influence moments vs sampling, finite-d bounds vs simulation through solvers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from theory import DEFAULT_COST, LogNormal, TwoPoint, finite_d_bounds, influence_moments, prob_cwmp_beats_topk
from theory.distributions import sample_grad
from theory.montecarlo import clopper_pearson, simulate_pairs


@pytest.mark.parametrize("dist,cost", [("gaussian", DEFAULT_COST), ("laplace", LogNormal.from_cv(1.0, 2.0))])
def test_influence_sds_vs_direct_sampling(dist, cost):
    """sd of psi_C, psi_T and their difference vs 2e6 direct draws at the population thresholds."""
    beta = 0.2 * cost.mean
    m = influence_moments(beta, dist, cost)
    rng = np.random.default_rng(3)
    n = 2_000_000
    g, c = sample_grad(rng, dist, n), cost.sample(rng, n)
    pc = np.maximum(g * g - m.tau * c, 0.0)
    pt = (g * g - m.a**2 * c / cost.mean) * (np.abs(g) >= m.a)
    # sample sd of 2e6 draws: relative error ~ kurtosis/sqrt(n) ~ 1e-2 for these laws
    assert np.std(pc) == pytest.approx(m.sd_cwmp, rel=0.02)
    assert np.std(pt) == pytest.approx(m.sd_topk, rel=0.02)
    assert np.std(pc - pt) == pytest.approx(m.sd_diff, rel=0.02)
    # E[psi_C] + tau beta = r (the LP-duality identity)
    assert pc.mean() + m.tau * beta == pytest.approx(m.r_cwmp, rel=0.01)


def test_student_t3_has_no_clt_bound():
    b = finite_d_bounds(0.4, 10_000, 0.05, "student_t3", DEFAULT_COST)
    assert math.isinf(b.sd_influence) and b.retained_lo == 0.0 and math.isinf(b.retained_hi)


@given(d1=st.integers(100, 10**6), d2=st.integers(100, 10**6), frac=st.floats(0.05, 0.8))
def test_bounds_shrink_with_d(d1, d2, frac):
    """Property: both (1-delta) intervals contain the limit and shrink as d grows."""
    lo_d, hi_d = sorted((d1, d2))
    beta = frac * DEFAULT_COST.mean
    for method in ("clt", "cantelli"):
        a = finite_d_bounds(beta, lo_d, 0.05, method=method)
        b = finite_d_bounds(beta, hi_d, 0.05, method=method)
        assert a.retained_lo <= a.retained_limit <= a.retained_hi
        assert b.retained_hi - b.retained_lo <= a.retained_hi - a.retained_lo + 1e-12
        assert b.energy_lo >= a.energy_lo - 1e-15 and b.energy_hi == beta


def test_clt_halfwidth_formula():
    b = finite_d_bounds(0.4, 10_000, 0.05)
    m = influence_moments(0.4)
    half = stats.norm.isf(0.025) * m.sd_cwmp / 100  # delta_energy = 0 for the bounded default law...
    # ...except the all-fit event, whose probability is spent from delta
    half_adj = stats.norm.isf((0.05 - b.delta_energy) / 2) * m.sd_cwmp / 100
    assert (b.retained_hi - b.retained_lo) / 2 == pytest.approx(half_adj, rel=1e-12)
    assert half_adj >= half


def test_validation():
    with pytest.raises(ValueError, match="d"):
        finite_d_bounds(0.4, 0)
    with pytest.raises(ValueError, match="delta"):
        finite_d_bounds(0.4, 100, delta=1.5)
    with pytest.raises(ValueError, match="method"):
        finite_d_bounds(0.4, 100, method="hoeffding")
    with pytest.raises(ValueError, match="beta"):
        finite_d_bounds(5.0, 100)
    with pytest.raises(ValueError, match="selector"):
        finite_d_bounds(0.4, 100, method="cantelli", selector="topk")


@pytest.mark.parametrize("method", ["clt", "cantelli"])
def test_bound_coverage_through_solvers(method):
    """Violation rate of the (1-delta) interval at d = 1000, 400 replicates: not significantly above delta."""
    rng = np.random.default_rng(11)
    beta, d, delta, reps = 0.4, 1000, 0.1, 400
    pr = simulate_pairs(rng, d, reps, beta, "gaussian", DEFAULT_COST)
    b = finite_d_bounds(beta, d, delta, method=method)
    viol = sum(not b.contains(r, e) for r, e in zip(pr.ret_cwmp, pr.en_cwmp))
    lo, _ = clopper_pearson(viol, reps, conf=0.998)
    assert lo <= delta  # the exact 99.8 % interval of the violation rate reaches delta


def test_prob_beat_normal_approx_vs_formula():
    cost = TwoPoint.from_cv(0.3, 0.2)
    beta = 0.1 * cost.mean
    m = influence_moments(beta, "gaussian", cost)
    p = prob_cwmp_beats_topk(400, beta, "gaussian", cost)
    assert p == pytest.approx(stats.norm.cdf(20 * (m.r_cwmp - m.r_topk) / m.sd_diff), rel=1e-14)
    assert prob_cwmp_beats_topk(10**6, beta, "gaussian", cost) > 0.999
