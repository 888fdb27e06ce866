#!/usr/bin/env python3
"""The family matrix: tiny random-weight transformers models of the BERT and
LLaMA families, exported with both PyTorch exporters, compiled with tfc and
checked against ONNX Runtime (docs/IMPORT.md, issue 12).

  family_matrix.py export [--families a,b] [--styles ts,dynamo] [--out DIR]
      Builds each family's tiny model (seeded random weights: norms near 1,
      biases non-zero), exports it with the TorchScript exporter (opset 17) and
      the dynamo exporter (opset 18), and writes beside each
      <family>.<style>.onnx its ONNX Runtime reference <family>.<style>.ref.npz
      (keys case<k>_<input>/case<k>_<output>, as scripts/make_refs.py): case0
      batch 1 x 7; case1 batch 2 x 13 with the second row right-padded by 4;
      case2 batch 1 x 24 (longer than the sliding windows). Files that exist
      are kept (export once, reuse). Default DIR: <repo>/.cache/onnx/family.
  family_matrix.py check --tfc TFC --tfc-run RUN [--families ..] [--styles ..]
                         [--work DIR] [--table FILE] [--atol 1e-4]
      For each exported file: `tfc --emit=tfc` (counts the raised transformer
      ops and collects tfc's remarks about patterns left generic), then
      `tfc --emit=shared` and `tfc-run` on every case against the reference.
      Prints one line per row and exits non-zero when a row fails; with
      --table, rewrites the generated part of FILE (between the markers
      <!-- family-matrix:begin --> and <!-- family-matrix:end -->).

Every model is loaded with attn_implementation="eager" (as export_models.py).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parent.parent
VOCAB = 256
STYLES = ["ts", "dynamo"]
OPSET = {"ts": 17, "dynamo": 18}
CASES = [(1, 7, 0), (2, 13, 4), (1, 24, 0)]  # (batch, seq, right padding)

ENC = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2,
           num_attention_heads=4, intermediate_size=64,
           max_position_embeddings=64)
DEC = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
           max_position_embeddings=128, tie_word_embeddings=False)
LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 32}


def _family(kind, cls, cfg_cls, what, **cfg):
    return {"kind": kind, "cls": cls, "cfg_cls": cfg_cls, "cfg": cfg,
            "what": what}


# name -> how to build it. `what` says which pattern the row exercises.
FAMILIES = {
    "bert": _family("enc", "BertModel", "BertConfig", "post-LN encoder",
                    **ENC),
    "roberta": _family("enc", "RobertaModel", "RobertaConfig",
                       "CumSum position ids", pad_token_id=1, **ENC),
    "xlm_roberta": _family("enc", "XLMRobertaModel", "XLMRobertaConfig",
                           "CumSum position ids", pad_token_id=1, **ENC),
    "distilbert": _family("enc", "DistilBertModel", "DistilBertConfig",
                          "no token types", vocab_size=VOCAB, dim=32,
                          n_layers=2, n_heads=4, hidden_dim=64,
                          max_position_embeddings=64),
    "albert": _family("enc", "AlbertModel", "AlbertConfig",
                      "factorized embeddings, shared layers",
                      embedding_size=16, **ENC),
    "electra": _family("enc", "ElectraModel", "ElectraConfig",
                       "embedding projection", embedding_size=16, **ENC),
    "mpnet": _family("enc", "MPNetModel", "MPNetConfig",
                     "relative position bias, CumSum position ids",
                     pad_token_id=1, **ENC),
    "llama2": _family("dec", "LlamaForCausalLM", "LlamaConfig", "GQA, RoPE",
                      **DEC),
    "llama3": _family("dec", "LlamaForCausalLM", "LlamaConfig",
                      "llama3 rope scaling", rope_parameters=LLAMA3_ROPE,
                      **DEC),
    "llama3_bias": _family("dec", "LlamaForCausalLM", "LlamaConfig",
                           "llama3 rope scaling, attention and MLP biases",
                           rope_parameters=LLAMA3_ROPE, attention_bias=True,
                           mlp_bias=True, **DEC),
    "mistral": _family("dec", "MistralForCausalLM", "MistralConfig",
                       "sliding window 16", sliding_window=16, **DEC),
    "qwen2": _family("dec", "Qwen2ForCausalLM", "Qwen2Config", "q/k/v biases",
                     use_sliding_window=False, **DEC),
    "qwen3": _family("dec", "Qwen3ForCausalLM", "Qwen3Config",
                     "q/k RMSNorm per head", head_dim=16,
                     use_sliding_window=False, **DEC),
    "phi3": _family("dec", "Phi3ForCausalLM", "Phi3Config",
                    "fused qkv_proj and gate_up_proj", pad_token_id=0,
                    bos_token_id=1, eos_token_id=2, **DEC),
    "gemma2": _family("dec", "Gemma2ForCausalLM", "Gemma2Config",
                      "soft-capping, scaled embeddings, sandwich norms",
                      head_dim=16, query_pre_attn_scalar=16, sliding_window=16,
                      final_logit_softcapping=30.0,
                      attn_logit_softcapping=50.0, pad_token_id=0, **DEC),
    "gemma3": _family("dec", "Gemma3ForCausalLM", "Gemma3TextConfig",
                      "q/k norm, scaled embeddings, local/global layers",
                      head_dim=16, query_pre_attn_scalar=16, sliding_window=16,
                      pad_token_id=0,
                      layer_types=["sliding_attention", "full_attention"],
                      **DEC),
    "stablelm": _family("dec", "StableLmForCausalLM", "StableLmConfig",
                        "partial rotary 0.25, LayerNorm",
                        **{**DEC, "num_key_value_heads": 4}),
    "olmo": _family("dec", "OlmoForCausalLM", "OlmoConfig",
                    "non-parametric LayerNorm", pad_token_id=0, **DEC),
}


# Why a pattern stays generic, or how a family-specific one is handled
# (the matrix's notes column).
NOTES = {
    "enc": "dense MLP (linear, gelu, linear): linears and the activation raised, no gated MLP",
    "mpnet": "relative position bias added before the mask: folded into the attention's float mask",
    "llama3_bias": "MLP with biases: tfc.gated_mlp has no bias operands, so gate/up/down stay tfc.linear + silu + mul",
    "phi3": "fused qkv_proj / gate_up_proj split by tfc-raise-linear; tensor partition shards them (test/e2e/partition-phi3.test)",
    "gemma2": "attention logit soft-capping (tanh(s/50)*50 before the mask): tfc.attention has no soft-cap, so attention stays generic; final logit soft-capping stays tanh ops",
    "gemma3": "q/k RMSNorm raised; alternating sliding/global layers",
    "stablelm": "partial rotary (25% of head_dim): rotary raised on the rotated slice, the rest passes through a concat",
    "olmo": "LayerNorm without weights (scale 1, no bias) raised as tfc.layer_norm",
    "llama3": "llama3 rope scaling only changes the constant inverse frequencies",
    "qwen3": "q/k RMSNorm per head raised (9 norms)",
}


def die(msg):
    print(f"family_matrix.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"family_matrix.py: {msg}", file=sys.stderr, flush=True)


# --- export ------------------------------------------------------------------


def build(name):
    import torch
    import transformers

    f = FAMILIES[name]
    cfg = getattr(transformers, f["cfg_cls"])(**f["cfg"])
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    model = getattr(transformers, f["cls"])(cfg)
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if re.search(r"norm.*weight|LayerNorm\.weight|ln.*weight", pname):
                # Gemma norms scale by (1 + w): small w either way.
                base = 0.0 if name.startswith("gemma") else 1.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    model.eval()

    class Wrap(torch.nn.Module):
        def __init__(self, m, out):
            super().__init__()
            self.m, self.out = m, out

        def forward(self, input_ids, attention_mask):
            kw = {} if f["kind"] == "enc" else {"use_cache": False}
            r = self.m(input_ids=input_ids, attention_mask=attention_mask, **kw)
            return getattr(r, self.out)

    out = "last_hidden_state" if f["kind"] == "enc" else "logits"
    return Wrap(model, out).eval(), out


def feeds(batch, seq, pad, seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, VOCAB, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    if pad:
        mask[-1, seq - pad:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def export_one(wrapper, out, style, path):
    import torch

    ex = feeds(2, 19, 5, seed=0)
    args = (ex["input_ids"], ex["attention_mask"])
    names = ["input_ids", "attention_mask"]
    axes = {0: "batch", 1: "sequence"}
    if style == "ts":
        torch.onnx.export(wrapper, args, str(path), input_names=names,
                          output_names=[out],
                          dynamic_axes={n: axes for n in names + [out]},
                          opset_version=OPSET["ts"], do_constant_folding=True,
                          dynamo=False)
    else:
        torch.onnx.export(wrapper, args, str(path), input_names=names,
                          output_names=[out],
                          dynamic_shapes={n: axes for n in names},
                          opset_version=OPSET["dynamo"], dynamo=True,
                          external_data=False)
    wrapper.eval()


def make_refs(wrapper, out, path):
    import numpy as np
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    arrays, worst = {}, 0.0
    for k, (b, s, pad) in enumerate(CASES):
        ex = feeds(b, s, pad, seed=100 + k)
        got = sess.run(None, {n: v.numpy() for n, v in ex.items()})[0]
        with torch.no_grad():
            want = wrapper(ex["input_ids"], ex["attention_mask"]).numpy()
        worst = max(worst, float(np.abs(got - want).max()))
        for n, v in ex.items():
            arrays[f"case{k}_{n}"] = v.numpy()
        arrays[f"case{k}_{out}"] = got.astype(np.float32)
    np.savez_compressed(str(path).replace(".onnx", ".ref.npz"), **arrays)
    return worst


def cmd_export(a):
    import torch

    torch.set_num_threads(1)
    a.out.mkdir(parents=True, exist_ok=True)
    for name in a.families:
        todo = [s for s in a.styles if a.force or not
                (a.out / f"{name}.{s}.ref.npz").is_file()]
        if not todo:
            continue
        wrapper, out = build(name)
        for style in todo:
            path = a.out / f"{name}.{style}.onnx"
            t0 = time.time()
            try:
                export_one(wrapper, out, style, path)
                err = make_refs(wrapper, out, path)
            except Exception as e:  # keep going: the row reports it
                log(f"{name}.{style}: export failed: {type(e).__name__}: "
                    f"{str(e)[:300]}")
                (a.out / f"{name}.{style}.export-error").write_text(str(e))
                continue
            log(f"{path.name}: {time.time() - t0:.1f}s, max|ort-torch| "
                f"{err:.2e}")


# --- check -------------------------------------------------------------------

RAISED = [("attention", "tfc.attention"), ("norm", "tfc.rms_norm|tfc.layer_norm"),
          ("mlp", "tfc.gated_mlp"), ("linear", "tfc.linear"),
          ("rotary", "tfc.rotary")]


def check_one(a, name, style):
    stem = f"{name}.{style}"
    model = a.out / f"{stem}.onnx"
    ref = a.out / f"{stem}.ref.npz"
    row = {"family": name, "style": style, "what": FAMILIES[name]["what"]}
    if not ref.is_file():
        err = a.out / f"{stem}.export-error"
        row["status"] = "no export" + (f": {err.read_text()[:80]}"
                                       if err.is_file() else "")
        return row
    work = a.work / stem
    work.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([a.tfc, str(model), "--emit=tfc", "--remarks", "-o",
                        str(work / "m")],
                       capture_output=True, text=True)
    if r.returncode:
        err = r.stderr.strip()
        crashed = r.returncode < 0 or "Stack dump" in err
        row["status"] = ("CRASH " if crashed else "import: ") + \
            [l for l in err.splitlines() if l.strip()][0 if crashed else -1][:200]
        return row
    ir = (work / "m.tfc.mlir").read_text()
    counts = {k: len(re.findall(rf"= ({pat})\b", ir)) for k, pat in RAISED}
    row["raised"] = counts
    row["remarks"] = sorted({l.split("remark:", 1)[1].strip()
                             for l in r.stderr.splitlines() if "remark:" in l})
    r = subprocess.run([a.tfc, str(model), "--emit=shared", "-o",
                        str(work / "m")], capture_output=True, text=True)
    if r.returncode:
        row["status"] = "compile: " + r.stderr.strip()[-160:]
        return row
    worst, ok = 0.0, True
    for k in range(len(CASES)):
        r = subprocess.run([a.tfc_run, str(work / "m.so"), "--inputs", str(ref),
                            "--prefix", f"case{k}_", "--reference", str(ref),
                            "--atol", a.atol, "--rtol", a.atol],
                           capture_output=True, text=True)
        m = re.findall(r"max abs err ([0-9.eE+-]+|nan|inf)", r.stdout)
        if m:
            worst = max(worst, max(float(x) for x in m))
        if r.returncode or not m:
            ok = False
    row["max_err"] = worst
    row["status"] = "pass" if ok else "FAIL (numbers)"
    return row


def write_table(path, rows):
    lines = ["| family | exporter | pattern | status | max abs err vs ORT | "
             "raised (attention / norm / gated MLP / linear / rotary) |",
             "|---|---|---|---|---|---|"]
    notes = {}
    for r in rows:
        c = r.get("raised")
        raised = (" / ".join(str(c[k]) for k, _ in RAISED) if c else "-")
        err = f"{r['max_err']:.1e}" if "max_err" in r else "-"
        lines.append(f"| {r['family']} | {r['style']} | {r['what']} | "
                     f"{r['status']} | {err} | {raised} |")
        kind = FAMILIES[r["family"]]["kind"]
        note = NOTES.get(r["family"]) or NOTES.get(kind)
        if note:
            notes[r["family"]] = note
    if notes:
        lines += ["", "Notes (what stays generic, and why):", ""]
        lines += [f"- {f}: {n}" for f, n in notes.items()]
    remarks = sorted({(r["family"], m) for r in rows for m in r.get("remarks", [])})
    if remarks:
        lines += ["", "Patterns left generic (tfc's remarks):", ""]
        seen = {}
        for fam, m in remarks:
            seen.setdefault(m, []).append(fam)
        for m, fams in sorted(seen.items()):
            lines.append(f"- {', '.join(sorted(set(fams)))}: {m}")
    text = path.read_text()
    begin, end = "<!-- family-matrix:begin -->", "<!-- family-matrix:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < 0:
        die(f"{path}: markers {begin} / {end} missing")
    path.write_text(text[: i + len(begin)] + "\n" + "\n".join(lines) + "\n" +
                    text[j:])


def cmd_check(a):
    rows, failed = [], 0
    for name in a.families:
        for style in a.styles:
            row = check_one(a, name, style)
            rows.append(row)
            failed += row["status"] != "pass"
            print(f"{name}.{style}: {row['status']} max_err "
                  f"{row.get('max_err', '-')} raised {row.get('raised', '-')}",
                  flush=True)
    if a.table:
        write_table(a.table, rows)
    (a.work / "matrix.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["export", "check"])
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--styles", default="ts,dynamo")
    ap.add_argument("--out", type=Path, default=ROOT / ".cache" / "onnx" / "family")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--tfc", default=str(ROOT / "build" / "bin" / "tfc"))
    ap.add_argument("--tfc-run", default=str(ROOT / "build" / "bin" / "tfc-run"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/tfc-family-matrix"))
    ap.add_argument("--table", type=Path)
    ap.add_argument("--atol", default="1e-4")
    a = ap.parse_args()
    a.families = [f for f in a.families.split(",") if f]
    a.styles = [s for s in a.styles.split(",") if s]
    for f in a.families:
        if f not in FAMILIES:
            die(f"unknown family '{f}' (choose from {', '.join(FAMILIES)})")
    for s in a.styles:
        if s not in STYLES:
            die(f"unknown style '{s}'")
    if a.command == "export":
        cmd_export(a)
        return 0
    a.work.mkdir(parents=True, exist_ok=True)
    return cmd_check(a)


if __name__ == "__main__":
    sys.exit(main())
