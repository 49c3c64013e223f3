"""The fast exact solver `solve_exact(..., backend="core")` against independent oracles.

Oracles: the brute-force and DP backends of solvers/exact.py, CVXPY + HiGHS (MILP),
and the definition of a proven bound. The core's window and the fast selection's
sample sizes are shrunk inside tests so that window growth, re-splitting and the
Dembo–Hammer certificate run on small instances.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solvers import cwmp_mask, solve_exact, solve_lp
from solvers import core, fast
from solvers.families import make_instance
from tests.strategies import scaled_examples

# 2x the profile's count: 120 under ci (as before), 2000 under thorough
SETTINGS = dict(deadline=None, max_examples=scaled_examples(2), suppress_health_check=[HealthCheck.too_slow])


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


@pytest.mark.parametrize("family", ["strongly_correlated", "inverse_strongly_correlated"])
def test_core_time_limit_stops_in_time_with_a_valid_bound(family):
    """Pisinger's strongly correlated families at d = 50 000 (B = Σc/2) cannot be solved in 0.05 s
    (d = 20 000 takes seconds without a limit): the solver must stop with status "time_limit",
    well within 1 s of wall time, with a feasible mask, proven_optimal False and
    value ≤ bound ≤ LP* (LP* from solvers.solve_lp, Dantzig)."""
    inst = make_instance(family, 50_000, 0.5, seed=0)
    g, c, B = inst.g, inst.c, inst.budget
    t0 = time.perf_counter()
    res = solve_exact(g, c, B, backend="core", time_limit=0.05)
    wall = time.perf_counter() - t0
    assert res.status == "time_limit" and not res.proven_optimal and res.solver == "minknap"
    assert wall < 0.5 and res.seconds < 0.5  # the deadline is honoured promptly (setup included)
    m = res.selection.mask_numpy()
    assert math.fsum(c[m].tolist()) <= B  # integer costs: the sum is exact
    v = g.astype(np.float64) ** 2
    assert res.selection.value == pytest.approx(math.fsum(v[m].tolist()), rel=1e-12)
    lp = solve_lp(g, c, B).value
    assert res.selection.value <= res.bound <= lp * (1 + 1e-12)
    assert res.selection.upper_bound == pytest.approx(lp, rel=1e-12)
    assert res.selection.value >= 0.99 * lp  # a real incumbent, not the empty set


def _brute_optima(v: np.ndarray, c: np.ndarray, B: float) -> tuple[float, np.ndarray]:
    """Independent oracle: every subset of d ≤ 16 items; (OPT, the masks attaining it)."""
    d = len(v)
    assert d <= 16
    bits = ((np.arange(2 ** d)[:, None] >> np.arange(d)) & 1).astype(bool)  # row i = binary digits of i
    cost = bits.astype(float) @ c
    val = bits.astype(float) @ v
    feas = cost <= B
    best = float(val[feas].max())
    return best, bits[feas & (val == best)]


WHOLE_CLASS = {
    # cheap class partly, the whole dear class (the class enumerated on the grid, k = n)
    "grid-class": (np.r_[2, 3, 4, 5, 6, 7, 10, 11, 12.0], np.r_[[10.0] * 6, [30.0] * 3], 115.0),
    # the whole cheap class (the closed-form class, its count clipped at its size) + one dear item
    "closed-form-class": (np.r_[7, 8, 9, 10, 11, 10, 9, 8.0], np.r_[[10.0] * 5, [25.0] * 3], 80.0),
    # three classes: the optimum is the whole dearest class and nothing else (LP prefix: 74 < 85)
    "three-classes": (np.r_[3, 2, 4, 3, 7, 6.0], np.r_[1, 1, 3, 3, 7, 7.0], 14.0),
    # the same in float: FL-like costs (J) and non-integer g
    "three-classes-float": (1.7 * np.r_[3, 2, 4, 3, 7, 6.0], 1.1e-9 * np.r_[1, 1, 3, 3, 7, 7.0], 14.5 * 1.1e-9),
}


@pytest.mark.parametrize("tiny", [False, True], ids=["window", "tiny-window"])
@pytest.mark.parametrize("name", list(WHOLE_CLASS))
def test_core_class_enumeration_takes_a_whole_class(name, tiny):
    """Edge of the ≤ 3-cost-class method (`_class_solve`): the unique optimum keeps every item of one
    cost class. Oracle: itertools brute force over all 2^d subsets; the class path must return exactly
    that mask (solver "classes"), with per-class counts equal to the brute-force mask's."""
    g, c, B = WHOLE_CLASS[name]
    v = g ** 2
    best, optima = _brute_optima(v, c, B)
    assert len(optima) == 1
    want = optima[0]
    classes = np.unique(c)
    whole = [x for x in classes if want[c == x].all()]
    assert whole, "the instance must exercise the whole-class edge"
    ctx = tiny_core() if tiny else contextlib.nullcontext()
    with ctx:
        res = core.solve_core(g, c, B)
    _check(res, g, c, B)
    assert res.solver == "classes"
    assert res.selection.mask_numpy().tolist() == want.tolist()
    assert res.selection.value == pytest.approx(best, rel=1e-12)
    assert res.extra["counts"] == [int(want[c == x].sum()) for x in classes]
    if name.startswith("three"):  # here the whole class is not the LP prefix: greedy CWMP falls short
        assert cwmp_mask(g, c, budget=B).value < best * (1 - 1e-3)


def test_core_class_enumeration_whole_class_sweep():
    """Seeded sweep of 2–3-class integer instances (d 8–16) whose unique optimum (itertools brute
    force) keeps a whole cost class: the core returns that mask and value exactly."""
    checked = by_class = 0
    for seed in range(200):
        rng = np.random.default_rng([11, seed])
        d, L = int(rng.integers(8, 17)), int(rng.integers(2, 4))
        vals = rng.choice(np.arange(1, 10), L, replace=False).astype(float)
        c = vals[rng.integers(0, L, d)]
        g = rng.integers(1, 13, d).astype(float)
        B = float(rng.integers(1, int(c.sum())))
        best, optima = _brute_optima(g ** 2, c, B)
        if len(optima) != 1 or not any(optima[0][c == x].all() for x in vals):
            continue
        res = core.solve_core(g, c, B)
        _check(res, g, c, B)
        assert res.selection.value == best, seed  # integers: exact
        assert res.selection.mask_numpy().tolist() == optima[0].tolist(), seed
        checked += 1
        by_class += res.solver == "classes"
    assert checked >= 40 and by_class >= 0.9 * checked  # the edge is really exercised


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
