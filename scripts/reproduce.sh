#!/usr/bin/env bash
# Install what the main job needs (torch CPU build first), then run it on the shipped data.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e .
cwmp reproduce "$@"
