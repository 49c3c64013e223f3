"""`python -m solvers` = `cwmp compare`."""

import sys

from .cli import main

try:  # the `cwmp` boundary: a bad input is one line on stderr and exit 2 (--debug: the traceback)
    from cwmp_cli import debug_wanted, run_command
except ImportError:
    raise SystemExit(main())
args = sys.argv[1:]
debug = "--debug" in args or debug_wanted()
raise SystemExit(run_command("compare", main, [a for a in args if a != "--debug"], debug=debug))
