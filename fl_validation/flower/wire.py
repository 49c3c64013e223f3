"""Sparse update format carried in one Flower ``ArrayRecord``.

Keys, for every trainable parameter ``<p>`` (in ``model.parameters()`` order):

- ``<p>::values``  float32 (k_p,): the kept entries of the update of ``<p>``
- ``<p>::indices`` int32 (k_p,): their positions in ``<p>`` flattened (row-major), strictly unique
- buffers (BatchNorm statistics) dense under their own state-dict name
- ``cwmp::format`` uint8: the ASCII bytes of :data:`FORMAT` (the marker)

Shapes are not sent: the server takes them from the global model it kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

FORMAT = "cwmp-sparse/1"
MARKER_KEY = "cwmp::format"
VALUES = "::values"
INDICES = "::indices"


class SparseFormatError(ValueError):
    """A reply is not a valid CWMP sparse update (message names the client and the key)."""


def marker_array() -> np.ndarray:
    return np.frombuffer(FORMAT.encode("ascii"), dtype=np.uint8).copy()


def encode(update: torch.Tensor, mask: torch.Tensor, param_names: list[str], param_numels: list[int],
           buffers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Flat update + bool mask -> ordered dict of numpy arrays (see module doc)."""
    out: dict[str, np.ndarray] = {}
    off = 0
    g = update.detach().to("cpu", torch.float32)
    m = mask.detach().to("cpu")
    for name, n in zip(param_names, param_numels):
        idx = torch.nonzero(m[off:off + n], as_tuple=False).reshape(-1)
        out[name + VALUES] = g[off:off + n][idx].numpy().copy()
        out[name + INDICES] = idx.to(torch.int32).numpy().copy()
        off += n
    if off != g.numel():
        raise ValueError(f"update has {g.numel()} entries, parameters have {off}")
    for name, arr in buffers.items():
        out[name] = np.asarray(arr)
    out[MARKER_KEY] = marker_array()
    return out


@dataclass
class DecodedUpdate:
    dense: torch.Tensor  # float32 (d,), the sparse update scattered into zeros
    kept: int
    buffers: dict[str, np.ndarray]


def decode(arrays: dict[str, np.ndarray], param_names: list[str], param_numels: list[int],
           buffer_names: list[str], who: str) -> DecodedUpdate:
    """Check and rebuild the dense update; every error names ``who`` and the bad key/value."""
    if MARKER_KEY not in arrays:
        raise SparseFormatError(
            f"{who}: reply has no {MARKER_KEY!r} marker (keys: {sorted(arrays)[:6]}...): not a CWMP sparse "
            "update; is cwmp_mod installed on the ClientApp's train function?")
    mk = np.asarray(arrays[MARKER_KEY])
    got = bytes(mk.astype(np.uint8).tobytes()).decode("ascii", "replace") if mk.dtype == np.uint8 else repr(mk)
    if got != FORMAT:
        raise SparseFormatError(f"{who}: format marker {got!r}, expected {FORMAT!r}")
    expected = {n + s for n in param_names for s in (VALUES, INDICES)} | set(buffer_names) | {MARKER_KEY}
    missing = sorted(expected - set(arrays))
    extra = sorted(set(arrays) - expected)
    if missing:
        raise SparseFormatError(f"{who}: missing key(s) {missing[:5]}")
    if extra:
        raise SparseFormatError(f"{who}: unexpected key(s) {extra[:5]}")
    d = sum(param_numels)
    dense = torch.zeros(d, dtype=torch.float32)
    off = 0
    kept = 0
    for name, n in zip(param_names, param_numels):
        v = np.asarray(arrays[name + VALUES])
        i = np.asarray(arrays[name + INDICES])
        vk, ik = name + VALUES, name + INDICES
        if i.dtype != np.int32:
            raise SparseFormatError(f"{who}: {ik!r} has dtype {i.dtype}, expected int32")
        if v.dtype != np.float32:
            raise SparseFormatError(f"{who}: {vk!r} has dtype {v.dtype}, expected float32")
        if v.ndim != 1 or i.ndim != 1 or v.shape != i.shape:
            raise SparseFormatError(f"{who}: {vk!r} has shape {v.shape} but {ik!r} has shape {i.shape} "
                                    "(expected equal 1-d lengths)")
        if i.size:
            lo, hi = int(i.min()), int(i.max())
            if lo < 0 or hi >= n:
                raise SparseFormatError(f"{who}: indices for {ik!r} out of range [0, {n}): "
                                        f"{'min ' + str(lo) if lo < 0 else 'max ' + str(hi)}")
            if np.unique(i).size != i.size:
                raise SparseFormatError(f"{who}: {ik!r} holds {i.size - np.unique(i).size} duplicate index(es)")
            dense[off + torch.from_numpy(i.astype(np.int64))] = torch.from_numpy(v.copy())
        kept += int(i.size)
        off += n
    return DecodedUpdate(dense=dense, kept=kept, buffers={b: np.asarray(arrays[b]) for b in buffer_names})
