#!/usr/bin/env python3
"""Exports a LLaMA-style HF checkpoint as a "with-past" ONNX decoder.

  export_with_past.py HF_DIR OUT.onnx [--check] [--gguf FILE]

The Optimum-style interface: inputs input_ids [batch, sequence],
attention_mask [batch, past_sequence + sequence] and, per layer l,
past_key_values.{l}.key / .value [batch, kv_heads, past_sequence, head_dim];
outputs logits [batch, sequence, vocab] and present.{l}.key / .value
[batch, kv_heads, past_sequence + sequence, head_dim]. TorchScript exporter,
opset 17; the example past length is 5, so nothing is specialized to an
empty cache. Positions come from the past length inside the graph (no
position_ids input). --check compares ONNX Runtime with PyTorch on two
shapes. Needs torch, transformers, onnx, onnxruntime (scripts/setup.sh).
"""

import argparse
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM
from transformers.cache_utils import DynamicCache


class WithPast(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m
        self.layers = m.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, *past):
        cache = DynamicCache(config=self.m.config)
        for l in range(self.layers):
            cache.update(past[2 * l], past[2 * l + 1], l)
        out = self.m(input_ids=input_ids, attention_mask=attention_mask,
                     past_key_values=cache, use_cache=True)
        presents = []
        for l in range(self.layers):
            layer = out.past_key_values.layers[l]
            presents += [layer.keys, layer.values]
        return (out.logits, *presents)


def example(cfg, batch, past, seq, seed):
    g = torch.Generator().manual_seed(seed)
    hkv = cfg.num_key_value_heads
    d = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    ids = torch.randint(3, cfg.vocab_size, (batch, seq), generator=g)
    mask = torch.ones(batch, past + seq, dtype=torch.int64)
    pkv = [torch.randn(batch, hkv, past, d, generator=g)
           for _ in range(2 * cfg.num_hidden_layers)]
    return [ids, mask] + pkv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hf_dir")
    ap.add_argument("out")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--gguf", default=None,
                    help="load the weights from this GGUF file in HF_DIR (SmolLM2)")
    a = ap.parse_args()
    torch.manual_seed(0)
    kw = {"gguf_file": a.gguf} if a.gguf else {}
    model = AutoModelForCausalLM.from_pretrained(a.hf_dir, attn_implementation="eager",
                                                 torch_dtype=torch.float32, **kw).eval()
    cfg = model.config
    w = WithPast(model).eval()
    L = cfg.num_hidden_layers
    past_names = [f"past_key_values.{l}.{kv}" for l in range(L) for kv in ("key", "value")]
    present_names = [f"present.{l}.{kv}" for l in range(L) for kv in ("key", "value")]
    inputs = ["input_ids", "attention_mask"] + past_names
    outputs = ["logits"] + present_names
    axes = {"input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "total_sequence"},
            "logits": {0: "batch", 1: "sequence"}}
    for n in past_names:
        axes[n] = {0: "batch", 2: "past_sequence"}
    for n in present_names:
        axes[n] = {0: "batch", 2: "total_sequence"}
    args = tuple(example(cfg, 2, 5, 7, 0))
    torch.onnx.export(w, args, a.out, input_names=inputs, output_names=outputs,
                      dynamic_axes=axes, opset_version=17, do_constant_folding=True,
                      dynamo=False)
    w.eval()
    if a.check:
        import onnxruntime as ort
        sess = ort.InferenceSession(a.out, providers=["CPUExecutionProvider"])
        for k, (b, p, s) in enumerate([(1, 0, 9), (3, 11, 1), (2, 4, 6)]):
            ex = example(cfg, b, p, s, 100 + k)
            got = sess.run(None, {n: t.numpy() for n, t in zip(inputs, ex)})
            with torch.no_grad():
                want = [t.numpy() for t in w(*ex)]
            err = max(float(np.abs(x - y).max()) for x, y in zip(got, want))
            print(f"check batch {b} past {p} seq {s}: max |ort - torch| {err:.3g}")
            if err > 1e-4:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
