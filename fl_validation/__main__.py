"""``python -m fl_validation``: same as ``cwmp fl``."""

from .cli import main

raise SystemExit(main())
