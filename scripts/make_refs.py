#!/usr/bin/env python3
"""Writes ONNX Runtime reference outputs next to each exported ONNX file.

For every <cache>/onnx/<model>.<style>.onnx that exists (see export_models.py)
this writes, beside it:

  <model>.<style>.ref.npz   keys case{k}_<input name> and case{k}_<output name>
                            (int64 inputs, float32 outputs), like
                            shared/models/stories260K/onnx/*.ref.npz;
                            np.savez_compressed, numeric arrays only
  <model>.<style>.ref.json  provenance: the raw texts of each case, tokenizer,
                            padding side, shapes, ONNX Runtime version

Cases:
  minilm   real STS-B test sentences (shared/data/stsbenchmark/sts-test.csv,
           the last two tab-separated columns), tokenized with the model's own
           tokenizer, padded to the longest in the batch (right padding,
           attention_mask 0 on padding): case0 batch 1, case1 batch 8,
           case2 batch 32 (with padding); 41 distinct sentences.
  smollm2  the first turn of the first 5 MT-Bench prompts
           (shared/data/prompts/mt_bench_questions.jsonl) through the model's
           chat template (with the generation prompt): case0..4 at batch 1, and
           case5 = prompts 1-4 at batch 4, right-padded with pad id 2
           (<|im_end|>, the model's pad_token_id).
  *_tiny   random token ids (seeded): case0 (1, 7); case1 (2, 23) with the second
           row right-padded by 6; case2 (1, 40), longer than the sliding window.

Also writes <cache>/onnx/minilm.stsb-pairs.tsv: the first 50 STS-B test pairs,
lines copied verbatim (genre, file, year, id, score, sentence1, sentence2).

Runs ONNX Runtime's CPUExecutionProvider. The ts and dynamo files of one model
get the same inputs, and their outputs are compared with each other.
Tokenizing needs transformers (scripts/requirements-export.txt). No network.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["minilm", "smollm2", "mistral_tiny", "qwen2_tiny"]
STYLES = ["ts", "dynamo"]
SMOLLM2_PAD_ID = 2


def die(msg):
    print(f"make_refs.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"make_refs.py: {msg}", file=sys.stderr, flush=True)


def default_shared():
    env = os.environ.get("TFC_SHARED")
    if env:
        return Path(env)
    # The repo is normally at <work>/main with shared/ beside it; CI may also
    # have shared/ inside the checkout.
    for cand in (ROOT / "shared", ROOT.parent / "shared"):
        if (cand / "data").is_dir():
            return cand
    return ROOT.parent / "shared"


def read_sts_pairs(path):
    """Returns the raw lines and (sentence1, sentence2) of STS-B. Sentences may
    contain quotes, so the file is split on tabs only, never parsed as CSV."""
    if not path.is_file():
        die(f"{path} not found (set TFC_SHARED or --shared)")
    lines, pairs = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            cols = line.split("\t")
            if len(cols) < 7:
                die(f"{path}: line with {len(cols)} columns: {line[:80]!r}")
            lines.append(line)
            pairs.append((cols[-2], cols[-1]))
    return lines, pairs


def minilm_cases(cache, shared):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cache / "models" / "minilm")
    _, pairs = read_sts_pairs(shared / "data" / "stsbenchmark" / "sts-test.csv")
    sentences, seen = [], set()
    for a, b in pairs:
        for s in (a, b):
            if s not in seen:
                seen.add(s)
                sentences.append(s)
    need = 1 + 8 + 32
    if len(sentences) < need:
        die(f"only {len(sentences)} distinct STS-B sentences")
    groups = [sentences[0:1], sentences[1:9], sentences[9:41]]
    cases = []
    for texts in groups:
        enc = tok(texts, padding="longest", truncation=True, max_length=256, return_tensors="np")
        feeds = {
            "input_ids": enc["input_ids"].astype("int64"),
            "attention_mask": enc["attention_mask"].astype("int64"),
            "token_type_ids": enc["token_type_ids"].astype("int64"),
        }
        cases.append((feeds, {"texts": texts, "padding_side": tok.padding_side}))
    if cases[2][0]["attention_mask"].min() != 0:
        die("minilm batch-32 case has no padding")
    meta = {"tokenizer": "minilm/tokenizer.json (BertTokenizer, lower case)",
            "source": "shared/data/stsbenchmark/sts-test.csv, distinct sentences in file order"}
    return cases, meta


def smollm2_cases(cache, shared):
    import numpy as np
    from transformers import AutoTokenizer

    hf = cache / "models" / "smollm2" / "hf"
    if not (hf / "tokenizer.json").is_file():
        die(f"{hf}/tokenizer.json missing; run scripts/export_models.py --models smollm2")
    tok = AutoTokenizer.from_pretrained(hf)
    path = shared / "data" / "prompts" / "mt_bench_questions.jsonl"
    if not path.is_file():
        die(f"{path} not found (set TFC_SHARED or --shared)")
    prompts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                prompts.append(json.loads(line)["turns"][0])
            if len(prompts) == 5:
                break
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False
        )
        for p in prompts
    ]
    # The chat template already writes every special token.
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    cases = []
    for p, t, x in zip(prompts, texts, ids):
        feeds = {
            "input_ids": np.array([x], dtype=np.int64),
            "attention_mask": np.ones((1, len(x)), dtype=np.int64),
        }
        cases.append((feeds, {"prompts": [p], "texts": [t]}))
    batch = ids[:4]
    width = max(len(x) for x in batch)
    input_ids = np.full((4, width), SMOLLM2_PAD_ID, dtype=np.int64)
    mask = np.zeros((4, width), dtype=np.int64)
    for r, x in enumerate(batch):
        input_ids[r, : len(x)] = x
        mask[r, : len(x)] = 1
    cases.append(
        (
            {"input_ids": input_ids, "attention_mask": mask},
            {"prompts": prompts[:4], "texts": texts[:4], "padding_side": "right",
             "pad_token_id": SMOLLM2_PAD_ID},
        )
    )
    meta = {"tokenizer": "smollm2/hf (from the GGUF), chat template with generation prompt",
            "source": "shared/data/prompts/mt_bench_questions.jsonl, first turn of the first 5"}
    return cases, meta


def tiny_cases(vocab):
    import numpy as np

    rng = np.random.default_rng(20240611)
    cases = []
    for b, s, pad in [(1, 7, 0), (2, 23, 6), (1, 40, 0)]:
        ids = rng.integers(0, vocab, size=(b, s), dtype=np.int64)
        mask = np.ones((b, s), dtype=np.int64)
        if pad:
            mask[-1, s - pad :] = 0
        cases.append(({"input_ids": ids, "attention_mask": mask},
                      {"padding_side": "right" if pad else None}))
    meta = {"source": "random token ids, numpy default_rng(20240611)"}
    return cases, meta


def make_session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def write_refs(path, cases, meta, threads):
    import numpy as np
    import onnxruntime as ort

    sess = make_session(path, threads)
    in_names = [i.name for i in sess.get_inputs()]
    out_names = [o.name for o in sess.get_outputs()]
    arrays, info = {}, []
    for k, (feeds, extra) in enumerate(cases):
        missing = set(in_names) - set(feeds)
        if missing:
            die(f"{path.name}: case {k} lacks inputs {sorted(missing)}")
        outs = sess.run(None, {n: feeds[n] for n in in_names})
        for n in in_names:
            arrays[f"case{k}_{n}"] = feeds[n]
        for n, v in zip(out_names, outs):
            arrays[f"case{k}_{n}"] = np.asarray(v)
        info.append({"case": k, "shapes": {n: list(a.shape) for n, a in
                     [(n, feeds[n]) for n in in_names] + list(zip(out_names, outs))},
                     **{kk: vv for kk, vv in extra.items() if vv is not None}})
    stem = path.name[: -len(".onnx")]
    npz = path.with_name(stem + ".ref.npz")
    np.savez_compressed(npz, **arrays)
    side = path.with_name(stem + ".ref.json")
    side.write_text(json.dumps({"model": path.name, "onnxruntime": ort.__version__,
                                "provider": "CPUExecutionProvider", "inputs": in_names,
                                "outputs": out_names, **meta, "cases": info},
                               indent=1, ensure_ascii=False) + "\n")
    log(f"wrote {npz.name} ({npz.stat().st_size / 1e6:.1f} MB) and {side.name}: "
        f"{len(cases)} cases")
    return arrays


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated subset of {','.join(MODELS)} (default: all)")
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("TFC_CACHE", ROOT / ".cache")),
                    help="cache folder (default: <repo>/.cache or $TFC_CACHE)")
    ap.add_argument("--shared", type=Path, default=None,
                    help="the shared/ folder with data/ (default: $TFC_SHARED, "
                         "<repo>/shared or <repo>/../shared)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="ONNX Runtime intra-op threads")
    ap.add_argument("--force", action="store_true",
                    help="rewrite references that are newer than their ONNX file")
    args = ap.parse_args()
    shared = args.shared or default_shared()
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            die(f"unknown model '{m}' (choose from {', '.join(MODELS)})")
    try:
        import numpy as np
        import onnxruntime  # noqa: F401
    except ImportError as e:
        die(f"{e}; run scripts/setup.sh and use .venv/bin/python")

    onnx_dir = args.cache / "onnx"
    for name in models:
        if name == "minilm":
            pairs_out = onnx_dir / "minilm.stsb-pairs.tsv"
            lines, _ = read_sts_pairs(shared / "data" / "stsbenchmark" / "sts-test.csv")
            onnx_dir.mkdir(parents=True, exist_ok=True)
            pairs_out.write_text("\n".join(lines[:50]) + "\n", encoding="utf-8")
            log(f"wrote {pairs_out.name} (50 pairs)")
        files = [onnx_dir / f"{name}.{s}.onnx" for s in STYLES]
        files = [f for f in files if f.is_file()]
        if not files:
            die(f"no {onnx_dir}/{name}.*.onnx; run scripts/export_models.py first")
        todo = [f for f in files if args.force or not _fresh(f)]
        if not todo:
            log(f"{name}: references up to date")
            continue
        try:
            if name == "minilm":
                cases, meta = minilm_cases(args.cache, shared)
            elif name == "smollm2":
                cases, meta = smollm2_cases(args.cache, shared)
            else:
                cases, meta = tiny_cases(vocab=1024)
        except ImportError as e:
            die(f"{e}; tokenizing needs scripts/requirements-export.txt (scripts/setup.sh)")
        results = {f: write_refs(f, cases, meta, args.threads) for f in todo}
        if len(results) == 2:
            a, b = results.values()
            for key in sorted(a):
                if a[key].dtype.kind == "f":
                    d = float(np.abs(a[key] - b[key]).max())
                    scale = float(np.abs(a[key]).max())
                    log(f"{name}: ts vs dynamo {key}: max|diff| {d:.2e} (max|ref| {scale:.1f})")
                    if d > 1e-3 * max(1.0, scale):
                        log(f"{name}: WARNING ts and dynamo disagree on {key}")


def _fresh(onnx_path):
    stem = onnx_path.name[: -len(".onnx")]
    ref = onnx_path.with_name(stem + ".ref.npz")
    return ref.is_file() and ref.stat().st_mtime >= onnx_path.stat().st_mtime


if __name__ == "__main__":
    main()
