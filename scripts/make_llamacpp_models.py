#!/usr/bin/env python3
"""llama.cpp models of exactly the weights tfc compiles for SmolLM2-135M.

  make_llamacpp_models.py [--src .cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf]
                          [--out .cache/llamacpp] [--types f32,q8_0,q4_0] [--force]
                          [--check] [--threads 2]

Writes under --out (never committed):
  smollm2.f32.gguf   the source GGUF with every tensor dequantized to F32 by
                     the `gguf` package (Q4_1 blocks, the Q8_0 token_embd),
                     every metadata key (tokenizer, chat template, hyper-
                     parameters) copied, general.file_type = ALL_F32. These
                     are the weights scripts/export_models.py gives tfc:
                     transformers' GGUF loader dequantizes with the same
                     gguf.quants.dequantize (it also un-permutes Q/K from
                     llama.cpp's rope order, which llama.cpp itself undoes).
  smollm2.q8_0.gguf  llama.cpp's own llama_model_quantize of the F32 file,
  smollm2.q4_0.gguf  ftype MOSTLY_Q8_0 / MOSTLY_Q4_0, default parameters (as
                     `llama-quantize F32 OUT q4_0` would): llama.cpp keeps the
                     tied token_embd of the Q4_0 file at a higher type (see
                     the printed tensor types).
--check evaluates the 53-token prompt of .cache/onnx/smollm2.ts.ref.npz
(case0: the decode row's prompt of scripts/bench_table.py) with llama.cpp on
the F32 file and compares all 53 x 49152 logits with the ONNX Runtime
reference stored there (made by scripts/make_refs.py from smollm2.ts.onnx,
the model tfc compiles), and the greedy next tokens. Needs llama-cpp-python
(scripts/setup.sh --bench). Prints one JSON line per file and the check.
"""
import argparse, json, sys, time
from pathlib import Path

import numpy as np

root = Path(__file__).resolve().parent.parent
FTYPES = {"q8_0": 7, "q4_0": 2}  # llama_ftype: LLAMA_FTYPE_MOSTLY_Q8_0 / _Q4_0


def write_f32(src, dst):
    import gguf
    r = gguf.GGUFReader(str(src))
    arch = r.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    tmp = dst.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), arch)
    for f in r.fields.values():
        if f.name == gguf.Keys.General.ARCHITECTURE or f.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        if f.name == gguf.Keys.General.FILE_TYPE:
            w.add_file_type(gguf.LlamaFileType.ALL_F32)
            continue
        vt = f.types[0]
        sub = f.types[-1] if vt == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(f.name, f.contents(), vt, sub_type=sub)
    src_types = {}
    for t in r.tensors:
        src_types[t.tensor_type.name] = src_types.get(t.tensor_type.name, 0) + 1
        x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        # GGUF's shape is ne (fastest first); numpy's is the reverse.
        want = tuple(int(d) for d in reversed(t.shape))
        if x.shape != want:
            x = x.reshape(want)
        w.add_tensor(t.name, np.ascontiguousarray(x), raw_dtype=gguf.GGMLQuantizationType.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.rename(dst)
    return {"file": str(dst), "source_tensor_types": src_types, "tensors": len(r.tensors)}


def tensor_types(path):
    import gguf
    r = gguf.GGUFReader(str(path))
    types = {}
    for t in r.tensors:
        types.setdefault(t.tensor_type.name, []).append(t.name)
    return {k: (len(v) if len(v) > 3 else v) for k, v in types.items()}


def quantize(f32, dst, ftype, threads):
    import llama_cpp
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    tmp = dst.with_suffix(".tmp")
    rc = llama_cpp.llama_model_quantize(str(f32).encode(), str(tmp).encode(), params)
    if rc != 0:
        sys.exit(f"make_llamacpp_models.py: llama_model_quantize({dst.name}) returned {rc}")
    tmp.rename(dst)


def check(f32, threads):
    """llama.cpp's logits of the 53-token prompt (all positions) vs the ORT
    reference of smollm2.ts.onnx."""
    import llama_cpp
    ref = np.load(root / ".cache" / "onnx" / "smollm2.ts.ref.npz")
    ids = [int(x) for x in ref["case0_input_ids"][0]]
    want = ref["case0_logits"][0]
    llm = llama_cpp.Llama(model_path=str(f32), n_ctx=512, n_batch=512, n_threads=threads,
                          logits_all=True, verbose=False)
    llm.eval(ids)
    got = np.array(llm.scores[:len(ids)], np.float32)
    diff = np.abs(got - want)
    same_argmax = int((got.argmax(-1) == want.argmax(-1)).sum())
    # Greedy continuation: 16 tokens from llama.cpp vs the reference's first.
    toks = []
    for tok in llm.generate(ids, top_k=1, temp=0.0, reset=True):
        toks.append(int(tok))
        if len(toks) == 16:
            break
    return {"positions": len(ids), "max_abs_logit_diff": float(diff.max()),
            "mean_abs_logit_diff": float(diff.mean()), "ref_logit_absmax": float(np.abs(want).max()),
            "argmax_agree": f"{same_argmax}/{len(ids)}",
            "next_token_llamacpp": int(got[-1].argmax()), "next_token_ref": int(want[-1].argmax()),
            "greedy16_llamacpp": toks, "greedy16_text": llm.detokenize(toks).decode(errors="replace")}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=str(root / ".cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--out", default=str(root / ".cache/llamacpp"))
    p.add_argument("--types", default="f32,q8_0,q4_0")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--force", action="store_true", help="rewrite files that exist")
    p.add_argument("--check", action="store_true", help="compare the F32 file's logits with the ORT reference")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    f32 = out / "smollm2.f32.gguf"
    for ty in a.types.split(","):
        dst = out / f"smollm2.{ty}.gguf"
        info = {"file": str(dst)}
        if a.force or not dst.exists():
            t0 = time.time()
            if ty == "f32":
                info = write_f32(Path(a.src), dst)
            elif ty in FTYPES:
                if not f32.exists():
                    write_f32(Path(a.src), f32)
                quantize(f32, dst, FTYPES[ty], a.threads)
            else:
                sys.exit(f"make_llamacpp_models.py: unknown type '{ty}' (f32, q8_0, q4_0)")
            info["seconds"] = round(time.time() - t0, 1)
        else:
            info["up_to_date"] = True
        info["bytes"] = dst.stat().st_size
        info["tensor_types"] = tensor_types(dst)
        print(json.dumps(info))
    if a.check:
        print(json.dumps({"check": check(f32, a.threads)}))


if __name__ == "__main__":
    main()
