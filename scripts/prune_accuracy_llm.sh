#!/usr/bin/env bash
# SmolLM2-135M perplexity on WikiText-2 wiki.test.raw (context 512, stride
# 512) for each unstructured / N:M pruning method (docs/ACCURACY.md
# "Pruning"). Wanda and SparseGPT read statistics that tfc-calibrate
# measures once on WikiText-2 *valid* (wikitext-2-tokenized/valid.txt, the
# calibration split of ../shared/data; never the test split): CALIB_SAMPLES
# windows of 512 tokens (default 128, the papers' count), with Hessians.
# Everything niced; deterministic.
#   scripts/prune_accuracy_llm.sh [OUT_DIR] [METHOD...]  (default /tmp/prune-llm)
# METHOD: fp32 | magnitude:S | wanda:S | sparsegpt:S | nm:N:M[@wanda|@sparsegpt]
#         | ffn:F[@wanda] | heads:K[@wanda]  (@wanda on structured methods: the
#         activation-weighted score, docs/DESIGN.md "Pruning")
#         | wanda-seq:S | sparsegpt-seq:S  (statistics re-collected block by
#         block through the already-pruned blocks, tfc-calibrate
#         --sequential-prune; SEQ_GROUP=G blocks per step, default 1)
#         A trailing "+w8" also quantizes (--quantize=w8: the zero codes go
#         sparse-mask-w8).
# CHUNKS=N evaluates the first N windows only (0: the whole file, 593).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/prune-llm}; shift || true
methods=("$@")
[ ${#methods[@]} -eq 0 ] && methods=(fp32 magnitude:0.5 wanda:0.5 sparsegpt:0.5 nm:2:4 nm:2:4@wanda nm:2:4@sparsegpt)
. "$root/scripts/smollm2_env.sh"
chunks=${CHUNKS:-40}
samples=${CALIB_SAMPLES:-128}
mc=(); [ "$chunks" != 0 ] && mc=(--max-chunks "$chunks")
mkdir -p "$out"
stats=${STATS:-$out/smollm2.valid.calib.json}
toks=$out/wiki.test.smollm2.tokens
smollm2_wiki_tokens "$toks"
calib_stats() {
  [ -f "$stats" ] || nice -n 10 "$bin/tfc-calibrate" "$onnx" --data "$data/wikitext-2-tokenized/valid.txt" \
    --tokenizer "$tokjson" --calib-samples "$samples" --seq-len 512 --hessians --threads 2 \
    -o "$stats" >"$out/calib.log" 2>&1
}
for spec in "${methods[@]}"; do
  name=$(echo "$spec" | tr ':.@+' '____')
  args=()
  quant=()
  case $spec in *+w8) quant=(--quantize=w8); spec=${spec%+w8} ;; esac
  case $spec in
    fp32) ;;
    magnitude:*) args=(--prune=magnitude --sparsity="${spec#magnitude:}") ;;
    wanda:*) calib_stats; args=(--prune=wanda --sparsity="${spec#wanda:}" --calib-stats "$stats") ;;
    sparsegpt:*) calib_stats; args=(--prune=sparsegpt --sparsity="${spec#sparsegpt:}" --calib-stats "$stats") ;;
    wanda-seq:* | sparsegpt-seq:*)
      m=${spec%%-seq:*}; sp=${spec#*-seq:}; g=${SEQ_GROUP:-1}
      seq=$out/smollm2.valid.seq_${m}_${sp}_g$g.calib.json
      h=(); [ "$m" = sparsegpt ] && h=(--hessians)
      [ -f "$seq" ] || nice -n 10 "$bin/tfc-calibrate" "$onnx" --data "$data/wikitext-2-tokenized/valid.txt" \
        --tokenizer "$tokjson" --calib-samples "$samples" --seq-len 512 ${h[@]+"${h[@]}"} --threads 2 \
        --sequential-prune "--prune=$m --sparsity=$sp" --sequential-group "$g" \
        -o "$seq" >"$out/calib.seq_${m}_${sp}_g$g.log" 2>&1
      args=(--prune="$m" --sparsity="$sp" --calib-stats "$seq") ;;
    nm:*@* | ffn:*@* | heads:*@*) calib_stats; args=(--prune="${spec%@*}" --prune-score="${spec#*@}" --calib-stats "$stats") ;;
    *) args=(--prune="$spec") ;;
  esac
  t0=$(date +%s)
  nice -n 10 "$bin/tfc" "$onnx" ${args[@]+"${args[@]}"} ${quant[@]+"${quant[@]}"} --emit=shared -o "$out/$name" 2>"$out/$name.compile.log"
  t1=$(date +%s)
  nice -n 10 "$bin/tfc-run" "$out/$name.so" --perplexity "$toks" --context 512 --stride 512 \
    --threads 2 ${mc[@]+"${mc[@]}"} >"$out/$name.ppl.log" 2>&1
  ppl=$(grep -o 'perplexity: [0-9.]*' "$out/$name.ppl.log" | grep -o '[0-9.]*$')
  ntok=$(grep -o 'tokens evaluated: [0-9]*' "$out/$name.ppl.log" | grep -o '[0-9]*$')
  echo "$spec${quant[@]+ ${quant[*]}}	ppl	$ppl	tokens=$ntok	chunks=$chunks	compile_s=$((t1 - t0))	$(stat -c %s "$out/$name.tfcw")" | tee -a "$out/results.tsv"
done
