"""fl_validation client/server/run/cli: selection, energy accounting, FedAvg, resume, CLI.

Tiny synthetic data only. Oracles: direct solvers calls, a cost vector written
out by hand from the 45 nm constants, and uninterrupted runs for resume.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import fl_validation.run as run_mod
from fl_validation.cli import _parse_only, main
from fl_validation.client import METHODS, count_k, sparsify
from fl_validation.config import PRESETS, FLConfig
from fl_validation.dataset import CifarArrays
from fl_validation.energy import cost_model_for
from fl_validation.model import build_model
from fl_validation.server import FedAvgAggregator, flat_params
from fl_validation.synthetic import make_arrays, write_source
from solvers import cwmp_mask, random_mask, solve_lp, topk_mask

SRAM_UPDATE = 2 * 5e-12 + 0.9e-12
DRAM_UPDATE = 2 * 640e-12 + 0.9e-12
D_CNN = 62006
TIMING_KEYS = {"wall_s", "cpu_s", "train_s", "select_s", "eval_s", "seconds", "wall_s_per_round_mean", "cpu_s_per_round_mean"}


def hand_costs() -> np.ndarray:
    """on-device profile, compact CNN: 2872 conv coordinates in SRAM, then 59134 FC ones in DRAM."""
    return np.concatenate([np.full(2872, SRAM_UPDATE), np.full(D_CNN - 2872, DRAM_UPDATE)])


def tiny_data(n_train=240, n_test=60, seed=0, separable=False) -> CifarArrays:
    arr = make_arrays(n_train, n_test, seed=seed, separable=separable)
    return CifarArrays(*arr, source="synthetic", format="synthetic", sha256="0" * 64)


def tiny_cfg(**kw) -> FLConfig:
    base = dict(n_clients=3, rounds=3, local_epochs=1, batch_size=32, min_client_size=5, threads=1,
                progress=False)
    base.update(kw)
    return FLConfig(**base).normalized()


def strip_timing(obj):
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


# ------------------------------------------------------------------ selection


@pytest.fixture(scope="module")
def setup():
    cost = cost_model_for("cnn", "on-device")
    g = torch.randn(D_CNN, generator=torch.Generator().manual_seed(1)) * torch.linspace(0.1, 2.0, D_CNN)
    return cost, g, cost.costs_torch(), torch.from_numpy(cost.class_ids)


@pytest.mark.parametrize("rho", [0.01, 0.1, 0.2])
@pytest.mark.parametrize("method", ["topk", "cwmp-l2", "cwmp-paper", "random-k"])
def test_count_mode_matches_solvers_and_hand_energy(setup, method, rho):
    cost, g, c_t, ids = setup
    cfg = tiny_cfg(method=method, mode="count", sparsity=rho)
    res = sparsify(g, cfg, cost, c_t, ids, torch.Generator().manual_seed(7))
    k = math.ceil(round(rho * D_CNN, 6))
    direct = {
        "topk": lambda: topk_mask(g, k=k),
        "cwmp-l2": lambda: cwmp_mask(g, c_t, k=k, score="l2"),
        "cwmp-paper": lambda: cwmp_mask(g, c_t, k=k, score="paper"),
        "random-k": lambda: random_mask(g, k=k, rng=torch.Generator().manual_seed(7)),
    }[method]()
    assert torch.equal(res.mask, direct.mask)
    mask = res.mask.numpy()
    assert res.stats["kept"] == k == int(mask.sum())
    assert res.stats["energy_J"] == pytest.approx(float(hand_costs()[mask].sum()), rel=1e-12)
    assert res.stats["energy_tx_J"] == 0.0
    assert res.stats["bytes"] == math.ceil(k * (32 + 16) / 8)
    gg = g.double().numpy()
    assert res.stats["retained_frac"] == pytest.approx(float((gg[mask] ** 2).sum() / (gg ** 2).sum()), rel=1e-12)


def test_cwmp_count_prefers_cheap_coordinates(setup):
    cost, g, c_t, ids = setup
    res_t = sparsify(g, tiny_cfg(method="topk", sparsity=0.05), cost, c_t, ids, None)
    res_c = sparsify(g, tiny_cfg(method="cwmp-l2", sparsity=0.05), cost, c_t, ids, None)
    assert res_c.stats["kept_by_class"]["conv/sram"] > res_t.stats["kept_by_class"]["conv/sram"]
    assert res_c.stats["energy_J"] < res_t.stats["energy_J"]


@pytest.mark.parametrize("method", ["topk", "cwmp-l2", "cwmp-paper", "random-k"])
def test_budget_mode_spends_topk_energy(setup, method):
    cost, g, c_t, ids = setup
    c = hand_costs()
    k = count_k(0.1, D_CNN)
    ref = topk_mask(g, k=k).mask.numpy()
    budget = float(c[ref].sum())
    res = sparsify(g, tiny_cfg(method=method, mode="budget", sparsity=0.1), cost, c_t, ids,
                   torch.Generator().manual_seed(3))
    assert res.stats["budget_J"] == pytest.approx(budget, rel=1e-11)
    spent = float(c[res.mask.numpy()].sum())
    assert spent == pytest.approx(res.stats["energy_J"], rel=1e-12)
    assert spent <= res.stats["budget_J"] * (1 + 1e-12)
    assert spent > budget - c.max()  # the greedy stops only when the next item does not fit
    gg = g.double().numpy()
    topk_ret = float((gg[ref] ** 2).sum() / (gg ** 2).sum())
    if method == "topk":
        assert np.array_equal(res.mask.numpy(), ref)
        assert res.stats["topk_retained_frac"] is None  # its budget mode is count mode: nothing to compare
    else:
        assert res.stats["topk_retained_frac"] == pytest.approx(topk_ret, rel=1e-12)
    if method == "cwmp-l2":
        assert res.stats["kept"] > k  # cheap conv coordinates: more kept for the same energy
        # T1 at finite d: the l2 greedy retains at least Top-K's value less one item
        assert res.stats["retained_frac"] >= topk_ret - float((gg ** 2).max() / (gg ** 2).sum())
        assert res.stats["certified_gap"] is not None and 0 <= res.stats["certified_gap"] < 1e-3


def test_dense_sends_everything(setup):
    cost, g, c_t, ids = setup
    res = sparsify(g, tiny_cfg(), cost, c_t, ids, None)
    assert bool(res.mask.all()) and res.stats["kept"] == D_CNN
    assert res.stats["energy_J"] == pytest.approx(float(hand_costs().sum()), rel=1e-12)
    assert res.stats["bytes"] == 4 * D_CNN and res.stats["retained_frac"] == 1.0


def test_method_table_is_extensible():
    from fl_validation.client import MethodSpec, register_method

    assert {"dense", "topk", "cwmp-l2", "cwmp-paper", "random-k"} <= set(METHODS)
    with pytest.raises(ValueError, match="already registered"):
        register_method(MethodSpec("topk", None, "dup"))
    with pytest.raises(ValueError, match="method must be one of"):
        FLConfig(method="no-such-method")


# ------------------------------------------------------------------- server


def test_fedavg_weighted_average_and_buffers():
    model = build_model("resnet18", 0)
    gvec = flat_params(model)
    agg = FedAvgAggregator(gvec, total_samples=4)
    u1, u2 = torch.randn_like(gvec), torch.randn_like(gvec)
    m1, m2 = build_model("resnet18", 1), build_model("resnet18", 2)
    with torch.no_grad():
        m1.bn1.running_mean.fill_(1.0)
        m2.bn1.running_mean.fill_(5.0)
    agg.add(1, u1, m1)
    agg.add(3, u2, m2)
    agg.apply(model)
    want = gvec.double() + 0.25 * u1.double() + 0.75 * u2.double()
    assert torch.allclose(flat_params(model).double(), want, atol=1e-6)
    assert torch.allclose(model.bn1.running_mean, torch.full((64,), 4.0))


def test_models_forward():
    x = torch.randn(2, 3, 32, 32)
    for name in ("cnn", "resnet18"):
        assert build_model(name, 0)(x).shape == (2, 10)
    a, b = build_model("cnn", 3), build_model("cnn", 3)
    assert torch.equal(flat_params(a), flat_params(b))


@pytest.mark.parametrize("name", ["cnn", "resnet18"])
def test_build_model_matches_torch_default_init_without_touching_global_rng(name):
    """Oracle: torch's own reset_parameters under torch.manual_seed (the committed runs' init)."""
    from fl_validation.model import CompactCNN, ResNet18

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        want = (CompactCNN() if name == "cnn" else ResNet18()).state_dict()
    before = torch.get_rng_state()
    got = build_model(name, 7).state_dict()
    assert torch.equal(torch.get_rng_state(), before)  # global RNG neither read-advanced nor reseeded
    assert got.keys() == want.keys()
    for k in want:
        assert torch.equal(got[k], want[k]), k  # bitwise: committed results stay reproducible
    assert not torch.equal(flat_params(build_model(name, 8)), flat_params(build_model(name, 7)))


# -------------------------------------------------------------------- the loop


def test_energy_totals_recomputed_from_masks_and_stats(tmp_path, monkeypatch):
    masks = []
    real = run_mod.sparsify

    def spy(g, cfg, cost, c_t, ids, rng):
        res = real(g, cfg, cost, c_t, ids, rng)
        masks.append(res.mask.numpy().copy())
        return res

    monkeypatch.setattr(run_mod, "sparsify", spy)
    cfg = tiny_cfg(method="cwmp-l2", mode="budget", sparsity=0.05, rounds=2)
    m = run_mod.run_one(cfg, tmp_path / "run", tiny_data())
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    conf = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["complete"] and strip_timing(saved) == strip_timing(json.loads(json.dumps(m)))
    c = hand_costs()
    classes = conf["cost_model"]["classes"]
    assert classes["conv/sram"]["c_J"] == pytest.approx(SRAM_UPDATE, rel=1e-12)
    assert len(masks) == 2 * 3
    total, cum = 0.0, []
    for r, rec in enumerate(saved["rounds"]):
        round_e = 0.0
        for k, cl in enumerate(rec["clients"]):
            mask = masks[3 * r + k]
            e_mask = float(c[mask].sum())  # from the mask and the hand-written cost vector
            e_stats = sum(n * classes[name]["c_J"] for name, n in cl["kept_by_class"].items())  # from saved stats
            assert cl["energy_J"] == pytest.approx(e_mask, rel=1e-12)
            assert e_stats == pytest.approx(e_mask, rel=1e-12)
            assert cl["kept"] == int(mask.sum())
            assert cl["bytes"] == math.ceil(cl["kept"] * 48 / 8)
            assert cl["energy_J"] <= cl["budget_J"] * (1 + 1e-12)
            assert cl["solver_energy_J"] == pytest.approx(e_mask, rel=1e-9)
            round_e += e_mask
        assert rec["energy_J"] == pytest.approx(round_e, rel=1e-12)
        assert rec["energy_tx_J"] + rec["energy_mem_J"] == pytest.approx(round_e, rel=1e-12)
        assert sum(rec["energy_mem_by_class_J"].values()) == pytest.approx(round_e, rel=1e-12)
        total += round_e
        cum.append(rec["cum_energy_J"])
    assert saved["total_energy_J"] == pytest.approx(total, rel=1e-12)
    assert cum == sorted(cum) and cum[-1] == saved["total_energy_J"]
    assert saved["total_bytes"] == sum(rec["bytes"] for rec in saved["rounds"])
    # the schema the issue asks for
    for key in ("config", "rounds", "final_test_acc", "total_energy_J"):
        assert key in saved
    for key in ("method", "sparsity", "mode", "seed", "alpha", "model"):
        assert key in saved["config"]
    for key in ("round", "test_acc", "energy_J", "bytes", "cum_energy_J"):
        assert key in saved["rounds"][0]
    env = json.loads((tmp_path / "run" / "env.json").read_text())
    assert env["device"] == "cpu" and env["torch_threads"] == 1 and "git_commit" in env


class Crash(Exception):
    pass


@pytest.mark.parametrize("kw", [
    dict(method="topk", sparsity=0.1),
    dict(method="cwmp-l2", mode="budget", sparsity=0.05, error_feedback=True),
    dict(method="random-k", sparsity=0.2),
], ids=["topk", "cwmp-l2-budget-ef", "random-k"])
def test_kill_and_resume_gives_identical_metrics(tmp_path, kw):
    data = tiny_data()
    cfg = tiny_cfg(rounds=4, **kw)
    whole = run_mod.run_one(cfg, tmp_path / "a", data)
    # call 1: stops after one round (checkpointed), call 2: "crashes" after round 3's checkpoint
    part = run_mod.run_one(cfg, tmp_path / "b", data, max_rounds_this_call=1)
    assert not part["complete"] and part["rounds_done"] == 1
    assert (tmp_path / "b" / "checkpoint.pt").exists()

    def crash(r, rec):
        if r == 3:
            raise Crash

    with pytest.raises(Crash):
        run_mod.run_one(cfg, tmp_path / "b", data, on_round_end=crash)
    assert run_mod.run_status(cfg, tmp_path / "b") == "partial"
    resumed = run_mod.run_one(cfg, tmp_path / "b", data)
    assert resumed["complete"] and (tmp_path / "b" / "checkpoint.pt").exists()  # kept for extension
    assert strip_timing(resumed) == strip_timing(whole)
    env = json.loads((tmp_path / "b" / "env.json").read_text())
    assert [c["start_round"] for c in env["calls"]] == [1, 2, 4]


def test_error_feedback_residual_is_what_was_not_sent(tmp_path):
    cfg = tiny_cfg(method="topk", sparsity=0.05, rounds=1, error_feedback=True)
    m = run_mod.run_one(cfg, tmp_path / "r", tiny_data())
    ck = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    res = ck["residuals"]
    for k, cl in enumerate(m["rounds"][0]["clients"]):
        r2 = float((res[k].double() ** 2).sum())
        assert r2 == pytest.approx(cl["update_sq_norm"] * (1 - cl["retained_frac"]), rel=1e-5)
        assert int((res[k] == 0).sum()) >= cl["kept"]


def test_finished_run_extends_to_more_rounds_bitwise(tmp_path):
    data = tiny_data()
    cfg4 = tiny_cfg(method="cwmp-paper", sparsity=0.1, rounds=4)
    straight = run_mod.run_one(cfg4, tmp_path / "s", data)
    cfg2 = dataclasses.replace(cfg4, rounds=2)
    assert run_mod.run_one(cfg2, tmp_path / "e", data)["complete"]
    assert run_mod.run_status(cfg2, tmp_path / "e") == "complete"
    assert run_mod.run_status(cfg4, tmp_path / "e") == "partial"
    extended = run_mod.run_one(cfg4, tmp_path / "e", data)
    assert strip_timing(extended) == strip_timing(straight)
    with pytest.raises(run_mod.RunConfigMismatch, match="round 4"):  # cannot shrink
        run_mod.run_one(cfg2, tmp_path / "e", data)


def test_config_mismatch_is_refused(tmp_path):
    data = tiny_data()
    cfg = tiny_cfg(method="topk", sparsity=0.1, rounds=2)
    run_mod.run_one(cfg, tmp_path / "x", data, max_rounds_this_call=1)
    with pytest.raises(run_mod.RunConfigMismatch, match="lr"):
        run_mod.run_one(dataclasses.replace(cfg, lr=0.5), tmp_path / "x", data)
    run_mod.run_one(cfg, tmp_path / "x", data)
    assert run_mod.run_status(cfg, tmp_path / "x") == "complete"
    assert run_mod.run_status(dataclasses.replace(cfg, rounds=3), tmp_path / "x") == "partial"  # extendable
    assert run_mod.run_status(dataclasses.replace(cfg, rounds=1), tmp_path / "x") == "mismatch"
    assert run_mod.run_status(dataclasses.replace(cfg, lr=0.02), tmp_path / "x") == "mismatch"
    assert run_mod.run_status(dataclasses.replace(cfg, threads=2), tmp_path / "x") == "complete"
    other = dataclasses.replace(tiny_data(seed=5), sha256="f" * 64)
    assert run_mod.run_status(cfg, tmp_path / "x", other.sha256) == "mismatch"
    with pytest.raises(run_mod.RunConfigMismatch, match="made from data"):
        run_mod.run_one(dataclasses.replace(cfg, rounds=3), tmp_path / "x", other)


def test_loop_learns_separable_data(tmp_path):
    cfg = tiny_cfg(rounds=3, local_epochs=0, local_steps=15, lr=0.02, augment=False, alpha=100.0)
    m = run_mod.run_one(cfg, tmp_path / "l", tiny_data(300, 100, seed=2, separable=True))
    assert m["rounds"][0]["clients"][0]["steps"] == 15
    assert m["final_test_acc"] > 0.5  # chance is 0.1


def test_fedavg_round_weights_client_updates_by_sample_count(tmp_path, monkeypatch):
    """One dense round with clients of 10 and 200 samples: the global model afterwards is
    global + Σ_k n_k/N · update_k, where each update_k is recomputed here by training a copy of
    the initial model on client k's samples with the loop's generator seed
    derive_seed(seed, "train", 1, k) through client.local_train (oracle independent of the
    aggregation at run.py's call site; a uniform 1/2 weighting is far outside the tolerance)."""
    from fl_validation.client import local_train
    from fl_validation.dataset import to_nchw_tensor

    sizes = (10, 200)
    parts = [np.arange(0, sizes[0]), np.arange(sizes[0], sum(sizes))]
    calls = []

    def fixed_partition(labels, n_clients, alpha, seed, **kw):
        calls.append(n_clients)
        assert n_clients == 2 and len(labels) == sum(sizes)
        return [p.copy() for p in parts]

    monkeypatch.setattr(run_mod, "dirichlet_partition", fixed_partition)
    data = tiny_data(n_train=sum(sizes), n_test=20, seed=6)
    cfg = tiny_cfg(method="dense", n_clients=2, rounds=1, device="cpu")
    m = run_mod.run_one(cfg, tmp_path / "w", data)
    assert calls == [2]
    assert [cl["n_samples"] for cl in m["rounds"][0]["clients"]] == list(sizes)
    assert json.loads((tmp_path / "w" / "config.json").read_text())["partition"]["sizes"] == list(sizes)
    after = torch.load(tmp_path / "w" / "checkpoint.pt", weights_only=True)["model"]

    # the oracle: initial model, then each client's local training from it, recomputed here
    init = build_model(cfg.model, run_mod.derive_seed(cfg.seed, "init"))
    if cfg.channels_last:
        init = init.to(memory_format=torch.channels_last)
    assert not any(True for _ in init.buffers())  # the CNN has no buffers: parameters are all of it
    g0 = flat_params(init).double()
    x_all = to_nchw_tensor(data.x_train)
    y_all = torch.from_numpy(data.y_train.astype(np.int64))
    updates = []
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        for k, p in enumerate(parts):
            local = build_model(cfg.model, run_mod.derive_seed(cfg.seed, "init"))
            if cfg.channels_last:
                local = local.to(memory_format=torch.channels_last)
            gen = torch.Generator().manual_seed(run_mod.derive_seed(cfg.seed, "train", 1, k))
            _, steps = local_train(local, x_all[torch.from_numpy(p)], y_all[torch.from_numpy(p)], cfg, gen)
            assert steps == m["rounds"][0]["clients"][k]["steps"] == math.ceil(sizes[k] / cfg.batch_size)
            updates.append(flat_params(local).double() - g0)
    finally:
        torch.set_num_threads(prev_threads)
    N = sum(sizes)
    want = g0 + sum(n / N * u for n, u in zip(sizes, updates))
    model = build_model(cfg.model, 0)
    model.load_state_dict(after)
    got = flat_params(model).double()
    err = float((got - want).abs().max())
    assert err <= 1e-6 * float(want.abs().max())
    # the test tells the weightings apart: uniform 1/2 weights are far outside the tolerance
    uniform = g0 + 0.5 * (updates[0] + updates[1])
    assert float((got - uniform).abs().max()) > 1e3 * max(err, 1e-9)
    assert float((updates[0] - updates[1]).abs().max()) > 1e-3


# ------------------------------------------------------------------- presets


def test_presets_and_run_ids():
    paper = PRESETS["paper"].configs()
    ids = [c.run_id for c in paper]
    # 30 committed 2-seed runs + 51 of the matched-energy sweep (issue "The FL verdict"):
    # seeds 0-4 x (dense + Top-K x 4 + 2 CWMP scores x budget x 4) = 65, + count-mode CWMP 2 x 4 x 2 = 16.
    assert len(ids) == len(set(ids)) == 81
    assert "cwmp-l2_count_s0.10_seed0" in ids and "dense_seed1" in ids and "cwmp-paper_budget_s0.10_seed1" in ids
    assert "cwmp-l2_count_s0.10_seed2" not in ids and "dense_seed4" in ids and "cwmp-paper_budget_s0.01_seed4" in ids
    assert {c.sparsity for c in paper if c.mode == "count" and c.method != "dense"} == {0.01, 0.05, 0.10, 0.20}
    assert {c.sparsity for c in paper if c.mode == "budget"} == {0.01, 0.05, 0.10, 0.20}
    assert {c.seed for c in paper if c.mode == "count" and c.method.startswith("cwmp")} == {0, 1}
    # A seed restriction intersects with the seeds asked for.
    assert [c.run_id for c in PRESETS["paper"].configs(seeds=(3,)) if c.method == "cwmp-l2" and c.mode == "count"] == []
    assert all(c.model == "cnn" and c.n_clients == 10 and c.alpha == 0.5 for c in paper)
    assert tiny_cfg(method="dense", sparsity=1.0).run_id == "dense_seed0"
    assert tiny_cfg(method="random-k", sparsity=0.005, seed=3).run_id == "random-k_count_s0.005_seed3"
    smoke = PRESETS["smoke"].configs()
    assert {c.method for c in smoke} == set(METHODS) and {c.mode for c in smoke} == {"count", "budget"}


def test_only_parser():
    assert _parse_only(["method=topk,cwmp-l2,sparsity=0.1"]) == {"method": ["topk", "cwmp-l2"], "sparsity": ["0.1"]}
    with pytest.raises(ValueError, match="nosuchfield"):  # UsageError: one line, exit 2 at `cwmp`
        _parse_only(["nosuchfield=1"])


# ----------------------------------------------------------------------- CLI


def _cli_args(src, results, *extra):
    return ["--preset", "smoke", "--data", str(src), "--any-size", "--results", str(results), "--quiet",
            "--n-clients", "3", "--min-client-size", "5", "--batch-size", "32", "--train-subset", "0",
            "--test-subset", "0", *extra]


def test_cli_select_list_stop_resume_skip(tmp_path, capsys, monkeypatch):
    src, _ = write_source(tmp_path, "binary", archive=True, arrays=make_arrays(120, 30))
    monkeypatch.setenv("CWMP_CACHE", str(tmp_path / "cache"))
    args = _cli_args(src, tmp_path / "res", "--only", "method=topk,cwmp-l2,mode=count", "--rounds", "2")
    assert main(args + ["--list"]) == 0
    out = capsys.readouterr().out
    assert "topk_count_s0.10_seed0" in out and "cwmp-l2_count_s0.10_seed0" in out and "missing" in out
    assert "dense" not in out and "budget" not in out
    assert main(args + ["--max-rounds-this-call", "1"]) == 0
    run_dir = tmp_path / "res" / "fl" / "smoke" / "topk_count_s0.10_seed0"
    assert json.loads((run_dir / "metrics.json").read_text())["rounds_done"] == 1
    assert main(args + ["--list"]) == 0 and "partial" in capsys.readouterr().out
    assert main(args) == 0
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["complete"] and m["rounds_done"] == 2 and m["config"]["method"] == "topk"
    capsys.readouterr()
    assert main(args) == 0
    assert "complete, skipped" in capsys.readouterr().out
    # a changed computation is refused, not silently mixed into the same directory
    assert main(args + ["--lr", "0.2", "--runs", "topk_count_s0.10_seed0"]) == 1
    assert "different config" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no_such_run"):  # UsageError: one line, exit 2 at `cwmp`
        main(args + ["--runs", "no_such_run"])


def test_cli_bad_data_is_reported(tmp_path, capsys):
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"\x1f\x8b" + b"\0" * 50)
    assert main(["--preset", "smoke", "--data", str(bad), "--results", str(tmp_path)]) == 2
    assert "broken.tar.gz" in capsys.readouterr().err


def test_sigkill_mid_run_then_resume(tmp_path, monkeypatch):
    """A real SIGKILL of the CLI process, then --resume, matches an uninterrupted run."""
    src, _ = write_source(tmp_path, "binary", archive=False, arrays=make_arrays(150, 30, seed=4))
    env = {**os.environ, "CWMP_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    args = _cli_args(src, tmp_path / "killed", "--runs", "topk_count_s0.10_seed0", "--rounds", "12")
    proc = subprocess.Popen([sys.executable, "-m", "fl_validation", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = tmp_path / "killed" / "fl" / "smoke" / "topk_count_s0.10_seed0"
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            m = run_mod._read_json(run_dir / "metrics.json")
            if m and m["rounds_done"] >= 2:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    done = run_mod._read_json(run_dir / "metrics.json")["rounds_done"]
    assert 2 <= done < 12, "the run finished before it could be killed; raise --rounds"
    monkeypatch.setenv("CWMP_CACHE", str(tmp_path / "cache"))
    assert main(args + ["--resume"]) == 0
    assert main(_cli_args(src, tmp_path / "clean", "--runs", "topk_count_s0.10_seed0", "--rounds", "12")) == 0
    a = json.loads((run_dir / "metrics.json").read_text())
    b = json.loads((tmp_path / "clean" / "fl" / "smoke" / "topk_count_s0.10_seed0" / "metrics.json").read_text())
    assert a["complete"] and strip_timing(a) == strip_timing(b)


def test_summary_groups_seeds_and_flags_pareto(tmp_path):
    from fl_validation.report import write_summary

    def fake(method, mode, rho, seed, acc, energy):
        cfg = tiny_cfg(method=method, mode=mode, sparsity=rho, seed=seed)
        m = {"complete": True, "rounds_done": 3, "config": cfg.to_dict(), "final_test_acc": acc,
             "best_test_acc": acc, "total_energy_J": energy, "total_bytes": 10, "wall_s_per_round_mean": 2.0,
             "cpu_s_per_round_mean": 1.5, "cost_model": {"profile": "on-device", "cost_cv": 0.2, "d": D_CNN},
             "dataset": {"caveat": None}}
        d = tmp_path / "fl" / "p" / cfg.run_id
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(m))

    fake("dense", "count", 1.0, 0, 0.60, 10.0)
    fake("dense", "count", 1.0, 1, 0.64, 10.0)
    fake("topk", "count", 0.1, 0, 0.50, 1.0)
    fake("topk", "count", 0.1, 1, 0.54, 1.2)
    fake("cwmp-l2", "count", 0.1, 0, 0.40, 1.5)  # dominated by topk: less accurate, more energy
    (tmp_path / "fl" / "p" / "random-k_count_s0.10_seed0").mkdir()
    (tmp_path / "fl" / "p" / "random-k_count_s0.10_seed0" / "metrics.json").write_text('{"complete": false}')
    md, path = write_summary(tmp_path, "p")
    rows = {r["method"]: r for r in json.loads(path.with_name("summary.json").read_text())["rows"]}
    assert rows["dense"]["final_test_acc"]["mean"] == pytest.approx(0.62)
    assert rows["dense"]["final_test_acc"]["std"] == pytest.approx(np.std([0.60, 0.64], ddof=1))
    assert rows["topk"]["total_energy_J"]["mean"] == pytest.approx(1.1)
    assert rows["topk"]["energy_vs_dense"] == pytest.approx(0.11)
    assert rows["dense"]["pareto"] and rows["topk"]["pareto"] and not rows["cwmp-l2"]["pareto"]
    assert "random-k_count_s0.10_seed0" in md and "| topk * | count | 0.1 | 2 |" in md


def test_compare_to_topk_pairs_seeds_and_interpolates_in_log_energy():
    """Oracle: hand-computed differences and a log-linear interpolation written out by hand."""
    from fl_validation.report import compare_to_topk

    def fake(method, mode, rho, seed, acc, energy, accs=None):
        cfg = tiny_cfg(method=method, mode=mode, sparsity=rho, seed=seed)
        return {"config": cfg.to_dict(), "final_test_acc": acc, "total_energy_J": energy,
                "rounds": [{"test_acc": a} for a in (accs or [acc])]}

    runs = [
        fake("topk", "count", 0.01, 0, 0.40, 1.0), fake("topk", "count", 0.1, 0, 0.50, 100.0),
        fake("topk", "count", 0.1, 1, 0.54, 110.0),
        fake("cwmp-l2", "count", 0.1, 0, 0.52, 10.0, accs=[0.0, 0.51, 0.52]),  # energy 10 = halfway in log
        fake("cwmp-l2", "count", 0.1, 1, 0.53, 77.0),  # seed 1 has one Top-K point: no curve to read
        fake("cwmp-l2", "count", 0.05, 0, 0.45, 5.0),  # no Top-K at 0.05: left out
        fake("dense", "count", 1.0, 0, 0.6, 1e3),
    ]
    (row,) = compare_to_topk(runs)
    assert (row["method"], row["mode"], row["sparsity"], row["seeds"]) == ("cwmp-l2", "count", 0.1, [0, 1])
    assert row["d_final_acc"]["mean"] == pytest.approx(((0.52 - 0.50) + (0.53 - 0.54)) / 2, abs=1e-12)
    assert row["energy_ratio"]["mean"] == pytest.approx((10 / 100 + 77 / 110) / 2, rel=1e-12)
    # last-5 mean over the rounds present: seed 0 (0 + .51 + .52)/3 - .50, seed 1 .53 - .54
    assert row["d_last5_acc"]["mean"] == pytest.approx(((1.03 / 3 - 0.50) + (0.53 - 0.54)) / 2, abs=1e-12)
    # Top-K curve of seed 0 at E=10: log10(10) is halfway between log 1 and log 100 -> acc 0.45
    assert row["matched_energy_seeds"] == 1
    assert row["d_acc_matched_energy"]["mean"] == pytest.approx(0.52 - 0.45, abs=1e-12)


def test_run_lock_refuses_a_live_owner_and_takes_over_a_dead_one(tmp_path):
    import socket

    cfg = tiny_cfg(method="topk", sparsity=0.1, rounds=1)
    rd = tmp_path / "locked"
    rd.mkdir()
    (rd / run_mod.LOCK).write_text(f"{socket.gethostname()} {os.getpid()}")  # we are alive
    with pytest.raises(run_mod.RunLocked, match="being run by"):
        run_mod.run_one(cfg, rd, tiny_data())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (rd / run_mod.LOCK).write_text(f"{socket.gethostname()} {dead.pid}")
    assert run_mod.run_one(cfg, rd, tiny_data())["complete"]
    assert not (rd / run_mod.LOCK).exists()
    out = run_mod.run_sweep([cfg], tmp_path, "p", tiny_data(), log=lambda s: None)
    assert out == {cfg.run_id: "complete"}


@pytest.mark.parametrize("mode", ["count", "budget"])
def test_cwmp_exact_records_greedy_vs_exact(setup, mode):
    """cwmp-exact keeps the proven optimum of P at CWMP's budget; greedy ≤ exact ≤ LP bound.

    Oracles, in both modes: the budget recomputed from the greedy mask and the hand-written
    costs (count mode: its energy), the per-class prefix enumeration `_two_class_opt` for OPT,
    and `solvers.solve_lp` (Dantzig) at that budget for the LP bound."""
    cost, g, c_t, ids = setup
    c = hand_costs()
    v = (g.double() ** 2).numpy()
    res = sparsify(g, tiny_cfg(method="cwmp-exact", mode=mode, sparsity=0.1), cost, c_t, ids, None)
    cmp_ = res.stats["comparison"]
    assert cmp_["exact_status"] == "optimal" and cmp_["exact_proven"]
    assert cmp_["exact_solver"] == "classes"  # two cost values in the CNN on-device profile (C9)
    k = count_k(0.1, D_CNN)
    if mode == "count":
        greedy = cwmp_mask(g, c_t, k=k)
        # count mode: B is the energy of CWMP's k-coordinate mask (plus the 1e-12 slack)
        assert int(greedy.mask.sum()) == k
        assert cmp_["budget_J"] == pytest.approx(float(c[greedy.mask.numpy()].sum()), rel=1e-11)
    else:
        greedy = cwmp_mask(g, c_t, budget=res.stats["budget_J"])
        assert cmp_["budget_J"] == res.stats["budget_J"]
        assert cmp_["budget_J"] == pytest.approx(float(c[topk_mask(g, k=k).mask.numpy()].sum()), rel=1e-11)
    B = cmp_["budget_J"]
    assert cmp_["greedy_value"] == pytest.approx(greedy.value, rel=1e-12)
    assert cmp_["greedy_value"] == pytest.approx(float(v[greedy.mask.numpy()].sum()), rel=1e-12)
    opt = _two_class_opt(v, c, B)
    assert cmp_["exact_value"] == pytest.approx(opt, rel=1e-12)
    assert cmp_["exact_value"] == pytest.approx(float(v[res.mask.numpy()].sum()), rel=1e-12)
    lp = solve_lp(g.double().numpy(), c, B)
    assert greedy.value <= cmp_["exact_value"] * (1 + 1e-12) <= lp.value * (1 + 1e-11)  # greedy ≤ OPT ≤ LP*
    assert cmp_["value_ratio"] == pytest.approx(greedy.value / opt, rel=1e-12)
    assert 0 < cmp_["value_ratio"] <= 1 + 1e-12 and 0 <= cmp_["mask_jaccard"] <= 1
    gm, em = greedy.mask.numpy(), res.mask.numpy()
    assert cmp_["mask_jaccard"] == pytest.approx((gm & em).sum() / (gm | em).sum(), rel=1e-12)
    assert float(c[em].sum()) <= B * (1 + 1e-12)


def _two_class_opt(v: np.ndarray, c: np.ndarray, B: float) -> float:
    """Oracle for P with two cost values: for every count n1 of the cheap class (its
    n1 largest values), fill the rest of B with the dear class's largest values."""
    vals = np.unique(c)
    assert len(vals) == 2
    pre = [np.concatenate([[0.0], np.cumsum(np.sort(v[c == x])[::-1])]) for x in vals]
    best = 0.0
    for n1 in range(len(pre[0])):
        rest = B - n1 * vals[0]
        if rest < -1e-18 * B:
            break
        n2 = min(len(pre[1]) - 1, int(np.floor(rest / vals[1] * (1 + 1e-12))))
        best = max(best, pre[0][n1] + pre[1][n2])
    return best


@pytest.mark.parametrize("method", ["cwmp-l2", "cwmp-paper"])
def test_budget_mode_logs_the_exact_optimum_without_changing_the_selection(setup, method):
    """Every budget-mode client-round logs exact OPT of P (oracle: per-class prefix enumeration);
    greedy/exact ratio <= 1; the mask equals the run with the reference switched off."""
    cost, g, c_t, ids = setup
    g = g[: D_CNN].clone()
    on = sparsify(g, tiny_cfg(method=method, mode="budget", sparsity=0.05), cost, c_t, ids, None)
    off = sparsify(g, tiny_cfg(method=method, mode="budget", sparsity=0.05, exact_reference=False),
                   cost, c_t, ids, None)
    assert torch.equal(on.mask, off.mask) and off.stats["exact"] is None
    ex = on.stats["exact"]
    assert ex["proven"] and ex["status"] == "optimal"
    v = (g.double() ** 2).numpy()
    opt = _two_class_opt(v, cost.costs_torch().double().numpy(), on.stats["budget_J"])
    assert ex["value"] == pytest.approx(opt, rel=1e-12)
    greedy = float(v[on.mask.numpy()].sum())
    assert ex["greedy_value"] == pytest.approx(greedy, rel=1e-12)
    assert ex["value_ratio"] == pytest.approx(greedy / opt, rel=1e-12) and ex["value_ratio"] <= 1 + 1e-12
    assert ex["true_gap"] == pytest.approx(1 - greedy / opt, abs=1e-12)
    assert ex["true_gap"] <= on.stats["certified_gap"] + 1e-12  # the LP certificate bounds the true gap
    count = sparsify(g, tiny_cfg(method=method, mode="count", sparsity=0.05), cost, c_t, ids, None)
    assert count.stats["exact"] is None  # count mode: no budget, nothing to compare
