#!/usr/bin/env bash
# Makes sure Dawn finds a WebGPU adapter. Without a GPU that is Mesa's lavapipe (a CPU Vulkan
# driver); Debian 12's own Mesa (22) is too old for Dawn's Vulkan backend, so on bookworm it comes
# from bookworm-backports (Mesa 25). Installs it when it can (root and apt), else says what to do.
set -euo pipefail
cd "$(dirname "$0")/.."

probe() { node scripts/probe-webgpu.mjs 2> >(grep -v '^Warning: ' >&2); }

if probe; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  . /etc/os-release
  export DEBIAN_FRONTEND=noninteractive
  if [ "${VERSION_CODENAME:-}" = bookworm ]; then
    echo "xinfer: installing Mesa lavapipe from bookworm-backports for WebGPU" >&2
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    fi
    apt-get update -qq >&2
    apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >&2
  else
    echo "xinfer: installing Mesa lavapipe for WebGPU" >&2
    apt-get update -qq >&2
    apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >&2
  fi
  if probe; then exit 0; fi
fi

echo "xinfer: no WebGPU adapter found; install a Vulkan driver: a GPU's, or Mesa lavapipe >= 24 (Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers)" >&2
exit 1
