"""A numpy LLaMA (float64) with StreamingLLM attention, the independent
reference for tfc --attention=sink:S,local:W / --kv-sinks and
--sink-positions=absolute|cache (docs/DESIGN.md "Sink positions").

llama_sink_ref.py HF_DIR TOKENS.npz OUT.npz [--sinks S --window W]
                  [--positions absolute|cache]

HF_DIR: a Hugging Face LlamaForCausalLM folder (config.json,
model.safetensors). TOKENS.npz: input_ids [1, n]. Writes OUT.npz with
`out`, the logits [1, n, vocab] (float32).

Query i sees key j when j <= i and (i - j < W or j < S) (W = 0: every j <=
i). Rotary as Hugging Face's LLaMA (rotate_half, position i for row i). With
positions=cache, a key j < S that query i sees only as a sink (i - j >= W)
is scored as StreamingLLM's cache places it: the key at its slot j, the
query at the cache's last slot S + W - 1, i.e. q rotated at S + W - 1
instead of i (the window's keys keep their distance i - j either way).
Written from the formulas, not from tfc's lowering.
"""
import argparse
import json
import os

import numpy as np


def load_file(path):
    # The safetensors format read directly (no package: the test runs in a
    # setup without the export requirements): an 8-byte little-endian header
    # length, a JSON header {name: {dtype, shape, data_offsets}}, the data.
    dtypes = {"F32": np.float32, "F16": np.float16, "BF16": None}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dt = dtypes.get(t["dtype"])
        if dt is None:
            raise SystemExit(f"{path}: {name} has dtype {t['dtype']}")
        lo, hi = t["data_offsets"]
        out[name] = np.frombuffer(data[lo:hi], dt).reshape(t["shape"])
    return out


def rope(x, pos, theta):
    # x [h, n, d], pos [n]: Hugging Face's rotate_half form.
    d = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    f = np.outer(pos.astype(np.float64), inv)
    emb = np.concatenate([f, f], axis=-1)
    cos, sin = np.cos(emb), np.sin(emb)
    rot = np.concatenate([-x[..., d // 2:], x[..., : d // 2]], axis=-1)
    return x * cos + rot * sin


def rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hf")
    ap.add_argument("tokens")
    ap.add_argument("out")
    ap.add_argument("--sinks", type=int, default=0)
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--positions", choices=["absolute", "cache"],
                    default="absolute")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.hf, "config.json")))
    w = {k: v.astype(np.float64)
         for k, v in load_file(os.path.join(a.hf, "model.safetensors")).items()}
    ids = np.load(a.tokens)["input_ids"][0]
    n = ids.shape[0]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim") or cfg["hidden_size"] // H
    theta = (cfg.get("rope_parameters") or {}).get(
        "rope_theta", cfg.get("rope_theta", 10000.0))
    eps = cfg["rms_norm_eps"]
    S, W = a.sinks, a.window

    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    visible = j <= i
    if W > 0:
        visible &= (i - j < W) | (j < S)
    sinkOnly = visible & (j < S) & (i - j >= W) if W > 0 else np.zeros_like(visible)
    if a.positions == "cache" and W > 0:
        assert S > 0, "--positions=cache needs sinks"
    pos = np.arange(n)
    sinkPos = np.full(n, S + W - 1)

    x = w["model.embed_tokens.weight"][ids]
    for L in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{L}."
        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(n, H, D).transpose(1, 0, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(n, KV, D).transpose(1, 0, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(n, KV, D).transpose(1, 0, 2)
        qr, kr = rope(q, pos, theta), rope(k, pos, theta)
        k = np.repeat(kr, H // KV, axis=0)
        v = np.repeat(v, H // KV, axis=0)
        s = qr @ k.transpose(0, 2, 1) / np.sqrt(D)
        if a.positions == "cache" and W > 0:
            qs = rope(q, sinkPos, theta)
            s = np.where(sinkOnly[None], qs @ k.transpose(0, 2, 1) / np.sqrt(D), s)
        s = np.where(visible[None], s, -np.inf)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        o = (s / s.sum(axis=-1, keepdims=True)) @ v
        o = o.transpose(1, 0, 2).reshape(n, H * D)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    np.savez(a.out, out=(x @ head.T)[None].astype(np.float32))


if __name__ == "__main__":
    main()
