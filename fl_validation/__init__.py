"""fl_validation: FedAvg on non-IID CIFAR-10 with energy accounting (docs/THEORY.md section 6).

One module per role: ``dataset`` (CIFAR-10 loaders, cache, augmentation),
``partition`` (Dirichlet label skew), ``model`` (compact CNN, ResNet-18),
``energy`` (hardware profiles -> per-coordinate costs), ``client`` (local SGD,
sparsification through ``solvers``), ``server`` (FedAvg, evaluation), ``run``
(the loop, checkpoints, sweeps), ``config`` (FLConfig and presets), ``cli``.
"""

__all__ = ["cli", "client", "config", "dataset", "energy", "model", "partition", "run", "server"]
