#!/usr/bin/env bash
# SmolLM2-135M streaming past its trained context (8192 positions):
# wiki.test.raw's first TOKENS tokens (default 32768) through one KV-cache
# session each (`tfc-run --perplexity F --stream N`, prefill chunks of 512),
# perplexity per bucket of 2048 positions, for
#   dense      --kv-cache, a linear cache of TOKENS positions (every key kept)
#   sinkS+W    --kv-cache --kv-window=W --kv-evict --kv-sinks=S
#              --sink-positions=absolute (a ring of W slots plus S sink
#              slots, the sinks at their absolute positions)
#   sinkqS+W   the same with --sink-positions=cache (StreamingLLM: the sinks
#              scored at their cache slots' positions; what the default,
#              auto, gives a RoPE model's ring)
#   windowW    --kv-cache --kv-window=W --kv-evict (the ring alone)
# docs/ACCURACY.md "Streaming past the trained context".
#   scripts/stream_perplexity_llm.sh [OUT_DIR] [CONFIG...]
#     (default /tmp/stream-llm; configs: dense sink4+1020 sinkq4+1020
#      window1024 sink4+252 sinkq4+252 window256)
# TOKENS, THREADS (default 2), CHUNK (512), BUCKET (2048). Everything niced.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/stream-llm}; shift || true
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(dense sink4+1020 sinkq4+1020 window1024 sink4+252 sinkq4+252 window256)
. "$root/scripts/smollm2_env.sh"
tokens=${TOKENS:-32768}
threads=${THREADS:-2}
chunk=${CHUNK:-512}
bucket=${BUCKET:-2048}
mkdir -p "$out"
toks=$out/wiki.test.smollm2.tokens
smollm2_wiki_tokens "$toks"
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p') commit $(git -C "$root" rev-parse --short HEAD) tokens=$tokens chunk=$chunk" | tee -a "$out/results.tsv"
for c in "${configs[@]}"; do
  case $c in
    dense) flags=(--kv-cache) ;;
    sinkq*) s=${c#sinkq}; w=${s#*+}; s=${s%%+*}
           flags=(--kv-cache --kv-window="$w" --kv-evict --kv-sinks="$s" --sink-positions=cache) ;;
    sink*) s=${c#sink}; w=${s#*+}; s=${s%%+*}
           flags=(--kv-cache --kv-window="$w" --kv-evict --kv-sinks="$s" --sink-positions=absolute) ;;
    window*) flags=(--kv-cache --kv-window="${c#window}" --kv-evict) ;;
    *) echo "unknown config '$c' (dense, sinkS+W, sinkqS+W, windowW)" >&2; exit 2 ;;
  esac
  [ -f "$out/$c.so" ] || nice -n 10 "$bin/tfc" "$onnx" "${flags[@]}" --emit=shared -o "$out/$c"
  nice -n 10 "$bin/tfc-run" "$out/$c.so" --perplexity "$toks" --stream "$tokens" \
    --prefill-chunk "$chunk" --bucket "$bucket" --max-len "$tokens" --threads "$threads" \
    --json >"$out/$c.json"
  "$py" - "$out/$c.json" "$c" <<'PY' | tee -a "$out/results.tsv"
import json, sys
r = json.load(open(sys.argv[1]))
b = " ".join(f"{x['perplexity']:.2f}" for x in r["buckets"])
print(f"{sys.argv[2]}\tppl\t{r['perplexity']:.4f}\ttokens={r['tokens_evaluated']}\t"
      f"slots={r['cache_slots']}\t{r['seconds']:.0f} s\tbuckets: {b}")
PY
done
