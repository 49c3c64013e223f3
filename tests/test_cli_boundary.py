"""The command line as a boundary: every misuse is one stderr line and exit 2, before any work.

Each bad invocation goes through ``cwmp_cli.main`` in-process with the heavy entry points
(training, solving, benchmarking, the theory report, data loading) replaced by a tripwire:
validation must refuse the input before any of them is reached.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cwmp_cli

FORBIDDEN = "/proc/forbidden"  # neither creatable nor writable


def _tripwire(*_a, **_k):
    pytest.fail("work started before validation refused the input")


@pytest.fixture(autouse=True)
def no_work(monkeypatch, tmp_path):
    import fl_validation.dataset
    import fl_validation.run
    import solvers.bench
    import solvers.cli
    import theory.report

    monkeypatch.delenv("CWMP_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)  # default --results stays out of the repository
    monkeypatch.setattr(solvers.cli, "run_compare", _tripwire)
    for name in ("bench_selection", "bench_exact", "bench_classes"):
        monkeypatch.setattr(solvers.bench, name, _tripwire)
    monkeypatch.setattr(theory.report, "run_report", _tripwire)
    monkeypatch.setattr(fl_validation.run, "run_sweep", _tripwire)
    monkeypatch.setattr(fl_validation.dataset, "load_cifar10", _tripwire)


@pytest.fixture
def profiles(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    corrupt = tmp_path / "corrupt.toml"
    corrupt.write_text("[transmission\nbits = = 3\n")
    folder = tmp_path / "profile_dir"
    folder.mkdir()
    return {"EMPTY": str(empty), "CORRUPT": str(corrupt), "DIR": str(folder)}


SMOKE = ["fl", "--preset", "smoke"]

# (argv, a fragment the one error line must contain: the bad value or the flag)
BAD = [
    (["compare", "--dims", "0"], "--dims"),
    (["compare", "--dims", "1"], "--dims"),
    (["compare", "--dims", "abc"], "abc"),
    (["compare", "--budget-fractions", "-1"], "--budget-fractions"),
    (["compare", "--budget-fractions", "2"], "--budget-fractions"),
    (["compare", "--budget-fractions", "nan"], "--budget-fractions"),
    (["compare", "--seeds", "-3"], "--seeds"),
    (["compare", "--milp-time-limit", "0"], "--milp-time-limit"),
    (["compare", "--families", "nosuch"], "nosuch"),
    (["compare", "--quick", "--results", FORBIDDEN], FORBIDDEN),
    (["compare", "--nosuchflag"], "--nosuchflag"),
    (["bench", "--quick", "--results", FORBIDDEN], FORBIDDEN),
    (["bench", "--only", "nope"], "nope"),
    (["theory", "--seed", "x"], "'x'"),
    (["theory", "--quick", "--results", FORBIDDEN], FORBIDDEN),
    (["figures", "--only", "99"], "99"),
    (["reproduce", "--nosuch"], "--nosuch"),
    (["nosuchcommand"], "nosuchcommand"),
    (SMOKE + ["--alpha", "-1"], "alpha"),
    (SMOKE + ["--alpha", "inf"], "alpha"),
    (SMOKE + ["--n-clients", "0"], "n_clients"),
    (SMOKE + ["--rounds", "0"], "rounds"),
    (SMOKE + ["--rounds", "abc"], "abc"),
    (SMOKE + ["--method", "nope"], "nope"),
    (SMOKE + ["--mode", "nope"], "nope"),
    (SMOKE + ["--greedy", "nope"], "nope"),
    (SMOKE + ["--model", "nope"], "nope"),
    (SMOKE + ["--lr", "nan"], "lr"),
    (SMOKE + ["--lr", "-0.1"], "lr"),
    (SMOKE + ["--momentum", "1.5"], "momentum"),
    (SMOKE + ["--weight-decay", "-1"], "weight_decay"),
    (SMOKE + ["--sparsity", "0"], "sparsity"),
    (SMOKE + ["--sparsity", "1.5"], "sparsity"),
    (SMOKE + ["--method", "dense", "--sparsity", "2"], "sparsity"),
    (SMOKE + ["--batch-size", "0"], "batch_size"),
    (SMOKE + ["--eval-batch", "0"], "eval_batch"),
    (SMOKE + ["--local-epochs", "0"], "local_epochs"),
    (SMOKE + ["--min-client-size", "-1"], "min_client_size"),
    (SMOKE + ["--train-subset", "-5"], "train_subset"),
    (SMOKE + ["--seed", "-1"], "seed"),
    (SMOKE + ["--seeds", "a,b"], "a,b"),
    (SMOKE + ["--seeds", "-1"], "-1"),
    (SMOKE + ["--max-rounds-this-call", "0"], "--max-rounds-this-call"),
    (SMOKE + ["--device", "gpu9"], "gpu9"),
    (SMOKE + ["--profile", "/nonexistent.toml"], "/nonexistent.toml"),
    (SMOKE + ["--profile", "EMPTY"], "EMPTY"),
    (SMOKE + ["--profile", "CORRUPT"], "CORRUPT"),
    (SMOKE + ["--profile", "DIR"], "DIR"),
    (SMOKE + ["--profile", "nosuch-profile"], "nosuch-profile"),
    (SMOKE + ["--runs", "nosuch_id"], "nosuch_id"),
    (SMOKE + ["--data", "/nonexistent"], "/nonexistent"),
    (SMOKE + ["--data", "/nonexistent", "--list"], "/nonexistent"),
    (SMOKE + ["--only", "nosuchfield=1"], "nosuchfield"),
    (SMOKE + ["--only", "method"], "method"),
    (SMOKE + ["--only", "n_clients=abc"], "abc"),
    (SMOKE + ["--only", "method=nosuch"], "no run matches"),
    (SMOKE + ["--results", FORBIDDEN], FORBIDDEN),
    (SMOKE + ["--summary", "--results", FORBIDDEN], FORBIDDEN),
    (SMOKE + ["--nosuchflag"], "--nosuchflag"),
    (["fl", "--preset", "nope"], "nope"),
]


@pytest.mark.parametrize("argv,needle", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_invocation_is_one_line_and_exit_2(argv, needle, profiles, capsys):
    argv = [profiles.get(a, a) for a in argv]
    needle = profiles.get(needle, needle)
    t0 = time.perf_counter()
    try:
        rc = cwmp_cli.main(argv)
    except SystemExit as exc:
        rc = exc.code
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert needle in lines[0], lines[0]
    assert lines[0].startswith("cwmp"), lines[0]
    assert elapsed < 5, f"{elapsed:.1f} s before refusing"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_flag_keeps_the_traceback(where):
    argv = ["compare", "--dims", "0"]
    argv = ["--debug"] + argv if where == "before" else argv + ["--debug"]
    with pytest.raises(ValueError, match="--dims"):
        cwmp_cli.main(argv)


def test_debug_env_keeps_the_traceback(monkeypatch):
    monkeypatch.setenv("CWMP_DEBUG", "1")
    with pytest.raises(ValueError, match="lr"):
        cwmp_cli.main(SMOKE + ["--lr", "nan", "--list"])


def test_unknown_exceptions_stay_tracebacks():
    def boom(argv):
        raise KeyError("a bug, not a bad input")

    with pytest.raises(KeyError):
        cwmp_cli.run_command("x", boom, [])


def test_axis_override_skips_points_it_does_not_fit(capsys):
    """The issue's example: --sparsity on a paper selection, dense included in the preset."""
    argv = ["fl", "--preset", "paper", "--only", "method=cwmp-l2,mode=budget", "--sparsity", "0.01", "--list"]
    assert cwmp_cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    ids = [line.split()[0] for line in out.splitlines() if line.startswith("cwmp-l2")]
    assert ids == [f"cwmp-l2_budget_s0.01_seed{s}" for s in range(5)]
    # dense stays dense and --list says why it kept sparsity 1; --greedy skips count-mode points
    assert cwmp_cli.main(SMOKE + ["--sparsity", "0.05", "--greedy", "fill", "--list"]) == 0
    out = capsys.readouterr().out
    assert "dense_seed0 " in out and "topk_count_s0.05_seed0" in out
    assert "override skipped: dense_seed0: --sparsity 0.05 not applied" in out
    assert "override skipped: topk_count_s0.05_seed0: --greedy fill not applied" in out
    assert "override skipped: cwmp-l2_budget" not in out


# ------------------------------------------------------------ property: parse + validate only

_FRAGMENTS = [
    [], ["--preset", "smoke"], ["--preset", "paper"], ["--preset", "nope"], ["--list"],
    ["--lr", "0.1"], ["--lr", "nan"], ["--lr", "-1"], ["--lr", "x"], ["--momentum", "0.5"],
    ["--momentum", "1"], ["--weight-decay", "0"], ["--weight-decay", "-0.5"],
    ["--alpha", "0.1"], ["--alpha", "0"], ["--alpha", "inf"], ["--sparsity", "0.05"],
    ["--sparsity", "0"], ["--sparsity", "1.5"], ["--sparsity", "nan"], ["--mode", "budget"],
    ["--mode", "count"], ["--mode", "x"], ["--greedy", "fill"], ["--greedy", "x"],
    ["--method", "topk"], ["--method", "dense"], ["--method", "x"], ["--n-clients", "3"],
    ["--n-clients", "0"], ["--rounds", "2"], ["--rounds", "-1"], ["--rounds", "abc"],
    ["--batch-size", "0"], ["--local-epochs", "0"], ["--local-steps", "5"], ["--seed", "3"],
    ["--seed", "-2"], ["--seeds", "0,1"], ["--seeds", "x"], ["--seeds", ","],
    ["--only", "method=topk"], ["--only", "sparsity=0.1,mode=count"], ["--only", "bogus=1"],
    ["--only", "method"], ["--only", "rounds=abc"], ["--runs", "dense_seed0"], ["--runs", "nosuch"],
    ["--profile", "lte"], ["--profile", "/nonexistent.toml"], ["--profile", "nosuch"],
    ["--data", "/nonexistent"], ["--device", "cpu"], ["--device", "cuda:1"], ["--device", "tpu"],
    ["--max-rounds-this-call", "0"], ["--max-rounds-this-call", "1"], ["--bogus"], ["--rounds"],
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=6))
def test_parse_and_validate_never_escape_the_boundary(fragments):
    """Property: for any command line built from good and bad `cwmp fl` fragments, parsing and
    validation (no run) either succeed with at least one run, or refuse with SystemExit(2) or a
    known error whose message is one non-empty line; no other exception escapes."""
    import contextlib
    import io

    from fl_validation.cli import build_parser, validate
    from fl_validation.dataset import DatasetError

    argv = [tok for frag in fragments for tok in frag]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), cwmp_cli._one_line_argparse():
            ns = build_parser().parse_args(argv)
        preset, configs, skipped = validate(ns, check_outputs=False)
    except SystemExit as exc:
        assert exc.code == 2
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        assert len(lines) == 1, err.getvalue()
    except (ValueError, DatasetError, OSError) as exc:
        msg = str(exc)
        assert msg.strip() and "\n" not in msg.strip(), msg
    else:
        assert configs and preset == ns.preset
        assert all(isinstance(line, str) and "\n" not in line for line in skipped)
