"""``cwmp fl`` / ``python -m fl_validation``: run a preset (a sweep of FL runs).

Examples::

    cwmp fl --preset smoke                        # every method, tiny, < 3 min on CPU
    cwmp fl --preset paper                        # the whole sweep; skips complete runs, resumes partial ones
    cwmp fl --preset paper --list                 # run ids and their status
    cwmp fl --preset paper --only method=topk,cwmp-l2,sparsity=0.1 --seeds 0
    cwmp fl --preset paper --runs dense_seed0 topk_count_s0.10_seed0
    cwmp fl --preset paper --rounds 2 --tag timing   # any FLConfig field can be overridden
    cwmp fl --profile-info                        # cost CV per model and profile
    cwmp fl --preset paper --summary              # table of the complete runs (mean +- std over seeds)
    cwmp fl --preset smoke --engine flower --flower-backend deployment --superlink 127.0.0.1:8000
                                                  # on a running SuperLink; results in fl/smoke-flower/

Overriding a field that changes the computation of runs already on disk is
refused run by run (``mismatch``): pick a new ``--tag`` (results go to
``fl/<preset>-<tag>/``) or ``--results`` directory, or ``--force`` to overwrite.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from .config import PRESETS, FLConfig

# Applied to every grid point they fit (seed: see --seeds): dense keeps sparsity 1 and
# count mode; --greedy only steers budget-mode points (count mode and Top-K ignore it).
_AXIS_FIELDS = ("method", "mode", "sparsity", "greedy")
_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:\d+)?)")


class UsageError(ValueError):
    """A bad flag value or selection; the ``cwmp`` boundary prints it as one line, exit 2."""


def _parse_only(items: list[str]) -> dict[str, list[str]]:
    """``method=topk,cwmp-l2,sparsity=0.1`` -> {method: [topk, cwmp-l2], sparsity: [0.1]}."""
    out: dict[str, list[str]] = {}
    names = {f.name for f in dataclasses.fields(FLConfig)} | {"run_id"}
    for item in items:
        key = None
        for tok in filter(None, (t.strip() for t in item.split(","))):
            if "=" in tok:
                key, _, tok = tok.partition("=")
                key = key.strip().replace("-", "_")
                if key not in names:
                    raise UsageError(f"--only: unknown field {key!r}")
            if key is None:
                raise UsageError(f"--only {item!r}: expected KEY=VALUE[,VALUE...][,KEY=VALUE...]")
            out.setdefault(key, []).append(tok.strip())
    return out


def _number(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--only {key}={text!r}: expected a number") from None


def _matches(cfg: FLConfig, only: dict[str, list[str]]) -> bool:
    for key, values in only.items():
        v = cfg.run_id if key == "run_id" else getattr(cfg, key)
        if isinstance(v, bool):
            ok = str(v).lower() in {x.lower() for x in values}
        elif isinstance(v, (int, float)):
            ok = any(abs(_number(key, x) - float(v)) < 1e-9 for x in values)
        else:
            ok = str(v) in values
        if not ok:
            return False
    return True


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cwmp fl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="smoke", choices=sorted(PRESETS), help="preset to run (default: smoke)")
    p.add_argument("--results", default="results", help="results directory (default: ./results)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue runs from their checkpoint (default); --no-resume restarts partial runs")
    p.add_argument("--force", action="store_true", help="rerun complete runs and overwrite mismatched ones")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default: the preset's)")
    p.add_argument("--only", action="append", default=[], metavar="KEY=V[,V..][,KEY=V..]",
                   help="keep runs whose fields match (values OR-ed, keys AND-ed); repeatable")
    p.add_argument("--runs", nargs="+", default=None, metavar="RUN_ID", help="keep only these run ids")
    p.add_argument("--tag", default="", help="write to fl/<preset>-<tag>/ instead of fl/<preset>/")
    p.add_argument("--list", action="store_true", help="list the selected runs and their status, run nothing")
    p.add_argument("--profile-info", action="store_true", help="print the cost CV per model and profile and exit")
    p.add_argument("--summary", action="store_true",
                   help="summarize the preset's complete runs (per method/mode/sparsity, over seeds) into "
                        "summary.md/json next to them, print it, run nothing")
    p.add_argument("--max-rounds-this-call", type=int, default=None,
                   help="stop each run after this many rounds in this call (checkpointed; resume later)")
    p.add_argument("--any-size", action="store_true",
                   help="accept a CIFAR-10-format source without the canonical 50000/10000 images (fixtures)")
    p.add_argument("--quiet", action="store_true", help="no tqdm bar (per-round status lines remain)")
    p.add_argument("--engine", choices=("loop", "flower"), default="loop",
                   help="loop: this package's FedAvg loop (default); flower: the same runs on Flower "
                        "(needs the [flower] extra; results in fl/<preset>-flower/)")
    p.add_argument("--flower-backend", choices=("ray", "inprocess", "deployment"), default="ray",
                   help="with --engine flower: Ray simulation (default, needs flwr[simulation]), in-process, "
                        "or deployment: submit to a running SuperLink (--superlink)")
    p.add_argument("--superlink", default=None, metavar="HOST:PORT",
                   help="with --flower-backend deployment: the SuperLink's Control API (flower-superlink --port, "
                        "default 8000); the run's results are written by the SuperLink's ServerApp under --results")
    p.add_argument("--superlink-root-certificates", default=None, metavar="PEM",
                   help="CA certificate(s) of a TLS SuperLink; without it the connection is insecure "
                        "(flower-superlink --insecure, trusted networks only)")
    p.add_argument("--flower-app", default=None, metavar="DIR",
                   help="with deployment: the Flower app folder (pyproject.toml with [tool.flwr.app]; "
                        "default: this repository)")
    p.add_argument("--flower-timeout", type=float, default=None, metavar="SECONDS",
                   help="with deployment: stop a run that has not finished after this long (default: no limit)")
    g = p.add_argument_group("config overrides (any FLConfig field; default: the preset's value)")
    for f in dataclasses.fields(FLConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            g.add_argument(flag, dest=f"cfg_{f.name}", action=argparse.BooleanOptionalAction, default=None)
        else:
            typ = {"int": int, "float": float, "str": str}.get(f.type if isinstance(f.type, str) else f.type.__name__, str)
            g.add_argument(flag, dest=f"cfg_{f.name}", type=typ, default=None, metavar=typ.__name__.upper())
    return p


def _apply_axis(cfg: FLConfig, axis: dict) -> tuple[FLConfig, list[str]]:
    """``cfg`` with the axis overrides that fit it, and a note for each one that does not."""
    method = axis.get("method", cfg.method)
    changes, notes = {"method": method}, []
    if method == "dense":
        for key, val in axis.items():
            if key != "method" and val != getattr(FLConfig(), key):
                notes.append(f"--{key} {val} not applied (dense sends everything: sparsity 1, count mode)")
        changes.update(sparsity=1.0, mode="count")
    else:
        changes.update({k: axis[k] for k in ("mode", "sparsity") if k in axis})
        mode = changes.get("mode", cfg.mode)
        if "greedy" in axis:
            from .client import METHODS

            if mode == "budget" and not METHODS[method].budget_is_count:
                changes["greedy"] = axis["greedy"]
            elif mode == "budget":
                notes.append(f"--greedy {axis['greedy']} not applied ({method}'s budget-mode mask is its count-mode mask)")
            else:
                notes.append(f"--greedy {axis['greedy']} not applied (count mode keeps the K best; no greedy walk)")
    return dataclasses.replace(cfg, **changes), notes


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected comma-separated integers >= 0") from None
    if not seeds or min(seeds) < 0:
        raise UsageError(f"--seeds {text!r}: expected comma-separated integers >= 0")
    return seeds


def select_configs(ns: argparse.Namespace, skipped: list[str] | None = None) -> tuple[str, list[FLConfig]]:
    """The preset's runs after overrides, ``--only`` and ``--runs``; nothing is run or written.

    An axis override that does not fit a point (``--sparsity`` on dense, ``--greedy`` on a
    count-mode point) is left off that point; ``skipped`` (if given) gets one line per such run.
    Bad values raise ValueError (FLConfig's range checks) or UsageError.
    """
    preset = PRESETS[ns.preset]
    overrides = {k[4:]: v for k, v in vars(ns).items() if k.startswith("cfg_") and v is not None}
    if getattr(ns, "quiet", False):
        overrides["progress"] = False
    seeds = preset.seeds
    if ns.seeds:
        seeds = _seeds(ns.seeds)
    if "seed" in overrides:
        seeds = (overrides.pop("seed"),)
    axis = {k: overrides.pop(k) for k in _AXIS_FIELDS if k in overrides}
    for seed in seeds:
        FLConfig(seed=seed)
    base = dataclasses.replace(preset.base, **overrides)  # FLConfig's range checks name a bad value
    # Axis values are checked as given, even where no point takes them (--method dense --sparsity 2).
    if "method" in axis:
        FLConfig(method=axis["method"], sparsity=1.0 if axis["method"] == "dense" else 0.5)
    dataclasses.replace(FLConfig(method="topk", sparsity=0.5), **{k: v for k, v in axis.items() if k != "method"})
    configs: dict[str, FLConfig] = {}
    notes: dict[str, list[str]] = {}
    for cfg in preset.configs(base, seeds):
        if axis:
            cfg, why = _apply_axis(cfg, axis)
            if why:
                notes.setdefault(cfg.run_id, why)
        configs.setdefault(cfg.run_id, cfg)
    selected = list(configs.values())
    only = _parse_only(ns.only)
    if only:
        selected = [c for c in selected if _matches(c, only)]
    if ns.runs:
        unknown = sorted(set(ns.runs) - {c.run_id for c in selected})
        if unknown:
            raise UsageError(f"--runs: unknown run id(s) for this selection: {', '.join(unknown)} (see --list)")
        selected = [c for c in selected if c.run_id in set(ns.runs)]
    if skipped is not None:
        skipped.extend(f"{c.run_id}: {'; '.join(notes[c.run_id])}" for c in selected if c.run_id in notes)
    return preset.name, selected


def check_writable(path: str | os.PathLike, flag: str = "--results") -> Path:
    """Create ``path`` if needed and write and remove a file in it; UsageError naming it if that fails."""
    from solvers.io import check_writable_dir

    try:
        return check_writable_dir(path, flag)
    except PermissionError as exc:
        raise UsageError(str(exc)) from None


def validate(ns: argparse.Namespace, *, check_outputs: bool | None = None) -> tuple[str, list[FLConfig], list[str]]:
    """Every check of a parsed ``cwmp fl`` command line, before any work: (preset, runs, skipped notes).

    Values in range (FLConfig), a selection that matches runs, every ``--profile`` loadable,
    ``--data`` present, ``--device`` well formed, and (runs and --summary, unless
    ``check_outputs=False``) ``--results`` writable. Raises ValueError (UsageError, ProfileError)
    with a one-line message; runs nothing.
    """
    from .energy import load_profile

    if ns.max_rounds_this_call is not None and ns.max_rounds_this_call < 1:
        raise UsageError(f"--max-rounds-this-call must be >= 1, got {ns.max_rounds_this_call}")
    skipped: list[str] = []
    preset, configs = select_configs(ns, skipped)
    if not configs:
        raise UsageError("no run matches the selection (see --list without --only/--runs)")
    for profile in dict.fromkeys(c.profile for c in configs):
        load_profile(profile)
    for device in dict.fromkeys(c.device for c in configs):
        if not _DEVICE.fullmatch(device):
            raise UsageError(f"--device {device!r}: expected auto, cpu, mps, cuda or cuda:N")
    data = configs[0].data
    if data and not Path(data).expanduser().exists():
        raise UsageError(f"--data {data!r}: no such file or directory")
    _validate_flower(ns, configs)
    if check_outputs is None:
        check_outputs = not ns.list
    if check_outputs:
        check_writable(ns.results)
    return preset, configs, skipped


def _flower_app_dir(ns: argparse.Namespace) -> Path:
    """``--flower-app``, else the repository holding this package (its pyproject.toml has [tool.flwr.app])."""
    return Path(ns.flower_app).expanduser().resolve() if ns.flower_app else Path(__file__).resolve().parents[1]


def _validate_flower(ns: argparse.Namespace, configs: list[FLConfig]) -> None:
    """The deployment flags: only with --engine flower --flower-backend deployment, which needs --superlink."""
    deployment = ns.engine == "flower" and ns.flower_backend == "deployment"
    given = [f for f, v in (("--superlink", ns.superlink), ("--superlink-root-certificates",
                                                             ns.superlink_root_certificates),
                            ("--flower-app", ns.flower_app), ("--flower-timeout", ns.flower_timeout)) if v is not None]
    if not deployment:
        if given:
            raise UsageError(f"{given[0]} needs --engine flower --flower-backend deployment")
        return
    if ns.superlink is None:
        raise UsageError("--flower-backend deployment needs --superlink HOST:PORT (a running flower-superlink)")
    if ns.flower_timeout is not None and not ns.flower_timeout > 0:
        raise UsageError(f"--flower-timeout must be > 0 seconds, got {ns.flower_timeout}")
    if ns.max_rounds_this_call is not None:
        raise UsageError("--max-rounds-this-call: a Flower run is not resumable")
    try:
        from .flower.deploy import SuperLinkTarget, check_app
    except ImportError as exc:
        raise UsageError(f"--engine flower needs flwr (pip install -e '.[flower]'): {exc}") from None
    SuperLinkTarget.parse(ns.superlink, ns.superlink_root_certificates)
    for cfg in configs:
        check_app(_flower_app_dir(ns), cfg)


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if ns.profile_info:
        from .energy import format_profile_report, profile_report

        print(format_profile_report(profile_report()))
        return 0
    from .run import run_dir_for, run_status, run_sweep

    if ns.summary:
        from .report import SummaryError, write_summary

        check_writable(ns.results)

        try:
            md, path = write_summary(Path(ns.results), ns.preset, ns.tag)
        except SummaryError as exc:
            print(f"cwmp fl: --summary: {exc}", file=sys.stderr)
            return 2
        print(md + (f"\nwritten: {path} (and summary.json)" if path else ""))
        return 0 if path else 1
    preset, configs, skipped = validate(ns)
    results = Path(ns.results)
    if ns.list:
        for c in configs:
            rd = run_dir_for(results, preset, c, ns.tag)
            print(f"{c.run_id:<32} {run_status(c, rd):<9} {rd}")
        for line in skipped:
            print(f"override skipped: {line}")
        return 0
    for line in skipped:
        print(f"cwmp fl: override skipped: {line}")

    from .dataset import CANONICAL_COUNTS, DatasetError, load_cifar10

    try:
        data = load_cifar10(configs[0].data or None, expected_counts=None if ns.any_size else CANONICAL_COUNTS)
    except DatasetError as exc:
        print(f"cwmp fl: {exc}", file=sys.stderr)
        return 2
    print(f"cwmp fl: preset {preset}, {len(configs)} run(s), data {data.source} ({data.format}, "
          f"{len(data.y_train)}/{len(data.y_test)} images)")
    if data.format == "jpeg":
        print(f"note: {data.info()['caveat']}")
    if ns.engine == "flower":
        try:
            from .flower.engine import run_configs
        except ImportError as exc:
            print(f"cwmp fl: --engine flower needs flwr (pip install -e '.[flower]'): {exc}", file=sys.stderr)
            return 2
        kw = {}
        if ns.flower_backend == "deployment":
            from .flower.deploy import SuperLinkTarget

            kw = dict(superlink=SuperLinkTarget.parse(ns.superlink, ns.superlink_root_certificates),
                      app_dir=_flower_app_dir(ns), timeout_s=ns.flower_timeout)
            if ns.superlink_root_certificates is None:
                print(f"cwmp fl: note: insecure connection to the SuperLink {ns.superlink} (trusted network only)")
        done = run_configs(configs, results, preset, data, tag=ns.tag, backend=ns.flower_backend, force=ns.force,
                           err=lambda line: print(line, file=sys.stderr, flush=True), **kw)
        return 0 if all(v in ("complete", "skipped") for v in done.values()) else 1
    outcomes = run_sweep(configs, results, preset, data, tag=ns.tag, resume=ns.resume, force=ns.force,
                         max_rounds_this_call=ns.max_rounds_this_call)
    _print_summary(configs, results, preset, ns.tag)
    bad = [r for r, o in outcomes.items()
           if o in ("mismatch", "locked") or (o == "partial" and ns.max_rounds_this_call is None)]
    return 1 if bad else 0


def _print_summary(configs: list[FLConfig], results: Path, preset: str, tag: str) -> None:
    import json

    from .run import run_dir_for

    print(f"\n{'run':<32} {'rounds':>6} {'final acc':>9} {'total E (J)':>12} {'bytes':>12} {'s/round':>8}")
    for c in configs:
        p = run_dir_for(results, preset, c, tag) / "metrics.json"
        try:
            m = json.loads(p.read_text())
        except (OSError, ValueError):
            print(f"{c.run_id:<32} {'-':>6}")
            continue
        acc = m.get("final_test_acc")
        wall = m.get("wall_s_per_round_mean")
        print(f"{c.run_id:<32} {m['rounds_done']:>6} {acc if acc is None else f'{acc:.4f}':>9} "
              f"{m['total_energy_J']:>12.4g} {m['total_bytes']:>12} {wall if wall is None else f'{wall:.1f}':>8}")
