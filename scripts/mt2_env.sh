#!/usr/bin/env bash
# The optional MT2 competitor of `cwmp bench --only exact-hard` (issue 18): a virtual
# environment of its own, since mknapsack needs numpy < 2 and this project uses numpy 2.
#   bash scripts/mt2_env.sh            # makes .venv-mt2/ (git-ignored); the bench finds it there
#   CWMP_MT2_PYTHON=/path/to/python    # or point the bench at another interpreter with mknapsack
set -euo pipefail
cd "$(dirname "$0")/.."
python -m venv .venv-mt2
.venv-mt2/bin/pip install -q "numpy<2" "mknapsack==1.1.12"
.venv-mt2/bin/python -c "import mknapsack, numpy; print('MT2 ready: numpy', numpy.__version__)"
