#!/usr/bin/env bash
# Install what the tests need (torch CPU build first), then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[test,scip,flower]"
python3 -m pytest -q -p no:cacheprovider "$@"
