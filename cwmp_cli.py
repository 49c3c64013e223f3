"""The `cwmp` command: one front door to the four packages.

Each subcommand is an entry point named by string ("package.module:function")
and imported only when called, so the packages stay independent of each other
(solvers imports nothing else; paper_figures only reads results/).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# subcommand -> (entry point, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("solvers.cli:main", "greedy vs exact vs LP on instance families"),
    "bench": ("solvers.bench:main", "speed benchmarks (fast CWMP, exact solvers)"),
    "theory": ("theory.cli:main", "claims report: symbolic, numeric, Monte Carlo"),
    "fl": ("fl_validation.cli:main", "FedAvg on non-IID CIFAR-10 with energy accounting"),
    "figures": ("paper_figures.cli:main", "plot every figure from saved results"),
    "reproduce": ("cwmp_cli:reproduce", "the main job: everything, quick by default"),
}


def _load(entry: str):
    module, _, func = entry.partition(":")
    return getattr(importlib.import_module(module), func)


# Glue that joins packages without making one import the other: `cwmp compare --update`
# needs fl_validation's model layouts and energy profiles, which solvers must not import,
# so the front door hands solvers.cli.main a loader (imported only when it is called).
PLUGINS: dict[str, dict[str, str]] = {"compare": {"update_loader": "fl_validation.update:load_update"}}


def _lazy(entry: str):
    def call(*args, **kwargs):
        return _load(entry)(*args, **kwargs)

    call.__name__ = entry
    return call


def command(name: str):
    """The entry point of subcommand `name`, with its PLUGINS bound as keyword arguments."""
    func = _load(COMMANDS[name][0])
    extra = {key: _lazy(entry) for key, entry in PLUGINS.get(name, {}).items()}
    return (lambda argv: func(argv, **extra)) if extra else func


def _usage() -> str:
    lines = ["usage: cwmp <command> [options]   (cwmp <command> --help for details)", "", "commands:"]
    lines += [f"  {name:<10} {desc}" for name, (_, desc) in COMMANDS.items()]
    return "\n".join(lines)


# Errors of the input (a bad value, a missing or unwritable path): one line, exit 2.
# DatasetError is a RuntimeError; it is matched only once fl_validation.dataset is loaded
# (it cannot have been raised before), so this module imports no package eagerly.
_KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
_LAZY_KNOWN_ERRORS = (("fl_validation.dataset", "DatasetError"),)


def _known_errors() -> tuple[type[BaseException], ...]:
    lazy = tuple(getattr(sys.modules[m], n) for m, n in _LAZY_KNOWN_ERRORS if m in sys.modules)
    return _KNOWN_ERRORS + lazy


def debug_wanted() -> bool:
    return os.environ.get("CWMP_DEBUG", "").strip() not in {"", "0", "false", "no"}


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


@contextlib.contextmanager
def _one_line_argparse():
    """argparse errors as one line (``PROG: message (PROG --help)``), still exit 2."""
    original = argparse.ArgumentParser.error

    def error(self, message):
        self.exit(2, f"{self.prog}: {_one_line(message)} (see {self.prog} --help)\n")

    argparse.ArgumentParser.error = error
    try:
        yield
    finally:
        argparse.ArgumentParser.error = original


def run_command(name: str, func, argv: Sequence[str], debug: bool | None = None) -> int:
    """The boundary: ``func(argv)``'s exit status; a known error is one stderr line and 2.

    Known errors: ValueError (FLConfig's and the solvers' range checks, ProfileError,
    UsageError), DatasetError, FileNotFoundError, PermissionError, IsADirectoryError,
    NotADirectoryError, and SystemExit with a message. With ``debug`` (``--debug``,
    ``CWMP_DEBUG=1``) they are re-raised with their traceback; other exceptions always are.
    """
    debug = debug_wanted() if debug is None else debug
    prefix = f"cwmp {name}: "
    try:
        with _one_line_argparse():
            return int(func(list(argv)) or 0)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        if debug:
            raise
        msg = _one_line(exc.code)
    except _known_errors() as exc:  # noqa: B030 (a tuple built at call time)
        if debug:
            raise
        msg = _one_line(exc) or type(exc).__name__
    msg = msg[len(prefix):] if msg.startswith(prefix) else msg
    print(f"{prefix}{msg}", file=sys.stderr)
    return 2


def _split_debug(argv: Sequence[str] | None) -> tuple[list[str], bool]:
    """(argv without ``--debug``, whether a traceback is wanted: ``--debug`` or CWMP_DEBUG)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return [a for a in args if a != "--debug"], "--debug" in args or debug_wanted()


def module_main(name: str, func, argv: Sequence[str] | None = None) -> int:
    """``python -m <package>``: the package's ``main`` behind the same boundary as ``cwmp <name>``."""
    args, debug = _split_debug(argv)
    return run_command(name, func, args, debug=debug)


def main(argv: Sequence[str] | None = None) -> int:
    # --debug is global: accepted before or after the subcommand, never passed on.
    args, debug = _split_debug(argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"cwmp: unknown command {name!r} (commands: {', '.join(COMMANDS)}; see cwmp --help)",
              file=sys.stderr)
        return 2
    return run_command(name, lambda a: command(name)(a), rest, debug=debug)


def reproduce(argv: Sequence[str] | None = None) -> int:
    """Run the suite's jobs in order: theory, compare, FL smoke, figures.

    Quick by default (under 10 minutes on 2 CPU cores): FL figures use the
    committed `paper` sweep under results/fl/; the quick theory and compare
    checks write to <results>/quick/ so the committed full results stay intact.
    `--full` reruns theory, compare and bench at full size and completes the
    `paper` FL sweep (runs already complete are kept; hours on CPU).
    """
    parser = argparse.ArgumentParser(prog="cwmp reproduce", description=reproduce.__doc__)
    parser.add_argument("--full", action="store_true", help="rerun everything from scratch (hours)")
    parser.add_argument("--results", default="results", help="results directory (default: ./results)")
    ns = parser.parse_args(list(argv or []))
    quick = [] if ns.full else ["--quick"]
    # Quick checks write beside, not over, the committed full results that the figures use.
    checks = ns.results if ns.full else str(Path(ns.results) / "quick")
    steps: list[tuple[str, list[str]]] = [
        ("theory", quick + ["--results", checks]),
        ("compare", quick + ["--results", checks]),
        ("fl", ["--preset", "paper" if ns.full else "smoke", "--results", ns.results]),
        ("figures", ["--results", ns.results]),
    ]
    if ns.full:
        steps.insert(2, ("bench", ["--results", ns.results]))
        # Refresh the sweep's summary and its claims.json (F1, F1-paper) before the figures.
        steps.insert(4, ("fl", ["--preset", "paper", "--summary", "--results", ns.results]))
    failures = []
    for name, step_args in steps:
        t0 = time.perf_counter()
        print(f"\n=== cwmp {name} {' '.join(step_args)}", flush=True)
        rc = run_command(name, _load(COMMANDS[name][0]), step_args)
        print(f"=== cwmp {name}: exit {int(rc or 0)} in {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failures.append(name)
    _print_summary(ns.results, checks)
    if failures:
        print(f"\nfailed steps: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def _print_summary(results: str, checks: str) -> None:
    """Where everything is, and the claims table from the theory report just run."""
    import json

    print("\n=== outputs")
    for p in (Path(checks) / "theory/report.md", Path(checks) / "solvers/compare.json",
              Path(results) / "fl", Path(results) / "bench"):
        print(f"  {p}{'' if p.exists() else '  (missing)'}")
    print("  paper_figures/out/  (figures, from the results under " + results + ")")
    print("\n=== claims")
    for row in claims_table(checks, results):
        print(f"  {row['id']:<12} {row['status']:<22} {row['statement'][:70]}")


def claims_table(checks: str, results: str) -> list[dict]:
    """C1-C9 and T1-T3 from the theory report, then F1 and F1-paper from the FL sweep's claims.json.

    Joins result files only (theory never imports fl_validation). An F1 row whose
    sweep is incomplete shows ``unresolved (interim: ...)``; a missing file one row saying so.
    """
    import json

    rows: list[dict] = []
    for path, what in ((Path(checks) / "theory" / "report.json", "cwmp theory"),
                       (Path(results) / "fl" / "paper" / "claims.json", "cwmp fl --preset paper --summary")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            rows.append({"id": "-", "status": "missing", "statement": f"{path} (made by `{what}`)"})
            continue
        for row in data:
            status = row["status"]
            if row.get("interim_status") and not row.get("complete", True):
                status = f"{status} (interim: {row['interim_status']})"
            bp = row.get("evidence", {}).get("bounded_proof")
            if status == "proved_bounded" and bp:  # the bound N is part of the status (docs/THEORY.md §7)
                status = f"{status} (d <= {bp['proved_for_d_le']})"
            rows.append({"id": row["id"], "status": status, "statement": row["statement"]})
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
