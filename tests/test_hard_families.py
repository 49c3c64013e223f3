"""Pisinger's 2005 families (solvers/families.py) and the combo path of the core solver (issue 18).

Generators: integer data, ranges, each family's defining relation, determinism by seed.
Solver: every answer the core solver proves on small instances of every family
(n ≤ 200, R ≤ 1000) equals an independent O(nC) dynamic program written here;
the combo path is forced (ESCALATE_STATES = 0) and its history checkpoints,
pairing and core restarts are shrunk so that they run on small instances; a
solve stopped by its time limit or its memory cap never claims optimality and
its bound stays above the optimum.
"""

from __future__ import annotations

import contextlib
import math
import time
from fractions import Fraction

import numpy as np
import pytest

from solvers import bench as bench_mod
from solvers import core, solve_exact
from solvers.families import (HARD_FAMILIES, PISINGER_FAMILIES, hard_instance, make_instance, pisinger)

ALL_NAMES = PISINGER_FAMILIES + tuple(k for k in HARD_FAMILIES if k not in PISINGER_FAMILIES)
needs_numba = pytest.mark.skipif(not core.combo_available(), reason="the combo path needs numba")


# ----------------------------------------------------------------------------- generators


@pytest.mark.parametrize("R", [100, 10_000])
@pytest.mark.parametrize("family", PISINGER_FAMILIES)
def test_generator_relations(family, R):
    """Integer arrays, the paper's ranges, the family's defining relation and ⌊f·Σw⌋ capacity."""
    rng = np.random.default_rng(5)
    inst = pisinger(family, 2000, R, rng, capacity_fraction=0.3)
    p, w = inst.p, inst.w
    assert p.dtype == np.int64 and w.dtype == np.int64 and len(p) == len(w) == 2000
    assert p.min() >= 1 and w.min() >= 1
    assert inst.capacity == (3 * int(w.sum())) // 10
    K, E = R // 10, R // 500
    if family == "inverse_strongly_correlated":
        assert 1 <= p.min() and p.max() <= R and np.all(w == p + K)
    else:
        assert w.max() <= R
    if family == "uncorrelated":
        assert p.max() <= R
    elif family == "weakly_correlated":
        assert np.all((np.abs(p - w) <= K) | (p == 1))
    elif family == "strongly_correlated":
        assert np.all(p == w + K)
    elif family == "almost_strongly_correlated":
        assert np.all(np.abs(p - w - K) <= E)
    elif family == "subset_sum":
        assert np.all(p == w)
    elif family == "profit_ceiling":  # p = 3 ⌈w/3⌉
        assert np.all(p % 3 == 0) and np.all((w <= p) & (p < w + 3))
    elif family == "circle":  # p = ⌊(2/3) √(4R² − (w − 2R)²)⌋, checked as 9p² ≤ 4X < 9(p + 1)²
        X = [int(x) * (4 * R - int(x)) for x in w]
        assert all(9 * int(pp) ** 2 <= 4 * x < 9 * (int(pp) + 1) ** 2 for pp, x in zip(p, X))
    elif family == "spanner":  # multiples a·(p_k, w_k), a in 1..10, of v = 2 strongly correlated items
        ratios = {Fraction(int(a), int(b)) for a, b in zip(p, w)}
        assert len(ratios) <= 2
        for r in ratios:
            sel = np.array([Fraction(int(a), int(b)) == r for a, b in zip(p, w)])
            gw = int(np.gcd.reduce(w[sel]))
            assert w[sel].max() // gw <= 10
        assert w.max() <= R  # the spanner items were divided by m + 1


@pytest.mark.parametrize("name", ALL_NAMES)
def test_generator_is_deterministic_by_seed(name):
    """One seed, one instance; another seed, another instance."""
    a, b, c = (hard_instance(name, 500, 1000, s) for s in (3, 3, 4))
    assert np.array_equal(a.p, b.p) and np.array_equal(a.w, b.w) and a.capacity == b.capacity
    assert not (np.array_equal(a.p, c.p) and np.array_equal(a.w, c.w))


def test_generator_parameters_and_errors():
    """span(v, m), pceil(d) and circle(d) follow their parameters; bad input is one clear ValueError."""
    rng = np.random.default_rng(0)
    sp = pisinger("spanner", 3000, 1000, rng, v=5, m=3, spanner_of="uncorrelated")
    assert len({Fraction(int(a), int(b)) for a, b in zip(sp.p, sp.w)}) <= 5
    pc = pisinger("profit_ceiling", 500, 1000, rng, d=7)
    assert np.all(pc.p % 7 == 0) and np.all((pc.w <= pc.p) & (pc.p < pc.w + 7))
    ci = pisinger("circle", 500, 1000, rng, d=0.5)
    assert np.all(4 * ci.p ** 2 <= ci.w * (4000 - ci.w))
    for kw, msg in [(dict(family="nope"), "family"), (dict(R=5), "R must"), (dict(n=0), "n must"),
                    (dict(rng=np.random.RandomState(0)), "rng must"), (dict(capacity_fraction=1.0), "capacity"),
                    (dict(family="profit_ceiling", d=2.5), "integer d"),
                    (dict(family="spanner", spanner_of="subset_sum"), "spanner_of")]:
        args = dict(family="uncorrelated", n=10, R=100, rng=np.random.default_rng(0)) | kw
        with pytest.raises(ValueError, match=msg):
            pisinger(args.pop("family"), args.pop("n"), args.pop("R"), args.pop("rng"), **args)


def test_make_instance_keeps_the_old_families_and_adds_the_hard_ones():
    """The compare grid's families are unchanged; the hard names give g = √p, c = w, B = capacity."""
    old = make_instance("strongly_correlated", 100, 0.3, 0)
    assert old.c.max() <= 1000 and np.allclose(old.g ** 2, old.c + 100)
    for name in HARD_FAMILIES:
        inst = make_instance(name, 300, 0.3, 1, data_range=10_000)
        pi = hard_instance(name, 300, 10_000, 1, 0.3)
        assert np.array_equal(np.round(inst.g ** 2), pi.p) and np.array_equal(inst.c, pi.w)
        assert inst.budget == pi.capacity


# ----------------------------------------------------------------------------- solver


def dp_optimum(p: np.ndarray, w: np.ndarray, C: int) -> int:
    """Independent oracle: best[c] = the largest value of weight ≤ c, item by item (O(nC))."""
    best = np.zeros(C + 1, dtype=np.int64)
    for pj, wj in zip(p.tolist(), w.tolist()):
        if wj <= C:
            best[wj:] = np.maximum(best[wj:], best[:-wj] + pj if wj else best + pj)
    return int(best[C])


@contextlib.contextmanager
def combo_small(split_states: int = 1_000_000):
    """Force the hand-over to combo and shrink its checkpoints and pairing interval (and, with a small
    split_states, the first DP pass, so that the class split runs)."""
    old = core.ESCALATE_STATES, core.CHECKPOINT, core.PAIR_EVERY, core.CLASS_SPLIT_STATES
    core.ESCALATE_STATES, core.CHECKPOINT, core.PAIR_EVERY, core.CLASS_SPLIT_STATES = 0, 4, 3, split_states
    try:
        yield
    finally:
        core.ESCALATE_STATES, core.CHECKPOINT, core.PAIR_EVERY, core.CLASS_SPLIT_STATES = old


CASES = [(name, n, R, seed, frac) for name in ALL_NAMES for (n, R, seed, frac) in
         [(40, 100, 0, 0.3), (200, 1000, 1, 0.3), (120, 1000, 2, 0.5), (200, 300, 3, 0.1)]]


@needs_numba
@pytest.mark.parametrize("name, n, R, seed, frac", CASES)
def test_proven_answers_equal_an_independent_dp(name, n, R, seed, frac):
    """Every proven optimum (minknap, and combo forced) equals the O(nC) DP; the mask is feasible."""
    pi = hard_instance(name, n, R, seed, frac)
    opt = dp_optimum(pi.p, pi.w, pi.capacity)
    g, c = np.sqrt(pi.p.astype(float)), pi.w.astype(float)
    for forced in (False, True, "split"):
        with combo_small(4 if forced == "split" else 1_000_000) if forced else contextlib.nullcontext():
            res = solve_exact(g, c, float(pi.capacity), backend="core")
        m = res.selection.mask_numpy()
        assert int(pi.w[m].sum()) <= pi.capacity
        assert int(pi.p[m].sum()) == round(res.value)
        assert res.proven_optimal and res.status == "optimal", (name, forced, res.status)
        assert round(res.value) == opt, (name, forced, res.solver)
        assert res.bound >= opt - 1e-6
        if forced:
            assert res.solver in ("combo", "minknap", "classes", "lp-integral")


@needs_numba
@pytest.mark.parametrize("name", ALL_NAMES)
def test_combo_solve_directly_on_small_instances(name):
    """_combo_solve from the Dantzig prefix (no minknap first) proves the DP's optimum, seeds 0–4, with
    the first pass uncapped and capped at 4 states (so that the class split and its sides run)."""
    splits = 0
    for split_states in (1_000_000, 4):
        with combo_small(split_states):
            for seed in range(5):
                pi = hard_instance(name, 150, 1000, seed, 0.3)
                opt = dp_optimum(pi.p, pi.w, pi.capacity)
                out = core._combo_solve(pi.p, pi.w, pi.capacity, None, None)
                assert out.status == "optimal" and out.z == opt == out.bound, (name, seed, split_states)
                line = out.stats.get("class_split")
                assert line is None or line == "split" or line.startswith("no split: "), line
                assert line is None or "HiGHS" not in line or "Infeasible" in line, line
                splits += line == "split"
                assert int(pi.p[out.x].sum()) == opt and int(pi.w[out.x].sum()) <= pi.capacity
    if name.startswith("circle"):  # the family the split is for: it runs (and proves) on every seed
        assert splits == 5, (name, splits)


def dp_class_optima(p: np.ndarray, w: np.ndarray, C: int, heavy: np.ndarray) -> np.ndarray:
    """Independent oracle: best[h] = the largest value of weight ≤ C with exactly h items of the class
    `heavy` (−1 if none), by a DP over (class count, weight), item by item (O(n·C·n_heavy))."""
    nh = int(heavy.sum())
    best = np.full((nh + 1, C + 1), -1, dtype=np.int64)
    best[0, :] = 0
    for pj, wj, hj in zip(p.tolist(), w.tolist(), heavy.tolist()):
        if wj > C:
            continue
        src = best[:, :C + 1 - wj]
        cand = np.where(src >= 0, src + pj, -1)
        if hj:
            best[1:, wj:] = np.maximum(best[1:, wj:], cand[:-1])
        else:
            best[:, wj:] = np.maximum(best[:, wj:], cand)
    return best[:, C]


@needs_numba
def test_class_split_bounds_each_side():
    """Each side of the class split bounds every improving solution on that side: for h ≤ ⌊h*⌋ and
    for h ≥ ⌊h*⌋ + 1 items of weight ≥ tau, the best value with that count (oracle: a DP over
    count and weight) is < the target z + gcd or ≤ the side's bound; a split that cuts the LP's
    fractional count lowers the larger side's bound below U_card (counted); and the sides' DP
    stopped by a deadline already past or a 1-byte memory cap never claims optimality."""
    tested = lowered = stopped = 0
    for name, seed in ((name, seed) for name in ALL_NAMES for seed in range(6)):
        pi = hard_instance(name, 60, 100, seed, 0.3)
        p, w, C = pi.p, pi.w, int(pi.capacity)
        n = len(p)
        order = np.lexsort((np.arange(n), -(p / w)))
        cw = np.cumsum(w[order])
        b = int(np.searchsorted(cw, C, side="right"))
        if b >= n:
            continue
        z = int(p[order[:b]].sum())  # the Dantzig prefix, as _combo_solve starts
        gp = int(np.gcd.reduce(p))
        k_max = int(np.searchsorted(np.cumsum(np.sort(w)), C, side="right"))
        k_min = int(np.searchsorted(np.cumsum(np.sort(p)[::-1]), gp * (z // gp + 1), side="left")) + 1
        if k_min > k_max:
            continue
        mu = core._card_multipliers(p, w, C, k_min, k_max, None)
        tau = int(w[order[b]]) - (C - (int(cw[b - 1]) if b else 0))
        split = core._class_split(p, w, C, k_min, k_max, mu, z, gp, tau)
        if isinstance(split, str):  # why not; HiGHS never fails outright (an infeasible side may be)
            assert split.startswith("no split: ") and ("HiGHS" not in split or "Infeasible" in split), split
            continue
        tested += 1
        best = dp_class_optima(p, w, C, w >= tau)
        h1 = int(np.floor(split.h_star + 1e-9))
        T = gp * (z // gp + 1)
        (U_a, mu_a), (U_b, mu_b) = split.branches
        assert mu_a.NQ >= 0 and mu_b.NQ <= 0 and mu_a.tau == mu_b.tau == tau
        opt_a, opt_b = int(best[:h1 + 1].max()), int(best[h1 + 1:].max(initial=-1))
        assert opt_a < T or opt_a <= U_a, (name, seed, opt_a, U_a)
        assert opt_b < T or opt_b <= U_b, (name, seed, opt_b, U_b)
        lowered += max(U_a, U_b) < mu.num // mu.Q
        # the sides' DP stopped by the deadline or the memory cap: never proven, z ≤ OPT ≤ bound
        opt = int(best.max())
        for limit in ("time", "memory"):
            with combo_small():
                zz, xx, st, bd = core._class_split_run(
                    p, w, split, z, gp, time.perf_counter() - 1.0 if limit == "time" else None,
                    1 if limit == "memory" else core.COMBO_MEM_MAX, dict.fromkeys(
                        ("states_max", "levels", "restarts", "pair_hits", "core"), 0))
            assert zz <= opt <= max(bd, zz) and (st == "optimal") <= (zz == opt), (name, seed, limit, st)
            if xx is not None:
                assert int(p[xx].sum()) == zz and int(w[xx].sum()) <= C
            stopped += st == f"{limit}_limit"
    print(f"class split: {tested} instances split, {lowered} with a lower bound, {stopped} sides stopped")
    assert tested >= 20 and lowered >= 5 and stopped >= 10, (tested, lowered, stopped)


def test_class_lp_runs_beside_another_highs_user():
    """HiGHS fixes its thread pool once a process: the class LP, asked for after CVXPY's HiGHS has run
    (as in a test session or `cwmp compare`), still solves, and CVXPY after it too (the LP once
    asked for one thread and then failed with an error in such a process)."""
    import cvxpy as cp

    x = cp.Variable(3, boolean=True)
    cp.Problem(cp.Maximize(np.ones(3) @ x), [np.ones(3) @ x <= 2]).solve(solver="HIGHS")
    pi = hard_instance("circle_2_3", 60, 100, 1, 0.3)
    p, w, C = pi.p, pi.w, int(pi.capacity)
    out = core._class_lp_duals(p, w, C, 0, len(p), w >= 30, np.zeros(len(p)))
    assert not isinstance(out, str), out
    h_star, h1, sides = out
    assert h1 == math.floor(h_star) != h_star
    assert 0 <= h_star <= int((w >= 30).sum()) and len(sides) == 2
    y = cp.Variable(3, boolean=True)
    prob = cp.Problem(cp.Maximize(np.array([3.0, 2.0, 1.0]) @ y), [np.ones(3) @ y <= 2])
    prob.solve(solver="HIGHS")
    assert prob.status == "optimal" and round(prob.value) == 5


@needs_numba
@pytest.mark.parametrize("limit", ["time", "memory"])
def test_stopped_combo_never_claims_optimality(limit):
    """Stopped by the deadline or the memory cap: status says so, proven False, z ≤ OPT ≤ bound."""
    hits = 0
    for name in ALL_NAMES:
        for seed in range(3):
            pi = hard_instance(name, 200, 1000, seed, 0.3)
            opt = dp_optimum(pi.p, pi.w, pi.capacity)
            with combo_small():
                if limit == "time":
                    out = core._combo_solve(pi.p, pi.w, pi.capacity, None, time.perf_counter() - 1.0)
                else:
                    out = core._combo_solve(pi.p, pi.w, pi.capacity, None, None, mem_max=1)
            assert out.z <= opt <= out.bound
            assert int(pi.p[out.x].sum()) == out.z and int(pi.w[out.x].sum()) <= pi.capacity
            if out.status == "optimal":
                assert out.z == opt  # the root bounds alone proved it
            else:
                assert out.status == f"{limit}_limit"
                hits += 1
    assert hits >= 10  # the limits were really reached


@needs_numba
def test_time_limit_through_solve_exact_is_never_proven():
    """The slowest of the issue's instances (almost strongly correlated, n = 10⁵, R = 10⁶: 4.4 s to
    prove here) under a 0.5 s limit: time_limit, not proven, feasible mask, value ≤ bound ≤ LP*,
    and the call returns promptly."""
    pi = hard_instance("almost_strongly_correlated", 100_000, 1_000_000, 0, 0.3)
    g, c = np.sqrt(pi.p.astype(float)), pi.w.astype(float)
    core._combo_kernels()  # compile (or load the cache) outside the timed call
    t0 = time.perf_counter()
    res = solve_exact(g, c, float(pi.capacity), backend="core", time_limit=0.5)
    wall = time.perf_counter() - t0
    assert res.status == "time_limit" and not res.proven_optimal
    assert wall < 3.0
    m = res.selection.mask_numpy()
    assert int(pi.w[m].sum()) <= pi.capacity
    assert res.value <= res.bound <= res.selection.upper_bound * (1 + 1e-12)
    assert math.isfinite(res.bound)


@needs_numba
def test_bench_exact_hard_records_every_method(tmp_path):
    """`cwmp bench --only exact-hard` on a tiny grid: core (fresh process), OR-Tools and HiGHS per
    instance, core proven with its states and peak RSS, the targets computed."""
    from solvers import bench

    cfg = dict(bench.HARD, hard_families=("strongly_correlated",), hard_dims=(300,), hard_ranges=(1000,),
               hard_core_time_limit=20.0, hard_time_limit=2.0, hard_time_limit_1e5=2.0)
    out = bench.bench_exact_hard(cfg, lambda msg: None)
    methods = [r["method"] for r in out["records"]]
    assert methods == ["core", "ortools", "cvxpy_highs", "mt2"]
    core_rec = out["records"][0]
    assert core_rec["proven_optimal"] and core_rec["extra"]["feasible"]
    assert core_rec["extra"]["peak_rss_bytes"] > 0 and core_rec["extra"]["states_max"] >= 1
    pi = hard_instance("strongly_correlated", 300, 1000, 0, 0.3)
    assert core_rec["value"] == dp_optimum(pi.p, pi.w, pi.capacity)
    assert [t["name"] for t in out["targets"]] == ["hard_families_proven", "hard_families_goal"]
    assert out["targets"][0]["met"]
    mt2 = out["records"][3]
    if bench._mt2_python() is None:
        assert mt2["status"].startswith("skipped: mknapsack not installed") and mt2["seconds"] == []
    else:  # installed (scripts/mt2_env.sh): MT2 proves the same optimum
        assert mt2["status"] == "optimal" and mt2["value"] == core_rec["value"]


def _stub_python(tmp_path, body: str) -> str:
    """A stand-in for the MT2 interpreter: a shell script called as `python child.py instance.npz`."""
    path = tmp_path / "python"
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_mt2_wrapper_statuses(tmp_path):
    """_mt2: not installed and 32-bit overflow are skipped without starting a process (the
    interpreter given does not exist); a child past the limit is killed (time_limit, not proven); an
    answer is checked against the capacity (feasible: optimal, else an error, never proven)."""
    from solvers import bench

    p, w = np.array([5, 4, 3], np.int64), np.array([3, 2, 2], np.int64)
    assert bench._mt2(p, w, 4, 5.0, None)["status"].startswith("skipped: mknapsack not installed")
    for C, pp, ww in ((2 ** 31, p, w), (4, np.array([2 ** 30, 2 ** 30, 1], np.int64), w),
                      (4, np.array([2 ** 16, 1, 1], np.int64), np.array([2 ** 15, 1, 1], np.int64))):
        r = bench._mt2(pp, ww, C, 5.0, str(tmp_path / "missing-python"))
        assert r["status"].startswith("skipped: int32 overflow"), r
    t0 = time.perf_counter()
    r = bench._mt2(p, w, 4, 0.5, _stub_python(tmp_path, "sleep 30"))
    assert r["status"] == "time_limit" and r["proven_optimal"] is False and time.perf_counter() - t0 < 10
    ok = _stub_python(tmp_path, """echo '{"seconds": 0.25, "value": 7, "weight": 4, "capacity": 4}'""")
    r = bench._mt2(p, w, 4, 5.0, ok)
    assert (r["status"], r["proven_optimal"], r["value"], r["seconds"]) == ("optimal", True, 7, 0.25)
    bad = _stub_python(tmp_path, """echo '{"seconds": 0.25, "value": 9, "weight": 5, "capacity": 4}'""")
    r = bench._mt2(p, w, 4, 5.0, bad)
    assert r["status"] == "error: infeasible answer" and not r["proven_optimal"]
    r = bench._mt2(p, w, 4, 5.0, _stub_python(tmp_path, "echo boom >&2; exit 3"))
    assert r["status"] == "error: exit 3: boom"


@pytest.mark.skipif(bench_mod._mt2_python() is None, reason="MT2 not installed (bash scripts/mt2_env.sh)")
@pytest.mark.parametrize("name", ALL_NAMES)
def test_mt2_matches_the_independent_dp(name):
    """Where mknapsack is installed: MT2 (exact mode) in its own interpreter returns the DP's optimum.
    (n = 60: at n = 120 MT2 already runs past 5 s on both spanner families.)"""
    from solvers import bench

    pi = hard_instance(name, 60, 1000, 2, 0.3)
    r = bench._mt2(pi.p, pi.w, pi.capacity, 30.0, bench._mt2_python())
    assert r["status"] == "optimal" and r["value"] == dp_optimum(pi.p, pi.w, pi.capacity), r


def test_peak_rss_is_the_childs_own():
    """The bench's core child reports its own peak RSS, not its parent's: a parent holding 300 MB
    spawns a child whose peak stays far below (ru_maxrss, inherited across fork and exec on
    Linux, reported the parent's peak for every child)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from solvers import bench

    held = np.ones(300 * 2 ** 20 // 8)
    held += 1.0  # touch every page
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as ex:
        child = ex.submit(bench._peak_rss_bytes).result()
    assert bench._peak_rss_bytes() >= held.nbytes
    assert 0 < child < 200 * 2 ** 20, child


def test_mt2_child_dies_with_the_bench(tmp_path):
    """A bench killed mid-run takes its MT2 child with it (PR_SET_PDEATHSIG on Linux): the stub
    interpreter, started by bench._mt2 in a process that is then killed, is gone within seconds."""
    import os
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    pidfile = tmp_path / "pid"
    stub = _stub_python(tmp_path, f"echo $$ > {pidfile}; exec sleep 60")
    code = ("import numpy as np; from solvers import bench; "
            f"bench._mt2(np.array([1]), np.array([1]), 1, 120.0, {stub!r})")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    proc.kill()
    proc.wait(timeout=10)

    def alive() -> bool:
        try:
            with open(f"/proc/{pid}/status") as f:
                return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    still = alive()
    if still:
        os.kill(pid, 9)
    assert not still, "the MT2 child outlived the bench"
