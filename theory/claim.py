"""The row type of the claims report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# proved_bounded: an SMT proof (theory/proofs.py) for every real instance with d <= N items, N in
# evidence["bounded_proof"]["proved_for_d_le"]; above N the row's numeric sub-results are the evidence
STATUSES = ("proved_symbolic", "proved_bounded", "verified_numeric", "verified_montecarlo", "counterexample_found",
            "failed")


@dataclass(frozen=True)
class ClaimResult:
    """One claim of docs/THEORY.md with how it was checked and what came out."""

    id: str  # "C1".."C8", "T1", "T2" (rate), "T2-coverage", "T2-pbeat", "T3"
    statement: str  # the claim, in one line
    method: str  # how it was checked (oracles, sample sizes, tolerances)
    status: str  # one of STATUSES
    # the numbers: counts, worst errors, instances; "sub_results" (name -> bool) are the checks the status rests on
    evidence: dict = field(default_factory=dict)
    key_numbers: str = ""  # one-line summary for the table

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def as_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "method": self.method, "status": self.status,
                "evidence": {"summary": self.key_numbers, **self.evidence}}


def status_of(sub_results: Mapping[str, bool], passed: str) -> str:
    """The status a claim earns from its stated sub-results: ``passed`` when every one holds, else "failed".

    Every sub-result a claim states (in its statement, method or key numbers) must be in
    ``sub_results``; none is reported without counting. An empty mapping is an error: a
    status needs at least one check that could fail.
    """
    if passed not in STATUSES or passed == "failed":
        raise ValueError(f"passed must be a non-failed status of {STATUSES}, got {passed!r}")
    if not sub_results:
        raise ValueError("no sub-results: a status needs at least one check that could fail")
    return passed if all(bool(v) for v in sub_results.values()) else "failed"


def failed_sub_results(sub_results: Mapping[str, bool]) -> list[str]:
    return [k for k, v in sub_results.items() if not v]
