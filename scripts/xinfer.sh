#!/usr/bin/env bash
# `pnpm xinfer <args>`: builds the CLI and what it depends on (a Turborepo cache hit when nothing
# changed), then runs it. Build output is shown only when the build fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! log=$(pnpm exec turbo run build --filter=@x/cli... --output-logs=errors-only 2>&1); then
  printf '%s\n' "$log" >&2
  exit 1
fi
# Relative paths in arguments mean what they meant where the user typed the command.
cd "${INIT_CWD:-$root}"
exec node "$root/examples/cli/dist/bin.js" "$@"
