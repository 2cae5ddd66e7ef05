#!/usr/bin/env bash
# The whole test suite: set up with the test extras, then pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh test,hub
# PyTorch is an optional oracle: with it the op catalog also checks parity with torch.
# (`pip install torch==2.13.0` takes the CPU build; a bare `torch` would pull a multi-GB CUDA build.)
if [ -n "${TINYTORCH_WITH_TORCH:-}" ]; then python -m pip install -q torch==2.13.0; fi
python -m pytest "$@"
