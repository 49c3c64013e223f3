"""Paper figures: small scripts that only read saved results (``results/**``) and plot.

No training, no solving: this package never imports solvers, theory or fl_validation.
Run ``cwmp figures`` (or ``python -m paper_figures``); each ``fig<N>_<name>.py`` has a
``make(results_dir, out_dir) -> list[Path] | None`` and documents its input files and
the command that produces them. Shared look: ``style.py``; loaders: ``data.py``.
"""
