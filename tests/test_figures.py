"""paper_figures renders every figure from tiny synthetic results (no training, no solving).

The synthetic files follow the schemas documented in each paper_figures/fig*.py
docstring; the numbers are made up and only exercise the plotting code.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from paper_figures import cli

ALL = tuple(range(1, 13))
FL_METHODS = (("topk", "count"), ("cwmp-l2", "count"), ("cwmp-paper", "count"), ("random-k", "count"),
              ("cwmp-l2", "budget"))
SPARSITIES = (0.01, 0.05, 0.1, 0.2)


def _dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def write_fl(root: Path, preset: str = "paper", rounds: int = 5, seeds=(0, 1), dense_null_sparsity=False) -> None:
    rng = np.random.default_rng(0)
    grid = [("dense", "count", 1.0)] + [(m, mode, s) for s in SPARSITIES for m, mode in FL_METHODS]
    for seed in seeds:
        for method, mode, rho in grid:
            per_round = 62006 * rho * 10 * (1.2e-9 if method != "dense" else 1.2e-9)
            if method.startswith("cwmp"):
                per_round *= 0.6
            cum, recs = 0.0, []
            for r in range(1, rounds + 1):
                acc = 0.1 + 0.5 * (1 - math.exp(-r / 3)) * (0.7 + 0.3 * rho ** 0.2) + 0.01 * rng.standard_normal()
                e_mem = per_round * (1 + 0.02 * rng.standard_normal())
                e_tx = 0.1 * per_round
                cum += e_tx + e_mem
                recs.append({"round": r, "test_acc": acc, "energy_J": e_tx + e_mem, "energy_tx_J": e_tx,
                             "energy_mem_J": e_mem,
                             "energy_mem_by_class_J": {"conv/sram": 0.01 * e_mem, "linear/dram": 0.99 * e_mem},
                             "bytes": int(rho * 62006 * 10 * 6), "cum_energy_J": cum})
            cfg = {"method": method, "mode": mode, "seed": seed, "alpha": 0.5, "model": "cnn", "n_clients": 10,
                   "profile": "on-device", "sparsity": None if (method == "dense" and dense_null_sparsity) else rho}
            run_id = f"{method}_{mode}_s{rho:.2f}_seed{seed}" if method != "dense" else f"dense_seed{seed}"
            _dump(root / "fl" / preset / run_id / "metrics.json",
                  {"schema": "cwmp-fl-metrics/1", "run_id": run_id, "complete": True, "config": cfg,
                   "rounds": recs, "final_test_acc": recs[-1]["test_acc"], "total_energy_J": cum})


def write_fl_summary(root: Path, preset: str = "paper") -> None:
    """summary.json of ``cwmp fl --summary`` (fl_validation/report.py write_summary, verdict.py schema)."""
    rng = np.random.default_rng(2)

    def level(rho, n):
        d = list(rng.normal(0.3, 0.6, n))
        m = float(np.mean(d)) if d else None
        iv = [m - 0.8, m + 0.8] if n > 1 else None
        return {"sparsity": rho, "n_pairs": n, "seeds": list(range(n)), "delta_pts": d, "delta_mean_pts": m,
                "ci95_pts": iv, "bootstrap95_pts": [m - 0.5, m + 0.5] if n > 1 else None,
                "energy_ratio": 1.001 if n else None}

    f1 = [{"id": cid, "status": "unresolved", "interim_status": "partly_reproduced", "complete": False,
           "levels": [level(0.01, 0), level(0.05, 2), level(0.1, 5), level(0.2, 1)]} for cid in ("F1", "F1-paper")]
    targets = []
    for t in (0.40, 0.45, 0.50, 0.55):
        rows, best = [], {}
        for (method, mode), base in ((("topk", "count"), 1e-4), (("cwmp-l2", "budget"), 9e-5),
                                     (("cwmp-paper", "budget"), 9.5e-5), (("dense", "count"), 5e-3),
                                     (("random-k", "count"), None)):
            for rho in ((1.0,) if method == "dense" else SPARSITIES):
                never = base is None or (t >= 0.55 and rho == 0.01)
                e = None if never else base * (1 + 10 * rho) * (1 + 4 * (t - 0.4) * 10)
                per = [None if e is None else e * f for f in (0.9, 1.0, 1.1)]
                rows.append({"method": method, "mode": mode, "sparsity": rho, "n_seeds": 3,
                             "n_reached": 0 if e is None else 3, "median_J": e, "min_J": per[0], "max_J": per[2],
                             "per_seed_J": per})
                k = f"{method}/{mode}"
                if e is not None and (k not in best or e < best[k]["median_J"]):
                    best[k] = {"sparsity": rho, "median_J": e, "n_reached": 3, "n_seeds": 3}
        targets.append({"target_acc": t, "rows": rows, "best_over_sparsity": best})
    gve = []
    for method in ("cwmp-l2", "cwmp-paper"):
        for rho in (0.05, 0.1):
            rounds = list(range(1, 6))
            mean = [1 - 1e-5 * r * (2 if method == "cwmp-paper" else 1) for r in rounds]
            mins = [1.0] + [m - 2e-5 for m in mean[1:]]  # round 1: greedy optimal everywhere
            gve.append({"method": method, "sparsity": rho, "seeds": [0, 1], "rounds": rounds,
                        "ratio_mean_by_round": mean, "ratio_min_by_round": mins, "n_solves": 100, "n_proven": 100,
                        "ratio_min": min(mins), "ratio_mean": float(np.mean(mean))})
    _dump(root / "fl" / preset / "summary.json",
          {"preset": preset, "f1": f1, "energy_to_target": targets, "greedy_vs_exact": gve,
           "frontier": {"energy_J": [], "methods": {}}})


def write_compare(root: Path) -> None:
    rng = np.random.default_rng(1)
    rows = []
    methods = [f"cwmp-{s}-{g}" for s in ("l2", "paper") for g in ("dantzig", "fill", "safe")]
    methods += ["topk-dantzig", "topk-fill", "lp-dantzig", "exact-cvxpy"]
    for family in ("uncorrelated", "gradient_gaussian", "adversarial_c6"):
        fracs = (0.05, 0.2) if family != "adversarial_c6" else (0.999,)
        for d in (100, 1000):
            for frac in fracs:
                for seed in (0, 1):
                    for m in methods:
                        gap = 0.0 if m.startswith(("exact", "lp")) else float(rng.uniform(0, 0.05))
                        rows.append({"family": family, "d": d, "budget_fraction": frac, "seed": seed, "method": m,
                                     "true_gap": gap, "certified_gap": gap + 0.001, "exact_proven": seed == 0,
                                     "seconds": 1e-4 * d if not m.startswith("exact") else 1e-3 * d,
                                     "proven": None if not m.startswith("exact") else seed == 0})
    _dump(root / "solvers" / "compare.json", {"config": {}, "rows": rows, "summary": []})


def write_bench(root: Path, quick: bool = False) -> None:
    """Three cwmp-bench/1 files (solvers/bench.py schema)."""
    kinds = {"selection": (("cwmp_fast", 1e-8), ("cwmp_reference", 1e-7), ("torch_topk", 2e-8)),
             "exact": (("core", 1e-6), ("cvxpy_highs", 1e-3), ("ortools", 1e-5)),
             "classes": (("core", 1e-8), ("torch_topk", 2e-8))}
    for kind, methods in kinds.items():
        records = []
        for m, t in methods:
            for d in (1000, 10000, 100000):
                for fam in ("a", "b"):
                    limited = m == "cvxpy_highs" and d == 100000
                    secs = [t * d, 1.2 * t * d, 0.9 * t * d]
                    records.append({"d": d, "sparsity": 0.1, "family": fam, "method": m, "seconds": secs,
                                    "median_s": float(np.median(secs)), "repeats": 3,
                                    "status": "time_limit" if limited else None,
                                    "proven_optimal": (not limited) if kind != "selection" else None})
        records.append({"d": 10, "method": "ortools", "seconds": [], "median_s": None, "status": "skipped: absent"})
        _dump(root / "bench" / ("quick" if quick else "") / f"{kind}.json",
              {"schema": "cwmp-bench/1", "kind": kind, "quick": quick, "records": records, "comparisons": []})


def write_theory(root: Path) -> None:
    """fig6/7/8 files of cwmp theory (theory/report.py schema)."""
    beta_f = np.linspace(0.01, 2.0, 30)
    beta_m = np.array([0.1, 0.4, 1.0])

    def curve(b, k):
        return list(1 - np.exp(-k * b))

    def mc(b, k):
        r = np.array(curve(b, k))
        return {"retained_mean": list(r + 0.002), "retained_se": [0.001] * len(b),
                "retained_ci95": [[x - 0.002, x + 0.004] for x in r],
                "energy_mean": list(b * 0.999), "energy_se": [1e-4] * len(b),
                "energy_ci95": [[x * 0.998, x] for x in b]}

    panels = [{"dist": dist, "cost": {"law": "two_point", "mean": 2.0, "cv": 0.87}, "label": f"{dist} g", "d": 10000,
               "reps": 8,
               "theory": {"beta": list(beta_f), "beta_over_mean_cost": list(beta_f / 2),
                          "cwmp": {"retained": curve(beta_f, 2.5), "energy": list(np.minimum(beta_f, 2.0))},
                          "topk": {"retained": curve(beta_f, 1.5), "energy": list(np.minimum(beta_f, 2.0))}},
               "montecarlo": {"beta": list(beta_m), "beta_over_mean_cost": list(beta_m / 2),
                              "cwmp": mc(beta_m, 2.5), "topk": mc(beta_m, 1.5)}}
              for dist in ("gaussian", "student_t3")]
    _dump(root / "theory" / "fig6_budget_curves.json", {"figure": 6, "description": "", "panels": panels})
    cv, cv_f = [0.0, 0.5, 1.0], list(np.linspace(0, 1.5, 20))
    series = [{"label": lab, "cv": cv, "closed_form": [1 + k * c * c for c in cv],
               "mc_mean": [1 + k * c * c + 0.01 for c in cv], "mc_se": [0.005] * 3,
               "mc_ci95": [[1 + k * c * c, 1 + k * c * c + 0.02] for c in cv], "cv_fine": cv_f,
               "closed_form_fine": [1 + k * c * c for c in cv_f], "small_cv_law_fine": [1 + 0.5 * c * c for c in cv_f]}
              for lab, k in (("two-point p=0.2", 0.4), ("lognormal", 0.3))]
    _dump(root / "theory" / "fig7_efficiency_vs_cv.json",
          {"figure": 7, "dist": "gaussian", "budget_fraction": 0.1, "d": 10000, "reps": 12, "kappa": 0.5,
           "series": series})
    d = [100, 1000, 10000]
    d_f = list(np.logspace(2, 4, 15))
    s8 = [{"label": "gaussian g, CV=0.87", "setting": "A", "dist": "gaussian", "cost": {}, "beta": 0.1, "d": d,
           "reps": [300, 100, 20], "p_beat": [0.7, 0.95, 1.0], "ci95": [[0.65, 0.75], [0.9, 0.98], [0.83, 1.0]],
           "p_tie": [0.1, 0.0, 0.0], "normal_approx": [0.75, 0.97, 1.0], "d_fine": d_f,
           "normal_approx_fine": [1 - 0.25 * math.exp(-(x - 100) / 300) for x in d_f]}]
    _dump(root / "theory" / "fig8_prob_beat_vs_d.json", {"figure": 8, "series": s8})


def write_link(root: Path) -> None:
    """theory/link_breakeven.json (theory.linkcost) and the fig 12 keys of three FL summaries."""
    e = [0.0] + list(np.logspace(-13, -8, 21))
    cv = [0.218 / (1 + 48 * x / 1.2e-9) for x in e]
    rows = [{"rho": r, "ratio": [1 + (0.5 - r) * 0.3 * (c / 0.218) ** 2 for c in cv],
             "breakeven_J_per_bit": {"0.01": 3e-11, "0.001": 1e-10}} for r in (0.05, 0.1)]
    _dump(root / "theory" / "link_breakeven.json", {"schema": "cwmp-link-breakeven/1", "energy_per_bit_J": e,
                                                    "cost_cv": cv, "gains": [0.01, 0.001], "rows": rows})
    for name, e_bit, gain in (("paper", 0.0, 0.08), ("paper-cv0.10", 30e-12, 0.01), ("paper-cv0.03", 160e-12, 0.001)):
        f = root / "fl" / name / "summary.json"
        doc = json.loads(f.read_text()) if f.is_file() else {}
        doc["cost_model"] = {"profile": name, "cost_cv": 0.1, "energy_per_bit_J": e_bit}
        doc["retained_vs_topk"] = [{"method": "cwmp-l2", "sparsity": r, "ratio_mean": 1 + gain,
                                    "ratio_p10": 1 + gain / 2, "ratio_p90": 1 + 2 * gain} for r in (0.05, 0.1)]
        doc["vs_topk"] = doc.get("vs_topk", []) + [{"method": "cwmp-l2", "mode": "budget", "sparsity": r,
                                                    "d_final_acc_pts": [0.3, -0.1, 0.5][: 2 + (name == "paper")]}
                                                   for r in (0.05, 0.1)]
        doc["equal_accuracy_saving"] = [{"method": "cwmp-l2", "sparsity": r, "saving": [0.1, None, 0.05],
                                         "saving_mean": 0.075} for r in (0.05, 0.1)]
        _dump(f, doc)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    write_fl(root)
    write_fl_summary(root)
    write_compare(root)
    write_bench(root)
    write_theory(root)
    write_link(root)
    return root


def _pngs(out: Path) -> dict[int, Path]:
    found = {}
    for p in out.glob("fig*.png"):
        found[int(p.name[3:p.name.index("_")])] = p
    return found


def test_every_figure_renders(synthetic, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["--results", str(synthetic), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert not re.search(r"fig \d+ skipped", printed), printed
    pngs = _pngs(out)
    assert sorted(pngs) == list(ALL)
    for n, p in pngs.items():
        assert p.stat().st_size > 15_000, (n, p.stat().st_size)
        assert p.with_suffix(".pdf").stat().st_size > 5_000
        _assert_not_blank(p)


def _assert_not_blank(png: Path) -> None:
    from PIL import Image

    im = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert im.shape[0] > 200 and im.shape[1] > 300
    assert (im < 250).mean() > 0.02, f"{png.name} is almost blank"
    assert im.std() > 10


def test_missing_results_are_skipped_with_the_command(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "fig4_greedy_vs_exact.png").write_bytes(b"stale")  # from an earlier run: removed
    assert cli.main(["--results", str(tmp_path / "nothing"), "--out", str(out)]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if re.match(r"fig \d+ skipped", ln)]
    assert len(lines) == len(ALL)
    for n, cmd in ((1, "cwmp fl"), (3, "cwmp fl --preset paper"), (4, "cwmp compare"), (5, "cwmp bench"),
                   (6, "cwmp theory"), (7, "cwmp theory"), (8, "cwmp theory"), (9, "cwmp fl"),
                   (10, "cwmp fl --preset paper --summary"), (11, "cwmp fl --preset paper --summary")):
        line = next(ln for ln in lines if ln.startswith(f"fig {n} "))
        assert cmd in line, line
    assert not list(out.glob("*.png"))
    assert "fig 4 skipped (old output removed):" in "\n".join(lines)


def test_fig5_reads_quick_bench_when_no_full_bench(tmp_path, capsys):
    write_bench(tmp_path, quick=True)
    out = tmp_path / "out"
    assert cli.main(["--results", str(tmp_path), "--out", str(out), "--only", "5"]) == 0
    assert "cwmp bench --quick" not in capsys.readouterr().out  # no skip line
    assert sorted(_pngs(out)) == [5]


def test_partial_inputs_skip_only_their_figures(tmp_path, capsys):
    write_compare(tmp_path)  # compare.json only: fig 4 and fig 5 (fallback) render
    out = tmp_path / "out"
    assert cli.main(["--results", str(tmp_path), "--out", str(out), "--only", "4", "5", "6"]) == 0
    printed = capsys.readouterr().out
    assert sorted(_pngs(out)) == [4, 5]
    assert "fig 6 skipped" in printed and "cwmp theory" in printed


def test_missing_keys_skip_instead_of_crashing(tmp_path, capsys):
    _dump(tmp_path / "solvers" / "compare.json", {"rows": [{"family": "x", "d": 10}]})
    _dump(tmp_path / "theory" / "fig6_budget_curves.json", {"panels": [{"theory": {"beta": [1]}}]})
    assert cli.main(["--results", str(tmp_path), "--out", str(tmp_path / "o"), "--only", "4", "6"]) == 0
    printed = capsys.readouterr().out
    assert "fig 4 skipped" in printed and "missing key" in printed
    assert "fig 6 skipped" in printed


def test_malformed_values_skip_instead_of_crashing(tmp_path, capsys):
    """Right keys, wrong shapes (schemas in flux): one skip line each, the other figures still render."""
    write_compare(tmp_path)
    _dump(tmp_path / "theory" / "fig7_efficiency_vs_cv.json", {"series": [{"cv": [0, 1], "closed_form": 3}]})
    _dump(tmp_path / "theory" / "fig8_prob_beat_vs_d.json", {"series": [{"d": [1, 2], "p_beat": "x"}]})
    out = tmp_path / "out"
    assert cli.main(["--results", str(tmp_path), "--out", str(out), "--only", "4", "7", "8"]) == 0
    printed = capsys.readouterr().out
    for n in (7, 8):
        line = next(ln for ln in printed.splitlines() if ln.startswith(f"fig {n} skipped"))
        assert "unexpected shape" in line and "cwmp theory" in line
    assert sorted(_pngs(out)) == [4]


def test_fl_preset_fallback_and_dense_null_sparsity(tmp_path, capsys):
    write_fl(tmp_path, preset="smoke", rounds=3, seeds=(0,), dense_null_sparsity=True)
    out = tmp_path / "out"
    assert cli.main(["--results", str(tmp_path), "--out", str(out), "--only", "1", "3"]) == 0
    printed = capsys.readouterr().out
    assert "using preset 'smoke'" in printed
    assert sorted(_pngs(out)) == [1, 3]


def test_no_solver_theory_or_fl_imports():
    """paper_figures only reads files: rendering must not import the computing packages."""
    import subprocess

    code = ("import sys, paper_figures.cli as c, tempfile; "
            "c.main(['--results', tempfile.mkdtemp(), '--out', tempfile.mkdtemp()]); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('solvers', 'theory', 'fl_validation', 'torch')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=Path(__file__).parents[1])


def test_dense_only_sweep_skips_the_comparison_figures(tmp_path, capsys):
    import shutil

    write_fl(tmp_path, rounds=3, seeds=(0,))
    for d in (tmp_path / "fl" / "paper").iterdir():
        if not d.name.startswith("dense"):
            shutil.rmtree(d)
    out = tmp_path / "out"
    assert cli.main(["--results", str(tmp_path), "--out", str(out), "--only", "1", "2", "3", "9"]) == 0
    printed = capsys.readouterr().out
    for n in (2, 3, 9):
        assert f"fig {n} skipped" in printed
    assert "cwmp fl --preset paper" in printed
    assert sorted(_pngs(out)) == [1]
    # a preset with sparsified runs is preferred over the dense-only default (with a note)
    write_fl(tmp_path, preset="smoke", rounds=2, seeds=(0,))
    assert cli.main(["--results", str(tmp_path), "--out", str(out), "--only", "2"]) == 0
    assert "no sparsified runs under" in capsys.readouterr().out
    assert sorted(_pngs(out)) == [1, 2]


def test_fig11_skips_on_an_empty_greedy_vs_exact(tmp_path, capsys):
    _dump(tmp_path / "fl" / "paper" / "summary.json", {"f1": [], "energy_to_target": [], "greedy_vs_exact": []})
    assert cli.main(["--results", str(tmp_path), "--out", str(tmp_path / "o"), "--only", "10", "11"]) == 0
    printed = capsys.readouterr().out
    for n in (10, 11):
        line = next(ln for ln in printed.splitlines() if ln.startswith(f"fig {n} skipped"))
        assert "--summary" in line, line


def test_t_interval95_matches_scipy():
    from scipy import stats

    from paper_figures.data import t_interval95

    xs = [0.79, -0.09, -0.62, 0.13, 0.89]
    m, lo, hi, n = t_interval95(xs)
    half = stats.t.ppf(0.975, 4) * np.std(xs, ddof=1) / math.sqrt(5)
    assert n == 5 and lo == pytest.approx(m - half, abs=1e-3) and hi == pytest.approx(m + half, abs=1e-3)
    assert t_interval95([2.0])[1:3] == (2.0, 2.0)


def test_fig3_paired_differences_match_hand_values():
    """Oracle: differences and energy ratios written out by hand for two seeds."""
    from pathlib import Path

    from paper_figures.data import Run
    from paper_figures.fig3_pareto import _paired_differences

    def run(method, mode, rho, seed, acc, energy):
        return Run(f"{method}_{seed}", method, mode, rho, seed, True, [], acc, energy, Path("."))

    groups = {
        ("topk", "count", 0.1): [run("topk", "count", 0.1, 0, 50.0, 2.0), run("topk", "count", 0.1, 1, 54.0, 4.0)],
        ("cwmp-l2", "count", 0.1): [run("cwmp-l2", "count", 0.1, 0, 51.0, 1.0),
                                    run("cwmp-l2", "count", 0.1, 1, 53.5, 3.0)],
        ("cwmp-l2", "count", 0.05): [run("cwmp-l2", "count", 0.05, 0, 40.0, 0.5)],  # no Top-K partner
        ("dense", "count", 1.0): [run("dense", "count", 1.0, 0, 60.0, 20.0)],
    }
    out = _paired_differences(groups)
    assert list(out) == [("cwmp-l2", "count")]
    ((rho, diffs, ratio),) = out[("cwmp-l2", "count")]
    assert rho == 0.1 and diffs == pytest.approx([1.0, -0.5], abs=1e-12)
    assert ratio == pytest.approx((1.0 / 2.0 + 3.0 / 4.0) / 2, rel=1e-12)


def test_fig12_skips_without_the_theory_curve_and_draws_without_fl_points(tmp_path, capsys):
    assert cli.main(["--results", str(tmp_path), "--out", str(tmp_path / "o"), "--only", "12"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("fig 12 skipped"))
    assert "theory.linkcost" in line
    write_link(tmp_path)
    for d in (tmp_path / "fl").iterdir():  # theory only: the curve is drawn, no measured point
        (d / "summary.json").unlink()
    assert cli.main(["--results", str(tmp_path), "--out", str(tmp_path / "o"), "--only", "12"]) == 0
    assert sorted(_pngs(tmp_path / "o")) == [12]


def test_fig2_title_names_the_methods_present(tmp_path):
    """'Top-K vs CWMP' only when both are there; a CWMP-only folder names its CWMP variants."""
    import shutil

    from paper_figures.data import load_fl
    from paper_figures.fig2_accuracy_vs_energy import _compared

    write_fl(tmp_path, rounds=2, seeds=(0,))
    assert _compared(load_fl(tmp_path, "paper")) == "Top-K vs CWMP"
    for d in (tmp_path / "fl" / "paper").iterdir():
        if d.name.startswith("topk"):
            shutil.rmtree(d)
    title = _compared(load_fl(tmp_path, "paper"))
    assert "Top-K" not in title and "CWMP" in title, title


def test_fig11_skip_names_a_generic_command_for_a_flower_folder(tmp_path, capsys):
    _dump(tmp_path / "fl" / "smoke-flower" / "summary.json", {"greedy_vs_exact": []})
    assert cli.main(["--results", str(tmp_path), "--out", str(tmp_path / "o"), "--only", "11",
                     "--fl-preset", "smoke-flower"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("fig 11 skipped"))
    assert "--preset paper" not in line and "smoke-flower" in line and "--summary" in line, line
