"""Tiny synthetic CIFAR-10 sources in the three on-disk formats (test fixtures).

``write_source(root, fmt, ...)`` writes a folder or a ``.tar.gz`` laid out like
the real releases and returns its path and the arrays it encodes, so a loader
can be checked against the known truth without the real data set.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from .dataset import CLASSES


def make_arrays(n_train: int = 25, n_test: int = 10, seed: int = 0, separable: bool = False):
    """Random uint8 images (N, 32, 32, 3) and labels cycling 0..9 (every class present).

    ``separable``: each class gets its own colour plus noise, so a CNN learns it fast.
    """
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (10, 3))  # one colour per class, shared by train and test
    out = []
    for n in (n_train, n_test):
        y = (np.arange(n) % 10).astype(np.int64)
        rng.shuffle(y)
        if separable:
            x = palette[y][:, None, None, :] + rng.integers(-20, 21, (n, 32, 32, 3))
            x = np.clip(x, 0, 255).astype(np.uint8)
        else:
            x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        out += [x, y]
    return tuple(out)


def _batches(x: np.ndarray, y: np.ndarray, parts: int = 5):
    return list(zip(np.array_split(x, parts), np.array_split(y, parts)))


def _python_batch(x: np.ndarray, y: np.ndarray, name: str) -> bytes:
    data = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(len(x), 3072)
    obj = {b"batch_label": name.encode(), b"labels": [int(v) for v in y], b"data": data,
           b"filenames": [f"img_{i}.png".encode() for i in range(len(y))]}
    return pickle.dumps(obj, protocol=2)


def _binary_batch(x: np.ndarray, y: np.ndarray) -> bytes:
    data = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(len(x), 3072)
    return np.concatenate([y.astype(np.uint8)[:, None], data], axis=1).tobytes()


def _image_bytes(img: np.ndarray, ext: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    if ext == "png":
        Image.fromarray(img).save(buf, format="PNG")
    else:
        Image.fromarray(img).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def source_files(fmt: str, arrays, image_ext: str = "png") -> dict[str, bytes]:
    """Relative path -> content for a source of format ``fmt`` holding ``arrays``."""
    x_tr, y_tr, x_te, y_te = arrays
    files: dict[str, bytes] = {}
    if fmt == "python":
        for i, (xb, yb) in enumerate(_batches(x_tr, y_tr), 1):
            files[f"cifar-10-batches-py/data_batch_{i}"] = _python_batch(xb, yb, f"training batch {i} of 5")
        files["cifar-10-batches-py/test_batch"] = _python_batch(x_te, y_te, "testing batch 1 of 1")
        files["cifar-10-batches-py/batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in CLASSES]}, 2)
    elif fmt == "binary":
        for i, (xb, yb) in enumerate(_batches(x_tr, y_tr), 1):
            files[f"cifar-10-batches-bin/data_batch_{i}.bin"] = _binary_batch(xb, yb)
        files["cifar-10-batches-bin/test_batch.bin"] = _binary_batch(x_te, y_te)
        files["cifar-10-batches-bin/batches.meta.txt"] = ("\n".join(CLASSES) + "\n").encode()
    elif fmt == "jpeg":
        for split, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
            seen = [0] * 10
            for img, label in zip(x, y):
                files[f"{split}/{CLASSES[label]}/{seen[label]:04d}.{image_ext}"] = _image_bytes(img, image_ext)
                seen[label] += 1
    else:
        raise ValueError(f"fmt must be python, binary or jpeg, got {fmt!r}")
    return files


def write_source(root: str | Path, fmt: str, *, archive: bool, arrays=None, image_ext: str = "png",
                 name: str | None = None) -> tuple[Path, tuple]:
    """Write a synthetic source under ``root``; returns (path to pass as --data, arrays).

    With ``image_ext="png"`` the image tree is lossless, so a JPEG-tree loader can be
    checked for exact pixels; ``"jpg"`` exercises the real decoder (lossy).
    """
    root = Path(root)
    arrays = arrays if arrays is not None else make_arrays()
    files = source_files(fmt, arrays, image_ext)
    name = name or {"python": "cifar-10-python", "binary": "cifar-10-binary", "jpeg": "cifar10-jpeg"}[fmt]
    if archive:
        path = root / f"{name}.tar.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(path, "w:gz") as tf:
            for rel in sorted(files):
                info = tarfile.TarInfo(rel)
                info.size = len(files[rel])
                info.mtime = 0
                tf.addfile(info, io.BytesIO(files[rel]))
        return path, arrays
    base = root / name
    for rel, data in files.items():
        f = base / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    return base, arrays
