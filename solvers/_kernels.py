"""Optional compiled kernels for solvers/fast.py (issue 15): one fused pass per split.

numba is an optional extra (`pip install -e .[fast]`). Nothing here is compiled
or even imported at import time: `get()` imports numba and jit-compiles the
kernels on first use (`cache=True`: later processes load them from
__pycache__). Without numba `get()` returns None and fast.py runs its pure
numpy/torch engine, which gives the same masks.

Why a kernel: the numpy engine needs, per split, a float32 pre-key pass, a
comparison pass, a flatnonzero, gathers of the costs and a re-computation of
exact keys in the band, each a full sweep over 10^7 items. The kernel does all
of it in one sweep that reads g and c once: it forms the *exact* float64 key of
every item (the reference's own arithmetic: float64(g)², then / float64(c)), so
no pre-key margin is needed, classifies it against the two thresholds, writes
the mask of the items above T_hi with their indices and cost sum, appends the
band (T_lo, T_hi] with its keys and costs, and checks the input on the way
(NaN/inf, c ≤ 0, overflowing keys) so that no separate validation pass is run.

Kernel semantics are plain IEEE float64 (no fastmath), element by element, so
every key, eligibility test and comparison is bit-identical to the reference's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

KIND_L2, KIND_PAPER, KIND_ABS = 0, 1, 2
KIND_CODE = {"l2": KIND_L2, "paper": KIND_PAPER, "abs": KIND_ABS}

_body: Any = None  # the jitted _split_body (bound by _Compiled: _split calls it as a global)
_bucket_inl: Any = None  # the jitted _bucket, inlined (bound by _Compiled)
_key_inl: Any = None  # the jitted _key_of, inlined (bound by _Compiled)
_split_inl: Any = None  # the jitted _split, _hist, _fill that the threaded wrappers call per chunk
_hist_inl: Any = None
_fill_inl: Any = None
_merge_inl: Any = None
_join_inl: Any = None
prange: Any = range  # numba.prange once numba is imported (by _Compiled)
_STATE: dict[str, Any] = {}  # "kernels": the compiled namespace, or None when numba is absent


def _key_of(gi, ci, kind):
    """The reference's key of one item from float64 g and c: g²/c (KIND_L2), |g|/c (KIND_PAPER),
    |g| (KIND_ABS); inlined into every sweep (a literal kind there drops the other branches)."""
    if kind == 0:
        return (gi * gi) / ci
    if kind == 1:
        return abs(gi) / ci
    return abs(gi)


def _split_body(g, c, has_c, kind, budget_mode, region, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c):
    """The sweep for one (has_c, kind, budget_mode, region); `_split` calls it with those as constants.

    Inlined at each call site with literal flags, so the compiler drops the dead
    branches from the loop (about 2x faster than testing the flags per item).
    """
    n = g.shape[0]
    ns = 0
    nb = 0
    bad = 0
    inf = math.inf
    cmin = inf
    cmin2 = inf
    bestv = 0.0
    besti = -1
    nr = 0
    cap = reg_idx.shape[0]
    for i in range(n):
        gr = g[i]
        cr = c[i]
        gi = np.float64(gr)
        v = gi * gi
        ci = np.float64(cr) if has_c else 1.0
        key = _key_inl(gi, ci, kind)
        # v < inf is False for inf and NaN, ci > 0 for NaN; key < inf catches an overflow
        bad += 0 if ((v < inf) & (ci > 0.0) & (ci < inf) & (key < inf)) else 1
        if budget_mode:
            key = key if ((v != 0.0) & (ci <= B)) else -1.0
        up = key > T_hi
        mask[i] = up
        # sure items (often 1-20 %): written every time, kept by the increment (no branch)
        sure_idx[ns] = i + off
        sure_g[ns] = gr
        sure_c[ns] = cr
        ns += up
        if (key > T_lo) & (not up):  # the band is small: a well-predicted branch
            band_idx[nb] = i + off
            band_key[nb] = key
            band_c[nb] = ci
            nb += 1
        if budget_mode and region:  # fill's region (branch-free: the slot is overwritten until one is kept)
            r = min(nr, cap - 1)
            reg_idx[r] = i + off
            reg_key[r] = key
            reg_c[r] = ci
            nr += (key > T_lo2) & (key <= T_lo) & (key >= 0.0)
        if budget_mode:  # the cheapest eligible item below the band (fill's window test)
            cmin = min(cmin, ci if ((key <= T_lo) & (key >= 0.0)) else inf)
            if region:
                cmin2 = min(cmin2, ci if ((key <= T_lo2) & (key >= 0.0)) else inf)
            if (v > bestv) & (key >= 0.0):  # safe's single item: rare after the first items
                bestv = v
                besti = i + off
    low[0] = cmin
    low[1] = besti
    low[2] = bestv
    low[3] = cmin2
    low[4] = nr if nr <= cap else -1
    return ns, nb, bad


def _split(g, c, has_c, kind, budget_mode, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
           band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c):
    """One sweep: the items with key > T_hi (mask; their index, g and c) and the band T_lo < key ≤ T_hi.

    kind: KIND_L2 (g²/c), KIND_PAPER (|g|/c), KIND_ABS (|g|). Budget mode:
    ineligible items (g² = 0 or c > B) get key −1. Outputs are in ascending
    index order; sure_g/sure_c in the input's dtype, the band's keys and costs
    in float64. Without costs (has_c False) pass c = g. Returns (n_sure, n_band,
    bad); bad > 0: some g or c is not finite, some c ≤ 0, or g² or a key
    overflows (the caller hands the call to the reference, which raises).
    Buffers need n entries each (only the written prefix is touched). Budget mode also
    writes low[0]: the least cost of an eligible item with key ≤ T_lo (inf: none), and
    low[1], low[2]: the lowest index of the largest g² among eligible items, and that g²
    (−1, 0: none), as _best finds them (safe's single item, without a sweep of its own).
    Fill's region (budget mode and T_lo2 < T_lo, a separately compiled sweep: the items with
    T_lo2 < key ≤ T_lo, eligible, the candidates right below the band) goes to reg_idx/reg_key/
    reg_c (capacity: their length, at least 1), with low[3] the least cost of an eligible item with
    key ≤ T_lo2 and low[4] the region's size (−1: it overflowed). Without it, low[3] = inf, low[4] = 0.
    """
    if budget_mode:
        if T_lo2 < T_lo:
            if kind == 0:
                return _body(g, c, True, 0, True, True, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                             band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
            if kind == 1:
                return _body(g, c, True, 1, True, True, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                             band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
            return _body(g, c, True, 2, True, True, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                         band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
        if kind == 0:
            return _body(g, c, True, 0, True, False, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                         band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
        if kind == 1:
            return _body(g, c, True, 1, True, False, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                         band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
        return _body(g, c, True, 2, True, False, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                     band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
    if kind == 0:
        return _body(g, c, True, 0, False, False, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                     band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
    if kind == 1:
        return _body(g, c, True, 1, False, False, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                     band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
    if has_c:
        return _body(g, c, True, 2, False, False, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                     band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)
    return _body(g, c, False, 2, False, False, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
                 band_idx, band_key, band_c, low, off, T_lo2, reg_idx, reg_key, reg_c)


def _best(g, c, B):
    """Lowest index of the largest g² among eligible items (g² > 0, c ≤ B), as np.argmax; −1: none."""
    best = -1
    bestv = 0.0
    for i in range(g.shape[0]):
        gi = np.float64(g[i])
        v = gi * gi
        if v > bestv:  # rare after the first items: a well-predicted branch
            if np.float64(c[i]) <= B:
                bestv = v
                best = i
    return best


def _merge(a_idx, a_g, a_c, b_idx, b_g, b_c, with_c, out_v, out_c):
    """Merge two ascending, disjoint index lists: out_v = float64(g)², out_c = float64(c), in index order.

    with_c False: out_c is not written (it may be a 1-item placeholder).

    The kept items in index order, so np.sum(out_v) is the reference's
    float(v[mask].sum()) bit for bit (the same array, summed by the same routine).
    """
    na = a_idx.shape[0]
    nb = b_idx.shape[0]
    i = 0
    j = 0
    k = 0
    while j < nb:
        bj = b_idx[j]
        while i < na and a_idx[i] < bj:  # long runs of sure items between two additions
            x = np.float64(a_g[i])
            out_v[k] = x * x
            if with_c:
                out_c[k] = np.float64(a_c[i])
            i += 1
            k += 1
        x = np.float64(b_g[j])
        out_v[k] = x * x
        if with_c:
            out_c[k] = np.float64(b_c[j])
        j += 1
        k += 1
    while i < na:
        x = np.float64(a_g[i])
        out_v[k] = x * x
        if with_c:
            out_c[k] = np.float64(a_c[i])
        i += 1
        k += 1
    return k


def _hist(g, c, kind, B, lo, hi, base, shift, nbk, cnt, cost):
    """Budget-mode key histogram: count and cost of eligible items per bucket of the float64 key's bits.

    Bucket 0: key < lo (and ineligible items); nbk + 1: key ≥ hi; bucket j in 1..nbk:
    lo ≤ key < hi with (bits(key) − base) >> shift = j − 1 (bits are monotone in a
    positive float, so buckets are contiguous key ranges). Why: with heavy-tailed costs
    the cost prefix a sample predicts is uncertain, so its bracket is wide; the exact
    cost per bucket pins the break item to one or two buckets for one extra sweep.
    """
    kb = np.empty(1, dtype=np.float64)
    ib = kb.view(np.int64)
    for i in range(g.shape[0]):
        gi = np.float64(g[i])
        v = gi * gi
        ci = np.float64(c[i])
        key = _key_inl(gi, ci, kind)
        if (v == 0.0) | (ci > B) | (key < lo):
            j = 0
        elif key >= hi:
            j = nbk + 1
        else:
            kb[0] = key
            j = 1 + ((ib[0] - base) >> shift)
            j = min(max(j, 1), nbk)  # (NaN keys: the sweep that follows rejects the input)
        cnt[j] += 1
        cost[j] += ci
    return 0


def _min_unit_exp(c):
    """min over c (> 0, finite) of e where c = odd · 2^e, and Σc (float64): fast.py's dyadic test."""
    best = 1 << 30
    total = 0.0
    for i in range(c.shape[0]):
        x = np.float64(c[i])
        total += x
        m, e = math.frexp(x)  # x = m 2^e, m in [0.5, 1)
        mi = np.int64(m * 9007199254740992.0)  # m 2^53: the exact 53-bit integer mantissa
        low = mi & (-mi)
        tz = math.frexp(np.float64(low))[1] - 1  # log2 of the lowest set bit
        u = e - 53 + tz
        if u < best:
            best = u
    return best, total


def _fill(g, c, kind, B, khi, b, chi, out_idx, out_key, out_c, off):
    """fill's candidates, ascending index: eligible items after the break item b (key khi) in the
    reference's order (key < khi, or key = khi and index > b) with c ≤ chi. Indices written are
    i + off (b is relative to the slice).

    Branch-free: every item is written at the next free slot and kept by the increment
    (about half the costs pass c ≤ chi on heavy-tailed data: a branch there mispredicts).
    """
    n = g.shape[0]
    m = 0
    for i in range(n):
        ci = np.float64(c[i])
        gi = np.float64(g[i])
        v = gi * gi
        key = _key_inl(gi, ci, kind)
        ok = (ci <= chi) & (ci <= B) & (v != 0.0) & ((key < khi) | ((key == khi) & (i > b)))
        out_idx[m] = i + off
        out_key[m] = key
        out_c[m] = ci
        m += ok
    return m


def _pack_keys(g, c, kind, p, key, w):
    """For _sum_key_order: key[j], w[j] = the exact float64 key and cost of item j, and the sort word
    p[j] = (0x7FFFFFFF − bits(float32(key))) << 32 | j.

    Sorting p ascending orders the items by their key rounded to float32, descending
    (rounding is monotone, and the bits of a nonnegative float order it), then by j.
    One int64 sort is far cheaper than an argsort of float64 keys; the few items whose
    keys differ only below float32's precision are put right by _sum_key_order.
    """
    f = np.empty(1, dtype=np.float32)
    fb = f.view(np.int32)
    for j in range(g.shape[0]):
        gi = np.float64(g[j])
        ci = np.float64(c[j])
        k = _key_inl(gi, ci, kind)
        key[j] = k
        w[j] = ci
        f[0] = np.float32(k)  # a key above float32's range becomes inf: still monotone
        p[j] = (np.int64(0x7FFFFFFF - fb[0]) << 32) | j
    return 0


def _bucket(key, kb, ib, base, shift, nbk):
    """The phase bucket of a key: (bits(key) − base) >> shift, clamped to 0..nbk−1.

    Nondecreasing in the key (the bits of a nonnegative float order it; every
    negative key falls in bucket 0), so buckets are contiguous key ranges.
    """
    kb[0] = key
    t = (ib[0] - base) >> shift
    return min(max(t, 0), nbk - 1)


def _phase_hist(g, c, kind, base, shift, nbk, cnt, cost):
    """For _phased_sum: count and cost (float64) of the items per phase bucket."""
    kb = np.empty(1, dtype=np.float64)
    ib = kb.view(np.int64)
    for i in range(g.shape[0]):
        gi = np.float64(g[i])
        ci = np.float64(c[i])
        key = _key_inl(gi, ci, kind)
        t = _bucket_inl(key, kb, ib, base, shift, nbk)
        cnt[t] += 1
        cost[t] += ci
    return 0


def _phase_split(g, c, kind, base, shift, nbk, scale, L, p, key, w):
    """For _phased_sum: adds to L[t] the cost of every item that commutes inside its bucket t
    (scale[t] = 2^(51 − j) > 0 for a bucket whose running sums all lie in the binade
    [2^j, 2^(j+1)), and c a multiple of 2^(j−51): an even number of ulps there). The
    others are packed as _pack_keys packs (key, cost, sort word with their position);
    returns their count.
    """
    kb = np.empty(1, dtype=np.float64)
    ib = kb.view(np.int64)
    f = np.empty(1, dtype=np.float32)
    fb = f.view(np.int32)
    m = 0
    for i in range(g.shape[0]):
        gi = np.float64(g[i])
        ci = np.float64(c[i])
        k = _key_inl(gi, ci, kind)
        t = _bucket_inl(k, kb, ib, base, shift, nbk)
        sc = scale[t]
        if sc > 0.0:
            x = ci * sc  # exact: a power-of-two scaling with no overflow (ci < 2^(j+1))
            if (x >= 1.0) & (x < 9007199254740992.0) and x == math.floor(x):
                L[t] += ci  # exact: every partial sum is a multiple of 2^(j−51) below 2^(j+1)
                continue
        key[m] = k
        w[m] = ci
        f[0] = np.float32(k)
        p[m] = (np.int64(0x7FFFFFFF - fb[0]) << 32) | m
        m += 1
    return m


def _sum_key_order(p, key, w, tail_c, L, base, shift):
    """The reference's cumsum, last entry, over the packed items in exact key order, then over tail_c.

    p sorted ascending (from _pack_keys or _phase_split); items are j = p & 0xFFFFFFFF, given in
    ascending index order. Within a run of equal float32 keys the items are ordered by
    the exact key, descending, ties by lower j (a stable sort of j-ascending input):
    the reference's order (key descending, ties by lower index). Then summed as
    np.cumsum sums, s = c_1, s += c_k, and on over tail_c (the band items, below).

    L (length nbk, empty: none): the cost that _phase_split set aside per phase bucket
    (items that commute inside it), added as one number when the walk enters the bucket,
    before its first packed item (buckets from nbk − 1 down: descending keys).
    """
    n = p.shape[0]
    nbk = L.shape[0]
    kb = np.empty(1, dtype=np.float64)
    ib = kb.view(np.int64)
    tnext = nbk - 1
    low = np.int64(0xFFFFFFFF)
    s = 0.0
    i = 0
    js = np.empty(64, dtype=np.int64)
    while i < n:
        hi = p[i] >> 32
        e = i + 1
        while e < n and (p[e] >> 32) == hi:
            e += 1
        m = e - i
        if m > js.shape[0]:
            js = np.empty(m, dtype=np.int64)
        for r in range(m):
            js[r] = p[i + r] & low
        if m > 1:
            if m <= 64:  # insertion sort, stable
                for a in range(1, m):
                    x = js[a]
                    kx = key[x]
                    q = a - 1
                    while q >= 0 and key[js[q]] < kx:
                        js[q + 1] = js[q]
                        q -= 1
                    js[q + 1] = x
            else:
                kr = np.empty(m, dtype=np.float64)
                for r in range(m):
                    kr[r] = -key[js[r]]
                srt = js[:m][np.argsort(kr, kind="mergesort")]
                for r in range(m):
                    js[r] = srt[r]
        for r in range(m):
            j = js[r]
            if nbk:
                t = _bucket_inl(key[j], kb, ib, base, shift, nbk)
                while tnext >= t:
                    s += L[tnext]
                    tnext -= 1
            s += w[j]
        i = e
    while tnext >= 0:
        s += L[tnext]
        tnext -= 1
    for j in range(tail_c.shape[0]):
        s += tail_c[j]
    return s


def _split_par(g, c, has_c, kind, budget_mode, B, T_hi, T_lo, mask, sure_idx, sure_g, sure_c,
               band_idx, band_key, band_c, low, T_lo2, reg_idx, reg_key, reg_c, nt):
    """_split on nt threads: each sweeps one contiguous chunk into its own part of the buffers,
    then the parts are moved together (ascending index order, as one sweep writes them)."""
    n = g.shape[0]
    ns = np.zeros(nt, dtype=np.int64)
    nb = np.zeros(nt, dtype=np.int64)
    bad = np.zeros(nt, dtype=np.int64)
    lows = np.empty((nt, 5), dtype=np.float64)
    rc = reg_idx.shape[0] // nt  # each chunk's share of the region's capacity
    for t in prange(nt):
        a, b = n * t // nt, n * (t + 1) // nt
        lw = np.empty(5, dtype=np.float64)
        ra, rb = t * rc, (t + 1) * rc
        r = _split_inl(g[a:b], c[a:b], has_c, kind, budget_mode, B, T_hi, T_lo, mask[a:b], sure_idx[a:b],
                       sure_g[a:b], sure_c[a:b], band_idx[a:b], band_key[a:b], band_c[a:b], lw, a,
                       T_lo2, reg_idx[ra:rb], reg_key[ra:rb], reg_c[ra:rb])
        ns[t], nb[t], bad[t] = r
        for q in range(5):
            lows[t, q] = lw[q]
    starts = np.arange(nt) * n // nt  # chunk t's first index, as the prange loop cut them
    ks = _join_inl(sure_idx, sure_g, sure_c, starts, ns)
    kb = _join_inl(band_idx, band_key, band_c, starts, nb)
    low[0] = lows[:, 0].min()
    low[3] = lows[:, 3].min()
    kr = -1  # the region's parts moved together; −1 if one overflowed
    if lows[:, 4].min() >= 0:
        kr = _join_inl(reg_idx, reg_key, reg_c, np.arange(nt) * rc, lows[:, 4].astype(np.int64))
    low[4] = kr
    low[1] = -1.0
    low[2] = 0.0
    for t in range(nt):  # the largest g², ties to the earlier chunk (the lower index)
        if lows[t, 2] > low[2]:
            low[1] = lows[t, 1]
            low[2] = lows[t, 2]
    return ks, kb, bad.sum()


def _join_parts(x, y, z, starts, counts):
    """Move the parts of three parallel buffers together: part t (counts[t] entries from starts[t],
    starts ascending, starts[0] = 0, each part within its own chunk) follows part t − 1.
    Returns the total. In place: a part only moves to lower positions, copied in ascending order."""
    k = 0
    for t in range(starts.shape[0]):
        s = starts[t]
        if s != k:
            for r in range(counts[t]):
                x[k + r] = x[s + r]
                y[k + r] = y[s + r]
                z[k + r] = z[s + r]
        k += counts[t]
    return k


def _hist_par(g, c, kind, B, lo, hi, base, shift, nbk, cnt, cost, nt):
    """_hist on nt threads (a histogram per chunk, then added up; the costs in another order)."""
    n = g.shape[0]
    cn = np.zeros((nt, cnt.shape[0]), dtype=np.int64)
    co = np.zeros((nt, cost.shape[0]), dtype=np.float64)
    for t in prange(nt):
        a, b = n * t // nt, n * (t + 1) // nt
        _hist_inl(g[a:b], c[a:b], kind, B, lo, hi, base, shift, nbk, cn[t], co[t])
    for t in range(nt):
        for j in range(cnt.shape[0]):
            cnt[j] += cn[t, j]
            cost[j] += co[t, j]
    return 0


def _fill_par(g, c, kind, B, khi, b, chi, out_idx, out_key, out_c, nt):
    """_fill on nt threads (each chunk into its own part of the buffers, then moved together)."""
    n = g.shape[0]
    m = np.zeros(nt, dtype=np.int64)
    for t in prange(nt):
        a, e = n * t // nt, n * (t + 1) // nt
        m[t] = _fill_inl(g[a:e], c[a:e], kind, B, khi, b - a, chi, out_idx[a:e], out_key[a:e], out_c[a:e], a)
    starts = np.arange(nt) * n // nt  # chunk t's first index, as the prange loop cut them
    k = _join_inl(out_idx, out_key, out_c, starts, m)
    return k


def _merge_par(a_idx, a_g, a_c, b_idx, b_g, b_c, with_c, out_v, out_c, nt):
    """_merge on nt threads: the a list cut in nt chunks, each with the b items of its index range
    (searchsorted), written at its own offset; the output is the serial merge's, entry for entry."""
    na = a_idx.shape[0]
    nb = b_idx.shape[0]
    bcut = np.empty(nt + 1, dtype=np.int64)
    bcut[0] = 0
    bcut[nt] = nb
    for t in range(1, nt):
        a0 = na * t // nt
        bcut[t] = np.searchsorted(b_idx, a_idx[a0]) if a0 < na else nb
    for t in prange(nt):
        a0, a1 = na * t // nt, na * (t + 1) // nt
        b0, b1 = bcut[t], bcut[t + 1]
        o0, o1 = a0 + b0, a1 + b1
        oc = out_c[o0:o1] if with_c else out_c[0:1]
        _merge_inl(a_idx[a0:a1], a_g[a0:a1], a_c[a0:a1], b_idx[b0:b1], b_g[b0:b1], b_c[b0:b1], with_c,
                   out_v[o0:o1], oc)
    return na + nb


class _Compiled:
    """The jitted kernels (built once per process by `get`)."""

    def __init__(self, numba: Any):
        # error_model="numpy": x / 0 is IEEE inf/nan (no ZeroDivisionError, no test per division)
        opts = dict(nogil=True, boundscheck=False, error_model="numpy")
        jit = numba.njit(cache=True, **opts)
        global _body, _key_inl, _bucket_inl, _split_inl, _hist_inl, _fill_inl, _merge_inl, _join_inl, prange
        prange = numba.prange
        _key_inl = numba.njit(inline="always", **opts)(_key_of)
        _body = numba.njit(inline="always", **opts)(_split_body)
        _bucket_inl = numba.njit(inline="always", **opts)(_bucket)
        _split_inl = numba.njit(**opts)(_split)
        _hist_inl = numba.njit(**opts)(_hist)
        _fill_inl = numba.njit(**opts)(_fill)
        _merge_inl = numba.njit(**opts)(_merge)
        _join_inl = numba.njit(inline="always", **opts)(_join_parts)
        par = numba.njit(cache=True, parallel=True, **opts)
        self.split_par = par(_split_par)
        self.hist_par = par(_hist_par)
        self.fill_par = par(_fill_par)
        self.merge_par = par(_merge_par)
        self.max_threads = int(numba.config.NUMBA_NUM_THREADS)
        self.split = jit(_split)
        self.best = jit(_best)
        self.merge = jit(_merge)
        self.hist = jit(_hist)
        self.min_unit_exp = jit(_min_unit_exp)
        self.fill = jit(_fill)
        self.pack_keys = jit(_pack_keys)
        self.sum_key_order = jit(_sum_key_order)
        self.phase_hist = jit(_phase_hist)
        self.phase_split = jit(_phase_split)
        self.version = str(numba.__version__)


def get() -> _Compiled | None:
    """The compiled kernels, or None without numba (imported and compiled lazily, once)."""
    if "kernels" not in _STATE:
        try:
            import numba
        except ImportError:
            _STATE["kernels"] = None
        else:
            _STATE["kernels"] = _Compiled(numba)
    return _STATE["kernels"]


def available() -> bool:
    """True when numba can be imported (does not compile anything)."""
    if "kernels" in _STATE:
        return _STATE["kernels"] is not None
    import importlib.util

    return importlib.util.find_spec("numba") is not None
