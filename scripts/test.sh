#!/usr/bin/env bash
# The test command: installs everything, then runs every check and test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/ensure-webgpu.sh
bash scripts/ensure-chromium.sh

echo "== format and lint (biome)"
pnpm exec biome ci .
echo "== layer rule (dependency-cruiser)"
pnpm run --silent check:layers
echo "== build, typecheck, package shape (publint, attw), tests"
status=0
# Two cores: more tasks at once only thrash, and each Vitest run has its own workers.
pnpm exec turbo run build typecheck lint test --output-logs=new-only --continue --concurrency=2 || status=$?
node scripts/test-summary.mjs || status=$?
exit "$status"
