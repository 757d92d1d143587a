#!/usr/bin/env bash
# `pnpm xinfer <args>`: builds the CLI and what it depends on (a Turborepo cache hit when nothing
# changed), then runs it. Build output is shown only when the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! log=$(pnpm exec turbo run build --filter=@x/cli... --output-logs=errors-only 2>&1); then
  printf '%s\n' "$log" >&2
  exit 1
fi
exec node examples/cli/dist/bin.js "$@"
