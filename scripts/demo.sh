#!/usr/bin/env bash
# The main job: set up, export and test the whole course, show its status, then train a short
# TinyGPT with the course's own package and print the text it writes (Shakespeare if it is in the
# data folder, else the embedded fallback corpus, which the run names).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
tito export --all
tito test --all
tito status
tito milestone run tinygpt --quick --fallback
