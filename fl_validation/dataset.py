"""CIFAR-10 loading: three on-disk formats -> one cached uint8 array set.

Sources (auto-detected, archive or extracted folder):

- ``jpeg``:   the shipped JPEG tree ``train/<class>/NNNN.jpg``, ``test/<class>/...``
  (``../shared/datasets/cifar10-jpeg.tar.gz``; see its README).
- ``python``: the canonical ``cifar-10-python.tar.gz`` / ``cifar-10-batches-py/``.
  Those batches are pickles. They are read with a *restricted* unpickler that
  resolves only the four globals a numpy-array pickle needs (numpy's
  ``_reconstruct``, ``ndarray``, ``dtype`` and ``_codecs.encode``) and refuses
  everything else, so a crafted file cannot run code. Prefer the binary format
  where you have the choice: it needs no pickle at all.
- ``binary``: ``cifar-10-binary.tar.gz`` / ``cifar-10-batches-bin/`` (1 label byte
  + 3072 pixel bytes per record).

Decoding happens once: the arrays are cached as an uncompressed ``.npz`` keyed by
the source's sha256 (``$CWMP_CACHE`` or ``~/.cache/cwmp-suite``), written
atomically. Every load is validated (counts, shapes, dtype, labels 0..9); a
truncated or corrupt file raises :class:`DatasetError` naming the file.

Augmentation (random crop with 4-pixel zero padding, horizontal flip) is done in
torch on uint8 batches with an explicit ``torch.Generator``; torchvision is not
used (it does not import on the build machines).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
CANONICAL_COUNTS: tuple[int, int] = (50_000, 10_000)
SHIPPED_ARCHIVE = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "cifar10-jpeg.tar.gz"
SHIPPED_SHA256 = "45b041e867f5a40f79bfde38d3dd1fd511103d50068c1afecf6445e25234d4db"
JPEG_CAVEAT = (
    "CIFAR-10 from the shipped JPEG archive: images were JPEG-recompressed from the "
    "original arrays, so pixels differ slightly from the canonical release; accuracies "
    "are close to, not bit-identical with, runs on the original files."
)
CACHE_VERSION = 1  # bump when the decoded layout changes
# Per-channel statistics of the canonical CIFAR-10 training set (widely used values).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

_PY_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_PY_TEST = "test_batch"
_BIN_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_BIN_TEST = "test_batch.bin"
_RECORD = 1 + 3072
_IMG_RE = re.compile(r"(?:^|/)(train|test)/([^/]+)/([^/]+\.(?:jpe?g|png))$", re.IGNORECASE)


class DatasetError(RuntimeError):
    """A data source is missing, truncated, corrupt or inconsistent (message names it)."""


@dataclass(frozen=True)
class CifarArrays:
    """Decoded CIFAR-10: images uint8 (N, 32, 32, 3) HWC RGB, labels int64 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    format: str
    sha256: str
    cache_path: str | None = None

    def info(self) -> dict:
        """JSON-ready description for config/metrics files."""
        return {
            "source": self.source,
            "format": self.format,
            "sha256": self.sha256,
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "caveat": JPEG_CAVEAT if self.format == "jpeg" else None,
        }


# --------------------------------------------------------------------------- paths


def default_cache_dir() -> Path:
    env = os.environ.get("CWMP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cwmp-suite"


def resolve_data_path(path: str | os.PathLike | None = None) -> Path:
    """``path`` if given, else ``$CWMP_CIFAR10``, else the shipped archive."""
    if path:
        p = Path(path).expanduser()
    elif os.environ.get("CWMP_CIFAR10"):
        p = Path(os.environ["CWMP_CIFAR10"]).expanduser()
    else:
        p = SHIPPED_ARCHIVE
        if not p.exists():
            raise DatasetError(
                f"no CIFAR-10 source given and the shipped archive {p} is missing; "
                "pass --data PATH or set CWMP_CIFAR10"
            )
    if not p.exists():
        raise DatasetError(f"{p}: no such file or directory")
    return p


# ---------------------------------------------------------------- format detection


def _is_tar(path: Path) -> bool:
    return path.is_file() and (path.name.endswith((".tar.gz", ".tgz", ".tar")))


def detect_format(path: Path) -> str:
    """``jpeg`` | ``python`` | ``binary`` for an archive or folder (DatasetError otherwise)."""
    if path.is_dir():
        if _find_dir(path, _PY_TRAIN[0]) is not None:
            return "python"
        if _find_dir(path, _BIN_TRAIN[0]) is not None:
            return "binary"
        if any(_IMG_RE.search(p.relative_to(path).as_posix()) for p in _iter_first_images(path)):
            return "jpeg"
        raise DatasetError(f"{path}: not a CIFAR-10 folder (no data_batch_1, data_batch_1.bin or train/<class>/*.jpg)")
    if not _is_tar(path):
        raise DatasetError(f"{path}: expected a .tar.gz/.tgz/.tar archive or a folder")
    try:
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                base = m.name.rsplit("/", 1)[-1]
                if base == _PY_TRAIN[0]:
                    return "python"
                if base == _BIN_TRAIN[0]:
                    return "binary"
                if m.isfile() and _IMG_RE.search(m.name):
                    return "jpeg"
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DatasetError(f"{path}: truncated or corrupt archive ({exc})") from exc
    raise DatasetError(f"{path}: archive holds no CIFAR-10 data (python, binary or JPEG layout)")


def _iter_first_images(root: Path, limit: int = 3):
    n = 0
    for split in ("train", "test"):
        for sub in sorted((root / split).glob("*")) if (root / split).is_dir() else []:
            for f in sorted(sub.glob("*")):
                yield f
                n += 1
                if n >= limit:
                    return


def _find_dir(root: Path, filename: str) -> Path | None:
    """The folder holding ``filename``: root itself or one level below."""
    if (root / filename).is_file():
        return root
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and (sub / filename).is_file():
            return sub
    return None


# -------------------------------------------------------------------- checksums


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from exc
    return h.hexdigest()


def source_checksum(path: Path) -> str:
    """sha256 of an archive; for a folder, of its sorted (relative path, content) pairs."""
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        h.update(rel.encode() + b"\0" + bytes.fromhex(sha256_file(f)))
    return h.hexdigest()


# --------------------------------------------------------------------- decoders


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only what a pickled dict of numpy arrays and lists needs."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) in {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}:
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
            return _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")


def _unpickle_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        obj = _RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # truncated/corrupt pickles raise many types
        raise DatasetError(f"{where}: corrupt or disallowed python batch ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: python batch is a {type(obj).__name__}, expected a dict")
    get = lambda k: obj.get(k.encode(), obj.get(k))  # noqa: E731 - py2 pickles use bytes keys
    data, labels = get("data"), get("labels")
    if data is None or labels is None:
        raise DatasetError(f"{where}: python batch lacks 'data' or 'labels'")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{where}: data has dtype {data.dtype} shape {data.shape}, expected uint8 (N, 3072)")
    if labels.shape != (data.shape[0],):
        raise DatasetError(f"{where}: {labels.shape[0]} labels for {data.shape[0]} images")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def _parse_binary(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    if len(raw) == 0 or len(raw) % _RECORD:
        raise DatasetError(f"{where}: size {len(raw)} bytes is not a positive multiple of {_RECORD} (truncated?)")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _RECORD)
    labels = rec[:, 0].astype(np.int64)
    return rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def _decode_image(raw: bytes, where: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # PIL raises UnidentifiedImageError, OSError, SyntaxError...
        raise DatasetError(f"{where}: cannot decode image ({type(exc).__name__}: {exc})") from exc
    if arr.shape != (32, 32, 3):
        raise DatasetError(f"{where}: image shape {arr.shape}, expected (32, 32, 3)")
    return arr


def _read_members(path: Path, wanted) -> dict[str, bytes]:
    """Read members of an archive (``wanted(name) -> key or None``) into memory."""
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                if not m.isfile():
                    continue
                key = wanted(m.name)
                if key is None:
                    continue
                f = tf.extractfile(m)
                out[key] = f.read() if f is not None else b""
                if len(out[key]) != m.size:
                    raise DatasetError(f"{path}:{m.name}: truncated member ({len(out[key])} of {m.size} bytes)")
    except DatasetError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DatasetError(f"{path}: truncated or corrupt archive ({exc})") from exc
    return out


def _decode_batches(path: Path, fmt: str) -> tuple[np.ndarray, ...]:
    train_names, test_name = (_PY_TRAIN, _PY_TEST) if fmt == "python" else (_BIN_TRAIN, _BIN_TEST)
    names = (*train_names, test_name)
    parse = _unpickle_batch if fmt == "python" else _parse_binary
    if path.is_dir():
        folder = _find_dir(path, train_names[0])
        assert folder is not None
        raw = {}
        for n in names:
            f = folder / n
            if not f.is_file():
                raise DatasetError(f"{f}: missing batch file")
            raw[n] = f.read_bytes()
        where = {n: str(folder / n) for n in names}
    else:
        raw = _read_members(path, lambda name: name.rsplit("/", 1)[-1] if name.rsplit("/", 1)[-1] in names else None)
        missing = [n for n in names if n not in raw]
        if missing:
            raise DatasetError(f"{path}: archive lacks batch file(s) {', '.join(missing)}")
        where = {n: f"{path}:{n}" for n in names}
    parts = [parse(raw[n], where[n]) for n in train_names]
    x_te, y_te = parse(raw[test_name], where[test_name])
    for (x, y), n in zip([*parts, (x_te, y_te)], names):
        _check_labels(y, where[n])
    x_tr = np.concatenate([p[0] for p in parts])
    y_tr = np.concatenate([p[1] for p in parts])
    return x_tr, y_tr, x_te, y_te


def _decode_jpeg(path: Path) -> tuple[np.ndarray, ...]:
    index = {c: i for i, c in enumerate(CLASSES)}
    items: dict[str, list[tuple[int, str, bytes]]] = {"train": [], "test": []}

    def add(name: str, raw_or_path, where: str) -> None:
        m = _IMG_RE.search(name)
        if m is None:
            return
        split, cls, fname = m.group(1).lower(), m.group(2), m.group(3)
        if cls not in index:
            raise DatasetError(f"{where}: unknown class folder {cls!r} (expected one of {', '.join(CLASSES)})")
        items[split].append((index[cls], fname, raw_or_path))

    if path.is_dir():
        for f in path.rglob("*"):
            if f.is_file():
                add(f.relative_to(path).as_posix(), f, str(f))
    else:
        raw = _read_members(path, lambda name: name if _IMG_RE.search(name) else None)
        for name, data in raw.items():
            add(name, data, f"{path}:{name}")
    out = []
    for split in ("train", "test"):
        entries = sorted(items[split], key=lambda t: (t[0], t[1]))  # class order, then file name
        if not entries:
            raise DatasetError(f"{path}: no {split}/<class>/*.jpg images found")
        xs = np.empty((len(entries), 32, 32, 3), dtype=np.uint8)
        for i, (_, fname, src) in enumerate(entries):
            if isinstance(src, Path):
                where, data = str(src), src.read_bytes()
            else:
                where, data = f"{path}:{split}/{CLASSES[entries[i][0]]}/{fname}", src
            xs[i] = _decode_image(data, where)
        out += [xs, np.array([e[0] for e in entries], dtype=np.int64)]
    return tuple(out)


# ------------------------------------------------------------------- validation


def _check_labels(y: np.ndarray, where: str) -> None:
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DatasetError(f"{where}: labels outside 0..9 (min {y.min()}, max {y.max()})")


def validate_arrays(x_tr, y_tr, x_te, y_te, where: str, expected_counts: tuple[int, int] | None = CANONICAL_COUNTS) -> None:
    """Shapes, dtypes, labels 0..9 and (when given) the train/test counts.

    With the canonical counts each class must also appear exactly 5000/1000 times.
    """
    for name, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
            raise DatasetError(f"{where}: {name} images dtype {x.dtype} shape {x.shape}, expected uint8 (N, 32, 32, 3)")
        if y.ndim != 1 or len(y) != len(x):
            raise DatasetError(f"{where}: {name} has {len(y)} labels for {len(x)} images")
        _check_labels(y, f"{where} ({name})")
    if expected_counts is not None:
        got = (len(y_tr), len(y_te))
        if got != tuple(expected_counts):
            raise DatasetError(f"{where}: {got[0]} train / {got[1]} test images, expected {expected_counts[0]} / {expected_counts[1]}")
        if tuple(expected_counts) == CANONICAL_COUNTS:
            for name, y, per in (("train", y_tr, 5000), ("test", y_te, 1000)):
                counts = np.bincount(y, minlength=10)
                if not np.all(counts == per):
                    raise DatasetError(f"{where}: {name} class counts {counts.tolist()}, expected {per} each")


# ----------------------------------------------------------------------- cache


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is shared data
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_cifar10(
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    expected_counts: tuple[int, int] | None = CANONICAL_COUNTS,
) -> CifarArrays:
    """Load CIFAR-10 from any supported source, through the checksum-keyed cache.

    ``expected_counts=None`` skips the count check (tiny synthetic test files).
    """
    src = resolve_data_path(path)
    fmt = detect_format(src)
    sha = source_checksum(src)
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    cache_path = cache / f"cifar10-{fmt}-{sha[:20]}-v{CACHE_VERSION}.npz"
    if use_cache and cache_path.is_file():
        try:
            with np.load(cache_path, allow_pickle=False) as z:
                arrs = tuple(z[k] for k in ("x_train", "y_train", "x_test", "y_test"))
            validate_arrays(*arrs, where=str(cache_path), expected_counts=expected_counts)
            return CifarArrays(*arrs, source=str(src), format=fmt, sha256=sha, cache_path=str(cache_path))
        except (DatasetError, OSError, ValueError, KeyError, zlib.error):
            pass  # stale or damaged cache: decode again and overwrite it
    arrs = _decode_jpeg(src) if fmt == "jpeg" else _decode_batches(src, fmt)
    validate_arrays(*arrs, where=str(src), expected_counts=expected_counts)
    if use_cache:
        _atomic_savez(cache_path, x_train=arrs[0], y_train=arrs[1], x_test=arrs[2], y_test=arrs[3])
    return CifarArrays(*arrs, source=str(src), format=fmt, sha256=sha, cache_path=str(cache_path) if use_cache else None)


# ------------------------------------------------------------- torch-side data


def to_nchw_tensor(x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (N, 32, 32, 3) numpy -> contiguous uint8 (N, 3, 32, 32) tensor."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)


def normalize(x_u8: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float32 standardized with the CIFAR-10 channel statistics."""
    mean = torch.tensor(MEAN, device=x_u8.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x_u8.device).view(1, 3, 1, 1)
    return (x_u8.float().div_(255.0) - mean) / std


def augment(x_u8: torch.Tensor, gen: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop (zero padding ``padding``) + horizontal flip, batched, on uint8 NCHW.

    Random numbers come from ``gen`` (a CPU generator) so the result does not
    depend on the device or on global RNG state. Two gathers (rows, then
    columns; the flip is a reversed column index) instead of per-sample slicing.
    """
    b, c, h, w = x_u8.shape
    offs = torch.randint(0, 2 * padding + 1, (b, 2), generator=gen)
    flip = torch.rand(b, generator=gen) < 0.5
    dev = x_u8.device
    offs, flip = offs.to(dev), flip.to(dev)
    padded = torch.nn.functional.pad(x_u8, (padding, padding, padding, padding))
    rows = offs[:, 0:1] + torch.arange(h, device=dev)  # (b, h)
    cols = offs[:, 1:2] + torch.arange(w, device=dev)  # (b, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    out = torch.gather(padded, 2, rows[:, None, :, None].expand(b, c, h, w + 2 * padding))
    return torch.gather(out, 3, cols[:, None, None, :].expand(b, c, h, w))
