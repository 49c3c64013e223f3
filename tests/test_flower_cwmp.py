"""CWMP on Flower (fl_validation.flower): equivalence with fl_validation's loop, and format checks.

Runs Flower's apps in-process (``run_inprocess``: no Ray, no network) on tiny
synthetic data. Oracles: plain Flower FedAvg (100 % kept) and
``fl_validation.run.run_one`` (same seeds and partition).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

pytest.importorskip("flwr")

from tests.test_fl_loop import tiny_cfg, tiny_data  # noqa: E402


@pytest.fixture(autouse=True)
def _flower_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FLWR_TELEMETRY_ENABLED", "0")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("FLWR_DISABLE_UPDATE_CHECK", "1")
    monkeypatch.setenv("FLWR_HOME", str(tmp_path / "flwr-home"))


DATA = None


def data_fn(cfg):
    global DATA
    if DATA is None:
        DATA = tiny_data()
    return DATA


def state_of(arrays) -> dict[str, torch.Tensor]:
    return {k: v.detach().float().contiguous() for k, v in arrays.to_torch_state_dict().items()}


def loop_run(cfg, tmp_path):
    from fl_validation.run import CHECKPOINT, run_one

    rd = tmp_path / cfg.run_id
    out = run_one(cfg, rd, data_fn(cfg), log=lambda s: None)
    ck = torch.load(rd / CHECKPOINT, weights_only=True)
    return out, {k: v.float().contiguous() for k, v in ck["model"].items()}


def test_full_kept_equals_plain_fedavg():
    from fl_validation.flower.driver import run_inprocess

    cfg = tiny_cfg(method="dense", rounds=2)
    sparse = run_inprocess(cfg, data_fn)
    plain = run_inprocess(cfg, data_fn, sparse=False)
    a, b = state_of(sparse.arrays), state_of(plain.arrays)
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    print(f"100 % kept: max abs(cwmp path - plain FedAvg) = {worst:.3g}")
    assert worst < 1e-6, worst
    assert all(c["cwmp.kept"] == 62006 for r in sparse.history for c in r["clients"])


@pytest.mark.parametrize("method,kw", [("topk", {}), ("cwmp-l2", {}), ("cwmp-paper", {"mode": "budget"}),
                                       ("cwmp-l2", {"error_feedback": True})])
def test_same_model_and_energy_as_fl_validation_loop(method, kw, tmp_path):
    from fl_validation.flower.driver import run_inprocess

    cfg = tiny_cfg(method=method, sparsity=0.1, rounds=2, **kw)
    res = run_inprocess(cfg, data_fn)
    out, loop_state = loop_run(cfg, tmp_path)
    fl_state = state_of(res.arrays)
    worst = max(float((fl_state[k] - loop_state[k]).abs().max()) for k in loop_state)
    print(f"{method} {kw}: max abs(flower - loop) = {worst:.3g}")
    assert worst <= 1e-7, f"{method}: max abs(flower - loop) = {worst}"
    for r_loop, r_fl in zip(out["rounds"], res.history, strict=True):
        assert [c["client"] for c in r_fl["clients"]] == [0, 1, 2]
        for c_loop, c_fl in zip(r_loop["clients"], r_fl["clients"], strict=True):
            assert c_fl["cwmp.kept"] == c_loop["kept"]
            assert c_fl["cwmp.bytes"] == c_loop["bytes"]
            assert c_fl["cwmp.energy-J"] == pytest.approx(c_loop["energy_J"], rel=1e-12)
            assert c_fl["num-examples"] == c_loop["n_samples"]
        # summed, not averaged
        assert r_fl["cwmp.energy-J"] == pytest.approx(r_loop["energy_J"], rel=1e-12)
        assert r_fl["cwmp.bytes"] == r_loop["bytes"]
        assert r_fl["cwmp.kept"] == r_loop["kept"]
        assert res.evaluations[r_loop["round"]]["test_acc"] == pytest.approx(r_loop["test_acc"], abs=1e-12)
    if method == "topk":
        assert all(c["cwmp.kept"] == math.ceil(0.1 * 62006) for r in res.history for c in r["clients"])


def _corrupting_mod(fn):
    from flwr.app import Array, ArrayRecord

    def mod(msg, ctx, call_next):
        reply = call_next(msg, ctx)
        ar = reply.content["arrays"]
        arrays = {k: ar[k].numpy().copy() for k in ar.keys()}
        if ctx.node_config["partition-id"] == 2:
            fn(arrays)
        reply.content["arrays"] = ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in arrays.items()})
        return reply

    return mod


def _drop_marker(a):
    del a["cwmp::format"]


def _bad_marker(a):
    a["cwmp::format"] = np.frombuffer(b"topk-sparse/9", dtype=np.uint8).copy()


def _short_values(a):
    a["fc1.weight::values"] = a["fc1.weight::values"][:-1]


def _out_of_range(a):
    i = a["conv1.weight::indices"]
    if i.size == 0:
        a["conv1.weight::values"] = np.zeros(1, np.float32)
        i = np.zeros(1, np.int32)
    i[-1] = 731
    a["conv1.weight::indices"] = i


def _int64_indices(a):
    a["fc2.weight::indices"] = a["fc2.weight::indices"].astype(np.int64)


@pytest.mark.parametrize("corrupt,pattern", [
    (_drop_marker, r"round 1, client 2 .*no 'cwmp::format' marker"),
    (_bad_marker, r"round 1, client 2 .*format marker 'topk-sparse/9', expected 'cwmp-sparse/1'"),
    (_short_values, r"round 1, client 2 .*'fc1.weight::values' has shape \(\d+,\) but 'fc1.weight::indices'"),
    (_out_of_range, r"round 1, client 2 .*indices for 'conv1.weight::indices' out of range \[0, 450\): max 731"),
    (_int64_indices, r"round 1, client 2 .*'fc2.weight::indices' has dtype int64, expected int32"),
])
def test_corrupt_sparse_reply_fails_in_same_round(corrupt, pattern):
    from fl_validation.flower.apps import make_client_app
    from fl_validation.flower.driver import run_inprocess
    from fl_validation.flower.wire import SparseFormatError

    cfg = tiny_cfg(method="topk", sparsity=0.1, rounds=2)
    capp = make_client_app(cfg, data_fn, mods=[_corrupting_mod(corrupt)])
    with pytest.raises(SparseFormatError, match=pattern):
        run_inprocess(cfg, data_fn, client_app=capp)


def test_dense_replies_without_mod_are_refused():
    from fl_validation.flower.apps import make_client_app
    from fl_validation.flower.driver import run_inprocess
    from fl_validation.flower.wire import SparseFormatError

    cfg = tiny_cfg(method="topk", sparsity=0.1, rounds=1)
    with pytest.raises(SparseFormatError, match=r"round 1, node 100[0-2]: reply has no 'cwmp::format' marker"):
        run_inprocess(cfg, data_fn, client_app=make_client_app(cfg, data_fn, sparsify=False))


def test_run_config_maps_to_flconfig():
    from fl_validation.flower.common import fl_config_from_run_config

    cfg = fl_config_from_run_config({"method": "cwmp-l2", "sparsity": 0.05, "local-epochs": 1,
                                     "num-server-rounds": 3, "n-clients": 4})
    assert (cfg.method, cfg.sparsity, cfg.local_epochs, cfg.rounds, cfg.n_clients) == ("cwmp-l2", 0.05, 1, 3, 4)
    with pytest.raises(ValueError, match="'learning-rate' is not an FLConfig field"):
        fl_config_from_run_config({"learning-rate": 0.1})


def test_cli_engine_flower_inprocess(tmp_path, monkeypatch):
    from fl_validation.cli import main
    from fl_validation.synthetic import make_arrays, write_source

    monkeypatch.setenv("CWMP_CACHE", str(tmp_path / "cache"))
    src, _ = write_source(tmp_path, "binary", archive=False, arrays=make_arrays(150, 30, seed=4))
    args = ["--preset", "smoke", "--data", str(src), "--results", str(tmp_path / "res"), "--any-size",
            "--quiet", "--n-clients", "3", "--min-client-size", "5", "--batch-size", "32", "--rounds", "2",
            "--train-subset", "0", "--test-subset", "0", "--runs", "cwmp-l2_count_s0.10_seed0"]
    assert main(args + ["--engine", "flower", "--flower-backend", "inprocess"]) == 0
    assert main(args) == 0
    fl = json.loads((tmp_path / "res/fl/smoke-flower/cwmp-l2_count_s0.10_seed0/metrics.json").read_text())
    lp = json.loads((tmp_path / "res/fl/smoke/cwmp-l2_count_s0.10_seed0/metrics.json").read_text())
    assert fl["complete"] and fl["engine"] == "flower-inprocess"
    assert fl["total_energy_J"] == pytest.approx(lp["total_energy_J"], rel=1e-12)
    assert fl["total_bytes"] == lp["total_bytes"]
    assert fl["final_test_acc"] == pytest.approx(lp["final_test_acc"], abs=1e-12)


def _exact_records(doc) -> list[list]:
    """Per round, per client: the ``exact`` record of a metrics.json document, timing left out."""
    from tests.test_fl_loop import strip_timing

    return [[strip_timing(c["exact"]) for c in r["clients"]] for r in doc["rounds"]]


@pytest.mark.parametrize("exact_reference", [True, False])
def test_exact_reference_logged_as_in_the_loop(exact_reference, tmp_path):
    """Budget mode: a Flower run's metrics.json carries the loop's ``exact`` record per client-round
    (same value, greedy value, ratio, gaps, status, proof, solver; timing left out), and none with
    --no-exact-reference; the selection (kept, energy) is the loop's either way."""
    from fl_validation.flower.driver import run_inprocess
    from fl_validation.flower.results import RunOutput

    cfg = tiny_cfg(method="cwmp-l2", mode="budget", sparsity=0.1, rounds=2, exact_reference=exact_reference)
    output = RunOutput(results=str(tmp_path / "res"), preset="t", engine="flower-inprocess")
    run_inprocess(cfg, data_fn, output=output)
    fl = json.loads((output.run_dir(cfg) / "metrics.json").read_text())
    loop, _ = loop_run(cfg, tmp_path)
    assert fl["config"]["exact_reference"] is exact_reference
    ex_fl, ex_loop = _exact_records(fl), _exact_records(loop)
    assert len(ex_fl) == len(ex_loop) == 2 and all(len(r) == 3 for r in ex_fl)
    if not exact_reference:
        assert ex_fl == ex_loop == [[None] * 3] * 2
        return
    assert all(e is not None for r in ex_fl for e in r), ex_fl
    assert ex_fl == ex_loop
    assert all(e["status"] == "optimal" and e["proven"] for r in ex_fl for e in r)
    for r_fl, r_loop in zip(fl["rounds"], loop["rounds"], strict=True):
        for c_fl, c_loop in zip(r_fl["clients"], r_loop["clients"], strict=True):
            assert (c_fl["kept"], c_fl["energy_J"]) == (c_loop["kept"], c_loop["energy_J"])
    # what the records feed: the summary's greedy-vs-exact section (figure 11), under the folder's name
    from fl_validation.report import write_summary

    md, path = write_summary(tmp_path / "res", "t", "flower")
    assert md.startswith("# FL sweep `t-flower`"), md.splitlines()[0]
    gve = json.loads((path.parent / "summary.json").read_text())["greedy_vs_exact"]
    assert [(e["method"], e["n_solves"]) for e in gve] == [("cwmp-l2", 6)], gve
