"""Fast CWMP / Top-K selection without a full sort (issue 7).

Same masks as the sort-based reference in selection.py, bit for bit, for every
score ("l2", "paper", Top-K's |g|), every greedy variant ("dantzig", "fill",
"safe") and count mode, in O(d) expected time instead of O(d log d).

How (the DGC-style threshold estimate, made exact):

1. keys. The reference ranks by a float64 key (s = g²/c, |g|/c or |g|; ties by
   lower index). For float32 inputs we first compute a float32 *pre-key* K
   whose ratio to the float64 key is within 1 ± RHO32 (two float32 roundings),
   valid above a floor (no float32 under/overflow); otherwise K is the float64
   key itself (RHO = 0).
2. bracket. A random (stratified) sample of the keys, with costs, estimates the
   threshold: the k-th largest key (count mode) or the key where the running
   cost crosses the budget B (budget mode). Two thresholds T_lo < T_hi around
   the estimate, Z standard deviations apart, bracket it.
3. exact split. One pass classifies every item as surely above T_hi (K above
   T_hi·(1+RHO)), surely below T_lo, or in between; the float64 keys are
   recomputed only for the in-between items, which are then split exactly.
   If the bracket missed (rare), it is widened and the pass repeated.
4. exact walk. The band (T_lo, T_hi] is sorted by (−key, index) — a few
   thousand items — and walked from the cost of everything above T_hi.

The reference decides "cumsum ≤ B" with a float64 sequential cumsum over the
sorted order, which a threshold method cannot reproduce digit for digit. So
every such decision here is *certified*: the reference's sum and ours differ by
at most E = 2.2 (N+2) u W (u = 2^-53, N items, any summation order), and a
decision is taken only when it holds on the whole interval [Ŵ − E, Ŵ + E].
When it does not ("ambiguous", a sum within ~1e-10 relative of the budget):
(a) if every cost and B are multiples of one power of two and the sums stay
below 2^53 of that unit (integer costs, for instance) all sums are exact in
any order, so E = 0 and the decision is exact; (b) otherwise the call falls
back to the reference itself (counted in `STATS["fallback"]`). Count mode
makes no sums and is always exact.

`fill` is emulated as the reference runs it: after the Dantzig prefix, the
items after the break item that fit in what is left are selected again by the
same method, iteratively, carrying the reference's `left` as a certified
interval (exact when the sums are). `safe` compares with the single most
valuable fitting item exactly as the reference does.

The compiled engine (solvers/_kernels.py, numba; issue 15) fuses each pass into
one sweep that forms the exact keys itself, and adds: the split also keeps fill's
*region* (the ~FILL_REGION items right below the band), so fill's walk rarely
needs a sweep of its own; when `left` must be formed bit for bit, the prefix is
not sorted whole (_key_order_sum: inside one binade of the running sum, costs
that are an even number of its ulps commute with every other addition, so only
the rest is sorted); and the sweeps run on torch's thread count
(kernel_threads), with outputs in index order whatever the threads.

Backends: numpy arrays and CPU torch tensors run on numpy (a CPU tensor is a
zero-copy view; the mask comes back as a torch tensor sharing that memory);
CUDA tensors run on torch ops on the device (float64 keys, only the small band
and sample come to the host). `backend="torch"` forces the torch path, which is
how the tests exercise it on CPU.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import _kernels
from ._arrays import is_torch

U = 2.0 ** -53  # unit roundoff of float64
RHO32 = 2.0 ** -20  # |K32 / key64 − 1| ≤ 2^-22.9 for normal float32 results; 2^-20 is the margin used
SAMPLE = 1 << 14  # sample size for the threshold estimate over the whole array
SAMPLE_SUB = 1 << 12  # sample size when a band is bracketed again (host arrays)
Z = 5.0  # bracket half-width, in standard deviations of the estimate
SORT_MAX = 2048  # candidate sets at most this big are sorted outright (no sampling)
BAND_SORT_MAX = 1 << 14  # bands larger than this are bracketed again instead of sorted
AUTO_MIN_D = 1 << 15  # impl="auto" uses the reference below this size
MAX_WIDEN = 40  # bracket widenings before giving up on sampling (then: everything is the band)
HIST_MIN_FRAC = 0.1  # compiled path, budget mode: a sample bracket wider than this share of the
# sample (heavy-tailed costs) is narrowed by one histogram sweep (_hist_bracket) first
HIST_BUCKETS = 4096
HIST_PASSES = 3  # histogram sweeps at most per bracket (each one pass over d)

# Which engine runs host (numpy / CPU torch) input: "auto" = the compiled kernels of
# solvers/_kernels.py when numba imports, else the pure numpy engine; "numba" = require
# them (RuntimeError without numba); "numpy" = always the pure engine. Same masks.
KERNEL = "auto"
KERNELS = ("auto", "numba", "numpy")

STATS: dict[str, int] = {"calls": 0, "fallback": 0, "exact_sums": 0, "widen": 0, "prekey32": 0, "kernel": 0,
                         "exact_left": 0, "fill_window": 0, "fill_sweep": 0, "fill_region": 0,
                         "phase_set_aside": 0}


FILL_REGION = 1 << 17  # fill (compiled): items the split keeps right below the band (a sample estimate)
FILL_REGION_CAP = 1 << 19  # ... and at most this many (more: the region is dropped, fill sweeps)
THREADS: int | None = None  # compiled sweeps' threads; None: torch's intra-op thread count (see kernel_threads)
THREADS_MIN_ITEMS = 1 << 18  # below this a sweep is too short to pay for waking a second thread


def kernel_threads(n: int) -> int:
    """Threads for one compiled sweep over n items.

    Why torch's count: selection runs beside torch (the FL client, the bench's torch.topk), and
    a process pinned to one thread (the sweep's one-thread FL runs) must not get a second one
    behind its back; at one thread the serial kernels run and numba's thread pool never starts.
    Capped by numba's own NUMBA_NUM_THREADS. Masks do not depend on it (every sweep's output is
    in index order; only the bracketing histogram's float sums change order, and those are
    certified afterwards like any estimate).
    """
    if n < THREADS_MIN_ITEMS:
        return 1
    if THREADS is not None:
        want = THREADS
    else:
        torch_mod = sys.modules.get("torch")
        want = torch_mod.get_num_threads() if torch_mod is not None else (os.cpu_count() or 1)
    kern = _kernels.get()
    return max(1, min(int(want), kern.max_threads if kern is not None else 1))


def kernel_path() -> str:
    """The engine host input gets now: "numba" or "numpy" (imports numba; compiles nothing)."""
    if KERNEL not in KERNELS:
        raise ValueError(f"fast.KERNEL must be one of {KERNELS}, got {KERNEL!r}")
    if KERNEL == "numpy":
        return "numpy"
    if _kernels.available():
        return "numba"
    if KERNEL == "numba":
        raise RuntimeError("fast.KERNEL = 'numba' but numba is not installed (pip install -e .[fast])")
    return "numpy"


class _Ambiguous(Exception):
    """A certified decision could not be made (a sum within rounding of the budget)."""


class _NeedExactKeys(Exception):
    """The float32 pre-key is not valid at the threshold needed (below its floor)."""


class _BadInput(Exception):
    """A kernel sweep met input the reference rejects (NaN/inf, c ≤ 0, an overflowing key)."""


# ----------------------------------------------------------------------------- backends


class _NumpyBE:
    """Big-array primitives on host numpy arrays."""

    name = "numpy"

    @staticmethod
    def gt(K: np.ndarray, t: float) -> np.ndarray:
        return K > t

    @staticmethod
    def count(m: np.ndarray) -> int:
        return int(np.count_nonzero(m))

    @staticmethod
    def nonzero(m: np.ndarray) -> np.ndarray:
        return np.flatnonzero(m)

    @staticmethod
    def band(K: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """Host indices (ascending) of lo < K ≤ hi; lo = -inf / hi = +inf allowed."""
        if hi == math.inf:
            return np.flatnonzero(K > lo) if lo != -math.inf else np.arange(K.shape[0])
        m = K <= hi
        if lo != -math.inf:
            m &= K > lo
        return np.flatnonzero(m)

    @staticmethod
    def take64(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return x[idx].astype(np.float64, copy=False)

    @staticmethod
    def zeros_mask(n: int) -> np.ndarray:
        return np.zeros(n, dtype=bool)

    @staticmethod
    def set_true(mask: np.ndarray, idx: np.ndarray) -> None:
        mask[idx] = True

    @staticmethod
    def fill_candidates(K: np.ndarray, khi: float, c: np.ndarray, chi: float) -> np.ndarray:
        m = K <= khi
        m &= K >= 0
        m &= c <= chi
        return np.flatnonzero(m)

    @staticmethod
    def to_host(x: Any) -> np.ndarray:
        return np.asarray(x)


class _TorchBE:
    """The same primitives on torch tensors (any device); indices come back to the host."""

    name = "torch"

    def __init__(self, device: Any):
        import torch

        self.torch = torch
        self.device = device

    def gt(self, K: Any, t: float) -> Any:
        return K > t

    def count(self, m: Any) -> int:
        return int(m.sum().item())

    def nonzero(self, m: Any) -> np.ndarray:
        return m.nonzero().squeeze(1).cpu().numpy()

    def band(self, K: Any, lo: float, hi: float) -> np.ndarray:
        if hi == math.inf:
            if lo == -math.inf:
                return np.arange(K.shape[0])
            return self.nonzero(K > lo)
        m = K <= hi
        if lo != -math.inf:
            m &= K > lo
        return self.nonzero(m)

    def _dev_idx(self, idx: np.ndarray) -> Any:
        return self.torch.as_tensor(np.ascontiguousarray(idx, dtype=np.int64), device=self.device)

    def take64(self, x: Any, idx: np.ndarray) -> np.ndarray:
        return x[self._dev_idx(idx)].double().cpu().numpy()

    def zeros_mask(self, n: int) -> Any:
        return self.torch.zeros(n, dtype=self.torch.bool, device=self.device)

    def set_true(self, mask: Any, idx: np.ndarray) -> None:
        if len(idx):
            mask[self._dev_idx(idx)] = True

    def fill_candidates(self, K: Any, khi: float, c: Any, chi: float) -> np.ndarray:
        m = (K <= khi) & (K >= 0) & (c <= chi)
        return self.nonzero(m)

    @staticmethod
    def to_host(x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()


_NP = _NumpyBE()


# ----------------------------------------------------------------------------- keys


@dataclass
class _Keys:
    """What the selection engine needs about one ranking."""

    be: Any
    n: int
    K: Any  # backend array: pre-key (float32) or the exact float64 key
    rho: float  # relative accuracy of K against the exact key (0: K is exact)
    floor: float  # thresholds below this need exact keys (float32 pre-key only)
    exact: Callable[[np.ndarray], np.ndarray]  # host idx -> exact float64 keys (−1: ineligible)
    c: Any | None = None  # backend cost array (budget mode)
    v_pos: Callable[[np.ndarray], np.ndarray] | None = None  # idx -> v > 0 (zero-key eligibility)
    budget_mode: bool = False
    exact_sums: bool = False  # every cost sum is exact (dyadic costs): certify with E = 0
    kdtype: Any = np.float64  # dtype of K (for threshold rounding)
    fused: "_Fused | None" = None  # compiled kernels: K is None, every sweep forms exact keys itself
    fill_region: bool = False  # greedy fill/safe on the compiled path: the split keeps fill's region too

    def up(self, t: float) -> float:
        """The smallest K-representable number ≥ t·(1+rho)."""
        if t in (math.inf, -math.inf):
            return t
        t = t * (1.0 + self.rho) if t >= 0 else t * (1.0 - self.rho)
        return _round_up(t, self.kdtype)

    def down(self, t: float) -> float:
        """The largest K-representable number ≤ t·(1−rho)."""
        if t in (math.inf, -math.inf):
            return t
        t = t * (1.0 - self.rho) if t >= 0 else t * (1.0 + self.rho)
        return _round_down(t, self.kdtype)


def _round_up(t: float, dtype: Any) -> float:
    if dtype == np.float64:
        return float(t)
    x = np.float32(t)
    if float(x) < t:
        x = np.nextafter(x, np.float32(np.inf))
    return float(x)


def _round_down(t: float, dtype: Any) -> float:
    if dtype == np.float64:
        return float(t)
    x = np.float32(t)
    if float(x) > t:
        x = np.nextafter(x, np.float32(-np.inf))
    return float(x)


def _host_keys(key: np.ndarray, c: np.ndarray | None, budget_mode: bool, exact_sums: bool) -> _Keys:
    """Keys over a host subset (already exact float64, eligible items only)."""
    return _Keys(be=_NP, n=len(key), K=key, rho=0.0, floor=-math.inf, exact=lambda idx: key[idx],
                 c=c, v_pos=None, budget_mode=budget_mode, exact_sums=exact_sums)


# ----------------------------------------------------------------------------- split


@dataclass
class _Split:
    T_hi: float
    T_lo: float
    sure: Any  # backend bool mask of the items surely above T_hi (None: T_hi = +inf)
    sure_idx: np.ndarray | None  # host indices of `sure` (budget mode only)
    sure_c: np.ndarray | None  # their costs, float64 (budget mode only)
    n_sure: int
    extra: np.ndarray  # host idx of in-between items whose exact key is > T_hi (above too)
    band: np.ndarray  # host idx, ascending, of eligible items with T_lo < key ≤ T_hi
    band_key: np.ndarray
    band_c: np.ndarray | None
    n_A: int  # items above T_hi
    W_A: float  # their cost (computed sum)
    sure_g: np.ndarray | None = None  # compiled sweep: g and c of the `sure` items (input dtype)
    sure_c_in: np.ndarray | None = None
    low_c: float | None = None  # compiled sweep, budget mode: least cost of an eligible item below T_lo
    best: int | None = None  # compiled sweep, budget mode: safe's single item (the kernel's _best; −1: none)
    # compiled sweep, fill: the eligible items with T_lo2 < key ≤ T_lo (idx ascending, exact keys, costs)
    # and the least cost of an eligible item with key ≤ T_lo2; None: not asked for, or it overflowed
    region: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    low2: float | None = None


@dataclass
class _Fused:
    """What the compiled kernels sweep: host arrays of one dtype, contiguous.

    """

    kern: Any  # _kernels._Compiled
    g: np.ndarray
    c: np.ndarray  # the costs, or g itself as a placeholder when there are none (has_c False)
    has_c: bool
    kind: int  # _kernels.KIND_*
    budget_mode: bool
    B: float


def _split_fused(ks: _Keys, T_hi: float, T_lo: float, T_lo2: float | None = None) -> _Split:
    """_split in one compiled sweep over g and c (exact float64 keys, so nothing is 'in between').

    T_lo2 < T_lo (budget mode, fill): the sweep also keeps the items right below the band, so that
    fill's walk rarely needs a sweep of its own (_fill_fused).
    """
    fz = ks.fused
    n = ks.n
    mask = np.empty(n, dtype=np.bool_)
    # Capacity n each, but only the written prefix is ever touched (untouched pages cost nothing).
    sure_idx = np.empty(n, dtype=np.int64)
    sure_g = np.empty(n, dtype=fz.g.dtype)
    sure_c = np.empty(n, dtype=fz.c.dtype)
    band_idx = np.empty(n, dtype=np.int64)
    band_key = np.empty(n, dtype=np.float64)
    band_c = np.empty(n, dtype=np.float64)
    low = np.empty(5, dtype=np.float64)
    want_region = ks.budget_mode and T_lo2 is not None and T_lo2 < T_lo
    cap = max(FILL_REGION_CAP, 16) if want_region else 1  # ≥ 1 per chunk (the branch-free slot)
    reg_idx, reg_key, reg_c = np.empty(cap, np.int64), np.empty(cap, np.float64), np.empty(cap, np.float64)
    T2 = float(T_lo2) if want_region else float(T_lo)
    nt = kernel_threads(n)
    head = (fz.g, fz.c, fz.has_c, fz.kind, fz.budget_mode, float(fz.B), float(T_hi), float(T_lo), mask,
            sure_idx, sure_g, sure_c, band_idx, band_key, band_c, low)
    if nt > 1:
        ns, nb, bad = fz.kern.split_par(*head, T2, reg_idx, reg_key, reg_c, nt)
    else:
        ns, nb, bad = fz.kern.split(*head, 0, T2, reg_idx, reg_key, reg_c)
    STATS["kernel"] += 1
    if bad:
        raise _BadInput
    sure_g, sure_c = sure_g[:ns], sure_c[:ns]
    W = float(np.sum(sure_c, dtype=np.float64)) if ks.budget_mode else 0.0
    return _Split(T_hi, T_lo, mask, sure_idx[:ns], None, int(ns), np.zeros(0, np.int64), band_idx[:nb],
                  band_key[:nb], band_c[:nb] if ks.budget_mode else None, int(ns), W, sure_g, sure_c,
                  float(low[0]) if ks.budget_mode else None, int(low[1]) if ks.budget_mode else None,
                  (reg_idx[:int(low[4])], reg_key[:int(low[4])], reg_c[:int(low[4])])
                  if want_region and low[4] >= 0 else None, float(low[3]) if want_region else None)


@dataclass(frozen=True)
class _KeptIdx:
    """The kept indices as two ascending, disjoint parts, merged only if someone asks.

    Why: callers mostly need the count; materialising 10^6 indices costs a pass.
    """

    sure: np.ndarray
    add: np.ndarray

    def __len__(self) -> int:
        return len(self.sure) + len(self.add)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = _merge_sorted(self.sure, self.add)
        return out if dtype is None else out.astype(dtype)


def _finish_fused(fz: _Fused, sp: _Split, add: np.ndarray,
                  with_c: bool) -> tuple[np.ndarray, float, float | None]:
    """(kept idx, value, energy) for the sure items of sweep `sp` plus `add` (ascending).

    One merge in index order builds the very arrays the reference sums (v[mask],
    c[mask]), so np.sum gives its value and energy bit for bit.
    """
    add = np.ascontiguousarray(add, dtype=np.int64)
    m = len(sp.sure_idx) + len(add)
    out_v = np.empty(m, dtype=np.float64)
    out_c = np.empty(m if with_c else 1, dtype=np.float64)
    args = (sp.sure_idx, sp.sure_g, sp.sure_c_in, add, fz.g[add].astype(np.float64),
            fz.c[add].astype(np.float64), with_c, out_v, out_c)
    nt = kernel_threads(m)
    fz.kern.merge_par(*args, nt) if nt > 1 else fz.kern.merge(*args)
    return _KeptIdx(sp.sure_idx, add), float(np.sum(out_v)), (float(np.sum(out_c)) if with_c else None)


def _split(ks: _Keys, T_hi: float, T_lo: float, T_lo2: float | None = None) -> _Split:
    if ks.fused is not None:
        return _split_fused(ks, T_hi, T_lo, T_lo2)
    be = ks.be
    if ks.rho > 0 and T_lo < ks.floor:
        raise _NeedExactKeys
    H = ks.up(T_hi)
    sure = sure_idx = sure_c = None
    n_sure, W_sure = 0, 0.0
    if T_hi != math.inf:
        sure = be.gt(ks.K, H)
        if ks.budget_mode:
            sure_idx = be.nonzero(sure)
            n_sure = len(sure_idx)
            sure_c = be.take64(ks.c, sure_idx)
            W_sure = float(sure_c.sum())
        else:
            n_sure = be.count(sure)
    L = ks.down(T_lo)
    gidx = be.band(ks.K, L, H)
    gkey = ks.exact(gidx)
    above = gkey > T_hi
    inb = (gkey > T_lo) & ~above
    if ks.budget_mode:
        inb &= gkey >= 0
        zero = inb & (gkey == 0)
        if zero.any() and ks.v_pos is not None:  # key 0: eligible only when v = g² > 0
            zi = np.flatnonzero(zero)
            inb[zi[~ks.v_pos(gidx[zi])]] = False
    extra = gidx[above]
    band = gidx[inb]
    band_key = gkey[inb]
    band_c = None
    W_A = W_sure
    if ks.budget_mode:
        band_c = be.take64(ks.c, band)
        if len(extra):
            W_A = W_sure + float(be.take64(ks.c, extra).sum())
    return _Split(T_hi, T_lo, sure, sure_idx, sure_c, n_sure, extra, band, band_key, band_c,
                  n_sure + len(extra), W_A)


def _rebracket(sp: _Split, ks: _Keys, depth: int) -> bool:
    """Bracket the band again (rather than sort it) when it is big and the last bracket helped."""
    return len(sp.band) > BAND_SORT_MAX and 4 * len(sp.band) <= 3 * ks.n and depth < 8


def _band_order(sp: _Split) -> np.ndarray:
    """Band positions by key descending, ties by lower index (band is index-ascending)."""
    return np.argsort(-sp.band_key, kind="stable")


# ----------------------------------------------------------------------------- sampling


@dataclass
class _Sample:
    K: np.ndarray  # sampled keys (pre-key), descending; eligible only in budget mode
    c: np.ndarray | None
    scale: float  # population / sample size


def _sample(ks: _Keys, rng: np.random.Generator, size: int) -> _Sample:
    n = ks.n
    m = min(n, size)
    if m == n:
        idx = np.arange(n)
    else:  # stratified: one uniform draw per stratum of n/m items (sorted, cache friendly)
        step = n / m
        idx = np.minimum((np.arange(m) * step + rng.random(m) * step).astype(np.int64), n - 1)
    if ks.K is None:  # compiled kernels: exact keys of the sample (bad input is caught by the sweep)
        with np.errstate(all="ignore"):
            K = ks.exact(idx)
    else:
        K = ks.be.take64(ks.K, idx)
    c = ks.be.take64(ks.c, idx) if ks.budget_mode else None
    if ks.budget_mode:
        keep = K >= 0
        K, c = K[keep], c[keep]
    order = np.argsort(-K)  # ties need no order here: only thresholds are read off the sample
    return _Sample(K[order], c[order] if c is not None else None, n / m)


def _threshold(S: _Sample, p: int, budget_mode: bool, hi: bool) -> float:
    m = len(S.K)
    if p < 0:
        return math.inf
    if p >= m:
        return -0.5 if budget_mode else -math.inf
    return float(S.K[p])


# ----------------------------------------------------------------------------- count mode


@dataclass
class _CountResult:
    mask: Any
    sure: Any  # the split's mask the result was built on (None: built from zeros)
    add_idx: np.ndarray  # host idx set on top of `sure` (sorted)
    sp: _Split | None = None  # the split the result was built on (None: built from zeros)


def count_select(ks: _Keys, k: int, rng: np.random.Generator, depth: int = 0) -> _CountResult:
    """Mask of the k largest keys, ties by lower index (exactly the reference's)."""
    be, n = ks.be, ks.n
    if k == 0 or k == n or n <= SORT_MAX:
        if k == 0:
            idx = np.zeros(0, np.int64)
        elif k == n:
            idx = np.arange(n)
        else:
            idx = np.sort(np.argsort(-ks.exact(np.arange(n)), kind="stable")[:k])
        mask = be.zeros_mask(n)
        be.set_true(mask, idx)
        return _CountResult(mask, None, idx)
    S = _sample(ks, rng, SAMPLE if depth == 0 else SAMPLE_SUB)
    m = len(S.K)
    q = k / S.scale
    delta = Z * math.sqrt(max(q * (1 - q / m), 1.0)) + 4
    p_hi, p_lo = int(math.floor(q - delta)) - 1, int(math.ceil(q + delta))
    for it in range(MAX_WIDEN + 1):
        if it == MAX_WIDEN:
            p_hi, p_lo = -1, m
        T_hi = _threshold(S, p_hi, False, True)
        T_lo = _threshold(S, p_lo, False, False)
        if T_lo >= T_hi:  # ties in the sample: move T_lo to the next smaller sampled key
            p_lo = int(np.searchsorted(-S.K, -T_hi, side="right"))
            T_lo = _threshold(S, p_lo, False, False)
        sp = _split(ks, T_hi, T_lo)
        if sp.n_A >= k:
            STATS["widen"] += 1
            p_hi -= max(16, p_lo - p_hi)
            continue
        if sp.n_A + len(sp.band) < k:
            STATS["widen"] += 1
            p_lo += max(16, p_lo - p_hi)
            continue
        r = k - sp.n_A
        if _rebracket(sp, ks, depth):
            sub = count_select(_host_keys(sp.band_key, None, False, False), r, rng, depth + 1)
            take = sp.band[np.flatnonzero(sub.mask)]
        else:
            take = sp.band[np.sort(_band_order(sp)[:r])]
        add = _merge_sorted(sp.extra, take)
        mask = sp.sure if sp.sure is not None else be.zeros_mask(n)
        be.set_true(mask, add)
        return _CountResult(mask, sp.sure, add, sp)
    raise RuntimeError("count_select: bracket did not converge")  # pragma: no cover


# ----------------------------------------------------------------------------- budget mode


def _err(W: np.ndarray | float, N: np.ndarray | int) -> Any:
    """Bound on |our sum − the reference's sum| for N nonnegative terms summing to about W."""
    return 2.2 * (np.asarray(N, dtype=np.float64) + 2.0) * U * np.abs(W) + 1e-300


@dataclass
class _Prefix:
    """The Dantzig prefix of a budget-mode walk: the longest key-order prefix with cost ≤ B."""

    sp: _Split | None  # None: sorted outright (sp-less small case)
    taken_band: np.ndarray  # host idx of band items in the prefix (sorted by index)
    n: int  # prefix length
    W_last: float  # computed cost of the prefix (the reference's cum[n-1] up to E)
    E: float  # certified bound on |W_last − reference cum[n-1]| (0: exact)
    b: int | None  # host index of the break item (None: everything fits)
    key_b: float = 0.0
    c_b: float = 0.0
    exact_order: bool = False  # the prefix sum was formed exactly as the reference's
    mask: Any = None  # backend mask of the prefix (filled by _prefix_mask)
    band_sorted: np.ndarray | None = None  # band idx in key order (for the exact solver's core)
    band_sorted_key: np.ndarray | None = None
    band_sorted_c: np.ndarray | None = None


def budget_prefix(ks: _Keys, B_lo: float, B_hi: float, rng: np.random.Generator, *,
                  certify: bool = True, base_W: float = 0.0, base_N: int = 0,
                  depth: int = 0) -> _Prefix:
    """Dantzig prefix under a budget known to lie in [B_lo, B_hi] (B_lo = B_hi: exact).

    `base_W`, `base_N`: cost and count of the items that precede all of `ks` in
    key order (when a band is bracketed again); the walk starts from base_W.
    With certify=True raise _Ambiguous unless the reference's prefix length is
    certain for every budget in the interval and every rounding of its cumsum.
    certify=False (LP bound, exact solver) takes the computed sums at face value.
    """
    if certify and B_lo < 0:
        raise _Ambiguous
    bottom = -0.5  # below every eligible key (ineligible items carry key −1)
    S = None
    p_hi = p_lo = 0
    if ks.n > SORT_MAX:
        S = _sample(ks, rng, SAMPLE if depth == 0 else SAMPLE_SUB)
        m = len(S.K)
        if m:
            R_lo, R_hi = B_lo - base_W, B_hi - base_W
            Cs = np.cumsum(S.c) * S.scale
            q = int(np.searchsorted(Cs, R_hi, side="right"))
            sig = S.scale * (math.sqrt(float(np.sum(S.c[: min(q + 1, m)] ** 2))) + float(S.c.max()))
            p_hi = int(np.searchsorted(Cs, R_lo - Z * sig, side="right")) - 1
            p_lo = int(np.searchsorted(Cs, R_hi + Z * sig, side="right")) + 1
        else:
            S = None
    hist_T = None
    if ks.fused is not None and S is not None and p_lo - p_hi > HIST_MIN_FRAC * len(S.K):
        hist_T = _hist_bracket(ks, S, p_hi, p_lo, B_lo - base_W, B_hi - base_W)
    for it in range(MAX_WIDEN + 1):
        if S is None:
            T_hi, T_lo = math.inf, bottom
        elif it == 0 and hist_T is not None:
            T_hi, T_lo = hist_T  # if it misses (it should not), the sample's bracket widens from here
        else:
            if it == MAX_WIDEN:
                p_hi, p_lo = -1, len(S.K)
            T_hi = _threshold(S, p_hi, True, True)
            T_lo = _threshold(S, p_lo, True, False)
            if T_lo >= T_hi:  # ties in the sample: next smaller sampled key
                p_lo = int(np.searchsorted(-S.K, -T_hi, side="right"))
                T_lo = _threshold(S, p_lo, True, False)
        sp = _split(ks, T_hi, T_lo, _region_floor(ks, S, T_lo) if depth == 0 else None)
        N_tot = base_N + sp.n_A
        W_tot = (base_W + sp.W_A) if base_N else sp.W_A
        exact_order = N_tot == 0  # the walk starts at the top: our cumsum is the reference's
        E_A = 0.0 if (ks.exact_sums or exact_order) else float(_err(W_tot, N_tot))
        if W_tot + (E_A if certify else 0.0) > B_lo:  # the break item may lie above T_hi
            if S is None:
                if W_tot <= B_hi and certify:
                    raise _Ambiguous  # the break is at the very top of ks, up to rounding
                if not certify:
                    raise RuntimeError("budget_prefix: inconsistent bracket")  # pragma: no cover
            if S is not None:
                STATS["widen"] += 1
                p_hi -= max(16, p_lo - p_hi)
                continue
        if _rebracket(sp, ks, depth):
            sub = budget_prefix(_host_keys(sp.band_key, sp.band_c, True, ks.exact_sums), B_lo, B_hi, rng,
                                certify=certify, base_W=W_tot, base_N=N_tot, depth=depth + 1)
            if sub.b is None and T_lo > bottom:  # the whole band fits: the break lies below T_lo
                STATS["widen"] += 1
                p_lo += max(16, p_lo - p_hi)
                continue
            pre = _Prefix(sp=sp, taken_band=sp.band[_prefix_idx(sub)], n=sp.n_A + sub.n,
                          W_last=sub.W_last, E=sub.E, b=None, exact_order=sub.exact_order)
            pre.band_sorted = sp.band[sub.band_sorted]
            pre.band_sorted_key, pre.band_sorted_c = sub.band_sorted_key, sub.band_sorted_c
            if sub.b is not None:
                pre.b, pre.key_b, pre.c_b = int(sp.band[sub.b]), sub.key_b, sub.c_b
            return pre
        order = _band_order(sp)
        bc = sp.band_c[order]
        cum = np.cumsum(np.concatenate(([W_tot], bc)))[1:] if N_tot else np.cumsum(bc)
        if certify:
            if ks.exact_sums or exact_order:
                E = np.zeros(len(cum))
                j_lo = int(np.searchsorted(cum, B_lo, side="right"))
                j_hi = int(np.searchsorted(cum, B_hi, side="right"))
            else:
                E = _err(cum, N_tot + np.arange(1, len(cum) + 1))
                j_lo = int(np.count_nonzero(cum + E <= B_lo))  # fits for every admissible rounding
                j_hi = int(np.count_nonzero(cum - E <= B_hi))  # fits for some
        else:
            E = np.zeros(len(cum))
            j_lo = j_hi = int(np.searchsorted(cum, B_hi, side="right"))
        if j_hi == len(cum) and T_lo > bottom:  # the break item may lie below T_lo
            STATS["widen"] += 1
            p_lo += max(16, p_lo - p_hi)
            continue
        if j_lo != j_hi:
            raise _Ambiguous
        j = j_lo
        taken = sp.band[order[:j]]
        W_last = float(cum[j - 1]) if j else W_tot
        E_last = float(E[j - 1]) if j else E_A
        pre = _Prefix(sp=sp, taken_band=np.sort(taken), n=sp.n_A + j, W_last=W_last, E=E_last, b=None,
                      exact_order=exact_order or ks.exact_sums)
        pre.band_sorted = sp.band[order]
        pre.band_sorted_key = sp.band_key[order]
        pre.band_sorted_c = bc
        if j < len(cum):
            pos = int(order[j])
            pre.b = int(sp.band[pos])
            pre.key_b = float(sp.band_key[pos])
            pre.c_b = float(sp.band_c[pos])
        return pre
    raise RuntimeError("budget_prefix: bracket did not converge")  # pragma: no cover


def _region_floor(ks: _Keys, S: "_Sample | None", T_lo: float) -> float | None:
    """T_lo2 for fill's region: the sampled key about FILL_REGION items below T_lo (None: not wanted)."""
    if not ks.fill_region or S is None or not len(S.K) or not T_lo > 0.0:
        return None
    r = int(np.searchsorted(-S.K, -T_lo, side="right"))  # sampled keys ≥ T_lo come first
    p = r + max(16, math.ceil(FILL_REGION * len(S.K) / ks.n))
    return float(S.K[p]) if p < len(S.K) else None


def _bits(x: float) -> int:
    return int(np.array([x], dtype=np.float64).view(np.int64)[0])


def _from_bits(b: int) -> float:
    return float(np.array([b], dtype=np.int64).view(np.float64)[0])


def _hist_bracket(ks: _Keys, S: _Sample, p_hi: int, p_lo: int, R_lo: float,
                  R_hi: float) -> tuple[float, float] | None:
    """(T_hi, T_lo) from histogram sweeps over the sample's bracket; None: keep the sample's.

    Buckets are ranges of the float64 key's bit pattern inside [lo, hi) (the sample's
    bracket). Walking the exact per-bucket costs from the top gives the bucket where
    the cost crosses R_lo (T_hi: its upper edge, so the items above cost ≤ R_lo − m)
    and the one where it passes R_hi (T_lo: its lower edge); m = 1e-7 R is far above
    the rounding of these sums. budget_prefix then certifies as always: a bracket that
    missed only costs a widening.

    With very heavy-tailed costs (lognormal(0, 2): structure c) the sample's bracket is
    open (p_hi < 0 or p_lo past the sample), so the sweep spans the sample's extreme
    keys instead, the items outside falling in the end buckets; and while the crossing
    buckets still hold more than BAND_SORT_MAX items (a key range of many decades), the
    sweep is repeated over them alone (at most HIST_PASSES sweeps in all).
    """
    pos = S.K[S.K > 0]
    if not len(pos):
        return None
    lo = _threshold(S, p_lo, True, False)
    hi = _threshold(S, p_hi, True, True)
    if not lo > 0.0:
        lo = float(pos[-1]) * 0.5  # below every sampled positive key (the rest is bucket 0)
    if not hi < math.inf:
        hi = float(pos[0]) * 2.0  # above every sampled key (the rest is bucket nbk + 1)
    if not (0.0 < lo < hi < math.inf):
        return None
    fz = ks.fused
    margin = 1e-7 * abs(R_hi) + 1e-300
    above = 0.0  # exact cost of the items above the current hi (previous sweeps' upper buckets)
    out = None
    for _ in range(HIST_PASSES):
        base, top = _bits(lo), _bits(hi)
        span = top - base
        shift = max(0, int(math.ceil(math.log2(max(span / HIST_BUCKETS, 1.0)))))
        nbk = (span >> shift) + 1
        cnt = np.zeros(nbk + 2, dtype=np.int64)
        cost = np.zeros(nbk + 2, dtype=np.float64)
        args = (fz.g, fz.c, fz.kind, float(fz.B), float(lo), float(hi), base, shift, nbk, cnt, cost)
        nt = kernel_threads(ks.n)
        fz.kern.hist_par(*args, nt) if nt > 1 else fz.kern.hist(*args)
        STATS["kernel"] += 1
        cum = above + float(cost[nbk + 1])
        if cum > R_lo - margin:
            return out  # the break lies above this sweep's range: the previous bracket (or the sample's)
        T_hi = j_hi = None
        found = None
        for j in range(nbk, 0, -1):
            if T_hi is None and cum + float(cost[j]) > R_lo - margin:
                T_hi, j_hi, cum_hi = _from_bits(min(base + (j << shift), top) - 1), j, cum
            cum += float(cost[j])
            if T_hi is not None and cum > R_hi + margin:
                found = (T_hi, _from_bits(base + ((j - 1) << shift) - 1), j_hi, j, cum_hi)
                break
        if found is None:
            return out
        T_hi, T_lo, j_hi, j_lo, cum_hi = found
        out = (T_hi, T_lo)
        if int(cnt[j_lo: j_hi + 1].sum()) <= BAND_SORT_MAX or shift == 0:
            return out
        # the crossing buckets are still crowded: sweep again over them alone
        above, hi = cum_hi, _from_bits(_bits(T_hi) + 1)  # key ≥ hi ⇔ key > T_hi
        lo = _from_bits(_bits(T_lo) + 1)  # key ≥ lo ⇔ key > T_lo
        if not (0.0 < lo < hi < math.inf):
            return out
    return out


def _prefix_mask(ks: _Keys, pre: _Prefix) -> Any:
    """Backend bool mask of the prefix (reuses the split's `sure` mask in place)."""
    sp = pre.sp
    mask = sp.sure if sp.sure is not None else ks.be.zeros_mask(ks.n)
    add = _merge_sorted(sp.extra, pre.taken_band)
    ks.be.set_true(mask, add)
    pre.mask = mask
    return mask


def _prefix_idx(pre: _Prefix) -> np.ndarray:
    """Host indices of the prefix, ascending (budget mode: sure_idx is known)."""
    sp = pre.sp
    add = _merge_sorted(sp.extra, pre.taken_band)
    base = sp.sure_idx if sp.sure_idx is not None else np.zeros(0, np.int64)
    return _merge_sorted(base, add)


def _merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union of two ascending, disjoint int arrays, ascending (O(len a + len b))."""
    if not len(b):
        return a
    if not len(a):
        return b
    return np.insert(a, np.searchsorted(a, b), b)


def _exact_left(ks: _Keys, pre: _Prefix, B: float) -> float:
    """The reference's `left` after the Dantzig prefix, bit for bit: its cumsum in key order.

    Sorts the prefix only (not all d items): the fallback when the certified
    interval for `left` is too wide for fill to decide (heavy-tailed costs put
    some candidate's cost within rounding of it).
    """
    sp = pre.sp
    base = sp.sure_idx if sp.sure_idx is not None else np.zeros(0, np.int64)
    idx = _merge_sorted(base, _merge_sorted(sp.extra, pre.taken_band))
    order = _desc_order_ties_by_index(ks.exact(idx))  # idx ascending: ties by lower index
    cum = np.cumsum(ks.be.take64(ks.c, idx)[order])
    return float(B - float(cum[-1]))


_NO_L = np.zeros(0, dtype=np.float64)
PHASE_SHIFT = 44  # phase buckets: 2^(52−44) = 256 per binade of the key
PHASE_BUCKETS = 1 << 16
PHASE_MIN = 1 << 16  # below this many items one sort of them all is as cheap


def _key_order_sum(fz: _Fused, g: np.ndarray, c: np.ndarray, tail_c: np.ndarray, T: float) -> float:
    """The reference's sequential cost sum over the items (g, c) (index order in, all eligible, every
    key > T) in key order, then over tail_c, bit for bit.

    Sorting all the items (one int64 sort of packed float32 keys, exact ties put right) is
    what a prefix of 10^6-10^7 items costs most. So first the *phases* (_phase_buckets):
    where the running sum stays inside one binade [2^j, 2^(j+1)) its ulp is 2^(j−52),
    and an item whose cost is a multiple of 2^(j−51) (an even number of ulps: most
    float32 costs that are not tiny next to the sum) is added exactly and leaves the
    parity of the sum's last bit, so it commutes with every other addition there. Those
    items are summed per key bucket without sorting; only the rest (tiny costs, buckets
    where the sum crosses a power of two) are sorted and walked in the reference's order.
    """
    n = g.shape[0]
    if n >= 1 << 31:  # pragma: no cover (the index field of the packed word)
        raise _Ambiguous
    p = np.empty(n, dtype=np.int64)
    key = np.empty(n, dtype=np.float64)
    w = np.empty(n, dtype=np.float64)
    L, base = _NO_L, 0
    if n >= PHASE_MIN and T > 0.0 and math.isfinite(T):
        base = _bits(float(T))
        scale = _phase_buckets(fz, g, c, base, n)
        L = np.zeros(PHASE_BUCKETS, dtype=np.float64)
        n = int(fz.kern.phase_split(g, c, fz.kind, base, PHASE_SHIFT, PHASE_BUCKETS, scale, L, p, key, w))
        STATS["phase_set_aside"] += g.shape[0] - n
        p = p[:n]
    else:
        fz.kern.pack_keys(g, c, fz.kind, p, key, w)
    p.sort()
    STATS["kernel"] += 2
    return float(fz.kern.sum_key_order(p, key, w, tail_c, L, base, PHASE_SHIFT))


def _phase_buckets(fz: _Fused, g: np.ndarray, c: np.ndarray, base: int, n: int) -> np.ndarray:
    """scale[t] = 2^(51 − j) for each key bucket t whose running sums (taken in key order, down
    from the largest key) certainly all lie in [2^j, 2^(j+1)); 0 for the others.

    The bucket's sums run from C_before (the cost of the buckets above) to C_after; the
    reference's rounded sums and our float64 bucket sums each stay within a relative
    (n + buckets)·u of the exact ones, so δ = 4(n + buckets + 2)·u certifies the binade.
    """
    cnt = np.zeros(PHASE_BUCKETS, dtype=np.int64)
    cost = np.zeros(PHASE_BUCKETS, dtype=np.float64)
    fz.kern.phase_hist(g, c, fz.kind, base, PHASE_SHIFT, PHASE_BUCKETS, cnt, cost)
    STATS["kernel"] += 1
    after = np.cumsum(cost[::-1])[::-1]  # cost of bucket t and all above it
    before = after - cost
    delta = 4.0 * (n + PHASE_BUCKETS + 2) * U
    lo = before * (1.0 - delta)
    j = np.frexp(np.where(lo > 0.0, lo, 1.0))[1] - 1  # floor(log2 lo)
    ok = (lo > 0.0) & (after * (1.0 + delta) < np.ldexp(1.0, j + 1)) & (j > -1000) & (j < 1000)
    return np.where(ok, np.ldexp(1.0, 51 - j), 0.0)


def _fill_fused(ks: _Keys, pre: _Prefix, B: float) -> np.ndarray | None:
    """fill's additions on the compiled path, as the reference's greedy_walk makes them.

    The reference's loop runs first on the *window* of the band items after the break
    item, which the split already holds in key order; only if it could reach below them
    is there one sweep for the candidates (after the break, c ≤ left), walked top-down
    in growing windows. `left` is first the certified interval around our prefix sum;
    when a decision falls inside it, the reference's `left` is formed bit for bit
    (_fused_left: one sort of the prefix) and the walk is repeated with it.
    None: this path does not apply (the caller takes the general one).
    """
    sp = pre.sp
    fz = ks.fused
    if fz is None or pre.b is None or sp is None or sp.low_c is None or pre.band_sorted is None:
        return None
    bs = pre.band_sorted
    at = np.flatnonzero(bs == pre.b)
    if len(at) != 1:  # pragma: no cover (the break item is a band item on this path)
        return None
    at = int(at[0])
    L = _left_bounds(pre, B)
    # Below the window: the sweep's low_c, and outer-band items under an inner band (re-bracket).
    low = float(sp.low_c)
    if len(sp.band) > len(bs) and len(bs):
        below = sp.band_key < pre.band_sorted_key[-1]
        if below.any():
            low = min(low, float(sp.band_c[below].min()))
    window = (bs[at + 1:], pre.band_sorted_c[at + 1:], low)
    cands: dict = {}
    while True:
        try:
            taken = _walk_window(*window, *L)
            if taken is not None:
                STATS["fill_window"] += 1
                return taken
            if sp.region is not None and len(sp.band) == len(bs):
                taken = _walk_window(*_region_window(pre, at, L[1], cands), *L)
                if taken is not None:
                    STATS["fill_region"] += 1
                    return taken
            return _walk_candidates(ks, pre, L, cands)
        except _Ambiguous:
            if L[0] == L[1]:  # pragma: no cover (an exact walk decides everything)
                raise
            STATS["exact_left"] += 1
            L = (_fused_left(fz, pre, B, at),) * 2


def _region_window(pre: _Prefix, at: int, L_hi: float, cands: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """The band after the break item, then the split's region below it (its items that may fit,
    c ≤ L_hi, in key order): a window whose every other candidate lies below T_lo2 (cost ≥ low2).
    Kept in `cands` for a repeat with an exact `left` (a subset's bound)."""
    if "region" not in cands:
        ridx, rkey, rc = pre.sp.region
        keep = rc <= L_hi
        ridx, rkey, rc = ridx[keep], rkey[keep], rc[keep]
        order = _desc_order_ties_by_index(rkey)
        cands["region"] = (np.concatenate((pre.band_sorted[at + 1:], ridx[order])),
                           np.concatenate((pre.band_sorted_c[at + 1:], rc[order])), float(pre.sp.low2))
    return cands["region"]


def _walk_candidates(ks: _Keys, pre: _Prefix, L: tuple[float, float], cands: dict) -> np.ndarray:
    """The fill loop over the swept candidates (after the break item, c ≤ L_hi), in growing windows
    of the best keys; `cands` keeps the sweep for a repeat with an exact `left` (a subset's bound)."""
    if "R" not in cands:
        STATS["fill_sweep"] += 1
        cands["R"] = _fill_candidates_fused(ks, pre.key_b, pre.b, _round_up(L[1], _cdtype(ks)))
    R, Rkey, Rc = cands["R"]
    T = 1 << 12
    while True:
        if T >= len(R):
            order = _desc_order_ties_by_index(Rkey)
            return _walk_window(R[order], Rc[order], math.inf, *L)
        kT = float(np.partition(Rkey, len(R) - T)[len(R) - T])  # the T-th largest key
        win = np.flatnonzero(Rkey >= kT)  # ties at kT all inside: what is left lies below in key order
        rest = Rkey < kT
        order = win[_desc_order_ties_by_index(Rkey[win])]
        taken = _walk_window(R[order], Rc[order], float(Rc[rest].min()) if rest.any() else math.inf, *L)
        if taken is not None:
            return taken
        T *= 8


def _left_bounds(pre: _Prefix, B: float) -> tuple[float, float]:
    """[L_lo, L_hi] around the reference's `left` = B − cum[n−1] after the Dantzig prefix: one
    number when our prefix sum is the reference's (nothing taken, or exact sums/order)."""
    if pre.n == 0:
        return float(B), float(B)  # left = budget − 0.0
    if pre.E == 0.0:
        return (float(B - pre.W_last),) * 2  # the reference's own subtraction
    return float(B - (pre.W_last + pre.E)), float(B - (pre.W_last - pre.E))


def _fused_left(fz: _Fused, pre: _Prefix, B: float, at: int) -> float:
    """The reference's `left` bit for bit when _left_bounds is an interval (pre.n > 0, E > 0):
    its prefix summed in its own order."""
    sp = pre.sp
    # the prefix in key order: the sure items (above T_hi), then its band items
    if len(sp.band) == len(pre.band_sorted):
        band_c = pre.band_sorted_c[:at]
    else:  # re-bracketed: the prefix's band items are not all in the inner band's order
        pos = np.searchsorted(sp.band, pre.taken_band)
        band_c = sp.band_c[pos][_desc_order_ties_by_index(sp.band_key[pos])]
    return float(B - _key_order_sum(fz, sp.sure_g, sp.sure_c_in, np.ascontiguousarray(band_c), sp.T_hi))


def _walk_window(R: np.ndarray, Rc: np.ndarray, low: float, L_lo: float, L_hi: float) -> np.ndarray | None:
    """selection.greedy_walk's fill loop from `left` over the window R (key order, costs Rc).

    `left` is known to lie in [L_lo, L_hi] (one number: exact); a decision that differs
    across the interval raises _Ambiguous (rounding is monotone, so the interval's ends
    bound every later `left`). Every other candidate lies below the window in key
    order, and `low` is the least cost among them. The loop is the reference's as long
    as none of them passes its cost filter (c ≤ left) where the walk could reach it: the
    window exhausted, or all its fitting items taken, while low ≤ left. Then None (a
    wider window is needed).
    """
    taken: list[np.ndarray] = []
    while True:
        if L_lo != L_hi and (np.any((Rc > L_lo) & (Rc <= L_hi)) or L_lo < low <= L_hi):
            raise _Ambiguous
        keep = Rc <= L_lo
        R, Rc = R[keep], Rc[keep]
        if not len(R):
            if low <= L_lo:
                return None
            break
        cum = np.cumsum(Rc)
        m = int(np.searchsorted(cum, L_lo, side="right"))
        if m != int(np.searchsorted(cum, L_hi, side="right")):
            raise _Ambiguous
        if m == len(R) and low <= L_lo:
            return None  # the reference's cumsum would run on below the window
        m = max(m, 1)
        taken.append(R[:m])
        S = float(Rc[:m].sum())  # the same slice of the same costs: the reference's pairwise sum
        L_lo, L_hi = L_lo - S, L_hi - S  # (rounding is monotone: the ends still bound `left`)
        R, Rc = R[m:], Rc[m:]
    return np.sort(np.concatenate(taken)) if taken else np.zeros(0, np.int64)


def _desc_order_ties_by_index(key: np.ndarray) -> np.ndarray:
    """np.argsort(-key, kind="stable"), faster: numpy's SIMD (unstable) argsort, then runs of
    equal keys (rare in float data) put back in index order."""
    order = np.argsort(-key)
    sk = key[order]
    eq = sk[1:] == sk[:-1]
    if eq.any():
        starts = np.flatnonzero(np.diff(np.concatenate(([False], eq, [False])).astype(np.int8)) == 1)
        ends = np.flatnonzero(np.diff(np.concatenate(([False], eq, [False])).astype(np.int8)) == -1)
        if len(starts) > 1000:  # many tied runs (integer-like keys): the stable sort outright
            return np.argsort(-key, kind="stable")
        for a, b in zip(starts, ends):  # run a..b (inclusive) of equal keys
            order[a:b + 1] = np.sort(order[a:b + 1])
    return order


def _fill_tail(ks: _Keys, pre: _Prefix, B: float, rng: np.random.Generator,
               left: float | None = None, cache: dict | None = None) -> np.ndarray:
    """Indices `fill` adds after the Dantzig prefix, as the reference's greedy_walk does.

    The reference's `left` is carried as an interval [L_lo, L_hi] that contains
    it for every rounding of the sums we could not reproduce; it is a single
    number (exact emulation) when the prefix sum was formed as the reference's,
    or when the caller passes it (`left`, from _exact_left).
    Rounding is monotone, so bounding the operands bounds the result.

    `cache` (a dict the caller keeps across a retry) holds the candidates of the first
    call: gathered for cost ≤ L_hi, they are a superset of any later call's (an exact
    `left` lies in [L_lo, L_hi]) and the walk filters them by cost first, so the retry
    with the exact `left` needs no second sweep over the d items.
    """
    if pre.b is None:
        return np.zeros(0, np.int64)
    L_lo, L_hi = (float(left),) * 2 if left is not None else _left_bounds(pre, B)
    if L_hi < 0:
        return np.zeros(0, np.int64)
    # Candidates: after the break item in key order, eligible, cost ≤ what may be left.
    if cache is not None and "R" in cache and L_hi <= cache["L_hi"]:
        R, Rkey, Rc = cache["R"], cache["Rkey"], cache["Rc"]
    else:
        R, Rkey, Rc = _fill_candidates(ks, pre, L_hi)
        if cache is not None:
            cache.update(R=R, Rkey=Rkey, Rc=Rc, L_hi=L_hi)
    return _fill_walk(ks, R, Rkey, Rc, L_lo, L_hi, rng)


def _fill_candidates(ks: _Keys, pre: _Prefix, L_hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fill's candidates: after the break item in key order, eligible, cost ≤ L_hi (index ascending)."""
    if ks.fused is not None:  # the kernel applies the "after the break item" order itself
        return _fill_candidates_fused(ks, pre.key_b, pre.b, _round_up(L_hi, _cdtype(ks)))
    gidx = ks.be.fill_candidates(ks.K, ks.up(pre.key_b), ks.c, _round_up(L_hi, _cdtype(ks)))
    gkey = ks.exact(gidx)
    after = (gkey < pre.key_b) | ((gkey == pre.key_b) & (gidx > pre.b))
    after &= gkey >= 0
    zero = after & (gkey == 0)
    if zero.any() and ks.v_pos is not None:
        zi = np.flatnonzero(zero)
        after[zi[~ks.v_pos(gidx[zi])]] = False
    R = gidx[after]
    Rkey = gkey[after]
    return R, Rkey, ks.be.take64(ks.c, R)


def _fill_walk(ks: _Keys, R: np.ndarray, Rkey: np.ndarray, Rc: np.ndarray, L_lo: float, L_hi: float,
               rng: np.random.Generator) -> np.ndarray:
    """The reference's fill loop over the candidates R (keys Rkey, costs Rc), `left` in [L_lo, L_hi]."""
    taken: list[np.ndarray] = []
    while len(R):
        # rest = rest[c[rest] <= left]
        if L_lo != L_hi and np.any((Rc > L_lo) & (Rc <= L_hi)):
            raise _Ambiguous
        keep = Rc <= L_lo
        R, Rkey, Rc = R[keep], Rkey[keep], Rc[keep]
        if not len(R):
            break
        sub = _host_keys(Rkey, Rc, True, ks.exact_sums)
        sp_pre = budget_prefix(sub, L_lo, L_hi, rng)
        pos = _prefix_idx(sp_pre)
        if len(pos) == 0:  # the first candidate fits alone, so this cannot happen
            raise _Ambiguous  # pragma: no cover
        taken.append(R[pos])
        # left -= float(c[rest[:m]].sum()): a pairwise sum over the key-ordered slice
        if ks.exact_sums:  # every sum is exact, in any order
            S_val, E_S = float(np.sum(Rc[pos])), 0.0
        elif sp_pre.exact_order:  # we hold that very key-ordered slice: the same sum, bit for bit
            S_val, E_S = float(np.sum(sp_pre.band_sorted_c[: len(pos)])), 0.0
        else:
            S_val = float(np.sum(Rc[pos]))
            E_S = float(_err(S_val, len(pos)))
        if L_lo == L_hi and E_S == 0.0:
            L_lo = L_hi = float(L_lo - S_val)
        else:
            L_lo, L_hi = float(L_lo - (S_val + E_S)), float(L_hi - (S_val - E_S))
        keep = np.ones(len(R), dtype=bool)
        keep[pos] = False
        R, Rkey, Rc = R[keep], Rkey[keep], Rc[keep]
        if L_hi < 0:
            break
    return np.sort(np.concatenate(taken)) if taken else np.zeros(0, np.int64)


def _fill_candidates_fused(ks: _Keys, khi: float, b: int, chi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fill's candidates (eligible, after the break item b of key khi, c ≤ chi) with exact keys and
    costs, one sweep."""
    fz = ks.fused
    n = ks.n
    idx = np.empty(n, dtype=np.int64)
    key = np.empty(n, dtype=np.float64)
    cc = np.empty(n, dtype=np.float64)
    args = (fz.g, fz.c, fz.kind, float(fz.B), float(khi), int(b), float(chi), idx, key, cc)
    nt = kernel_threads(n)
    m = fz.kern.fill_par(*args, nt) if nt > 1 else fz.kern.fill(*args, 0)
    STATS["kernel"] += 1
    return idx[:m], key[:m], cc[:m]


def _cdtype(ks: _Keys) -> Any:
    c = ks.c
    dt = getattr(c, "dtype", np.float64)
    if str(dt) in ("float32", "torch.float32"):
        return np.float32
    return np.float64


# ----------------------------------------------------------------------------- the public engine


@dataclass
class FastResult:
    mask: Any  # backend bool mask (numpy array, or torch tensor on g's device)
    idx: Any  # kept indices, ascending (host): an array, or a _KeptIdx (len(); np.asarray merges it)
    value: float
    energy: float | None
    upper_bound: float | None
    info: dict[str, Any] = field(default_factory=dict)


class _Inputs:
    """Validated views of g and c on one backend, with lazily computed float64 copies."""

    def __init__(self, g: Any, c: Any | None, backend: str | None):
        self.like = g
        self.torch_in = is_torch(g)
        self.be: Any = _NP
        if self.torch_in:
            dev = g.device
            use_torch = backend == "torch" or (backend is None and dev.type != "cpu")
            if use_torch:
                self.be = _TorchBE(dev)
                self.g = g.detach()
                self.c = None if c is None else (c.detach().to(dev) if is_torch(c) else
                                                 _torch_from(c, dev))
            else:
                self.g = _np_view(g)
                self.c = None if c is None else (_np_view(c) if is_torch(c) else np.asarray(c))
        else:
            if backend == "torch":
                import torch

                self.be = _TorchBE(torch.device("cpu"))
                self.g = torch.as_tensor(np.asarray(g))
                self.c = None if c is None else torch.as_tensor(np.asarray(c))
            else:
                self.g = np.asarray(g)
                self.c = None if c is None else (_np_view(c) if is_torch(c) else np.asarray(c))
        self.n = int(self.g.shape[0]) if getattr(self.g, "ndim", 0) == 1 else -1
        self.kern: Any = None  # compiled kernels (set by _prepare), with their arrays:
        self.fg: np.ndarray | None = None  # g and c contiguous, of one dtype
        self.fc: np.ndarray | None = None

    # float64 helpers on host indices
    def g64(self, idx: np.ndarray) -> np.ndarray:
        return self.be.take64(self.g, idx)

    def c64(self, idx: np.ndarray) -> np.ndarray:
        return self.be.take64(self.c, idx)


def _np_view(t: Any) -> np.ndarray:
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if str(t.dtype) not in ("torch.float32", "torch.float64"):
        t = t.double()
    return t.numpy()


def _torch_from(x: Any, dev: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(x, dtype=np.float64), device=dev)


def _validate(inp: _Inputs, need_c: bool) -> bool:
    """Cheap acceptance test; False sends the call to the reference (which raises the right error)."""
    g, c = inp.g, inp.c
    if getattr(g, "ndim", 0) != 1 or inp.n < 1:
        return False
    if _dtname(g) not in ("float32", "float64"):
        return False
    if need_c:
        if c is None or getattr(c, "ndim", 0) != 1 or c.shape[0] != inp.n or _dtname(c) not in ("float32", "float64"):
            return False
    if inp.be.name == "numpy":
        if not np.isfinite(g.min()) or not np.isfinite(g.max()):
            return False
        if need_c:
            cmin, cmax = c.min(), c.max()
            if not (cmin > 0) or not np.isfinite(cmax):
                return False
            inp.cmin, inp.cmax = float(cmin), float(cmax)
        inp.gmax = float(max(g.max(), -g.min()))
    else:
        torch = inp.be.torch
        gmin, gmax = torch.aminmax(g)
        if not (torch.isfinite(gmin) & torch.isfinite(gmax)).item():
            return False
        if need_c:
            cmin, cmax = torch.aminmax(c)
            if not (cmin > 0).item() or not torch.isfinite(cmax).item():
                return False
            inp.cmin, inp.cmax = float(cmin), float(cmax)
        inp.gmax = float(max(float(gmax), -float(gmin)))
    return True


def _prepare(inp: _Inputs, need_c: bool, *, sweep_validates: bool = True) -> bool:
    """Accept the input for the fast path; on host arrays choose the compiled kernels when present.

    With the kernels, only the shape and dtype are checked here: NaN/inf, c ≤ 0 and
    overflowing keys are caught by the sweep itself (no separate pass over the data;
    the call then goes to the reference, which raises). `sweep_validates=False`:
    the caller may answer without a sweep, so validate here as the numpy engine does.
    """
    if inp.be.name != "numpy" or kernel_path() != "numba":
        return _validate(inp, need_c)
    g, c = inp.g, inp.c
    if getattr(g, "ndim", 0) != 1 or inp.n < 1 or _dtname(g) not in ("float32", "float64"):
        return False
    if c is not None and (getattr(c, "ndim", 0) != 1 or c.shape[0] != inp.n
                          or _dtname(c) not in ("float32", "float64")):
        return False
    if need_c and c is None:
        return False
    if not sweep_validates and not _validate(inp, need_c):
        return False
    kern = _kernels.get()
    if kern is None:  # pragma: no cover (kernel_path said numba)
        return _validate(inp, need_c)
    fg, fc = g, c
    if fc is not None and fg.dtype != fc.dtype:  # one dtype per compiled signature; float32 → float64 is exact
        fg, fc = fg.astype(np.float64), fc.astype(np.float64)
    inp.kern = kern
    inp.fg = np.ascontiguousarray(fg)
    inp.fc = None if fc is None else np.ascontiguousarray(fc)
    return True


def _dtname(x: Any) -> str:
    return str(x.dtype).replace("torch.", "")


def _make_keys(inp: _Inputs, kind: str, *, budget: float | None, prekey: bool = True) -> _Keys | None:
    """Keys for kind in {"l2", "paper", "abs"}; budget mode marks ineligible items with −1.

    Returns None when a float64 key overflows (the reference raises for it).
    """
    be, g, c = inp.be, inp.g, inp.c
    budget_mode = budget is not None
    B = budget

    def exact(idx: np.ndarray) -> np.ndarray:
        g64 = inp.g64(idx)
        if kind == "abs":
            key = np.abs(g64)
        else:
            c64 = inp.c64(idx)
            with np.errstate(over="ignore", under="ignore"):
                key = (g64 * g64) / c64 if kind == "l2" else np.abs(g64) / c64
        if budget_mode:
            v = g64 * g64
            bad = v == 0
            if inp.c is not None:
                bad |= inp.c64(idx) > B
            key[bad] = -1.0
        return key

    def v_pos(idx: np.ndarray) -> np.ndarray:
        g64 = inp.g64(idx)
        return g64 * g64 > 0

    base = dict(be=be, n=inp.n, exact=exact, c=c if budget_mode else None, v_pos=v_pos,
                budget_mode=budget_mode)
    if inp.kern is not None:  # compiled sweeps form the exact keys themselves: no K array at all
        fz = _Fused(inp.kern, inp.fg, inp.fc if inp.fc is not None else inp.fg, inp.fc is not None,
                    _kernels.KIND_CODE[kind], budget_mode, float(B) if budget_mode else 0.0)
        return _Keys(K=None, rho=0.0, floor=-math.inf, kdtype=np.float64, fused=fz, **base)
    if be.name == "numpy":
        f32 = _dtname(g) == "float32" and (c is None or _dtname(c) == "float32")
        if kind == "abs":
            K = np.abs(g)
            kdt = np.float32 if _dtname(g) == "float32" else np.float64
            ks = _Keys(K=K, rho=0.0, floor=-math.inf, kdtype=kdt, **base)
        elif f32 and prekey and _prekey_ok(inp, kind):
            K = np.empty(inp.n, dtype=np.float32)
            if kind == "l2":
                np.multiply(g, g, out=K)
                np.divide(K, c, out=K)
                floor = 4.0 * 2.0 ** -126 * max(1.0, 1.0 / inp.cmin)
            else:
                np.abs(g, out=K)
                np.divide(K, c, out=K)
                floor = 4.0 * 2.0 ** -126
            STATS["prekey32"] += 1
            ks = _Keys(K=K, rho=RHO32, floor=floor, kdtype=np.float32, **base)
        else:
            g64 = g.astype(np.float64)
            if kind == "l2":
                with np.errstate(over="ignore"):
                    K = np.multiply(g64, g64, out=g64)
                    np.divide(K, c, out=K)
            else:
                K = np.abs(g64, out=g64)
                with np.errstate(over="ignore"):
                    np.divide(K, c, out=K)
            if not np.isfinite(K.max()):
                return None
            ks = _Keys(K=K, rho=0.0, floor=-math.inf, kdtype=np.float64, **base)
            if budget_mode and kind == "paper" and _dtname(g) == "float64":
                tiny = (np.abs(g) < 2.0 ** -500) & (g != 0)
                if tiny.any():
                    ti = np.flatnonzero(tiny)
                    gi = g[ti]
                    K[ti[gi * gi == 0]] = -1.0
        if budget_mode and kind == "abs" and _dtname(g) == "float64":
            tiny = (K < 2.0 ** -500) & (K > 0)
            if tiny.any():
                ti = np.flatnonzero(tiny)
                K[ti[K[ti] * K[ti] == 0]] = -1.0
        if budget_mode and inp.cmax > B:
            np.putmask(ks.K, c > _cost_cut(c, B), -1.0)
        return ks
    # torch backend: exact float64 keys on the device
    torch = be.torch
    g64 = g.double()
    if kind == "abs":
        K = g64.abs()
    else:
        c64 = c.double()
        K = (g64 * g64) / c64 if kind == "l2" else g64.abs() / c64
        if not torch.isfinite(K.max()).item():
            return None
    if budget_mode:
        K = torch.where(g64 * g64 == 0, torch.full_like(K, -1.0), K) if kind != "l2" else K
        if inp.cmax > B:
            K = torch.where(c > _cost_cut(c, B), torch.full_like(K, -1.0), K)
    return _Keys(K=K, rho=0.0, floor=-math.inf, kdtype=np.float64, **base)


def _cost_cut(c: Any, B: float) -> float:
    """t with (c > t) ⇔ (c > B) for the array's own dtype (a float32 array would round B).

    The largest float32 ≤ B: no float32 lies in (t, B], so c > t ⇔ c > B exactly.
    """
    return _round_down(B, np.float32 if _dtname(c) == "float32" else np.float64)


def _prekey_ok(inp: _Inputs, kind: str) -> bool:
    """float32 pre-key safe: no float32 overflow anywhere (underflow is handled by the floor)."""
    G = inp.gmax
    if kind == "l2":
        return G <= 2.0 ** 62 and G * G <= 2.0 ** 125 * inp.cmin
    return G <= 2.0 ** 125 * inp.cmin


def _finish_idx(inp: _Inputs, idx: np.ndarray, with_c: bool) -> tuple[float, float | None]:
    """value = Σ g² and energy = Σ c over idx, summed exactly as the reference does (index order)."""
    g64 = inp.g64(idx)
    value = float(np.sum(g64 * g64))
    energy = float(np.sum(inp.c64(idx))) if with_c else None
    return value, energy


def _rng(n: int) -> np.random.Generator:
    return np.random.default_rng(0x5EED ^ n)


def _out_mask(inp: _Inputs, mask: Any) -> Any:
    """The mask in the caller's kind: numpy, or a torch bool tensor on g's device."""
    if inp.torch_in:
        import torch

        if isinstance(mask, np.ndarray):
            return torch.from_numpy(mask).to(inp.like.device)
        return mask.to(inp.like.device)
    if not isinstance(mask, np.ndarray):
        return mask.cpu().numpy()
    return mask


def count_mask(g: Any, c: Any | None, k: int, kind: str, *, backend: str | None = None) -> FastResult | None:
    """Count mode: the k best by kind ("l2", "paper": need c; "abs": Top-K). None: use the reference."""
    inp = _Inputs(g, c, backend)
    n = inp.n
    # k = 0, k = d and small d are answered without a sweep: validate those up front
    if not _prepare(inp, need_c=(kind != "abs" or c is not None),
                    sweep_validates=not (k in (0, n) or n <= SORT_MAX)):
        return None
    if not 0 <= k <= inp.n:
        return None
    STATS["calls"] += 1
    ks = _make_keys(inp, kind, budget=None)
    if ks is None:
        return None
    rng = _rng(inp.n)
    try:
        try:
            res = count_select(ks, k, rng)
        except _NeedExactKeys:
            ks = _make_keys(inp, kind, budget=None, prekey=False)
            if ks is None:
                return None
            res = count_select(ks, k, rng)
    except _BadInput:
        return None
    if ks.fused is not None and res.sp is not None:
        idx, value, energy = _finish_fused(ks.fused, res.sp, res.add_idx, inp.c is not None)
    else:
        idx = inp.be.nonzero(res.mask) if res.sure is not None else res.add_idx
        value, energy = _finish_idx(inp, idx, inp.c is not None)
    return FastResult(_out_mask(inp, res.mask), idx, value, energy, None, {"backend": inp.be.name})


def budget_mask(g: Any, c: Any, budget: float, kind: str, greedy: str, *,
                backend: str | None = None) -> FastResult | None:
    """Budget mode over the key `kind` ("l2", "paper", "abs"); greedy dantzig/fill/safe.

    Returns None when the call must go to the reference (bad input, or an
    ambiguous rounding case that the reference resolves itself).
    """
    inp = _Inputs(g, c, backend)
    if not _prepare(inp, need_c=True):
        return None
    STATS["calls"] += 1
    B = float(budget)
    exact_sums = False
    for attempt in range(3):
        try:
            return _budget(inp, B, kind, greedy, exact_sums)
        except _BadInput:
            return None
        except _Ambiguous:
            if exact_sums or not _dyadic_exact(inp, B):
                STATS["fallback"] += 1
                return None
            STATS["exact_sums"] += 1
            exact_sums = True
    return None  # pragma: no cover


def _budget(inp: _Inputs, B: float, kind: str, greedy: str, exact_sums: bool) -> FastResult:
    rng = _rng(inp.n)
    ks = _make_keys(inp, kind, budget=B)
    if ks is None:
        raise _Ambiguous  # a float64 key overflows: the reference raises for it
    ks.exact_sums = exact_sums
    ks.fill_region = greedy in ("fill", "safe") and ks.fused is not None
    try:
        pre = budget_prefix(ks, B, B, rng)
    except _NeedExactKeys:
        ks = _make_keys(inp, kind, budget=B, prekey=False)
        ks.exact_sums = exact_sums
        pre = budget_prefix(ks, B, B, rng)
    info: dict[str, Any] = {"backend": inp.be.name, "prefix": pre.n, "band": len(pre.sp.band),
                            "rho": ks.rho}
    tail = None
    if greedy in ("fill", "safe"):
        tail = _fill_fused(ks, pre, B)
        if tail is None:
            cache: dict = {}
            try:
                tail = _fill_tail(ks, pre, B, rng, cache=cache)
            except _Ambiguous:
                if pre.E == 0.0 or pre.n == 0:
                    raise  # `left` was exact already: the reference decides
                STATS["exact_left"] += 1
                tail = _fill_tail(ks, pre, B, rng, left=_exact_left(ks, pre, B), cache=cache)
        info["fill_added"] = len(tail)
    idx, value, energy = _kept(inp, ks, pre, tail, True)
    # Dantzig's LP bound (l2 order) for the certificate
    if kind == "l2":
        lp_pre = pre
        # the prefix's value, without fill's additions: within a few ulps of the reference's (the LP
        # bound is compared to a relative 1e-12), and no second merge of 10^6-10^7 items
        lp_prefix_value = value if tail is None or not len(tail) else float(value - float(np.sum(inp.g64(tail) ** 2)))
    else:
        lp_pre, lp_prefix_value = _lp_prefix(inp, B, rng)
    ub = _lp_value(inp, lp_pre, lp_prefix_value, B)
    single = None
    if greedy == "safe":
        if ks.fused is not None:
            # the split's sweep found it on the way (every split sweeps all d items; c ≤ B as here)
            b = pre.sp.best if pre.sp is not None and pre.sp.best is not None else int(inp.kern.best(inp.fg, inp.fc, float(B)))
            best = b if b >= 0 else None
        else:
            best = _best_single(inp, B)
        if best is not None and float(inp.g64(np.array([best]))[0] ** 2) > value:
            single = best
    if single is not None:
        idx = np.array([single], dtype=np.int64)
        value, energy = _finish_idx(inp, idx, True)
        mask = inp.be.zeros_mask(inp.n)
        inp.be.set_true(mask, idx)
        info["safe_single"] = True
    else:
        mask = _prefix_mask(ks, pre)
        if tail is not None and len(tail):
            inp.be.set_true(mask, tail)
    return FastResult(_out_mask(inp, mask), idx, value, energy, ub, info)


def _kept(inp: _Inputs, ks: _Keys, pre: _Prefix, tail: np.ndarray | None,
          with_c: bool) -> tuple[np.ndarray, float, float | None]:
    """(kept idx ascending, value, energy) of the prefix plus `tail`, summed as the reference sums."""
    sp = pre.sp
    add = _merge_sorted(sp.extra, pre.taken_band)
    if tail is not None and len(tail):
        add = _merge_sorted(add, tail)
    if ks.fused is not None:
        return _finish_fused(ks.fused, sp, add, with_c)
    base = sp.sure_idx if sp.sure_idx is not None else np.zeros(0, np.int64)
    idx = _merge_sorted(base, add)
    value, energy = _finish_idx(inp, idx, with_c)
    return idx, value, energy


def _lp_prefix(inp: _Inputs, B: float, rng: np.random.Generator) -> tuple[_Prefix, float]:
    ks, pre = _lp_keys_prefix(inp, B, rng)
    return pre, _kept(inp, ks, pre, None, False)[1]


def _lp_keys_prefix(inp: _Inputs, B: float, rng: np.random.Generator) -> tuple[_Keys, _Prefix]:
    """l2 keys and their Dantzig prefix at face value (certify=False: the LP needs no certificate).

    Raises _BadInput when an l2 key overflows float64 (the sort-based LP handles that itself).
    """
    ks = _make_keys(inp, "l2", budget=B)
    if ks is None:
        raise _BadInput
    try:
        pre = budget_prefix(ks, B, B, rng, certify=False)
    except _NeedExactKeys:
        ks = _make_keys(inp, "l2", budget=B, prekey=False)
        if ks is None:  # pragma: no cover (the pre-key path checked the same keys)
            raise _BadInput
        pre = budget_prefix(ks, B, B, rng, certify=False)
    return ks, pre


def _lp_value(inp: _Inputs, pre: _Prefix, prefix_value: float, B: float) -> float:
    """Dantzig's LP optimum from an l2 prefix: its value plus the fraction of the break item."""
    if pre.b is None:
        return float(prefix_value)
    used = pre.W_last if pre.n else 0.0
    vb = float(inp.g64(np.array([pre.b]))[0] ** 2)
    frac = min(max((B - used) / pre.c_b, 0.0), 1.0)
    return float(prefix_value + frac * vb)


def _best_single(inp: _Inputs, B: float) -> int | None:
    """Lowest index of the largest v = g² among eligible items (c ≤ B, v > 0), as np.argmax does."""
    g, c, be = inp.g, inp.c, inp.be
    if be.name == "numpy":
        ok = None if inp.cmax <= B else (c <= _cost_cut(c, B))
        if ok is None:
            G = inp.gmax
        else:
            if not ok.any():
                return None
            G = float(max(np.max(g, where=ok, initial=-np.inf), -np.min(g, where=ok, initial=np.inf)))
        if G == 0:
            return None
        thr = _round_down(G * (1 - 2.0 ** -40), np.float32 if _dtname(g) == "float32" else np.float64)
        cand = (g >= thr) | (g <= -thr)
        if ok is not None:
            cand &= ok
        ci = np.flatnonzero(cand)
    else:
        torch = be.torch
        ok = c <= _cost_cut(c, B)
        if not bool(ok.any().item()):
            return None
        a = torch.where(ok, g.abs(), torch.zeros_like(g))
        G = float(a.max().item())
        if G == 0:
            return None
        ci = be.nonzero(a >= G * (1 - 2.0 ** -40))
    g64 = inp.g64(ci)
    v = g64 * g64
    if not len(v) or v.max() <= 0:
        return None
    return int(ci[int(np.argmax(v))])


def _dyadic_exact(inp: _Inputs, B: float) -> bool:
    """True when every cost sum, B − sum and left − sum the walk can form is exact in float64.

    Sufficient: all costs are multiples of 2^e_c with Σc < 2^(53+e_c) (partial
    sums exact in any order), and B < 2^(53+min(e_c, e_B)) (then B − sum and
    left − sum, multiples of 2^min(e_c, e_B) below B, are representable).
    """
    if B <= 0:
        return False
    if inp.kern is not None:  # one compiled pass instead of a float64 copy, frexp and integer passes
        e_c, total = inp.kern.min_unit_exp(inp.fc)
        e_B = _min_unit_exp(np.array([B]))
        return total < 2.0 ** (53 + e_c) * (1 - 1e-9) and B < 2.0 ** (53 + min(e_c, e_B))
    c = inp.c
    if inp.be.name != "numpy":
        c = inp.be.to_host(c)
    c64 = np.asarray(c, dtype=np.float64)
    e_c = _min_unit_exp(c64)
    e_B = _min_unit_exp(np.array([B]))
    total = float(np.sum(c64))
    return total < 2.0 ** (53 + e_c) * (1 - 1e-9) and B < 2.0 ** (53 + min(e_c, e_B))


def _min_unit_exp(x: np.ndarray) -> int:
    """min over x of the exponent of its lowest set bit (x = odd · 2^e); x > 0 finite."""
    m, e = np.frexp(x)  # x = m 2^e, m in [0.5, 1)
    mi = (m * 2.0 ** 53).astype(np.int64)  # exact 53-bit integer mantissa; x = mi 2^(e-53)
    low = mi & (-mi)
    tz = np.frexp(low.astype(np.float64))[1] - 1  # log2 of the lowest set bit
    return int(np.min(e - 53 + tz))


# ----------------------------------------------------------------------------- LP relaxation


@dataclass(frozen=True)
class FastLP:
    """Dantzig's LP optimum from the threshold machinery (no full sort)."""

    value: float  # prefix value (summed in index order) + frac · v_b: the sort-based value to ~1e-15
    x: np.ndarray  # float64 fractional solution: 1 on the prefix, frac at b
    dual_price: float  # v_b / c_b, the break item's exact key (0 when everything fits)
    break_index: int | None
    info: dict[str, Any] = field(default_factory=dict)


def lp_dantzig(g: Any, c: Any, budget: float) -> FastLP | None:
    """P_LP over the items that fit alone (drop_unfittable) by Dantzig's rule; None: use the sort.

    The break item comes from the same sample-bracket-split machinery as budget
    mode, taken at face value (certify=False): a cumsum within rounding of B may
    put the break one item earlier or later than the sort-based walk, which moves
    the LP value by at most that rounding (the value is continuous there).
    """
    inp = _Inputs(g, c, None)
    if not _prepare(inp, need_c=True):
        return None
    B = float(budget)
    STATS["calls"] += 1
    rng = _rng(inp.n)
    try:
        ks, pre = _lp_keys_prefix(inp, B, rng)
        value = _kept(inp, ks, pre, None, False)[1]
    except _BadInput:
        return None
    mask = _prefix_mask(ks, pre)
    mask = mask if isinstance(mask, np.ndarray) else mask.cpu().numpy()
    x = mask.astype(np.float64)
    if pre.b is None:
        return FastLP(float(value), x, 0.0, None, {"backend": inp.be.name, "prefix": pre.n})
    used = pre.W_last if pre.n else 0.0
    frac = min(max((B - used) / pre.c_b, 0.0), 1.0)
    x[pre.b] = frac
    vb = float(inp.g64(np.array([pre.b]))[0] ** 2)
    return FastLP(float(value + frac * vb), x, float(pre.key_b), int(pre.b),
                  {"backend": inp.be.name, "prefix": pre.n})
