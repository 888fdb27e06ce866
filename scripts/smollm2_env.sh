# Sourced by the SmolLM2 accuracy scripts (attention_patterns_llm.sh,
# prune_accuracy_llm.sh, stream_perplexity_llm.sh) after they set `root`:
# the tools, model, tokenizer and data they share, and the wiki.test.raw
# token file they score (env TFC_PYTHON, TFC_BIN, TFC_DATA override).
py=${TFC_PYTHON:-$root/.venv/bin/python}
bin=${TFC_BIN:-$root/build/bin}
onnx=$root/.cache/onnx/smollm2.ts.onnx
tokjson=$root/.cache/models/smollm2/hf/tokenizer.json
data=${TFC_DATA:-$root/../shared/data}
[ -d "$data" ] || data=/work/shared/data

# smollm2_wiki_tokens FILE: WikiText-2's wiki.test.raw tokenized with
# SmolLM2's tokenizer into FILE, unless FILE exists.
smollm2_wiki_tokens() {
  [ -f "$1" ] || nice -n 10 "$py" "$root/scripts/tokenize_for_ppl.py" --tokenizer "$tokjson" \
    "$data/wikitext-2-raw/wiki.test.raw" -o "$1"
}
