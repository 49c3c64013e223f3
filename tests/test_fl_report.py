"""FL summaries and the F1 verdict: intervals, the status rule, energy to target, guards.

Oracles: a tabulated Student-t quantile, bootstrap distributions small enough to
enumerate by hand, hand-made trajectories, and the docs/THEORY.md section 6 rule
applied by hand to synthetic intervals.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fl_validation import report, verdict
from fl_validation.config import FLConfig

# --------------------------------------------------------------- intervals


def test_t_interval_matches_the_tabulated_quantile():
    # t_{0.975, 4} = 2.776445 (any t table); xs = 1..5: mean 3, s = sqrt(2.5), se = s / sqrt(5)
    lo, hi = verdict.t_interval([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert (lo, hi) == pytest.approx((3 - half, 3 + half), rel=1e-12)
    # t_{0.975, 1} = 12.7062: two pairs give a very wide interval
    lo, hi = verdict.t_interval([0.0, 1.0])
    assert hi - 0.5 == pytest.approx(12.706204736174698 * math.sqrt(0.5) / math.sqrt(2), rel=1e-12)
    assert verdict.t_interval([1.0]) is None and verdict.t_interval([]) is None


def test_bootstrap_interval_on_enumerable_distributions():
    # Two pairs {0, 1}: resample means are 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4,
    # so the 2.5 % and 97.5 % quantiles are exactly 0 and 1.
    assert verdict.bootstrap_interval([0.0, 1.0]) == (0.0, 1.0)
    # {0, 0, 0, 1}: the mean is k/4 with k ~ Binomial(4, 1/4). P(k = 0) = 0.316 > 0.025 -> lower 0;
    # P(k >= 3) = 0.0508 > 0.025 > P(k = 4) = 0.0039 -> upper 3/4 (10,000 resamples: far from the edges).
    assert verdict.bootstrap_interval([0.0, 0.0, 0.0, 1.0]) == (0.0, 0.75)
    assert verdict.bootstrap_interval([2.5, 2.5, 2.5]) == (2.5, 2.5)
    assert verdict.bootstrap_interval([3.0]) is None
    # Seeded: the same call gives the same interval; another seed may differ slightly.
    xs = [0.3, -0.2, 1.1, 0.4, 0.9]
    assert verdict.bootstrap_interval(xs) == verdict.bootstrap_interval(xs)
    lo, hi = verdict.bootstrap_interval(xs)
    assert min(xs) <= lo < np.mean(xs) < hi <= max(xs)


@pytest.mark.parametrize("intervals, expected", [
    ([(0.1, 2.0), (0.5, 1.0), (0.01, 3.0), (1.0, 2.0)], "reproduced"),
    ([(0.1, 2.0), (-0.5, 1.0), (0.01, 3.0), (-1.0, 2.0)], "partly_reproduced"),
    ([(0.1, 2.0), (-0.5, -0.1), (0.01, 3.0), (1.0, 2.0)], "contradicted"),
    ([(-0.1, 2.0), (-0.5, 1.0), (-3.0, 3.0), (-1.0, 2.0)], "unresolved"),
    ([(0.1, 2.0), None, (0.5, 1.0), (1.0, 2.0)], "partly_reproduced"),  # a level without an interval
    ([None, None, None, None], "unresolved"),
    ([(0.0, 1.0)], "unresolved"),  # touching 0 is not above 0
    ([], "unresolved"),
])
def test_f1_status_rule(intervals, expected):
    """The four outcomes of docs/THEORY.md section 6 on synthetic t-intervals."""
    assert verdict.f1_status(intervals) == expected


# ----------------------------------------------------------- synthetic runs


def _run(method, mode, rho, seed, accs, energies, rounds=None, **cfg_kw):
    """A complete metrics dict with per-round test accuracies and per-round energies."""
    cfg = FLConfig(method=method, mode=mode, sparsity=rho, seed=seed, rounds=rounds or len(accs), **cfg_kw)
    cfg = cfg.normalized()
    cum = np.cumsum(energies)
    rs = [{"round": i + 1, "test_acc": a, "cum_energy_J": float(e), "clients": []}
          for i, (a, e) in enumerate(zip(accs, cum))]
    return {"run_id": cfg.run_id, "complete": True, "rounds_done": len(rs), "config": cfg.to_dict(),
            "final_test_acc": accs[-1], "total_energy_J": float(cum[-1]), "rounds": rs,
            "dataset": {"sha256": "d" * 64}, "_env": {"platform": "x", "cpu_model": "m"}}


def test_energy_to_target_on_a_hand_made_trajectory():
    m = _run("topk", "count", 0.1, 0, [0.2, 0.41, 0.39, 0.52, 0.6], [1.0, 2.0, 3.0, 4.0, 5.0])
    # cumulative energies 1, 3, 6, 10, 15
    assert verdict.energy_to_target(m["rounds"], 0.40) == 3.0
    assert verdict.energy_to_target(m["rounds"], 0.41) == 3.0  # >= counts
    assert verdict.energy_to_target(m["rounds"], 0.45) == 10.0  # the dip at round 3 does not count
    assert verdict.energy_to_target(m["rounds"], 0.60) == 15.0
    assert verdict.energy_to_target(m["rounds"], 0.61) is None  # never reached


def test_energy_to_target_table_counts_unreached_seeds_as_infinite():
    runs = [_run("topk", "count", 0.1, s, accs, [1.0] * 3) for s, accs in
            enumerate([[0.3, 0.5, 0.6], [0.3, 0.4, 0.5], [0.1, 0.2, 0.3]])]
    runs += [_run("topk", "count", 0.2, s, [0.5, 0.6, 0.7], [2.0] * 3) for s in range(3)]
    (t,) = verdict.energy_to_target_table(runs, targets=(0.5,))
    r01 = next(r for r in t["rows"] if r["sparsity"] == 0.1)
    assert r01["per_seed_J"] == [2.0, 3.0, None] and r01["n_reached"] == 2
    assert r01["median_J"] == 3.0 and (r01["min_J"], r01["max_J"]) == (2.0, 3.0)
    r02 = next(r for r in t["rows"] if r["sparsity"] == 0.2)
    assert r02["median_J"] == 2.0
    assert t["best_over_sparsity"]["topk/count"] == {"sparsity": 0.2, "median_J": 2.0, "n_reached": 3, "n_seeds": 3}
    (t,) = verdict.energy_to_target_table(runs[:3], targets=(0.6,))  # two of three never reach 0.6
    assert t["rows"][0]["median_J"] is None and t["best_over_sparsity"] == {}


def test_envelope_is_the_running_best_below_each_energy():
    pts = [(3.0, 0.5), (1.0, 0.2), (2.0, 0.4), (4.0, 0.45)]
    got = verdict.envelope(pts, np.array([0.5, 1.0, 2.5, 4.0, 9.0]))
    assert np.isnan(got[0]) and got[1:].tolist() == [0.2, 0.4, 0.5, 0.5]


def _f1_runs(deltas_by_level, seeds=range(5), ratio=1.0):
    runs = []
    for rho, deltas in deltas_by_level.items():
        for s, dlt in zip(seeds, deltas):
            base = 0.5 + 0.01 * s
            runs.append(_run("topk", "count", rho, s, [base], [1.0]))
            runs.append(_run("cwmp-l2", "budget", rho, s, [base + dlt / 100], [ratio]))
    return runs


def test_f1_claims_from_synthetic_sweeps():
    good = {0.01: [1, 2, 1.5, 1.2, 0.8], 0.05: [0.5, 0.7, 0.6, 0.4, 0.5],
            0.10: [0.2, 0.3, 0.25, 0.1, 0.3], 0.20: [1, 1, 1.1, 0.9, 1]}
    (f1, f1p) = verdict.f1_claims(_f1_runs(good))
    assert f1["id"] == "F1" and f1["status"] == "reproduced" and f1["complete"]
    lvl = f1["levels"][0]
    assert lvl["n_pairs"] == 5 and lvl["delta_mean_pts"] == pytest.approx(np.mean(good[0.01]), abs=1e-9)
    assert lvl["ci95_pts"] == pytest.approx(list(verdict.t_interval(lvl["delta_pts"])), rel=1e-12)
    assert lvl["energy_ratio"] == pytest.approx(1.0) and lvl["energy_ratio_outside_2pct"] == []
    assert f1p["id"] == "F1-paper" and f1p["levels"][0]["n_pairs"] == 0 and f1p["status"] == "unresolved"
    bad = {**good, 0.05: [-0.5, -0.7, -0.6, -0.4, -0.5]}
    assert verdict.f1_claims(_f1_runs(bad))[0]["status"] == "contradicted"
    # Fewer than five pairs: the rule's status waits, the interim reading is given.
    short = verdict.f1_claims(_f1_runs({k: v[:3] for k, v in good.items()}, seeds=range(3)))[0]
    assert short["status"] == "unresolved" and short["interim_status"] == "reproduced" and not short["complete"]
    far = verdict.f1_claims(_f1_runs(good, ratio=1.05))[0]
    assert far["levels"][0]["energy_ratio_outside_2pct"] == [0, 1, 2, 3, 4]


def test_greedy_vs_exact_aggregates_the_logged_records():
    m = _run("cwmp-l2", "budget", 0.1, 0, [0.5, 0.6], [1.0, 1.0])
    ex = lambda r, p=True: {"value_ratio": r, "true_gap": 1 - r, "certified_gap": 2 * (1 - r),  # noqa: E731
                            "proven": p, "seconds": 0.01}
    m["rounds"][0]["clients"] = [{"exact": ex(0.99)}, {"exact": ex(1.0)}]
    m["rounds"][1]["clients"] = [{"exact": ex(0.98, False)}, {"exact": None}]
    (g,) = verdict.greedy_vs_exact([m, _run("topk", "count", 0.1, 0, [0.5], [1.0])])
    assert g["n_solves"] == 3 and g["n_proven"] == 2 and g["ratio_min"] == 0.98
    assert g["ratio_mean_by_round"] == pytest.approx([0.995, 0.98]) and g["rounds"] == [1, 2]
    assert g["ratio_mean"] == pytest.approx((0.99 + 1 + 0.98) / 3)


# ------------------------------------------------------------------ guards


def _write(tmp_path, runs, preset="p"):
    d = tmp_path / "fl" / preset
    for m in runs:
        rd = d / m["run_id"]
        rd.mkdir(parents=True)
        (rd / "metrics.json").write_text(json.dumps({k: v for k, v in m.items() if k != "_env"}))
    return d


def _full(m):
    m = dict(m)
    m.update(best_test_acc=m["final_test_acc"], total_bytes=1, wall_s_per_round_mean=1.0,
             cost_model={"profile": "on-device", "cost_cv": 0.2, "d": 10})
    return m


def test_summary_refuses_runs_that_differ_outside_the_sweep_axes(tmp_path):
    """A 50-round Top-K run and a 100-round CWMP run are not paired; the message names `rounds`."""
    runs = [_full(_run("topk", "count", 0.1, 0, [0.5] * 50, [1.0] * 50)),
            _full(_run("cwmp-l2", "budget", 0.1, 0, [0.5] * 100, [0.5] * 100))]
    _write(tmp_path, runs)
    with pytest.raises(report.SummaryError, match=r"rounds = (50|100) .*(100|50) \(1 run"):
        report.write_summary(tmp_path, "p")
    from fl_validation.cli import main

    assert main(["--preset", "smoke", "--results", str(tmp_path), "--tag", "x", "--summary"]) == 1  # nothing there
    (tmp_path / "fl" / "p").rename(tmp_path / "fl" / "smoke")
    assert main(["--preset", "smoke", "--results", str(tmp_path), "--summary"]) == 2


def test_summary_accepts_runs_differing_only_on_sweep_axes_and_run_control(tmp_path):
    runs = [_full(_run("topk", "count", 0.1, 0, [0.5, 0.55], [1.0, 1.0])),
            _full(_run("cwmp-l2", "budget", 0.1, 0, [0.5, 0.56], [1.0, 1.0], threads=2)),
            _full(_run("topk", "count", 0.2, 1, [0.5, 0.57], [2.0, 2.0], exact_reference=False))]
    _write(tmp_path, runs, "p")
    md, path = report.write_summary(tmp_path, "p")  # another preset: paired rows, no F1 verdict
    assert path is not None and "## F1 at matched energy" not in md and "| cwmp-l2 | budget |" in md
    assert not (tmp_path / "fl" / "p" / "claims.json").exists()
    _write(tmp_path, runs, "paper")
    md, path = report.write_summary(tmp_path, "paper")
    assert path is not None and "## F1 at matched energy" in md
    claims = json.loads((tmp_path / "fl" / "paper" / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["F1", "F1-paper"]
    assert set(claims[0]) >= {"id", "statement", "rule", "status", "levels"}
    assert set(claims[0]["levels"][0]) >= {"sparsity", "n_pairs", "delta_mean_pts", "ci95_pts", "bootstrap95_pts",
                                            "energy_ratio"}
    assert "(n = 1, no spread)" in md and "+- 0.00" not in md


def test_matched_energy_interpolants():
    pts = [(1.0, 0.40), (10.0, 0.50), (100.0, 0.55)]
    # linear in log10 energy: halfway between 1 and 10 -> 0.45
    assert report._interp_log_energy(pts, math.sqrt(10.0)) == pytest.approx(0.45, abs=1e-12)
    # PCHIP passes through the nodes, stays within their range, and on this concave data lies above the chord
    assert report._interp_log_energy(pts, 10.0, "pchip") == pytest.approx(0.50, abs=1e-12)
    p = report._interp_log_energy(pts, math.sqrt(10.0), "pchip")
    assert 0.45 < p < 0.50
    assert report._interp_log_energy(pts, 1000.0, "pchip") is None
    with pytest.raises(ValueError, match="interpolant"):
        report._interp_log_energy(pts, 5.0, "cubic")


# ------------------------------------------------------- machine classes


def _with_env(m, **env):
    m = dict(m)
    m["_env"] = env
    return m


def test_cross_machine_pairs_use_the_numeric_class_and_the_reproduction_record(tmp_path):
    """Pairs on VMs with different kernel tags but one (CPU, ISA) are not cross-machine;
    an old run that names only its platform gets the class of the machine that
    reproduced it bitwise, and stays unknown when the record has no matching check."""
    old = {"platform": "Linux-fc-v669"}  # an env.json from before cpu_model was recorded
    avx512 = {"platform": "Linux-fc-v1098", "cpu_model": "AMD EPYC", "torch_cpu_capability": "AVX512"}
    avx2 = {"platform": "Linux-fc-v1045", "cpu_model": "AMD EPYC", "torch_cpu_capability": "AVX2"}
    runs = [_full(_with_env(_run("topk", "count", 0.05, 0, [0.5, 0.6], [1.0, 1.0]), **old)),
            _full(_with_env(_run("cwmp-l2", "budget", 0.05, 0, [0.5, 0.61], [1.0, 1.0]), **avx512)),
            _full(_with_env(_run("topk", "count", 0.05, 1, [0.5, 0.6], [1.0, 1.0]), **avx2)),
            _full(_with_env(_run("cwmp-l2", "budget", 0.05, 1, [0.5, 0.62], [1.0, 1.0]),
                            **{**avx2, "platform": "Linux-fc-v2000"}))]
    d = tmp_path / "fl" / "p"
    for m in runs:
        rd = d / m["run_id"]
        rd.mkdir(parents=True)
        (rd / "metrics.json").write_text(json.dumps({k: v for k, v in m.items() if k != "_env"}))
        (rd / "env.json").write_text(json.dumps(m["_env"]))

    def cross():
        done, _ = report.collect(d)
        return verdict.level_evidence(done, "cwmp-l2", 0.05)["cross_machine_pairs"]

    assert cross() == 1  # seed 0: the old platform's class is unknown; seed 1: same class, other VM
    rec = {"schema": "cwmp-reproduction/1", "checks": [
        {"machine": avx512, "runs": [{"run": "topk_count_s0.05_seed0", "identical": False,
                                      "committed_platform": "Linux-fc-v669"}]}]}
    (d / "reproduction.json").write_text(json.dumps(rec))
    assert cross() == 1  # a check that did not match proves nothing
    rec["checks"][0]["runs"][0]["identical"] = True
    (d / "reproduction.json").write_text(json.dumps(rec))
    assert report.proven_classes(d / "reproduction.json") == {"Linux-fc-v669": ("AMD EPYC", "AVX512")}
    assert cross() == 0
    (d / "reproduction.json").write_text("{not json")
    with pytest.raises(report.SummaryError, match="reproduction.json: not a reproduction record"):
        report.collect(d)


def test_retained_vs_topk_from_logged_fractions():
    """Hand-computed ratios: per client-round retained_frac / topk_retained_frac, then seed means."""
    def with_clients(m, fracs):
        for r, fr in zip(m["rounds"], fracs):
            r["clients"] = [{"retained_frac": a, "topk_retained_frac": b} for a, b in fr]
        return m
    a = with_clients(_run("cwmp-l2", "budget", 0.1, 0, [0.5, 0.6], [1.0, 1.0]),
                     [[(0.6, 0.5), (0.4, 0.4)], [(0.9, 0.6), (0.5, 0.5)]])  # ratios 1.2, 1.0, 1.5, 1.0
    b = with_clients(_run("cwmp-l2", "budget", 0.1, 1, [0.5, 0.6], [1.0, 1.0]),
                     [[(0.3, 0.3), (0.2, None)], [(0.44, 0.4), (0.5, 0.5)]])  # 1.0, -, 1.1, 1.0
    old = _run("cwmp-l2", "budget", 0.05, 0, [0.5], [1.0])  # made before the field: skipped
    old["rounds"][0]["clients"] = [{"retained_frac": 0.5}]
    (r,) = verdict.retained_vs_topk([a, b, old, _run("topk", "count", 0.1, 0, [0.5], [1.0])])
    assert (r["method"], r["sparsity"], r["seeds"], r["n_client_rounds"]) == ("cwmp-l2", 0.1, [0, 1], 7)
    assert r["seed_means"] == pytest.approx([4.7 / 4, 3.1 / 3])
    assert r["ratio_mean"] == pytest.approx(7.8 / 7) and r["ratio_median"] == pytest.approx(1.0)
    assert r["rounds"] == [1, 2] and r["ratio_mean_by_round"] == pytest.approx([3.2 / 3, 4.6 / 4])
    m, h = np.mean(r["seed_means"]), 12.706204736174707 * np.std(r["seed_means"], ddof=1) / math.sqrt(2)
    assert r["seed_mean_ci95"] == pytest.approx([m - h, m + h])  # t_{0.975, 1} = 12.7062
    assert "## CWMP vs Top-K retained fraction" in report.format_retained([r])


def test_equal_accuracy_saving_on_hand_made_pairs():
    """Top-K reaches 0.6 at total energy 10; CWMP first reaches 0.6 at cumulative 6 (saving 40 %) or never."""
    t0 = _run("topk", "count", 0.1, 0, [0.3, 0.5, 0.6], [4.0, 3.0, 3.0])
    c0 = _run("cwmp-l2", "budget", 0.1, 0, [0.4, 0.6, 0.62], [3.0, 3.0, 4.0])
    t1 = _run("topk", "count", 0.1, 1, [0.3, 0.5, 0.7], [4.0, 3.0, 3.0])
    c1 = _run("cwmp-l2", "budget", 0.1, 1, [0.4, 0.6, 0.65], [3.0, 3.0, 4.0])
    (e,) = verdict.equal_accuracy_saving([t0, c0, t1, c1])
    assert e["seeds"] == [0, 1] and e["saving"] == [pytest.approx(0.4), None] and e["n_reached"] == 1
    assert e["saving_mean"] == pytest.approx(0.4) and e["saving_ci95"] is None  # one seed never got there
    assert "| cwmp-l2 | 0.1 | 0,1 | +40.0, - |" in report.format_retained([], [e])


def test_matched_energy_with_one_seed_says_n_once(tmp_path):
    """One seed inside Top-K's energy range: the cell is the interpolated gap with '(n = 1, no spread)',
    not followed by a second '(n=1)'. Hand computation: Top-K at total energy 2 J (acc 0.50) and 4 J
    (0.60); CWMP ends at 2√2 J, halfway in log energy, so Top-K there is 0.55 and CWMP's 0.58 is
    +3.00 points."""
    runs = [_full(_run("topk", "count", 0.1, 0, [0.4, 0.50], [1.0, 1.0])),
            _full(_run("topk", "count", 0.2, 0, [0.4, 0.60], [2.0, 2.0])),
            _full(_run("cwmp-l2", "budget", 0.1, 0, [0.4, 0.58], [math.sqrt(2.0), math.sqrt(2.0)]))]
    _write(tmp_path, runs, "p")
    md, _ = report.write_summary(tmp_path, "p")
    row = next(line for line in md.splitlines() if line.startswith("| cwmp-l2 | budget | 0.1 | 1 |"))
    assert "| +3.00 (n = 1, no spread) |" in row and "(n=1)" not in row
