#!/usr/bin/env python3
"""Accuracy of every compression configuration on real data (issue 8).

  accuracy_quant.py [--part stsb,ppl,kl] [--configs NAME,...] [--max-chunks N]
                    [--threads T] [--write-docs] [--json OUT.json]

Parts:
  stsb  all-MiniLM-L6-v2 (.cache/onnx/minilm.ts.onnx) on all 1,379 STS-B test
        pairs: tfc compiles each configuration, examples/bert-embed embeds the
        pairs (mean pooling, L2 norm) and reports Spearman x 100 against the
        gold scores, as sentence-transformers does. Peer: ONNX Runtime running
        its own `quantize_dynamic` (per-channel int8) model, pooled the same way
        in Python.
  ppl   SmolLM2-135M-Instruct (.cache/onnx/smollm2.ts.onnx) perplexity on the
        whole WikiText-2 wiki.test.raw (context 512, stride 512: 593 windows;
        --max-chunks N for the first N only), tfc-run --perplexity. Its "fp32"
        weights are dequantized Q4_1 (4-bit blocks of 32): the baseline here is
        that, not an original full-precision model.
  kl    stories260K (original fp32 weights, trained on TinyStories, so no
        matching evaluation text): KL(fp32 || config) and top-1 agreement of
        each configuration's next-token distributions against the fp32 build,
        over windows of wiki.test.raw tokenized with its tok512 vocabulary.
Every row lists the weights file size (.tfcw). Configurations are tfc flag
sets (CONFIGS below); a configuration whose flags this tfc rejects (a feature
not built yet) is reported as such, not skipped silently.
"""
import argparse, datetime, json, os, re, subprocess, sys, time
from pathlib import Path

from doc_blocks import write_block

import numpy as np

root = Path(__file__).resolve().parent.parent
py = sys.executable
shared = root.parent / "shared"

# name -> tfc flags. Calibration stats (int8-static, GPTQ) are made on demand
# by tfc-calibrate (STS-B dev sentences / WikiText-2 valid), see calib_flags.
CONFIGS = {
    "fp32": [],
    "int8-dynamic": ["--quantize=int8-dynamic"],
    "int8-static": ["--quantize=int8-static", "@calib"],
    "bf16": ["--precision=bf16"],
    "w8": ["--quantize=w8"],
    "w4-g128-rtn": ["--quantize=w4", "--quant-group=128"],
    "w4-g64-rtn": ["--quantize=w4", "--quant-group=64"],
    "w4-g128-gptq": ["--quantize=w4", "--quant-group=128", "--quant-method=gptq", "@calib"],
    # The w4 preset's scheme as a JSON recipe whose "clip" picks each group's
    # grid by the Hessian-weighted rounding error (docs/DESIGN.md "GPTQ").
    "w4-g128-rtn-hmse": ["@recipe:rtn:hmse", "@calib"],
    "w4-g128-gptq-hmse": ["@recipe:gptq:hmse", "@calib"],
    "w4-g128-gptq-hmse-ao": ["@recipe:gptq:hmse", "@calib", "--gptq-act-order"],
    "mixed": ["--quantize=mixed"],
    "int8-kv": ["--kv-cache", "--kv-dtype=int8"],
}
PARTS = {
    "stsb": ["fp32", "int8-dynamic", "int8-static", "bf16", "w8", "mixed"],
    "ppl": ["fp32", "w8", "w4-g128-rtn", "w4-g64-rtn", "w4-g128-gptq", "w4-g128-rtn-hmse",
            "w4-g128-gptq-hmse", "w4-g128-gptq-hmse-ao", "mixed", "int8-kv"],
    "kl": ["fp32", "w8", "w4-g128-rtn", "w4-g128-gptq", "w4-g128-rtn-hmse", "w4-g128-gptq-hmse",
           "w4-g128-gptq-hmse-ao", "mixed", "int8-kv"],
}

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--part", default="stsb,ppl,kl")
p.add_argument("--configs", help="comma-separated subset of the configurations")
p.add_argument("--max-chunks", type=int, default=0, help="ppl: first N windows only (0: whole file)")
p.add_argument("--kl-windows", type=int, default=64)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--tfc-build", default=str(root / "build"))
p.add_argument("--workdir", default=str(root / ".cache" / "accuracy"))
p.add_argument("--write-docs", action="store_true")
p.add_argument("--json")
a = p.parse_args()
bin_ = Path(a.tfc_build) / "bin"
work = Path(a.workdir)
work.mkdir(parents=True, exist_ok=True)
want = set(a.configs.split(",")) if a.configs else None
results = {"date": datetime.date.today().isoformat(), "rows": []}


def sh(cmd, check=True):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stderr[-1500:]}")
    return r


def calib_stats(model, kind):
    """Calibration stats for `model` from tfc-calibrate (None when the tool is not built)."""
    tool = bin_ / "tfc-calibrate"
    if not tool.exists():
        return None
    out = work / f"{Path(model).stem.replace('.', '_')}.calib.json"
    if not out.exists():
        if kind == "encoder":
            args = ["--data", shared / "data" / "stsbenchmark" / "sts-dev.csv", "--tokenizer",
                    root / ".cache" / "models" / "minilm", "--calib-samples", 256]
        else:
            tok = (shared / "models" / "stories260K" / "tok512.model" if "stories" in str(model)
                   else root / ".cache" / "models" / "smollm2" / "hf" / "tokenizer.json")
            args = ["--data", shared / "data" / "wikitext-2-tokenized" / "valid.txt", "--tokenizer", tok,
                    "--calib-samples", 64, "--seq-len", 512 if "stories" not in str(model) else 128,
                    "--hessians"]
        sh([tool, model, *args, "-o", out])
    return out


def build(model, name, kind, extra=()):
    """Compiles `model` with configuration `name`; returns (stem, error)."""
    flags = []
    for f in CONFIGS[name]:
        if f.startswith("@recipe:"):
            # The w4 preset (4-bit asymmetric, groups of 128, block32
            # activations, every linear incl. the LM head) with a method and clip.
            _, method, clip = f.split(":")
            scheme = {"bits": 4, "group": 128, "symmetric": False, "activations": "block32"}
            recipe = {"method": method, "clip": clip,
                      "classes": {c: scheme for c in ("qkv", "out_proj", "mlp", "lm_head")}}
            path = work / f"recipe.{method}.{clip}.json"
            path.write_text(json.dumps(recipe))
            flags.append(f"--quantize={path}")
        elif f == "@calib":
            st = calib_stats(model, kind)
            if st is None:
                return None, "tfc-calibrate not built"
            flags += ["--calib-stats", st]
        else:
            flags.append(f)
    stem = work / f"{Path(model).stem.replace('.', '_')}.{name}"
    if not Path(str(stem) + ".so").exists():
        r = sh([bin_ / "tfc", model, "--emit=shared", "-o", stem, *flags, *extra], check=False)
        if r.returncode != 0:
            return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
    return stem, None


def tfcw_mb(stem):
    return Path(str(stem) + ".tfcw").stat().st_size / 1e6


def stsb_pairs():
    out = work / "sts-test.tsv"
    if not out.exists():
        out.write_text((shared / "data" / "stsbenchmark" / "sts-test.csv").read_text())
    return out


def part_stsb():
    model = root / ".cache" / "onnx" / "minilm.ts.onnx"
    pairs = stsb_pairs()
    for name in PARTS["stsb"]:
        if want and name not in want:
            continue
        stem, err = build(model, name, "encoder")
        row = {"part": "stsb", "config": name}
        if err:
            row["error"] = err
        else:
            r = sh([bin_ / "bert-embed", "-m", str(stem) + ".so", "--tokenizer", root / ".cache" / "models" / "minilm",
                    "--threads", a.threads, "--pairs", pairs])
            m = re.search(r"[Ss]pearman[^0-9-]*(-?[0-9.]+)", r.stderr)
            row.update({"spearman": 100 * float(m.group(1)), "weights_mb": tfcw_mb(stem)})
        print(f"  stsb {name}: {row}", file=sys.stderr)
        results["rows"].append(row)
    if not want or "ort-qdyn" in want:
        results["rows"].append(ort_qdyn_stsb(model, pairs))


def ort_qdyn_stsb(model, pairs):
    """ONNX Runtime running its own quantize_dynamic (per channel) model,
    measured like bert-embed (scripts/stsb_spearman_ort.py: mean pooling over
    the attention mask, batches of 32 in bert-embed's order)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    qm = work / "minilm.ort_qdyn.onnx"
    if not qm.exists():
        quantize_dynamic(str(model), str(qm), per_channel=True, weight_type=QuantType.QInt8)
    r = sh([py, root / "scripts" / "stsb_spearman_ort.py", qm, "--pairs", pairs, "--threads", a.threads])
    m = re.search(r"spearman: (-?[0-9.]+)", r.stdout + r.stderr)
    row = {"part": "stsb", "config": "ORT quantize_dynamic (run by ONNX Runtime)",
           "spearman": 100 * float(m.group(1)), "weights_mb": qm.stat().st_size / 1e6}
    print(f"  stsb ort-qdyn: {row}", file=sys.stderr)
    return row


def wiki_tokens():
    out = work / "wiki.test.smollm2.tokens"
    if not out.exists():
        sh([py, root / "scripts" / "tokenize_for_ppl.py", "--tokenizer",
            root / ".cache" / "models" / "smollm2" / "hf" / "tokenizer.json",
            shared / "data" / "wikitext-2-raw" / "wiki.test.raw", "-o", out])
    return out


def part_ppl():
    model = root / ".cache" / "onnx" / "smollm2.ts.onnx"
    toks = wiki_tokens()
    for name in PARTS["ppl"]:
        if want and name not in want:
            continue
        stem, err = build(model, name, "decoder")
        row = {"part": "ppl", "config": name, "max_chunks": a.max_chunks}
        if err:
            row["error"] = err
        else:
            cmd = [bin_ / "tfc-run", str(stem) + ".so", "--perplexity", toks, "--context", 512, "--stride", 512,
                   "--threads", a.threads]
            if a.max_chunks:
                cmd += ["--max-chunks", a.max_chunks]
            t0 = time.time()
            r = sh(cmd)
            row.update({"ppl": float(re.search(r"perplexity: ([0-9.]+)", r.stdout).group(1)),
                        "tokens": int(re.search(r"tokens evaluated: ([0-9]+)", r.stdout).group(1)),
                        "seconds": time.time() - t0, "weights_mb": tfcw_mb(stem)})
        print(f"  ppl {name}: {row}", file=sys.stderr)
        results["rows"].append(row)


def part_kl():
    """stories260K: logits of each config vs fp32 over wiki.test windows."""
    model = shared / "models" / "stories260K" / "onnx" / "stories260K.ts.onnx"
    win = work / "stories_wiki_windows.npz"
    if not win.exists():
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=str(shared / "models" / "stories260K" / "tok512.model"))
        text = (shared / "data" / "wikitext-2-raw" / "wiki.test.raw").read_text(encoding="utf-8")
        ids = sp.encode(text)
        n, L = a.kl_windows, 128
        step = max(L, (len(ids) - L) // n)
        w = np.array([ids[i * step:i * step + L] for i in range(n)], np.int64)
        np.savez(win, case0_input_ids=w, case0_attention_mask=np.ones_like(w))
    ref = None
    for name in PARTS["kl"]:
        if want and name not in want and name != "fp32":
            continue
        stem, err = build(model, name, "decoder")
        row = {"part": "kl", "config": name}
        if err:
            row["error"] = err
            results["rows"].append(row)
            continue
        out = work / f"stories.{name}.out.npz"
        sh([bin_ / "tfc-run", str(stem) + ".so", "--inputs", win, "--prefix", "case0_", "--outputs", out,
            "--threads", a.threads])
        o = np.load(out)
        logits = o[o.files[0]].astype(np.float64)
        lp = logits - logits.max(-1, keepdims=True)
        lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
        if ref is None:
            ref = lp
        kl = float((np.exp(ref) * (ref - lp)).sum(-1).mean())
        top1 = float((ref.argmax(-1) == lp.argmax(-1)).mean())
        row.update({"kl": kl, "top1": top1, "positions": int(np.prod(lp.shape[:-1])), "weights_mb": tfcw_mb(stem)})
        print(f"  kl {name}: {row}", file=sys.stderr)
        results["rows"].append(row)


parts = a.part.split(",")
if "stsb" in parts:
    part_stsb()
if "ppl" in parts:
    part_ppl()
if "kl" in parts:
    part_kl()


def table():
    cpu = ""
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except Exception:
        pass
    lines = [f"{results['date']}, {cpu}, {a.threads} threads, tfc at `git describe`: "
             + sh(["git", "-C", root, "describe", "--always", "--dirty"], check=False).stdout.strip(), ""]
    for part, head, fmt in [
        ("stsb", "| MiniLM configuration | STS-B test Spearman x 100 | vs fp32 | weights MB |\n|---|---|---|---|",
         lambda r, b: f"| {r['config']} | {r['spearman']:.2f} | {r['spearman'] - b:+.2f} | {r['weights_mb']:.1f} |"),
        ("ppl", "| SmolLM2 configuration | wiki.test perplexity | vs fp32 | tokens | weights MB |\n|---|---|---|---|---|",
         lambda r, b: f"| {r['config']} | {r['ppl']:.4f} | {100 * (r['ppl'] / b - 1):+.2f}% | {r['tokens']} | "
                      f"{r['weights_mb']:.1f} |"),
        ("kl", "| stories260K configuration | KL(fp32 ‖ config) nats | top-1 agreement | weights MB |\n|---|---|---|---|",
         lambda r, b: f"| {r['config']} | {r['kl']:.2e} | {100 * r['top1']:.2f}% | {r['weights_mb']:.3f} |"),
    ]:
        rows = [r for r in results["rows"] if r["part"] == part]
        if not rows:
            continue
        key = {"stsb": "spearman", "ppl": "ppl", "kl": "kl"}[part]
        base = next((r[key] for r in rows if r["config"] == "fp32" and key in r), float("nan"))
        lines.append(head)
        for r in rows:
            lines.append(fmt(r, base) if "error" not in r else f"| {r['config']} | not built: {r['error']} | | |")
        lines.append("")
    return "\n".join(lines)


t = table()
print(t)
if a.json:
    Path(a.json).write_text(json.dumps(results, indent=1))
if a.write_docs:
    doc = root / "docs" / "ACCURACY.md"
    write_block(doc, "accuracy_quant " + a.part + (f" max-chunks {a.max_chunks}" if a.max_chunks else ""),
                f"scripts/accuracy_quant.py {' '.join(sys.argv[1:])}", t)
