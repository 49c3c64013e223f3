"""``cwmp fl --engine flower``: run selected configs on Flower (Ray simulation or in-process).

Results go to ``<results>/fl/<preset>-flower[-<tag>]/<run_id>/metrics.json``
(schema ``cwmp-fl-flower/1``): per round the per-client energy/bytes/kept, their
sums, test accuracy and wall time. No checkpoints: a Flower run is not resumable.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

from ..config import FLConfig
from ..dataset import CifarArrays

SCHEMA = "cwmp-fl-flower/1"


def run_configs(configs: list[FLConfig], results: Path, preset: str, data: CifarArrays, *, tag: str = "",
                backend: str = "ray", num_cpus: int = 2, log: Callable[[str], None] = print) -> dict[str, str]:
    from solvers.io import atomic_write_json

    from .apps import SourceLoader
    from .driver import quiet_environment, run_inprocess, run_ray

    quiet_environment()
    out: dict[str, str] = {}
    sub = f"{preset}-flower" + (f"-{tag}" if tag else "")
    for i, cfg in enumerate(configs, 1):
        rd = Path(results) / "fl" / sub / cfg.run_id
        rd.mkdir(parents=True, exist_ok=True)
        log(f"[{i}/{len(configs)}] {cfg.run_id}: Flower ({backend}) -> {rd}")
        t0 = time.perf_counter()
        if backend == "ray":
            res, _ = run_ray(cfg, SourceLoader(data.source, any_size=True), num_cpus=num_cpus)
        elif backend == "inprocess":
            res = run_inprocess(cfg, lambda c: data)
        else:
            raise ValueError(f"backend must be 'ray' or 'inprocess', got {backend!r}")
        wall = time.perf_counter() - t0
        if res is None:
            log(f"[{i}/{len(configs)}] {cfg.run_id}: the ServerApp ran outside this process; no metrics")
            out[cfg.run_id] = "no-result"
            continue
        rounds: list[dict[str, Any]] = []
        for h, w in zip(res.history, res.wall_s_per_round):
            rounds.append({**h, **res.evaluations.get(h["round"], {}), "wall_s": w})
        atomic_write_json(rd / "metrics.json", {
            "schema": SCHEMA, "engine": f"flower-{backend}", "run_id": cfg.run_id, "preset": preset,
            "config": cfg.to_dict(), "dataset": data.info(), "complete": len(rounds) == cfg.rounds,
            "total_energy_J": math.fsum(r.get("cwmp.energy-J", 0.0) for r in rounds),
            "total_bytes": sum(int(r.get("cwmp.bytes", 0)) for r in rounds),
            "final_test_acc": rounds[-1].get("test_acc") if rounds else None,
            "wall_s_total": wall, "rounds": rounds,
        })
        out[cfg.run_id] = "complete"
    return out
