"""`python -m solvers` = `cwmp compare`."""

from .cli import main

try:  # the `cwmp` boundary: a bad input is one line on stderr and exit 2 (--debug: the traceback)
    from cwmp_cli import module_main
except ImportError:
    raise SystemExit(main())
raise SystemExit(module_main("compare", main))
