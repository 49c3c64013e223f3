"""Shared look of every figure: rcParams, colours per method, footer, save helper.

Nothing happens at import: `new_figure` selects the Agg backend and applies the
rcParams when a figure is actually made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FOOTER = "reconstruction of arXiv:2603.22465; see docs/THEORY.md"

RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "pdf.fonttype": 42,  # embed TrueType: editable text in the PDF
}

# Colours: CWMP variants in warm colours, Top-K in blues, dense grey.
METHOD_COLORS: dict[str, str] = {
    "dense": "#7f7f7f",
    "topk": "#1f77b4",
    "cwmp-l2": "#d62728",
    "cwmp-paper": "#ff7f0e",
    "cwmp-exact": "#8c1d40",
    "random-k": "#8c8c3c",
    "lp": "#2ca02c",
    "exact-cvxpy": "#111111",
    "exact-core": "#9467bd",
    "ortools": "#17becf",
    # cwmp bench method names (solvers/bench.py)
    "cwmp_fast": "#d62728",
    "cwmp_fast_count": "#8c1d40",
    "greedy_fast": "#d62728",
    "cwmp_reference": "#ff9896",
    "topk_fast": "#1f77b4",
    "torch_topk": "#6baed6",
    "np_argpartition": "#08306b",
    "lp_dantzig": "#2ca02c",
    "core": "#9467bd",
    "cvxpy_highs": "#111111",
}
METHOD_LABELS: dict[str, str] = {
    "dense": "dense FedAvg",
    "topk": "Top-K",
    "cwmp-l2": "CWMP g²/c",
    "cwmp-paper": "CWMP |g|/c",
    "cwmp-exact": "CWMP exact",
    "random-k": "random-K",
    "lp": "LP (Dantzig)",
    "exact-cvxpy": "MILP (CVXPY)",
    "exact-core": "exact core (fast path)",
    "ortools": "OR-Tools knapsack",
    "cwmp_fast": "CWMP fast (budget)",
    "cwmp_fast_count": "CWMP fast (count)",
    "greedy_fast": "CWMP greedy, fast",
    "cwmp_reference": "CWMP sort-based",
    "topk_fast": "Top-K fast",
    "torch_topk": "torch.topk",
    "np_argpartition": "np.argpartition",
    "lp_dantzig": "LP (Dantzig, sort)",
    "core": "exact core (fast path)",
    "cvxpy_highs": "MILP (CVXPY + HiGHS)",
}
# Markers for methods without a greedy suffix.
METHOD_MARKERS = {"cwmp_reference": "s", "torch_topk": "v", "np_argpartition": "<", "topk_fast": "s",
                  "lp_dantzig": "^", "core": "D", "exact-core": "D", "cvxpy_highs": "P", "exact-cvxpy": "P",
                  "ortools": "X", "cwmp_fast_count": "o", "cwmp_fast": "o", "greedy_fast": "o"}
# Greedy walk (solvers' method suffix) -> marker.
# Colours for the theory figures' per-distribution series (7, 8): distinct from the method colours above.
CURVE_COLORS = ["#d62728", "#ff7f0e", "#8c1d40", "#e377c2", "#bcbd22", "#9467bd"]


def curve_color(i: int) -> str:
    return CURVE_COLORS[i % len(CURVE_COLORS)]


GREEDY_MARKERS = {"dantzig": "o", "fill": "s", "safe": "^", "": "D"}


def base_method(method: str) -> tuple[str, str]:
    """'cwmp-l2-fill' -> ('cwmp-l2', 'fill'); 'topk' -> ('topk', ''); 'lp-dantzig' -> ('lp', 'dantzig')."""
    for base in sorted(METHOD_COLORS, key=len, reverse=True):
        if method == base:
            return base, ""
        if method.startswith(base + "-"):
            return base, method[len(base) + 1:]
    return method, ""


def color(method: str) -> str:
    base, _ = base_method(method)
    if base in METHOD_COLORS:
        return METHOD_COLORS[base]
    # unknown method: a stable colour from the tab10 cycle
    palette = ["#e377c2", "#bcbd22", "#17becf", "#8c564b", "#9467bd"]
    return palette[sum(map(ord, method)) % len(palette)]


def label(method: str) -> str:
    base, rest = base_method(method)
    if base == "lp" and rest == "dantzig":
        rest = ""
    name = METHOD_LABELS.get(base, base)
    return f"{name} ({rest})" if rest else name


def marker(method: str) -> str:
    if method in METHOD_MARKERS:
        return METHOD_MARKERS[method]
    _, rest = base_method(method)
    return GREEDY_MARKERS.get(rest, "D")


def new_figure(nrows: int = 1, ncols: int = 1, **kw):
    """Agg backend + rcParams, then ``plt.subplots`` (axes always a 2-D array)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC)
    kw.setdefault("squeeze", False)
    return plt.subplots(nrows, ncols, **kw)


def footer(fig, extra: str = "") -> None:
    """The reconstruction note at the bottom of a figure (plus an optional note)."""
    text = FOOTER if not extra else f"{extra}\n{FOOTER}"
    fig.text(0.5, 0.0, text, ha="center", va="top", fontsize=6.5, color="#555555", linespacing=1.5)


def band(ax, x, lo, hi, col: str, alpha: float = 0.18) -> None:
    """Error band between lo and hi (skipped where the spread is zero everywhere)."""
    import numpy as np

    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if lo.size and np.nanmax(np.abs(hi - lo)) > 0:
        ax.fill_between(x, lo, hi, color=col, alpha=alpha, linewidth=0)


def top_legend(fig, handles, labels, title: str, ncol: int = 4) -> None:
    """Figure legend above the axes (after tight_layout), carrying the figure title."""
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, title=title,
               title_fontsize=10.5)


def joules(axis, nbins: int | None = None) -> None:
    """SI-prefixed joule ticks (µJ, mJ, ...) on an x or y axis (at most nbins ticks on a linear axis)."""
    from matplotlib.ticker import EngFormatter, LogFormatter, MaxNLocator

    eng = EngFormatter(unit="J", sep=" ")
    if axis.get_scale() == "log":
        # LogFormatter decides which ticks get a label (minor ones too when the axis spans
        # under about a decade); the label itself is SI-prefixed, never "4×10⁻³"
        class _EngLog(LogFormatter):
            def _num_to_string(self, x, vmin, vmax):
                return eng(x)

        axis.set_major_formatter(_EngLog(labelOnlyBase=False))
        axis.set_minor_formatter(_EngLog(labelOnlyBase=False))
        return
    axis.set_major_formatter(eng)
    if nbins:
        axis.set_major_locator(MaxNLocator(nbins))


def unique_legend(axes) -> tuple[list, list[str]]:
    """Handles and labels of all axes, each label once, in first-seen order."""
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen)


def hide_unused(axes, used: int) -> None:
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)


def panel_grid(n_panels: int):
    """One panel per sweep value (at most 4 a row), shared y; returns (fig, axes)."""
    ncols = min(n_panels, 4)
    nrows = -(-n_panels // ncols)
    return new_figure(nrows, ncols, figsize=(max(3.2 * ncols, 6.5), 2.7 * nrows + 0.3), sharey=True)


def finish_grid(fig, axes, used: int, *, ylabel: str, note: str, title: str, ncol: int = 6) -> None:
    """Common tail of the per-sparsity panel figures: y labels, unused panels, footer, legend on top."""
    for row in axes:
        row[0].set_ylabel(ylabel)
    hide_unused(axes, used)
    footer(fig, note)
    fig.tight_layout()
    handles, labels = unique_legend(axes.flat)
    top_legend(fig, handles, labels, title, ncol=ncol)


def save(fig, out_dir: str | Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.pdf under out_dir; closes the figure."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    try:
        for p in paths:
            fig.savefig(p)
    finally:
        plt.close(fig)
    return paths
