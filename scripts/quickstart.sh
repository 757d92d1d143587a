#!/usr/bin/env bash
# The main job, from a fresh clone: install everything, build, and run xinfer on the bundled demo
# model (a small Llama trained on the King James Bible): it streams a greedy continuation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/xinfer.sh generate --prompt "${1:-In the beginning}" --max-tokens 60
