#!/usr/bin/env python3
"""Session prefill of SmolLM2-135M: all positions' logits against the last's.

  bench_prefill_logits.py [--lengths 53,512,2048] [--rounds 5] [--iters 3]
                          [--threads 2] [--workdir DIR] [--json OUT.json]

Compiles SmolLM2-135M-Instruct (.cache/onnx/smollm2.ts.onnx) twice with
`--kv-cache=2048`: the default (`tfc_session_prefill` returns logits for
every prompt position, [1, n, V]) and `--kv-logits=last` (each sequence's
last position, [1, 1, V]: the lm_head, 576 x 49152 and a quarter of the
model's multiply-adds per token, runs on one row). Prompts: the first n
tokens of wiki.test.raw with the model's tokenizer. Per round and length
each build runs `tfc-run X.so --inputs pN.npz --decode 1 --bench --iters
ITERS` (a prefill of n tokens, then one decode step; tfc-run checks both
against the full-sequence entry first: the returned positions agree) and
reports its median prefill; builds alternate within a round. Prints per
length the medians, the median of the per-round ratios (all / last) and
the logits bytes each prefill returns. The header names the CPU and the
kernel ISA path (TFCRT_ISA caps it).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--lengths", default="53,512,2048")
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--iters", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--workdir", default="/tmp/bench_prefill_logits")
p.add_argument("--tfc-build", default=str(root / "build"))
p.add_argument("--json")
a = p.parse_args()

bin_ = Path(a.tfc_build) / "bin"
work = Path(a.workdir)
work.mkdir(parents=True, exist_ok=True)
py = os.environ.get("TFC_PYTHON", str(root / ".venv/bin/python"))
onnx = root / ".cache/onnx/smollm2.ts.onnx"
tok_json = root / ".cache/models/smollm2/hf/tokenizer.json"
data = Path(os.environ.get("TFC_DATA", root.parent / "shared/data"))
lengths = [int(x) for x in a.lengths.split(",")]
max_len = max(max(lengths) + 1, 2048)


def run(cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n"
                 f"{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r


for need in (onnx, tok_json):
    if not need.exists():
        sys.exit(f"missing {need}: run scripts/get_models.sh and "
                 "scripts/export_models.py first")

# Prompts: the first n tokens of wiki.test.raw.
toks = work / "wiki.test.smollm2.tokens"
if not toks.exists():
    run([py, root / "scripts/tokenize_for_ppl.py", "--tokenizer", tok_json,
         data / "wikitext-2-raw/wiki.test.raw", "-o", toks])
ids = [int(t) for t in toks.read_text().split()[:max(lengths)]]
for n in lengths:
    f = work / f"p{n}.npz"
    if not f.exists():
        run([py, "-c", "import sys, numpy as np; n = int(sys.argv[2]); "
             "ids = np.array([[int(t) for t in sys.argv[3].split(',')][:n]], np.int64); "
             "np.savez(sys.argv[1], input_ids=ids, attention_mask=np.ones_like(ids))",
             f, n, ",".join(map(str, ids))])

builds = {"all": [], "last": ["--kv-logits=last"]}
for name, flags in builds.items():
    stem = work / f"smollm2_kv_{name}"
    if not Path(str(stem) + ".so").exists():
        t = time.time()
        run([bin_ / "tfc", onnx, f"--kv-cache={max_len}", *flags, "--emit=shared",
             "-o", stem])
        print(f"compiled {stem.name} in {time.time() - t:.1f} s", flush=True)

info = {}


def prefill_ms(name, n):
    out = json.loads(run([bin_ / "tfc-run", work / f"smollm2_kv_{name}.so", "--inputs",
                          work / f"p{n}.npz", "--decode", 1, "--bench", "--warmup", 1,
                          "--iters", a.iters, "--threads", a.threads, "--json"]).stdout)
    info.update({k: out.get(k) for k in ("cpu", "kernel_isa")})
    if out.get("ok") is False:
        sys.exit(f"{name} n={n}: tfc-run --decode check failed")
    return out["prefill_median_ms"]


times = {(name, n): [] for name in builds for n in lengths}
load_before = os.getloadavg()[0]
for r in range(a.rounds):
    for n in lengths:
        order = list(builds) if r % 2 == 0 else list(builds)[::-1]
        for name in order:
            times[(name, n)].append(prefill_ms(name, n))
    print(f"round {r + 1}: " + ", ".join(
        f"{n}: {times[('all', n)][-1]:.1f} / {times[('last', n)][-1]:.1f} ms"
        for n in lengths), flush=True)

isa_cap = os.environ.get("TFCRT_ISA", "")
print(f"\nCPU: {info.get('cpu')}; tfc kernels: {info.get('kernel_isa')}"
      f"{' (capped by TFCRT_ISA=' + isa_cap + ')' if isa_cap else ''}; {a.threads} threads; "
      f"{a.rounds} alternating rounds x {a.iters} prefills, medians; load average "
      f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
vocab = 49152
rows = []
print("\n| prompt tokens | --kv-logits=all | --kv-logits=last | all / last (median of rounds) "
      "| per round | logits returned (all / last) |")
print("|---|---|---|---|---|---|")
for n in lengths:
    ta, tl = times[("all", n)], times[("last", n)]
    ratios = [x / y for x, y in zip(ta, tl)]
    row = {"tokens": n, "all_ms": statistics.median(ta), "last_ms": statistics.median(tl),
           "ratio": statistics.median(ratios), "ratios": ratios}
    rows.append(row)
    print(f"| {n} | {row['all_ms']:.1f} ms | {row['last_ms']:.1f} ms | **{row['ratio']:.2f}x** | "
          f"{' '.join(f'{x:.2f}' for x in ratios)} | {n * vocab * 4 / 1e6:.1f} MB / "
          f"{vocab * 4 / 1e6:.2f} MB |")
if a.json:
    Path(a.json).write_text(json.dumps({"info": info, "threads": a.threads, "rows": rows,
                                        "times": {f"{k[0]}:{k[1]}": v for k, v in times.items()}},
                                       indent=1))
