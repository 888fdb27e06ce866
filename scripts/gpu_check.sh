#!/usr/bin/env bash
# GPU check of tfc --target=cuda (docs/PERFORMANCE.md, "GPU"): models compiled
# to NVVM kernels + host code, run by libtfcrt's CUDA-driver launcher, against
# the ONNX Runtime references that the CPU tests use (atol = rtol = 1e-4).
#
#   scripts/gpu_check.sh prepare DIR
#       Where tfc is built (LLVM/MLIR, CUDA toolkit; no GPU needed): compiles
#       stories260K (both exports; the TorchScript one also as PTX) and, when
#       present, MiniLM with --target=cuda --emit=shared into DIR, copies the
#       references, and builds a CUDA-enabled tfc-run (runtime only) into DIR.
#   scripts/gpu_check.sh run DIR [TFC_RUN]
#       On the GPU machine (no LLVM needed): prints the device, then for every
#       model and reference case the max abs / rel error, PASS/FAIL and the
#       median latency of 10 runs. Uses TFC_RUN, else DIR/tfc-run if it starts
#       there, else builds the runtime from this checkout (cmake
#       -DTFC_RUNTIME_ONLY=ON -DTFC_ENABLE_CUDA=ON). Exit status 1 if any case
#       fails.
#
# DIR/models.txt lists "name reference.npz atol rtol" per line; each name has
# DIR/name.so and DIR/name.tfcw.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-}"
dir="${2:-}"
if [[ -z "$mode" || -z "$dir" ]]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

prepare() {
  local build="${TFC_BUILD:-$root/build}"
  local tfc="$build/bin/tfc"
  local shared="${TFC_SHARED:-$root/../shared}/models/stories260K/onnx"
  local cache="${TFC_CACHE:-$root/.cache}/onnx"
  mkdir -p "$dir"
  : >"$dir/models.txt"
  compile() { # name model.onnx ref.npz [tfc flags...]
    local name="$1" model="$2" ref="$3"
    shift 3
    echo "compiling $name ($(basename "$model") $*)"
    "$tfc" "$model" --target=cuda --emit=shared -o "$dir/$name" "$@"
    rm -f "$dir/$name.o" "$dir/$name.h"
    cp "$ref" "$dir/$(basename "$ref")"
    echo "$name $(basename "$ref") 1e-4 1e-4" >>"$dir/models.txt"
  }
  compile s260k_ts "$shared/stories260K.ts.onnx" "$shared/stories260K.ts.ref.npz"
  compile s260k_ts_ptx "$shared/stories260K.ts.onnx" "$shared/stories260K.ts.ref.npz" --cuda-format=isa
  compile s260k_dynamo "$shared/stories260K.dynamo.onnx" "$shared/stories260K.dynamo.ref.npz"
  if [[ -f "$cache/minilm.ts.onnx" ]]; then
    compile minilm_ts "$cache/minilm.ts.onnx" "$cache/minilm.ts.ref.npz"
  else
    echo "no $cache/minilm.ts.onnx (scripts/export_models.py): MiniLM skipped"
  fi
  echo "building a CUDA-enabled tfc-run"
  cmake -G Ninja -S "$root" -B "$dir/.rt-build" -DTFC_RUNTIME_ONLY=ON \
    -DTFC_ENABLE_CUDA=ON >/dev/null
  ninja -C "$dir/.rt-build" tfc-run >/dev/null
  cp "$dir/.rt-build/bin/tfc-run" "$dir/tfc-run"
  rm -rf "$dir/.rt-build"
  du -sh "$dir"
}

pick_runner() {
  if [[ -n "${1:-}" ]]; then
    echo "$1"
  elif [[ -x "$dir/tfc-run" ]] && "$dir/tfc-run" --help >/dev/null 2>&1; then
    echo "$dir/tfc-run"
  else
    echo "tfc-run from DIR does not start here; building the runtime" >&2
    cmake -G Ninja -S "$root" -B "$root/build-gpu" -DTFC_RUNTIME_ONLY=ON \
      -DTFC_ENABLE_CUDA=ON >&2
    ninja -C "$root/build-gpu" tfc-run >&2
    echo "$root/build-gpu/bin/tfc-run"
  fi
}

run() {
  local runner
  runner="$(pick_runner "${1:-}")"
  echo "== device"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 ||
    echo "(nvidia-smi failed)"
  echo "== runner: $runner"
  echo "== models (tfc --target=cuda; cubin for sm_90 unless named _ptx)"
  printf '%-14s %-6s %-14s %-10s %-10s %-5s %s\n' model case shape max_abs max_rel check median_ms
  local failed=0 total=0
  while read -r name ref atol rtol; do
    [[ -z "$name" ]] && continue
    local cases
    cases=$(python3 - "$dir/$ref" <<'EOF'
import re, sys, zipfile
cases = set()
for n in zipfile.ZipFile(sys.argv[1]).namelist():
    m = re.match(r"case(\d+)_", n)
    if m:
        cases.add(int(m.group(1)))
print(" ".join(str(k) for k in sorted(cases)))
EOF
)
    for k in $cases; do
      total=$((total + 1))
      local log="$dir/$name.case$k.log" rc=0
      "$runner" "$dir/$name.so" --inputs "$dir/$ref" --prefix "case${k}_" \
        --reference "$dir/$ref" --atol "$atol" --rtol "$rtol" \
        --bench --warmup 2 --iters 10 >"$log" 2>&1 || rc=$?
      local line shape abs rel verdict median
      line=$(grep -m1 "^check " "$log" || true)
      shape=$(grep -m1 "^output " "$log" | sed 's/.*\[\(.*\)\].*/\1/; s/, /x/g' || true)
      abs=$(sed -n 's/.*max abs err \([^,]*\),.*/\1/p' <<<"$line")
      rel=$(sed -n 's/.*max rel err \([^ ]*\) .*/\1/p' <<<"$line")
      verdict=$(sed -n 's/.*: \(PASS\|FAIL\)$/\1/p' <<<"$line")
      median=$(sed -n 's/.*latency ms: median \([0-9.]*\).*/\1/p' "$log" | head -1)
      [[ $rc -ne 0 || "$verdict" != PASS ]] && failed=$((failed + 1))
      printf '%-14s %-6s %-14s %-10s %-10s %-5s %s\n' "$name" "case$k" "${shape:--}" \
        "${abs:--}" "${rel:--}" "${verdict:-ERROR(rc=$rc)}" "${median:--}"
      if [[ $rc -ne 0 || "$verdict" != PASS ]]; then
        sed 's/^/    | /' "$log" | head -20
      fi
    done
  done <"$dir/models.txt"
  echo "== $((total - failed)) of $total cases passed"
  [[ $failed -eq 0 ]]
}

case "$mode" in
prepare) prepare ;;
run) run "${3:-}" ;;
*)
  echo "unknown mode '$mode' (prepare or run)" >&2
  exit 2
  ;;
esac
