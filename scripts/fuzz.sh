#!/usr/bin/env bash
# Builds the libFuzzer targets (test/Fuzz; CMake option TFC_FUZZ) in
# build-fuzz and runs each for a bounded time on a copy of its seed corpus
# (docs/RELIABILITY.md, "Fuzzing").
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default 60, all)
#   TFC_FUZZ_BUILD  build folder (default build-fuzz)
#   TFC_FUZZ_OUT    where corpora grow and crashes land (default
#                   build-fuzz/fuzz-out/<target>/{corpus,crashes})
#   TFC_FUZZ_JOBS   fuzzing processes per target (default 1)
# Exit 1 if a target found a crash (its input is in .../crashes: make it a
# regression input under test/Fuzz/corpus/<target>/ once fixed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(onnx tfcw npz gguf tokenizer_json)
fi
build=${TFC_FUZZ_BUILD:-$root/build-fuzz}
out=${TFC_FUZZ_OUT:-$build/fuzz-out}
TFC_BUILD="$build" TFC_BUILD_TARGETS="$(printf 'tfc-fuzz-%s ' "${targets[@]}")" \
  "$root/scripts/build.sh" -DTFC_FUZZ=ON
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_poisoning=0:detect_leaks=1}
found=0
jobs=()
if [ "${TFC_FUZZ_JOBS:-1}" -gt 1 ]; then
  jobs=(-jobs="$TFC_FUZZ_JOBS" -workers="$TFC_FUZZ_JOBS")
fi
for t in "${targets[@]}"; do
  mkdir -p "$out/$t/corpus" "$out/$t/crashes"
  cp -n "$root/test/Fuzz/corpus/$t"/* "$out/$t/corpus/" 2>/dev/null || true
  echo "== tfc-fuzz-$t for ${secs}s"
  set +e
  "$build/bin/tfc-fuzz-$t" "$out/$t/corpus" -max_total_time="$secs" \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$out/$t/crashes/" "${jobs[@]}" 2>&1 | tail -25
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$out/$t/crashes")" ]; then
    echo "tfc-fuzz-$t: found a problem (exit $rc); inputs in $out/$t/crashes"
    found=1
  fi
done
exit $found
