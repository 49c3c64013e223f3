"""Claims C1–C8 of docs/THEORY.md §3 as property tests against independent oracles.

Oracles: itertools brute force (tests/strategies.py), the DP and CVXPY backends,
scipy.optimize.linprog for the LP. Each claim's test is named test_C<n>_*.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, find, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from solvers import cwmp_mask, random_mask, solve_exact, solve_lp, topk_mask
from solvers.lp import dantzig_lp
from tests.strategies import brute_opt, instances

REL = 1e-9  # relative float tolerance for sums compared in different orders
GREEDY = ("dantzig", "fill", "safe")


def all_greedy_selections(g, c, B):
    out = {f"cwmp-{s}-{gr}": cwmp_mask(g, c, budget=B, score=s, greedy=gr) for s in ("l2", "paper")
           for gr in GREEDY}
    out |= {f"topk-{gr}": topk_mask(g, c=c, budget=B, greedy=gr) for gr in GREEDY}
    out["random"] = random_mask(g, c=c, budget=B, rng=np.random.default_rng(0))
    return out


@given(instances(max_d=12))
def test_C1_every_greedy_mask_is_feasible(inst):
    """Property: every greedy/Top-K/random budget-mode mask spends at most B (J)."""
    g, c, B = inst
    for name, sel in all_greedy_selections(g, c, B).items():
        mask = sel.mask
        assert float(c[mask].sum()) <= B * (1 + REL) + 1e-300, name  # summation-order rounding only
        assert sel.energy == pytest.approx(float(c[mask].sum()), rel=REL)
        assert sel.value == pytest.approx(float((g[mask] ** 2).sum()), rel=REL)


@given(instances(max_d=12))
def test_C2_dantzig_equals_lp_solvers(inst):
    """Property: Dantzig's value equals the LP optimum of scipy linprog and CVXPY/HiGHS."""
    g, c, B = inst
    v = g**2
    lp = solve_lp(g, c, B)
    fit = c <= B
    if fit.any():
        ref = linprog(-v[fit], A_ub=c[fit][None, :], b_ub=[B], bounds=(0, 1), method="highs")
        assert ref.status == 0, ref.message  # scipy HiGHS: 0 = optimal
        ref_value = -ref.fun
    else:
        ref_value = 0.0
    scale = max(1.0, float(v.sum()))
    assert lp.value == pytest.approx(ref_value, abs=1e-7 * scale)  # HiGHS primal/dual tol ~1e-7
    cv = solve_lp(g, c, B, backend="cvxpy")
    assert cv.status == "optimal"
    assert cv.value == pytest.approx(lp.value, abs=1e-6 * scale)
    # KKT at Dantzig's point: x_i = 1 above the price, 0 below.
    ratio = np.divide(v, c)
    elig = fit & (v > 0)
    assert np.all(lp.x[elig & (ratio > lp.dual_price * (1 + 1e-12))] == 1.0)
    assert np.all(lp.x[ratio < lp.dual_price * (1 - 1e-12)] == 0.0)


@given(instances(max_d=10))
def test_C3_sandwich_and_certified_gap(inst):
    """Property: dantzig ≤ fill ≤ OPT ≤ LP* ≤ dantzig + v_b, and certified gap ≥ true gap."""
    g, c, B = inst
    v = g**2
    opt = brute_opt(v, c, B)
    dz = cwmp_mask(g, c, budget=B, greedy="dantzig")
    fl = cwmp_mask(g, c, budget=B, greedy="fill")
    lp_value, _, _, b = dantzig_lp(v, c, B)
    vb = float(v[b]) if b is not None else 0.0
    tol = REL * max(1.0, float(v.sum()))
    assert dz.value <= fl.value + tol
    assert fl.value <= opt + tol
    assert opt <= lp_value + tol
    assert lp_value <= dz.value + vb + tol
    assert dz.upper_bound == pytest.approx(lp_value, rel=REL, abs=1e-300)
    if opt > 0:
        true_gap = (opt - dz.value) / opt
        assert dz.certified_gap >= true_gap - 1e-9
        assert dz.certified_gap <= vb / lp_value + 1e-9  # the a-priori bound v_b / LP*


@given(instances(max_d=10, integer=True))
def test_C4_exact_when_everything_fits_or_residual_zero(inst):
    """Property: greedy = OPT when all eligible items fit, or when the Dantzig prefix uses B exactly."""
    g, c, B = inst
    v = g**2
    opt = solve_exact(g, c, B, backend="dp")
    assert opt.status == "optimal" and opt.proven_optimal
    assert opt.value == pytest.approx(brute_opt(v, c, B), rel=REL)
    dz = cwmp_mask(g, c, budget=B)
    lp_value, _, _, b = dantzig_lp(v, c, B)
    if b is None or lp_value == pytest.approx(dz.value, rel=1e-12):  # all fit / integral LP
        assert dz.value == pytest.approx(opt.value, rel=REL)
    # Residual-zero construction: budget = prefix cost of the ratio order (integer data: exact).
    order = np.argsort(-(v / c), kind="stable")
    order = order[v[order] > 0]
    for n in range(len(order) + 1):
        Bn = float(c[order[:n]].sum())
        if np.all(c[order[:n]] <= Bn):
            sel = cwmp_mask(g, c, budget=Bn)
            assert sel.value == pytest.approx(brute_opt(v, c, Bn), rel=REL), n


@given(st.integers(1, 10), st.integers(1, 20), st.lists(st.floats(-10, 10), min_size=1, max_size=10),
       st.integers(0, 12))
def test_C4_equal_costs_cwmp_equals_topk_equals_opt(cost, _unused, gl, kb):
    """Property: with equal costs c0, CWMP = Top-K (K = ⌊B/c0⌋) = OPT, both scores, all greedy rules."""
    g = np.array(gl)
    c = np.full(len(g), float(cost))
    B = float(kb * cost)  # integer data: ⌊B/c0⌋ = kb exactly
    opt = brute_opt(g**2, c, B)
    K = min(kb, len(g))
    topk = topk_mask(g, k=K)
    for score in ("l2", "paper"):
        for gr in GREEDY:
            sel = cwmp_mask(g, c, budget=B, score=score, greedy=gr)
            assert sel.value == pytest.approx(opt, rel=REL, abs=1e-12)
        assert cwmp_mask(g, c, k=K, score=score).value == pytest.approx(topk.value, rel=REL)
    assert topk.value == pytest.approx(opt, rel=REL, abs=1e-12)


@given(instances(max_d=10))
def test_C5_safe_is_half_approximation(inst):
    """Property: the safe rule keeps at least OPT/2 (brute-force OPT)."""
    g, c, B = inst
    opt = brute_opt(g**2, c, B)
    for score in ("l2", "paper"):
        assert cwmp_mask(g, c, budget=B, score=score, greedy="safe").value >= opt / 2 - REL * max(opt, 1)


def test_C5_half_is_tight():
    """The family s=(ε, ε(1+ε)), two unit items, B=2: safe/OPT = (1+ε(1+ε))/2 → 1/2."""
    ratios = []
    for eps in (1e-1, 1e-2, 1e-3, 1e-4):
        v = np.array([eps * (1 + eps), 1.0, 1.0])
        c = np.array([eps, 1.0, 1.0])
        g = np.sqrt(v)
        safe = cwmp_mask(g, c, budget=2.0, greedy="safe")
        opt = solve_exact(g, c, 2.0, backend="bruteforce")
        assert opt.value == pytest.approx(2.0)
        ratios.append(safe.value / opt.value)
        assert safe.value / opt.value == pytest.approx((1 + eps * (1 + eps)) / 2, rel=1e-12)
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] < 0.5001


def test_C6_explicit_counterexample():
    """g=(1,10), c=(0.01,10), B=10: dantzig 1, exact 100, safe 100, budget Top-K 100."""
    g, c = np.array([1.0, 10.0]), np.array([0.01, 10.0])
    assert cwmp_mask(g, c, budget=10, greedy="dantzig").value == pytest.approx(1.0)
    assert cwmp_mask(g, c, budget=10, greedy="fill").value == pytest.approx(1.0)
    assert cwmp_mask(g, c, budget=10, greedy="safe").value == pytest.approx(100.0)
    assert topk_mask(g, c=c, budget=10).value == pytest.approx(100.0)
    for backend in ("bruteforce", "cvxpy"):
        ex = solve_exact(g, c, 10, backend=backend)
        assert ex.status == "optimal" and ex.proven_optimal, backend
        assert ex.value == pytest.approx(100.0, rel=1e-9), backend


@pytest.mark.parametrize("M", [1e2, 1e4, 1e8])
def test_C6_greedy_ratio_unbounded(M):
    """v=(1, M), c=(5/M, 10), B=10 (ratios 0.2·M² > 0.1·M): dantzig/OPT = 1/M → 0."""
    g, c = np.array([1.0, np.sqrt(M)]), np.array([5.0 / M, 10.0])
    assert cwmp_mask(g, c, budget=10).value / solve_exact(g, c, 10, backend="bruteforce").value == \
        pytest.approx(1 / M)


def test_C6_hypothesis_finds_counterexamples_by_itself():
    """Search (no hint) for instances where dantzig < OPT/2, and where dantzig < budget Top-K / 2."""
    # A search budget for find(), not a property test's example count: find() stops at the first hit,
    # so a profile has nothing to raise here; the budget only has to be large enough to succeed.
    cfg = settings(derandomize=True, max_examples=2000, database=None)

    def bad_vs_opt(inst):
        g, c, B = inst
        return cwmp_mask(g, c, budget=B).value < 0.5 * brute_opt(g**2, c, B)

    def bad_vs_topk(inst):
        g, c, B = inst
        return cwmp_mask(g, c, budget=B).value < 0.5 * topk_mask(g, c=c, budget=B).value

    for cond in (bad_vs_opt, bad_vs_topk):
        g, c, B = find(instances(max_d=4, zeros=False), cond, settings=cfg)
        assert cond((g, c, B))


def _find(cond, max_tries: int = 20000, seed: int = 7):
    """Deterministic seeded search over small random instances (no timing dependence).

    Draws d in 2..6, |g| log-uniform in [1e-2, 1e2] and c log-uniform in [1e-2, 1e2],
    B a uniform fraction of Σc; returns the first instance satisfying `cond`, else None.
    """
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        d = int(rng.integers(2, 7))
        g = 10.0 ** rng.uniform(-2, 2, size=d) * rng.choice([-1.0, 1.0], size=d)
        c = 10.0 ** rng.uniform(-2, 2, size=d)
        inst = (g, c, float(rng.uniform(0.05, 1.0) * c.sum()))
        if cond(inst):
            return inst
    return None


def test_C7_scores_agree_with_equal_costs_and_each_wins_sometimes():
    """paper and l2 rank identically under equal costs; each beats the other on P and on L1."""
    rng = np.random.default_rng(1)
    g = rng.normal(size=50)
    c = np.full(50, 0.3)
    for gr in GREEDY:
        a = cwmp_mask(g, c, budget=4.0, score="l2", greedy=gr).mask
        b = cwmp_mask(g, c, budget=4.0, score="paper", greedy=gr).mask
        assert np.array_equal(a, b)

    def l1(g, sel):
        return float(np.abs(g[sel.mask]).sum())

    def p(g, c, B, s):
        return cwmp_mask(g, c, budget=B, score=s)

    found = {
        "l2 beats paper on P": _find(lambda i: p(*i, "l2").value > p(*i, "paper").value * 1.01),
        "paper beats l2 on L1": _find(lambda i: l1(i[0], p(*i, "paper")) > l1(i[0], p(*i, "l2")) * 1.01),
        "l2 beats paper on L1": _find(lambda i: l1(i[0], p(*i, "l2")) > l1(i[0], p(*i, "paper")) * 1.01),
    }
    missing = [name for name, inst in found.items() if inst is None]
    assert not missing, missing
    # Rare under random search (paper must rank a smaller-|g| item first and l2's pick must block):
    # explicit instance. l2 takes the g=3 item (ratio 3) and blocks both g=2.5 items.
    g, c, B = np.array([3.0, 2.5, 2.5]), np.array([3.0, 2.4, 2.4]), 4.8
    assert p(g, c, B, "l2").value == pytest.approx(9.0)
    assert p(g, c, B, "paper").value == pytest.approx(12.5)
    assert solve_exact(g, c, B, backend="bruteforce").value == pytest.approx(12.5)


@given(instances(max_d=9))
def test_C8_opt_and_lp_monotone_in_budget(inst):
    """Property: OPT(B) and LP*(B) are non-decreasing in B."""
    g, c, B = inst
    v = g**2
    Bs = sorted({B, B * 0.5, B * 1.5, B + 0.1})
    opts = [brute_opt(v, c, b) for b in Bs]
    lps = [dantzig_lp(v, c, b)[0] for b in Bs]
    tol = REL * max(1.0, float(v.sum()))
    assert all(x <= y + tol for x, y in zip(opts, opts[1:]))
    assert all(x <= y + tol for x, y in zip(lps, lps[1:]))


def test_C8_greedy_is_not_monotone_in_budget():
    """Counterexample: growing B makes a big item eligible that blocks the prefix (dantzig 18 → 10)."""
    v = np.array([10.0, 27.0, 8.0, 7.0])  # ratios 10, 9, 8, 7 with costs 1, 3, 1, 1
    c = np.array([1.0, 3.0, 1.0, 1.0])
    g = np.sqrt(v)
    assert cwmp_mask(g, c, budget=2.9).value == pytest.approx(18.0)
    assert cwmp_mask(g, c, budget=3.0).value == pytest.approx(10.0)
    found = _find(lambda i: cwmp_mask(i[0], i[1], budget=i[2]).value >
                  cwmp_mask(i[0], i[1], budget=i[2] * 1.1).value * 1.01)
    assert found is not None


@given(instances(max_d=10), st.integers(-20, 20), st.randoms(use_true_random=False))
def test_C8_invariances(inst, log2_scale, rnd):
    """Property: scaling g, scaling (c, B) together (powers of two: exact in float), and permuting
    coordinates (distinct scores, so no tie-breaking by index) leave the selection unchanged."""
    g, c, B = inst
    a = 2.0**log2_scale
    for score in ("l2", "paper"):
        for gr in GREEDY:
            base = cwmp_mask(g, c, budget=B, score=score, greedy=gr).mask
            assert np.array_equal(base, cwmp_mask(g * a, c, budget=B, score=score, greedy=gr).mask)
            assert np.array_equal(base, cwmp_mask(-g, c, budget=B, score=score, greedy=gr).mask)
            assert np.array_equal(base, cwmp_mask(g, c * a, budget=B * a, score=score, greedy=gr).mask)
    s = g**2 / c
    assume(len(np.unique(s)) == len(s) and len(np.unique(np.abs(g) / c)) == len(s))
    assume(len(np.unique(g**2)) == len(g))  # safe's best single item must be unique too
    perm = np.array(rnd.sample(range(len(g)), len(g)))
    for score in ("l2", "paper"):
        for gr in GREEDY:
            base = cwmp_mask(g, c, budget=B, score=score, greedy=gr).mask
            permuted = cwmp_mask(g[perm], c[perm], budget=B, score=score, greedy=gr).mask
            assert np.array_equal(base[perm], permuted)
