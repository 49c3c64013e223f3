"""`cwmp theory` / `python -m theory`: run every claim check and write results/theory/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cwmp theory",
        description="Claims report C1-C9 (solvers properties) and T1-T3 (probabilistic efficiency): "
                    "sympy derivations, numerical integration and Monte Carlo. Writes <results>/theory/.")
    parser.add_argument("--quick", action="store_true", help="small sample sizes (under a minute)")
    parser.add_argument("--results", default=None,
                        help="results directory (default: results; with --quick: results/quick)")
    parser.add_argument("--seed", type=int, default=20260322, help="master seed of the run (default: 20260322)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--proof-d", type=int, default=None,
                        help="bounded z3 proofs of C1, C3-C5, C7, C8 for every d <= N items (default: 4; 0 skips)")
    parser.add_argument("--proof-timeout", type=float, default=None,
                        help="seconds per z3 query (default: 120); a query that runs out is reported unknown")
    ns = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if ns.proof_d is not None and not 0 <= ns.proof_d <= 8:
        parser.error(f"--proof-d must be between 0 and 8 (OPT has 2^d subsets), got {ns.proof_d}")
    if ns.proof_timeout is not None and not ns.proof_timeout > 0:
        parser.error(f"--proof-timeout must be > 0 seconds, got {ns.proof_timeout}")
    if ns.results is None:  # a quick run goes beside, not over, the committed full report (as `cwmp reproduce`)
        ns.results = str(Path("results") / "quick") if ns.quick else "results"

    from solvers.io import check_writable_dir

    from .report import console_table, fatal_failures, run_report

    check_writable_dir(Path(ns.results) / "theory")  # before any check runs

    rows, root = run_report(ns.results, quick=ns.quick, seed=ns.seed, progress=not ns.no_progress,
                            proof_d=ns.proof_d, proof_timeout_s=ns.proof_timeout)
    print(console_table(rows))
    print(f"\nwritten: {root / 'report.json'}, {root / 'report.md'}")
    withdrawn = [r.id for r in rows if r.status == "failed" and r.id not in fatal_failures(rows)]
    if withdrawn:
        print(f"failed and withdrawn (reported as failed, not an error of the run): {', '.join(withdrawn)}",
              file=sys.stderr)
    failed = fatal_failures(rows)
    if failed:
        print(f"failed claims: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
