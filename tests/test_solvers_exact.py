"""Exact and LP backends against each other (cvxpy-style: factories with known answers, per solver)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from solvers import cwmp_mask, solve_exact, solve_lp, topk_mask
from tests.strategies import brute_opt, instances

MILP_SOLVERS = ["HIGHS"]
try:
    import pyscipopt  # noqa: F401

    MILP_SOLVERS.append("SCIP")
except ImportError:  # SCIP is an optional second oracle
    pass

# (name, g, c, B, OPT) with OPT known by hand
KNOWN = [
    ("c6", [1.0, 10.0], [0.01, 10.0], 10.0, 100.0),
    ("all_fit", [1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 5.0, 14.0),
    ("nothing_fits", [1.0, 2.0], [3.0, 4.0], 2.0, 0.0),
    ("zero_budget", [1.0, 2.0], [3.0, 4.0], 0.0, 0.0),
    ("tight_half", [np.sqrt(0.0101), 1.0, 1.0], [0.01, 1.0, 1.0], 2.0, 2.0),
    ("l2_blocks", [3.0, 2.5, 2.5], [3.0, 2.4, 2.4], 4.8, 12.5),
    ("classic", [np.sqrt(60), np.sqrt(100), np.sqrt(120)], [10.0, 20.0, 30.0], 50.0, 220.0),
]


@pytest.mark.parametrize("solver", MILP_SOLVERS)
@pytest.mark.parametrize("name, g, c, B, opt", KNOWN, ids=[k[0] for k in KNOWN])
def test_cvxpy_milp_known_answers(solver, name, g, c, B, opt):
    res = solve_exact(np.array(g), np.array(c), B, backend="cvxpy", solver=solver)
    assert res.status == "optimal", (solver, res.status)
    assert res.proven_optimal
    assert res.value == pytest.approx(opt, rel=1e-9, abs=1e-12)  # values recomputed from the mask
    assert res.selection.energy <= B * (1 + 1e-9)


@pytest.mark.parametrize("name, g, c, B, opt", KNOWN, ids=[k[0] for k in KNOWN])
def test_bruteforce_known_answers(name, g, c, B, opt):
    res = solve_exact(np.array(g), np.array(c), B, backend="bruteforce")
    assert res.status == "optimal" and res.proven_optimal
    assert res.value == pytest.approx(opt, rel=1e-12, abs=1e-12)
    assert res.selection.upper_bound >= opt - 1e-12  # LP bound attached


@given(instances(max_d=10, integer=True))
def test_dp_equals_bruteforce_on_integer_costs(inst):
    """Property: DP over integer capacity equals the itertools brute force."""
    g, c, B = inst
    res = solve_exact(g, c, B, backend="dp")
    assert res.status == "optimal" and res.proven_optimal
    assert res.value == pytest.approx(brute_opt(g**2, c, B), rel=1e-12, abs=1e-12)
    assert res.selection.energy <= B


@given(instances(max_d=8))
def test_milp_equals_bruteforce(inst):
    """Property: CVXPY/HiGHS MILP (mip_rel_gap=0) equals the itertools brute force."""
    g, c, B = inst
    res = solve_exact(g, c, B, backend="cvxpy", solver="HIGHS")
    assert res.status == "optimal", res.status
    opt = brute_opt(g**2, c, B)
    # HiGHS stops at mip_feasibility/optimality tolerances ~1e-6 relative on the scaled problem.
    assert res.value == pytest.approx(opt, rel=1e-6, abs=1e-9)
    assert res.selection.energy <= B * (1 + 1e-9)


def test_lp_backends_agree_on_random_instance():
    rng = np.random.default_rng(3)
    g, c = rng.normal(size=200), rng.uniform(0.1, 2.0, size=200)
    B = 0.2 * c.sum()
    dz, cv, cl = (solve_lp(g, c, B), solve_lp(g, c, B, backend="cvxpy"),
                  solve_lp(g, c, B, backend="cvxpy", solver="CLARABEL"))
    assert dz.status == cv.status == "optimal" and cl.status == "optimal"
    assert cv.value == pytest.approx(dz.value, rel=1e-7)  # HiGHS simplex: near machine precision
    assert cl.value == pytest.approx(dz.value, rel=1e-6)  # Clarabel interior point: ~1e-8 gaps
    assert cv.dual_price == pytest.approx(dz.dual_price, rel=1e-6)
    sel = cwmp_mask(g, c, budget=B)
    assert sel.upper_bound == pytest.approx(dz.value, rel=1e-12)
    assert topk_mask(g, c=c, budget=B).upper_bound == pytest.approx(dz.value, rel=1e-12)
