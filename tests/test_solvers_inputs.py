"""Every rejected input raises ValueError naming the argument and the bad value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solvers import cwmp_mask, random_mask, scores, solve_exact, solve_lp, topk_mask

G = np.array([1.0, -2.0, 3.0])
C = np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("call, match", [
    (lambda: cwmp_mask(np.array([1.0, np.nan]), np.ones(2), budget=1), r"g must be finite.*index 1"),
    (lambda: cwmp_mask(np.array([1.0, np.inf]), np.ones(2), budget=1), r"g must be finite.*index 1"),
    (lambda: cwmp_mask(G, np.array([1.0, np.nan, 1.0]), budget=1), r"c must be finite.*index 1"),
    (lambda: cwmp_mask(G, np.array([1.0, 0.0, 1.0]), budget=1), r"c must be > 0.*index 1.*0\.0"),
    (lambda: cwmp_mask(G, np.array([1.0, 1.0, -3.0]), budget=1), r"c must be > 0.*index 2.*-3\.0"),
    (lambda: cwmp_mask(G, np.ones(2), budget=1), r"shape mismatch.*g has shape \(3,\).*c has shape \(2,\)"),
    (lambda: cwmp_mask(np.ones((2, 2)), np.ones((2, 2)), budget=1), r"g must be 1-D.*\(2, 2\)"),
    (lambda: cwmp_mask(np.array([]), np.array([]), budget=1), r"g is empty"),
    (lambda: cwmp_mask(G, C, budget=-1.0), r"budget must be >= 0.*-1\.0"),
    (lambda: cwmp_mask(G, C, budget=float("nan")), r"budget must be finite.*nan"),
    (lambda: cwmp_mask(G, C, budget=float("inf")), r"budget must be finite.*inf"),
    (lambda: cwmp_mask(G, C, budget="3"), r"budget must be a real number.*'3'"),
    (lambda: cwmp_mask(G, C), r"exactly one of budget.*or k.*budget=None, k=None"),
    (lambda: cwmp_mask(G, C, budget=1.0, k=1), r"exactly one of budget.*budget=1\.0, k=1"),
    (lambda: cwmp_mask(G, C, k=4), r"k must be in \[0, d=3\].*k=4"),
    (lambda: cwmp_mask(G, C, k=-1), r"k must be in \[0, d=3\].*k=-1"),
    (lambda: cwmp_mask(G, C, k=1.5), r"k must be an integer.*1\.5"),
    (lambda: cwmp_mask(G, C, k=True), r"k must be an integer.*True"),
    (lambda: cwmp_mask(G, C, k=1, score="l3"), r"score must be one of.*'l3'"),
    (lambda: cwmp_mask(G, C, budget=1, greedy="lazy"), r"greedy must be one of.*'lazy'"),
    (lambda: cwmp_mask(G, None, budget=1), r"c is required"),
    (lambda: cwmp_mask(None, C, budget=1), r"g is required"),
    (lambda: cwmp_mask(["a", "b", "c"], C, budget=1), r"g must be a numeric"),
    (lambda: topk_mask(G, budget=1.0), r"c is required"),
    (lambda: topk_mask(G), r"exactly one of budget"),
    (lambda: topk_mask(G, k=7), r"k must be in \[0, d=3\].*k=7"),
    (lambda: random_mask(G, k=1, rng=None), r"rng must be a numpy.random.Generator.*None"),
    (lambda: random_mask(G, k=1, rng=42), r"rng must be.*42"),
    (lambda: solve_lp(G, C, -2.0), r"budget must be >= 0.*-2\.0"),
    (lambda: solve_lp(G, C, 1.0, backend="simplex"), r"backend must be one of.*'simplex'"),
    (lambda: solve_exact(G, C, 1.0, backend="magic"), r"backend must be one of.*'magic'"),
    (lambda: solve_exact(G, np.array([1.0, 2.5, 3.0]), 4.0, backend="dp"), r"integer costs.*c\[1\] = 2\.5"),
    (lambda: solve_exact(np.ones(21), np.ones(21), 4.0, backend="bruteforce"), r"d=21.*d ≤ 20"),
    (lambda: scores(np.array([1e200]), np.array([1.0])), r"g\*\*2 overflows"),
    (lambda: scores(np.array([1e100]), np.array([1e-300])), r"overflows float64 at index 0"),
    (lambda: cwmp_mask(torch.tensor([1.0, float("nan")]), torch.ones(2), budget=1), r"g must be finite"),
])
def test_rejected_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_zero_budget_and_zero_gradients_are_valid():
    sel = cwmp_mask(G, C, budget=0.0)
    assert sel.kept == 0 and sel.value == 0.0 and sel.energy == 0.0 and sel.certified_gap == 0.0
    z = cwmp_mask(np.zeros(3), C, budget=10.0)
    assert z.kept == 0 and z.upper_bound == 0.0  # zero-value coordinates are never worth energy
    assert cwmp_mask(G, C, k=0).kept == 0


def test_torch_in_torch_out_and_numpy_in_numpy_out():
    g = torch.tensor([0.5, -3.0, 1.0, 2.0], dtype=torch.float32)
    c = torch.tensor([1.0, 4.0, 0.5, 1.0], dtype=torch.float32)
    sel = cwmp_mask(g, c, budget=2.0)
    assert isinstance(sel.mask, torch.Tensor) and sel.mask.dtype == torch.bool and sel.mask.device == g.device
    ref = cwmp_mask(g.numpy(), c.numpy(), budget=2.0)
    assert isinstance(ref.mask, np.ndarray) and ref.mask.dtype == bool
    assert np.array_equal(sel.mask.numpy(), ref.mask)
    assert sel.value == pytest.approx(ref.value)
    tk = topk_mask(g, k=2)
    assert tk.mask.tolist() == [False, True, False, True]
    r = random_mask(g, k=2, rng=torch.Generator().manual_seed(0))
    assert isinstance(r.mask, torch.Tensor) and int(r.mask.sum()) == 2
