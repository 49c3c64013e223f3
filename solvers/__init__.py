"""solvers: the energy-constrained projection P, greedy CWMP, baselines and exact references.

Public API (see docs/THEORY.md for the maths):
    cwmp_mask, topk_mask, random_mask -> Selection
    solve_lp -> LPResult, solve_exact -> ExactResult, scores
"""

from .exact import ExactResult, solve_exact
from .lp import LPResult, solve_lp
from .selection import Selection, cwmp_mask, random_mask, scores, topk_mask

__all__ = ["Selection", "ExactResult", "LPResult", "cwmp_mask", "topk_mask", "random_mask", "solve_lp",
           "solve_exact", "scores"]
