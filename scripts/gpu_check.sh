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
#       shapes; also with --cuda-linear=false (_nolin: bias adds as
#       elementwise kernels, the GEMM epilogues' reference), with
#       --precision=fp16 / bf16 (checked by cosine; fused attention on the
#       tensor cores) and fp16 with --cuda-linear=false; with
#       TFC_GPU_EXTRA=1 also --cuda-attention=false (_noattn: the linalg
#       lowering of attention), the plain mapping (_rowthread), one kernel per
#       row op (_nofuse), one row element per thread (_unroll1) and a warp
#       per fused row (_warp); with TFC_GPU_ROWBLOCK=N fp32 and fp16 with
#       --cuda-row-block=N (_rbN); with TFC_GPU_AB_NAME=X and
#       TFC_GPU_AB_FLAGS="flags" fp32 and fp16 with those flags (_X, _fp16_X;
#       several: TFC_GPU_AB_NAME=a,b TFC_GPU_AB_FLAGS="FA;FB");
#       with --cuda-gemm=false if
#       TFC_GPU_MINILM_LOOPS is set) with --target=cuda --emit=shared into
#       DIR, builds a CUDA-enabled tfc-run, tfcrt-gpu-attention-test and
#       tfcrt-gpu-gemv-test (runtime only), and copies what the run needs (scripts, runtime
#       sources), so that DIR alone can travel.
#   scripts/gpu_check.sh run DIR [TFC_RUN]
#       On the GPU machine (no LLVM needed): prints the device, runs
#       tfcrt-gpu-attention-test (the fused attention kernels against the
#       contract, then timed on MiniLM's shapes) and tfcrt-gpu-gemv-test
#       (the few-row GEMM kernels, checked and timed), then for every
#       model and reference case the max abs / rel error of the third run
#       (eager, captured, replayed graph) and PASS/FAIL, whether the eager
#       run without graphs (TFC_CUDA_GRAPHS=0) also passes and equals the
#       graph's output bit for bit, the median latency of 20 runs with and
#       without graphs (host clock), the graph runs' median device time
#       (CUDA events, without the outputs' download) and the kernel launches
#       / GEMMs of an eager run.
#       Then PyTorch on the MiniLM shapes (scripts/gpu_torch_peer.py;
#       TFC_TORCH_PEER=0 skips it, TFC_TORCH_ARGS adds arguments). Uses
#       TFC_RUN, else DIR/tfc-run if it starts there, else builds the runtime
#       from DIR/src.tar.gz or this checkout (cmake -DTFC_RUNTIME_ONLY=ON
#       -DTFC_ENABLE_CUDA=ON). Logs go to $OUT (else DIR/out). Exit status 1
#       if any case fails.
#
#   scripts/gpu_check.sh profile DIR [TFC_RUN]
#       On the GPU machine: where an eager run's time goes, per launch / GEMM
#       (TFC_CUDA_KTIME=1; TFC_PROFILE_CASE, default 4).
#   scripts/gpu_check.sh trace DIR [TFC_RUN]
#       On the GPU machine: the replayed graph of TFC_PROFILE_CASE (default
#       4: MiniLM 32x128) kernel by kernel on the GPU's clock (DIR/cupti:
#       libtfc-cupti-trace.so, which prepare adds where the toolkit has
#       CUPTI; scripts/cupti_summary.py) for each model TFC_GPU_ONLY selects
#       (default minilm_fp16 and minilm), then PyTorch's CUDA graphs of the same shape
#       (gpu_torch_peer.py --compile; TFC_TORCH_PEER=0 skips it).
#
# TFC_GPU_ONLY=REGEX runs only the models whose name it matches; TFC_GPU_HALF=0
# (prepare) skips the fp16 / bf16 builds.
#
# DIR/models.txt lists "name reference.npz atol rtol [weights-of]" per line
# (atol "cos:C": embeddings cosine >= C instead);
# each name has DIR/name.so and DIR/name.tfcw (or the named model's .tfcw).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-}"
dir="${2:-}"
if [[ -z "$mode" || -z "$dir" ]]; then
  sed -n '2,59p' "$0" | sed 's/^# \{0,1\}//'
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
    # Same weights as another build: only one .tfcw travels.
    same_weights() { # name of
      rm -f "$dir/$1.tfcw"
      sed -i "s/^$1 .*/& $2/" "$dir/models.txt"
    }
    # The plain mapping (one thread per row of a reduction, one per element
    # elsewhere), the reference of tfc-gpu-row-reductions and of
    # --cuda-per-thread.
    local plain=(--cuda-row-reduce=false --cuda-per-thread=1
      --cuda-attention=false)
    # Linear layers as a GEMM then elementwise kernels (the bias add): the
    # reference of the GEMM epilogues (--cuda-linear).
    compile minilm_nolin "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --cuda-linear=false
    same_weights minilm_nolin minilm
    # Earlier experiments' variants (TFC_GPU_EXTRA=1; together they would
    # take the directory past the 64 MiB the device tool carries): the
    # linalg lowering of attention (batched GEMMs + the fused softmax, the
    # fused kernel's reference), the plain mapping, one kernel per row op,
    # one row element per thread, a warp per fused row.
    if [[ "${TFC_GPU_EXTRA:-0}" != 0 ]]; then
      compile minilm_noattn "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --cuda-attention=false
      same_weights minilm_noattn minilm
      compile minilm_rowthread "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" "${plain[@]}"
      same_weights minilm_rowthread minilm
      compile minilm_nofuse "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --cuda-row-fuse=false --cuda-attention=false
      same_weights minilm_nofuse minilm
      compile minilm_unroll1 "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --cuda-row-unroll=1
      same_weights minilm_unroll1 minilm
      compile minilm_warp "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --cuda-row-warps=4
      same_weights minilm_warp minilm
    fi
    if [[ -n "${TFC_GPU_MINILM_LOOPS:-}" ]]; then # 2.7 MB more to carry
      compile minilm_loops "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --cuda-gemm=false
      same_weights minilm_loops minilm
    fi
    # Half precision (--precision=fp16 / bf16: half GEMMs in cuBLASLt with
    # f32 accumulation, norms / softmax in f32), checked by the cosine of
    # the embeddings against ONNX Runtime's f32 ones (atol "cos:0.999").
    # Their weights are rebuilt from minilm.tfcw on the device
    # (device_pack.py: f32 weights rounded to half).
    if [[ "${TFC_GPU_HALF:-1}" != 0 ]]; then
      half() { # name precision [flags...]
        local n="$1" p="$2"
        shift 2
        compile "$n" "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" --precision="$p" "$@"
        sed -i "s/^\($n [^ ]*\) 1e-4 1e-4/\1 cos:0.999 0/" "$dir/models.txt"
      }
      half minilm_fp16 fp16
      half minilm_bf16 bf16
      # A GEMM writing a half product, then a kernel widening it with the
      # bias add: the reference of the epilogues in half precision.
      half minilm_fp16_nolin fp16 --cuda-linear=false
      same_weights minilm_fp16_nolin minilm_fp16
      # TFC_GPU_ROWBLOCK=N: fp32 and fp16 builds with N threads a row op
      # (--cuda-row-block; the default is 32): whether a decode step's win
      # (docs/PERFORMANCE.md) costs MiniLM's 4,096 rows anything.
      if [[ -n "${TFC_GPU_ROWBLOCK:-}" ]]; then
        compile "minilm_rb$TFC_GPU_ROWBLOCK" "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" \
          --cuda-row-block="$TFC_GPU_ROWBLOCK"
        same_weights "minilm_rb$TFC_GPU_ROWBLOCK" minilm
        half "minilm_fp16_rb$TFC_GPU_ROWBLOCK" fp16 --cuda-row-block="$TFC_GPU_ROWBLOCK"
        same_weights "minilm_fp16_rb$TFC_GPU_ROWBLOCK" minilm_fp16
      fi
      # TFC_GPU_AB_NAME=X TFC_GPU_AB_FLAGS="...": fp32 and fp16 builds
      # minilm_X / minilm_fp16_X with those tfc flags (an A/B against the
      # defaults, e.g. X=novec with --cuda-vector-rows=false).
      # Several: names ','-separated, their flags ';'-separated in order.
      if [[ -n "${TFC_GPU_AB_NAME:-}" ]]; then
        local abn abf ai
        IFS=',' read -r -a abn <<<"$TFC_GPU_AB_NAME"
        IFS=';' read -r -a abf <<<"${TFC_GPU_AB_FLAGS:-}"
        for ai in "${!abn[@]}"; do
          # shellcheck disable=SC2086
          compile "minilm_${abn[$ai]}" "$dir/minilm16.ts.onnx" "$dir/minilm16.ref.npz" \
            ${abf[$ai]:-}
          same_weights "minilm_${abn[$ai]}" minilm
          # shellcheck disable=SC2086
          half "minilm_fp16_${abn[$ai]}" fp16 ${abf[$ai]:-}
          same_weights "minilm_fp16_${abn[$ai]}" minilm_fp16
        done
      fi
      if [[ "${TFC_GPU_EXTRA:-0}" != 0 ]]; then
        half minilm_fp16_noattn fp16 --cuda-attention=false
        same_weights minilm_fp16_noattn minilm_fp16
        half minilm_fp16_rowthread fp16 "${plain[@]}"
        same_weights minilm_fp16_rowthread minilm_fp16
        half minilm_fp16_nofuse fp16 --cuda-row-fuse=false --cuda-attention=false
        same_weights minilm_fp16_nofuse minilm_fp16
        half minilm_fp16_unroll1 fp16 --cuda-row-unroll=1
        same_weights minilm_fp16_unroll1 minilm_fp16
        half minilm_fp16_warp fp16 --cuda-row-warps=4
        same_weights minilm_fp16_warp minilm_fp16
      fi
    fi
    # The weights files, packed to travel (scripts/device_pack.py; the
    # first one whole, the others as what differs from it).
    rm -f "$dir/minilm16.ts.onnx"
    mkdir -p "$dir/pack"
    "$py" "$root/scripts/device_pack.py" pack "$dir/pack" "$dir/minilm.tfcw" \
      $(ls "$dir"/minilm_*.tfcw 2>/dev/null)
    rm -f "$dir"/minilm*.tfcw
  else
    echo "no $cache/minilm.ts.onnx (scripts/export_models.py): MiniLM skipped"
  fi
  echo "building a CUDA-enabled tfc-run"
  source "$root/scripts/gpu_cublaslt.sh"
  rt_build "$root" "$dir/.rt-build"
  cp "$dir/.rt-build/bin/tfc-run" "$dir/.rt-build/bin/tfcrt-gpu-attention-test" \
    "$dir/.rt-build/bin/tfcrt-gpu-gemv-test" "$dir/"
  # The kernel tracer (trace).
  cupti_pack "$dir/.rt-build" "$dir"
  rm -rf "$dir/.rt-build"
  cp "$root/scripts/gpu_check.sh" "$root/scripts/gpu_cublaslt.sh" \
    "$root/scripts/device_pack.py" "$root/scripts/gpu_torch_peer.py" "$dir/"
  (cd "$root" && git ls-files -z CMakeLists.txt cmake include lib/Runtime \
    tools/tfc-run test/Runtime/GpuAttentionTest.cpp test/Runtime/GpuGemvTest.cpp \
    test/Runtime/GpuTestUtil.h |
    tar --null -T - -czf "$dir/src.tar.gz")
  # The model libraries (mostly cubins) shrink 7x, the runner and the kernel
  # tests (the attention fatbin) 2x: gzipped to travel.
  gzip -9 -f "$dir"/*.so "$dir/tfc-run" "$dir/tfcrt-gpu-attention-test" \
    "$dir/tfcrt-gpu-gemv-test"
  du -sh "$dir"
  # The device tool carries the checkout (tracked and untracked files that
  # git does not ignore) plus DIR: 64 MiB in all.
  local kb repo_kb
  kb=$(du -sk "$dir" | cut -f1)
  repo_kb=$(cd "$root" && { git ls-files -z; git ls-files -z --others --exclude-standard; } |
    xargs -0 du -ck 2>/dev/null | tail -1 | cut -f1)
  if [[ $((kb + repo_kb)) -gt $((62 * 1024)) ]]; then
    echo "warning: $dir ($((kb / 1024)) MiB) and the checkout ($((repo_kb / 1024)) MiB) come near the device tool's 64 MiB: drop builds (TFC_GPU_EXTRA=0, TFC_GPU_HALF=0)" >&2
  fi
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
    ninja -C "$src/build-gpu" tfc-run tfcrt-gpu-attention-test tfcrt-gpu-gemv-test >&2
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

# Unpacks what prepare gzipped and packed (the model libraries, the runner,
# the kernel tests, the weights files) in place; run, profile and trace.
unpack_bundle() {
  local z
  for z in "$dir"/*.so.gz "$dir"/tfc-run.gz "$dir"/tfcrt-gpu-*-test.gz; do
    [[ -e "$z" ]] && gunzip -f "$z"
  done
  chmod +x "$dir"/tfc-run "$dir"/tfcrt-gpu-*-test 2>/dev/null || true
  if [[ -d "$dir/pack" ]]; then
    python3 "$here/device_pack.py" unpack "$dir/pack" "$dir" >/dev/null
  fi
}

run() {
  local runner out="${OUT:-$dir/out}"
  mkdir -p "$out"
  unpack_bundle
  runner="$(pick_runner "${1:-}")"
  # cuBLASLt: the loader's path, the toolkit (the runtime looks there too),
  # else PyTorch's nvidia-cublas wheel.
  source "$here/gpu_cublaslt.sh"
  find_cublaslt
  echo "== cuBLASLt: ${TFC_CUBLASLT_LIBRARY:-libcublasLt.so.13 (loader path or /usr/local/cuda)}"
  echo "== device"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 ||
    echo "(nvidia-smi failed)"
  echo "== runner: $runner"
  # The fused attention kernels against the contract (every mode, odd
  # shapes, every mask and structure), then their time on MiniLM's shapes.
  local at="$(dirname "$runner")/tfcrt-gpu-attention-test"
  [[ -x "$at" ]] || at="$dir/tfcrt-gpu-attention-test"
  if [[ -x "$at" ]]; then
    echo "== tfcrt-gpu-attention-test"
    "$at" || failed_kernels=1
    "$at" --bench || true
  else
    echo "== no tfcrt-gpu-attention-test beside the runner"
  fi
  local gt="$(dirname "$runner")/tfcrt-gpu-gemv-test"
  [[ -x "$gt" ]] || gt="$dir/tfcrt-gpu-gemv-test"
  if [[ -x "$gt" ]]; then
    echo "== tfcrt-gpu-gemv-test"
    "$gt" | grep -v '^ok ' || failed_kernels=1
    "$gt" --bench || true
  fi
  echo "== models (cubins for sm_90 unless _ptx; _loops: matmuls as plain loops, the reference mapping)"
  # ms_graph / ms_eager: tfc-run --bench's host-clock medians (inputs staged,
  # outputs downloaded); ms_dev: the graph runs' device time from CUDA
  # events (inputs on the device, outputs not downloaded: how PyTorch's
  # numbers below are taken).
  local fmt='%-21s %-5s %-11s %-8s %-8s %-5s %-5s %-4s %-8s %-8s %-8s %s\n'
  printf "$fmt" model case shape max_abs max_rel graph eager same ms_graph ms_dev ms_eager launch/gemm
  local failed=${failed_kernels:-0} total=0
  while read -r name ref atol rtol wof; do
    [[ -z "$name" ]] && continue
    if [[ -n "${TFC_GPU_ONLY:-}" ]] && ! grep -qE "^(${TFC_GPU_ONLY})\$" <<<"$name"; then
      continue
    fi
    # "cos:C": half precision, checked by cosine >= C against the f32
    # reference (tfc-run's own check is made to pass; the cosine decides).
    local cosmin=""
    if [[ "$atol" == cos:* ]]; then
      cosmin="${atol#cos:}" atol=1e30 rtol=0
    fi
    local weights="$dir/${wof:-$name}.tfcw"
    for k in $(cases_of "$dir/$ref"); do
      total=$((total + 1))
      local log="$out/$name.case$k.log" rc=0 rc2=0
      local common=("$dir/$name.so" --weights "$weights" --inputs "$dir/$ref"
        --prefix "case${k}_" --reference "$dir/$ref" --atol "$atol" --rtol "$rtol")
      # The third run replays a graph (eager, captured, replayed); the timed
      # runs after it are replays too.
      TFC_CUDA_STATS=1 "$runner" "${common[@]}" --runs 3 --outputs "$out/g.npz" \
        --bench --warmup 2 --iters ${TFC_GPU_ITERS:-20} >"$log" 2>&1 || rc=$?
      TFC_CUDA_GRAPHS=0 "$runner" "${common[@]}" --outputs "$out/e.npz" \
        --bench --warmup 2 --iters ${TFC_GPU_ITERS:-20} >"$log.eager" 2>&1 || rc2=$?
      local line shape abs rel verdict everdict median emedian same stats
      line=$(grep -m1 "^check " "$log" || true)
      shape=$(grep -m1 "^output " "$log" | sed 's/.*\[\(.*\)\].*/\1/; s/, /x/g' || true)
      abs=$(sed -n 's/.*max abs err \([^,]*\),.*/\1/p' <<<"$line")
      rel=$(sed -n 's/.*max rel err \([^ ]*\) .*/\1/p' <<<"$line")
      verdict=$(sed -n 's/.*: \(PASS\|FAIL\)$/\1/p' <<<"$line")
      everdict=$(grep -m1 "^check " "$log.eager" | sed -n 's/.*: \(PASS\|FAIL\)$/\1/p' || true)
      median=$(field "$log" 's/.*latency ms: median \([0-9.]*\).*/\1/p')
      emedian=$(field "$log.eager" 's/.*latency ms: median \([0-9.]*\).*/\1/p')
      local dev
      dev=$(grep -o "; device [0-9.]* ms" "$log" | tail -n "${TFC_GPU_ITERS:-20}" |
        awk '{print $3}' | sort -n |
        awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}')
      same=$(python3 -c "
import numpy as np
a, b = np.load('$out/g.npz'), np.load('$out/e.npz')
print('yes' if all(np.array_equal(a[k], b[k]) for k in a.files) else 'NO')" 2>/dev/null || echo '-')
      if [[ -n "$cosmin" ]]; then
        # Per token (min over tokens of real rows) and per sentence (mean
        # pooled over the mask, min over rows); rel = the token cosine.
        local cos
        cos=$(python3 - "$out/g.npz" "$dir/$ref" "case$k" "$cosmin" <<'PY' 2>&1 || true
import sys, numpy as np
g, ref, c, cmin = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3], float(sys.argv[4])
key = sorted(k for k in g.files)[0]
out = g[key].astype(np.float64)
exp = ref[f"{c}_{key}"].astype(np.float64)
mask = ref[f"{c}_attention_mask"].astype(bool)
def cos(a, b):
    return (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-30)
tok = cos(out, exp)[mask].min()
m = mask[..., None]
sent = cos((out * m).sum(1) / m.sum(1), (exp * m).sum(1) / m.sum(1)).min()
print(f"{tok:.6f} {sent:.6f} {'PASS' if min(tok, sent) >= cmin and np.isfinite(out).all() else 'FAIL'}")
PY
)
        rel="tok$(cut -d' ' -f1 <<<"$cos")"
        abs="$abs/sent$(cut -d' ' -f2 <<<"$cos")"
        [[ "$(cut -d' ' -f3 <<<"$cos")" == PASS ]] || verdict=FAIL
        [[ "$verdict" == PASS ]] || echo "    | cosine check: $cos"
      fi
      rm -f "$out/g.npz" "$out/e.npz"
      stats=$(field "$log" 's/.*cuda run: eager, \([0-9]*\) kernel launches, \([0-9]*\) GEMMs.*/\1\/\2/p')
      if [[ $rc -ne 0 || "$verdict" != PASS || $rc2 -ne 0 || "$everdict" != PASS || "$same" != yes ]]; then
        failed=$((failed + 1))
      fi
      printf "$fmt" "$name" "case$k" "${shape:--}" "${abs:--}" "${rel:--}" \
        "${verdict:-ERR$rc}" "${everdict:-ERR$rc2}" "$same" "${median:--}" \
        "${dev:--}" "${emedian:--}" "${stats:--}"
      if [[ $rc -ne 0 || "$verdict" != PASS ]]; then
        grep -v "^tfc: cuda run" "$log" | sed 's/^/    | /' | head -12
      fi
      if [[ $rc2 -ne 0 || "$everdict" != PASS ]]; then
        sed 's/^/    e| /' "$log.eager" | head -12
      fi
      if [[ $rc2 -ne 0 ]]; then # name the kernel: synchronize after each launch
        TFC_CUDA_SYNC=1 TFC_CUDA_GRAPHS=0 "$runner" "${common[@]}" 2>&1 | tail -4 |
          sed 's/^/    s| /' || true
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

# Where an eager run's time goes (TFC_CUDA_KTIME=1: the runtime synchronizes
# after every launch / GEMM and times each on the host clock, launch latency
# included; Nsight Compute could not attach to tfc-run on the lent H200):
# totals per kind and the costliest items (launch order, grid, block; for a
# GEMM: M*N and batch). The third eager run of TFC_PROFILE_CASE (default 4:
# MiniLM 32x128) for each model TFC_GPU_ONLY selects.
profile() {
  local runner k="${TFC_PROFILE_CASE:-4}"
  unpack_bundle
  runner="$(pick_runner "${1:-}")"
  while read -r name ref atol rtol wof; do
    [[ -z "$name" ]] && continue
    if [[ -n "${TFC_GPU_ONLY:-}" ]] && ! grep -qE "^(${TFC_GPU_ONLY})\$" <<<"$name"; then
      continue
    fi
    echo "== $name case$k (eager, TFC_CUDA_KTIME=1)"
    TFC_CUDA_GRAPHS=0 TFC_CUDA_KTIME=1 timeout 120 "$runner" "$dir/$name.so" \
      --weights "$dir/${wof:-$name}.tfcw" --inputs "$dir/$ref" \
      --prefix "case${k}_" --runs 3 2>&1 | grep "ktime" | tail -17 | head -13 || true
  done <"$dir/models.txt"
}

# The replayed graph kernel by kernel (CUPTI), next to PyTorch's graphs.
trace() {
  local runner k="${TFC_PROFILE_CASE:-4}" out="${OUT:-$dir/out}"
  mkdir -p "$out"
  source "$here/gpu_cublaslt.sh"
  cupti_setup "$dir" || return 1
  unpack_bundle
  runner="$(pick_runner "${1:-}")"
  while read -r name ref atol rtol wof; do
    [[ -z "$name" ]] && continue
    if ! grep -qE "^(${TFC_GPU_ONLY:-minilm_fp16|minilm})\$" <<<"$name"; then
      continue
    fi
    echo "== $name case$k, replayed graphs traced"
    cupti_run "$out/cupti.$name.csv" timeout 120 "$runner" "$dir/$name.so" \
      --weights "$dir/${wof:-$name}.tfcw" --inputs "$dir/$ref" --prefix "case${k}_" \
      --runs 30 >"$out/cupti.$name.log" 2>&1 || true
    cupti_summary "$out/cupti.$name.csv" --rows "${TFC_TRACE_ROWS:-24}" \
      --full "$out/cupti.$name.txt" || true
  done <"$dir/models.txt"
  if [[ "${TFC_TORCH_PEER:-1}" != 0 ]]; then
    echo "== PyTorch (gpu_torch_peer.py --compile ${TFC_TORCH_ARGS:---shapes 32x128}), graphs traced"
    # shellcheck disable=SC2086
    cupti_run "$out/cupti.torch.csv" timeout "${TFC_TORCH_TIMEOUT:-300}" \
      python3 "$here/gpu_torch_peer.py" --compile ${TFC_TORCH_ARGS:---shapes 32x128} 2>&1 |
      grep -v -i warn | tail -n 8 || true
    cupti_summary "$out/cupti.torch.csv" --top 4 --rows 0 || true
  fi
  rm -f "$out"/cupti.*.csv*
}

case "$mode" in
prepare) prepare ;;
run) run "${3:-}" ;;
profile) profile "${3:-}" ;;
trace) trace "${3:-}" ;;
*)
  echo "unknown mode '$mode' (prepare, run, profile or trace)" >&2
  exit 2
  ;;
esac
