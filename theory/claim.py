"""The row type of the claims report."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("proved_symbolic", "verified_numeric", "verified_montecarlo", "counterexample_found", "failed")


@dataclass(frozen=True)
class ClaimResult:
    """One claim of docs/THEORY.md with how it was checked and what came out."""

    id: str  # "C1".."C8", "T1".."T3"
    statement: str  # the claim, in one line
    method: str  # how it was checked (oracles, sample sizes, tolerances)
    status: str  # one of STATUSES
    evidence: dict = field(default_factory=dict)  # the numbers: counts, worst errors, instances, sub-checks
    key_numbers: str = ""  # one-line summary for the table

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def as_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "method": self.method, "status": self.status,
                "evidence": {"summary": self.key_numbers, **self.evidence}}
