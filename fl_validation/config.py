"""Run configuration (a frozen dataclass), run ids, and the presets.

A *run* is one FLConfig. A *preset* is a base FLConfig plus a grid of
(method, mode, sparsity) points and a tuple of seeds; ``cwmp fl --preset P``
runs every point x seed sequentially, each in ``results/fl/<P>/<run_id>/``.
CLI flags override any field of the base config (see cli.py).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

MODES = ("count", "budget")
GREEDY = ("dantzig", "fill", "safe")

# Fields that steer *how* a run executes, not *what* it computes: they may
# differ between a run and its resumption and are left out of the comparison
# that guards a run directory against a changed configuration.
RUN_CONTROL_FIELDS = frozenset({"device", "threads", "eval_batch", "data", "progress", "channels_last",
                                "exact_reference"})
SWEEP_AXES = ("method", "mode", "sparsity", "seed")


@dataclass(frozen=True)
class FLConfig:
    # --- model and federation ---
    model: str = "cnn"  # "cnn" (NIID-Bench simple CNN, 62k params, CPU default) | "resnet18" (GPU)
    n_clients: int = 10
    alpha: float = 0.5  # Dirichlet concentration of the label skew: smaller = more skewed
    # Guard of the partition: the Dirichlet draw is repeated until every client
    # holds at least this many samples (NIID-Bench uses 10).
    min_client_size: int = 10
    # Communication rounds; every client takes part in every round. Measured
    # here (CNN, Dir(0.5), seed 0, augmentation on): dense FedAvg 59.6 % at
    # round 40, 60.3 % at 50 (61.1 % best), still creeping up ~0.1 %/round;
    # without augmentation it peaks at 56 % and falls. 50 rounds x 30 runs x
    # 15-16.5 CPU-s per round = 6.3-6.9 CPU-hours for the paper sweep.
    rounds: int = 50
    # --- local training (plain SGD, optimizer state reset every round as in FedAvg) ---
    local_epochs: int = 2
    # > 0: exactly this many SGD steps per client per round instead of epochs
    # (equal work per client regardless of its data size).
    local_steps: int = 0
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    augment: bool = True  # random crop (pad 4) + horizontal flip, in torch
    # --- update sparsification (see client.METHODS) ---
    method: str = "dense"  # dense | topk | cwmp-l2 | cwmp-paper | random-k (extensible)
    # count: keep K = ceil(sparsity * d) coordinates of each client update.
    # budget: per client per round, budget = energy of that client's Top-K
    # count-mode mask at `sparsity`; the method fills that budget (Top-K in
    # budget mode is therefore Top-K count mode).
    mode: str = "count"
    sparsity: float = 1.0  # rho, fraction of the d coordinates (1.0 for dense)
    greedy: str = "dantzig"  # greedy walk in budget mode (solvers: dantzig | fill | safe)
    # Error feedback: add the residual of the previous rounds' pruning to the
    # update before selecting; off by default, as in the paper.
    error_feedback: bool = False
    profile: str = "on-device"  # energy profile: a shipped name (edge-wifi, lte, on-device) or a TOML path
    seed: int = 0  # drives partition, init, data order, augmentation and random-k
    # > 0: train on a seeded random subset of this many training images (smoke runs).
    train_subset: int = 0
    test_subset: int = 0  # > 0: evaluate on the first N test images of a seeded permutation
    # --- run control (not part of a run's identity) ---
    device: str = "auto"  # auto (cuda if present, else cpu) | cpu | cuda | cuda:N
    threads: int = 0  # torch intra-op threads; 0 = all cores. Bitwise resume needs the same value.
    eval_batch: int = 1000
    # channels_last memory format for model and batches: CNN steps measured 12 %
    # faster on CPU (8.8 vs 10.0 ms, batch 64, 1 thread). Same maths; the last
    # bits differ from NCHW kernels, so a bitwise resume needs the same value.
    channels_last: bool = True
    # Budget mode: also solve P exactly (solvers core, the cost-class method when
    # costs take <= 3 values, C9) for every client-round's update and budget, and
    # log greedy/exact. Only logged: the selection is unchanged, so a run's
    # results are bitwise the same either way (a run-control field).
    exact_reference: bool = True
    data: str = ""  # CIFAR-10 source; "" = $CWMP_CIFAR10, else the shipped archive
    progress: bool = True  # tqdm bar per run (one status line per round is printed regardless)

    def __post_init__(self) -> None:
        from .client import METHODS
        from .model import MODELS

        def bad(msg: str) -> None:
            raise ValueError(f"FLConfig: {msg}")

        if self.model not in MODELS:
            bad(f"model must be one of {MODELS}, got {self.model!r}")
        if self.method not in METHODS:
            bad(f"method must be one of {tuple(METHODS)}, got {self.method!r}")
        if self.mode not in MODES:
            bad(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.greedy not in GREEDY:
            bad(f"greedy must be one of {GREEDY}, got {self.greedy!r}")
        if isinstance(self.sparsity, bool) or not isinstance(self.sparsity, (int, float)) \
                or not (0.0 < self.sparsity <= 1.0):
            bad(f"sparsity must be in (0, 1], got {self.sparsity!r}")
        if self.method == "dense" and (self.sparsity != 1.0 or self.mode != "count"):
            bad("dense takes sparsity=1.0 and mode='count' (use normalized())")
        for name in ("n_clients", "rounds", "batch_size", "eval_batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                bad(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("local_epochs", "local_steps", "min_client_size", "train_subset", "test_subset",
                     "threads", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                bad(f"{name} must be an integer >= 0, got {v!r}")
        if self.local_epochs < 1 and self.local_steps < 1:
            bad("need local_epochs >= 1 or local_steps >= 1")

        def real(name: str) -> float:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                bad(f"{name} must be a finite number, got {v!r}")
            return float(v)

        # `not (x > 0)` rather than `x <= 0`: NaN fails every comparison.
        if not real("alpha") > 0:
            bad(f"alpha must be > 0, got {self.alpha!r}")
        if not real("lr") > 0:
            bad(f"lr must be > 0, got {self.lr!r}")
        if not 0.0 <= real("momentum") < 1.0:
            bad(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not real("weight_decay") >= 0:
            bad(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not (isinstance(self.profile, str) and self.profile.strip()):
            bad(f"profile must be a shipped name or a TOML path, got {self.profile!r}")

    def normalized(self) -> "FLConfig":
        """Dense ignores sparsity and mode: pin them so equal runs get equal ids."""
        if self.method == "dense":
            return dataclasses.replace(self, sparsity=1.0, mode="count")
        return self

    @property
    def run_id(self) -> str:
        """Deterministic from the sweep axes, e.g. ``cwmp-l2_count_s0.10_seed0``, ``dense_seed0``."""
        if self.method == "dense":
            return f"dense_seed{self.seed}"
        pct = self.sparsity * 100
        s = f"{self.sparsity:.2f}" if abs(pct - round(pct)) < 1e-9 else f"{self.sparsity:g}"
        return f"{self.method}_{self.mode}_s{s}_seed{self.seed}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def identity(self) -> dict:
        """The fields that define the computation (compared on resume/skip)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUN_CONTROL_FIELDS}

    @classmethod
    def from_dict(cls, d: dict) -> "FLConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    base: FLConfig
    grid: tuple[tuple[str, str, float], ...]  # (method, mode, sparsity)
    seeds: tuple[int, ...] = (0,)
    # Points run at fewer seeds than `seeds`: ((method, mode), allowed seeds).
    # A restriction, intersected with any --seeds the user asks for (the paper
    # sweep keeps count-mode CWMP at its two committed seeds).
    seed_limits: tuple[tuple[tuple[str, str], tuple[int, ...]], ...] = ()

    def allowed(self, method: str, mode: str, seed: int) -> bool:
        for (m, md), seeds in self.seed_limits:
            if (m, md) == (method, mode) and seed not in seeds:
                return False
        return True

    def configs(self, base: FLConfig | None = None, seeds: tuple[int, ...] | None = None) -> list[FLConfig]:
        """Every run of the preset, in order (seed-major), deduplicated by run id."""
        base = base or self.base
        out: dict[str, FLConfig] = {}
        for seed in seeds if seeds is not None else self.seeds:
            for method, mode, rho in self.grid:
                if not self.allowed(method, mode, seed):
                    continue
                cfg = dataclasses.replace(base, method=method, mode=mode, sparsity=rho, seed=seed).normalized()
                out.setdefault(cfg.run_id, cfg)
        return list(out.values())


SPARSITIES = (0.01, 0.05, 0.10, 0.20)
# CPU presets use one torch thread: on these shared 2-core machines, 2 threads
# measured 13x slower than 1 (10k CNN samples: 42 s vs 3.2 s) whenever another
# process held a core (OpenMP workers wait on each other). One thread per run,
# and two runs side by side (e.g. --seeds 0 / --seeds 1), uses both cores
# without that cliff. Override with --threads 0 (all cores) on an idle machine.
_SWEEP = (
    (("dense", "count", 1.0),)
    + tuple((m, "count", s) for m in ("topk", "cwmp-l2", "cwmp-paper") for s in SPARSITIES)
    + (("cwmp-l2", "budget", 0.10), ("cwmp-paper", "budget", 0.10))
)

# The matched-energy sweep (issue "The FL verdict"): the committed 2-seed
# points plus budget mode for both CWMP scores at every sparsity.
_PAPER_SWEEP = _SWEEP[:-2] + tuple((m, "budget", s) for m in ("cwmp-l2", "cwmp-paper") for s in SPARSITIES)

PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        name="smoke",
        description="every method and both modes on a 10k-image subset, 3 rounds x 1 epoch (< 3 min on 2 CPU cores)",
        base=FLConfig(rounds=3, local_epochs=1, train_subset=10_000, test_subset=2_000, threads=1),
        grid=(
            ("dense", "count", 1.0),
            ("topk", "count", 0.10),
            ("cwmp-l2", "count", 0.10),
            ("cwmp-paper", "count", 0.10),
            ("random-k", "count", 0.10),
            ("cwmp-l2", "budget", 0.10),
            ("cwmp-exact", "budget", 0.10),
        ),
        seeds=(0,),
    ),
    "paper": Preset(
        name="paper",
        description=("compact CNN, 10 clients, Dir(0.5), on-device profile, 50 rounds: dense, Top-K (count) and "
                     "CWMP g^2/c and |g|/c in budget mode at Top-K's energy, at 1/5/10/20 %, seeds 0-4; "
                     "count-mode CWMP at seeds 0-1"),
        base=FLConfig(threads=1),
        grid=_PAPER_SWEEP,
        seeds=(0, 1, 2, 3, 4),
        seed_limits=((("cwmp-l2", "count"), (0, 1)), (("cwmp-paper", "count"), (0, 1))),
    ),
    # Issue "Where CWMP pays off": where the matched-energy comparison holds. Each is
    # its own preset (own folder, own summary): a profile, error feedback or alpha
    # changes the computation, so these runs do not pool with `paper`'s.
    **{f"paper-cv{cv}": Preset(
        name=f"paper-cv{cv}",
        description=(f"the paper config with the mixed-cv{cv} profile (memory update + a cheap link; CNN cost CV "
                     f"{cv}): Top-K count and CWMP g^2/c budget at 5/10 %, seeds 0-1"),
        base=FLConfig(threads=1, profile=f"mixed-cv{cv}"),
        grid=tuple((m, md, s) for s in (0.05, 0.10) for m, md in (("topk", "count"), ("cwmp-l2", "budget"))),
        seeds=(0, 1),
    ) for cv in ("0.10", "0.03")},
    "paper-ef": Preset(
        name="paper-ef",
        description=("the paper config with error feedback: Top-K count, CWMP g^2/c count and budget at 1/5 %, "
                     "seeds 0-1 (does EF undo the 1 % count-mode collapse?)"),
        base=FLConfig(threads=1, error_feedback=True),
        grid=tuple((m, md, s) for s in (0.01, 0.05)
                   for m, md in (("topk", "count"), ("cwmp-l2", "count"), ("cwmp-l2", "budget"))),
        seeds=(0, 1),
    ),
    "paper-alpha0.1": Preset(
        name="paper-alpha0.1",
        description="the paper config under stronger label skew Dir(0.1): dense, Top-K count, CWMP g^2/c budget "
                    "at 5/10 %, seeds 0-1",
        base=FLConfig(threads=1, alpha=0.1),
        grid=(("dense", "count", 1.0),) + tuple((m, md, s) for s in (0.05, 0.10)
                                                for m, md in (("topk", "count"), ("cwmp-l2", "budget"))),
        seeds=(0, 1),
    ),
    "paper-resnet18": Preset(
        name="paper-resnet18",
        description="the paper sweep with ResNet-18 (needs a GPU: about 180x the CNN's compute per step)",
        base=FLConfig(model="resnet18"),
        grid=_SWEEP,
        seeds=(0, 1),
    ),
}
