"""fl_validation.partition: Dirichlet label skew as a pure, seeded function."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fl_validation.partition import dirichlet_partition, label_counts, label_skew
from tests.strategies import scaled_examples


def _labels(n: int, seed: int = 0, classes: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, classes, n)


@settings(max_examples=scaled_examples(2 / 3), deadline=None)  # 40 under ci
@given(n=st.integers(50, 600), clients=st.integers(1, 12), alpha=st.floats(0.05, 50.0), seed=st.integers(0, 2**31))
def test_every_sample_exactly_once(n, clients, alpha, seed):
    """Property: the client index sets are disjoint, sorted, and cover range(n) exactly once."""
    labels = _labels(n, seed % 1000)
    min_size = min(2, n // clients)
    parts = dirichlet_partition(labels, clients, alpha, seed, min_size=min_size)
    assert len(parts) == clients
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(n))
    assert all(np.all(np.diff(p) > 0) for p in parts)
    assert min(len(p) for p in parts) >= min_size


@settings(max_examples=scaled_examples(1 / 3), deadline=None)  # 20 under ci
@given(seed=st.integers(0, 2**31), alpha=st.sampled_from([0.1, 0.5, 1.0, 10.0]))
def test_seeded_and_pure(seed, alpha):
    """Property: same arguments give the same partition; the global numpy RNG is untouched."""
    labels = _labels(500)
    state = np.random.get_state()[1].copy()
    a = dirichlet_partition(labels, 10, alpha, seed)
    b = dirichlet_partition(labels, 10, alpha, seed)
    assert np.array_equal(np.random.get_state()[1], state)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_different_seeds_differ():
    labels = _labels(2000)
    a = dirichlet_partition(labels, 10, 0.5, 0)
    b = dirichlet_partition(labels, 10, 0.5, 1)
    assert any(not np.array_equal(x, y) for x, y in zip(a, b))


def test_skew_grows_as_alpha_falls():
    labels = np.repeat(np.arange(10), 500)  # balanced, like CIFAR-10
    alphas = [100.0, 10.0, 1.0, 0.5, 0.1]
    skews = [np.mean([label_skew(labels, dirichlet_partition(labels, 10, a, s)) for s in range(6)]) for a in alphas]
    assert all(x < y for x, y in zip(skews, skews[1:])), skews
    assert skews[0] < 0.1 and skews[-1] > 0.6


def test_min_size_guard():
    labels = _labels(300)
    for seed in range(5):
        parts = dirichlet_partition(labels, 10, 0.05, seed, min_size=10)
        assert min(len(p) for p in parts) >= 10
    with pytest.raises(ValueError, match="min_size"):
        dirichlet_partition(labels, 10, 0.5, 0, min_size=31)
    with pytest.raises(RuntimeError, match="min_size=29"):
        dirichlet_partition(labels, 10, 0.01, 0, min_size=29, max_tries=3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_partition(_labels(100), 10, 0.0, 0)
    with pytest.raises(ValueError, match="n_clients"):
        dirichlet_partition(_labels(100), 0, 1.0, 0)
    with pytest.raises(ValueError, match="labels"):
        dirichlet_partition(np.array([0.5, 1.5]), 2, 1.0, 0)


def test_label_skew_oracle():
    labels = np.repeat(np.arange(10), 10)
    iid = [np.arange(i, 100, 10) for i in range(10)]  # each client: one of every class
    assert label_skew(labels, iid) == pytest.approx(0.0)
    one_class = [np.arange(10 * i, 10 * i + 10) for i in range(10)]  # each client: one class
    assert label_skew(labels, one_class) == pytest.approx(0.9)
    assert label_counts(labels, one_class).tolist() == (np.eye(10, dtype=int) * 10).tolist()
