#!/usr/bin/env bash
# bench/device.sh: the benchmarks worth running on a machine with a real GPU, in one
# command, offline, in under 8 minutes; everything lands in one results folder.
#   1. the WebGPU adapter Dawn finds (loudly flagged when it is a CPU one)
#   2. resnext bench conv (all shapes, --json) and its roofline against an H200
#   3. npm run bench:peers -- --quick --contenders tfjs,ort-web
#   4. 50 training steps of the small ResNeXt (resnext train), images/s
#   5. one resnext50_32x4d training step (bench/resnext50-step.ts), s/step, images/s, memory
# then summary.md. Each step runs under `timeout` and a shared deadline; a failed step is
# recorded and the next one runs. See docs/benchmarks.md ("On a GPU machine").
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR"

usage() {
  cat <<'USAGE'
usage: bench/device.sh [--out DIR] [--budget SECONDS]
Runs, each under its own timeout, writing into DIR (default bench/device-out/<date-time>/):
  1. adapter    node bin/resnext.js device (plus nvidia-smi, Vulkan ICD files, vulkaninfo)
  2. conv       node bin/resnext.js bench conv --json (all shapes) and bench roofline
  3. peers      npm run bench:peers -- --quick --contenders tfjs,ort-web --out DIR/peers
  4. train      node bin/resnext.js train: 50 steps of small_resnext at batch 64 (3,200 images)
  5. resnext50  npx tsx bench/resnext50-step.ts: one training step of resnext50_32x4d,
                batch 32 at 224x224 (smaller on a CPU adapter, said so in the results)
and DIR/summary.md (adapter, date, commit, each step's figures, wall time and failures).
Works offline: node_modules and bench/peers/node_modules are used as they are, or
installed from npm's cache (npm ci --offline); what cannot be installed is reported.
  --out DIR         results folder
  --budget SECONDS  wall-clock budget for all steps (default 450); steps share it
  -h, --help        this text
USAGE
}

OUT=""
BUDGET=450
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --out=*) OUT="${1#--out=}"; shift ;;
    --budget) BUDGET="${2:?--budget needs seconds}"; shift 2 ;;
    --budget=*) BUDGET="${1#--budget=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "device.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$BUDGET" in '' | *[!0-9]*) echo "device.sh: --budget '$BUDGET' is not a number of seconds" >&2; exit 2 ;; esac

STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="${OUT:-bench/device-out/$STAMP}"
mkdir -p "$OUT"
LOG="$OUT/device.log"
: >"$LOG"
STARTED_AT="$(date -u +'%Y-%m-%d %H:%M:%S UTC')"
START=$SECONDS
DEADLINE=$((START + BUDGET))
TSX=node_modules/.bin/tsx

say() { printf '[device.sh %3ds] %s\n' "$((SECONDS - START))" "$*" | tee -a "$LOG"; }

# Results of each step: name, status, seconds, one-line figure.
STEP_NAMES=() STEP_STATUS=() STEP_SECONDS=() STEP_FIGURE=()
FAILURES=()
ADAPTER="(not found)"
CPU_ADAPTER=0
NOTES=()

record() { # name status seconds figure
  STEP_NAMES+=("$1") STEP_STATUS+=("$2") STEP_SECONDS+=("$3") STEP_FIGURE+=("$4")
  [ "$2" = ok ] || FAILURES+=("$1: $2${4:+ ($4)}")
  say "done: $1: $2 in $3 s${4:+: $4}"
}

# The timeout for a step: at most `cap` seconds, leaving `reserve` seconds for the steps
# after it; 0 when the budget is spent.
timeout_for() { # cap reserve
  local left=$((DEADLINE - SECONDS - $2))
  [ "$left" -lt "$1" ] || left=$1
  [ "$left" -ge 20 ] || left=0
  echo "$left"
}

# Runs a command under `timeout`, its output shown and saved in `file`; returns its status
# (124: timed out). stdin is closed: nothing here may wait for a keyboard.
run_logged() { # file seconds command...
  local file=$1 seconds=$2
  shift 2
  set +e
  timeout --kill-after=10 "$seconds" "$@" </dev/null 2>&1 | tee "$file"
  local codes=("${PIPESTATUS[@]}")
  set -e
  return "${codes[0]}"
}

status_of() { # exit status, timeout -> words
  case "$1" in
    0) echo ok ;;
    124 | 137) echo "timed out after $2 s" ;;
    *) echo "failed (exit $1)" ;;
  esac
}

# A dependency tree is present or installed from npm's cache; never from the network.
ensure_modules() { # dir ready-test-path [npm ci flags...]
  local dir=$1 ready=$2
  shift 2
  [ -e "$dir/$ready" ] && return 0
  say "$dir/node_modules is missing; trying npm ci --offline (from npm's cache only)"
  if timeout 180 npm ci --prefix "$dir" --offline --no-audit --no-fund "$@" >>"$LOG" 2>&1 && [ -e "$dir/$ready" ]; then
    say "installed $dir/node_modules offline"
    return 0
  fi
  say "cannot install $dir/node_modules offline: npm's cache lacks its packages. Copy node_modules from a" \
    "machine with network (run 'npm ci' in $dir there) or bring the checkout with it."
  return 1
}

have_vulkan_loader() {
  local ldc
  ldc=$(command -v ldconfig || echo /sbin/ldconfig)
  "$ldc" -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' && return 0
  local d
  for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
    [ -e "$d/libvulkan.so.1" ] && return 0
  done
  return 1
}

ensure_vulkan_loader() {
  have_vulkan_loader && return 0
  say "no Vulkan loader (libvulkan.so.1): Dawn needs it to reach any GPU"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing libvulkan1 with apt-get (from apt's cache or configured sources)"
    export DEBIAN_FRONTEND=noninteractive
    timeout 120 apt-get install -y -qq libvulkan1 >>"$LOG" 2>&1 ||
      { timeout 120 apt-get update -qq >>"$LOG" 2>&1 && timeout 120 apt-get install -y -qq libvulkan1 >>"$LOG" 2>&1; } || true
    have_vulkan_loader && return 0
  fi
  say "install the Vulkan loader, then run this again: Debian/Ubuntu 'apt-get install libvulkan1'," \
    "Fedora/RHEL 'dnf install vulkan-loader' (and the NVIDIA driver's Vulkan ICD, see below)"
  return 1
}

# How to tell why an NVIDIA machine gave Dawn a CPU adapter.
icd_advice() {
  cat <<'ADVICE'
On an NVIDIA machine a CPU adapter means Vulkan does not see the GPU: the NVIDIA Vulkan ICD
is missing. Check:
  vulkaninfo --summary        (package vulkan-tools) should list the NVIDIA GPU
  ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json
                              one of them should exist (installed with the NVIDIA driver)
  in a container: NVIDIA_DRIVER_CAPABILITIES must include 'graphics' (or be 'all'), else
  the container toolkit mounts no Vulkan ICD
ADVICE
}

step_adapter() {
  local t0=$SECONDS
  say "step 1/5: adapter ($(node --version), $(uname -m))"
  if command -v nvidia-smi >/dev/null; then
    timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$OUT/nvidia-smi.txt" 2>&1 || true
    say "nvidia-smi: $(tail -n +2 "$OUT/nvidia-smi.txt" | head -n 3 | tr '\n' ';')"
  else
    echo "nvidia-smi: not found" >"$OUT/nvidia-smi.txt"
  fi
  ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d >"$OUT/vulkan-icd.txt" 2>&1 || true
  if command -v vulkaninfo >/dev/null; then timeout 30 vulkaninfo --summary >"$OUT/vulkaninfo.txt" 2>&1 || true; fi
  if ! ensure_vulkan_loader; then
    record adapter "failed: no Vulkan loader" $((SECONDS - t0)) "install libvulkan1"
    return 1
  fi
  local rc=0
  run_logged "$OUT/device.txt" "$(timeout_for 60 300)" node bin/resnext.js device || rc=$?
  ADAPTER=$(sed -n 's/^adapter: *//p' "$OUT/device.txt" | head -n 1)
  if [ "$rc" != 0 ] || [ -z "$ADAPTER" ]; then
    ADAPTER="(not found)"
    record adapter "$(status_of "$rc" 60)" $((SECONDS - t0)) "Dawn found no WebGPU adapter"
    icd_advice | tee -a "$LOG"
    return 1
  fi
  if grep -q 'CPU/software adapter' "$OUT/device.txt"; then
    CPU_ADAPTER=1
    NOTES+=("CPU ADAPTER: Dawn ran on the CPU ($ADAPTER): every figure below is a CPU's, not a GPU's.")
    {
      printf '\n%s\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
      echo "!!! CPU ADAPTER: Dawn found no GPU, only $ADAPTER"
      echo '!!! The steps still run (slowly, with smaller sizes) but measure the CPU, not a GPU.'
      icd_advice | sed 's/^/!!! /'
      printf '%s\n\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
    } | tee -a "$LOG" "$OUT/CPU-ADAPTER-WARNING.txt"
  fi
  record adapter ok $((SECONDS - t0)) "$ADAPTER"
}

step_conv() {
  local t0=$SECONDS rc=0 t args=(--iterations 10)
  # A CPU adapter: 1 timed run and no naive baseline, to leave the budget for the rest.
  [ "$CPU_ADAPTER" = 0 ] || args=(--iterations 1 --no-baseline)
  t=$(timeout_for 150 300)
  say "step 2/5: bench conv, all shapes, ${args[*]} (timeout ${t} s)"
  [ "$t" -gt 0 ] || { record conv "skipped: budget spent" 0 ""; return; }
  run_logged "$OUT/conv.txt" "$t" node bin/resnext.js bench conv "${args[@]}" --json "$OUT/conv.json" || rc=$?
  grep '^|' "$OUT/conv.txt" >"$OUT/conv.md" || true
  if [ "$rc" = 0 ] && [ -s "$OUT/conv.json" ]; then
    timeout 60 node bin/resnext.js bench roofline --measured "$OUT/conv.json" >"$OUT/roofline.txt" 2>&1 || true
    grep '^|' "$OUT/roofline.txt" >"$OUT/roofline.md" || true
  fi
  local rows
  rows=$(grep -cE '\| (forward|backward) +\|' "$OUT/conv.md" || true)
  record conv "$(status_of "$rc" "$t")" $((SECONDS - t0)) "${rows:-0} rows (shape x mode), ${args[*]}"
}

step_peers() {
  local t0=$SECONDS rc=0 t args=(--quick --contenders 'tfjs,ort-web' --out "$OUT/peers")
  # A CPU adapter: no training row (a tfjs step takes 20-45 s there; step 4 times ours).
  if [ "$CPU_ADAPTER" = 1 ]; then
    args+=(--shapes 'dense,matmul')
    NOTES+=("peers: CPU adapter, so --shapes dense,matmul: the training row is left out")
  fi
  t=$(timeout_for 200 200)
  say "step 3/5: bench:peers ${args[*]} (timeout ${t} s)"
  [ "$t" -gt 0 ] || { record peers "skipped: budget spent" 0 ""; return; }
  if ! ensure_modules bench/peers node_modules/.package-lock.json --ignore-scripts; then
    record peers "failed: bench/peers/node_modules missing, not installable offline" $((SECONDS - t0)) ""
    return
  fi
  if [ bench/peers/node_modules/.package-lock.json -nt bench/peers/package-lock.json ]; then
    run_logged "$OUT/peers.txt" "$t" npm run --silent bench:peers -- "${args[@]}" || rc=$?
  else
    # npm run bench:peers would run npm ci (the network) for a lockfile newer than the
    # installed tree; run what it runs after that install instead.
    NOTES+=("peers: bench/peers/node_modules is older than its lockfile; ran bench/peers/main.ts directly (npm run bench:peers would reinstall, which needs the network)")
    run_logged "$OUT/peers.txt" "$t" "$TSX" bench/peers/main.ts "${args[@]}" || rc=$?
  fi
  record peers "$(status_of "$rc" "$t")" $((SECONDS - t0)) "$([ -s "$OUT/peers/results.md" ] && echo "$OUT/peers/results.md")"
}

step_train() {
  local t0=$SECONDS rc=0 t figure
  t=$(timeout_for 200 50)
  say "step 4/5: resnext train, 50 steps of small_resnext at batch 64 (timeout ${t} s)"
  [ "$t" -gt 0 ] || { record train "skipped: budget spent" 0 ""; return; }
  run_logged "$OUT/train.txt" "$t" node bin/resnext.js train --train-limit 3200 --epochs 1 --batch-size 64 \
    --test-limit 64 --out "$OUT/train" --force || rc=$?
  figure=$(grep -o '[0-9.]* training images/s' "$OUT/train.txt" | tail -n 1 || true)
  record train "$(status_of "$rc" "$t")" $((SECONDS - t0)) "${figure:+$figure (50 steps of 64, one run, augmentation on)}"
}

step_resnext50() {
  local t0=$SECONDS rc=0 t figure args=(--json "$OUT/resnext50-step.json")
  # On a GPU: batch 32 at 224, 3 timed steps, kernels autotuned as resnext train does.
  # On a CPU adapter the script itself picks a smaller batch (and says so); 1 timed step.
  if [ "$CPU_ADAPTER" = 0 ]; then args+=(--steps 3 --tune); else args+=(--steps 1); fi
  t=$(timeout_for 150 0)
  say "step 5/5: resnext50_32x4d training step ${args[*]} (timeout ${t} s)"
  [ "$t" -gt 0 ] || { record resnext50 "skipped: budget spent" 0 ""; return; }
  run_logged "$OUT/resnext50-step.txt" "$t" "$TSX" bench/resnext50-step.ts "${args[@]}" || rc=$?
  figure=$(sed -n 's/^result: //p' "$OUT/resnext50-step.txt" | tail -n 1)
  record resnext50 "$(status_of "$rc" "$t")" $((SECONDS - t0)) "$figure"
}

FENCE='```'
fenced() { # file: its text in a code block, or a note that it is missing
  if [ -s "$1" ]; then printf '%s\n%s\n%s\n' "$FENCE" "$(grep -v '^Warning: max' "$1")" "$FENCE"; else echo "($1: no output)"; fi
}

write_summary() {
  local f="$OUT/summary.md" i
  {
    echo "# bench/device.sh results"
    echo
    echo "- adapter: $ADAPTER"
    [ "$CPU_ADAPTER" = 0 ] || echo "- **CPU ADAPTER: these figures are a CPU's, not a GPU's (see CPU-ADAPTER-WARNING.txt)**"
    echo "- date: $STARTED_AT; host $(uname -n), $(nproc) CPUs, node $(node --version 2>/dev/null || echo '?')"
    echo "- commit: $(git_commit)"
    echo "- GPU (nvidia-smi): $(tail -n +2 "$OUT/nvidia-smi.txt" 2>/dev/null | head -n 1 || true)"
    echo "- total wall time: $((SECONDS - START)) s (budget $BUDGET s); one run of each step"
    for i in "${NOTES[@]+"${NOTES[@]}"}"; do echo "- note: $i"; done
    echo
    echo "| step | status | wall s | result |"
    echo "|---|---|---|---|"
    for i in "${!STEP_NAMES[@]}"; do
      echo "| ${STEP_NAMES[$i]} | ${STEP_STATUS[$i]} | ${STEP_SECONDS[$i]} | ${STEP_FIGURE[$i]//|//} |"
    done
    echo
    echo "## What failed"
    if [ ${#FAILURES[@]} = 0 ]; then echo "nothing"; else printf -- '- %s\n' "${FAILURES[@]}"; fi
    echo
    echo "## 1. adapter (node bin/resnext.js device)"
    fenced "$OUT/device.txt"
    echo
    echo "## 2. bench conv (median of the timed runs; conv.json has every field)"
    cat "$OUT/conv.md" 2>/dev/null || echo "(no table)"
    echo
    echo "Roofline of an H200 against these medians (bench roofline --measured conv.json):"
    echo
    cat "$OUT/roofline.md" 2>/dev/null || echo "(no table)"
    echo
    echo "## 3. bench:peers --quick (tables from peers/results.md, footnotes there)"
    grep '^|' "$OUT/peers/results.md" 2>/dev/null || echo "(no results.md)"
    echo
    echo "## 4. small ResNeXt training, 50 steps (train.txt; run directory train/)"
    grep -E 'adapter:|tuned|epoch 1/1|final test error' "$OUT/train.txt" 2>/dev/null | sed 's/^/    /' || echo "(no output)"
    echo
    echo "## 5. resnext50_32x4d training step (resnext50-step.json)"
    grep -E '^(note|warm-up|step|result)' "$OUT/resnext50-step.txt" 2>/dev/null | sed 's/^/    /' || echo "(no output)"
  } >"$f"
  say "wrote $f ($((SECONDS - START)) s in all)"
}

# The commit, read from .git without running git (a worktree's .git is a file).
git_commit() {
  local dir=.git head ref common
  [ -f "$dir" ] && dir=$(sed -n 's/^gitdir: //p' "$dir")
  [ -f "$dir/HEAD" ] || { echo "(no .git)"; return; }
  head=$(cat "$dir/HEAD")
  case "$head" in
    ref:*)
      ref=${head#ref: }
      common=$dir
      [ -f "$dir/commondir" ] && common="$dir/$(cat "$dir/commondir")"
      if [ -f "$dir/$ref" ]; then cat "$dir/$ref"; elif [ -f "$common/$ref" ]; then cat "$common/$ref"; else
        grep " $ref\$" "$common/packed-refs" 2>/dev/null | cut -d' ' -f1 || echo "(unresolved $ref)"
      fi | tr -d '\n'
      echo " ($ref; uncommitted changes not checked)"
      ;;
    *) echo "$head (detached; uncommitted changes not checked)" ;;
  esac
}

trap write_summary EXIT
say "results in $OUT (budget $BUDGET s)"
if ! ensure_modules . node_modules/webgpu || [ ! -x "$TSX" ]; then
  FAILURES+=("setup: node_modules missing and not installable offline")
  exit 1
fi
node scripts/embed-kernels.mjs >>"$LOG" 2>&1
if step_adapter; then
  step_conv
  step_peers
  step_train
  step_resnext50
else
  FAILURES+=("steps 2-5 skipped: no usable adapter")
  exit 1
fi
