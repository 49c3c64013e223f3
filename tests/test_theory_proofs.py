"""theory/proofs.py: the z3 encoding agrees with the float solvers, and the bounded proofs decide.

Oracles: ``cwmp_mask(impl="reference")`` (sort-based walk), ``solve_exact(backend="bruteforce")`` and
``solve_lp`` evaluated on the same instances the SMT terms are evaluated at (in exact rationals).
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

z3 = pytest.importorskip("z3", reason="z3-solver is in the [test] extra")

from solvers import cwmp_mask, solve_exact, solve_lp  # noqa: E402
from theory import proofs as P  # noqa: E402
from theory.claim import STATUSES, ClaimResult  # noqa: E402

REL = 1e-9  # float64 sums of <= 6 terms vs the exact rational value: far above rounding


def _instance(rng: np.random.Generator, d: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Continuous data half the time; otherwise a dyadic grid (exact in float) with ties and budgets that
    equal a sum of costs exactly, so tie-breaking and the cum == B boundary are exercised."""
    if rng.random() < 0.5:
        g = rng.standard_normal(d) * np.exp(rng.normal(0, 1, d))
        g[rng.random(d) < 0.1] = 0.0
        c = rng.lognormal(0, 1, d)
        B = float(rng.uniform(0, 1.2) * c.sum())
    else:
        g = rng.integers(-3, 4, d) / 2.0
        c = rng.integers(1, 5, d) / 4.0
        B = float(c[rng.random(d) < 0.5].sum()) if rng.random() < 0.5 else float(rng.integers(0, 9) / 4.0)
    return g, c, B


def _close(exact: Fraction, x: float) -> bool:
    return abs(float(exact) - x) <= REL * max(1.0, abs(x))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 6])
def test_encoding_agrees_with_float_solvers(d):
    """The general encoding evaluated at 200 random instances per d equals cwmp_mask (masks and values,
    both scores x three greedies), solve_exact's OPT and solve_lp's LP* and break value."""
    rng = np.random.Generator(np.random.PCG64(1900 + d))
    n_ties = 0
    for _ in range(200):
        g, c, B = _instance(rng, d)
        n_ties += len(np.unique(np.abs(g))) < d
        ev = P.evaluate_general(g, c, B)
        for sc in P.SCORES:
            for gr in P.GREEDIES:
                sel = cwmp_mask(g, c, budget=B, score=sc, greedy=gr, impl="reference")
                assert ev["masks"][(sc, gr)] == np.asarray(sel.mask).tolist(), (sc, gr, g, c, B)
                assert _close(ev["values"][(sc, gr)], sel.value), (sc, gr, g, c, B)
        assert _close(ev["opt"], solve_exact(g, c, B, backend="bruteforce").value), (g, c, B)
        lp = solve_lp(g, c, B)
        assert _close(ev["lp"], lp.value), (g, c, B)
        vb = float(g[lp.break_index] ** 2) if lp.break_index is not None else 0.0
        assert _close(ev["v_b"], vb), (g, c, B)
    if d >= 2:
        assert n_ties > 0  # the dyadic half really produced ties


def test_sorted_encoding_agrees_at_a_relabelled_point():
    """The l2-sorted encoding (variables r, c; B = 1) evaluated at a relabelled, rescaled instance gives the
    float solvers' values on the original instance (the relabelling argument of the module doc)."""
    rng = np.random.Generator(np.random.PCG64(7))
    for _ in range(50):
        d = int(rng.integers(1, 6))
        g, c, B = _instance(rng, d)
        if B <= 0:
            continue
        v = [Fraction(float(x)) ** 2 for x in g]
        cf = [Fraction(float(x)) / Fraction(B) for x in c]  # c / B: B = 1, exact
        order = sorted(range(d), key=lambda i: (-(v[i] / cf[i]), i))  # l2 order, ties by lower index
        e = P.encode("l2_sorted", d)
        w = P.walk_terms(e.v, e.c, e.B, ratio=e.ratio, l2_order=True)
        sub = [(e.ratio[k], z3.RealVal(v[i] / cf[i])) for k, i in enumerate(order)] + \
              [(e.c[k], z3.RealVal(cf[i])) for k, i in enumerate(order)]
        at = lambda t: P._to_fraction(z3.simplify(z3.substitute(t, *sub)))  # noqa: E731
        for gr in P.GREEDIES:
            assert _close(at(w.values[gr]), cwmp_mask(g, c, budget=B, greedy=gr, impl="reference").value)
        assert _close(at(w.lp), solve_lp(g, c, B).value)


def test_paper_sorted_and_any_order_encodings_agree_at_relabelled_points():
    """The encodings the C5 (paper) and the any-order proofs use, evaluated at a relabelled, rescaled
    instance (B = 1), give cwmp_mask's values: paper_sorted (variables a = |g|, c) against score="paper";
    any_order (variables v, c, walked in position order) against both scores, relabelled by each order."""
    rng = np.random.Generator(np.random.PCG64(11))
    n = 0
    while n < 100:
        d = int(rng.integers(1, 7))
        g, c, B = _instance(rng, d)
        if B <= 0:
            continue
        n += 1
        a = [abs(Fraction(float(x))) for x in g]
        cf = [Fraction(float(x)) / Fraction(B) for x in c]
        for kind, score in (("paper_sorted", "paper"), ("any_order", "paper"), ("any_order", "l2")):
            s = [a[i] / cf[i] if score == "paper" else a[i] * a[i] / cf[i] for i in range(d)]
            order = sorted(range(d), key=lambda i: (-s[i], i))  # the implementation's order, ties by index
            e = P.encode(kind, d)
            w = P.walk_terms(e.v, e.c, e.B)
            var = e.a if kind == "paper_sorted" else e.v
            val = [a[i] if kind == "paper_sorted" else a[i] * a[i] for i in order]
            sub = [(var[k], z3.RealVal(val[k])) for k in range(d)] + \
                  [(e.c[k], z3.RealVal(cf[i])) for k, i in enumerate(order)]
            side = z3.simplify(z3.substitute(z3.And(*e.constraints), *sub))
            assert z3.is_true(side), (kind, g, c, B)  # the point is inside the encoding's domain
            for gr in P.GREEDIES:
                got = P._to_fraction(z3.simplify(z3.substitute(w.values[gr], *sub)))
                want = cwmp_mask(g, c, budget=B, score=score, greedy=gr, impl="reference").value
                assert _close(got, want), (kind, score, gr, g, c, B)


def test_bounded_proofs_d_le_3_within_60_s():
    """Every part of C1, C3, C4, C5, C7, C8 is proved (unsat) for d = 1, 2, 3; all of it within 60 s."""
    t0 = time.perf_counter()
    run = P.run_proofs(3, timeout_s=30, searches=False)
    took = time.perf_counter() - t0
    assert took < 60, took
    bad = [o.as_dict() for o in run.outcomes if o.result != "proved"]
    assert not bad, bad
    assert {o.part for o in run.outcomes} == {p.name for p in P.PARTS}
    assert all(run.proved_up_to(c) == 3 for c in P.PROVED_CLAIMS)


def test_planted_false_claim_is_refuted_with_a_float_confirmed_witness():
    """ "dantzig >= OPT/2" is false: z3 finds a rational witness at the smallest d (2; d = 1 is proved),
    and the float solvers confirm 2 * dantzig < OPT on it."""
    res = P.search(P.q_planted_dantzig_half, range(1, 4), 30, P.check_planted)
    assert res["found"] and res["d"] == 2
    assert (res["tried"][0]["d"], res["tried"][0]["result"]) == (1, "proved")
    w = res["witness"]
    g, c = np.array(w["float"]["g"]), np.array(w["float"]["c"])
    dz = cwmp_mask(g, c, budget=1.0, impl="reference").value
    opt = solve_exact(g, c, 1.0, backend="bruteforce").value
    assert 2 * dz < opt
    # the exact rationals are the float inputs (g rational by construction)
    assert [Fraction(x) for x in w["g"]] == [Fraction(x) for x in g.tolist()]


def test_c6_and_c8_counterexamples_come_from_smt_and_reproduce():
    """C6: dantzig/OPT <= 1/100 at d = 2; C8: dantzig drops as B grows, smallest d = 3; both in float."""
    c6 = P.search(P.q_c6_ratio("dantzig", P.C6_EPS), range(1, 4), 30, P.check_c6_witness("dantzig", P.C6_EPS))
    assert c6["found"] and c6["d"] == 2 and c6["witness"]["float_check"]["reproduced"]
    assert c6["witness"]["float_check"]["ratio"] <= 0.01
    c8 = P.search(P.q_c8_dantzig, range(1, 5), 30, P.check_c8_dantzig)
    assert c8["found"] and c8["d"] == 3
    fc = c8["witness"]["float_check"]
    assert fc["dantzig_at_B2"] < fc["dantzig_at_B"] and fc["B2"] > 1.0


def test_a_satisfiable_encoding_is_not_vacuous():
    """The side constraints of every encoding admit instances (else every proof would be vacuous)."""
    for kind in ("any_order", "l2_sorted", "paper_sorted", "equal_costs"):
        e = P.encode(kind, 3)
        s = z3.Solver()
        s.add(*e.constraints, *[x > 0 for x in e.v])
        assert s.check() == z3.sat, kind


def test_merge_gives_proved_bounded_with_n_and_keeps_numeric_sub_results():
    run = P.run_proofs(2, timeout_s=30, parts=[p for p in P.PARTS if p.claim == "C1"], searches=False)
    row = ClaimResult("C1", "s", "m", "verified_numeric", {"sub_results": {"no_mask_over_budget": True}}, "k")
    out = P.merge_into_row(row, run)
    assert out.status == "proved_bounded" and "proved_bounded" in STATUSES
    assert out.evidence["bounded_proof"]["proved_for_d_le"] == 2
    assert out.evidence["sub_results"] == {"no_mask_over_budget": True, "z3_proved_d<=2": True}
    failed = P.merge_into_row(ClaimResult("C1", "s", "m", "failed", {"sub_results": {"x": False}}, "k"), run)
    assert failed.status == "failed"


def test_missing_z3_is_one_clear_line(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_z3(name, *a, **k):
        if name == "z3":
            raise ImportError("No module named 'z3'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_z3)
    with pytest.raises(ImportError) as exc:
        P.require_z3()
    assert str(exc.value) == P.Z3_HINT and "\n" not in str(exc.value)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="proof d"):
        P.run_proofs(0)
    with pytest.raises(ValueError, match="d must be"):
        P.encode("l2_sorted", 0)


def _fraction_safe_and_opt(a: list[Fraction], c: list[Fraction], B: Fraction, score: str) -> tuple[Fraction, Fraction]:
    """Independent oracle in exact rationals: safe by a plain sorted walk, OPT by enumerating subsets."""
    from itertools import product

    v = [x * x for x in a]
    s = [v[i] / c[i] if score == "l2" else a[i] / c[i] for i in range(len(a))]
    elig = [i for i in range(len(a)) if c[i] <= B and v[i] > 0]
    left, fill = B, Fraction(0)
    for i in sorted(elig, key=lambda i: (-s[i], i)):
        if c[i] <= left:
            left, fill = left - c[i], fill + v[i]
    vmax = max((v[i] for i in elig), default=Fraction(0))
    opt = max(sum((v[i] for i in range(len(a)) if m[i]), Fraction(0))
              for m in product((0, 1), repeat=len(a)) if sum((c[i] for i in range(len(a)) if m[i]), Fraction(0)) <= B)
    return max(fill, vmax), opt


def test_c5_paper_counterexample_is_exact_at_the_stated_rationals_and_in_float():
    """C5 for the paper order: paper safe = 13467/10000 < OPT/2 = 3/2 at the stated rationals (an independent
    Fraction walk and subset enumeration), at the Fractions of the floats (general encoding), and in float."""
    inst = P.C5_PAPER_INSTANCE
    safe, opt = _fraction_safe_and_opt(inst["g"], inst["c"], inst["B"], "paper")
    assert (safe, opt) == (Fraction(13467, 10000), Fraction(3))
    assert _fraction_safe_and_opt(inst["g"], inst["c"], inst["B"], "l2") == (Fraction(3), Fraction(3))
    cx = P.c5_paper_counterexample()
    assert (Fraction(cx["exact"]["paper_safe"]), Fraction(cx["exact"]["OPT"])) == (safe, opt)
    assert Fraction(cx["exact"]["l2_safe"]) == 3
    assert 2 * Fraction(cx["exact_at_float_inputs"]["paper_safe"]) < Fraction(cx["exact_at_float_inputs"]["OPT"])
    g = np.array([float(x) for x in inst["g"]])
    c = np.array([float(x) for x in inst["c"]])
    fs = cwmp_mask(g, c, budget=1.0, score="paper", greedy="safe", impl="reference").value
    assert abs(fs - 1.3467) < 1e-12 and solve_exact(g, c, 1.0, backend="bruteforce").value == 3.0
    assert cx["violated_exact"] and cx["reproduced"]


def test_merge_c5_and_c8_say_which_parts_are_proved():
    """C5: counterexample_found with the exact paper numbers and the d left undecided; C8: the row keeps
    counterexample_found and its key names only the monotone parts as proved (dantzig is not monotone)."""
    run = P.run_proofs(2, timeout_s=30, parts=[p for p in P.PARTS if p.claim in ("C5", "C8")])
    c5 = P.merge_into_row(ClaimResult("C5", "s", "m", "verified_numeric", {"sub_results": {"x": True}}, "k"), run)
    assert c5.status == "counterexample_found"
    assert "13467/10000 vs OPT 3" in c5.key_numbers and "proved for d <= 2, d = 3..5 not decided" in c5.key_numbers
    c8 = P.merge_into_row(ClaimResult("C8", "s", "m", "counterexample_found", {"sub_results": {"x": True}}, "k"), run)
    assert c8.status == "counterexample_found"
    assert "fill, safe, LP* monotone in B proved for every real instance with d <= 2" in c8.key_numbers
    assert "every part" not in c8.key_numbers
    assert c8.evidence["sub_results"]["z3_counterexample_dantzig_smallest_d_reproduced_in_float"] is True
    assert run.searches["C8:dantzig"]["d"] == 3


def test_proof_d_flag_reaches_the_proofs_and_the_rows(tmp_path, monkeypatch):
    """`cwmp theory --proof-d N` hands N to run_report (default None = proofs.DEFAULT_D; out of 0..8 is a
    usage error); _bounded_proofs proves d <= N, and a proved row keeps its numeric key numbers beside the
    z3 bound (sampled above N, proved up to N)."""
    import cwmp_cli
    import theory.report as R

    seen = []

    def fake_report(results, quick, seed, progress, proof_d=None, proof_timeout_s=None):
        seen.append((proof_d, proof_timeout_s))
        return [], Path(results) / "theory"

    monkeypatch.setattr(R, "run_report", fake_report)
    out = str(tmp_path / "res")
    assert cwmp_cli.main(["theory", "--quick", "--no-progress", "--results", out]) == 0
    assert cwmp_cli.main(["theory", "--quick", "--no-progress", "--results", out, "--proof-d", "6",
                          "--proof-timeout", "5"]) == 0
    assert seen == [(None, None), (6, 5.0)]
    assert cwmp_cli.main(["theory", "--quick", "--no-progress", "--results", out, "--proof-d", "9"]) == 2
    assert seen == [(None, None), (6, 5.0)]  # refused before any check ran

    asked = []
    real = P.run_proofs
    monkeypatch.setattr(P, "run_proofs", lambda d, t, **kw: asked.append((d, t)) or real(
        2, t, parts=[p for p in P.PARTS if p.claim == "C1"], searches=False))
    rows = [ClaimResult("C1", "s", "m", "verified_numeric", {"sub_results": {"numeric": True}}, "2000 masks")]
    meta = R._bounded_proofs(rows, None, None, bar=None)
    assert asked == [(P.DEFAULT_D, P.DEFAULT_TIMEOUT_S)]
    assert meta["run"] and meta["proved_for_d_le"]["C1"] == 2
    assert rows[0].status == "proved_bounded" and rows[0].key_numbers.startswith("2000 masks; z3 ")
    assert "d <= 2" in rows[0].key_numbers and rows[0].evidence["sub_results"]["numeric"] is True
    assert R._bounded_proofs(rows, 0, None, bar=None) == {"run": False, "reason": "proof_d = 0"}
