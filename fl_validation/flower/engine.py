"""``cwmp fl --engine flower``: run selected configs on Flower (Ray simulation, in-process, or a SuperLink).

Results go to ``<results>/fl/<preset>-flower[-<tag>]/<run_id>/`` (config.json, env.json,
metrics.json in ``cwmp-fl-metrics/1``), written by the ServerApp itself (:mod:`.results`),
so ``cwmp fl --preset <preset> --tag flower --summary`` and ``cwmp figures --fl-preset
<preset>-flower`` read them. No checkpoints: a Flower run is not resumable; a complete run
with the same config is skipped unless ``force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config import FLConfig
from ..dataset import CifarArrays
from .results import RunOutput

BACKENDS = ("ray", "inprocess", "deployment")


def run_configs(configs: list[FLConfig], results: Path, preset: str, data: CifarArrays, *, tag: str = "",
                backend: str = "ray", num_cpus: int = 2, force: bool = False, superlink=None,
                app_dir: Path | None = None, timeout_s: float | None = None,
                log: Callable[[str], None] = print, err: Callable[[str], None] = print) -> dict[str, str]:
    """Run each config on ``backend``; run_id -> ``complete`` | ``skipped`` | ``mismatch`` | ``failed``.

    ``deployment`` needs ``superlink`` (a :class:`~.deploy.SuperLinkTarget`) and ``app_dir``
    (the folder whose pyproject.toml holds ``[tool.flwr.app]``); ``err`` gets one line per failed run.
    """
    from ..run import run_status
    from .apps import SourceLoader
    from .driver import quiet_environment, run_inprocess, run_ray

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    quiet_environment()
    out: dict[str, str] = {}
    output = RunOutput(results=str(Path(results).expanduser().resolve()), preset=preset, tag=tag,
                       engine=f"flower-{backend}")
    for i, cfg in enumerate(configs, 1):
        rd = output.run_dir(cfg)
        status = run_status(cfg, rd, data.sha256)
        if status == "complete" and not force:
            log(f"[{i}/{len(configs)}] {cfg.run_id}: complete, skipped ({rd})")
            out[cfg.run_id] = "skipped"
            continue
        if status == "mismatch" and not force:
            err(f"cwmp fl: {cfg.run_id}: {rd} holds a different config; not touched "
                "(use --tag or --results for a new location, --force to overwrite)")
            out[cfg.run_id] = "mismatch"
            continue
        log(f"[{i}/{len(configs)}] {cfg.run_id}: Flower ({backend}) -> {rd}")
        if backend == "deployment":
            from .deploy import submit

            res = submit(cfg, app_dir=Path(app_dir or "."), target=superlink, output=output,
                         data_path=str(Path(data.source).resolve()), log=log, timeout_s=timeout_s)
            if not res.ok:
                err(f"cwmp fl: {cfg.run_id}: Flower run {res.flower_run_id} {res.message}")
                out[cfg.run_id] = "failed"
                continue
            log(f"[{i}/{len(configs)}] {cfg.run_id}: {res.message}")
            out[cfg.run_id] = "complete"
            continue
        try:
            if backend == "ray":
                run_ray(cfg, SourceLoader(data.source, any_size=True), num_cpus=num_cpus, output=output)
            else:
                run_inprocess(cfg, lambda c: data, output=output)
        except Exception as exc:  # the run directory records it too (metrics.json "error")
            err(f"cwmp fl: {cfg.run_id}: Flower ({backend}) failed: {type(exc).__name__}: {exc}")
            out[cfg.run_id] = "failed"
            continue
        out[cfg.run_id] = "complete" if run_status(cfg, rd, data.sha256) == "complete" else "failed"
    return out
