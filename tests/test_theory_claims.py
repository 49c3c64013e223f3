"""C1-C8 checks at small sizes, T-checks' pieces, report writing and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scipy import stats

from theory import claims_solvers as cs
from theory import claims_theory as ct
from theory.claim import STATUSES, ClaimResult, status_of


@pytest.fixture
def rng():
    return np.random.default_rng(2026)


@pytest.mark.parametrize("check,kwargs,expected", [
    (cs.check_c1, {"n": 60}, "verified_numeric"),
    (cs.check_c3, {"n": 60}, "verified_numeric"),
    (cs.check_c4, {"n": 30}, "verified_numeric"),
    (cs.check_c5, {"n": 60}, "verified_numeric"),
    (cs.check_c7, {"n_search": 2000}, "verified_numeric"),
    (cs.check_c8, {"n": 40}, "counterexample_found"),
])
def test_solver_claims(rng, check, kwargs, expected):
    res = check(rng, **kwargs)
    assert res.status == expected, res.evidence


def test_c2_numeric_part(rng):
    res = cs.check_c2(rng, n=8, symbolic=[])
    # no certificate ran: the numeric part decides, and the evidence says the certificate was not run
    assert res.status == "verified_numeric"
    assert "sympy_certificate" not in res.evidence["sub_results"]
    assert res.evidence["symbolic_certificate"].startswith("not run")
    assert res.evidence["max_rel_err_vs_linprog"] <= 1e-7


def test_c2_is_never_proved_symbolic(rng):
    """The sympy part is a 4-item KKT certificate, not a general-d proof: the label stays numeric."""
    res = cs.check_c2(rng, n=5)
    assert res.status == "verified_numeric", res.evidence["failed_sub_results"]
    assert res.evidence["sub_results"]["sympy_certificate"] is True
    assert "4-item" in res.evidence["symbolic_certificate"] and "not a general-d proof" in res.evidence["symbolic_certificate"]
    assert all(s["scope"] for s in res.evidence["symbolic"])


def _failing_symbolic():
    from theory.symbolic import SymbolicCheck

    return SymbolicCheck("planted", "a certificate that did not hold", False)


def test_c2_planted_failing_certificate_fails_the_claim(rng):
    res = cs.check_c2(rng, n=3, symbolic=[_failing_symbolic()])
    assert res.status == "failed" and res.evidence["failed_sub_results"] == ["sympy_certificate"]


def test_c3_upper_bound_is_checked_against_an_independent_lp(rng, monkeypatch):
    """C3's upper_bound check compares with scipy linprog; a planted 1 % LP error must fail the claim."""
    ok = cs.check_c3(rng, n=20)
    assert ok.status == "verified_numeric" and ok.evidence["max_rel_err_upper_bound_vs_linprog"] <= 1e-7
    real = cs._linprog_value
    monkeypatch.setattr(cs, "_linprog_value", lambda g, c, B: (real(g, c, B)[0] * 1.01 + 1e-3, 0.0))
    res = cs.check_c3(np.random.default_rng(5), n=20)
    assert res.status == "failed"
    assert "upper_bound_equals_independent_lp" in res.evidence["failed_sub_results"]


@pytest.mark.parametrize("check,kwargs,status_fn", [
    (cs.check_c1, {"n": 30}, lambda sub: status_of(sub, "verified_numeric")),
    (cs.check_c3, {"n": 30}, cs.c3_status),
    (cs.check_c4, {"n": 20}, lambda sub: status_of(sub, "verified_numeric")),
    (cs.check_c5, {"n": 30}, lambda sub: status_of(sub, "verified_numeric")),
    (cs.check_c7, {"n_search": 1000}, lambda sub: status_of(sub, "verified_numeric")),
])
def test_status_is_earned_by_the_reported_sub_results(rng, check, kwargs, status_fn):
    res = check(rng, **kwargs)
    sub = res.evidence["sub_results"]
    assert res.status == status_fn(sub) != "failed"
    for k in sub:  # plant one failing sub-result at a time
        assert status_fn({**sub, k: False}) == "failed", k


def test_c8_status_counts_every_invariance(rng):
    res = cs.check_c8(rng, n=20)
    sub = res.evidence["sub_results"]
    assert res.status == cs.c8_status(sub, True) == "counterexample_found"
    for k in sub:
        assert cs.c8_status({**sub, k: False}, True) == "failed"
        assert cs.c8_status({**sub, k: False}, False) == "failed"
    assert cs.c8_status(sub, False) == "verified_numeric"


C6_SUB = ("hypothesis_found_all_three", "explicit_instance", "unbounded_family_ratio_1_over_M",
          "optimal_when_LP_integral", "gap_within_max_v_over_LP")


@pytest.mark.parametrize("planted", C6_SUB)
def test_c6_positive_statements_and_counterexamples_all_count(planted):
    sub = dict.fromkeys(C6_SUB, True)
    assert cs.c6_status(sub) == "counterexample_found"
    assert cs.c6_status({**sub, planted: False}) == "failed"


def test_c2_status_function():
    assert cs.c2_status({"values_match_cvxpy_and_linprog": True, "dual_price_matches_highs": True,
                         "sympy_certificate": True}) == "verified_numeric"
    for k in ("values_match_cvxpy_and_linprog", "dual_price_matches_highs", "sympy_certificate"):
        assert cs.c2_status({"values_match_cvxpy_and_linprog": True, "dual_price_matches_highs": True,
                             "sympy_certificate": True, k: False}) == "failed"


def test_status_of_needs_a_check_that_could_fail():
    with pytest.raises(ValueError, match="sub-results"):
        status_of({}, "verified_numeric")  # all([]) is True: an empty list must not earn a status
    with pytest.raises(ValueError, match="passed"):
        status_of({"x": True}, "failed")


@pytest.mark.parametrize("status_fn,sub,label", [
    (ct.t1_status, {"theory_dominance_and_cv0_equality": True, "mc_levels_and_gap_agree": True,
                    "cwmp_curve_vs_d_1e6": True, "finite_d_sandwich": True,
                    "sympy_threshold_lemma_and_closed_forms": True}, "verified_montecarlo"),
    (ct.t2_rate_status, {"iqr_slope_A_near_-1/2": True, "sqrt_d_sd_A_d=1e3": True, "mean_A_d=1e4_within_4_se": True,
                         "iqr_slope_C_student_t3_near_-1/3": True, "energy_within_pathwise_band": True},
     "verified_montecarlo"),
    (ct.t3_status, {"mc_matches_closed_form": True, "small_cv_coefficient": True, "ratio_1_at_cv0": True,
                    "sympy_derivation": True, "monotone_in_cv": True}, "verified_montecarlo"),
])
def test_theory_status_functions_fail_on_any_planted_sub_result(status_fn, sub, label):
    assert status_fn(sub) == label
    for k in sub:
        assert status_fn({**sub, k: False}) == "failed", k


def test_t2_coverage_pooled_test_catches_what_cells_miss():
    """20 cells of n=60 at a 10 % violation rate: no cell alarms at 1e-3, the pooled count (120/1200) does."""
    cells = [{"setting": "A", "d": 10**k, "method": "clt", "violations": 6, "n": 60} for k in range(20)]
    a = ct.coverage_assessment(cells, 0.05)
    assert a["sub_results"] == {"clt_no_cell_alarm": True, "clt_pooled_not_above_delta": False}
    assert ct.t2_coverage_status(a) == "failed"
    pooled = a["methods"]["clt"]["pooled"]
    assert (pooled["violations"], pooled["n"]) == (120, 1200)
    ref = stats.binomtest(120, 1200).proportion_ci(0.95, method="exact")
    assert pooled["ci95"] == pytest.approx([ref.low, ref.high], abs=1e-10)
    assert a["methods"]["clt"]["per_cell_alarm_rate_by_n"]["60"] == pytest.approx(ct.alarm_count(60, 0.05) / 60)
    ok = [{**c, "violations": 3} for c in cells]  # 5 %: neither test alarms
    assert ct.t2_coverage_status(ct.coverage_assessment(ok, 0.05)) == "verified_montecarlo"
    one_bad = ok[:-1] + [{**ok[-1], "violations": 20}]  # one cell far above delta
    assert ct.coverage_assessment(one_bad, 0.05)["sub_results"]["clt_no_cell_alarm"] is False


def test_alarm_count_is_the_smallest_significant_count():
    for n in (12, 60, 300, 2000):
        k = ct.alarm_count(n, 0.05)
        assert stats.binom.sf(k - 1, n, 0.05) < 1e-3 <= stats.binom.sf(k - 2, n, 0.05)
    assert ct.alarm_count(60, 0.05) / 60 > 0.15 and ct.alarm_count(12, 0.05) / 12 > 0.4  # the weak per-cell power


def test_t2_pbeat_fails_where_mc_excludes_the_approximation():
    cells = [{"setting": "D", "d": 1000, "beats": 135, "n": 1000, "approx": 0.887},
             {"setting": "D", "d": 100000, "beats": 60, "n": 60, "approx": 1.0}]
    a = ct.pbeat_assessment(cells)
    assert a["sub_results"] == {"D d=1000": False, "D d=100000": True}
    assert ct.t2_pbeat_status(a) == "failed"
    assert ct.t2_pbeat_status(ct.pbeat_assessment(cells[1:])) == "verified_montecarlo"
    assert ct.t2_pbeat_status(ct.pbeat_assessment([{**cells[0], "approx": 0.14}])) == "verified_montecarlo"


def test_withdrawn_rows_are_failed_but_not_fatal():
    from theory.report import fatal_failures

    rows = [ClaimResult("T2-pbeat", "s", "m", "failed", {"withdrawn": True}),
            ClaimResult("T2", "s", "m", "failed", {}), ClaimResult("C1", "s", "m", "verified_numeric")]
    assert fatal_failures(rows) == ["T2"]


def test_c5_tight_family_ratio():
    from solvers import cwmp_mask, solve_exact

    g, c, B = cs._tight_c5(1e-4)
    s = cwmp_mask(g, c, budget=B, greedy="safe").value
    assert s / solve_exact(g, c, B, backend="bruteforce").value == pytest.approx(0.5 + 2e-4, rel=1e-9)


def test_c6_explicit_instance_direct():
    """The spec's instance, straight through the solvers: ratio order takes item 0, then item 1 no longer fits."""
    from solvers import cwmp_mask, solve_exact, topk_mask

    g, c, B = np.array([1.0, 10.0]), np.array([0.01, 10.0]), 10.0
    assert cwmp_mask(g, c, budget=B).value == 1.0
    assert solve_exact(g, c, B, backend="bruteforce").value == 100.0
    assert topk_mask(g, c=c, budget=B).value == 100.0


@pytest.mark.slow
def test_c6_counterexample_and_instance(rng):
    res = cs.check_c6(rng, max_examples=300)
    assert res.status == "counterexample_found", res.evidence["failed_sub_results"]
    assert all(res.evidence["sub_results"].values())
    ex = res.evidence["explicit_instance"]
    assert (ex["dantzig"], ex["OPT"], ex["topk_budget_dantzig"]) == (1.0, 100.0, 100.0)
    assert [f["ratio"] for f in res.evidence["unbounded_family"]] == pytest.approx([1e-2, 1e-4, 1e-6, 1e-8])


def test_claim_result_validates_status():
    with pytest.raises(ValueError, match="status"):
        ClaimResult("C1", "s", "m", "maybe")
    d = ClaimResult("C1", "s", "m", "failed", {"x": 1}, "k").as_dict()
    assert set(d) == {"id", "statement", "method", "status", "evidence"} and d["evidence"]["summary"] == "k"


@pytest.mark.slow
def test_cli_quick_writes_full_report(tmp_path):
    from theory.cli import main

    from theory.report import ROW_IDS

    assert main(["--quick", "--results", str(tmp_path), "--no-progress"]) == 0
    rows = json.loads((tmp_path / "theory" / "report.json").read_text())
    ids = [r["id"] for r in rows]
    assert ids == list(ROW_IDS) == [f"C{i}" for i in range(1, 10)] + ["T1", "T2", "T2-coverage", "T2-pbeat", "T3"]
    assert all(r["status"] in STATUSES for r in rows)
    # only a withdrawn predictor may be failed (and then exit 0 above); every status rests on sub-results
    assert all(r["status"] != "failed" or r["evidence"].get("withdrawn") is True for r in rows), \
        {r["id"]: r["evidence"].get("failed_sub_results") for r in rows if r["status"] == "failed"}
    assert all(r["evidence"]["sub_results"] for r in rows)
    assert all(r["status"] != "proved_symbolic" for r in rows)
    by_id = {r["id"]: r for r in rows}
    pooled = by_id["T2-coverage"]["evidence"]["pooled_violation_rate_clt"]
    assert pooled["n"] > 0 and pooled["ci95"][0] <= pooled["rate"] <= pooled["ci95"][1]
    c6 = rows[5]
    assert c6["status"] == "counterexample_found" and c6["evidence"]["explicit_instance"]["OPT"] == 100.0
    for name in ("report.md", "report_meta.json", "fig6_budget_curves.json", "fig7_efficiency_vs_cv.json",
                 "fig8_prob_beat_vs_d.json"):
        assert (tmp_path / "theory" / name).exists()


def test_cli_help_and_package_import_is_cheap(capsys):
    import importlib

    import theory.cli

    importlib.import_module("theory")
    with pytest.raises(SystemExit) as exc:
        theory.cli.main(["--help"])
    assert exc.value.code == 0
    assert "--quick" in capsys.readouterr().out
