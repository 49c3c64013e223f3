"""The ServerApp's run directory: the same config.json, env.json and metrics.json as ``cwmp fl``.

Every file is written with ``fl_validation.run``'s own writers (``write_config_json``,
``append_env_json``, ``round_record``, ``metrics_document``: atomic, schema
``cwmp-fl-metrics/1``), so ``cwmp fl --summary`` and ``cwmp figures --fl-preset
<preset>-flower`` read a Flower run like a loop run. metrics.json is rewritten after every
round (``complete`` false until the last); a failed run keeps its rounds so far and
gets ``error`` (the exception, e.g. a client's error reply). No checkpoint: a Flower run
is not resumable.

Location: ``<results>/fl/<preset>-flower[-<tag>]/<run_id>/``. Under ``flwr run`` the
three parts come from the run config keys ``results``, ``preset`` and ``tag``
(:data:`OUTPUT_KEYS`); ``cwmp fl --engine flower`` sets them from its own flags.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..config import FLConfig
from ..run import (_acquire_lock, append_env_json, metrics_document, round_record, run_dir_for,
                   write_config_json)

# Run config keys that say where results go; not FLConfig fields (fl_config_from_run_config skips them).
OUTPUT_KEYS = ("results", "preset", "tag")


@dataclass(frozen=True)
class RunOutput:
    """Where and under which labels a ServerApp writes its run directory.

    ``results`` relative to the ServerApp process's working directory (under a SuperLink:
    the SuperLink's), so pass an absolute path. ``engine`` is recorded in metrics.json
    (``flower``, ``flower-inprocess``, ``flower-ray``, ``flower-deployment``) because the
    numbers agree across engines but their wall times do not.
    """

    results: str = "results"
    preset: str = "flwr"
    tag: str = ""
    engine: str = "flower"

    @property
    def folder(self) -> str:
        """The preset folder name under ``<results>/fl/``: ``<preset>-flower[-<tag>]``."""
        return f"{self.preset}-flower" + (f"-{self.tag}" if self.tag else "")

    def run_dir(self, cfg: FLConfig) -> Path:
        return run_dir_for(Path(self.results).expanduser(), f"{self.preset}-flower", cfg, self.tag)

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any], engine: str = "flower") -> "RunOutput":
        """From the ``results``/``preset``/``tag`` run config keys; a bad value is a ValueError naming it."""
        kw = {}
        for key in OUTPUT_KEYS:
            if key in run_config:
                v = run_config[key]
                if not isinstance(v, str):
                    raise ValueError(f"run config {key!r} must be a string, got {v!r}")
                kw[key] = v
        if not kw.get("results", "results"):
            raise ValueError("run config 'results' is empty: give the results directory")
        if not kw.get("preset", "flwr") or "/" in kw.get("preset", "") or "/" in kw.get("tag", ""):
            raise ValueError(f"run config preset/tag must be non-empty folder names without '/', got {kw}")
        return cls(engine=engine, **kw)


class RunWriter:
    """Writes one Flower run's directory as the ServerApp runs (see module doc).

    Holds the run directory's ``checkpoint.lock`` (as the loop does) from :meth:`start`
    to :meth:`finish`/:meth:`fail`, so two runs of one config never interleave their files.
    """

    def __init__(self, output: RunOutput, cfg: FLConfig, dataset_info: dict, partition_info: dict,
                 flower_run_id: int | None = None, grid: str | None = None) -> None:
        from .common import model_setup
        from ..model import build_model, parameter_layout

        self.output = output
        self.cfg = cfg
        self.run_dir = output.run_dir(cfg)
        self.dataset_info = dataset_info
        self.partition_info = partition_info
        self.cost = model_setup(cfg.model, cfg.profile).cost
        self.layout = parameter_layout(build_model(cfg.model, 0))
        # The ServerApp cannot tell simulation from deployment by itself; the Grid's class
        # (GrpcGrid / HttpGrid: a SuperLink; InMemoryGrid: simulation) is recorded beside the label.
        self.extra = {"engine": output.engine,
                      **({"flower_run_id": int(flower_run_id)} if flower_run_id is not None else {}),
                      **({"flower_grid": grid} if grid else {})}
        self.rounds: list[dict] = []
        self._lock: Path | None = None

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = _acquire_lock(self.run_dir)
        write_config_json(self.run_dir, self.cfg, self.output.preset, self.cost, self.dataset_info,
                          self.partition_info, self.layout, extra=self.extra)
        append_env_json(self.run_dir, "cpu", 1, extra={**self.extra, "pid": os.getpid()})
        self._write(complete=False)

    def add_round(self, history_entry: dict, acc: float, test_loss: float, wall_s: float, eval_s: float) -> dict:
        """Append round ``history_entry`` (a :class:`~.strategy.CwmpFedAvg` history item) and rewrite metrics.json."""
        rec = round_record(int(history_entry["round"]), history_entry["records"], self.cost, acc, test_loss,
                           self.rounds[-1] if self.rounds else None,
                           {"wall_s": wall_s, "train_s": history_entry["train_s"],
                            "select_s": history_entry["select_s"], "eval_s": eval_s})
        self.rounds.append(rec)
        self._write(complete=False)
        return rec

    def finish(self) -> dict:
        doc = self._write(complete=len(self.rounds) == self.cfg.rounds)
        self._release()
        return doc

    def fail(self, exc: BaseException) -> None:
        """Keep the rounds so far, record the error (one line: type and message)."""
        msg = " ".join(f"{type(exc).__name__}: {exc}".split())
        self._write(complete=False, error=msg)
        self._release()

    def _write(self, complete: bool, error: str | None = None) -> dict:
        from solvers.io import atomic_write_json

        extra = {**self.extra, "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if error is not None:
            extra["error"] = error
        doc = metrics_document(self.cfg, self.output.preset, self.cost, self.dataset_info, self.rounds, complete,
                               extra=extra)
        atomic_write_json(self.run_dir / "metrics.json", doc)
        return doc

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.unlink(missing_ok=True)
            self._lock = None
