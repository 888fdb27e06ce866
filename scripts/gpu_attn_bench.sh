#!/usr/bin/env bash
# The fused attention kernels alone on the GPU machine: every case of
# tfcrt-gpu-attention-test, then its --bench (SmolLM2's decode and prefill
# calls, CUDA events around one launch) under runtime variants, alternating,
# and optionally one decode launch under Nsight Compute (docs/PERFORMANCE.md,
# "The decode attention kernel, timed alone").
#
#   scripts/gpu_attn_bench.sh prepare DIR [BUILD [BUILD_B]]
#       Here: copies BUILD's tfcrt-gpu-attention-test (a runtime build with
#       -DTFC_ENABLE_CUDA=ON; default build-cuda) gzipped into DIR, with
#       this script. About 2 MB to carry. BUILD_B: a second build (e.g.
#       other TFC_ATTN_NVCC_FLAGS), run as variant "bin=b" next to each.
#   scripts/gpu_attn_bench.sh run DIR
#       There. TFC_ATTN_BENCH_VARIANTS: '|'-separated environment
#       assignments, each run twice in alternation (default
#       "TFC_ATTN_DEC_FAST=0|TFC_ATTN_DEC_FAST=1"); TFC_ATTN_BENCH_NCU=REGEX
#       profiles one launch of the kernels matching REGEX with ncu (stall
#       reasons; the report goes to $OUT/ncu.txt).
set -uo pipefail
mode="${1:-}" dir="${2:-}"
if [[ -z "$mode" || -z "$dir" ]]; then
  sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
fi
case "$mode" in
prepare)
  build="${3:-build-cuda}"
  mkdir -p "$dir"
  gzip -9 -c "$build/bin/tfcrt-gpu-attention-test" >"$dir/tfcrt-gpu-attention-test.gz" || exit 1
  rm -f "$dir/tfcrt-gpu-attention-test-b.gz"
  if [[ -n "${4:-}" ]]; then
    gzip -9 -c "$4/bin/tfcrt-gpu-attention-test" >"$dir/tfcrt-gpu-attention-test-b.gz" || exit 1
  fi
  cp "$0" "$dir/"
  ;;
run)
  gunzip -c "$dir/tfcrt-gpu-attention-test.gz" >/tmp/tfc-attn-test && chmod +x /tmp/tfc-attn-test
  bins=(a)
  if [[ -f "$dir/tfcrt-gpu-attention-test-b.gz" ]]; then
    gunzip -c "$dir/tfcrt-gpu-attention-test-b.gz" >/tmp/tfc-attn-test-b && chmod +x /tmp/tfc-attn-test-b
    bins=(a b)
  fi
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  IFS='|' read -r -a vlist <<<"${TFC_ATTN_BENCH_VARIANTS:-TFC_ATTN_DEC_FAST=0|TFC_ATTN_DEC_FAST=1}"
  # TFC_ATTN_BENCH_GREP: the --bench lines kept (default SmolLM2's).
  pick="${TFC_ATTN_BENCH_GREP:-^bench smollm2}"
  binOf() { [[ $1 == a ]] && echo /tmp/tfc-attn-test || echo /tmp/tfc-attn-test-b; }
  failed=0
  for bin in "${bins[@]}"; do
    for v in "${vlist[@]}"; do
      # shellcheck disable=SC2086
      env $v "$(binOf "$bin")" >/tmp/tfc-attn-test.log 2>&1
      rc=$?
      echo "[bin=$bin $v] rc=$rc PASS $(grep -c ^PASS /tmp/tfc-attn-test.log) FAIL $(grep -c ^FAIL /tmp/tfc-attn-test.log)"
      grep ^FAIL /tmp/tfc-attn-test.log | head -3
      [[ $rc == 0 ]] || failed=1
    done
  done
  for round in 1 2; do
    for bin in "${bins[@]}"; do
      for v in "${vlist[@]}"; do
        # shellcheck disable=SC2086
        env $v "$(binOf "$bin")" --bench 2>&1 | grep -E "$pick" |
          sed "s/^bench //; s/^/[round $round, bin=$bin $v] /"
      done
    done
  done
  if [[ -n "${TFC_ATTN_BENCH_NCU:-}" ]]; then
    ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
    if [[ -n "$ncu" ]]; then
      timeout 150 "$ncu" --kernel-name "regex:$TFC_ATTN_BENCH_NCU" --launch-skip 3 --launch-count 1 \
        --section SpeedOfLight --section WarpStateStats --section LaunchStats --section Occupancy \
        --metrics smsp__average_warp_latency_issue_stalled_barrier,smsp__average_warp_latency_issue_stalled_long_scoreboard,smsp__average_warp_latency_issue_stalled_short_scoreboard,smsp__average_warp_latency_issue_stalled_no_instruction,smsp__average_warp_latency_issue_stalled_membar,smsp__average_warp_latency_issue_stalled_wait,sm__cycles_active.max,smsp__inst_executed.sum \
        /tmp/tfc-attn-test --bench >"${OUT:-/tmp}/ncu.txt" 2>&1
      grep -E "Duration|Elapsed Cycles|Warp Cycles Per Issued|stalled_.*ratio|cycles_active|inst_executed" "${OUT:-/tmp}/ncu.txt"
    else
      echo "no ncu on this machine"
    fi
  fi
  exit $failed
  ;;
*)
  echo "unknown mode '$mode' (prepare or run)" >&2
  exit 2
  ;;
esac
