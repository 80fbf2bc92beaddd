#!/usr/bin/env bash
# GPU check, for a machine with a GPU (not runnable on the CPU machines): in one run
#   1. find Node and a hardware WebGPU adapter (Dawn/Vulkan; unpacks carried Node / Vulkan loader if needed)
#   2. test/gpu-parity.test.ts — codec/prior gradients and every fused WebGPU op vs the cpu backend
#   3. bench:gpu --count — thesis codec (batch 8) and prior (batch 4, 900→901): reference vs fused, same run,
#      dispatches/submits/pipelines/buffers/read-backs per step, next to the PyTorch CUDA twin
#   4. prints the ratios (tfjs-webgpu step ÷ PyTorch CUDA step) and the dispatch counts before/after
#
# usage: scripts/gpu-check.sh [extra bench:gpu args, e.g. --steps 3]
# env:   NODE=path/to/node          (default: node on PATH, else $CARRY/node.xz unpacked)
#        CARRY=folder               (default: gpu-carry; optional: node.xz, *.deb of libvulkan1 libegl1 libglvnd0 …)
#        BENCH_PYTHON=python3       (a python with CUDA torch for the twins)
#        OUT=folder                 (default: gpu-check-out; logs and the JSON lines)
#        SKIP_PARITY=1              (bench only)
# Exit status: 0 when parity passed and the bench ran on a hardware adapter; 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARRY=${CARRY:-gpu-carry}
OUT=${OUT:-gpu-check-out}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$OUT"
status=0
say() { printf '\n== %s\n' "$*"; }

# --- 1. Node, Vulkan loader, driver ---------------------------------------------------------------
NODE=${NODE:-$(command -v node || true)}
if [ -z "$NODE" ] && [ -f "$CARRY/node.xz" ]; then
  xz -dc "$CARRY/node.xz" > "$SCRATCH/node" && chmod +x "$SCRATCH/node" && NODE="$SCRATCH/node"
fi
if [ -z "$NODE" ] || ! "$NODE" --version >/dev/null 2>&1; then
  echo "gpu-check: no Node (set NODE=… or put node.xz in $CARRY/)" >&2
  exit 1
fi
say "node $("$NODE" --version) · $(nproc) cores · $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"

if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  debs=("$CARRY"/*.deb)
  if [ -e "${debs[0]}" ]; then
    for d in "${debs[@]}"; do dpkg -x "$d" "$SCRATCH/libs"; done
    LIBDIR=$(find "$SCRATCH/libs" -name 'libvulkan.so.1' -printf '%h\n' | head -n1)
    [ -n "$LIBDIR" ] && export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "Vulkan loader from $CARRY/*.deb: ${LIBDIR:-not found in the .deb files}"
  else
    echo "gpu-check: warning: no Vulkan loader (libvulkan.so.1) and no .deb files in $CARRY/" >&2
  fi
fi
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && export VK_DRIVER_FILES="$icd" && break
  done
fi

TSX=(node_modules/tsx/dist/cli.mjs)
VITEST=(node_modules/vitest/vitest.mjs)
ADAPTER=$("$NODE" "${TSX[@]}" src/cli/info.ts --backend webgpu 2>&1 | grep -i -m1 'webgpu' || true)
say "adapter: ${ADAPTER:-unknown (src/cli/info.ts printed nothing about webgpu)}"
if printf '%s' "$ADAPTER" | grep -qiE 'software|llvmpipe|lavapipe|swiftshader'; then
  echo "gpu-check: only a SOFTWARE adapter: timings below are not GPU timings" >&2
  status=1
fi

# --- 2. parity ---------------------------------------------------------------------------------------
if [ "${SKIP_PARITY:-0}" != 1 ]; then
  say "parity: test/gpu-parity.test.ts"
  if timeout 900 "$NODE" "${VITEST[@]}" run test/gpu-parity.test.ts 2>&1 | tee "$OUT/parity.log" | grep -E '✓|×|↓|Tests|skipped'; then :; fi
  if ! grep -qE 'Tests .*passed' "$OUT/parity.log" || grep -qE 'failed|skipped' "$OUT/parity.log"; then
    echo "gpu-check: parity FAILED or was skipped (see $OUT/parity.log)" >&2
    status=1
  fi
fi

# --- 3. bench:gpu against the PyTorch CUDA twin -----------------------------------------------------
say "bench:gpu --count (reference vs fused; twin on CUDA)"
BENCH_TWIN_DEVICE=cuda timeout 1800 "$NODE" "${TSX[@]}" bench/gpu.ts --count --model all --preset thesis --batch 8 --prior-batch 4 --src 900 --tgt 900 "$@" \
  > "$OUT/bench-gpu.jsonl" 2> "$OUT/bench-gpu.err"
rc=$?
if [ $rc -ne 0 ]; then
  echo "gpu-check: bench:gpu exited $rc (see $OUT/bench-gpu.err)" >&2
  tail -n 20 "$OUT/bench-gpu.err" >&2
  status=1
fi

# --- 4. ratios --------------------------------------------------------------------------------------
say "ratios (tfjs-webgpu ÷ PyTorch CUDA) and dispatches per step"
"$NODE" -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{"));
if (lines.length === 0) { console.log("no results"); process.exit(0); }
const f = (x, d = 3) => (typeof x === "number" ? x.toFixed(d) : String(x));
for (const l of lines) {
  const m = JSON.parse(l);
  const ref = (m.variants || {}).reference || {};
  const fused = (m.variants || {}).fused || {};
  console.log(`${m.name}  [${m.device}]`);
  console.log(`  step: reference ${f(ref.step_s)} s, fused ${f(fused.step_s)} s (speed-up ${f(m.speedup, 2)}×); PyTorch ${m.twin_device || "twin"} ${f(m.twin_s, 4)} s → ratio ${f(m.ratio, 2)}×`);
  console.log(`  dispatches ${ref.dispatches} → ${fused.dispatches}, submits ${ref.submits} → ${fused.submits}, read-backs ${ref.readbacks} → ${fused.readbacks}, buffers created ${ref.buffers} → ${fused.buffers}, pipelines ${ref.pipelines} → ${fused.pipelines}`);
}' "$OUT/bench-gpu.jsonl"

say "done: $OUT/ (parity.log, bench-gpu.jsonl, bench-gpu.err) · status $status"
exit $status
