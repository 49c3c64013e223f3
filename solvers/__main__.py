"""`python -m solvers` = `cwmp compare`."""

from .cli import main

raise SystemExit(main())
