"""theory.montecarlo: simulation through solvers vs an independent numpy greedy; interval helpers vs scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from theory import DEFAULT_COST, LogNormal
from theory.distributions import sample_grad
from theory.montecarlo import MCEstimate, clopper_pearson, loglog_slope, simulate_pairs, wilson_interval


def test_simulate_pairs_matches_independent_prefix_greedy():
    """Replay the same seed and recompute both selections with a numpy prefix walk."""
    seed, d, beta = 99, 5000, 0.3
    cost = LogNormal.from_cv(1.0, 1.0)
    pr = simulate_pairs(np.random.default_rng(seed), d, 3, beta, "laplace", cost)
    rng = np.random.default_rng(seed)
    for r in range(3):
        g = sample_grad(rng, "laplace", d)
        c = cost.sample(rng, d)
        for key, ret, en in ((g * g / c, pr.ret_cwmp[r], pr.en_cwmp[r]), (np.abs(g), pr.ret_topk[r], pr.en_topk[r])):
            ok = c <= beta * d
            idx = np.flatnonzero(ok)
            order = idx[np.argsort(-key[idx], kind="stable")]
            n = int(np.searchsorted(np.cumsum(c[order]), beta * d, side="right"))
            assert ret == pytest.approx(float((g[order[:n]] ** 2).sum()) / d, rel=1e-12)
            assert en == pytest.approx(float(c[order[:n]].sum()) / d, rel=1e-12)


def test_simulate_pairs_validation():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rng"):
        simulate_pairs(0, 10, 1, 0.1, "gaussian", DEFAULT_COST)
    with pytest.raises(ValueError, match="d"):
        simulate_pairs(rng, 0, 1, 0.1, "gaussian", DEFAULT_COST)
    with pytest.raises(ValueError, match="beta"):
        simulate_pairs(rng, 10, 1, -0.1, "gaussian", DEFAULT_COST)


def test_mc_estimate_vs_numpy():
    x = np.random.default_rng(1).normal(2.0, 3.0, 500)
    e = MCEstimate.of(x)
    assert e.mean == pytest.approx(x.mean(), rel=1e-15)
    assert e.se == pytest.approx(x.std(ddof=1) / math.sqrt(500), rel=1e-13)
    assert e.agrees(2.0, 4.0, 0.2) and not e.agrees(10.0, 4.0, 10.0)


@given(n=st.integers(1, 400), frac=st.floats(0, 1))
def test_binomial_intervals(n, frac):
    """Property: both intervals contain the point estimate; Clopper-Pearson matches scipy's exact interval."""
    k = int(round(frac * n))
    lo, hi = wilson_interval(k, n)
    assert lo - 1e-12 <= k / n <= hi + 1e-12
    lo, hi = clopper_pearson(k, n)
    ref = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    assert lo == pytest.approx(ref.low, abs=1e-10) and hi == pytest.approx(ref.high, abs=1e-10)


def test_loglog_slope():
    d = np.array([1e2, 1e3, 1e4])
    assert loglog_slope(d, 3 * d**-0.5) == pytest.approx(-0.5, abs=1e-12)
