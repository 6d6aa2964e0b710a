#!/usr/bin/env bash
# Makes the PyTorch side of the DDP round trip (examples/ddp/) ready: a virtual environment
# at .venv-torch/ in the repository root with torch, safetensors and numpy. Idempotent: a
# venv that already imports all three is left as it is (fast path, every run after the
# first). Debian's python3-torch is not used: its torchrun does not work.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-torch
PY="$VENV/bin/python"

fail() {
  echo "setup-torch: $*" >&2
  exit 1
}

ready() { "$PY" -c 'import torch, safetensors, numpy' >/dev/null 2>&1; }

if [ ! -x "$PY" ]; then
  command -v python3 >/dev/null || fail "python3 is missing; install Python 3 (with its venv module) first."
  echo "setup-torch: creating $VENV"
  python3 -m venv "$VENV" || fail "could not create $VENV (on Debian: apt-get install python3-venv)."
fi

if ! ready; then
  echo "setup-torch: installing torch, safetensors and numpy into $VENV (this can take a few minutes)"
  # An index pip cannot reach costs minutes of five retries before it uses the ones it can
  # (on machines with a local wheel index and no internet); one retry, unless told otherwise.
  PIP_RETRIES="${PIP_RETRIES:-1}" PIP_TIMEOUT="${PIP_TIMEOUT:-10}" \
    "$PY" -m pip install --quiet torch safetensors numpy || fail "pip install torch safetensors numpy failed (see above)."
  ready || fail "torch, safetensors or numpy still does not import from $VENV."
fi
[ -x "$VENV/bin/torchrun" ] || fail "$VENV/bin/torchrun is missing; the torch install is incomplete."

echo "setup-torch: torch $("$PY" -c 'import torch; print(torch.__version__)') in $VENV"
