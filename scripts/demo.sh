#!/usr/bin/env bash
# The main job: set up, export and test the whole course, and show its status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
tito export --all
tito test --all
tito status
