#!/usr/bin/env bash
# SmolLM2-135M prefill of 2048 tokens, end to end, in alternating rounds:
# the default (dense) build, --attention=sink:4,local:256 and
# --attention=causal, compiled without --profile (docs/PERFORMANCE.md
# "Sparse attention"). Prints each round's median and the medians of the
# per-round ratios.
#   scripts/attention_prefill_alt.sh [OUT_DIR] [ROUNDS] [ITERS]
# OUT_DIR must hold p2048.npz (scripts/attention_patterns_llm.sh makes it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
o=${1:-/tmp/attn-llm}
rounds=${2:-5}
iters=${3:-3}
bin=${TFC_BIN:-$root/build/bin}
onnx=$root/.cache/onnx/smollm2.ts.onnx
[ -f "$o/p2048.npz" ] || { echo "no $o/p2048.npz (run scripts/attention_patterns_llm.sh $o first)" >&2; exit 1; }
"$bin/tfc" "$onnx" --emit=shared -o "$o/alt_dense"
"$bin/tfc" "$onnx" --attention=sink:4,local:256 --emit=shared -o "$o/alt_sink"
"$bin/tfc" "$onnx" --attention=causal --emit=shared -o "$o/alt_causal"
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p') commit $(git -C "$root" rev-parse --short HEAD)"
log=$(mktemp)
for r in $(seq "$rounds"); do
  for b in dense sink causal; do
    sleep 2
    m=$("$bin/tfc-run" "$o/alt_$b.so" --inputs "$o/p2048.npz" --bench --warmup 1 \
      --iters "$iters" --threads 2 2>&1 | grep -o "median [0-9.]*" | head -1)
    echo "round $r $b $m" | tee -a "$log"
  done
done
python3 - "$log" <<'PY'
import re, statistics as st, sys
d = {}
for l in open(sys.argv[1]):
    m = re.match(r'round (\d+) (\w+) median ([\d.]+)', l)
    if m:
        d.setdefault(m.group(2), []).append(float(m.group(3)))
for k, v in d.items():
    print(f"{k}: median of rounds {st.median(v):.1f} ms")
for a, b in (("dense", "sink"), ("causal", "sink")):
    r = [x / y for x, y in zip(d[a], d[b])]
    print(f"{a} / {b}: per round {[round(x, 3) for x in r]}, median {st.median(r):.3f}")
PY
rm -f "$log"
