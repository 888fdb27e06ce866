#!/usr/bin/env bash
# GPU check of tfc --target=cuda (docs/PERFORMANCE.md, "GPU"): models compiled
# to NVVM kernels + cuBLASLt calls + host code, run by libtfcrt's CUDA
# runtime (device memory, one stream, CUDA graphs), against ONNX Runtime
# references (atol = rtol = 1e-4).
#
#   scripts/gpu_check.sh prepare DIR
#       Where tfc is built (LLVM/MLIR, CUDA toolkit; no GPU needed): compiles
#       stories260K (both exports; the TorchScript one also as PTX and with
#       --cuda-gemm=false, the plain-loop reference mapping) and, when
#       present, MiniLM (weights rounded to float16 values so that they
#       travel packed, scripts/gpu_minilm_cases.py; references from ONNX
#       Runtime on that model, including the 1x128 and 32x128 benchmark
#       shapes; also with --cuda-gemm=false if TFC_GPU_MINILM_LOOPS is set)
#       with --target=cuda
#       --emit=shared into DIR, builds a CUDA-enabled tfc-run (runtime
#       only), and copies what the run needs (scripts, runtime sources), so
#       that DIR alone can travel.
#   scripts/gpu_check.sh run DIR [TFC_RUN]
#       On the GPU machine (no LLVM needed): prints the device, then for every
#       model and reference case the max abs / rel error of the third run
#       (eager, captured, replayed graph) and PASS/FAIL, whether the eager
#       run without graphs (TFC_CUDA_GRAPHS=0) also passes and equals the
#       graph's output bit for bit, the median latency of 20 runs with and
#       without graphs, and the kernel launches / GEMMs of an eager run.
#       Then PyTorch on the MiniLM shapes (scripts/gpu_torch_peer.py;
#       TFC_TORCH_PEER=0 skips it, TFC_TORCH_ARGS adds arguments). Uses
#       TFC_RUN, else DIR/tfc-run if it starts there, else builds the runtime
#       from DIR/src.tar.gz or this checkout (cmake -DTFC_RUNTIME_ONLY=ON
#       -DTFC_ENABLE_CUDA=ON). Logs go to $OUT (else DIR/out). Exit status 1
#       if any case fails.
#
# DIR/models.txt lists "name reference.npz atol rtol [weights-of]" per line;
# each name has DIR/name.so and DIR/name.tfcw (or the named model's .tfcw).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-}"
dir="${2:-}"
if [[ -z "$mode" || -z "$dir" ]]; then
  sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

prepare() {
  local build="${TFC_BUILD:-$root/build}"
  local tfc="$build/bin/tfc"
  local shared="${TFC_SHARED:-$root/../shared}/models/stories260K/onnx"
  local cache="${TFC_CACHE:-$root/.cache}/onnx"
  local py="${TFC_PYTHON:-$root/.venv/bin/python}"
  mkdir -p "$dir"
  : >"$dir/models.txt"
  compile() { # name model.onnx ref.npz [tfc flags...]
    local name="$1" model="$2" ref="$3"
    shift 3
    echo "compiling $name ($(basename "$model") $*)"
    "$tfc" "$model" --target=cuda --emit=shared -o "$dir/$name" "$@"
    rm -f "$dir/$name.o" "$dir/$name.h"
    [[ -f "$dir/$(basename "$ref")" ]] || cp "$ref" "$dir/$(basename "$ref")"
    echo "$name $(basename "$ref") 1e-4 1e-4" >>"$dir/models.txt"
  }
  compile s260k_ts "$shared/stories260K.ts.onnx" "$shared/stories260K.ts.ref.npz"
  compile s260k_ts_ptx "$shared/stories260K.ts.onnx" "$shared/stories260K.ts.ref.npz" --cuda-format=isa
  compile s260k_ts_loops "$shared/stories260K.ts.onnx" "$shared/stories260K.ts.ref.npz" --cuda-gemm=false
  # Same constants, same weights file: one travels.
  rm -f "$dir/s260k_ts_ptx.tfcw" "$dir/s260k_ts_loops.tfcw"
  sed -i 's/^s260k_ts_\(ptx\|loops\) .*/& s260k_ts/' "$dir/models.txt"
  compile s260k_dynamo "$shared/stories260K.dynamo.onnx" "$shared/stories260K.dynamo.ref.npz"
  if [[ -f "$cache/minilm.ts.onnx" ]]; then
    "$py" "$root/scripts/gpu_minilm_cases.py" "$cache/minilm.ts.onnx" \
      "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz"
    compile minilm "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz"
    if [[ -n "${TFC_GPU_MINILM_LOOPS:-}" ]]; then # 2.7 MB more to carry
      compile minilm_loops "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --cuda-gemm=false
      rm -f "$dir/minilm_loops.tfcw"
      sed -i 's/^minilm_loops .*/& minilm/' "$dir/models.txt"
    fi
    # The weights file, packed to travel (scripts/device_pack.py).
    rm -f "$dir/minilm16.ts.onnx"
    mkdir -p "$dir/pack"
    "$py" "$root/scripts/device_pack.py" pack "$dir/pack" "$dir/minilm.tfcw"
    rm -f "$dir/minilm.tfcw"
  else
    echo "no $cache/minilm.ts.onnx (scripts/export_models.py): MiniLM skipped"
  fi
  echo "building a CUDA-enabled tfc-run"
  cmake -G Ninja -S "$root" -B "$dir/.rt-build" -DTFC_RUNTIME_ONLY=ON \
    -DTFC_ENABLE_CUDA=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$dir/.rt-build" tfc-run >/dev/null
  cp "$dir/.rt-build/bin/tfc-run" "$dir/tfc-run"
  rm -rf "$dir/.rt-build"
  cp "$root/scripts/gpu_check.sh" "$root/scripts/device_pack.py" \
    "$root/scripts/gpu_torch_peer.py" "$dir/"
  (cd "$root" && git ls-files -z CMakeLists.txt cmake include lib/Runtime \
    tools/tfc-run | tar --null -T - -czf "$dir/src.tar.gz")
  du -sh "$dir"
}

pick_runner() {
  if [[ -n "${1:-}" ]]; then
    echo "$1"
  elif [[ -x "$dir/tfc-run" ]] && "$dir/tfc-run" --help >/dev/null 2>&1; then
    echo "$dir/tfc-run"
  else
    echo "tfc-run from DIR does not start here; building the runtime" >&2
    local src="$root"
    if [[ -f "$dir/src.tar.gz" ]]; then
      src="$dir/src"
      mkdir -p "$src" && tar -xzf "$dir/src.tar.gz" -C "$src"
    fi
    cmake -G Ninja -S "$src" -B "$src/build-gpu" -DTFC_RUNTIME_ONLY=ON \
      -DTFC_ENABLE_CUDA=ON -DCMAKE_BUILD_TYPE=Release >&2
    ninja -C "$src/build-gpu" tfc-run >&2
    echo "$src/build-gpu/bin/tfc-run"
  fi
}

cases_of() { # ref.npz -> "0 1 2"
  python3 -c '
import re, sys, zipfile
ks = {int(m.group(1)) for n in zipfile.ZipFile(sys.argv[1]).namelist()
      for m in [re.match(r"case(\d+)_", n)] if m}
print(" ".join(str(k) for k in sorted(ks)))' "$1"
}

field() { # log pattern -> first match of sed pattern
  sed -n "$2" "$1" 2>/dev/null | head -1
}

run() {
  local runner out="${OUT:-$dir/out}"
  mkdir -p "$out"
  if [[ -d "$dir/pack" ]]; then
    python3 "$here/device_pack.py" unpack "$dir/pack" "$dir" >/dev/null
  fi
  runner="$(pick_runner "${1:-}")"
  echo "== device"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 ||
    echo "(nvidia-smi failed)"
  echo "== runner: $runner"
  echo "== models (cubins for sm_90 unless _ptx; _loops: matmuls as plain loops, the reference mapping)"
  local fmt='%-14s %-5s %-11s %-8s %-8s %-5s %-5s %-4s %-8s %-8s %s\n'
  printf "$fmt" model case shape max_abs max_rel graph eager same ms_graph ms_eager launch/gemm
  local failed=0 total=0
  while read -r name ref atol rtol wof; do
    [[ -z "$name" ]] && continue
    local weights="$dir/${wof:-$name}.tfcw"
    for k in $(cases_of "$dir/$ref"); do
      total=$((total + 1))
      local log="$out/$name.case$k.log" rc=0 rc2=0
      local common=("$dir/$name.so" --weights "$weights" --inputs "$dir/$ref"
        --prefix "case${k}_" --reference "$dir/$ref" --atol "$atol" --rtol "$rtol")
      # The third run replays a graph (eager, captured, replayed); the timed
      # runs after it are replays too.
      TFC_CUDA_STATS=1 "$runner" "${common[@]}" --runs 3 --outputs "$out/g.npz" \
        --bench --warmup 2 --iters 20 >"$log" 2>&1 || rc=$?
      TFC_CUDA_GRAPHS=0 "$runner" "${common[@]}" --outputs "$out/e.npz" \
        --bench --warmup 2 --iters 20 >"$log.eager" 2>&1 || rc2=$?
      local line shape abs rel verdict everdict median emedian same stats
      line=$(grep -m1 "^check " "$log" || true)
      shape=$(grep -m1 "^output " "$log" | sed 's/.*\[\(.*\)\].*/\1/; s/, /x/g' || true)
      abs=$(sed -n 's/.*max abs err \([^,]*\),.*/\1/p' <<<"$line")
      rel=$(sed -n 's/.*max rel err \([^ ]*\) .*/\1/p' <<<"$line")
      verdict=$(sed -n 's/.*: \(PASS\|FAIL\)$/\1/p' <<<"$line")
      everdict=$(grep -m1 "^check " "$log.eager" | sed -n 's/.*: \(PASS\|FAIL\)$/\1/p' || true)
      median=$(field "$log" 's/.*latency ms: median \([0-9.]*\).*/\1/p')
      emedian=$(field "$log.eager" 's/.*latency ms: median \([0-9.]*\).*/\1/p')
      same=$(python3 -c "
import numpy as np
a, b = np.load('$out/g.npz'), np.load('$out/e.npz')
print('yes' if all(np.array_equal(a[k], b[k]) for k in a.files) else 'NO')" 2>/dev/null || echo '-')
      rm -f "$out/g.npz" "$out/e.npz"
      stats=$(field "$log" 's/.*cuda run: eager, \([0-9]*\) kernel launches, \([0-9]*\) GEMMs.*/\1\/\2/p')
      if [[ $rc -ne 0 || "$verdict" != PASS || $rc2 -ne 0 || "$everdict" != PASS || "$same" != yes ]]; then
        failed=$((failed + 1))
      fi
      printf "$fmt" "$name" "case$k" "${shape:--}" "${abs:--}" "${rel:--}" \
        "${verdict:-ERR$rc}" "${everdict:-ERR$rc2}" "$same" "${median:--}" \
        "${emedian:--}" "${stats:--}"
      if [[ $rc -ne 0 || "$verdict" != PASS ]]; then
        grep -v "^tfc: cuda run" "$log" | sed 's/^/    | /' | head -12
      fi
      if [[ $rc2 -ne 0 || "$everdict" != PASS ]]; then
        sed 's/^/    e| /' "$log.eager" | head -12
      fi
    done
  done <"$dir/models.txt"
  echo "== $((total - failed)) of $total cases passed"
  if [[ "${TFC_TORCH_PEER:-1}" != 0 ]]; then
    echo "== PyTorch (gpu_torch_peer.py ${TFC_TORCH_ARGS:-})"
    timeout "${TFC_TORCH_TIMEOUT:-300}" python3 "$here/gpu_torch_peer.py" \
      ${TFC_TORCH_ARGS:-} 2>&1 | grep -v -i warn || echo "(torch peer failed or timed out)"
  fi
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
