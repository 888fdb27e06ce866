#!/usr/bin/env bash
# Builds the libFuzzer targets (test/Fuzz; CMake option TFC_FUZZ) in
# build-fuzz and runs each for a bounded time on a copy of its seed corpus
# (docs/RELIABILITY.md, "Fuzzing").
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default 60, all)
#   TFC_FUZZ_BUILD  build folder (default build-fuzz)
#   TFC_FUZZ_OUT    where corpora grow and crashes land (default
#                   build-fuzz/fuzz-out/<target>/{corpus,crashes})
#   TFC_FUZZ_JOBS   fuzzing processes per target (default 1)
#   TFC_FUZZ_CPU=1  SECONDS are CPU seconds (user + sys of the fuzzing
#                   process, read from /proc every 5 s), not wall seconds:
#                   the run is stopped with SIGINT once it has used them, so a
#                   niced run on a busy machine still gets its CPU-hour
#   TFC_FUZZ_NO_BUILD=1  use the binaries already in the build folder
#   TFC_FUZZ_TIMEOUT  libFuzzer's -timeout per input in wall seconds (default
#                   20). A niced fuzzer on a loaded machine can be starved
#                   that long, so niced runs should raise it (e.g. 600): the
#                   "timeouts" such runs reported replayed in under a second
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
if [ "${TFC_FUZZ_NO_BUILD:-0}" != 1 ]; then
  TFC_BUILD="$build" TFC_BUILD_TARGETS="$(printf 'tfc-fuzz-%s ' "${targets[@]}")" \
    "$root/scripts/build.sh" -DTFC_FUZZ=ON
fi
cpu_mode=${TFC_FUZZ_CPU:-0}
tmo=${TFC_FUZZ_TIMEOUT:-20}
# CPU seconds (user + sys) of a process, from /proc/PID/stat fields 14-15.
cpu_secs() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) / hz) }' \
    "/proc/$1/stat" 2>/dev/null || echo -1
}
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
  if [ "$cpu_mode" = 1 ]; then
    start=$(date +%s)
    log="$out/$t/run-$(date -u +%Y%m%dT%H%M%S).log"
    "$build/bin/tfc-fuzz-$t" "$out/$t/corpus" -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -timeout="$tmo" -report_slow_units="$tmo" \
      -print_final_stats=1 -artifact_prefix="$out/$t/crashes/" >"$log" 2>&1 &
    pid=$!
    used=0
    while kill -0 "$pid" 2>/dev/null; do
      c=$(cpu_secs "$pid")
      [ "$c" -ge 0 ] && used=$c
      if [ "$used" -ge "$secs" ]; then
        kill -INT "$pid"
        break
      fi
      sleep 5
    done
    wait "$pid"
    rc=$?
    # SIGINT is how the run was meant to end (libFuzzer exits 130 or 72).
    if [ "$used" -ge "$secs" ] && { [ "$rc" -eq 130 ] || [ "$rc" -eq 72 ] || [ "$rc" -eq 0 ]; }; then
      rc=0
    fi
    tail -25 "$log"
    echo "tfc-fuzz-$t: $used CPU seconds in $(( $(date +%s) - start )) s wall (log $log)"
  else
    "$build/bin/tfc-fuzz-$t" "$out/$t/corpus" -max_total_time="$secs" \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout="$tmo" \
      -report_slow_units="$tmo" -print_final_stats=1 \
      -artifact_prefix="$out/$t/crashes/" "${jobs[@]}" 2>&1 | tail -25
    rc=${PIPESTATUS[0]}
  fi
  set -e
  # crash-, timeout-, oom-, leak- files are findings (slow-unit- ones are not).
  if [ "$rc" -ne 0 ] || ls "$out/$t/crashes" | grep -qE '^(crash|timeout|oom|leak)-'; then
    echo "tfc-fuzz-$t: found a problem (exit $rc); inputs in $out/$t/crashes"
    found=1
  fi
done
exit $found
