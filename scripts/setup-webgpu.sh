#!/usr/bin/env bash
# Makes sure this machine has a WebGPU adapter for Dawn's Node bindings, and a Chromium
# for the browser tests.
#  1. An adapter is already found: do nothing (fast path, every run after the first).
#  2. Debian bookworm as root: install Mesa's lavapipe (software Vulkan) from
#     bookworm-backports, since bookworm's own Mesa 22 is rejected by Dawn.
#  3. Anything else: say exactly what to install and exit non-zero.
# Chromium (Debian's `chromium`, whose WebGPU runs on SwiftShader) is installed the same
# way when absent; elsewhere the browser tests skip, saying so, unless CHROMIUM_PATH is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

probe() { node scripts/probe-adapter.mjs "$@"; }

if [ ! -d node_modules/webgpu ]; then
  echo "setup-webgpu: node_modules/webgpu is missing; run 'npm install' (or 'npm ci') first." >&2
  exit 1
fi
is_debian_root() {
  local codename
  codename=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}" )
  [ "$codename" = bookworm ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null
}

ensure_chromium() {
  [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null && return 0
  if is_debian_root; then
    echo "setup-webgpu: installing Debian's chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  else
    echo "setup-webgpu: no Chromium found; the browser tests will be skipped (install chromium or set CHROMIUM_PATH)" >&2
  fi
}

if probe --quiet 2>/dev/null; then
  ensure_chromium
  exit 0
fi

manual() {
  cat >&2 <<'MSG'
setup-webgpu: no WebGPU adapter found, and this script can only install one on Debian
bookworm as root. Install a Vulkan driver that Dawn accepts, then run this again:
  - a GPU's Vulkan driver (NVIDIA, AMD or Intel), or
  - Mesa's software driver lavapipe, version 23 or newer: on Debian bookworm add the
    bookworm-backports suite and run
      apt-get install -y -t bookworm-backports mesa-vulkan-drivers
    (on Ubuntu 24.04+ or Debian trixie: apt-get install -y mesa-vulkan-drivers)
MSG
  exit 1
}

is_debian_root || manual

# Reuse the URI of the machine's own Debian source for backports, so that mirrors and
# proxies configured here keep working; no host name is written into this repository.
debian_uri() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk '/^URIs:/{u=$2} /^Suites:/{ if ($0 ~ /(^|[ \t])bookworm([ \t]|$)/ && u != "") { print u; exit } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    awk '$1=="deb" && $0 ~ /[ \t]bookworm[ \t]/ { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f"
  done
}
uri=$(debian_uri | head -n 1)
[ -n "$uri" ] || { echo "setup-webgpu: found no Debian bookworm apt source to reuse." >&2; manual; }

list=/etc/apt/sources.list.d/resnext-webgpu-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "setup-webgpu: adding bookworm-backports (from $uri)"
  echo "deb $uri bookworm-backports main" > "$list"
fi
echo "setup-webgpu: installing mesa-vulkan-drivers from bookworm-backports"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null

probe || { echo "setup-webgpu: Mesa is installed but Dawn still finds no adapter." >&2; manual; }
ensure_chromium
