#!/usr/bin/env bash
# Create (or reuse) the course virtualenv in .venv and install the course into it.
# Usage: source scripts/setup.sh [extras]   e.g. `source scripts/setup.sh test`
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "TinyTorch needs Python 3.10 or newer")'
[ -x "$here/.venv/bin/python" ] || "$python" -m venv "$here/.venv"
# shellcheck disable=SC1091
source "$here/.venv/bin/activate"
python -m pip install -q --upgrade pip >/dev/null
if [ -n "$extras" ]; then
  python -m pip install -q -e "$here[$extras]"
else
  python -m pip install -q -e "$here"
fi
# Course data is read from $TINYTORCH_DATA (default ~/.cache/tinytorch; `tito data fetch NAME` fills it).
