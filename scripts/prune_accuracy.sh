#!/usr/bin/env bash
# MiniLM STS-B test Spearman (all 1379 pairs) for each pruning method, before
# and after fine-tuning with the masks held fixed (docs/ACCURACY.md
# "Pruning"). Deterministic; safe to run under load (everything niced).
#   scripts/prune_accuracy.sh [OUT_DIR] [METHOD...]     (default /tmp/prune-acc)
# METHOD: fp32 | magnitude:S | wanda:S | sparsegpt:S | nm:2:4 |
# nm:2:4@wanda | nm:2:4@sparsegpt | heads:K[@wanda] | ffn:F[@wanda] (@wanda:
# activation-weighted structured scores) | wanda-seq:S | sparsegpt-seq:S
# (statistics re-collected block by block through the already-pruned
# blocks: tfc-calibrate --sequential-prune); a trailing "+ft" also
# fine-tunes (scripts/finetune_pruned.py) and re-evaluates (not with
# sparsegpt: its export is refused). wanda / sparsegpt read calibration
# statistics that tfc-calibrate measures once on STS-B *train* sentences
# (CALIB_SAMPLES, default 2048; never the test split):
# $OUT/minilm.train.calib.json, and with Hessians minilm.train.hess.calib.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/prune-acc}; shift || true
methods=("$@")
[ ${#methods[@]} -eq 0 ] && methods=(fp32 magnitude:0.3 magnitude:0.5+ft magnitude:0.7 nm:2:4+ft heads:3 heads:6+ft ffn:0.3+ft)
py=${TFC_PYTHON:-$root/.venv/bin/python}
tfc=${TFC:-$root/build/bin/tfc}
embed=${BERT_EMBED:-$root/build/bin/bert-embed}
onnx=$root/.cache/onnx/minilm.ts.onnx
tok=$root/.cache/models/minilm
test_csv=${STS_TEST:-$root/../shared/data/stsbenchmark/sts-test.csv}
[ -f "$test_csv" ] || test_csv=/work/shared/data/stsbenchmark/sts-test.csv
train_csv=$(dirname "$test_csv")/sts-train.csv
steps=${FT_STEPS:-300}
calib=${CALIB_SAMPLES:-2048}
mkdir -p "$out"
stats=$out/minilm.train.calib.json
hstats=$out/minilm.train.hess.calib.json
calib_stats() {
  [ -f "$stats" ] || nice -n 10 "$(dirname "$tfc")/tfc-calibrate" "$onnx" --data "$train_csv" \
    --tokenizer "$tok" --calib-samples "$calib" --threads 2 -o "$stats" >"$out/calib.log" 2>&1
}
hess_stats() {
  [ -f "$hstats" ] || nice -n 10 "$(dirname "$tfc")/tfc-calibrate" "$onnx" --data "$train_csv" \
    --tokenizer "$tok" --calib-samples "$calib" --threads 2 --hessians -o "$hstats" \
    >"$out/calib.hess.log" 2>&1
}
spearman() { # model.so -> Spearman on stderr's last line
  nice -n 10 "$embed" -m "$1" --tokenizer "$tok" --pairs "$test_csv" --batch 32 --threads 2 \
    2>"$1.stsb.log" >/dev/null
  grep -io 'spearman[^0-9-]*[-0-9.]*' "$1.stsb.log" | tail -1 | grep -o '[-0-9.]*$'
}
for spec in "${methods[@]}"; do
  ft=0
  case $spec in *+ft) ft=1; spec=${spec%+ft} ;; esac
  name=$(echo "$spec" | tr ':.@' '___')
  args=()
  case $spec in
    fp32) ;;
    magnitude:*) args=(--prune=magnitude --sparsity="${spec#magnitude:}") ;;
    wanda:*) calib_stats; args=(--prune=wanda --sparsity="${spec#wanda:}" --calib-stats "$stats") ;;
    nm:*@wanda | heads:*@wanda | ffn:*@wanda) calib_stats; args=(--prune="${spec%@wanda}" --prune-score=wanda --calib-stats "$stats") ;;
    sparsegpt:*) hess_stats; args=(--prune=sparsegpt --sparsity="${spec#sparsegpt:}" --calib-stats "$hstats") ;;
    wanda-seq:* | sparsegpt-seq:*)
      m=${spec%%-seq:*}; sp=${spec#*-seq:}; seq=$out/minilm.train.seq_${m}_$sp.calib.json
      h=(); [ "$m" = sparsegpt ] && h=(--hessians)
      [ -f "$seq" ] || nice -n 10 "$(dirname "$tfc")/tfc-calibrate" "$onnx" --data "$train_csv" \
        --tokenizer "$tok" --calib-samples "$calib" --threads 2 ${h[@]+"${h[@]}"} \
        --sequential-prune "--prune=$m --sparsity=$sp" -o "$seq" >"$out/calib.seq_${m}_$sp.log" 2>&1
      args=(--prune="$m" --sparsity="$sp" --calib-stats "$seq") ;;
    nm:*@sparsegpt) hess_stats; args=(--prune="${spec%@sparsegpt}" --prune-score=sparsegpt --calib-stats "$hstats") ;;
    *) args=(--prune="$spec") ;;
  esac
  if [ ${#args[@]} -gt 0 ]; then
    exp=(--export-onnx "$out/$name.onnx")
    case $spec in *sparsegpt*) exp=() ;; esac # SparseGPT's export is refused
    nice -n 10 "$tfc" "$onnx" "${args[@]}" ${exp[@]+"${exp[@]}"} --emit=shared -o "$out/$name" 2>/dev/null
  else
    nice -n 10 "$tfc" "$onnx" --emit=shared -o "$out/$name"
  fi
  s=$(spearman "$out/$name.so")
  echo "$spec	before	$s	$(stat -c %s "$out/$name.tfcw")" | tee -a "$out/results.tsv"
  if [ $ft = 1 ]; then
    nice -n 10 "$py" "$root/scripts/finetune_pruned.py" --onnx "$out/$name.onnx" \
      --masks "$out/$name.masks.npz" --original "$onnx" --hf "$tok" --train "$train_csv" \
      --steps "$steps" -o "$out/$name.ft.onnx" 2>"$out/$name.ft.log"
    # tfc re-imports the fine-tuned model: zeros detected (tfc.sparsity
    # "imported"); structured zeros are compiled as zeros.
    nice -n 10 "$tfc" "$out/$name.ft.onnx" --emit=tfc -o "$out/$name.ft" >/dev/null
    det=$(grep -c 'method = "imported"' "$out/$name.ft.tfc.mlir" || true)
    nice -n 10 "$tfc" "$out/$name.ft.onnx" --emit=shared -o "$out/$name.ft"
    s=$(spearman "$out/$name.ft.so")
    echo "$spec	after-ft($steps)	$s	$(stat -c %s "$out/$name.ft.tfcw")	detected=$det" | tee -a "$out/results.tsv"
  fi
done
