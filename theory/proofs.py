"""Bounded proofs of C1, C3, C4, C5, C7 and C8 with z3 in exact rational arithmetic (issue 19).

For a fixed number of items d, "some instance violates the claim" is a first-order formula over
the reals (the greedy walks are piecewise linear in (v, c, B), OPT is a max over 2^d subsets).
z3 either refutes it (``unsat``: the claim holds for EVERY real instance with d items, in exact
arithmetic) or satisfies it (``sat``: a counterexample with rational numbers, which is re-checked
by the float solvers). ``unknown`` (timeout) is reported as such, never as proved.

The encoding mirrors the float implementation (solvers/selection.py, solvers/lp.py):

- eligible items: ``c_i <= B and v_i > 0``; every rule and the LP work on them only;
- the walk goes over the eligible items in score order, ties by lower index;
  ``dantzig`` keeps the prefix whose running cost is ``<= B``; ``fill`` keeps every item that
  fits in what is left when it is reached; ``safe`` is ``fill`` unless the most valuable eligible
  item (lowest index among ties) is worth strictly more, then that item alone;
- LP* is Dantzig's value in the ``l2`` order: the full prefix plus ``(B - used) * v_b/c_b`` of the
  break item b (the first eligible item that does not fit), 0 when everything fits;
- OPT is the max of ``sum_S v`` over the subsets S with ``sum_S c <= B``.

Symmetry breaking and scaling (all exact, stated in docs/THEORY.md §7):

- B = 1: every rule, LP* and OPT are invariant under scaling c and B together by a > 0, and
  B = 0 keeps nothing (no item has c <= 0), so every claim holds trivially there.
- "sorted" encodings: items are relabelled so that the implementation's order is 0, 1, ..., d-1.
  This is complete for ties too: relabel by the implementation's own order (stable, ties by lower
  index); in the relabelled instance tied items are in index order, so the implementation walks
  them in the same sequence. Values, energies, LP* and OPT are invariant under relabelling; only
  the identity of safe's single item among tied values changes, never its value.
  For ``l2`` the variables are the ratios r_0 >= r_1 >= ... >= r_{d-1} >= 0 and the costs c_i > 0,
  with v_i = r_i c_i (bilinear). For claims that hold for ANY walk order (C1, dantzig <= fill,
  fill <= OPT, C4(a)) the variables are v_i >= 0, c_i > 0 with no order constraint (linear): one
  proof covers both score orders. For the ``paper`` order (C5 only) the variables are the
  magnitudes a_i = |g_i| >= 0 and c_i with a_0/c_0 >= a_1/c_1 >= ..., v_i = a_i^2.
- OPT one-sided: where OPT is on the large side of the violated inequality (e.g. safe < OPT/2),
  the query asks for ONE feasible subset (d Booleans) beating the rule, which is equivalent;
  where it is on the small side (fill > OPT), OPT is a fresh variable bounded below by every
  feasible subset's value (2^d implications), which is weaker than "= max", so unsat still proves
  the claim. The exact max term (:func:`opt_term`) is used to evaluate the encoding at points.

The "general" encoding (:func:`general_terms`) takes arbitrary (|g|, c, B) and builds the score
order by pairwise comparison (rank of each item); it is the one evaluated at random float
instances in tests/test_theory_proofs.py and compared with ``cwmp_mask`` / ``solve_exact``.

z3 is imported lazily (``z3-solver`` from PyPI, in the ``test`` extra); without it
:func:`require_z3` raises one ImportError line. Nothing here runs at import time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product
from typing import Any

GREEDIES = ("dantzig", "fill", "safe")
SCORES = ("l2", "paper")
Z3_HINT = "z3-solver is not installed; bounded proofs need it: python3 -m pip install z3-solver (or the [test] extra)"


def require_z3():
    """The z3 module, or ImportError with one line that says how to get it."""
    try:
        import z3
    except ImportError:  # pragma: no cover - exercised by the missing-z3 test via monkeypatch
        raise ImportError(Z3_HINT) from None
    return z3


def z3_version() -> str:
    return require_z3().get_version_string()


# ----------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class WalkTerms:
    """z3 terms of every rule on one instance whose walk order is the position order 0..d-1.

    Frozen: one instance's terms are built once and shared by every claim that reads them.
    """

    v: tuple  # values per position
    c: tuple  # costs per position
    B: Any
    eligible: tuple  # c <= B and v > 0
    dantzig: tuple  # kept flags per position
    fill: tuple
    fill_left: Any  # budget left after fill
    vmax: Any  # the most valuable eligible item's value (0 if none)
    single: Any  # safe took the single best item (vmax > fill value)
    values: dict  # "dantzig" | "fill" | "safe" -> value term
    energies: dict  # "dantzig" | "fill" -> energy term
    used: Any  # cost of dantzig's prefix
    has_break: Any  # some eligible item does not fit after the prefix
    is_break: tuple  # position b of the break item (one-hot)
    v_b: Any  # value of the break item (0 if none)
    lp: Any | None  # Dantzig's LP value (only when the order is the l2 order)


def _sum(z3, terms: Sequence) -> Any:
    return z3.Sum(list(terms)) if len(terms) else z3.RealVal(0)


def walk_terms(v: Sequence, c: Sequence, B: Any, ratio: Sequence | None = None, l2_order: bool = False) -> WalkTerms:
    """The three greedy walks (and, for the l2 order, LP*) over positions 0..d-1, as z3 terms.

    ``ratio`` gives v_i/c_i as separate terms (the sorted l2 encoding's variables r_i); without it the
    LP uses v_b/c_b (z3 division; c > 0 is always asserted or concrete).
    """
    z3 = require_z3()
    d = len(v)
    zero = z3.RealVal(0)
    elig = tuple(z3.And(c[k] <= B, v[k] > 0) for k in range(d))
    cum, run = [], zero
    for k in range(d):
        run = run + z3.If(elig[k], c[k], zero)
        cum.append(run)
    dz = tuple(z3.And(elig[k], cum[k] <= B) for k in range(d))
    fl, left = [], B
    for k in range(d):
        take = z3.And(elig[k], c[k] <= left)
        fl.append(take)
        left = left - z3.If(take, c[k], zero)
    fl = tuple(fl)
    vmax = zero
    for k in range(d):
        vmax = z3.If(z3.And(elig[k], v[k] > vmax), v[k], vmax)
    dval = _sum(z3, [z3.If(dz[k], v[k], zero) for k in range(d)])
    fval = _sum(z3, [z3.If(fl[k], v[k], zero) for k in range(d)])
    single = vmax > fval
    used = _sum(z3, [z3.If(dz[k], c[k], zero) for k in range(d)])
    over = [z3.And(elig[k], cum[k] > B) for k in range(d)]
    is_b = tuple(z3.And(over[k], *[z3.Not(over[j]) for j in range(k)]) for k in range(d))
    has_break = z3.Or(*over) if d else z3.BoolVal(False)
    v_b = _sum(z3, [z3.If(is_b[k], v[k], zero) for k in range(d)])
    lp = None
    if l2_order:
        rb = _sum(z3, [z3.If(is_b[k], ratio[k] if ratio is not None else v[k] / c[k], zero) for k in range(d)])
        lp = dval + z3.If(has_break, (B - used) * rb, zero)
    fen = _sum(z3, [z3.If(fl[k], c[k], zero) for k in range(d)])
    return WalkTerms(tuple(v), tuple(c), B, elig, dz, fl, left, vmax, single,
                     {"dantzig": dval, "fill": fval, "safe": z3.If(single, vmax, fval)},
                     {"dantzig": used, "fill": fen}, used, has_break, is_b, v_b, lp)


def safe_mask(w: WalkTerms) -> tuple:
    """safe's kept flags: the single best item (lowest position among equal values) or fill's mask."""
    z3 = require_z3()
    d = len(w.v)
    best = [z3.And(w.eligible[k], w.v[k] == w.vmax,
                   *[z3.Not(z3.And(w.eligible[j], w.v[j] == w.vmax)) for j in range(k)]) for k in range(d)]
    return tuple(z3.If(w.single, best[k], w.fill[k]) for k in range(d))


def opt_term(v: Sequence, c: Sequence, B: Any) -> Any:
    """OPT exactly: the max over all 2^d subsets with sum c <= B (the empty set gives 0)."""
    z3 = require_z3()
    d = len(v)
    best = z3.RealVal(0)
    for bits in product((0, 1), repeat=d):
        if not any(bits):
            continue
        val = _sum(z3, [v[k] for k in range(d) if bits[k]])
        cost = _sum(z3, [c[k] for k in range(d) if bits[k]])
        best = z3.If(z3.And(cost <= B, val > best), val, best)
    return best


def opt_upper_constraints(opt: Any, v: Sequence, c: Sequence, B: Any) -> list:
    """opt >= sum_S v for every feasible S: weaker than opt = OPT (sound for violations "rule > OPT")."""
    z3 = require_z3()
    d = len(v)
    out = [opt >= 0]
    for bits in product((0, 1), repeat=d):
        if any(bits):
            out.append(z3.Implies(_sum(z3, [c[k] for k in range(d) if bits[k]]) <= B,
                                  opt >= _sum(z3, [v[k] for k in range(d) if bits[k]])))
    return out


def subset_witness(z3, name: str, v: Sequence, c: Sequence, B: Any) -> tuple[list, Any, list]:
    """One feasible subset chosen by Booleans: (flags, value term, constraints). OPT >= its value."""
    m = [z3.Bool(f"{name}{k}") for k in range(len(v))]
    zero = z3.RealVal(0)
    val = _sum(z3, [z3.If(m[k], v[k], zero) for k in range(len(v))])
    cost = _sum(z3, [z3.If(m[k], c[k], zero) for k in range(len(v))])
    return m, val, [cost <= B]


@dataclass(frozen=True)
class GeneralTerms:
    """Every rule on an arbitrary instance (|g|, c, B), order built by pairwise comparison.

    Frozen: the evaluation oracle of the tests; masks are in the caller's index order.
    """

    masks: dict  # (score, greedy) -> tuple of Bool terms per original index
    values: dict  # (score, greedy) -> value term
    lp: Any
    v_b: Any
    opt: Any


def general_terms(a: Sequence, c: Sequence, B: Any) -> GeneralTerms:
    """Terms for arbitrary a = |g| >= 0, c > 0, B >= 0 (z3 terms or constants), both scores."""
    z3 = require_z3()
    d = len(a)
    v = [a[i] * a[i] for i in range(d)]
    masks, values = {}, {}
    lp = v_b = None
    for score in SCORES:
        s = [v[i] / c[i] if score == "l2" else a[i] / c[i] for i in range(d)]
        # j precedes i: higher score, or equal score and lower index (np.argsort(-s, kind="stable"))
        rank = [_sum(z3, [z3.If(s[j] > s[i] if j > i else s[j] >= s[i], 1, 0) for j in range(d) if j != i])
                for i in range(d)]
        at = [[rank[i] == k for i in range(d)] for k in range(d)]  # at[k][i]: item i is at position k
        cpos = [_sum(z3, [z3.If(at[k][i], c[i], 0) for i in range(d)]) for k in range(d)]
        vpos = [_sum(z3, [z3.If(at[k][i], v[i], 0) for i in range(d)]) for k in range(d)]
        w = walk_terms(vpos, cpos, B, l2_order=score == "l2")
        if score == "l2":
            lp, v_b = w.lp, w.v_b
        for greedy, flags in (("dantzig", w.dantzig), ("fill", w.fill)):
            masks[(score, greedy)] = tuple(z3.Or(*[z3.And(at[k][i], flags[k]) for k in range(d)]) for i in range(d))
            values[(score, greedy)] = w.values[greedy]
        elig = [z3.And(c[i] <= B, v[i] > 0) for i in range(d)]
        best = [z3.And(elig[i], v[i] == w.vmax, *[z3.Not(z3.And(elig[j], v[j] == w.vmax)) for j in range(i)])
                for i in range(d)]
        fmask = masks[(score, "fill")]
        masks[(score, "safe")] = tuple(z3.If(w.single, best[i], fmask[i]) for i in range(d))
        values[(score, "safe")] = w.values["safe"]
    return GeneralTerms(masks, values, lp, v_b, opt_term(v, c, B))


def evaluate_general(g: Sequence[float], c: Sequence[float], B: float) -> dict:
    """The general encoding evaluated at a float instance, in exact rationals (Fractions of the floats)."""
    return evaluate_rational([Fraction(abs(float(x))) for x in g], [Fraction(float(x)) for x in c],
                             Fraction(float(B)))


def evaluate_rational(a: Sequence[Fraction], c: Sequence[Fraction], B: Fraction) -> dict:
    """The general encoding evaluated at an exact rational instance (a = |g| >= 0, c > 0, B >= 0)."""
    z3 = require_z3()
    t = general_terms([z3.RealVal(Fraction(x)) for x in a], [z3.RealVal(Fraction(x)) for x in c],
                      z3.RealVal(Fraction(B)))
    ev = lambda e: _to_fraction(z3.simplify(e))  # noqa: E731
    return {"masks": {k: [z3.is_true(z3.simplify(x)) for x in m] for k, m in t.masks.items()},
            "values": {k: ev(x) for k, x in t.values.items()}, "lp": ev(t.lp), "v_b": ev(t.v_b), "opt": ev(t.opt)}


def _to_fraction(val) -> Fraction:
    z3 = require_z3()
    if z3.is_rational_value(val):
        return Fraction(val.numerator_as_long(), val.denominator_as_long())
    if z3.is_int_value(val):
        return Fraction(val.as_long())
    if z3.is_algebraic_value(val):  # irrational (never for these encodings); nearest of 40 digits
        return Fraction(val.approx(40).as_fraction())
    raise ValueError(f"not a numeral: {val}")


# ----------------------------------------------------------------------------- encodings of instances


@dataclass(frozen=True)
class Encoding:
    """Variables and side constraints of one family of instances with B = 1 (see the module doc)."""

    kind: str  # "any_order" | "l2_sorted" | "paper_sorted" | "equal_costs"
    v: tuple
    c: tuple
    ratio: tuple | None  # r_i = v_i/c_i for l2_sorted
    a: tuple | None  # |g_i| where the encoding has it (paper_sorted, rational-g searches)
    constraints: tuple
    B: Any

    def point(self, model) -> dict:
        """A model's instance as exact rationals: v, c, B (= 1), and g when it is rational."""
        ev = lambda e: _to_fraction(model.eval(e, model_completion=True))  # noqa: E731
        out = {"v": [ev(x) for x in self.v], "c": [ev(x) for x in self.c], "B": Fraction(1)}
        if self.a is not None:
            out["g"] = [ev(x) for x in self.a]
        return out


def encode(kind: str, d: int, rational_g: bool = False, tag: str = "") -> Encoding:
    """Variables for d items with B = 1; ``rational_g`` adds a_i >= 0 with a_i^2 = v_i (counterexamples)."""
    z3 = require_z3()
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    B = z3.RealVal(1)
    c = tuple(z3.Real(f"c{tag}{k}") for k in range(d))
    cons = [x > 0 for x in c]
    a = None
    ratio = None
    if kind == "any_order":
        v = tuple(z3.Real(f"v{tag}{k}") for k in range(d))
        cons += [x >= 0 for x in v]
    elif kind == "l2_sorted":
        ratio = tuple(z3.Real(f"r{tag}{k}") for k in range(d))
        cons += [ratio[k] >= ratio[k + 1] for k in range(d - 1)] + [ratio[-1] >= 0]
        v = tuple(ratio[k] * c[k] for k in range(d))
    elif kind == "paper_sorted":
        a = tuple(z3.Real(f"a{tag}{k}") for k in range(d))
        cons += [x >= 0 for x in a] + [a[k] * c[k + 1] >= a[k + 1] * c[k] for k in range(d - 1)]
        v = tuple(x * x for x in a)
    elif kind == "equal_costs":
        c = (z3.Real(f"c{tag}"),) * d
        cons = [c[0] > 0]
        v = tuple(z3.Real(f"v{tag}{k}") for k in range(d))
        cons += [v[k] >= v[k + 1] for k in range(d - 1)] + [v[-1] >= 0]
    else:
        raise ValueError(f"kind must be any_order, l2_sorted, paper_sorted or equal_costs, got {kind!r}")
    if rational_g and a is None:
        a = tuple(z3.Real(f"a{tag}{k}") for k in range(d))
        cons += [x >= 0 for x in a] + [a[k] * a[k] == v[k] for k in range(d)]
    return Encoding(kind, v, c, ratio, a, tuple(cons), B)


# ----------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Query:
    """A violation formula for one claim part at one d: unsat proves the part, sat is a counterexample.

    Frozen: built once per (part, d), solved once, its outcome recorded.
    """

    constraints: tuple
    encoding: Encoding
    extra: dict = field(default_factory=dict)  # name -> term, evaluated in a model for the witness
    split: tuple = ()  # Boolean atoms to case-split on when the whole query does not finish (greedy paths)


Builder = Callable[[int, bool], Query]


def _path(w: WalkTerms, m: Sequence = ()) -> tuple:
    """The greedy path as split atoms: the subset, eligibility, fill's choices, safe's choice."""
    return (*m, *w.eligible, *w.fill, w.single)


def _walk(e: Encoding, B: Any = None) -> WalkTerms:
    B = e.B if B is None else B
    return walk_terms(e.v, e.c, B, ratio=e.ratio, l2_order=e.kind == "l2_sorted")


def q_c1(d: int, rg: bool = False) -> Query:
    """C1: some rule's kept energy exceeds B (any walk order: covers both scores)."""
    z3 = require_z3()
    e = encode("any_order", d, rg)
    w = _walk(e)
    sm = safe_mask(w)
    safe_energy = _sum(z3, [z3.If(sm[k], e.c[k], 0) for k in range(d)])
    return Query((*e.constraints, z3.Or(w.energies["dantzig"] > e.B, w.energies["fill"] > e.B,
                                        safe_energy > e.B)), e)


def q_c3_dantzig_le_fill(d: int, rg: bool = False) -> Query:
    """C3: dantzig > fill (any walk order)."""
    e = encode("any_order", d, rg)
    w = _walk(e)
    return Query((*e.constraints, w.values["dantzig"] > w.values["fill"]), e)


def q_c3_rules_le_opt(d: int, rg: bool = False) -> Query:
    """C3: fill > OPT or safe > OPT (any walk order; OPT >= every feasible subset)."""
    z3 = require_z3()
    e = encode("any_order", d, rg)
    w = _walk(e)
    opt = z3.Real("OPT")
    return Query((*e.constraints, *opt_upper_constraints(opt, e.v, e.c, e.B),
                  z3.Or(w.values["fill"] > opt, w.values["safe"] > opt)), e)


def q_c3_opt_le_lp(d: int, rg: bool = False) -> Query:
    """C3: a feasible subset worth more than LP* (l2 order)."""
    z3 = require_z3()
    e = encode("l2_sorted", d, rg)
    w = _walk(e)
    m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
    return Query((*e.constraints, *cons, val > w.lp), e, {"subset": m}, (*m, *w.eligible, *w.dantzig))


def q_c3_lp_le_dantzig_vb(d: int, rg: bool = False) -> Query:
    """C3: LP* > dantzig + v_b (l2 order, v_b the break item's value, 0 if none)."""
    e = encode("l2_sorted", d, rg)
    w = _walk(e)
    return Query((*e.constraints, w.lp > w.values["dantzig"] + w.v_b), e)


def q_c4_all_fit(d: int, rg: bool = False) -> Query:
    """C4(a): every eligible item fits together, yet some rule misses OPT (any walk order)."""
    z3 = require_z3()
    e = encode("any_order", d, rg)
    w = _walk(e)
    total = _sum(z3, [z3.If(w.eligible[k], e.c[k], 0) for k in range(d)])
    m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
    return Query((*e.constraints, total <= e.B, *cons,
                  z3.Or(*[w.values[gr] < val for gr in GREEDIES])), e, {"subset": m})


def q_c4_residual_zero(d: int, rg: bool = False) -> Query:
    """C4(b): the LP solution is integral (no break item, or dantzig's prefix costs exactly B), yet
    dantzig (l2) < OPT."""
    z3 = require_z3()
    e = encode("l2_sorted", d, rg)
    w = _walk(e)
    m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
    return Query((*e.constraints, z3.Or(z3.Not(w.has_break), w.used == e.B), *cons,
                  w.values["dantzig"] < val), e, {"subset": m}, (*m, *w.eligible, *w.dantzig))


def q_c4_equal_costs(d: int, rg: bool = False) -> Query:
    """C4(c): all costs equal, yet a rule (dantzig/fill/safe) misses OPT, or (g != 0) dantzig's mask is
    not Top-K's count mask with K = min(floor(B/c), d) (the K largest |g|, ties by lower index)."""
    z3 = require_z3()
    e = encode("equal_costs", d, rg)
    w = _walk(e)  # l2 order = |g| order for equal costs (C7); positions sorted by v, ties by index
    m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
    cc = e.c[0]
    K = _sum(z3, [z3.If(k * cc <= e.B, 1, 0) for k in range(1, d + 1)])
    topk = [K > k for k in range(d)]  # positions are already in Top-K's order
    nonzero = z3.And(*[x > 0 for x in e.v])
    mask_differs = z3.And(nonzero, z3.Or(*[w.dantzig[k] != topk[k] for k in range(d)]))
    return Query((*e.constraints, *cons, z3.Or(mask_differs, *[w.values[gr] < val for gr in GREEDIES])), e,
                 {"subset": m, "K": K})


def q_c5_l2(d: int, rg: bool = False) -> Query:
    """C5 (l2 order): a feasible subset worth more than 2 * safe."""
    z3 = require_z3()
    e = encode("l2_sorted", d, rg)
    w = _walk(e)
    m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
    return Query((*e.constraints, *cons, 2 * w.values["safe"] < val), e, {"subset": m}, _path(w, m))


def q_c5_paper(d: int, rg: bool = False) -> Query:
    """C5 (paper order |g|/c): a feasible subset worth more than 2 * safe. Variables a = |g| (rational)."""
    z3 = require_z3()
    e = encode("paper_sorted", d, rg)
    w = _walk(e)
    m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
    return Query((*e.constraints, *cons, 2 * w.values["safe"] < val), e, {"subset": m}, _path(w, m))


def q_c7_equal_costs_same_order(d: int, rg: bool = False) -> Query:
    """C7: all costs equal, yet the l2 order (g^2/c) and the paper order (|g|/c) differ on some pair."""
    z3 = require_z3()
    a = tuple(z3.Real(f"a{k}") for k in range(d))
    cc = z3.Real("c")
    cons = [cc > 0, *[x >= 0 for x in a]]
    l2 = [a[k] * a[k] / cc for k in range(d)]
    pp = [a[k] / cc for k in range(d)]
    # i < j: i precedes j iff s_i >= s_j (ties by lower index), in both orders
    differ = [(l2[i] >= l2[j]) != (pp[i] >= pp[j]) for i in range(d) for j in range(i + 1, d)]
    e = Encoding("equal_costs", tuple(x * x for x in a), (cc,) * d, None, a, tuple(cons), z3.RealVal(1))
    return Query((*cons, z3.Or(*differ) if differ else z3.BoolVal(False)), e)


def _two_budgets(d: int, rg: bool):
    z3 = require_z3()
    e = encode("l2_sorted", d, rg)
    t = z3.Real("B2")
    return e, t, _walk(e), _walk(e, t)


def q_c8_monotone(rule: str) -> Builder:
    """C8: B < B' and the rule's value (l2 order) at B exceeds that at B'; B = 1, B' = t > 1."""

    def build(d: int, rg: bool = False) -> Query:
        e, t, w1, w2 = _two_budgets(d, rg)
        f1 = w1.lp if rule == "LP" else w1.values[rule]
        f2 = w2.lp if rule == "LP" else w2.values[rule]
        return Query((*e.constraints, t > 1, f1 > f2), e, {"B2": t, "value_at_B": f1, "value_at_B2": f2},
                     (*_path(w1), *_path(w2)))

    build.__name__ = f"q_c8_monotone_{rule}"
    build.__doc__ = f"C8: {rule} (l2 order) drops when B grows from 1 to B2 > 1."
    return build


def q_c6_ratio(greedy: str, eps: Fraction) -> Builder:
    """C6: ``greedy`` (l2 order) <= eps * (a feasible subset's value), with OPT > 0 (rational g)."""

    def build(d: int, rg: bool = True) -> Query:
        z3 = require_z3()
        e = encode("l2_sorted", d, rg)
        w = _walk(e)
        m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
        return Query((*e.constraints, *cons, val > 0, w.values[greedy] <= z3.RealVal(eps) * val), e,
                     {"subset": m, "rule_value": w.values[greedy], "subset_value": val})

    build.__name__ = f"q_c6_{greedy}"
    return build


def q_planted_dantzig_half(d: int, rg: bool = True) -> Query:
    """A planted FALSE claim, "dantzig >= OPT/2" (l2): its violation must be satisfiable."""
    z3 = require_z3()
    e = encode("l2_sorted", d, rg)
    w = _walk(e)
    m, val, cons = subset_witness(z3, "S", e.v, e.c, e.B)
    return Query((*e.constraints, *cons, 2 * w.values["dantzig"] < val), e, {"subset": m})


@dataclass(frozen=True)
class Part:
    """One provable statement of a claim: the violation builder and whether it is expected to hold.

    Frozen: the catalogue below is a constant table.
    """

    claim: str  # "C1".."C8"
    name: str
    statement: str
    build: Builder
    encoding: str  # "linear (any order)", "bilinear (l2 sorted)", ...


PARTS: tuple[Part, ...] = (
    Part("C1", "feasible", "dantzig, fill and safe masks have energy <= B (any walk order: l2 and paper)", q_c1,
         "linear, any order"),
    Part("C3", "dantzig<=fill", "dantzig <= fill (any walk order)", q_c3_dantzig_le_fill, "linear, any order"),
    Part("C3", "fill,safe<=OPT", "fill <= OPT and safe <= OPT (any walk order)", q_c3_rules_le_opt,
         "linear, any order, OPT >= every feasible subset"),
    Part("C3", "OPT<=LP*", "OPT <= LP* (Dantzig's value in the l2 order)", q_c3_opt_le_lp,
         "bilinear, l2 sorted, one subset"),
    Part("C3", "LP*<=dantzig+v_b", "LP* <= dantzig + v_b (l2)", q_c3_lp_le_dantzig_vb, "bilinear, l2 sorted"),
    Part("C4", "all_fit", "every eligible item fits => dantzig = fill = safe = OPT (any walk order)", q_c4_all_fit,
         "linear, any order, one subset"),
    Part("C4", "residual_zero", "LP solution integral (no break item or residual 0) => dantzig (l2) = OPT",
         q_c4_residual_zero, "bilinear, l2 sorted, one subset"),
    Part("C4", "equal_costs", "equal costs => dantzig = fill = safe = OPT, and (g != 0) dantzig's mask = Top-K "
         "count mask, K = min(floor(B/c), d)", q_c4_equal_costs, "linear, sorted by v, one subset"),
    Part("C5", "safe>=OPT/2 (l2)", "safe >= OPT/2 with the l2 order", q_c5_l2, "bilinear, l2 sorted, one subset"),
    Part("C5", "safe>=OPT/2 (paper)", "safe >= OPT/2 with the paper order |g|/c", q_c5_paper,
         "quadratic, paper sorted (a = |g|), one subset"),
    Part("C7", "equal_costs_same_order", "equal costs => the l2 and paper orders coincide (ties by index)",
         q_c7_equal_costs_same_order, "quadratic (a^2/c vs a/c), pairwise"),
    Part("C8", "fill_monotone", "fill (l2) non-decreasing in B", q_c8_monotone("fill"), "bilinear, two budgets"),
    Part("C8", "safe_monotone", "safe (l2) non-decreasing in B", q_c8_monotone("safe"), "bilinear, two budgets"),
    Part("C8", "LP_monotone", "LP* non-decreasing in B", q_c8_monotone("LP"), "bilinear, two budgets"),
)


# ----------------------------------------------------------------------------- solving


@dataclass(frozen=True)
class Outcome:
    """The solver's answer for one (part, d): "proved" (unsat), "counterexample" (sat) or "unknown".

    Frozen: a record of the report.
    """

    claim: str
    part: str
    d: int
    result: str
    seconds: float
    witness: dict | None = None  # exact rationals (as strings) and the float re-check
    reason: str = ""  # z3's reason for unknown

    def as_dict(self) -> dict:
        out = {"claim": self.claim, "part": self.part, "d": self.d, "result": self.result,
               "seconds": round(self.seconds, 3)}
        if self.witness is not None:
            out["witness"] = self.witness
        if self.reason:
            out["reason"] = self.reason
        return out


FIRST_TRY_S = 10.0  # the whole query first; split into greedy paths only when it does not finish


def solve(query: Query, timeout_s: float) -> tuple[str, Any, float, str]:
    """(result, model or None, seconds, reason) within ``timeout_s`` seconds of wall clock.

    One incremental z3 solver (its SMT core with the nonlinear-arithmetic module: on these
    queries it answers in well under a second where the default non-incremental QF_NRA tactic
    needs ~50 s at d = 4). If the whole query does not finish in FIRST_TRY_S, it is split into
    greedy paths: a depth-first case split on ``query.split`` (subset, eligibility, fill's choices,
    safe's choice), each branch a check under assumptions; an unsat branch is closed, a sat one is a
    counterexample, an unknown one is split further. "proved" means every branch closed.
    """
    z3 = require_z3()
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    s = z3.Solver()
    s.push()  # incremental mode from the start
    s.add(*query.constraints)
    t0 = time.perf_counter()
    deadline = t0 + timeout_s

    def check(assumptions: list, budget: float):
        s.set("timeout", max(1, int(budget * 1000)))
        return s.check(*assumptions)

    r = check([], min(timeout_s, FIRST_TRY_S) if query.split else timeout_s)
    if r == z3.unsat:
        return "proved", None, time.perf_counter() - t0, ""
    if r == z3.sat:
        return "counterexample", s.model(), time.perf_counter() - t0, ""
    if not query.split:
        return "unknown", None, time.perf_counter() - t0, s.reason_unknown()
    atoms = list(query.split)
    branches = 0

    def dfs(fixed: list, i: int, node_s: float) -> tuple[str, Any]:
        nonlocal branches
        left = deadline - time.perf_counter()
        if left <= 0:
            return "unknown", None
        branches += 1
        r = check(fixed, left if i >= len(atoms) else min(left, node_s))  # a full path gets what is left
        if r == z3.unsat:
            return "proved", None
        if r == z3.sat:
            return "counterexample", s.model()
        if i >= len(atoms):
            return "unknown", None
        for val in (atoms[i], z3.Not(atoms[i])):
            res, model = dfs(fixed + [val], i + 1, node_s)
            if res != "proved":
                return res, model
        return "proved", None

    res, model = dfs([], 0, 0.5)
    reason = "" if res != "unknown" else f"timeout after {branches} path branches"
    return res, model, time.perf_counter() - t0, reason


def witness_of(query: Query, model) -> dict:
    """The counterexample as exact rationals (strings) plus g, c, B as floats for the float solvers."""
    z3 = require_z3()
    pt = query.encoding.point(model)
    out: dict[str, Any] = {k: [str(x) for x in val] if isinstance(val, list) else str(val) for k, val in pt.items()}
    for name, term in query.extra.items():
        if isinstance(term, list):
            out[name] = [z3.is_true(model.eval(x, model_completion=True)) for x in term]
        else:
            out[name] = str(_to_fraction(model.eval(term, model_completion=True)))
    g = pt.get("g")
    out["float"] = {"g": [float(x) for x in g] if g is not None else [float(x) ** 0.5 for x in pt["v"]],
                    "c": [float(x) for x in pt["c"]], "B": 1.0, "g_exact": g is not None}
    return out


def run_part(part: Part, d: int, timeout_s: float) -> Outcome:
    q = part.build(d, False)
    res, model, dt, reason = solve(q, timeout_s)
    wit = witness_of(q, model) if model is not None else None
    if wit is not None:
        wit["float_check"] = float_check(part, wit)
    return Outcome(part.claim, part.name, d, res, dt, wit, reason)


# ----------------------------------------------------------------------------- float re-checks


def _floats(wit: dict):
    import numpy as np

    f = wit["float"]
    return np.array(f["g"]), np.array(f["c"]), float(f["B"])


def float_check(part: Part, wit: dict) -> dict:
    """Re-run the float solvers on a counterexample and say whether they reproduce the violation."""
    from solvers import cwmp_mask, solve_exact, solve_lp

    g, c, B = _floats(wit)
    opt = solve_exact(g, c, B, backend="bruteforce").value
    out: dict[str, Any] = {"OPT": opt, "LP*": solve_lp(g, c, B).value}
    for sc in SCORES:
        for gr in GREEDIES:
            out[f"{sc}-{gr}"] = cwmp_mask(g, c, budget=B, score=sc, greedy=gr).value
    if part.name.startswith("safe>=OPT/2"):
        sc = "paper" if "paper" in part.name else "l2"
        out["reproduced"] = bool(2 * out[f"{sc}-safe"] < opt)
    elif part.claim == "C8":
        B2 = float(Fraction(wit["B2"]))
        rule = part.name.split("_")[0]
        at = (lambda b: solve_lp(g, c, b).value) if rule == "LP" else \
            (lambda b: cwmp_mask(g, c, budget=b, greedy=rule).value)
        out.update({"B2": B2, "value_at_B": at(B), "value_at_B2": at(B2)})
        out["reproduced"] = bool(out["value_at_B"] > out["value_at_B2"])
    else:
        out["reproduced"] = None  # a part expected to hold: no float re-check defined
    return out


# ----------------------------------------------------------------------------- counterexample searches


def search(build: Builder, d_range: Sequence[int], timeout_s: float,
           check: Callable[[dict], dict]) -> dict:
    """The smallest d in d_range where the violation is satisfiable; its witness and float re-check."""
    tried = []
    for d in d_range:
        q = build(d, True)
        res, model, dt, reason = solve(q, timeout_s)
        tried.append({"d": d, "result": res, "seconds": round(dt, 3), **({"reason": reason} if reason else {})})
        if model is not None:
            wit = witness_of(q, model)
            wit["float_check"] = check(wit)
            return {"found": True, "d": d, "witness": wit, "tried": tried}
    return {"found": False, "tried": tried}


def check_c6_witness(greedy: str, eps: Fraction) -> Callable[[dict], dict]:
    def check(wit: dict) -> dict:
        from solvers import cwmp_mask, solve_exact

        g, c, B = _floats(wit)
        val = cwmp_mask(g, c, budget=B, greedy=greedy).value
        opt = solve_exact(g, c, B, backend="bruteforce").value
        return {greedy: val, "OPT": opt, "ratio": val / opt if opt > 0 else None,
                "reproduced": bool(opt > 0 and val <= float(eps) * opt)}

    return check


def q_c8_dantzig(d: int, rg: bool = True) -> Query:
    """C8: dantzig (l2) drops when B grows from 1 to B2 > 1 (expected satisfiable)."""
    return q_c8_monotone("dantzig")(d, rg)


def check_c8_dantzig(wit: dict) -> dict:
    from solvers import cwmp_mask

    g, c, B = _floats(wit)
    B2 = float(Fraction(wit["B2"]))
    lo, hi = cwmp_mask(g, c, budget=B).value, cwmp_mask(g, c, budget=B2).value
    return {"B": B, "B2": B2, "dantzig_at_B": lo, "dantzig_at_B2": hi, "reproduced": bool(hi < lo)}


def check_planted(wit: dict) -> dict:
    from solvers import cwmp_mask, solve_exact

    g, c, B = _floats(wit)
    dz = cwmp_mask(g, c, budget=B).value
    opt = solve_exact(g, c, B, backend="bruteforce").value
    return {"dantzig": dz, "OPT": opt, "reproduced": bool(2 * dz < opt)}


# ----------------------------------------------------------------------------- the run


DEFAULT_D = 4  # what `cwmp theory` proves up to (fits the quick budget; --proof-d raises it)
DEFAULT_TIMEOUT_S = 120.0  # per (part, d) query
C6_EPS = Fraction(1, 100)


@dataclass(frozen=True)
class ProofRun:
    """All outcomes of one bounded-proof run: per part and d, and the SMT counterexample searches.

    Frozen: a record that the report renders.
    """

    d_max: int
    timeout_s: float
    solver: str
    version: str
    outcomes: tuple[Outcome, ...]
    searches: dict  # "C6:dantzig", "C6:fill", "C8:dantzig" -> search() result
    seconds: float

    def for_claim(self, claim: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.claim == claim]

    def proved_up_to(self, claim: str, part: str | None = None) -> int:
        """Largest N with every part (or the named part) of the claim proved for all d <= N (0: none)."""
        rows = [o for o in self.for_claim(claim) if part is None or o.part == part]
        n = 0
        for d in range(1, self.d_max + 1):
            at = [o for o in rows if o.d == d]
            if not at or any(o.result != "proved" for o in at):
                break
            n = d
        return n

    def as_dict(self) -> dict:
        return {"d_max": self.d_max, "timeout_s": self.timeout_s, "solver": self.solver, "version": self.version,
                "seconds": round(self.seconds, 2), "outcomes": [o.as_dict() for o in self.outcomes],
                "searches": self.searches}


def run_proofs(d_max: int = DEFAULT_D, timeout_s: float = DEFAULT_TIMEOUT_S, parts: Sequence[Part] = PARTS,
               searches: bool = True, progress: Callable[[str], None] | None = None) -> ProofRun:
    """Prove every part for d = 1..d_max; a part that times out or is refuted at d is not tried above d.

    The counterexample searches (C6 with eps = 1/100, C8 dantzig) look for the smallest d <= max(d_max, 3).
    """
    if not isinstance(d_max, int) or isinstance(d_max, bool) or d_max < 1:
        raise ValueError(f"proof d must be an integer >= 1, got {d_max!r}")
    z3 = require_z3()
    t0 = time.perf_counter()
    outcomes: list[Outcome] = []
    for part in parts:
        for d in range(1, d_max + 1):
            if progress:
                progress(f"{part.claim} {part.name} d={d}")
            o = run_part(part, d, timeout_s)
            outcomes.append(o)
            if o.result != "proved":
                break
    found: dict[str, dict] = {}
    if searches:
        top = range(1, max(d_max, 3) + 1)
        for gr in ("dantzig", "fill"):
            found[f"C6:{gr}"] = search(q_c6_ratio(gr, C6_EPS), top, timeout_s, check_c6_witness(gr, C6_EPS))
            found[f"C6:{gr}"]["eps"] = str(C6_EPS)
        found["C8:dantzig"] = search(q_c8_dantzig, top, timeout_s, check_c8_dantzig)
    return ProofRun(d_max, timeout_s, "z3", z3.get_version_string(), tuple(outcomes), found,
                    time.perf_counter() - t0)


# ----------------------------------------------------------------------------- the claims report


PROVED_CLAIMS = ("C1", "C3", "C4", "C5", "C7", "C8")


def proof_summary(run: ProofRun, claim: str) -> dict:
    """The evidence block a report row carries: N, solver, version, and every (part, d) with seconds."""
    parts = sorted({o.part for o in run.for_claim(claim)}, key=[p.name for p in PARTS].index)
    return {"solver": run.solver, "version": run.version, "d_requested": run.d_max, "timeout_s": run.timeout_s,
            "proved_for_d_le": run.proved_up_to(claim),
            "parts": {p: {"proved_for_d_le": run.proved_up_to(claim, p),
                          "statement": next(x.statement for x in PARTS if x.name == p),
                          "encoding": next(x.encoding for x in PARTS if x.name == p),
                          "by_d": [o.as_dict() for o in run.for_claim(claim) if o.part == p]} for p in parts}}


def _refuted(run: ProofRun, claim: str) -> list[Outcome]:
    return [o for o in run.for_claim(claim) if o.result == "counterexample"]


# C5 with the paper order |g|/c is FALSE: small items with a high |g|/c but little g^2 eat the budget
# that three items of cost 1/3 each would fill. Constructed by hand (z3 proves the paper part only up
# to d = 4, and this needs d = 6); checked exactly by the general encoding and by the float solvers.
C5_PAPER_INSTANCE = {"g": [Fraction(67, 100)] * 3 + [Fraction(1)] * 3,
                     "c": [Fraction(223, 1000)] * 3 + [Fraction(1, 3)] * 3, "B": Fraction(1)}


def c5_paper_counterexample() -> dict:
    """safe (paper) vs OPT on C5_PAPER_INSTANCE, in exact rationals (general encoding) and in float."""
    import numpy as np

    from solvers import cwmp_mask, solve_exact

    inst = C5_PAPER_INSTANCE
    g = np.array([float(x) for x in inst["g"]])
    c = np.array([float(x) for x in inst["c"]])
    # exact at the stated rationals (0.67 and 0.223 are not binary floats) ...
    ex = evaluate_rational(inst["g"], inst["c"], inst["B"])
    safe, opt = ex["values"][("paper", "safe")], ex["opt"]
    # ... and exact at the Fractions of the floats: the instance the float solvers see
    ef = evaluate_general(g, c, float(inst["B"]))
    fsafe, fopt = ef["values"][("paper", "safe")], ef["opt"]
    fs = cwmp_mask(g, c, budget=1.0, score="paper", greedy="safe").value
    fo = solve_exact(g, c, 1.0, backend="bruteforce").value
    return {"g": [str(x) for x in inst["g"]], "c": [str(x) for x in inst["c"]], "B": "1", "d": len(g),
            "exact": {"paper_safe": str(safe), "OPT": str(opt), "ratio": float(safe / opt),
                      "l2_safe": str(ex["values"][("l2", "safe")])},
            "exact_at_float_inputs": {"paper_safe": str(fsafe), "OPT": str(fopt), "ratio": float(fsafe / fopt)},
            "float": {"paper_safe": fs, "OPT": fo, "l2_safe": cwmp_mask(g, c, budget=1.0, greedy="safe").value},
            "violated_exact": bool(2 * safe < opt and 2 * fsafe < fopt), "reproduced": bool(2 * fs < fo)}


def merge_into_row(row, run: ProofRun):
    """The row with the bounded proof folded in (docs/THEORY.md §7 states the rules).

    - every part proved for d <= N (N >= 1), numeric status verified_numeric: ``proved_bounded``; the
      numeric sub-results stay (they are the evidence above N) and ``z3_proved_d<=N`` is added;
    - a part refuted by z3 (a counterexample the float solvers reproduce): ``counterexample_found``;
    - C6, C8: their counterexample rows keep ``counterexample_found``; the SMT counterexample and its
      float re-check become sub-results; C8's monotone parts are recorded with their N;
    - a failed numeric row stays failed.
    """
    from .claim import ClaimResult

    ev = dict(row.evidence)
    sub = dict(ev.get("sub_results", {}))
    status, key = row.status, row.key_numbers
    if row.id in PROVED_CLAIMS:
        summ = proof_summary(run, row.id)
        ev["bounded_proof"] = summ
        n = summ["proved_for_d_le"]
        refuted = _refuted(run, row.id)
        secs = sum(o.seconds for o in run.for_claim(row.id))
        if refuted:
            o = refuted[0]
            reproduced = bool(o.witness and o.witness.get("float_check", {}).get("reproduced"))
            sub[f"z3_counterexample_{o.part}_reproduced_in_float"] = reproduced
            ev["smt_counterexample"] = o.as_dict()
            key += (f"; z3 (exact rationals): {o.part} FALSE at d={o.d} (g={o.witness['g'] if 'g' in o.witness else None}, "
                    f"c={o.witness['c']}, B=1), float re-check {'reproduces' if reproduced else 'does NOT reproduce'} it")
            others = {p: v["proved_for_d_le"] for p, v in summ["parts"].items() if p != o.part}
            key += f"; other parts proved for d <= {others}"
            if row.status != "failed" and row.id != "C8":
                status = "counterexample_found" if reproduced else "failed"
        elif n >= 1:
            sub[f"z3_proved_d<={n}"] = True
            what = "fill, safe, LP* monotone in B" if row.id == "C8" else "every part"  # C8: not dantzig's
            key += f"; z3 {summ['version']}: {what} proved for every real instance with d <= {n} ({secs:.1f} s)"
            if n < run.d_max:
                key += f", d = {n + 1} not finished within {run.timeout_s:g} s per query"
            if row.status == "verified_numeric":
                status = "proved_bounded"
    if row.id == "C5" and row.status != "failed":
        cx = c5_paper_counterexample()
        ev["paper_counterexample"] = cx
        sub["paper_counterexample_exact_and_float_agree"] = cx["violated_exact"] == cx["reproduced"]
        if cx["violated_exact"]:
            status = "counterexample_found"
            key += (f"; FALSE for the paper score at d={cx['d']}: g={cx['g']}, c={cx['c']}, B=1 gives paper safe "
                    f"{cx['exact']['paper_safe']} vs OPT {cx['exact']['OPT']} (ratio {cx['exact']['ratio']:.3f}, exact; "
                    f"float {cx['float']['paper_safe']:.4g}/{cx['float']['OPT']:g}); l2 safe = OPT there")
            npaper = run.proved_up_to("C5", "safe>=OPT/2 (paper)")
            if npaper < cx["d"] - 1:  # the instance is built by hand: say which d are left open
                key += (f"; the paper part is proved for d <= {npaper}, d = {npaper + 1}"
                        + (f"..{cx['d'] - 1}" if npaper + 1 < cx["d"] - 1 else "") + " not decided")
    for name in ("C6", "C8"):
        if row.id != name:
            continue
        for k, res in run.searches.items():
            if not k.startswith(name + ":"):
                continue
            ev.setdefault("smt_counterexamples", {})[k] = res
            ok = bool(res.get("found") and res["witness"]["float_check"]["reproduced"])
            sub[f"z3_counterexample_{k.split(':')[1]}_smallest_d_reproduced_in_float"] = ok
            if res.get("found"):
                w = res["witness"]
                key += (f"; z3: {k.split(':')[1]} counterexample at smallest d={res['d']}: g={w.get('g')}, c={w['c']}, "
                        f"B=1" + (f", B2={w['B2']}" if "B2" in w else "") + (" (reproduced in float)" if ok else
                                                                              " (NOT reproduced in float)"))
        if not all(v for k, v in sub.items() if k.startswith("z3_counterexample")) and row.status != "failed":
            status = "failed"
    ev["sub_results"] = sub
    ev["failed_sub_results"] = [k for k, v in sub.items() if not v]
    return ClaimResult(row.id, row.statement, row.method + ("; bounded proof by z3 (exact rationals), see "
                                                            "evidence.bounded_proof" if row.id in PROVED_CLAIMS
                                                            else "; SMT counterexample search by z3"
                                                            if row.id == "C6" else ""),
                       status, ev, key)
