"""Label-skewed client partitions: Dirichlet(alpha) per class, NIID-Bench style.

For every class k a proportion vector p ~ Dir(alpha * 1_n) splits that class's
samples among the n clients (Li et al., "Federated Learning on Non-IID Data
Silos", ICDE 2022, the ``noniid-labeldir`` scheme). As there, a client already
holding at least N/n samples gets no more (``balance=True``), and the whole
draw is repeated until every client holds at least ``min_size`` samples.
Smaller alpha = stronger label skew.

Pure function: the result depends only on its arguments (a seeded
``numpy.random.Generator`` is created inside; no global RNG state is touched).
"""

from __future__ import annotations

import numpy as np


def dirichlet_partition(
    labels: np.ndarray,
    n_clients: int,
    alpha: float,
    seed: int,
    *,
    min_size: int = 10,
    balance: bool = True,
    max_tries: int = 1000,
) -> list[np.ndarray]:
    """Split ``range(len(labels))`` into ``n_clients`` sorted index arrays.

    Every index appears in exactly one client. Raises ValueError for bad
    arguments and RuntimeError when ``max_tries`` draws all violate the
    minimum-size guard.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError("labels must be non-negative integers")
    if n_clients < 1:
        raise ValueError(f"n_clients must be >= 1, got {n_clients}")
    if not (alpha > 0 and np.isfinite(alpha)):
        raise ValueError(f"alpha must be positive and finite, got {alpha}")
    n = labels.size
    if min_size < 0 or min_size * n_clients > n:
        raise ValueError(f"min_size={min_size} impossible for {n} samples over {n_clients} clients")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
        sizes = np.zeros(n_clients, dtype=np.int64)
        for k in classes:
            idx_k = np.flatnonzero(labels == k)
            rng.shuffle(idx_k)
            p = rng.dirichlet(np.full(n_clients, alpha))
            if balance:
                p = p * (sizes < n / n_clients)
            total = p.sum()
            # p can underflow to all-zeros for tiny alpha: fall back to the open clients, uniformly
            p = p / total if total > 0 else (sizes < n / n_clients) / max(1, int((sizes < n / n_clients).sum()))
            cuts = (np.cumsum(p) * idx_k.size).astype(np.int64)[:-1]
            for j, chunk in enumerate(np.split(idx_k, cuts)):
                parts[j].append(chunk)
                sizes[j] += chunk.size
        if sizes.min() >= min_size:
            return [np.sort(np.concatenate(ch)) if ch else np.empty(0, np.int64) for ch in parts]
    raise RuntimeError(
        f"no Dirichlet({alpha}) partition of {n} samples over {n_clients} clients met min_size={min_size} "
        f"in {max_tries} draws; lower min_size or raise alpha"
    )


def label_counts(labels: np.ndarray, parts: list[np.ndarray], n_classes: int = 10) -> np.ndarray:
    """(n_clients, n_classes) matrix of per-client class counts."""
    labels = np.asarray(labels)
    return np.stack([np.bincount(labels[p], minlength=n_classes) for p in parts])


def label_skew(labels: np.ndarray, parts: list[np.ndarray], n_classes: int = 10) -> float:
    """Mean total-variation distance between each client's label distribution and the global one.

    0 for identical distributions, approaching 1 - 1/n_classes for one-class clients.
    """
    counts = label_counts(labels, parts, n_classes).astype(np.float64)
    glob = counts.sum(0) / counts.sum()
    local = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    return float(0.5 * np.abs(local - glob).sum(1).mean())
