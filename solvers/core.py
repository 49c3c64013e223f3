"""Fast exact solver for P: `solve_exact(g, c, B, backend="core")` (issue 7).

P is the 0/1 knapsack max Σ m v, v = g², s.t. Σ m c ≤ B. The solver follows the
classical route (Dembo & Hammer 1980; Pisinger's expknap/minknap, 1995–97):

1. LP bound. Dantzig's LP optimum LP* and its break item b (ratio λ* = v_b/c_b)
   come from solvers/fast.py's threshold selection (no full sort).
2. Core. Only items with ratio near λ* are ever in doubt. A *window* of items
   sorted by ratio around b is taken; items above it are fixed in, items below
   it fixed out; it grows on demand (expanding core), from the first bracket's
   band and, if ever needed, from the whole array.
3. Exact search on the core, one of:
   - cost classes (THEORY.md C9): when the eligible costs take L ≤ 3 distinct
     values (FL's layer costs), P is the choice of how many items to keep in
     each class, each class keeping its largest v (concave prefix sums). We
     enumerate the class counts over the window — vectorised, L−1 nested
     dimensions with the last count in closed form — and certify the window
     with Dembo–Hammer reduced-cost fixing: every item outside it has
     |v − λ* c| ≥ LP* − z, so flipping it cannot beat the incumbent z.
     No branch and bound, no full sort.
   - otherwise minknap-style dynamic programming on the expanding core: states
     (residual capacity, value) on a Pareto front, the core grown one item at a
     time alternately to the right (add an item after the break) and to the
     left (remove one before it); every state is bounded by the LP of the items
     not yet decided (ratio of the next item on the side it needs, tightened by
     the least cost of those items, so that a tiny leftover capacity cannot keep
     a state alive), and pruned when that bound cannot beat the incumbent.
     Histories for the reconstruction are garbage-collected to the live states.
   Both prove optimality; the bound is reported. Limits: `time_limit` (status
   "time_limit") and STATE_CELLS_MAX stored history entries ("memory_limit");
   then `proven_optimal` is False and `bound` is the largest live-state bound
   (capped by LP*).
4. combo (issue 18; Martello, Pisinger & Toth, "Dynamic programming and strong
   bounds for the 0-1 knapsack problem", Management Science 1999). On integer
   data (values p = g² integers, costs multiples of one power of two, both below
   2^26 in that unit) minknap hands over to `_combo_solve` once it holds more than
   ESCALATE_STATES live states (or a quarter of STATE_CELLS_MAX history entries),
   keeping its incumbent. combo adds what makes Pisinger's hard families
   (strongly, inverse strongly and almost strongly correlated, spanner, profit
   ceiling, circle) tractable: the capacity reduced to a multiple of gcd(w) and
   bounds rounded down to a multiple of gcd(p); the Martello–Toth bound; the
   cardinality bound (≤ k_max items fit, ≥ k_min are needed to improve) through the
   LP with that constraint, i.e. the surrogate relaxation at its best multiplier,
   solved in its Lagrangian dual (λ, μ) in exact integer arithmetic; identical
   items grouped and split in powers of two; reduced-cost fixing with (λ, μ)
   (the core is rebuilt when a better incumbent shrinks it); the DP in surrogate-
   ratio order with a Pareto front on (weight, value) (dominance), each state
   bounded by its surrogate minknap bound and its Lagrangian bound; pairing of
   the states with the best single undecided item; one uint64 of decisions per
   state plus checkpoints every 64 levels instead of full histories.
   One addition of ours, the class split (`_class_split`): when the DP front passes
   CLASS_SPLIT_STATES = 1e6 states, the solver splits on the number h of items of
   weight ≥ tau = w_b − r (b the break item, r the capacity left before it): every
   solution has h ≤ ⌊h*⌋ or h ≥ ⌊h*⌋ + 1, h* that count in the LP optimum, and each
   side's LP (with the cardinality constraint, on the core; HiGHS, then an exact
   rational Lagrangian bound) prices as whole items the exchange that makes room for
   b. The LP fills the residual r with a fraction of that exchange; on circle(2/3) at
   n = 1e5, R = 1e6 (profits concave in the weight) this took U_card 209,918 above the
   optimum and no whole items can make it; the two sides' bounds are 2 above and
   945,935 below it, and the DP on each side's core (8 items) proves the optimum.
   Memory cap: COMBO_MEM_MAX = 2.5 GB for the state arrays (40 bytes a state,
   double-buffered) and the checkpoints (16 bytes a state); at the cap (status
   "memory_limit") or at `time_limit` the best incumbent is returned with
   proven_optimal False and `bound` = the largest Lagrangian bound of a live state
   (≥ value, ≤ the root bounds). combo needs numba (the optional extra [fast]):
   without it, integer instances stay on minknap as before (and the hard families
   stop at its limits). Measured on the issue's 24 instances (n = 1e4, 1e5; R = 1e4,
   1e6; capacity 30 %; each solve in a fresh process on the quiet 2-core machine,
   `cwmp bench --only exact-hard` → results/bench/exact_hard.json): all 24 proven in
   0.06–4.4 s with peak RSS ≤ 0.61 GB; the class split ran on three (circle(2/3)
   1e4/1e6 and 1e5/1e6, almost strongly correlated 1e5/1e6).

Arithmetic and tolerance (stated in ExactResult.extra):
- Feasibility is exact: the returned mask satisfies Σ c ≤ B in exact real
  arithmetic on the float64 inputs (checked with math.fsum, whose correctly
  rounded result has the sign of the exact sum). Class mode decides every
  capacity question exactly with rationals (count × cost). The DP carries
  residual capacities in float64 with a running error bound; a state within
  that bound of the capacity is decided by an exact check of its own mask.
  Costs that are multiples of one power of two (integers, for instance) give
  exact sums and a zero error bound.
- Values: integer data (every v = g² an integer, Σ v < 2^52) are solved
  exactly (pruning needs an improvement ≥ 1). When every g² is within 1e-6 of an
  integer (e.g. g = √p for integer p, as in Pisinger's families) the solver works
  on p = round(g²) exactly and reports bound = OPT_p + 2η, η = Σ|g² − p| (~1e-10).
  Float data are solved to an absolute tolerance atol = rtol · LP* (rtol = 1e-12
  by default): the returned value is within atol of OPT and `bound` = value + atol
  (capped by LP*).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from . import fast
from ._arrays import check_budget, is_torch, make_problem, mask_like
from .exact import ExactResult
from .selection import Selection

U = 2.0 ** -53
RTOL = 1e-12  # float data: optimal to within rtol · LP*
WINDOW0 = 2048  # initial core: items on each side of the break item
MAX_CLASSES = 3  # cost-class enumeration up to this many distinct costs
GRID_MAX = 4_000_000  # class mode: most count combinations enumerated at once
STATE_CELLS_MAX = 20_000_000  # DP: most stored (parent, flip) entries for reconstruction


class _Stop(Exception):
    """Time or memory limit reached in the DP."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


# ----------------------------------------------------------------------------- data access


class _Data:
    """Host (numpy) view of the instance with the l2 keys of fast.py; gathers in float64."""

    def __init__(self, g: Any, c: Any, B: float):
        self.inp = fast._Inputs(g, c, backend="numpy")
        self.B = B
        self.n = self.inp.n
        self.round_values = False  # granular mode: the solver works on p = round(g²)

    def v(self, idx: np.ndarray) -> np.ndarray:
        """Values the solver works with: g², or round(g²) in granular mode."""
        g = self.inp.g64(idx)
        return np.round(g * g) if self.round_values else g * g

    def v_true(self, idx: np.ndarray) -> np.ndarray:
        g = self.inp.g64(idx)
        return g * g

    def c(self, idx: np.ndarray) -> np.ndarray:
        return self.inp.c64(idx)


@dataclass
class _Pool:
    """Items on one side of the window not yet in it (host arrays, unsorted)."""

    gid: np.ndarray
    key: np.ndarray
    v: np.ndarray
    c: np.ndarray
    bound: float  # every item beyond the pool (not in it) has key > bound (left) / ≤ bound (right)
    final: bool  # True: nothing lies beyond the pool (the pool is the whole side)

    def take(self, m: int, left: bool) -> tuple[np.ndarray, ...]:
        """Remove and return the m items closest to the break, sorted outward from it."""
        n = len(self.gid)
        if m >= n:
            sel = np.arange(n)
        else:
            kk = self.key if left else -self.key
            sel = np.argpartition(kk, m)[:m]
        kk = self.key[sel] if left else -self.key[sel]
        sel = sel[np.lexsort((self.gid[sel], kk))]
        out = tuple(a[sel] for a in (self.gid, self.key, self.v, self.c))
        keep = np.ones(n, dtype=bool)
        keep[sel] = False
        self.gid, self.key, self.v, self.c = (a[keep] for a in (self.gid, self.key, self.v, self.c))
        return out

    def take_where(self, cond: np.ndarray, left: bool) -> tuple[np.ndarray, ...]:
        sel = np.flatnonzero(cond)
        kk = self.key[sel] if left else -self.key[sel]
        sel = sel[np.lexsort((self.gid[sel], kk))]
        out = tuple(a[sel] for a in (self.gid, self.key, self.v, self.c))
        keep = ~cond
        self.gid, self.key, self.v, self.c = (a[keep] for a in (self.gid, self.key, self.v, self.c))
        return out

    def next_key(self, left: bool) -> float | None:
        """Key of the nearest item beyond the window on this side (a bound if outside the pool).

        None: there is no item at all on this side.
        """
        if len(self.key):
            return float(self.key.min() if left else self.key.max())
        if self.final:
            return None
        return self.bound


@dataclass
class _Side:
    """Window items on one side of the break, ordered outward (left: ratio ascending)."""

    gid: list[np.ndarray] = field(default_factory=list)
    key: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)
    c: list[np.ndarray] = field(default_factory=list)
    n: int = 0
    _cat: tuple[np.ndarray, ...] | None = None

    def add(self, part: tuple[np.ndarray, ...]) -> None:
        for lst, a in zip((self.gid, self.key, self.v, self.c), part):
            lst.append(a)
        self.n += len(part[0])
        self._cat = None

    def sufmin(self) -> np.ndarray:
        """sufmin()[i] = min cost of the items i, i+1, ... of this side."""
        if getattr(self, "_sufmin", None) is None or len(self._sufmin) != self.n:
            c = self.arrays()[3]
            self._sufmin = np.minimum.accumulate(c[::-1])[::-1] if len(c) else c
        return self._sufmin

    def arrays(self) -> tuple[np.ndarray, ...]:
        if self._cat is None:
            self._cat = tuple(np.concatenate(lst) if lst else np.zeros(0) for lst in
                              (self.gid, self.key, self.v, self.c))
            self._cat = (self._cat[0].astype(np.int64),) + self._cat[1:]
        return self._cat


class _Core:
    """LP, the window around the break item, and the fixed-in set."""

    def __init__(self, data: _Data, rng: np.random.Generator):
        self.data = data
        inp, B = data.inp, data.B
        self.ks = fast._make_keys(inp, "l2", budget=B)
        if self.ks is None:  # float64 key overflow: the reference raises for it
            make_problem(inp.g, inp.c, require_c=True)
            raise ValueError("score g²/c overflows float64")
        try:
            pre = fast.budget_prefix(self.ks, B, B, rng, certify=False)
        except fast._NeedExactKeys:
            self.ks = fast._make_keys(inp, "l2", budget=B, prekey=False)
            pre = fast.budget_prefix(self.ks, B, B, rng, certify=False)
        self.pre = pre
        sp = pre.sp
        self.b = pre.b
        self.lam = pre.key_b if pre.b is not None else 0.0
        # fixed in: the split's items above T_hi (mask + extra)
        self.A_mask = sp.sure
        self.A_extra = sp.extra
        a_idx = np.concatenate([sp.sure_idx if sp.sure_idx is not None else np.zeros(0, np.int64),
                                sp.extra]).astype(np.int64)  # order is irrelevant: aggregates only
        self.A_idx = a_idx
        self.A_c = np.concatenate([sp.sure_c if sp.sure_c is not None else np.zeros(0), data.c(sp.extra)])
        self.A_v = data.v(a_idx)
        self._A_stats: dict[float, int] | None = None
        # the band (T_lo, T_hi] split at the break: left pool (in the LP prefix) and right pool
        bk, bg = sp.band_key, sp.band
        bc = sp.band_c
        bv = data.v(bg)
        if pre.b is None:
            in_pre = np.ones(len(bg), dtype=bool)
        else:
            in_pre = (bk > pre.key_b) | ((bk == pre.key_b) & (bg < pre.b))
        top_final = sp.T_hi == math.inf
        bot_final = sp.T_lo <= -0.5
        self.pool_l = _Pool(bg[in_pre], bk[in_pre], bv[in_pre], bc[in_pre], sp.T_hi, top_final and
                            True)
        self.pool_r = _Pool(bg[~in_pre], bk[~in_pre], bv[~in_pre], bc[~in_pre], sp.T_lo, bot_final)
        # pool_l is final only if nothing lies above T_hi outside it: A must be empty then
        self.pool_l.final = top_final and len(a_idx) == 0
        self.left, self.right = _Side(), _Side()
        # LP value: prefix value + fraction of the break item; `lp_true` in g², `lp` in the
        # solver's values (granular mode: p = round(g²), ordered by the true ratios, so up to
        # rounding of the order: 8u·LP of safety keeps it an upper bound)
        V_pre = float(np.sum(self.A_v)) + float(np.sum(self.pool_l.v))
        V_true = V_pre
        if data.round_values:
            V_true = float(np.sum(data.v_true(self.A_idx))) + float(np.sum(data.v_true(self.pool_l.gid)))
        self.lp, self.lp_true = V_pre, V_true
        if pre.b is not None:
            W_pre = pre.W_last if pre.n else 0.0
            frac = min(max((B - W_pre) / pre.c_b, 0.0), 1.0)
            self.lp = V_pre + frac * float(data.v(np.array([pre.b]))[0])
            self.lp_true = V_true + frac * float(data.v_true(np.array([pre.b]))[0])
        if data.round_values:
            self.lp += 8 * U * abs(self.lp)
        self.resplits = 0

    # -- window growth ---------------------------------------------------------

    def grow(self, left: bool, m: int) -> bool:
        """Move up to m items from the pool into the window on one side; False if none left."""
        pool = self.pool_l if left else self.pool_r
        if not len(pool.gid):
            if pool.final or not self._refill(left):
                return False
            pool = self.pool_l if left else self.pool_r
        part = pool.take(m, left)
        (self.left if left else self.right).add(part)
        return True

    def grow_until(self, left: bool, key_limit: float) -> bool:
        """Move every item with key < key_limit (left) / > key_limit (right) into the window.

        Returns True when, afterwards, every item outside the window is beyond the limit.
        """
        while True:
            pool = self.pool_l if left else self.pool_r
            cond = pool.key < key_limit if left else pool.key > key_limit
            if cond.any():
                (self.left if left else self.right).add(pool.take_where(cond, left))
            nk = pool.next_key(left)
            if nk is None:
                return True
            if len(pool.gid) or (nk >= key_limit if left else nk <= key_limit):
                return True
            if not self._refill(left):
                return True

    def _refill(self, left: bool) -> bool:
        """The pool ran dry before the side did: bring in the whole rest of that side."""
        self.resplits += 1
        data, ks = self.data, self.ks
        if left:
            if self.pool_l.final:
                return False
            # every fixed-in item becomes a pool item; nothing is fixed in any more
            self.pool_l = _Pool(self.A_idx, ks.exact(self.A_idx), self.A_v, self.A_c, math.inf, True)
            self.A_mask, self.A_extra = None, np.zeros(0, np.int64)
            self._A_stats = None
            self.A_idx = np.zeros(0, np.int64)
            self.A_c = self.A_v = np.zeros(0)
            return len(self.pool_l.gid) > 0
        if self.pool_r.final:
            return False
        lo = self.pool_r.bound
        gidx = ks.be.band(ks.K, -math.inf, ks.up(lo))
        key = ks.exact(gidx)
        ok = (key >= 0) & (key <= lo)
        zero = ok & (key == 0)
        if zero.any():
            zi = np.flatnonzero(zero)
            ok[zi[data.v(gidx[zi]) <= 0]] = False
        gidx, key = gidx[ok], key[ok]
        # drop items already in the window (ties at the old bound)
        if self.right.n:
            gidx_in = self.right.arrays()[0]
            keep = ~np.isin(gidx, gidx_in)
            gidx, key = gidx[keep], key[keep]
        self.pool_r = _Pool(gidx, key, data.v(gidx), data.c(gidx), -0.5, True)
        return len(gidx) > 0

    # -- the fixed-in part ---------------------------------------------------------

    def fixed_in(self) -> tuple[Any, np.ndarray]:
        """(backend mask or None, host indices) of the items fixed in: A and the left pool."""
        extra = np.concatenate([self.A_extra, self.pool_l.gid]).astype(np.int64)
        return self.A_mask, extra

    def fixed_in_class_counts(self, classes: np.ndarray) -> tuple[list[int], float]:
        """Per class, how many fixed-in items have that cost; and the fixed-in value."""
        if self._A_stats is None:  # A changes only on a refill, which resets this cache
            self._A_stats = ([int(np.count_nonzero(self.A_c == x)) for x in classes],
                             float(np.sum(self.A_v)))
        a, va = self._A_stats
        pc = self.pool_l.c
        return ([a[i] + int(np.count_nonzero(pc == x)) for i, x in enumerate(classes)],
                va + float(np.sum(self.pool_l.v)))

    def fixed_in_costs(self) -> np.ndarray:
        return np.concatenate([self.A_c, self.pool_l.c])

    def fixed_in_values(self) -> np.ndarray:
        return np.concatenate([self.A_v, self.pool_l.v])


# ----------------------------------------------------------------------------- exact helpers


def _fsum_leq(costs: list[np.ndarray], B: float) -> bool:
    """Σ costs ≤ B exactly: math.fsum is correctly rounded, so it has the exact sum's sign."""
    parts = [float(-B)]
    total = math.fsum(parts + [x for a in costs for x in a.tolist()])
    return total <= 0.0


def _exact_sums(costs: list[np.ndarray], B: float) -> bool:
    """All costs multiples of 2^e, Σ < 2^(53+e) and B < 2^(53+min(e, e_B)): every sum is exact."""
    arrs = [a for a in costs if len(a)]
    if B <= 0 or not arrs:
        return False
    allc = np.concatenate(arrs)
    e_c = fast._min_unit_exp(allc)
    e_B = fast._min_unit_exp(np.array([B]))
    return float(np.sum(allc)) < 2.0 ** (53 + e_c) * (1 - 1e-9) and B < 2.0 ** (53 + min(e_c, e_B))


def _granularity(g: np.ndarray) -> float | None:
    """η = Σ |g² − round(g²)| when every v = g² is within 1e-6 of an integer and Σ v < 2^52, else None.

    Then any two solutions' values differ by an integer plus at most 2η, so the
    solver may work on the integer values p = round(g²) (exact in float64) with
    integer pruning (an improvement must be ≥ 1), and the optimum of p is within
    2η of the optimum of g² (η = 0 for integer g).
    """
    head = g[:256].astype(np.float64)
    vh = head * head
    if not bool(np.all(np.abs(vh - np.round(vh)) <= 1e-6)):  # cheap early exit for float data
        return None
    v = np.square(g, dtype=np.float64)
    if float(np.sum(v)) >= 2.0 ** 52:
        return None
    eta = np.abs(v - np.round(v))
    if not bool(np.all(eta <= 1e-6)):
        return None
    total = float(np.sum(eta))
    return total if total < 0.01 else None


# ----------------------------------------------------------------------------- cost classes


def _classes(data: _Data, max_classes: int) -> np.ndarray | None:
    """The distinct costs of the budget-eligible items when there are at most max_classes, else None.

    A few passes over c (compare, combine, argmax): cmin and cmax first, then
    whatever value is left. FL's layer costs take 2–3 values.
    """
    inp, B = data.inp, data.B
    c = inp.c
    rest = (c <= fast._cost_cut(c, B)) if inp.cmax > B else None
    todo = [inp.cmin] + ([inp.cmax] if inp.cmax <= B and inp.cmax != inp.cmin else [])
    vals: list[float] = []
    while True:
        if todo:
            nxt = todo.pop(0)
        else:
            j = int(np.argmax(rest))
            if not rest[j]:
                return np.array(sorted(vals))
            nxt = float(c[j])
        if len(vals) == max_classes:
            return None
        vals.append(nxt)
        ne = c != np.asarray(nxt, dtype=c.dtype)
        rest = ne if rest is None else (rest & ne)


@dataclass
class _ClassOutcome:
    take: np.ndarray  # window gids kept
    z: float
    gap: float
    counts: list[int]  # per class: total kept (fixed in + window)
    energy: float  # Σ counts · costs, correctly rounded


def _class_solve(core: _Core, classes: np.ndarray, B: float, deadline: float | None,
                 int_values: bool = False) -> _ClassOutcome:
    """Enumerate class counts over the window; Dembo–Hammer certifies the window (grown if needed)."""
    L = len(classes)
    Cmin = float(classes.min())
    Fr = [Fraction(float(x)) for x in classes]
    FB = Fraction(B)
    core.grow(True, WINDOW0)
    core.grow(False, WINDOW0)
    for _round in range(64):
        lg, lk, lv, lc = core.left.arrays()
        rg, rk, rv, rc = core.right.arrays()
        wg = np.concatenate([lg, rg]).astype(np.int64)
        wv = np.concatenate([lv, rv])
        wc = np.concatenate([lc, rc])
        a, Va = core.fixed_in_class_counts(classes)
        win = []
        for x in classes:
            sel = np.flatnonzero(wc == x)
            win.append(sel[np.lexsort((wg[sel], -wv[sel]))])  # value descending, ties by index
        pref = [np.concatenate(([0.0], np.cumsum(wv[sel]))) for sel in win]
        cap = FB - sum(Fraction(a[i]) * Fr[i] for i in range(L))  # exact: what the window may use
        best_val, best_k = _enumerate(pref, Fr, cap, [len(sel) for sel in win], deadline)
        z = Va + best_val if best_k is not None else -math.inf
        gap = max(core.lp - z, 0.0)
        # Dembo–Hammer: an item outside the window could be flipped in an improving solution only
        # if |v − λc| < LP* − z (integer values: ≤ LP* − z − 1), i.e. |key − λ| < gap/c ≤ gap/Cmin.
        # Grow the window until no such item is outside it.
        need = gap - 1 + 8 * U * abs(core.lp) if int_values else gap
        slack = need / Cmin * (1 + 1e-9) + 1e-300
        nk_l = core.pool_l.next_key(True)
        nk_r = core.pool_r.next_key(False)
        ok_l = need < 0 or nk_l is None or nk_l >= core.lam + slack
        ok_r = need < 0 or nk_r is None or nk_r <= core.lam - slack
        if best_k is not None and ok_l and ok_r:
            take = np.concatenate([wg[win[i][: best_k[i]]] for i in range(L)]).astype(np.int64)
            counts = [a[i] + best_k[i] for i in range(L)]
            energy = float(sum(Fraction(counts[i]) * Fr[i] for i in range(L)))  # correctly rounded
            return _ClassOutcome(take, z, gap, counts, energy)
        if deadline is not None and time.perf_counter() > deadline:
            raise _Stop("time_limit")
        if best_k is None:  # the fixed-in items alone overflow B (LP rounding): grow both sides
            core.grow(True, max(WINDOW0, 2 * core.left.n))
            core.grow(False, max(WINDOW0, 2 * core.right.n))
            continue
        if not ok_l:
            core.grow_until(True, core.lam + slack)
        if not ok_r:
            core.grow_until(False, core.lam - slack)
    raise _Stop("window_not_certified")  # pragma: no cover


def _enumerate(pref: list[np.ndarray], Fr: list[Fraction], cap: Fraction, n: list[int],
               deadline: float | None) -> tuple[float, list[int] | None]:
    """max Σ_l pref_l[k_l] s.t. Σ_l k_l C_l ≤ cap, 0 ≤ k_l ≤ n_l, exactly in the counts.

    All classes but one are enumerated on a grid; the remaining class (the one
    with most window items) takes the largest count that fits, floor((cap −
    Σ k_l C_l)/C_last). That floor is exact: in int64 when the costs and cap
    share a power-of-two unit small enough, otherwise in float64 with an error
    bound, re-derived with rationals wherever rounding could change it.
    """
    L = len(Fr)
    if cap < 0:
        return -math.inf, None
    if L == 1:
        k = min(n[0], math.floor(cap / Fr[0]))
        return float(pref[0][k]), [k]
    last = int(np.argmax(n))
    others = [i for i in range(L) if i != last]
    size = 1
    for i in others:
        size *= n[i] + 1
    if size > 25 * GRID_MAX:
        raise _Stop("grid_too_large")
    # exact integer arithmetic when all numbers are small multiples of one power of two
    den = 1
    for x in Fr + [cap]:
        den = max(den, x.denominator)  # powers of two: the max is the lcm
    ints = None
    if den < 2 ** 62:
        Ci = [int(x * den) for x in Fr]
        capi = int(cap * den)
        if capi < 2 ** 62 and max(Ci) * (max(n) + 1) < 2 ** 62 and all(x.denominator in (1, den) or
                                                                      den % x.denominator == 0 for x in Fr):
            ints = (Ci, capi)
    C = [float(x) for x in Fr]
    capf = float(cap)
    grids = np.meshgrid(*[np.arange(n[i] + 1, dtype=np.int64) for i in others], indexing="ij")
    flat = [gr.ravel() for gr in grids]
    best_val, best_k = -math.inf, None
    for s0 in range(0, size, GRID_MAX):
        if deadline is not None and time.perf_counter() > deadline:
            raise _Stop("time_limit")
        ks = [f[s0:s0 + GRID_MAX] for f in flat]
        if ints is not None:
            Ci, capi = ints
            rem = np.full(len(ks[0]), capi, dtype=np.int64)
            for i, kk in zip(others, ks):
                rem -= kk * Ci[i]
            kl = np.where(rem >= 0, rem // Ci[last], -1)
        else:
            used = np.zeros(len(ks[0]))
            for i, kk in zip(others, ks):
                used += kk * C[i]
            rem = capf - used
            q = rem / C[last]
            # |q − exact| ≤ err: cap rounds once, each product and the sums once, the division once
            err = (U * abs(capf) + (2 * L + 2) * U * (abs(capf) + used)) / C[last] + 2 * U * np.abs(q) + 1e-300
            klf = np.floor(q)
            close = (np.abs(q) <= err) | ((q > err) & ((q - klf <= err) | (klf + 1 - q <= err)))
            kl = klf.astype(np.int64)
            kl[q < 0] = -1  # certainly infeasible where q < −err; |q| ≤ err is re-derived below
            for j in np.flatnonzero(close):  # exact floor where rounding could matter
                remF = cap - sum(Fraction(int(kk[j])) * Fr[i] for i, kk in zip(others, ks))
                kl[j] = math.floor(remF / Fr[last]) if remF >= 0 else -1
        feas = kl >= 0
        kl = np.minimum(kl, n[last])
        tot = pref[last][np.maximum(kl, 0)]
        for i, kk in zip(others, ks):
            tot = tot + pref[i][kk]
        val = np.where(feas, tot, -np.inf)
        j = int(np.argmax(val))
        if val[j] > best_val:
            best_val = float(val[j])
            best_k = [0] * L
            for i, kk in zip(others, ks):
                best_k[i] = int(kk[j])
            best_k[last] = int(kl[j])
    return best_val, best_k


# ----------------------------------------------------------------------------- minknap DP


@dataclass
class _DPOutcome:
    flips: set[int] | None  # window gids whose decision differs from the LP prefix; None: empty set
    z: float
    bound: float
    status: str
    states_max: int
    steps: int
    verified: int = 0


def _dp_solve(core: _Core, B: float, int_values: bool, exact_w: bool, atol: float,
              deadline: float | None, escalate: int | None = None) -> _DPOutcome:
    """Minknap-style DP on the expanding core (see the module docstring).

    A state is (R, P): residual capacity B − Σ c and value Σ v of a solution that
    agrees with the LP prefix outside the decided items. Right moves add the next
    item after the break, left moves remove the next item before it.
    """
    lv0, lc0 = core.left.arrays()[2], core.left.arrays()[3]
    R0 = math.fsum([float(B)] + [-x for x in core.fixed_in_costs().tolist()] + [-x for x in lc0.tolist()])
    P0 = float(np.sum(core.fixed_in_values())) + float(np.sum(lv0))
    R, P = np.array([R0]), np.array([P0])
    levels: list[tuple[int, np.ndarray, np.ndarray]] = []  # (gid, parent, flip) after pruning
    st = dict(nl=0, nr=0, steps=0, proc_c=0.0, cells=0, states_max=1, verified=0)

    def err() -> float:  # bound on |R − exact residual| for every state
        return 0.0 if exact_w else (st["steps"] + 3) * U * (abs(R0) + st["proc_c"]) + 1e-300

    def chain(level: int, q: int) -> set[int]:
        flips: set[int] = set()
        while level > 0:
            gid, parent, flip = levels[level - 1]
            if flip[q]:
                flips.add(gid)
            q = int(parent[q])
            level -= 1
        return flips

    def exact_ok(flips: set[int]) -> bool:
        lg, _, _, lc = core.left.arrays()
        rg, _, _, rc = core.right.arrays()
        fl = np.fromiter(flips, dtype=np.int64, count=len(flips))
        return _fsum_leq([core.fixed_in_costs(), lc[~np.isin(lg, fl)], rc[np.isin(rg, fl)]], B)

    def improves(val: float, z: float) -> bool:
        return val >= z + 1 - 8 * U * abs(val) - 1e-9 if int_values else val > z + atol

    def bounds(Rs: np.ndarray, Ps: np.ndarray, e: float) -> np.ndarray:
        """Upper bound on the value of any completion of each state.

        A completion adds a set X of undecided right items (ratio ≤ r) and removes a
        set Y of undecided left items (ratio ≥ l ≥ r, cost ≥ cl each), keeping
        Σ_X c − Σ_Y c ≤ R. Its gain Σ_X v − Σ_Y v ≤ r Σ_X c − l Σ_Y c, which gives
          R ≥ 0: gain ≤ max(R r if some right item can fit alone (R ≥ cr) else 0,
                            R r − (l − r) cl            if Y ≠ ∅ is possible);
          R < 0: gain ≤ −l |R| − (l − r) max(0, cl − |R|), and −∞ if nothing can be removed.
        (The classical minknap bound is the first term of each case; the cost terms
        stop a tiny residual capacity from keeping states alive forever.)
        """
        r = _next_ratio(core, st["nr"], right=True)
        l = _next_ratio(core, st["nl"], right=False)
        cr = _next_min_cost(core, st["nr"], right=True)
        cl = _next_min_cost(core, st["nl"], right=False)
        rr = r if r is not None else 0.0
        room = Rs >= -e
        ub = np.empty(len(Rs))
        Rr = np.maximum(Rs[room] + e, 0.0)
        gain = np.where(Rr >= (cr if cr is not None else math.inf), Rr * rr, 0.0)
        if l is not None:
            gain = np.maximum(gain, Rr * rr - (l - rr) * cl)
        ub[room] = Ps[room] + gain
        over = ~room
        if l is None:
            ub[over] = -np.inf
        else:
            deficit = np.maximum(-(Rs[over] + e), 0.0)
            ub[over] = Ps[over] - l * deficit - (l - rr) * np.maximum(cl - deficit, 0.0)
        return ub + 4 * U * np.abs(np.where(np.isfinite(ub), ub, 0.0))

    def alive_mask(ub: np.ndarray, z: float) -> np.ndarray:
        if int_values:  # an improvement is ≥ 1; the float bound carries ≤ 8u|ub| of rounding
            return ub >= z + 1 - 8 * U * np.abs(np.where(np.isfinite(ub), ub, 0.0)) - 1e-9
        return ub > z + atol

    def finish(status: str, z: float, z_flips: set[int] | None) -> _DPOutcome:
        if status == "optimal":
            bound = z if int_values else z + atol
        else:
            ub = bounds(R, P, err()) if len(R) else np.array([-np.inf])
            bound = min(core.lp, max(z + atol, float(np.max(ub))))
        return _DPOutcome(z_flips, z, bound, status, st["states_max"], st["steps"], st["verified"])

    z, z_flips = 0.0, None
    e = err()
    if R0 >= e or (R0 >= -e and exact_ok(set())):
        z, z_flips = P0, set()
    while True:
        moved = False
        for left in (False, True):
            if deadline is not None and time.perf_counter() > deadline:
                return finish("time_limit", z, z_flips)
            side = core.left if left else core.right
            j = st["nl"] if left else st["nr"]
            if j >= side.n:
                e = err()
                need = bool(np.any(R < e)) if left else bool(np.any(R >= -e))
                if not need or not core.grow(left, max(WINDOW0, side.n)):
                    continue
            gids, _, vs, cs = side.arrays()
            gid, cj, vj = int(gids[j]), float(cs[j]), float(vs[j])
            Rn, Pn = (R + cj, P - vj) if left else (R - cj, P + vj)
            st["nl" if left else "nr"] += 1
            st["proc_c"] += cj
            st["steps"] += 1
            moved = True
            # merge old (flip False) and new (flip True); residual descending, value descending
            m = len(R)
            Ra, Pa = np.concatenate([R, Rn]), np.concatenate([P, Pn])
            par = np.concatenate([np.arange(m), np.arange(m)])
            flp = np.concatenate([np.zeros(m, bool), np.ones(m, bool)])
            o = np.lexsort((-Pa, -Ra))
            Ra, Pa, par, flp = Ra[o], Pa[o], par[o], flp[o]
            # Pareto front: keep a state only if its value beats every state with more room
            keep = Pa > np.maximum.accumulate(np.concatenate(([-np.inf], Pa[:-1])))
            Ra, Pa, par, flp = Ra[keep], Pa[keep], par[keep], flp[keep]
            e = err()
            # incumbent: best states with room (certainly feasible, or checked exactly)
            cand = np.flatnonzero(Ra >= -e)
            for q in cand[np.argsort(-Pa[cand], kind="stable")][:16]:
                if not improves(float(Pa[q]), z):
                    break
                flips = chain(len(levels), int(par[q]))
                if flp[q]:
                    flips.add(gid)
                if Ra[q] >= e:
                    z, z_flips = float(Pa[q]), flips
                    break
                st["verified"] += 1
                if exact_ok(flips):
                    z, z_flips = float(Pa[q]), flips
                    break
                Ra[q] = -2 * e - 1e-300  # over capacity after all: treat it so from now on
            ub = bounds(Ra, Pa, e)
            alive = np.flatnonzero(alive_mask(ub, z))
            R, P = Ra[alive], Pa[alive]
            levels.append((gid, par[alive].astype(np.int32), flp[alive]))
            st["cells"] += len(alive)
            st["states_max"] = max(st["states_max"], len(alive))
            if not len(R):
                return finish("optimal", z, z_flips)
            if escalate is not None and len(R) > escalate:  # a hard instance: combo takes over
                return finish("escalate", z, z_flips)
            if escalate is not None and st["cells"] > STATE_CELLS_MAX // 4:  # long histories: hard too
                return finish("escalate", z, z_flips)
            if st["cells"] > STATE_CELLS_MAX:
                st["cells"] = _gc_levels(levels, len(R))  # drop histories no live state descends from
                st["gcs"] = st.get("gcs", 0) + 1
                if st["cells"] > STATE_CELLS_MAX // 2:
                    return finish("memory_limit", z, z_flips)
        if not moved:
            # no state can use any further item: each is a complete solution, none better than z
            e = err()
            if len(R) and np.any(alive_mask(bounds(R, P, e), z)):  # pragma: no cover - defensive
                return finish("incomplete", z, z_flips)
            return finish("optimal", z, z_flips)


def _gc_levels(levels: list[tuple[int, np.ndarray, np.ndarray]], n_live: int) -> int:
    """Keep only the history entries some live state descends from; returns the cells left.

    The live states are the last level's entries, whose indices do not change.
    """
    keep = np.arange(n_live)
    cells = 0
    for lev in range(len(levels) - 1, -1, -1):
        gid, parent, flip = levels[lev]
        sub_parent, sub_flip = parent[keep], flip[keep]
        uk, inv = np.unique(sub_parent, return_inverse=True)
        levels[lev] = (gid, inv.astype(np.int32), sub_flip)
        cells += len(inv)
        keep = uk
    return cells


def _next_min_cost(core: _Core, n_done: int, right: bool) -> float | None:
    """A lower bound on the cost of every undecided item on a side (None: no item left)."""
    side = core.right if right else core.left
    pool = core.pool_r if right else core.pool_l
    best = math.inf
    if n_done < side.n:
        best = float(side.sufmin()[n_done])
    if len(pool.c):
        best = min(best, float(pool.c.min()))
    if not pool.final:
        best = min(best, core.data.inp.cmin)  # beyond the pool: any cost
    return None if best == math.inf else best


def _next_ratio(core: _Core, n_done: int, right: bool) -> float | None:
    """Ratio of the next undecided item on a side (a bound when it lies outside the window).

    None: there is no item left on that side at all.
    """
    side = core.right if right else core.left
    if n_done < side.n:
        return float(side.arrays()[1][n_done])
    pool = core.pool_r if right else core.pool_l
    return pool.next_key(not right)


# ----------------------------------------------------------------------------- combo (hard families)

COMBO_MEM_MAX = 2_500_000_000  # bytes: the DP's state arrays (double-buffered) + its checkpoints
CLASS_SPLIT_STATES = 1_000_000  # live states at which the first DP pass stops to try the class split
# (`_class_split`): 0.3 GB of state arrays, a second or two; above the peak (≤ 0.6 M states) of every
# issue-18 instance the DP proves without the split
ESCALATE_STATES = 20_000  # minknap hands an integer instance to the combo path beyond this many states
COMBO_INT_MAX = 2 ** 26  # profits and weights below this: exact float ratios, int64 products and sums
PAIR_EVERY = 16  # levels between pairings of the states with the undecided items (doubling while
# they find nothing)
CHECKPOINT = 64  # levels per history checkpoint (one uint64 of decisions per state)
STATE_BYTES = 40  # W, P, D, K (int64) and the decision bits (uint64) of one state
_I62 = 2 ** 62

_COMBO: dict[str, Any] = {}


def _k_step(W, P, D, K, M, m, dw, dp, dk, dkeep, dflip, bit, oW, oP, oD, oK, oM, Dcap, C, T, S, kq, rho_r,
            rho_l, has_r, has_l, mk, pr, wr, rho_r2, pl, wl, rho_l2, has_l2):
    """One DP level: merge the states that keep item j's base decision with those that flip it.

    States are sorted by weight W ascending with value P strictly ascending (a Pareto
    front). The flipped copy is the same list shifted by (dw, dp), so the two are
    merged in one pass. A state whose P does not exceed every lighter state's P is
    dominated (also when the lighter state is dropped by a bound: that one's
    completions already cannot reach T). A state is kept only if D ≤ Dcap (Lagrangian
    bound) and, when mk, its surrogate Martello–Toth bound reaches T. With the
    surrogate residual r = C − W + S (kq − K) (S = μ/λ, K the state's item count)
    every completion gains at most r·rho_r (r ≥ 0: add undecided items of surrogate
    ratio ≤ rho_r) or r·rho_l (r < 0: remove items of ratio ≥ rho_l); MT branches on
    the next item instead: for r ≥ 0 the next right item (pr, surrogate weight wr)
    is left out (r·rho_r2, rho_r2 the rest's ratio) or put in (pr + r'·rho_r2 or
    pr + r'·rho_l, r' = r − wr); for r < 0 the next left item (pl, wl) stays (r·rho_l2)
    or goes (−pl + r'·rho_r or −pl + r'·rho_l2, r' = r + wl). The float rounding is
    covered by a relative margin of 1e-13 plus 1e-6.
    Returns the number of states written to the o* arrays.
    """
    i = 0
    j = 0
    k = 0
    best = -(2 ** 62)
    while i < m or j < m:
        take_i = False
        if j >= m:
            take_i = True
        elif i < m:
            wj = W[j] + dw
            if W[i] < wj or (W[i] == wj and P[i] >= P[j] + dp):
                take_i = True
        if take_i:
            w_ = W[i]
            p_ = P[i]
            d_ = D[i] + dkeep
            k_ = K[i]
            mm = M[i]
            i += 1
        else:
            w_ = W[j] + dw
            p_ = P[j] + dp
            d_ = D[j] + dflip
            k_ = K[j] + dk
            mm = M[j] | bit
            j += 1
        if p_ <= best:
            continue
        best = p_
        if d_ > Dcap:
            continue
        if mk:
            sk = S * (kq - k_)
            r = (C - w_) + sk
            if r >= 0.0:
                if has_r:
                    t = r * rho_r2  # the next right item out
                    r2 = r - wr
                    t2 = pr + (r2 * rho_r2 if r2 >= 0.0 else (r2 * rho_l if has_l else -1e300))
                    t = max(t, t2)
                else:
                    t = 0.0
                rho = max(rho_r, rho_l)
            elif has_l:
                t = r * rho_l2 if has_l2 else -1e300  # the next left item stays
                r2 = r + wl
                t2 = -pl + (r2 * rho_r if r2 >= 0.0 else (r2 * rho_l2 if has_l2 else -1e300))
                t = max(t, t2)
                rho = max(rho_r, rho_l)
            else:
                continue
            if t < -1e299:
                continue
            if p_ + t + 1e-13 * (abs(p_) + abs(t) + (abs(sk) + abs(r) + wr + wl) * rho) + 1e-6 < T:
                continue
        oW[k] = w_
        oP[k] = p_
        oD[k] = d_
        oK[k] = k_
        oM[k] = mm
        k += 1
    return k


def _k_pair(W, P, m, C, addW, addP, addI, remW, remP, remI, z):
    """Pair every state with one undecided item (combo's pairing): the best solution found.

    A state with room r = C − W ≥ 0 adds the most valuable undecided item of weight ≤ r
    (addP: running maximum over addW ascending); an overfull state removes the least
    valuable undecided item of weight ≥ W − C (remP: running minimum from the right).
    Returns (value, state index, item index, sign); value ≤ z when nothing beats z.
    """
    bv = z
    bs = -1
    bi = -1
    sg = 0
    na = addW.shape[0]
    nr = remW.shape[0]
    for s in range(m):
        r = C - W[s]
        if r >= 0:
            if na:
                q = np.searchsorted(addW, r, side="right") - 1
                if q >= 0 and P[s] + addP[q] > bv:
                    bv = P[s] + addP[q]
                    bs = s
                    bi = addI[q]
                    sg = 1
        elif nr:
            q = np.searchsorted(remW, -r, side="left")
            if q < nr and P[s] - remP[q] > bv:
                bv = P[s] - remP[q]
                bs = s
                bi = remI[q]
                sg = -1
    return bv, bs, bi, sg


def _k_fill(w, C, x):
    """Greedy fill: take each item, in the given order, that still fits (x: output mask)."""
    r = C
    for i in range(w.shape[0]):
        if w[i] <= r:
            x[i] = True
            r -= w[i]
    return r


def _combo_kernels() -> tuple[Any, Any, Any] | None:
    """The jitted DP kernels, or None without numba (imported and compiled on first use, cached)."""
    if "k" not in _COMBO:
        try:
            import numba
        except ImportError:
            _COMBO["k"] = None
        else:
            _COMBO["k"] = tuple(numba.njit(cache=True)(f) for f in (_k_step, _k_pair, _k_fill))
    return _COMBO["k"]


def combo_available() -> bool:
    """True when the combo path can run (numba importable; nothing is compiled here)."""
    if "k" in _COMBO:
        return _COMBO["k"] is not None
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def _isum(a: np.ndarray) -> int:
    """Exact Σ of an int64 array (Python integers when int64 could overflow)."""
    if not len(a):
        return 0
    if len(a) * max(abs(int(a.max())), abs(int(a.min()))) < _I62:
        return int(a.sum())
    return sum(a.tolist())


def _lagrange_bound(p: np.ndarray, w: np.ndarray, C: int, A: int, Q: int, MQ: int, k: int) -> int:
    """⌊λC + μk + Σ max(0, p − λw − μ)⌋ with λ = A/Q, μ = MQ/Q, exactly (Python integers).

    An upper bound on every solution with Σw ≤ C whose cardinality satisfies the
    constraint μ stands for: Σx ≤ k when μ ≥ 0, Σx ≥ k when μ < 0 (λ ≥ 0).
    """
    rc = Q * p - A * w - MQ
    num = A * C + MQ * k + _isum(rc[rc > 0])
    return num // Q


def _binary_split(p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Identical items (same p and w) as bounded-knapsack groups split into powers of two.

    A group of c copies becomes items of multiplicity 1, 2, 4, …, 2^(k−1) and
    c − (2^k − 1) (k = ⌊log2(c + 1)⌋), whose subsets take every count 0..c exactly
    once as a sum: the 0/1 problem on them has the same solutions, in counts, as the
    original. Returns (group of each original item, the split items' group, multiplicity).
    """
    key = p * (int(w.max()) + 1) + w
    _, first, inv, cnt = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    groups, mults = [], []
    kbits = np.floor(np.log2(cnt + 1)).astype(np.int64)
    kbits = np.where((1 << (kbits + 1)) - 1 <= cnt, kbits + 1, kbits)  # float log2 at powers of two
    kbits = np.where((1 << kbits) - 1 > cnt, kbits - 1, kbits)
    for bitpos in range(int(kbits.max())):
        g = np.flatnonzero(kbits > bitpos)
        groups.append(g)
        mults.append(np.full(len(g), 1 << bitpos, np.int64))
    rem = cnt - ((1 << kbits) - 1)
    g = np.flatnonzero(rem > 0)
    groups.append(g)
    mults.append(rem[g])
    grp = np.concatenate(groups)
    mult = np.concatenate(mults)
    return inv.ravel(), first, grp, mult


@dataclass
class _ComboOutcome:
    x: np.ndarray  # bool mask over the items given
    z: int
    bound: int
    status: str
    stats: dict[str, Any]


@dataclass(frozen=True)
class _Multipliers:
    """Exact multipliers λ = A/Q, μ = MQ/Q of the LP with the cardinality constraint, and ν = NQ/Q of
    a class constraint on the items of weight ≥ tau (the class split, `_class_split`; ν = 0 without)."""

    num: int  # Q · U: λC + μ·kq + ν·hq + Σ max(0, p − λw − μ − ν[w ≥ tau]), times Q, exactly
    Q: int
    A: int
    MQ: int
    kq: int  # the cardinality μ goes with: k_max when μ > 0 (Σx ≤ k_max), k_min when μ < 0 (Σx ≥ k_min)
    NQ: int = 0  # ν·Q: ν ≥ 0 goes with Σ_{w ≥ tau} x ≤ hq, ν ≤ 0 with Σ_{w ≥ tau} x ≥ hq
    hq: int = 0
    tau: int = 0  # the class: items of weight ≥ tau

    def rc(self, p: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Q · (p − λw − μ − ν[w ≥ tau]) of each item, exactly (int64: Q is chosen so that it fits)."""
        rc = self.Q * p - self.A * w - self.MQ
        return rc - self.NQ * (w >= self.tau) if self.NQ else rc

    def with_num(self, p: np.ndarray, w: np.ndarray, C: int) -> "_Multipliers":
        """These multipliers with num, the Lagrangian bound times Q, computed exactly on (p, w, C)."""
        rc = self.rc(p, w)
        return replace(self, num=self.A * C + self.MQ * self.kq + self.NQ * self.hq + _isum(rc[rc > 0]))


def _card_multipliers(p: np.ndarray, w: np.ndarray, C: int, k_min: int, k_max: int,
                      deadline: float | None) -> _Multipliers:
    """The LP with the cardinality constraint in its Lagrangian dual: golden-section search in λ
    (the best μ for each λ is an order statistic), then exact rationals near the float λ.

    Every (λ ≥ 0, μ) gives a valid bound, so the search may stop at the deadline; the candidate
    with the least exact bound wins (convergents of λ and λ on a 2^s grid, Q small enough that no
    sum overflows int64)."""
    n = len(p)

    def mu_of(a: np.ndarray) -> tuple[Any, int]:
        """The best μ for reduced profits a = p − λw: an order statistic of a (same dtype)."""
        kth = sorted({n - k_max - 1 if k_max < n else 0, n - k_min})
        part = np.partition(a, kth)
        if k_max < n and part[n - k_max - 1] > 0:
            return part[n - k_max - 1], k_max
        if part[n - k_min] < 0:
            return part[n - k_min], k_min
        return a.dtype.type(0), 0

    pf, wf = p.astype(np.float64), w.astype(np.float64)

    def dual(lam: float) -> float:
        a = pf - lam * wf
        mu, kk = mu_of(a)
        return lam * C + float(mu) * kk + float(np.maximum(a - mu, 0.0).sum())

    lo, hi = 0.0, float(p.max()) / float(w.min()) + 1.0  # λ* may exceed every ratio (μ < 0)
    phi = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - phi * (hi - lo), lo + phi * (hi - lo)
    f1, f2 = dual(x1), dual(x2)
    for _ in range(100):
        if deadline is not None and time.perf_counter() > deadline:
            break  # any λ ≥ 0 gives a valid bound: stop refining it
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - phi * (hi - lo)
            f1 = dual(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + phi * (hi - lo)
            f2 = dual(x2)
    lam = (lo + hi) / 2
    big = max(int(p.max()), int(math.ceil(lam + 1)) * int(w.max()))
    s = max(0, min(30, 60 - big.bit_length() - max(1, n.bit_length())))
    cands = {(int(round(lam * (1 << s))), 1 << s)}
    fr = Fraction(lam)
    for den in (1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 100, 256, 1000, 1024, 10_000, 65_536, 1 << 20):
        if den <= 1 << s:
            f = fr.limit_denominator(den)
            cands.add((f.numerator, f.denominator))
    best: _Multipliers | None = None
    for A, Q in sorted(cands):
        if A < 0:
            continue
        muq, kq = mu_of(Q * p - A * w)
        # μ ≥ 0 goes with Σx ≤ k_max, μ < 0 with Σx ≥ k_min (improving solutions)
        cand = _Multipliers(0, Q, A, int(muq), kq).with_num(p, w, C)
        if best is None or cand.num * best.Q < best.num * Q:
            best = cand
    assert best is not None
    return best


class _SplitItems:
    """Identical items split in powers of two (bounded-knapsack groups), in the multipliers' terms:
    reduced costs, LP values, the surrogate weights w + S·mult (S = μ/λ) and their ratio order."""

    def __init__(self, p: np.ndarray, w: np.ndarray, C: int, mu: _Multipliers):
        self.n = len(p)
        inv, first, self.grp, self.mult = _binary_split(p, w)
        self.n_groups = len(first)
        self.sp, self.sw = p[first][self.grp] * self.mult, w[first][self.grp] * self.mult
        rc = self.mult * mu.rc(p[first][self.grp], w[first][self.grp])
        self.xstar = rc > 0  # the item's LP value with the multipliers
        self.absrc = np.abs(rc)  # what deviating from it costs, in Q units
        S = mu.MQ / mu.A if mu.A > 0 else 0.0
        if S != 0.0 and not bool(np.all(w[first] + S > 0)):
            S = 0.0  # the surrogate weights must stay positive for the ratio order
        self.S = S
        self.swS = self.sw + S * self.mult
        self.rho = self.sp / self.swS
        ns = len(self.sp)
        # surrogate ratio, ties by the plain ratio
        self.sorder = np.lexsort((np.arange(ns), -(self.sp / self.sw), -self.rho))
        self.Cs = C + S * mu.kq
        self.members = np.argsort(inv, kind="stable")  # original items, grouped
        self.gstart = np.concatenate(([0], np.cumsum(np.bincount(inv, minlength=self.n_groups))))

    def to_items(self, xsel: np.ndarray) -> np.ndarray:
        """Split-item selection → a mask over the original items (that many copies per group)."""
        cnt = np.bincount(self.grp[xsel], weights=self.mult[xsel], minlength=self.n_groups).astype(np.int64)
        x = np.zeros(self.n, bool)
        for g_ in np.flatnonzero(cnt):
            x[self.members[self.gstart[g_]:self.gstart[g_] + cnt[g_]]] = True
        return x


@dataclass
class _ComboPass:
    """One DP pass over a core: what it found and why it stopped."""

    z: int
    x: np.ndarray | None  # the better solution found (split-item mask), None if none
    status: str  # "optimal" (the front emptied or every item was decided), or the limit reached
    recore: bool  # stopped to restart on the core a better incumbent shrank
    live_ub: int  # the largest Lagrangian bound of a live state (when stopped by a limit)
    core_n: int
    states_peak: int
    levels: int
    pair_hits: int


def _combo_pass(it: _SplitItems, mu: _Multipliers, C: int, z: int, U: int, gp: int, deadline: float | None,
                mem_max: int) -> _ComboPass:
    """minknap's DP on the core of the split items (|reduced cost| ≤ the gap to the target),
    from the surrogate break outward, with pairing and history checkpoints (see _combo_solve)."""
    k_step, k_pair, _ = _combo_kernels()  # type: ignore[misc]
    sp, sw, swS, mult, absrc = it.sp, it.sw, it.swS, it.mult, it.absrc
    ns = len(sp)
    Q, num2, kq, S = mu.Q, mu.num, mu.kq, it.S
    T = gp * (z // gp + 1)
    core = absrc <= mu.num - Q * T
    core_n = int(core.sum())
    cidx = it.sorder[core[it.sorder]]  # core items in surrogate order
    base = it.xstar & ~core
    room = it.Cs - float(np.sum(swS[base]))
    ccw = np.cumsum(swS[cidx])
    cb = int(np.searchsorted(ccw, room, side="right"))
    base[cidx[:cb]] = True
    left = cidx[:cb][::-1]  # base 1: removed nearest-the-break first
    right = cidx[cb:]  # base 0: added nearest-the-break first
    dev = base != it.xstar  # there the base disagrees with the LP: keeping it costs |rc|
    # ratio bounds of what is undecided: max over the right tail, min over the left tail
    rho = it.rho
    rmax = np.maximum.accumulate(rho[right][::-1])[::-1] * (1 + 1e-15) if len(right) else rho[:0]
    lmin = np.minimum.accumulate(rho[left][::-1])[::-1] * (1 - 1e-15) if len(left) else rho[:0]
    W0, P0, K0 = _isum(sw[base]), _isum(sp[base]), _isum(mult[base])
    cap0 = 1024
    bufs = [np.empty(cap0, np.int64) for _ in range(4)] + [np.empty(cap0, np.uint64)]
    outs = [np.empty(2 * cap0, np.int64) for _ in range(4)] + [np.empty(2 * cap0, np.uint64)]
    Wc, Pc, Dc, Kc, Mc = bufs
    Wc[0], Pc[0], Dc[0], Kc[0], Mc[0] = W0, P0, 0, K0, 0
    m = 1
    lev_item: list[int] = [-1]
    checkpoints: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    ck_bytes = 0
    inc: tuple[int, int, int, int] | None = None  # (level, bits, W, extra item or -1)
    if W0 <= C and P0 > z:
        z, inc = P0, (0, 0, W0, -1)
    nl = nr = 0
    level = 0
    und = np.ones(ns, bool)
    last_pair = -PAIR_EVERY
    pair_every = PAIR_EVERY
    recore = False
    status = "optimal"
    states_peak = 1
    pair_hits = 0
    while True:
        if z >= U:
            break
        T = gp * (z // gp + 1)
        Dcap = min(num2 - Q * T, _I62)
        if Dcap < 0 or m == 0:
            break
        if 2 * core_n > 3 * int((absrc <= Dcap).sum()) and level > 0 and z > 0:
            recore = True  # the better incumbent shrinks the core by a third: restart on it
            break
        if deadline is not None and time.perf_counter() > deadline:
            status = "time_limit"
            break
        if level - last_pair >= pair_every:  # pairing: incumbents from one undecided item
            last_pair = level
            pair_every *= 2  # back off while pairing finds nothing (it costs m log n)
            bv, bs, bi = _combo_pairing(k_pair, Wc, Pc, m, C, sp, sw, und & ~base, und & base, z)
            if bs >= 0 and bv > z:
                z = int(bv)
                bits = int(Mc[bs])
                if level in checkpoints:  # the bits were reset after the checkpoint: take them back
                    cw_, cm_ = checkpoints[level]
                    bits = int(cm_[int(np.searchsorted(cw_, Wc[bs]))])
                inc = (level, bits, int(Wc[bs]), int(bi))
                pair_hits += 1
                pair_every = PAIR_EVERY
                continue
        go_right = (level % 2 == 0 and nr < len(right)) or nl >= len(left)
        if go_right:
            if nr >= len(right):
                break  # every core item decided: the states are complete solutions
            j = int(right[nr])
            nr += 1
            dw, dp, dk = int(sw[j]), int(sp[j]), int(mult[j])
        else:
            j = int(left[nl])
            nl += 1
            dw, dp, dk = -int(sw[j]), -int(sp[j]), -int(mult[j])
        und[j] = False
        dkeep = int(absrc[j]) if dev[j] else 0
        dflip = 0 if dev[j] else int(absrc[j])
        has_r, has_l = nr < len(right), nl < len(left)
        rho_r = float(rmax[nr]) if has_r else 0.0
        rho_l = float(lmin[nl]) if has_l else 0.0
        # MT: the next item on each side and the ratio bound of the rest beyond it
        pr_ = float(sp[right[nr]]) if has_r else 0.0
        wr_ = float(swS[right[nr]]) if has_r else 0.0
        rho_r2 = float(rmax[nr + 1]) if nr + 1 < len(right) else 0.0
        pl_ = float(sp[left[nl]]) if has_l else 0.0
        wl_ = float(swS[left[nl]]) if has_l else 0.0
        has_l2 = nl + 1 < len(left)
        rho_l2 = float(lmin[nl + 1]) if has_l2 else 0.0
        use_mk = not (has_r and has_l and rho_l < rho_r)  # (never, unless floats tie oddly)
        if 2 * m > len(outs[0]):
            if STATE_BYTES * 4 * m * 2 + ck_bytes > mem_max:
                status = "memory_limit"
                break
            outs = [np.empty(4 * m, np.int64) for _ in range(4)] + [np.empty(4 * m, np.uint64)]
        level += 1
        lev_item.append(j)
        bit = np.uint64(1) << np.uint64((level - 1) % CHECKPOINT)
        oW, oP, oD, oK, oM = outs
        m = int(k_step(Wc, Pc, Dc, Kc, Mc, m, dw, dp, dk, dkeep, dflip, bit, oW, oP, oD, oK, oM, Dcap, C,
                       T, S, kq, rho_r, rho_l, has_r, has_l, use_mk, pr_, wr_, rho_r2, pl_, wl_, rho_l2,
                       has_l2))
        outs, bufs = bufs, outs
        Wc, Pc, Dc, Kc, Mc = bufs
        states_peak = max(states_peak, m)
        if m:
            q = int(np.searchsorted(Wc[:m], C, side="right")) - 1
            if q >= 0 and Pc[q] > z:
                z = int(Pc[q])
                inc = (level, int(Mc[q]), int(Wc[q]), -1)
        if level % CHECKPOINT == 0 and m:
            if ck_bytes + 16 * m + STATE_BYTES * 3 * m > mem_max:
                status = "memory_limit"
                break
            checkpoints[level] = (Wc[:m].copy(), Mc[:m].copy())
            ck_bytes += 16 * m
            Mc[:m] = 0
    live_ub = z
    if status != "optimal" and m:
        live_ub = max(z, int(((num2 - Dc[:m]) // Q).max()))
    x = None if inc is None else _combo_rebuild(inc, base, sw, lev_item, checkpoints)
    return _ComboPass(z, x, status, recore, live_ub, core_n, states_peak, level, pair_hits)


def _combo_pairing(k_pair: Any, Wc: np.ndarray, Pc: np.ndarray, m: int, C: int, sp: np.ndarray,
                   sw: np.ndarray, add: np.ndarray, rem: np.ndarray, z: int) -> tuple[int, int, int]:
    """Pair each of the m states with the best single undecided item (`add`: may be added, `rem`:
    may be removed): (value, state, item) of the best pairing; value ≤ z when none beats z."""
    ai = np.flatnonzero(add)
    ai = ai[np.argsort(sw[ai], kind="stable")]
    ri = np.flatnonzero(rem)
    ri = ri[np.argsort(sw[ri], kind="stable")]
    addP = np.maximum.accumulate(sp[ai]) if len(ai) else sp[:0]
    addI = ai[_argmax_prefix(sp[ai])] if len(ai) else ai
    remP = np.minimum.accumulate(sp[ri][::-1])[::-1] if len(ri) else sp[:0]
    remI = ri[_argmin_suffix(sp[ri])] if len(ri) else ri
    bv, bs, bi, _ = k_pair(Wc, Pc, m, C, sw[ai], addP, addI.astype(np.int64), sw[ri], remP,
                           remI.astype(np.int64), z)
    return bv, bs, bi


def _combo_rebuild(inc: tuple[int, int, int, int], base: np.ndarray, sw: np.ndarray, lev_item: list[int],
                   checkpoints: dict[int, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The incumbent's split-item mask from its decision bits: walk back checkpoint by checkpoint,
    finding the ancestor at each by its weight (unique on the front)."""
    L, bits, Wst, extra = inc
    xs = base.copy()
    flips: list[int] = []
    while L > 0:
        L0 = CHECKPOINT * ((L - 1) // CHECKPOINT)
        for lv in range(L0 + 1, L + 1):
            if (bits >> ((lv - 1) % CHECKPOINT)) & 1:
                jj = lev_item[lv]
                flips.append(jj)
                Wst -= -int(sw[jj]) if base[jj] else int(sw[jj])
        if L0 == 0:
            break
        cw_, cm_ = checkpoints[L0]
        qi = int(np.searchsorted(cw_, Wst))
        if not (qi < len(cw_) and cw_[qi] == Wst):  # pragma: no cover - exact integer bookkeeping
            raise AssertionError("combo: a state's ancestor is missing from its checkpoint")
        bits, L = int(cm_[qi]), L0
    fl = np.array(flips, dtype=np.int64)
    xs[fl] = ~xs[fl]
    if extra >= 0:
        xs[extra] = ~xs[extra]
    return xs


def _combo_solve(p: np.ndarray, w: np.ndarray, C: int, x0: np.ndarray | None, deadline: float | None,
                 mem_max: int = COMBO_MEM_MAX) -> _ComboOutcome:
    """combo's additions to minknap on an integer instance (Martello, Pisinger & Toth 1999).

    p, w: int64 profits and weights (1 ≤ w ≤ C, p ≥ 1, both < COMBO_INT_MAX); x0 an
    incumbent (a feasible mask) or None. Every bound is exact integer arithmetic (or
    float with a stated margin) and valid for whatever multipliers the searches return:
    - capacity reduced to a multiple of gcd(w); bounds rounded down to a multiple of gcd(p);
    - Dantzig's LP bound and the Martello–Toth bound U2 (branch on the break item);
    - the cardinality bound: every solution has ≤ k_max items (the k_max lightest fit),
      every improving one ≥ k_min (the k_min most valuable reach the target); the LP
      with that constraint is solved in its Lagrangian dual (λ, μ) (`_card_multipliers`):
      its value is that of the surrogate relaxation Σ(w + S)x ≤ C + S·k at S = μ/λ;
    - identical items are grouped and split in powers of two (bounded knapsack, `_SplitItems`);
    - reduced-cost fixing with (λ, μ): an item whose |p − λw − μ| exceeds the gap to the
      target is fixed at its LP value; the others form the core, rebuilt (the DP
      restarted) when a better incumbent shrinks it by a third;
    - minknap DP on the core from the surrogate break outward, in surrogate-ratio order
      p/(w + S) (`_combo_pass`); states (W, P) on a Pareto front (dominance), each bounded
      by the surrogate minknap bound and by the Lagrangian bound (U_card − D, D the reduced
      costs of its decisions against the LP);
    - pairing: the states are paired with the best single undecided item;
    - histories: one uint64 of decisions per state, checkpoints every 64 levels (a state
      is found again at a checkpoint by its weight, unique on the front; `_combo_rebuild`);
    - the class split (not in combo; `_class_split`): a first DP pass that reaches
      CLASS_SPLIT_STATES live states stops; every solution has ≤ h or ≥ h + 1 items of weight
      ≥ tau = w_b − r (b the break item, r the capacity left before it; h = ⌊h*⌋, h* that
      count in the LP optimum), and each side's LP (cardinality constraint included, on
      the core) prices the exchange that makes room for b as whole items. When the larger
      side's bound is below U, the DP runs on each side whose bound beats z (`_class_split_run`);
      otherwise the DP runs again without the cap.
    Memory cap: `mem_max` bytes for the state arrays (40 bytes a state, double-buffered)
    and the checkpoints (16 bytes a state); "memory_limit" when the next level would
    pass it, "time_limit" at the deadline. The bound is then the largest Lagrangian
    bound of a live state (never below z, never above the root bounds).
    """
    kern = _combo_kernels()
    assert kern is not None
    k_fill = kern[2]
    t0 = time.perf_counter()
    n = len(p)
    stats: dict[str, Any] = {"n": n}
    gw = int(np.gcd.reduce(w))
    gp = int(np.gcd.reduce(p))
    C = (C // gw) * gw
    stats.update(gcd_w=gw, gcd_p=gp, capacity_reduced=C)
    ratio = p / w
    order = np.lexsort((np.arange(n), -ratio))  # exact: p, w < 2^26 order exactly in float64
    ps, ws = p[order], w[order]
    cw = np.cumsum(ws)
    b = int(np.searchsorted(cw, C, side="right"))  # break item (first that does not fit)
    if x0 is None:
        x_best = np.zeros(n, bool)
        x_best[order[:b]] = True
    else:
        x_best = x0.copy()
    z = _isum(p[x_best])
    assert _isum(w[x_best]) <= C

    def done(status: str, bound: int, **kw: Any) -> _ComboOutcome:
        stats.update(kw, seconds=time.perf_counter() - t0)
        return _ComboOutcome(x_best, z, max(z, bound), status, stats)

    if b >= n:
        x_best = np.ones(n, bool)
        z = _isum(p)
        return done("optimal", z, solved_by="all fit")
    # Dantzig and Martello–Toth bounds, exactly
    U_lp = _lagrange_bound(ps, ws, C, int(ps[b]), int(ws[b]), 0, 0)
    rest = np.ones(n, bool)
    rest[b] = False
    if b + 1 < n:
        U_mt = _lagrange_bound(ps[rest], ws[rest], C, int(ps[b + 1]), int(ws[b + 1]), 0, 0)
    else:
        U_mt = _isum(ps[:b])
    if b >= 1 and C >= ws[b]:
        U_mt = max(U_mt, int(ps[b]) + _lagrange_bound(ps[rest], ws[rest], C - int(ws[b]), int(ps[b - 1]),
                                                      int(ws[b - 1]), 0, 0))
    U = gp * (min(U_lp, U_mt) // gp)
    stats.update(U_lp=U_lp, U_mt=U_mt)
    # cardinality bounds
    k_max = int(np.searchsorted(np.cumsum(np.sort(w)), C, side="right"))
    psd = np.cumsum(np.sort(p)[::-1])
    k = int(np.searchsorted(psd, gp * (z // gp + 1), side="left"))
    if z >= U or k >= n or k + 1 > k_max:
        return done("optimal", z, solved_by="root bounds")
    k_min = k + 1
    mu = _card_multipliers(p, w, C, k_min, k_max, deadline)
    U = gp * (min(U, mu.num // mu.Q) // gp)
    stats.update(U_card=mu.num // mu.Q, U=U, k_min=k_min, k_max=k_max, lam=mu.A / mu.Q, mu=mu.MQ / mu.Q)
    if z >= U:
        return done("optimal", z, solved_by="root bounds")
    it = _SplitItems(p, w, C, mu)
    stats.update(items_split=len(it.sp), surrogate_S=it.S)
    # greedy fill in the surrogate order: with the cardinality bound in play it lands near U_card
    xf = np.zeros(len(it.sp), bool)
    k_fill(it.sw[it.sorder], C, xf)
    xs_fill = np.zeros(len(it.sp), bool)
    xs_fill[it.sorder] = xf
    if _isum(it.sp[xs_fill]) > z:
        x_best = it.to_items(xs_fill)
        z = _isum(p[x_best])
        stats["fill"] = z
    tally = {"states_max": 1, "levels": 0, "restarts": 0, "pair_hits": 0, "core": 0}
    first_mem = min(mem_max, CLASS_SPLIT_STATES * 8 * STATE_BYTES)  # first pass's cap: the split may follow
    z, x_new, status, bound = _combo_run(p, w, it, mu, C, z, U, gp, deadline, first_mem, tally)
    if x_new is not None:
        x_best = x_new
    if status == "memory_limit" and first_mem < mem_max:
        split = _class_split(p, w, C, k_min, k_max, mu, z, gp, int(ws[b]) - (C - int(cw[b - 1]) if b else C))
        if isinstance(split, _ClassSplit):
            stats.update(class_split_tau=split.tau, class_split_h=split.h_star,
                         class_split_U=[u for u, _ in split.branches])
            if max(u for u, _ in split.branches) >= U:
                split = "no split: neither side's bound is below U"
        stats["class_split"] = split if isinstance(split, str) else "split"
        if isinstance(split, str):  # no better: the DP again, uncapped
            z, x_new, status, bound = _combo_run(p, w, it, mu, C, z, U, gp, deadline, mem_max, tally)
        else:
            z, x_new, status, bound = _class_split_run(p, w, split, z, gp, deadline, mem_max, tally)
        if x_new is not None:
            x_best = x_new
    if _isum(p[x_best]) != z or _isum(w[x_best]) > C:  # pragma: no cover - every step is exact
        raise AssertionError("combo: the incumbent's value or weight is off")
    stats.update(tally, peak_state_bytes=STATE_BYTES * 3 * tally["states_max"])
    if status == "optimal":
        return done("optimal", z)
    return done(status, min(U, bound))


def _combo_run(p: np.ndarray, w: np.ndarray, it: _SplitItems, mu: _Multipliers, C: int, z: int, U: int,
               gp: int, deadline: float | None, mem_max: int,
               tally: dict[str, int]) -> tuple[int, np.ndarray | None, str, int]:
    """DP passes on the core of `it` (restarted when a better incumbent shrinks it by a third).

    Returns (z, mask over p's items of the better solution found or None, status, bound): bound is
    z when the status is "optimal", else the largest Lagrangian bound of a live state."""
    x_best = None
    status, live_ub = "optimal", z
    while True:  # one pass per core
        if mu.num - mu.Q * gp * (z // gp + 1) < 0 or z >= U:
            break
        ps_ = _combo_pass(it, mu, C, z, U, gp, deadline, mem_max)
        tally["states_max"] = max(tally["states_max"], ps_.states_peak)
        tally["levels"] += ps_.levels
        tally["pair_hits"] += ps_.pair_hits
        tally["core"] = ps_.core_n
        status, live_ub = ps_.status, ps_.live_ub
        if ps_.x is not None:  # the DP found a better solution: check it against the original items
            x_new = it.to_items(ps_.x)
            if _isum(p[x_new]) != ps_.z or _isum(w[x_new]) > C:  # pragma: no cover - every step is exact
                raise AssertionError("combo: the rebuilt solution differs from the DP's incumbent")
            x_best = x_new
        z = ps_.z
        if not ps_.recore:
            break
        tally["restarts"] += 1
    return z, x_best, status, (z if status == "optimal" else max(z, live_ub))


@dataclass
class _ClassSplit:
    """The class split: every solution has either ≤ h or ≥ h + 1 items of weight ≥ tau (h = ⌊h*⌋, h*
    that count in the LP optimum), and the LP of each side, with the cardinality constraint too, is
    solved on the core left by reduced-cost fixing with the cardinality multipliers."""

    idx: np.ndarray  # the core's items (the sub-instance the branches solve)
    fixed_in: np.ndarray  # bool over all items: fixed at 1 outside the core
    C: int  # capacity left to the core
    off: int  # value of the items fixed in
    tau: int
    h_star: float  # the class count of the LP optimum (core plus fixed)
    branches: list[tuple[int, _Multipliers]]  # (bound on the whole instance, multipliers on the core)


def _class_split(p: np.ndarray, w: np.ndarray, C: int, k_min: int, k_max: int, mu: _Multipliers, z: int,
                 gp: int, tau: int) -> _ClassSplit | str:
    """Split on the number of items of weight ≥ tau; else a line saying why not (the LP optimum's
    count is integral, the LP solver failed, ...).

    Why: the LP (and its cardinality version) can use the residual capacity r left after the
    break by a fractional exchange priced at λ per unit, while an integer solution must take out
    a whole item of weight ≥ tau = w_b − r to make room for the break item b. On the circle
    family that integrality gap is the whole gap (issue 18). A count is an integer, so
    Σ_{w ≥ tau} x ≤ ⌊h*⌋ or ≥ ⌊h*⌋ + 1 for every solution (a disjunctive cut, as combo's
    cardinality bound is one on the whole count); each side's LP, with its extra multiplier ν,
    prices the exchange as integral. HiGHS (highspy) solves the three LPs from a basis built
    from the cardinality multipliers (warm-started: tenths of a second at 1e5 items); the duals
    become exact rationals on a 2^s grid and each bound is recomputed exactly, so it is valid
    whatever the LP solver's accuracy (any λ ≥ 0, μ, ν of the right signs give a bound)."""
    T = gp * (z // gp + 1)
    rc0 = mu.rc(p, w)
    core0 = np.abs(rc0) <= mu.num - mu.Q * T
    fixed_in = (rc0 > 0) & ~core0
    idx = np.flatnonzero(core0)
    if len(idx) < 2:
        return "no split: core of fewer than 2 items"
    pc, wc = p[idx], w[idx]
    Cs, off, nfin = C - _isum(w[fixed_in]), _isum(p[fixed_in]), int(fixed_in.sum())
    kmax_s, kmin_s = k_max - nfin, max(0, k_min - nfin)
    if Cs < 0 or kmax_s < kmin_s:
        return "no split: the fixed items leave no improving solution"  # (the uncapped DP will say so)
    heavy = wc >= tau
    duals = _class_lp_duals(pc, wc, Cs, kmin_s, kmax_s, heavy, rc0[idx])
    if isinstance(duals, str):
        return duals
    h_star, h1, sides = duals
    branches = []
    for (lam, dmu, nu), hq in zip(sides, (h1, h1 + 1)):
        nu = max(nu, 0.0) if hq == h1 else min(nu, 0.0)  # ν ≥ 0 with ≤ h1, ν ≤ 0 with ≥ h1 + 1
        lam = max(lam, 0.0)
        big = max(int(pc.max()), int(math.ceil(lam + 1)) * int(wc.max()), int(abs(dmu)) + 1, int(abs(nu)) + 1)
        sbits = max(0, min(30, 60 - big.bit_length() - max(1, len(pc).bit_length())))
        Q = 1 << sbits
        A, MQ, NQ = round(lam * Q), round(dmu * Q), round(nu * Q)
        mu_side = _Multipliers(0, Q, A, MQ, kmax_s if MQ >= 0 else kmin_s, NQ, hq, tau).with_num(pc, wc, Cs)
        branches.append((gp * ((off + mu_side.num // Q) // gp), mu_side))
    return _ClassSplit(idx, fixed_in, Cs, off, tau, h_star + int((fixed_in & (w >= tau)).sum()), branches)


def _class_lp_duals(pc: np.ndarray, wc: np.ndarray, C: int, k_min: int, k_max: int, heavy: np.ndarray,
                    rc: np.ndarray) -> tuple[float, int, list[tuple[float, float, float]]] | str:
    """HiGHS on max Σ pc·x, Σ wc·x ≤ C, k_min ≤ Σx ≤ k_max, 0 ≤ x ≤ 1: the class count h* = Σ_heavy x
    of its optimum and h = ⌊h*⌋ (a line saying so when h* is integral: no cut), then the duals
    (λ, μ, ν) with Σ_heavy x ≤ h and with ≥ h + 1 (μ > 0 for
    the upper count bound, < 0 for the lower). Starts from the basis the reduced costs rc of the
    cardinality multipliers give (x = 1 where rc > 0; the two items nearest rc = 0 basic). A line
    saying why, instead, without highspy (a dependency; the DP then runs without the split) or
    when HiGHS ends without an optimum."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a dependency
        return "no split: highspy is not installed"

    # The raw binding: highspy.Highs() prints HiGHS's banner to stdout before any option can be set
    # (ERGO-Code/HiGHS#2749), which would corrupt a JSON answer on stdout.
    try:
        from highspy._core import _Highs as Highs
    except ImportError:  # pragma: no cover - another highspy layout: the public class, banner and all
        Highs = highspy.Highs
    n = len(pc)
    h = Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, 2
    lp.col_cost_ = -pc.astype(np.float64)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_ = np.array([-inf, float(k_min)])
    lp.row_upper_ = np.array([float(C), float(k_max)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * n + 1, 2, dtype=np.int32)
    ind = np.zeros(2 * n, np.int32)
    ind[1::2] = 1
    val = np.ones(2 * n)
    val[0::2] = wc
    lp.a_matrix_.index_, lp.a_matrix_.value_ = ind, val
    h.passModel(lp)
    basis = highspy.HighsBasis()
    st = np.where(rc > 0, highspy.HighsBasisStatus.kUpper, highspy.HighsBasisStatus.kLower).tolist()
    for j in np.argsort(np.abs(rc), kind="stable")[:2]:
        st[j] = highspy.HighsBasisStatus.kBasic
    basis.col_status = st
    basis.row_status = [highspy.HighsBasisStatus.kUpper, highspy.HighsBasisStatus.kUpper]
    basis.valid = True
    h.setBasis(basis)  # a start only: HiGHS repairs or ignores a basis it cannot use
    ok = highspy.HighsModelStatus.kOptimal
    h.run()
    if h.getModelStatus() != ok:
        return f"no split: HiGHS ended {h.getModelStatus()} on the LP"
    h_star = float(np.asarray(h.getSolution().col_value)[heavy].sum())
    if abs(h_star - round(h_star)) <= 1e-9:
        return "no split: the LP optimum's class count is integral"
    h1 = math.floor(h_star)
    hi = np.flatnonzero(heavy).astype(np.int32)
    h.addRow(-inf, float(h1), len(hi), hi, np.ones(len(hi)))
    sides = []
    for lo_, up_ in ((-inf, float(h1)), (float(h1 + 1), inf)):
        h.changeRowBounds(2, lo_, up_)
        h.run()
        if h.getModelStatus() != ok:  # (an infeasible side could be dropped, given a certificate: not done)
            return f"no split: HiGHS ended {h.getModelStatus()} on a side's LP"
        d = np.asarray(h.getSolution().row_dual, dtype=np.float64)  # minimisation of −p: signs flip
        sides.append((-float(d[0]), -float(d[1]), -float(d[2])))
    return h_star, h1, sides


def _class_split_run(p: np.ndarray, w: np.ndarray, split: _ClassSplit, z: int, gp: int,
                     deadline: float | None, mem_max: int,
                     tally: dict[str, int]) -> tuple[int, np.ndarray | None, str, int]:
    """The DP on each side of the class split whose bound beats z (on the core, the rest fixed):
    optimal when both are; else the bound is the larger of the open sides'. A side's DP may find
    solutions of the other side (they are solutions all the same); its pruning is valid for its
    own side only, which is why each side runs."""
    pc, wc = p[split.idx], w[split.idx]
    x_best = None
    status, bound = "optimal", z
    for U_side, mu_side in sorted(split.branches, key=lambda t: -t[0]):
        if U_side <= z:
            continue
        if deadline is not None and time.perf_counter() > deadline:
            status, bound = "time_limit", max(bound, U_side)
            continue
        it = _SplitItems(pc, wc, split.C, mu_side)
        zs, xs, st, bd = _combo_run(pc, wc, it, mu_side, split.C, z - split.off, U_side - split.off, gp,
                                    deadline, mem_max, tally)
        if xs is not None:
            x_best = split.fixed_in.copy()
            x_best[split.idx[xs]] = True
        z = zs + split.off
        if st != "optimal":
            status, bound = st, max(bound, min(U_side, bd + split.off))
    return z, x_best, status, max(bound, z)


def _argmax_prefix(a: np.ndarray) -> np.ndarray:
    """i ↦ an index of max(a[:i+1])."""
    idx = np.arange(len(a))
    best = np.maximum.accumulate(a)
    hit = np.where(a == best, idx, 0)
    return np.maximum.accumulate(hit)


def _argmin_suffix(a: np.ndarray) -> np.ndarray:
    """i ↦ an index of min(a[i:])."""
    r = a[::-1]
    idx = np.arange(len(a))
    best = np.minimum.accumulate(r)
    hit = np.where(r == best, idx, 0)
    return (len(a) - 1 - np.maximum.accumulate(hit))[::-1]


def _unsort(xs: np.ndarray, order: np.ndarray) -> np.ndarray:
    x = np.zeros(len(xs), bool)
    x[order] = xs
    return x


# ----------------------------------------------------------------------------- entry point


def solve_core(g: Any, c: Any, budget: Any, *, time_limit: float | None = None, rtol: float = RTOL,
               max_classes: int = MAX_CLASSES, combo: bool = True) -> ExactResult:
    """Solve P exactly (see the module docstring). Called by solve_exact(..., backend="core").

    `max_classes=0` disables the cost-class method (forces the DP, for tests);
    `combo=False` keeps minknap on integer instances (no hand-over to the combo path).
    """
    t0 = time.perf_counter()
    like = g
    if is_torch(g) and g.device.type != "cpu":
        g = g.detach().cpu()
    if is_torch(c) and c.device.type != "cpu":
        c = c.detach().cpu()
    B = None
    data = _Data(g, c, 0.0)
    if not fast._validate(data.inp, need_c=True):
        p = make_problem(g, c, require_c=True)  # raises the reference's error for bad input
        data = _Data(p.g, p.c, 0.0)  # (or, for odd dtypes it accepts, continue on float64)
        if not fast._validate(data.inp, need_c=True):  # pragma: no cover - make_problem accepted it
            raise ValueError("solve_core: input validation failed")
    B = check_budget(budget)
    data.B = B
    deadline = None if time_limit is None else t0 + float(time_limit)
    eta = _granularity(data.inp.g)
    data.round_values = bool(eta)  # exact integers need no rounding
    core = _Core(data, fast._rng(data.n))
    extra: dict[str, Any] = {"rtol": rtol, "lambda": core.lam, "lp": core.lp}
    int_values = eta is not None
    extra["integer_values"] = int_values
    if int_values:
        extra["value_rounding_eta"] = eta
    atol = 0.0 if int_values else rtol * max(core.lp, 0.0)
    extra["atol"] = atol
    if core.b is None:  # every eligible item fits: the LP solution is integral, hence optimal
        fmask, fidx = core.fixed_in()
        mask = _assemble(data, fmask, fidx, [])
        return _result(data, like, mask, core, B, "optimal", True, None, "lp-integral", t0, extra, atol)
    classes = _classes(data, max_classes) if max_classes > 0 else None
    if classes is not None and len(classes):
        extra["classes"] = [float(x) for x in classes]
        try:
            out = _class_solve(core, classes, B, deadline, int_values)
        except _Stop as stop:
            extra["classes_stopped"] = stop.status
            out = None
        if out is not None:
            fmask, fidx = core.fixed_in()
            mask = _assemble(data, fmask, fidx, [out.take])
            extra.update(core_left=core.left.n, core_right=core.right.n, gap=out.gap, counts=out.counts)
            # capacity was decided exactly on class counts; value = fixed-in + window values
            extra.update(energy_exact=True)
            known_value = None if data.round_values else out.z  # granular: re-sum the true g²
            bound = out.z + 2 * eta if int_values else None
            return _result(data, like, mask, core, B, "optimal", True, bound, "classes", t0, extra, atol,
                           known=(known_value, out.energy, int(sum(out.counts))))
    core.grow(True, WINDOW0)
    core.grow(False, WINDOW0)
    c64 = np.asarray(data.inp.c, dtype=np.float64)
    exact_w = _exact_sums([c64], B)
    B_dp = B
    unit = 0.0
    if exact_w:  # costs are multiples of 2^e: no solution can use the capacity's remainder
        unit = 2.0 ** fast._min_unit_exp(c64)
        B_dp = math.floor(B / unit) * unit  # exact: B/unit and the product are exact in float64
        extra["capacity_used"] = B_dp
    escalate = None
    if int_values and exact_w and combo and _combo_fits(data, c64, unit, B_dp):
        escalate = ESCALATE_STATES
    out = _dp_solve(core, B_dp, int_values, exact_w, atol, deadline, escalate)
    extra.update(core_left=core.left.n, core_right=core.right.n, states_max=out.states_max, steps=out.steps,
                 exact_weights=exact_w, verified_borderline=out.verified, resplits=core.resplits)
    if out.flips is None:  # the empty set is the incumbent
        mask = np.zeros(data.n, dtype=bool)
    else:
        fmask, fidx = core.fixed_in()
        lg = core.left.arrays()[0]
        rg = core.right.arrays()[0]
        fl = np.fromiter(out.flips, dtype=np.int64, count=len(out.flips))
        mask = _assemble(data, fmask, fidx, [lg[~np.isin(lg, fl)], rg[np.isin(rg, fl)]])
    if out.status == "escalate":  # minknap's states outgrew ESCALATE_STATES: combo, from its incumbent
        extra["minknap_states_max"] = out.states_max
        mask, status, cbound, cstats = _combo_path(data, c64, unit, B_dp, mask, deadline)
        extra.update({"combo_" + k: v for k, v in cstats.items()})
        extra["states_max"] = cstats.get("states_max", out.states_max)
        return _result(data, like, mask, core, B, status, status == "optimal", cbound + 2 * eta, "combo", t0,
                       extra, atol)
    proven = out.status == "optimal"
    bound = out.bound + 2 * eta if int_values else out.bound
    return _result(data, like, mask, core, B, out.status, proven, bound, "minknap", t0, extra, atol)


def _combo_fits(data: _Data, c64: np.ndarray, unit: float, B_dp: float) -> bool:
    """Integer profits and weights (in units of `unit`) below COMBO_INT_MAX, and numba present."""
    if not combo_available() or unit <= 0:
        return False
    g = np.asarray(data.inp.g)
    vmax = float(np.max(np.square(g, dtype=np.float64))) if len(g) else 0.0
    wmax = float(np.max(c64[c64 <= B_dp])) / unit if bool(np.any(c64 <= B_dp)) else 0.0
    return vmax < COMBO_INT_MAX and wmax < COMBO_INT_MAX and B_dp / unit < 2.0 ** 53


def _combo_path(data: _Data, c64: np.ndarray, unit: float, B_dp: float, mask: np.ndarray,
                deadline: float | None) -> tuple[np.ndarray, str, float, dict[str, Any]]:
    """Run _combo_solve on the eligible items (c ≤ B, p = round(g²) ≥ 1) from the incumbent mask."""
    idx = np.flatnonzero(c64 <= B_dp)
    v = data.v(idx)
    keep = v >= 1
    idx, v = idx[keep], v[keep]
    p = v.astype(np.int64)
    w = (c64[idx] / unit).astype(np.int64)  # exact: every cost is a multiple of unit
    C = int(B_dp / unit)
    x0 = np.asarray(mask, dtype=bool)[idx]
    out = _combo_solve(p, w, C, x0, deadline)
    full = np.zeros(data.n, dtype=bool)
    full[idx[out.x]] = True
    return full, out.status, float(out.bound), out.stats


def _assemble(data: _Data, fmask: Any, fidx: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """Host bool mask: fixed-in mask/indices plus the window's kept items."""
    mask = fmask if fmask is not None else np.zeros(data.n, dtype=bool)
    if len(fidx):
        mask[fidx] = True
    for part in parts:
        if len(part):
            mask[part.astype(np.int64)] = True
    return mask


def _result(data: _Data, like: Any, mask: np.ndarray, core: _Core, B: float, status: str, proven: bool,
            bound: float | None, solver: str, t0: float, extra: dict[str, Any], atol: float,
            known: tuple[float | None, float, int] | None = None) -> ExactResult:
    """The ExactResult; `known` = (value or None, energy, kept) when the solver has them exactly
    (class mode: the energy is the correctly rounded Σ count·cost, feasibility decided exactly)."""
    if known is None:
        idx = np.flatnonzero(mask)
        value, energy = fast._finish_idx(data.inp, idx, True)
        kept = len(idx)
        if not _fsum_leq([data.c(idx)], B):  # every capacity decision was certified
            raise AssertionError("solve_core produced an infeasible mask (please report)")  # pragma: no cover
    else:
        value, energy, kept = known
        if value is None:
            value = float(fast._finish_idx(data.inp, np.flatnonzero(mask), False)[0])
    if bound is None:
        bound = value if solver == "lp-integral" else value + atol
    bound = max(value, min(bound, core.lp_true))  # LP* is an upper bound too
    extra["kept"] = kept
    sel = Selection(mask=mask_like(mask, like), value=value, energy=energy, upper_bound=core.lp_true,
                    method="exact-core", budget=B, kept=kept)
    return ExactResult(sel, status, proven, bound, "core", solver, time.perf_counter() - t0, extra)
