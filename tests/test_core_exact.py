"""The fast exact solver `solve_exact(..., backend="core")` against independent oracles.

Oracles: the brute-force and DP backends of solvers/exact.py, CVXPY + HiGHS (MILP),
and the definition of a proven bound. The core's window and the fast selection's
sample sizes are shrunk inside tests so that window growth, re-splitting and the
Dembo–Hammer certificate run on small instances.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solvers import cwmp_mask, solve_exact
from solvers import core, fast

SETTINGS = dict(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def tiny_core():
    """Windows of 2 items, samples of 12: every growth path of the core runs at d ≤ 14."""
    names_f = ("SORT_MAX", "SAMPLE", "SAMPLE_SUB", "BAND_SORT_MAX", "Z")
    old_f = {n: getattr(fast, n) for n in names_f}
    old_w = core.WINDOW0
    fast.SORT_MAX, fast.SAMPLE, fast.SAMPLE_SUB, fast.BAND_SORT_MAX, fast.Z = 4, 12, 6, 4, 0.5
    core.WINDOW0 = 2
    try:
        yield
    finally:
        for n, v in old_f.items():
            setattr(fast, n, v)
        core.WINDOW0 = old_w


def _subset_sums(c: np.ndarray) -> np.ndarray:
    d = len(c)
    bits = ((np.arange(2 ** d)[:, None] >> np.arange(d)) & 1).astype(float)
    return bits @ c


def _check(res, g, c, B):
    """Status, feasibility and bound consistency of a core result."""
    assert res.backend == "core" and res.status == "optimal" and res.proven_optimal
    m = res.selection.mask_numpy()
    c64 = np.asarray(c, dtype=np.float64)
    v64 = np.asarray(g, dtype=np.float64) ** 2
    assert float(np.sum(c64[m])) <= B * (1 + 1e-12)  # energy ≤ B (sum rounding of the check only)
    assert res.selection.value == pytest.approx(float(v64[m].sum()), rel=1e-12, abs=1e-300)
    assert res.bound >= res.selection.value  # a proven upper bound
    assert res.selection.upper_bound >= res.bound * (1 - 1e-12)  # LP* ≥ OPT bound (rounding of LP*)


@st.composite
def int_instances(draw, classes: bool = False):
    d = draw(st.integers(1, 12))
    g = np.array(draw(st.lists(st.integers(-6, 6), min_size=d, max_size=d)), dtype=float)
    if classes:
        vals = draw(st.lists(st.integers(1, 7), min_size=1, max_size=3, unique=True))
        c = np.array(draw(st.lists(st.sampled_from(vals), min_size=d, max_size=d)), dtype=float)
    else:
        c = np.array(draw(st.lists(st.integers(1, 9), min_size=d, max_size=d)), dtype=float)
    B = float(draw(st.integers(0, int(c.sum()) + 2)))
    return g, c, B


@settings(**SETTINGS)
@given(inst=int_instances(), classes=st.booleans(), tiny=st.booleans(), kind=st.sampled_from(["numpy", "torch"]))
def test_core_integer_data_equals_dp_and_bruteforce(inst, classes, tiny, kind):
    """Property: on integer data the core's optimum equals the DP and brute-force optima exactly,
    with status "optimal", a feasible mask and bound == value (integer data are solved exactly)."""
    g, c, B = inst
    ctx = tiny_core() if tiny else contextlib.nullcontext()
    gg, cc = (torch.as_tensor(g), torch.as_tensor(c)) if kind == "torch" else (g, c)
    with ctx:
        res = core.solve_core(gg, cc, B, max_classes=3 if classes else 0)
    dp = solve_exact(g, c, B, backend="dp")
    bf = solve_exact(g, c, B, backend="bruteforce")
    assert dp.status == "optimal" and bf.status == "optimal"
    _check(res, g, c, B)
    assert res.selection.value == dp.selection.value == bf.selection.value  # integers: exact
    assert res.bound == res.selection.value
    if kind == "torch":
        assert isinstance(res.selection.mask, torch.Tensor)


@settings(**SETTINGS)
@given(inst=int_instances(classes=True), tiny=st.booleans())
def test_core_cost_classes_equals_dp(inst, tiny):
    """Property: with 1–3 distinct costs the class enumeration (THEORY.md C9) and the DP path both
    return the DP optimum; the class path reports solver "classes" when the LP breaks."""
    g, c, B = inst
    ctx = tiny_core() if tiny else contextlib.nullcontext()
    with ctx:
        by_class = core.solve_core(g, c, B)
        by_dp = core.solve_core(g, c, B, max_classes=0)
    dp = solve_exact(g, c, B, backend="dp")
    for res in (by_class, by_dp):
        _check(res, g, c, B)
        assert res.selection.value == dp.selection.value  # integers: exact
    assert by_class.solver in ("classes", "lp-integral")
    assert by_dp.solver in ("minknap", "lp-integral")


@st.composite
def float_instances(draw):
    d = draw(st.integers(1, 11))
    g = np.array(draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=d, max_size=d)))
    pool = draw(st.sampled_from(["free", "decimal", "two"]))
    if pool == "free":
        c = np.array(draw(st.lists(st.floats(0.01, 5), min_size=d, max_size=d)))
    elif pool == "decimal":
        c = np.array(draw(st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.7]), min_size=d, max_size=d)))
    else:
        c = np.array(draw(st.lists(st.sampled_from([1.3e-9, 2.1e-9]), min_size=d, max_size=d)))
    B = float(c.sum()) * draw(st.floats(0.0, 1.1))
    return g, c, B


@settings(**SETTINGS)
@given(inst=float_instances(), classes=st.booleans(), tiny=st.booleans())
def test_core_float_data_equals_bruteforce(inst, classes, tiny):
    """Property: on float data the core's optimum equals brute force to rtol 1e-9, whenever no subset's
    cost lies within 1e-9·B of B (there the float brute force and the exact core may legitimately
    disagree on feasibility)."""
    g, c, B = inst
    sums = _subset_sums(c)
    assume(np.all(np.abs(sums - B) > 1e-9 * max(B, 1e-300)))
    ctx = tiny_core() if tiny else contextlib.nullcontext()
    with ctx:
        res = core.solve_core(g, c, B, max_classes=3 if classes else 0)
    bf = solve_exact(g, c, B, backend="bruteforce")
    assert bf.status == "optimal"
    _check(res, g, c, B)
    # float data: optimal within atol = 1e-12 LP*; 1e-9 covers the brute force's own rounding
    assert res.selection.value == pytest.approx(bf.selection.value, rel=1e-9, abs=1e-300)
    # the proven bound is value + atol (atol = 1e-12 LP*), up to the rounding of the value's sum
    assert res.bound <= res.selection.value * (1 + 1e-13) + res.extra["atol"] * (1 + 1e-9) + 1e-300


def test_core_decimal_costs_on_the_boundary():
    """Costs 0.1, 0.2 and B = 0.3: exactly, fl(0.1) + fl(0.2) > fl(0.3), so only one item fits."""
    g = np.array([1.0, 1.0])
    c = np.array([0.1, 0.2])
    res = core.solve_core(g, c, 0.3)
    assert res.status == "optimal" and res.selection.kept == 1
    res = core.solve_core(g, c, 0.30000000000000004)  # = fl(0.1 + 0.2): both fit exactly
    assert res.status == "optimal" and res.selection.kept == 2


def _gradient_like(d, seed, n_classes=None):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(d) * np.exp(rng.standard_normal(d))
    if n_classes:
        c = rng.choice(np.array([1.3e-9, 2.1e-9, 3.4e-9])[:n_classes], d)
    else:
        c = rng.choice([1.3e-9, 2.1e-9, 4.0e-9], d) * (1 + 0.1 * rng.random(d))
    return g, c


@pytest.mark.parametrize("kind", ["general", "classes2", "classes3"])
def test_core_equals_cvxpy_highs(kind):
    """d = 300 gradient-like instances: the core's optimum equals CVXPY + HiGHS (mip_rel_gap = 0)."""
    g, c = _gradient_like(300, seed=7, n_classes={"general": None, "classes2": 2, "classes3": 3}[kind])
    B = float(c.sum()) * 0.2
    res = solve_exact(g, c, B, backend="core")
    ref = solve_exact(g, c, B, backend="cvxpy", solver="HIGHS")
    assert ref.status == "optimal" and ref.proven_optimal
    _check(res, g, c, B)
    # HiGHS's own feasibility/optimality tolerances are ~1e-9 relative on this scaled model
    assert res.selection.value == pytest.approx(ref.selection.value, rel=1e-8)
    assert res.selection.value >= ref.selection.value * (1 - 1e-9)
    assert res.solver == ("minknap" if kind == "general" else "classes")


@pytest.mark.parametrize("family", ["uncorrelated", "weak", "classes"])
def test_core_equals_dp_at_d2000(family):
    """d = 2000 integer instances (B ~ 4e4): the core equals the DP backend exactly."""
    rng = np.random.default_rng(3)
    d = 2000
    if family == "uncorrelated":
        g = rng.integers(1, 40, d).astype(float)
        c = rng.integers(1, 40, d).astype(float)
    elif family == "weak":
        g = rng.integers(2, 9, d).astype(float)
        c = np.maximum(1, g * g + rng.integers(-8, 9, d)).astype(float)
    else:
        g = rng.integers(-30, 31, d).astype(float)
        c = rng.choice([3.0, 5.0], d)
    B = float(np.floor(c.sum() * 0.1))
    res = solve_exact(g, c, B, backend="core")
    dp = solve_exact(g, c, B, backend="dp")
    assert dp.status == "optimal"
    _check(res, g, c, B)
    assert res.selection.value == dp.selection.value


def test_core_greedy_sandwich_at_scale():
    """d = 1e5: greedy ≤ OPT ≤ LP* with the core's OPT, and the core's bound is within atol of it."""
    g, c = _gradient_like(100_000, seed=11)
    B = float(c.sum()) * 0.1
    res = solve_exact(g, c, B, backend="core")
    _check(res, g, c, B)
    for greedy in ("dantzig", "fill", "safe"):
        sel = cwmp_mask(g, c, budget=B, greedy=greedy)
        assert sel.value <= res.selection.value * (1 + 1e-12)  # greedy ≤ OPT (rounding of sums)
        assert sel.upper_bound == pytest.approx(res.selection.upper_bound, rel=1e-12)  # same LP*


def test_core_time_limit_reports_a_valid_bound():
    """A strongly correlated instance with a tiny time limit stops with status "time_limit", a feasible
    mask, proven_optimal False and value ≤ bound ≤ LP*."""
    rng = np.random.default_rng(5)
    d = 20_000
    g = rng.integers(11, 34, d).astype(float)
    c = g * g - 100.0  # v = c + 100: strongly correlated
    B = float(c.sum()) * 0.1
    res = solve_exact(g, c, B, backend="core", time_limit=0.05)
    assert res.status in ("time_limit", "optimal")
    m = res.selection.mask_numpy()
    assert float(c[m].sum()) <= B
    assert res.selection.value <= res.bound <= res.selection.upper_bound
    if res.status == "time_limit":
        assert not res.proven_optimal


@pytest.mark.parametrize("B", [0.0, 0.5, 1e9])
def test_core_trivial_budgets(B):
    """B = 0 and nothing-fits keep nothing; an all-fit budget keeps every nonzero coordinate."""
    g = np.array([1.0, -2.0, 0.0, 3.0])
    c = np.array([1.0, 2.0, 1.0, 3.0])
    res = solve_exact(g, c, B, backend="core")
    assert res.status == "optimal" and res.proven_optimal
    expect = [False] * 4 if B < 1 else [True, True, False, True]
    assert res.selection.mask_numpy().tolist() == expect


@pytest.mark.parametrize("bad", [
    dict(g=[1.0, float("nan")], c=[1.0, 1.0], budget=1.0),
    dict(g=[1.0, 2.0], c=[1.0, 0.0], budget=1.0),
    dict(g=[1.0, 2.0], c=[1.0], budget=1.0),
    dict(g=[1.0, 2.0], c=[1.0, 1.0], budget=-1.0),
    dict(g=[], c=[], budget=1.0),
])
def test_core_rejects_bad_input_like_cvxpy_backend(bad):
    """Bad input raises the same ValueError as the other backends."""
    with pytest.raises(ValueError) as ref_err:
        solve_exact(bad["g"], bad["c"], bad["budget"], backend="bruteforce")
    with pytest.raises(ValueError) as core_err:
        solve_exact(bad["g"], bad["c"], bad["budget"], backend="core")
    assert str(core_err.value) == str(ref_err.value)


def test_subset_sum_helper_is_exhaustive():
    """The test helper enumerates every subset (2^d sums)."""
    c = np.array([1.0, 2.0, 4.0])
    assert sorted(_subset_sums(c).tolist()) == [float(s) for s in range(8)]
    assert len(list(itertools.product([0, 1], repeat=3))) == 8
