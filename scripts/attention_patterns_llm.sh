#!/usr/bin/env bash
# SmolLM2-135M with sparse attention patterns (tfc --attention=PATTERN;
# docs/ACCURACY.md "Attention patterns", docs/PERFORMANCE.md "Sparse
# attention"): WikiText-2 wiki.test.raw perplexity at context 2048, stride
# 2048, per pattern, then prefill attention time of 2048 tokens from
# `tfc-run --bench --profile` (dense vs each pattern). Everything niced.
#   scripts/attention_patterns_llm.sh [OUT_DIR] [PATTERN...]
#     (default /tmp/attn-llm; patterns: dense sink:4,local:256 local:256)
# CHUNKS=N evaluates the first N windows only (0: the whole file, 149
# windows); default 10. BENCH=0 skips the timing, PPL=0 the perplexity.
# THREADS (default 2), ITERS (default 3) for the timing. TFC_ARGS: more tfc
# options for the patterns (e.g. --sink-positions=cache), their files named
# with a suffix.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/attn-llm}; shift || true
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(dense sink:4,local:256 local:256)
. "$root/scripts/smollm2_env.sh"
chunks=${CHUNKS:-10}
threads=${THREADS:-2}
iters=${ITERS:-3}
ctx=2048
mc=(); [ "$chunks" != 0 ] && mc=(--max-chunks "$chunks")
mkdir -p "$out"
toks=${TOKS:-$out/wiki.test.smollm2.tokens}
smollm2_wiki_tokens "$toks"
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p') commit $(git -C "$root" rev-parse --short HEAD) chunks=$chunks" | tee -a "$out/results.tsv"
for p in "${patterns[@]}"; do
  name=$(echo "$p" | tr ':,=' '___')
  args=(); [ "$p" != dense ] && args=(--attention="$p" ${TFC_ARGS:-})
  [ "$p" != dense ] && [ -n "${TFC_ARGS:-}" ] && name=$name$(echo "$TFC_ARGS" | tr -c 'a-z0-9\n' '_')
  if [ "${PPL:-1}" != 0 ]; then
    nice -n 10 "$bin/tfc" "$onnx" ${args[@]+"${args[@]}"} --remarks --emit=shared -o "$out/$name" \
      2>"$out/$name.compile.log"
    nice -n 10 "$bin/tfc-run" "$out/$name.so" --perplexity "$toks" --context $ctx --stride $ctx \
      --threads "$threads" ${mc[@]+"${mc[@]}"} >"$out/$name.ppl.log" 2>&1
    ppl=$(grep -o 'perplexity: [0-9.]*' "$out/$name.ppl.log" | grep -o '[0-9.]*$')
    ntok=$(grep -o 'tokens evaluated: [0-9]*' "$out/$name.ppl.log" | grep -o '[0-9]*$')
    kept=$(grep -o "keeps [0-9.]*%" "$out/$name.compile.log" | head -1 || true)
    echo "$p${TFC_ARGS:+ $TFC_ARGS}	ppl	$ppl	tokens=$ntok	context=$ctx	chunks=$chunks	${kept:-keeps 100%}" | tee -a "$out/results.tsv"
  fi
  if [ "${BENCH:-1}" != 0 ]; then
    [ -f "$out/p2048.npz" ] || "$py" - "$toks" "$out/p2048.npz" $ctx <<'PY'
import sys, numpy as np
toks = open(sys.argv[1]).read().split()[:int(sys.argv[3])]
ids = np.array([[int(t) for t in toks]], np.int64)
np.savez(sys.argv[2], input_ids=ids, attention_mask=np.ones_like(ids))
PY
    nice -n 10 "$bin/tfc" "$onnx" ${args[@]+"${args[@]}"} --profile --emit=shared -o "$out/$name.prof" \
      2>/dev/null
    nice -n 10 "$bin/tfc-run" "$out/$name.prof.so" --inputs "$out/p2048.npz" --bench --warmup 1 \
      --iters "$iters" --profile --threads "$threads" >"$out/$name.bench.log" 2>&1
    attn=$(grep -m1 -i "^ *attention" "$out/$name.bench.log" || true)
    lat=$(grep -m1 -o "latency[^,]*" "$out/$name.bench.log" || true)
    echo "$p${TFC_ARGS:+ $TFC_ARGS}	bench	tokens=$ctx	threads=$threads	$lat	| $attn" | tee -a "$out/results.tsv"
  fi
done
