"""The FedAvg loop for one run, checkpoint/resume, and sequential sweeps.

Run directory ``<results>/fl/<preset>/<run_id>/``:

- ``config.json``  the full config, profile, cost classes and CV, dataset, partition
- ``env.json``     versions, device, threads, git commit (one entry per call)
- ``metrics.json`` per-round and final metrics (rewritten every round, ``complete``
  turns true at the end)
- ``checkpoint.pt`` after every round (git-ignored); the final one is kept so a
  finished run can be extended to more rounds (``--rounds N`` on the same run)

Every write is atomic (temp file + rename). Randomness comes from generators
seeded by ``derive_seed(seed, stream, round, client)``, created fresh where
used, so a resumed run needs no RNG state from the checkpoint and continues
bitwise identically (same device, same thread count).
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .client import local_train, sparsify
from .config import FLConfig
from .dataset import CifarArrays, to_nchw_tensor
from .energy import build_cost_model, load_profile
from .model import build_model, parameter_layout
from .partition import dirichlet_partition, label_counts, label_skew
from .server import FedAvgAggregator, evaluate, flat_params

SCHEMA = "cwmp-fl-metrics/1"
CHECKPOINT = "checkpoint.pt"
RECONSTRUCTION_NOTE = (
    "The paper's exact constants are not public; this is the reconstruction in docs/THEORY.md "
    "(energy model: fl_validation/profiles/)."
)
# Named random streams (stable integers: changing them changes every result).
STREAMS = {"init": 1, "partition": 2, "subset": 3, "train": 4, "select": 5, "test_subset": 6}


class RunConfigMismatch(RuntimeError):
    """A run directory holds results of a different configuration."""


class RunLocked(RuntimeError):
    """Another live process is running this run (its ``checkpoint.lock`` names it)."""


LOCK = "checkpoint.lock"  # git-ignored with the checkpoints (results/**/checkpoint*)


def _acquire_lock(run_dir: Path) -> Path:
    """Create ``run_dir/checkpoint.lock`` holding our pid; a lock of a dead process is taken over."""
    import socket

    lock = run_dir / LOCK
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                host, pid = lock.read_text().split()
                alive = host != socket.gethostname()  # another machine: assume alive
                if not alive:
                    os.kill(int(pid), 0)
                    alive = True
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True  # the pid exists but belongs to someone else
            except (OSError, ValueError):
                alive = False  # unreadable or half-written lock: treat as stale
            if alive:
                raise RunLocked(f"{run_dir} is being run by {lock.read_text().strip()} (delete {lock} if not)") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(me)
        return lock
    raise RunLocked(f"{run_dir}: could not take {lock}")


def derive_seed(seed: int, stream: str, *keys: int) -> int:
    """A 63-bit seed from (seed, stream, keys...) via numpy's SeedSequence (independent streams)."""
    ss = np.random.SeedSequence([int(seed), STREAMS[stream], *(int(k) for k in keys)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] & ((1 << 63) - 1))


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} requested but CUDA is not available (use --device auto or cpu)")
    return dev


def atomic_torch_save(obj, path: Path) -> None:
    from solvers.io import atomic_write

    atomic_write(path, lambda f: torch.save(obj, f))


# ------------------------------------------------------------------ data setup


@dataclass
class Federation:
    """Client data on the device, the test set, and the partition description."""

    client_x: list[torch.Tensor]
    client_y: list[torch.Tensor]
    x_test: torch.Tensor
    y_test: torch.Tensor
    partition_info: dict


def prepare_federation(cfg: FLConfig, data: CifarArrays, device: torch.device) -> Federation:
    x_tr, y_tr = data.x_train, data.y_train
    if cfg.train_subset and cfg.train_subset < len(y_tr):
        rng = np.random.default_rng(derive_seed(cfg.seed, "subset"))
        idx = np.sort(rng.permutation(len(y_tr))[: cfg.train_subset])
        x_tr, y_tr = x_tr[idx], y_tr[idx]
    x_te, y_te = data.x_test, data.y_test
    if cfg.test_subset and cfg.test_subset < len(y_te):
        rng = np.random.default_rng(derive_seed(cfg.seed, "test_subset"))
        idx = np.sort(rng.permutation(len(y_te))[: cfg.test_subset])
        x_te, y_te = x_te[idx], y_te[idx]
    parts = dirichlet_partition(y_tr, cfg.n_clients, cfg.alpha, derive_seed(cfg.seed, "partition"),
                                min_size=cfg.min_client_size)
    x_all = to_nchw_tensor(x_tr)
    y_all = torch.from_numpy(np.ascontiguousarray(y_tr, dtype=np.int64))
    client_x = [x_all[torch.from_numpy(p)].to(device) for p in parts]
    client_y = [y_all[torch.from_numpy(p)].to(device) for p in parts]
    info = {
        "sizes": [int(len(p)) for p in parts],
        "label_counts": label_counts(y_tr, parts).tolist(),
        "label_skew_tv": label_skew(y_tr, parts),
        "n_train": int(len(y_tr)),
        "n_test": int(len(y_te)),
    }
    return Federation(client_x, client_y, to_nchw_tensor(x_te, device),
                      torch.from_numpy(np.ascontiguousarray(y_te, dtype=np.int64)).to(device), info)


# ----------------------------------------------------------------- one run


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _same_but_rounds(a: FLConfig, b: FLConfig) -> bool:
    ia, ib = a.identity(), b.identity()
    ia.pop("rounds")
    ib.pop("rounds")
    return ia == ib


def run_status(cfg: FLConfig, run_dir: Path, data_sha256: str | None = None) -> str:
    """``complete`` | ``partial`` (checkpoint to continue from) | ``missing`` | ``mismatch``.

    A complete run with fewer rounds than ``cfg.rounds`` and otherwise the same
    config is ``partial`` when its final checkpoint is still there: it can be extended.
    """
    m = _read_json(run_dir / "metrics.json")
    has_ckpt = (run_dir / CHECKPOINT).exists()
    if m is not None and data_sha256 and m.get("dataset", {}).get("sha256") not in (None, data_sha256):
        return "mismatch"  # made from another data source
    if m is not None and m.get("complete"):
        saved = FLConfig.from_dict(m["config"])
        if saved.identity() == cfg.identity():
            return "complete"
        if has_ckpt and _same_but_rounds(saved, cfg) and m["rounds_done"] < cfg.rounds:
            return "partial"
        return "mismatch"
    return "partial" if has_ckpt else "missing"


def _summaries(rounds: list[dict]) -> dict:
    if not rounds:
        return {"final_test_acc": None, "best_test_acc": None, "total_energy_J": 0.0, "total_energy_tx_J": 0.0,
                "total_energy_mem_J": 0.0, "total_bytes": 0, "wall_s_per_round_mean": None,
                "cpu_s_per_round_mean": None}
    return {
        "final_test_acc": rounds[-1]["test_acc"],
        "best_test_acc": max(r["test_acc"] for r in rounds),
        "total_energy_J": rounds[-1]["cum_energy_J"],
        "total_energy_tx_J": math.fsum(r["energy_tx_J"] for r in rounds),
        "total_energy_mem_J": math.fsum(r["energy_mem_J"] for r in rounds),
        "total_bytes": rounds[-1]["cum_bytes"],
        "wall_s_per_round_mean": float(np.mean([r["wall_s"] for r in rounds])),
        "cpu_s_per_round_mean": (float(np.mean(cpu)) if (cpu := [r["cpu_s"] for r in rounds if "cpu_s" in r])
                                 else None),
    }


def write_config_json(run_dir: Path, cfg: FLConfig, preset: str, cost, dataset_info: dict,
                      partition_info: dict, layout: list[dict], extra: dict | None = None) -> None:
    """``config.json`` of a run directory (atomic). Shared by the loop and the Flower ServerApp,
    so that both engines leave directories that ``--summary`` and the figures read alike."""
    from solvers.io import atomic_write_json

    atomic_write_json(run_dir / "config.json", {
        "run_id": cfg.run_id,
        "preset": preset,
        "config": cfg.to_dict(),
        "cost_model": cost.summary(),
        "profile": cost.profile.to_dict(),
        "dataset": dataset_info,
        "partition": partition_info,
        "model_layout": layout,
        "note": RECONSTRUCTION_NOTE,
        **(extra or {}),
    })


def append_env_json(run_dir: Path, device: torch.device | str, start_round: int, extra: dict | None = None) -> None:
    """``env.json``: this process's environment, plus one ``calls`` entry per call (atomic)."""
    from solvers.io import atomic_write_json, environment_info

    env_prev = _read_json(run_dir / "env.json") or {}
    env = {**environment_info(), "device": str(device), "torch_threads": torch.get_num_threads(),
           "torch_interop_threads": torch.get_num_interop_threads(), **(extra or {})}
    calls = list(env_prev.get("calls", [])) + [{"start_round": start_round, "device": str(device),
                                                 "torch_threads": torch.get_num_threads(),
                                                 "git_commit": env.get("git_commit")}]
    atomic_write_json(run_dir / "env.json", {**env, "calls": calls})


def round_record(r: int, clients: list[dict], cost, acc: float, test_loss: float, prev: dict | None,
                 timings: dict) -> dict:
    """One round of ``metrics.json``: sums over ``clients`` (in client order), cumulative totals
    after ``prev`` (the previous round's record, None in round 1), then ``timings`` and ``clients``.

    ``clients``: per client ``n_samples``, ``train_loss`` and ``sparsify``'s stats (energy_J,
    energy_tx_J, energy_mem_J, bytes, kept, kept_by_class, ...)."""
    energy = math.fsum(c["energy_J"] for c in clients)
    nbytes = sum(c["bytes"] for c in clients)
    kept_by_class = {n: sum(c["kept_by_class"][n] for c in clients) for n in cost.class_names}
    return {
        "round": r,
        "test_acc": acc,
        "test_loss": test_loss,
        "train_loss": float(np.average([c["train_loss"] for c in clients], weights=[c["n_samples"] for c in clients])),
        "energy_J": energy,
        "energy_tx_J": math.fsum(c["energy_tx_J"] for c in clients),
        "energy_mem_J": math.fsum(c["energy_mem_J"] for c in clients),
        "energy_mem_by_class_J": {n: kept_by_class[n] * float(cost.class_mem[j])
                                  for j, n in enumerate(cost.class_names)},
        "bytes": nbytes,
        "kept": sum(c["kept"] for c in clients),
        "kept_by_class": kept_by_class,
        "cum_energy_J": (prev["cum_energy_J"] if prev else 0.0) + energy,
        "cum_bytes": (prev["cum_bytes"] if prev else 0) + nbytes,
        **timings,
        "clients": clients,
    }


def metrics_document(cfg: FLConfig, preset: str, cost, dataset_info: dict, rounds: list[dict], complete: bool,
                     extra: dict | None = None) -> dict:
    """The ``metrics.json`` document (schema ``cwmp-fl-metrics/1``) for ``rounds`` so far."""
    return {
        "schema": SCHEMA,
        "run_id": cfg.run_id,
        "preset": preset,
        "complete": complete,
        "rounds_done": len(rounds),
        "config": {**cfg.to_dict(), "run_id": cfg.run_id, "preset": preset},
        "cost_model": cost.summary(),
        "dataset": dataset_info,
        "note": RECONSTRUCTION_NOTE,
        **(extra or {}),
        **_summaries(rounds),
        "rounds": rounds,
    }


def run_one(
    cfg: FLConfig,
    run_dir: Path,
    data: CifarArrays,
    *,
    preset: str = "",
    resume: bool = True,
    max_rounds_this_call: int | None = None,
    on_round_end: Callable[[int, dict], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run (or continue) one FL run; returns the metrics dict (``complete`` false if stopped early).

    ``max_rounds_this_call`` stops after that many rounds in this call (a
    simulated kill, for tests and chunked runs). ``on_round_end(round, record)``
    is called after each round's checkpoint is written. torch's thread count is
    set from ``cfg.threads`` for the call and restored afterwards.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = _acquire_lock(run_dir)
    prev_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
        return _run_one(cfg, run_dir, data, preset=preset, resume=resume,
                        max_rounds_this_call=max_rounds_this_call, on_round_end=on_round_end, log=log)
    finally:
        torch.set_num_threads(prev_threads)
        lock.unlink(missing_ok=True)


def _restore(ckpt_path: Path, cfg: FLConfig, data, model, device, resume: bool,
             log) -> tuple[list[dict], torch.Tensor | None, int]:
    """(rounds so far, error-feedback residuals, first round to run) from the run's checkpoint.

    With `resume` a checkpoint of the same config (only `rounds` may differ: a finished run
    extended to more rounds, since round r never depends on the total) and the same data is
    loaded into `model`; anything else is refused (RunConfigMismatch). Without `resume` an
    existing checkpoint is deleted and the run starts at round 1.
    """
    if not ckpt_path.exists():
        return [], None, 1
    if not resume:
        ckpt_path.unlink()
        return [], None, 1
    run_dir = ckpt_path.parent
    ck = torch.load(ckpt_path, map_location=device, weights_only=True)
    saved = FLConfig.from_dict(json.loads(ck["config"]))
    if not _same_but_rounds(saved, cfg) or int(ck["round"]) > cfg.rounds:
        diff = {k: (v, cfg.identity()[k]) for k, v in saved.identity().items() if cfg.identity()[k] != v}
        raise RunConfigMismatch(f"{run_dir}: checkpoint (round {int(ck['round'])}) was made with a different "
                                f"config {diff}; use another --tag/--results, or --no-resume to start over")
    if ck.get("dataset_sha256", data.sha256) != data.sha256:
        raise RunConfigMismatch(f"{run_dir}: checkpoint was made from data {ck['dataset_sha256'][:16]}..., "
                                f"this call loads {data.sha256[:16]}... ({data.source})")
    model.load_state_dict(ck["model"])
    start = int(ck["round"]) + 1
    log(f"[{cfg.run_id}] resuming after round {start - 1}/{cfg.rounds}")
    return json.loads(ck["rounds"]), ck["residuals"], start


def _clients_round(r: int, cfg: FLConfig, model, client_model, fed, cost, c_t, class_ids_t,
                   residuals: torch.Tensor | None, n_samples: list[int],
                   total_samples: int) -> tuple[list[dict], float, float]:
    """One FedAvg round's client work, then the aggregate applied to `model` in place.

    Each client trains from the global model with its own seeded generator, sparsifies its
    update (plus its error-feedback residual, which is updated in place) and is added to
    the n_k-weighted aggregate. Returns the per-client records and the seconds spent
    training and selecting.
    """
    t_train = t_select = 0.0
    global_vec = flat_params(model)
    agg = FedAvgAggregator(global_vec, total_samples)
    global_state = model.state_dict()
    clients = []
    for k in range(cfg.n_clients):
        ta = time.perf_counter()
        client_model.load_state_dict(global_state)
        gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "train", r, k))
        train_loss, steps = local_train(client_model, fed.client_x[k], fed.client_y[k], cfg, gen)
        g = flat_params(client_model) - global_vec
        if residuals is not None:
            g = g + residuals[k]
        tb = time.perf_counter()
        sel_gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "select", r, k))
        res = sparsify(g, cfg, cost, c_t, class_ids_t, sel_gen)
        sparse = torch.where(res.mask, g, torch.zeros((), dtype=g.dtype, device=g.device))
        if residuals is not None:
            residuals[k] = g - sparse
        agg.add(n_samples[k], sparse, client_model)
        tc = time.perf_counter()
        t_train += tb - ta
        t_select += tc - tb
        clients.append({"client": k, "n_samples": n_samples[k], "steps": steps,
                        "train_loss": train_loss, **res.stats})
    agg.apply(model)
    return clients, t_train, t_select


def _run_one(cfg, run_dir, data, *, preset, resume, max_rounds_this_call, on_round_end, log) -> dict:
    from solvers.io import atomic_write_json

    from tqdm.auto import tqdm

    log = log or (lambda s: tqdm.write(s, file=sys.stdout))
    t_call = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False

    fed = prepare_federation(cfg, data, device)
    model = build_model(cfg.model, derive_seed(cfg.seed, "init")).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    layout = parameter_layout(model)
    cost = build_cost_model(layout, load_profile(cfg.profile))
    c_t = cost.costs_torch(device)
    class_ids_t = torch.from_numpy(cost.class_ids).to(device)
    d = cost.d
    n_samples = [int(y.shape[0]) for y in fed.client_y]
    total_samples = sum(n_samples)

    ckpt_path = run_dir / CHECKPOINT
    rounds, residuals, start = _restore(ckpt_path, cfg, data, model, device, resume, log)
    if cfg.error_feedback and residuals is None:
        residuals = torch.zeros(cfg.n_clients, d, dtype=torch.float32, device=device)

    write_config_json(run_dir, cfg, preset, cost, data.info(), fed.partition_info, layout)
    append_env_json(run_dir, device, start)

    def metrics(complete: bool) -> dict:
        return metrics_document(cfg, preset, cost, data.info(), rounds, complete)

    client_model = copy.deepcopy(model)
    bar = tqdm(total=cfg.rounds, initial=start - 1, desc=cfg.run_id, unit="round", leave=False,
               disable=not cfg.progress, file=sys.stderr, dynamic_ncols=True)
    done_this_call = 0
    try:
        for r in range(start, cfg.rounds + 1):
            if max_rounds_this_call is not None and done_this_call >= max_rounds_this_call:
                break
            t0, cpu0 = time.perf_counter(), time.process_time()
            clients, t_train, t_select = _clients_round(r, cfg, model, client_model, fed, cost, c_t, class_ids_t,
                                                        residuals, n_samples, total_samples)
            te = time.perf_counter()
            acc, test_loss = evaluate(model, fed.x_test, fed.y_test, cfg.eval_batch)
            t_eval = time.perf_counter() - te
            rec = round_record(r, clients, cost, acc, test_loss, rounds[-1] if rounds else None, {
                "wall_s": time.perf_counter() - t0,
                "cpu_s": time.process_time() - cpu0,  # all threads of this process
                "train_s": t_train,
                "select_s": t_select,
                "eval_s": t_eval,
            })
            energy = rec["energy_J"]
            rounds.append(rec)
            atomic_torch_save({"round": r, "config": json.dumps(cfg.to_dict()), "model": model.state_dict(),
                               "residuals": residuals, "rounds": json.dumps(rounds),
                               "dataset_sha256": data.sha256}, ckpt_path)
            atomic_write_json(run_dir / "metrics.json", metrics(complete=False))
            done_this_call += 1
            bar.update(1)
            bar.set_postfix(acc=f"{acc:.4f}", E=f"{rec['cum_energy_J']:.3g}J")
            log(f"[{cfg.run_id}] round {r}/{cfg.rounds} acc {acc:.4f} loss {test_loss:.3f} "
                f"E {energy:.4g} J (cum {rec['cum_energy_J']:.4g} J) kept {rec['kept']} "
                f"{rec['wall_s']:.1f} s (train {t_train:.1f}, select {t_select:.2f}, eval {t_eval:.1f})")
            if on_round_end is not None:
                on_round_end(r, rec)
    finally:
        bar.close()
    complete = len(rounds) == cfg.rounds
    out = metrics(complete=complete)
    atomic_write_json(run_dir / "metrics.json", out)
    log(f"[{cfg.run_id}] {'done' if complete else 'stopped'} after round {len(rounds)}/{cfg.rounds}: "
        f"acc {out['final_test_acc']} total E {out['total_energy_J']:.4g} J "
        f"in {time.perf_counter() - t_call:.0f} s")
    return out


# ------------------------------------------------------------------- sweeps


def run_dir_for(results: Path, preset: str, cfg: FLConfig, tag: str = "") -> Path:
    return Path(results) / "fl" / (f"{preset}-{tag}" if tag else preset) / cfg.run_id


def run_sweep(
    configs: list[FLConfig],
    results: Path,
    preset: str,
    data: CifarArrays,
    *,
    tag: str = "",
    resume: bool = True,
    force: bool = False,
    max_rounds_this_call: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, str]:
    """Run configs in order: skip complete ones, resume partial ones. Returns run_id -> outcome."""
    outcomes: dict[str, str] = {}
    for i, cfg in enumerate(configs, 1):
        rd = run_dir_for(results, preset, cfg, tag)
        status = run_status(cfg, rd, data.sha256)
        if status == "complete" and not force:
            log(f"[{i}/{len(configs)}] {cfg.run_id}: complete, skipped ({rd})")
            outcomes[cfg.run_id] = "skipped"
            continue
        if status == "mismatch" and not force:
            log(f"[{i}/{len(configs)}] {cfg.run_id}: {rd} holds a different config; not touched "
                "(use --tag or --results for a new location, --force to overwrite)")
            outcomes[cfg.run_id] = "mismatch"
            continue
        log(f"[{i}/{len(configs)}] {cfg.run_id}: {'resuming' if status == 'partial' and resume else 'starting'} -> {rd}")
        try:
            out = run_one(cfg, rd, data, preset=preset, resume=resume and not force,
                          max_rounds_this_call=max_rounds_this_call)
        except RunConfigMismatch as exc:
            log(f"[{i}/{len(configs)}] {cfg.run_id}: {exc}")
            outcomes[cfg.run_id] = "mismatch"
            continue
        except RunLocked as exc:
            log(f"[{i}/{len(configs)}] {cfg.run_id}: skipped, {exc}")
            outcomes[cfg.run_id] = "locked"
            continue
        outcomes[cfg.run_id] = "complete" if out["complete"] else "partial"
    return outcomes
