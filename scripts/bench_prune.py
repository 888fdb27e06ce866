#!/usr/bin/env python3
"""Speed of pruned models against the dense build (issue 9's speed bars).

  bench_prune.py [--rows minilm,decode] [--rounds 5] [--iters 10] [--threads 2]
                 [--workdir DIR] [--write-docs] [--json OUT.json]

Rows (tfc only: the peer of a pruned model is the same model unpruned,
compiled by tfc, timed in the same rounds, alternating):
  minilm   all-MiniLM-L6-v2 (.cache/onnx/minilm.ts.onnx), batch 32 x 128
           (bench_ort.py's seeded inputs): dense against `--prune=ffn:0.5`
           (half of the MLP channels, structured and shrunk: 31% of the
           linear FLOPs), `--prune=heads:6` (half of the heads), and
           `--prune=magnitude --sparsity=0.8` (unstructured; the kernel
           lowering's cost model picks each weight's encoding, --remarks)
  decode   SmolLM2-135M --kv-cache, 64 greedy steps after the 53-token
           prompt (case0 of .cache/onnx/smollm2.ts.ref.npz): dense against
           `--prune=magnitude --sparsity=0.7` (median decode step)
  decode-w8  the same decode, int8 weights (`--quantize=w8`): dense w8
           against `--prune=magnitude --sparsity=0.7 --quantize=w8` and
           0.5 (the zero codes packed sparse-mask-w8 by the cost model), and
           the dense fp32 build (x dense < 1: what w8 alone gains)
Every build is checked first (MiniLM: against ONNX Runtime's outputs of the
dense model at 1e-3 for the dense build only; a pruned model computes
another function). The header names the CPU and the kernel ISA path;
TFCRT_ISA=avx2 caps tfc's kernels. With --write-docs the table replaces the
block between `bench_prune ISA` markers in docs/PERFORMANCE.md.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from doc_blocks import cpu_key, write_block

root = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--rows", default="minilm,decode")
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--iters", type=int, default=10)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--decode-steps", type=int, default=64)
p.add_argument("--workdir", default="/tmp/bench_prune")
p.add_argument("--tfc-build", default=str(root / "build"))
p.add_argument("--pause", type=float, default=2.0)
p.add_argument("--write-docs", action="store_true")
p.add_argument("--json")
a = p.parse_args()
rows = a.rows.split(",")
bin_ = Path(a.tfc_build) / "bin"
work = Path(a.workdir)
work.mkdir(parents=True, exist_ok=True)
py = sys.executable
onnx = root / ".cache" / "onnx"


def run(cmd, check=True):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"bench_prune.py: {' '.join(map(str, cmd))} failed ({r.returncode}):\n"
                 f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r


def compile_tfc(model, stem, flags):
    so = Path(str(stem) + ".so")
    if so.exists() and so.stat().st_mtime > (bin_ / "tfc").stat().st_mtime:
        return None
    t0 = time.time()
    r = run([bin_ / "tfc", model, "--emit=shared", "--remarks", "-o", stem, *flags])
    (Path(str(stem) + ".remarks.txt")).write_text(r.stderr)
    return time.time() - t0


def sparse_summary(stem):
    """Encodings the cost model chose, from the compile's remarks."""
    f = Path(str(stem) + ".remarks.txt")
    if not f.exists():
        return ""
    text = f.read_text()
    kinds = {}
    for enc in re.findall(r"remark: .*?: (sparse-[a-z0-9:-]+|dense): ", text):
        kinds[enc] = kinds.get(enc, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))


med = statistics.median
def busy_jiffies():
    """Non-idle CPU time of the whole machine (/proc/stat), in seconds."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


results = {"date": datetime.date.today().isoformat(), "threads": a.threads, "rows": [],
           "load_before": os.getloadavg()[0]}
t_start, busy_start, own_start = time.time(), busy_jiffies(), own_cpu()
info = {}
compile_times = {}


def bench_forward(stem, inputs):
    global info
    out = json.loads(run([bin_ / "tfc-run", str(stem) + ".so", "--inputs", inputs, "--prefix", "case0_",
                          "--bench", "--iters", a.iters, "--json", "--threads", a.threads]).stdout)
    info = {k: out.get(k) for k in ("cpu", "kernel_isa")}
    return out["median_ms"], out.get("weights_bytes")


def bench_decode(stem, prompt):
    global info
    out = json.loads(run([bin_ / "tfc-run", str(stem) + ".so", "--inputs", prompt, "--prefix", "case0_",
                          "--decode", a.decode_steps, "--bench", "--iters", 1, "--json", "--threads",
                          a.threads], check=False).stdout)
    info = {k: out.get(k) for k in ("cpu", "kernel_isa")}
    return out["step_median_ms"], out.get("weights_bytes")


def measure(label, variants, fn, unit):
    """variants: [(name, stem)], the first the dense baseline; alternating."""
    times = {n: [] for n, _ in variants}
    sizes = {}
    for r in range(a.rounds):
        for n, stem in variants:
            time.sleep(a.pause)
            t, sz = fn(stem)
            times[n].append(t)
            sizes[n] = sz
        print(f"  {label} round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f}" for n, _ in variants),
              file=sys.stderr)
    # Speedup: the median of the per-round ratios (each against the dense
    # run of its own round), not the ratio of the medians: the memory
    # bandwidth of the VMs we run on can change ~1.4x within minutes, and a
    # round's runs are seconds apart.
    dense = times[variants[0][0]]
    for n, stem in variants:
        ratios = [d / t for d, t in zip(dense, times[n])]
        results["rows"].append({"workload": label, "build": n, "median": med(times[n]), "unit": unit,
                                "speedup": med(ratios), "round_ratios": ratios,
                                "weights_bytes": sizes[n], "encodings": sparse_summary(stem)})


if "minilm" in rows:
    model = onnx / "minilm.ts.onnx"
    inputs = work / "minilm.b32s128.npz"
    if not inputs.exists():
        run([py, root / "scripts" / "bench_ort.py", model, "--threads", a.threads, "--batch", 32, "--seq", 128,
             "--iters", 1, "--save-inputs", inputs])
    variants = [("dense", []), ("ffn:0.5", ["--prune=ffn:0.5"]), ("heads:6", ["--prune=heads:6"]),
                ("magnitude 80%", ["--prune=magnitude", "--sparsity=0.8"])]
    built = []
    for n, flags in variants:
        stem = work / ("minilm_" + re.sub(r"[^a-z0-9]+", "_", n))
        ct = compile_tfc(model, stem, flags)
        if ct is not None:
            compile_times["minilm " + n] = ct
        built.append((n, stem))
    chk = run([bin_ / "tfc-run", str(built[0][1]) + ".so", "--inputs", inputs, "--prefix", "case0_",
               "--reference", inputs, "--atol", 1e-3, "--rtol", 1e-3, "--threads", a.threads], check=False)
    results["minilm_check"] = "PASS" if chk.returncode == 0 else "FAIL"
    measure("MiniLM batch 32 x 128", built, lambda s: bench_forward(s, inputs), "ms")

def bench_smollm2_decode(label, variants):
    """SmolLM2 --kv-cache builds [(name, tfc flags)], the first the baseline."""
    model = onnx / "smollm2.ts.onnx"
    prompt = onnx / "smollm2.ts.ref.npz"
    built = []
    for n, flags in variants:
        stem = work / ("smollm2_kv_" + re.sub(r"[^a-z0-9]+", "_", n))
        ct = compile_tfc(model, stem, ["--kv-cache", *flags])
        if ct is not None:
            compile_times["smollm2 --kv-cache " + n] = ct
        built.append((n, stem))
    measure(f"{label} ({a.decode_steps} steps after the 53-token prompt)", built,
            lambda s: bench_decode(s, prompt), "ms/step")


if "decode" in rows:
    bench_smollm2_decode("SmolLM2 decode", [
        ("dense", []), ("magnitude 70%", ["--prune=magnitude", "--sparsity=0.7"])])

if "decode-w8" in rows:
    bench_smollm2_decode("SmolLM2 decode, int8 weights", [
        ("dense w8", ["--quantize=w8"]),
        ("magnitude 70% + w8", ["--prune=magnitude", "--sparsity=0.7", "--quantize=w8"]),
        ("magnitude 50% + w8", ["--prune=magnitude", "--sparsity=0.5", "--quantize=w8"]),
        ("dense fp32", [])])

results["load_after"] = os.getloadavg()[0]
# The load average lags by minutes; what other processes took during the
# run is the machine's busy CPU time less this script's and its children's.
wall = time.time() - t_start
others = max(0.0, busy_jiffies() - busy_start - (own_cpu() - own_start))
ncpu = os.cpu_count() or 1
results["others_cpu_s"], results["wall_s"] = others, wall
others_pct = 100.0 * others / (wall * ncpu)
lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model_name = re.search(r"Model name:\s*(.*)", lscpu)
isa_cap = os.environ.get("TFCRT_ISA", "")
# tfc-run's CPU line starts with lscpu's model name where both name the same
# CPU (AMD EPYC): say it once.
cpu = str(info.get('cpu'))
lscpu_name = model_name.group(1).strip() if model_name else "?"
if not cpu.startswith(lscpu_name):
    cpu = f"{lscpu_name} ({cpu})"
lines = [f"CPU: {cpu}; tfc kernels: "
         f"{info.get('kernel_isa')}{' (capped by TFCRT_ISA=' + isa_cap + ')' if isa_cap else ''}; "
         f"{a.threads} threads; {results['date']}; {a.rounds} alternating rounds, medians (speedups: median of the same-round ratios); "
         f"other processes took {others:.0f} CPU-s of the {wall:.0f} s x {ncpu} CPUs the run lasted "
         f"({others_pct:.1f}%)" + (" (UNDER LOAD: not a result)" if others_pct > 10 else "")
         + ".", ""]
if "minilm_check" in results:
    lines.append(f"Dense MiniLM build against ONNX Runtime at 1e-3: {results['minilm_check']}.")
    lines.append("")
lines += ["| workload | tfc build | median | x dense (median of rounds) | per-round x dense | .tfcw bytes | "
          "encodings (cost model) |",
          "|---|---|---|---|---|---|---|"]
for r in results["rows"]:
    rr = " ".join(f"{x:.2f}" for x in r["round_ratios"]) if not r["build"].startswith("dense") or \
        r["build"] == "dense fp32" else "-"
    lines.append(f"| {r['workload']} | {r['build']} | {r['median']:.2f} {r['unit']} | {r['speedup']:.2f} | "
                 f"{rr} | {r['weights_bytes']} | {r['encodings'] or '-'} |")
if compile_times:
    lines += ["", "Compile times: " + ", ".join(f"{k} {v:.1f} s" for k, v in compile_times.items())]
table = "\n".join(lines)
print(table)
if a.json:
    Path(a.json).write_text(json.dumps(results, indent=1))
if a.write_docs:
    doc = root / "docs" / "PERFORMANCE.md"
    write_block(doc, f"bench_prune {info.get('kernel_isa')} {'+'.join(rows)}"
                + (" " + cpu_key(info.get("cpu")) if cpu_key(info.get("cpu")) else ""),
                (f"TFCRT_ISA={isa_cap} " if isa_cap else "") + "scripts/bench_prune.py " + " ".join(sys.argv[1:]),
                table)
    print(f"bench_prune.py: wrote the table into {doc}", file=sys.stderr)
