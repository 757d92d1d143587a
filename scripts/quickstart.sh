#!/usr/bin/env bash
# The main job, from a fresh clone: install everything, build, and run xinfer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/xinfer.sh --help
