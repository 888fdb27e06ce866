#!/usr/bin/env python3
"""Quantizes models with ONNX Runtime's own tools and writes ORT references.

Models quantized elsewhere must compile onto tfc's quantized ops (issue 8,
docs/DESIGN.md "Import of quantized models"); these are the files the
executed tests (test/e2e/quant-import-*.test) and docs/ACCURACY.md use:

  minilm.qdyn.onnx      onnxruntime.quantization.quantize_dynamic on
                        minilm.ts.onnx: DynamicQuantizeLinear + MatMulInteger,
                        int8 weights per channel (per_channel=True), uint8
                        embedding tables (DequantizeLinear after Gather)
  minilm.qdyn-pt.onnx   the same with quantize_dynamic's defaults (weights per
                        tensor)
  minilm.qdq.onnx       quantize_static, QuantFormat.QDQ: QuantizeLinear /
                        DequantizeLinear pairs, uint8 activations calibrated
                        (MinMax) on --calib N STS-B dev sentences, int8
                        weights per channel
  stories260K.nbits.onnx  MatMulNBitsQuantizer (block_size 32, asymmetric:
                        4-bit weights with packed zero points)
  stories260K.nbits-sym.onnx  the same, symmetric (no zero_points input:
                        ORT's default zero point 8)

and beside each <name>.ref.npz (keys case<k>_<input>, case<k>_<output>, as
scripts/make_refs.py) from ONNX Runtime (CPUExecutionProvider, default
session options: its fused integer kernels) running the quantized file, and
<name>.ref-plain.npz from ORT with ORT_DISABLE_ALL (each ONNX op as the spec
says: the semantics tfc's import keeps).
MiniLM cases: STS-B test sentences at batch 1, 8 and 32 (padded); stories260K:
the inputs of the shipped stories260K.ts.ref.npz.

Usage: scripts/make_quantized_models.py [--out .cache/onnx] [--only NAME...]
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent


def log(msg):
    print(f"make_quantized_models.py: {msg}", file=sys.stderr, flush=True)


def shared_dir():
    env = os.environ.get("TFC_SHARED")
    if env:
        return Path(env)
    for cand in (ROOT / "shared", ROOT.parent / "shared", Path("/work/shared")):
        if (cand / "data").is_dir():
            return cand
    return ROOT.parent / "shared"


def sts_sentences(path, limit=None):
    """Distinct sentences of an STS-B file in file order (tab-split, columns 6
    and 7; sentences may hold quotes, so never parsed as CSV)."""
    out, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            for s in cols[5:7]:
                if s not in seen:
                    seen.add(s)
                    out.append(s)
    return out[:limit] if limit else out


def minilm_tokenizer(cache):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(cache / "models" / "minilm")


def minilm_feeds(tok, texts):
    enc = tok(texts, padding="longest", truncation=True, max_length=256, return_tensors="np")
    return {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}


def write_refs(model, cases):
    import onnxruntime as ort
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    ref = {}
    for k, feeds in enumerate(cases):
        feeds = {n: v for n, v in feeds.items() if n in names}
        outs = sess.run(None, feeds)
        for n, v in feeds.items():
            ref[f"case{k}_{n}"] = v
        for o, v in zip(sess.get_outputs(), outs):
            ref[f"case{k}_{o.name}"] = v.astype(np.float32)
    path = Path(str(model)[: -len(".onnx")] + ".ref.npz")
    np.savez_compressed(path, **ref)
    log(f"wrote {path} ({len(cases)} cases, onnxruntime {ort.__version__})")
    # The graph's literal ONNX semantics (no fusion into ORT's integer
    # kernels): what tfc's import reproduces up to f32 rounding.
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    plain = dict(ref)
    for k, feeds in enumerate(cases):
        feeds = {n: v for n, v in feeds.items() if n in names}
        for o, v in zip(sess.get_outputs(), sess.run(None, feeds)):
            plain[f"case{k}_{o.name}"] = v.astype(np.float32)
    path = Path(str(model)[: -len(".onnx")] + ".ref-plain.npz")
    np.savez_compressed(path, **plain)
    log(f"wrote {path} (ORT_DISABLE_ALL)")


def minilm_cases(tok, shared):
    s = sts_sentences(shared / "data" / "stsbenchmark" / "sts-test.csv", 41)
    return [minilm_feeds(tok, g) for g in (s[0:1], s[1:9], s[9:41])]


def make_dynamic(src, out, tok, shared, per_channel=True):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    dst = out / ("minilm.qdyn.onnx" if per_channel else "minilm.qdyn-pt.onnx")
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel)
    log(f"wrote {dst}")
    write_refs(dst, minilm_cases(tok, shared))


def make_static(src, out, tok, shared, n_calib):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class StsbReader(CalibrationDataReader):
        def __init__(self):
            dev = sts_sentences(shared / "data" / "stsbenchmark" / "sts-dev.csv", n_calib)
            self.items = iter([minilm_feeds(tok, [s]) for s in dev])

        def get_next(self):
            return next(self.items, None)

    dst = out / "minilm.qdq.onnx"
    quantize_static(str(src), str(dst), StsbReader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    log(f"wrote {dst} (calibrated on {n_calib} STS-B dev sentences)")
    write_refs(dst, minilm_cases(tok, shared))


def make_nbits(out, shared, symmetric):
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    src = shared / "models" / "stories260K" / "onnx" / "stories260K.ts.onnx"
    q = MatMulNBitsQuantizer(onnx.load(str(src)), block_size=32, is_symmetric=symmetric)
    q.process()
    dst = out / ("stories260K.nbits-sym.onnx" if symmetric else "stories260K.nbits.onnx")
    q.model.save_model_to_file(str(dst), use_external_data_format=False)
    log(f"wrote {dst}")
    ref = np.load(shared / "models" / "stories260K" / "onnx" / "stories260K.ts.ref.npz")
    cases = []
    for k in range(3):
        cases.append({n: ref[f"case{k}_{n}"] for n in ("input_ids", "attention_mask")})
    write_refs(dst, cases)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / ".cache" / "onnx")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TFC_CACHE", ROOT / ".cache")))
    ap.add_argument("--only", nargs="*", default=["qdyn", "qdyn-pt", "qdq", "nbits", "nbits-sym"],
                    choices=["qdyn", "qdyn-pt", "qdq", "nbits", "nbits-sym"])
    ap.add_argument("--calib", type=int, default=64, help="STS-B dev sentences for quantize_static")
    a = ap.parse_args()
    shared = shared_dir()
    a.out.mkdir(parents=True, exist_ok=True)
    src = a.cache / "onnx" / "minilm.ts.onnx"
    tok = None
    if {"qdyn", "qdyn-pt", "qdq"} & set(a.only):
        if not src.is_file():
            sys.exit(f"make_quantized_models.py: error: {src} missing (scripts/export_models.py)")
        tok = minilm_tokenizer(a.cache)
    if "qdyn" in a.only:
        make_dynamic(src, a.out, tok, shared)
    if "qdyn-pt" in a.only:
        make_dynamic(src, a.out, tok, shared, per_channel=False)
    if "qdq" in a.only:
        make_static(src, a.out, tok, shared, a.calib)
    if "nbits" in a.only:
        make_nbits(a.out, shared, False)
    if "nbits-sym" in a.only:
        make_nbits(a.out, shared, True)


if __name__ == "__main__":
    main()
