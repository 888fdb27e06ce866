# Sourced by scripts/gpu_check.sh and scripts/gpu_llm.sh: what both need on
# the GPU machine (find_cublaslt, the CUPTI kernel tracer) and when they
# prepare a bundle (rt_build, cupti_pack).
# find_cublaslt: sets TFC_CUBLASLT_LIBRARY when libcublasLt.so.13 is neither
# on the loader's path nor in the toolkit (where the runtime looks too):
# PyTorch's nvidia-cublas wheel then has it.
find_cublaslt() {
  if [[ -z "${TFC_CUBLASLT_LIBRARY:-}" ]] && ! ldconfig -p 2>/dev/null | grep -q 'libcublasLt.so.13 ' &&
    ! ls /usr/local/cuda/lib64/libcublasLt.so.13 >/dev/null 2>&1; then
    local lt
    lt=$(python3 -c 'import nvidia.cublas as c, os; print(os.path.join(list(c.__path__)[0], "lib", "libcublasLt.so.13"))' 2>/dev/null || true)
    [[ -n "$lt" && -f "$lt" ]] && export TFC_CUBLASLT_LIBRARY="$lt"
  fi
  return 0
}

# cupti_pack BUILD DIR: into DIR/cupti, the kernel tracer of a CUDA runtime
# build (target tfc-cupti-trace, which exists where the toolkit has CUPTI),
# the libcupti it links (gzipped, 1.5 MB: the GPU machine's Python packages
# may lack it) and cupti_summary.py. Nothing when BUILD cannot make it.
cupti_pack() {
  local build="$1" dest="$2/cupti" lib
  ninja -C "$build" tfc-cupti-trace >/dev/null 2>&1 || return 0
  lib="$(ldd "$build/lib/libtfc-cupti-trace.so" | awk '/libcupti/ {print $3}')"
  mkdir -p "$dest"
  cp "$build/lib/libtfc-cupti-trace.so" \
    "$(dirname "${BASH_SOURCE[0]}")/cupti_summary.py" "$dest/"
  [[ -n "$lib" ]] && gzip -9 -c "$lib" >"$dest/$(basename "$lib").gz"
  return 0
}

# cupti_setup DIR: unpacks DIR/cupti (cupti_pack's) for cupti_run and
# cupti_summary; fails, saying so, when DIR has no tracer.
cupti_setup() {
  CUPTI_DIR="$1/cupti"
  if [[ ! -f "$CUPTI_DIR/libtfc-cupti-trace.so" ]]; then
    echo "== no tracer in $CUPTI_DIR (prepare adds it where the toolkit has CUPTI)"
    return 1
  fi
  local z
  for z in "$CUPTI_DIR"/*.gz; do
    [[ -e "$z" ]] && gunzip -f "$z"
  done
  return 0
}

# cupti_run CSV COMMAND...: COMMAND with the tracer preloaded, its kernels
# written to CSV (an earlier CSV and CSV.<pid> files removed first: the
# tracer never overwrites one).
cupti_run() {
  local csv="$1"
  shift
  rm -f "$csv" "$csv".*
  LD_LIBRARY_PATH="$CUPTI_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    LD_PRELOAD="$CUPTI_DIR/libtfc-cupti-trace.so" TFC_CUPTI_OUT="$csv" "$@"
}

# cupti_summary ARGS...: the packed scripts/cupti_summary.py.
cupti_summary() {
  python3 "$CUPTI_DIR/cupti_summary.py" "$@"
}

# rt_build ROOT DEST: a runtime-only CUDA build of ROOT with tfc-run and the
# GPU kernel tests at DEST. TFC_RT_BUILD=DIR: update that existing build and
# link DEST to it (it stays where it is) instead of configuring a fresh one.
rt_build() {
  local root="$1" dest="$2"
  local targets=(tfc-run tfcrt-gpu-attention-test tfcrt-gpu-gemv-test)
  if [[ -n "${TFC_RT_BUILD:-}" ]]; then
    ninja -C "$TFC_RT_BUILD" "${targets[@]}" >/dev/null
    ln -sfn "$(cd "$TFC_RT_BUILD" && pwd)" "$dest"
  else
    cmake -G Ninja -S "$root" -B "$dest" -DTFC_RUNTIME_ONLY=ON \
      -DTFC_ENABLE_CUDA=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$dest" "${targets[@]}" >/dev/null
  fi
}
