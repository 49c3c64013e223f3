"""C1-C8 checks at small sizes, T-checks' pieces, report writing and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theory import claims_solvers as cs
from theory.claim import STATUSES, ClaimResult


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
    assert res.status == "proved_symbolic"  # vacuous symbolic list: numeric part decides
    assert res.evidence["max_rel_err_vs_linprog"] <= 1e-7


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
    assert res.status == "counterexample_found"
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

    assert main(["--quick", "--results", str(tmp_path), "--no-progress"]) == 0
    rows = json.loads((tmp_path / "theory" / "report.json").read_text())
    ids = [r["id"] for r in rows]
    assert ids == [f"C{i}" for i in range(1, 9)] + ["T1", "T2", "T3"]
    assert all(r["status"] in STATUSES and r["status"] != "failed" for r in rows)
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
