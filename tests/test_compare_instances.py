"""`cwmp compare --instance / --update` (issue 16): your own instances against independent oracles.

Oracles: brute force over all subsets written here (knapsack files), the benchmark's
optimum file, solve_exact(backend="bruteforce"), CVXPY MILP (HiGHS, mip_rel_gap=0), and a
two-cost-class enumeration written here from the definition (model updates).
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cwmp_cli

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.delenv("CWMP_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)  # a default --results would land here, never in the repository


def _run(argv, capsys):
    rc = cwmp_cli.main(["compare", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _brute_profit(p, w, cap):
    """max Σ p over subsets with Σ w ≤ cap, by enumeration (integers: exact)."""
    best = 0
    for bits in itertools.product((0, 1), repeat=len(p)):
        if sum(b * x for b, x in zip(bits, w)) <= cap:
            best = max(best, sum(b * x for b, x in zip(bits, p)))
    return best


def _read_knapsack(path):
    nums = [float(t) for t in path.read_text().split()]
    n, cap = int(nums[0]), nums[1]
    pw = np.array(nums[2:2 + 2 * n]).reshape(n, 2)
    return pw[:, 0], pw[:, 1], cap


# ----------------------------------------------------------------------------- shipped examples


@pytest.mark.parametrize("name,extra", [("knapsack_8.txt", []), ("knapsack_6_solution.txt", []),
                                        ("tiny.npz", []), ("tiny.csv", ["--budget", "10"]),
                                        ("tiny.tsv", ["--budget", "10"])])
def test_each_shipped_format_prints_the_table(name, extra, tmp_path, capsys):
    from solvers import solve_exact
    from solvers.instances import load_instance

    rc, out, err = _run(["--instance", str(DATA / name), *extra, "--results", str(tmp_path), "--milp-time-limit",
                         "20"], capsys)
    assert rc == 0, err
    assert "true gap mean/max" in out and f"{name}" in out and "exact-core" in out and "exact-cvxpy" in out
    res = json.loads((tmp_path / "solvers" / "compare_instances.json").read_text())
    (rec,) = res["instances"]
    methods = {r["method"] for r in res["rows"]}
    assert methods == {f"cwmp-{s}-{g}" for s in ("l2", "paper") for g in ("dantzig", "fill", "safe")} | {
        "topk-dantzig", "topk-fill", "lp-dantzig", "exact-core", "exact-cvxpy"}
    inst = load_instance(DATA / name, budget=float(extra[1]) if extra else None)
    oracle = solve_exact(inst.g, inst.c, inst.budget, backend="bruteforce").value  # d ≤ 8
    assert rec["core"]["proven"] and rec["milp"]["proven"]
    # tolerance: two exact solvers on ≤ 8 float terms; 1e-12 relative is ~1e4 ulps
    assert rec["core"]["value"] == pytest.approx(oracle, rel=1e-12)
    assert rec["milp"]["value"] == pytest.approx(oracle, rel=1e-12)
    assert all(s["all_sandwich_ok"] for s in res["summary"])


@pytest.mark.parametrize("src,alias,fmt", [("tiny.npz", "tiny.csv", "npz"), ("tiny.csv", "table.txt", "csv"),
                                           ("tiny.tsv", "table.csv", "tsv"), ("knapsack_8.txt", "bench.csv", "knapsack")])
def test_format_is_read_from_the_content_not_the_name(src, alias, fmt, tmp_path):
    """A shipped file under a misleading name is read as what it holds; the arrays are checked against
    the npz's (tiny.*: the same 7 items; the tsv lists c before g) or the file's own numbers (knapsack)."""
    from solvers.instances import load_instance

    (tmp_path / alias).write_bytes((DATA / src).read_bytes())
    inst = load_instance(tmp_path / alias, budget=None if fmt in ("npz", "knapsack") else 10.0)
    assert inst.fmt == fmt
    if fmt == "knapsack":
        p, w, cap = _read_knapsack(DATA / src)
        assert np.array_equal(inst.profits, p) and np.array_equal(inst.c, w) and inst.budget == cap
        assert inst.optimum is None  # the optimum file belongs to knapsack_8.txt, not to its alias
    else:
        z = np.load(DATA / "tiny.npz")
        assert np.array_equal(inst.g, z["g"]) and np.array_equal(inst.c, z["c"]) and inst.budget == 10.0


def test_knapsack_core_equals_the_known_optimum(tmp_path, capsys):
    path = DATA / "knapsack_8.txt"
    p, w, cap = _read_knapsack(path)
    assert float(_brute_profit(p, w, cap)) == float((DATA / "knapsack_8.txt.opt").read_text())  # the file is right
    rc, out, err = _run(["--instance", str(path), "--results", str(tmp_path)], capsys)
    assert rc == 0, err
    rec = json.loads((tmp_path / "solvers" / "compare_instances.json").read_text())["instances"][0]
    assert rec["optimum_source"].endswith("knapsack_8.txt.opt")
    assert rec["optimum_check"] == {"expected": 240.0, "core": 240.0, "equal": True,
                                    "compared": "exactly (integer profits)"}
    assert "known optimum 240" in out and "EQUAL" in out


def test_knapsack_optimum_flag_and_solution_line(tmp_path, capsys):
    path = DATA / "knapsack_6_solution.txt"
    rc, out, err = _run(["--instance", str(path), "--optimum", "39", "--results", str(tmp_path)], capsys)
    assert rc == 0, err
    rec = json.loads((tmp_path / "solvers" / "compare_instances.json").read_text())["instances"][0]
    assert rec["optimum_check"]["equal"] and rec["optimum_check"]["core"] == 39.0
    assert rec["file_solution"] == {"value": 39.0, "energy": 13.0, "feasible": True}
    # a wrong optimum is a failed check: exit 1, said in the table
    rc, out, _ = _run(["--instance", str(path), "--optimum", "38", "--results", str(tmp_path)], capsys)
    assert rc == 1 and "DIFFERENT" in out


def test_quick_compare_writes_under_results_quick(tmp_path, capsys):
    """A quick run with no --results leaves results/solvers (the committed full results) alone."""
    committed = tmp_path / "results" / "solvers" / "compare.json"
    committed.parent.mkdir(parents=True)
    committed.write_text('{"committed": true}\n')
    rc, _, err = _run(["--quick", "--families", "uncorrelated", "--dims", "20", "--budget-fractions", "0.5",
                       "--no-progress"], capsys)
    assert rc == 0, err
    assert committed.read_text() == '{"committed": true}\n'
    assert json.loads((tmp_path / "results" / "quick" / "solvers" / "compare.json").read_text())["config"]["quick"]
    rc, _, err = _run(["--quick", "--instance", str(DATA / "tiny.npz")], capsys)
    assert rc == 0, err
    assert (tmp_path / "results" / "quick" / "solvers" / "compare_instances.json").exists()
    assert sorted(p.name for p in committed.parent.iterdir()) == ["compare.json"]
    # --results still overrides
    rc, _, err = _run(["--quick", "--instance", str(DATA / "tiny.npz"), "--results", str(tmp_path / "mine")], capsys)
    assert rc == 0 and (tmp_path / "mine" / "solvers" / "compare_instances.json").exists()


def test_quick_theory_defaults_to_results_quick(tmp_path, monkeypatch):
    """`cwmp theory --quick` without --results hands run_report results/quick (the checks stubbed)."""
    import theory.report

    seen = []

    def fake_report(results, quick, seed, progress, **_other_options):
        seen.append((str(results), quick))
        return [], Path(results) / "theory"

    monkeypatch.setattr(theory.report, "run_report", fake_report)
    assert cwmp_cli.main(["theory", "--quick", "--no-progress"]) == 0
    assert cwmp_cli.main(["theory", "--quick", "--results", "elsewhere", "--no-progress"]) == 0
    assert seen == [(str(Path("results") / "quick"), True), ("elsewhere", True)]
    assert not (tmp_path / "results" / "theory").exists()


# ----------------------------------------------------------------------------- bad input


def _cnn_state(seed=0):
    import torch

    from fl_validation.model import build_model

    torch.set_num_threads(1)
    return build_model("cnn", seed).state_dict()


def _bad_files(tmp: Path) -> dict[str, list[str]]:
    """name -> argv (after `compare`) of one bad input each."""
    import torch

    (tmp / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp / "words.txt").write_text("hello world, this is no instance\n")
    (tmp / "nan.csv").write_text("g,c\n1.0,1.0\nnan,2.0\n")
    (tmp / "zero_cost.csv").write_text("g,c\n1.0,1.0\n2.0,0.0\n")
    (tmp / "neg_weight.txt").write_text("2 10\n5 3\n4 -1\n")
    (tmp / "short.txt").write_text("3 10\n5 3\n4 2\n")
    (tmp / "nocap.txt").write_text("2\n5 3\n4 2\n")  # first line gives only n, and no capacity follows
    (tmp / "nan_profit.txt").write_text("2 10\n5 3\nnan 2\n")
    np.savez(tmp / "mismatch.npz", g=np.ones(3), c=np.ones(2), budget=1.0)
    np.savez(tmp / "nobudget.npz", g=np.ones(3), c=np.ones(3))
    np.savez(tmp / "ok.npz", g=np.ones(3), c=np.ones(3), budget=1.0)
    (tmp / "header.csv").write_text("x,y\n1,2\n")
    sd = _cnn_state()
    torch.save(sd, tmp / "global.pt")
    wrong = dict(sd)
    wrong["fc1.weight"] = torch.zeros(7, 7)
    torch.save(wrong, tmp / "wrongshape.pt")
    missing = {k: v for k, v in sd.items() if k != "conv1.bias"}
    torch.save(missing, tmp / "missingkey.pt")
    (tmp / "notorch.pt").write_bytes(b"not a torch file at all")
    nan = {k: v.clone() for k, v in sd.items()}
    nan["conv1.bias"][1] = float("nan")
    torch.save(nan, tmp / "nan.pt")
    upd = ["--model", "cnn", "--profile", "on-device", "--sparsity", "0.1"]
    return {
        "missing file": (["--instance", str(tmp / "nope.npz")], "nope.npz", "no such file"),
        "unknown format (binary)": (["--instance", str(tmp / "binary.bin")], "binary.bin", "unknown format"),
        "unknown format (text)": (["--instance", str(tmp / "words.txt")], "words.txt", "unknown format"),
        "csv without g,c header": (["--instance", str(tmp / "header.csv"), "--budget", "1"], "header.csv", "g and c"),
        "NaN": (["--instance", str(tmp / "nan.csv"), "--budget", "1"], "nan.csv", "finite"),
        "NaN profit (knapsack)": (["--instance", str(tmp / "nan_profit.txt")], "nan_profit.txt",
                                  "profit of item 2 is nan; profits must be finite"),
        "NaN in a state dict": (["--update", str(tmp / "global.pt"), str(tmp / "nan.pt"), *upd], "nan.pt",
                                "parameter conv1.bias is not finite at index 1"),
        "non-positive cost": (["--instance", str(tmp / "zero_cost.csv"), "--budget", "1"], "zero_cost.csv", "c must be > 0"),
        "non-positive weight": (["--instance", str(tmp / "neg_weight.txt")], "neg_weight.txt", "weights"),
        "too few items": (["--instance", str(tmp / "short.txt")], "short.txt", "n = 3"),
        "length mismatch": (["--instance", str(tmp / "mismatch.npz")], "mismatch.npz", "shape mismatch"),
        "budget missing (npz)": (["--instance", str(tmp / "nobudget.npz")], "nobudget.npz", "--budget"),
        "budget missing (csv)": (["--instance", str(tmp / "nan.csv")], "nan.csv", "--budget"),
        "budget missing (knapsack)": (["--instance", str(tmp / "nocap.txt")], "nocap.txt", "no capacity line"),
        "budget negative": (["--instance", str(tmp / "ok.npz"), "--budget", "-1"], "ok.npz", "budget must be >= 0"),
        "update budget missing": (["--update", str(tmp / "global.pt"), str(tmp / "global.pt"), "--model", "cnn",
                                   "--profile", "on-device"], "global.pt", "--sparsity"),
        "update budget negative": (["--update", str(tmp / "global.pt"), str(tmp / "global.pt"), "--model", "cnn",
                                    "--profile", "on-device", "--budget", "-2"], "global.pt", "budget must be >= 0"),
        "state dict wrong shape": (["--update", str(tmp / "global.pt"), str(tmp / "wrongshape.pt"), *upd],
                                   "wrongshape.pt", "does not fit --model cnn"),
        "state dict missing key": (["--update", str(tmp / "missingkey.pt"), str(tmp / "global.pt"), *upd],
                                   "missingkey.pt", "missing 1 key(s)"),
        "not a torch file": (["--update", str(tmp / "global.pt"), str(tmp / "notorch.pt"), *upd], "notorch.pt",
                             "not a PyTorch state dict"),
        "update file missing": (["--update", str(tmp / "global.pt"), str(tmp / "gone.pt"), *upd], "gone.pt",
                                "no such file"),
        "torch file as --instance": (["--instance", str(tmp / "global.pt")], "global.pt", "--update"),
    }


BAD_NAMES = ["missing file", "unknown format (binary)", "unknown format (text)", "csv without g,c header", "NaN",
             "NaN profit (knapsack)", "NaN in a state dict", "non-positive cost", "non-positive weight",
             "too few items", "length mismatch", "budget missing (npz)", "budget missing (csv)",
             "budget missing (knapsack)", "budget negative", "update budget missing", "update budget negative",
             "state dict wrong shape", "state dict missing key", "not a torch file", "update file missing",
             "torch file as --instance"]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return _bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("case", BAD_NAMES)
def test_bad_input_is_one_line_naming_the_file(case, bad_files, tmp_path, capsys, monkeypatch):
    import solvers.cli

    def tripwire(*_a, **_k):
        pytest.fail("solving started before the input was refused")

    monkeypatch.setattr(solvers.cli, "run_instances", tripwire)
    argv, fname, fragment = bad_files[case]
    rc, out, err = _run([*argv, "--results", str(tmp_path)], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("cwmp compare: ") and fname in lines[0] and fragment in lines[0], lines[0]


def test_bad_input_list_covers_the_issue():
    assert len(BAD_NAMES) == len(set(BAD_NAMES)) == 22


def test_python_m_solvers_has_the_same_boundary(tmp_path):
    """`python -m solvers` reads instances too, and `solvers` never imports fl_validation on that path."""
    code = ("import sys, runpy; sys.argv = ['solvers', '--instance', 'nope.csv'];\n"
            "try:\n    runpy.run_module('solvers', run_name='__main__')\n"
            "except SystemExit as e:\n    rc = e.code\n"
            "assert not [m for m in sys.modules if m.startswith('fl_validation')], 'solvers imported fl_validation'\n"
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "cwmp compare: nope.csv: no such file"


# ----------------------------------------------------------------------------- model updates


def _two_class_optimum(g: np.ndarray, c: np.ndarray, B: float) -> float:
    """Exact optimum of P with two cost values, from the definition: every count k1 of the cheap
    class, the rest of B to the other class; each class keeps its largest g² (prefix sums)."""
    lo, hi = np.unique(c)
    v = g * g
    p_lo = np.concatenate(([0.0], np.cumsum(np.sort(v[c == lo])[::-1])))
    p_hi = np.concatenate(([0.0], np.cumsum(np.sort(v[c == hi])[::-1])))
    best = 0.0
    for k1 in range(len(p_lo)):
        rest = B - k1 * lo
        if rest < 0:
            break
        k2 = min(len(p_hi) - 1, int(math.floor(rest / hi)))
        while k2 > 0 and k1 * lo + k2 * hi > B:  # float guard at the boundary
            k2 -= 1
        best = max(best, p_lo[k1] + p_hi[k2])
    return float(best)


def _save_update(tmp: Path, n_changed: int | None):
    """GLOBAL = the seed-0 CNN; LOCAL = GLOBAL + a seeded perturbation (of n_changed coordinates, or all)."""
    import torch

    sd = _cnn_state()
    gen = torch.Generator().manual_seed(16)
    local = {}
    for k, t in sd.items():
        delta = 1e-3 * torch.randn(t.shape, generator=gen)
        local[k] = t + delta
    flat = torch.cat([(local[k] - sd[k]).reshape(-1) for k in sd])
    if n_changed is not None:  # keep the perturbation on n_changed coordinates spread over every layer
        keep = torch.zeros(flat.numel(), dtype=torch.bool)
        keep[torch.randperm(flat.numel(), generator=gen)[:n_changed]] = True
        i = 0
        for k, t in sd.items():
            m = keep[i:i + t.numel()].view_as(t)
            local[k] = torch.where(m, local[k], t)
            i += t.numel()
    torch.save(sd, tmp / "global.pt")
    torch.save(local, tmp / "local.pt")
    return tmp / "global.pt", tmp / "local.pt"


MILP_TIME_LIMIT_S = 60  # HiGHS proves these sparse updates in seconds; the limit only bounds a bad day


def test_update_exact_equals_milp_on_a_cnn_update(tmp_path, capsys):
    """d = 62,006 (the compact CNN); the update changes 2,000 coordinates spread over every layer, so the
    MILP (which drops g_i = 0) proves optimality in seconds; core's class path must give the same value.
    At 1 % Top-K keeps K = 621 of them: its energy leaves the LP fractional (not all-fit)."""
    gp, lp = _save_update(tmp_path, n_changed=2000)
    rc, out, err = _run(["--update", str(gp), str(lp), "--model", "cnn", "--profile", "on-device",
                         "--sparsity", "0.01", "--milp-time-limit", str(MILP_TIME_LIMIT_S),
                         "--results", str(tmp_path)], capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "solvers" / "compare_instances.json").read_text())
    (rec,) = res["instances"]
    assert rec["d"] == 62_006 and rec["format"] == "update" and rec["core"]["solver"] == "classes"
    assert rec["info"]["topk_k"] == math.ceil(0.01 * 62_006) and rec["milp"]["time_limit_s"] == MILP_TIME_LIMIT_S
    assert rec["milp"]["status"] == "optimal" and rec["milp"]["proven"], rec["milp"]
    # tolerance: core is exact to 1e-12·LP*; HiGHS scales v to max 1 and proves gap 0 at 1e-9 feasibility
    assert rec["core"]["value"] == pytest.approx(rec["milp"]["value"], rel=1e-12)
    assert all(s["all_sandwich_ok"] for s in res["summary"])
    assert "update local.pt - global.pt (cnn, on-device)" in out


def test_update_dense_core_equals_class_enumeration(tmp_path):
    """A dense update (every coordinate changed): the class solver against the enumeration above;
    the budget is Top-K's energy at 5 %, recomputed here from the profile's two class costs."""
    from fl_validation.energy import cost_model_for
    from fl_validation.update import load_update
    from solvers import solve_exact

    gp, lp = _save_update(tmp_path, n_changed=None)
    inst = load_update(gp, lp, model="cnn", profile="on-device", sparsity=0.05)
    cost = cost_model_for("cnn", "on-device")
    assert np.array_equal(inst.c, cost.costs()) and inst.d == 62_006 and np.count_nonzero(inst.g) > 60_000
    k = math.ceil(0.05 * inst.d)
    top = np.argsort(-np.abs(inst.g), kind="stable")[:k]
    assert inst.budget == pytest.approx(float(inst.c[top].sum()), rel=1e-12)
    ex = solve_exact(inst.g, inst.c, inst.budget, backend="core")
    assert ex.solver == "classes" and ex.proven_optimal
    # tolerance: both sum ≤ 62,006 positive terms in float64 (~1e-12 relative apart at worst)
    assert ex.value == pytest.approx(_two_class_optimum(inst.g, inst.c, inst.budget), rel=1e-10)


# ----------------------------------------------------------------------------- solve_lp(reduce=)


def _linprog(v, c, B, reduce):
    from scipy.optimize import linprog

    ub = np.where(c <= B, 1.0, 0.0) if reduce else np.ones_like(v)
    res = linprog(-v, A_ub=c[None, :], b_ub=[B], bounds=list(zip(np.zeros_like(v), ub)), method="highs")
    assert res.status == 0, res.message
    return float(-res.fun)


def test_solve_lp_reduced_and_textbook_against_linprog():
    from solvers import solve_lp

    rng = np.random.default_rng(16)
    strict = 0
    for _ in range(60):
        d = int(rng.integers(2, 40))
        g = rng.standard_normal(d) * np.exp(rng.normal(0, 1, d))
        c = rng.lognormal(0, 1.2, d)
        B = float(rng.uniform(0.05, 0.8) * c.sum())
        v = g * g
        red, txt = solve_lp(g, c, B), solve_lp(g, c, B, reduce=False)
        # tolerance: HiGHS to ~1e-9 feasibility, 1e-7 relative on the value (as in C2)
        assert red.value == pytest.approx(_linprog(v, c, B, True), rel=1e-7)
        assert txt.value == pytest.approx(_linprog(v, c, B, False), rel=1e-7)
        if _ < 15:  # the CVXPY path too (a few: each builds a problem)
            assert solve_lp(g, c, B, backend="cvxpy", reduce=False).value == pytest.approx(txt.value, rel=1e-7)
        assert red.value <= txt.value * (1 + 1e-12)
        strict += txt.value > red.value * (1 + 1e-9)
    assert strict > 0  # some instance had an unfittable item worth relaxing
    # the shipped tiny instance: item 6 (g = 20, c = 15 > B = 10) has ratio 26.7, so the textbook
    # LP takes 9.99/15 of it right after item 0; the reduced LP cannot
    z = np.load(DATA / "tiny.npz")
    g, c, B = z["g"], z["c"], float(z["budget"])
    assert solve_lp(g, c, B).value == pytest.approx(100.9, rel=1e-12)
    assert solve_lp(g, c, B, reduce=False).value == pytest.approx(1 + 400 * 9.99 / 15, rel=1e-12)
    assert solve_lp(g, c, B, drop_unfittable=False).value == solve_lp(g, c, B, reduce=False).value
    with pytest.raises(ValueError, match="reduce"):
        solve_lp(g, c, B, reduce="no")
