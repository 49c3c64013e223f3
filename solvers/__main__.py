"""`python -m solvers` = `cwmp compare`."""

from .cli import main

try:  # the `cwmp` boundary: a bad input is one line on stderr and exit 2 (--debug: the traceback)
    from cwmp_cli import command, module_main
except ImportError:  # without the front door: no --update (its loader lives in fl_validation)
    raise SystemExit(main())
raise SystemExit(module_main("compare", command("compare")))
