#!/usr/bin/env bash
# Makes sure a Chromium is there for the chat page's browser test (examples/server): Debian's
# `chromium`, driven by playwright-core. Installs it when it can (root and apt), else says what to do.
set -euo pipefail

browser="${XINFER_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$browser" ]; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "xinfer: installing chromium for the chat page's browser test" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >&2
  if [ -x "$browser" ]; then exit 0; fi
fi

echo "xinfer: no browser at $browser; install Debian's chromium (apt-get install chromium) or set XINFER_CHROMIUM" >&2
exit 1
