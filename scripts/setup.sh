#!/usr/bin/env bash
# Installs everything xinfer needs on a machine that has Node 20+ and npm: the pnpm version pinned
# in package.json ("packageManager"), fetched with npm because Corepack cannot verify it here, then
# the workspace's dependencies from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`xinfer: Node ${process.versions.node} is too old; install Node 20.19 or newer`);
    process.exit(1);
  }'

want=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  echo "xinfer: installing pnpm $want with npm" >&2
  if ! npm install --global --no-audit --no-fund --loglevel=error "pnpm@$want" >&2; then
    # No rights to the global prefix: keep pnpm inside the checkout instead.
    npm install --prefix .tools --no-audit --no-fund --loglevel=error "pnpm@$want" >&2
    export PATH="$PWD/.tools/node_modules/.bin:$PATH"
    echo "xinfer: pnpm is in .tools/node_modules/.bin; add it to PATH to run pnpm yourself" >&2
  fi
fi

pnpm install --frozen-lockfile --reporter=append-only >&2
