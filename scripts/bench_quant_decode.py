#!/usr/bin/env python3
"""SmolLM2 decode tokens/s of several builds, alternating round by round.

  scripts/bench_quant_decode.py [--rounds 3] [--steps 64] [--threads 2]
      [--tfc-run build/bin/tfc-run] [--prompt .cache/onnx/smollm2.ts.ref.npz]
      [--pause-fuzzers] LABEL=MODEL.so[@ISA] ...

The first build is the baseline of the ratios (fp32). Each round runs every
build once (`tfc-run MODEL.so --inputs PROMPT --prefix case0_ --decode STEPS
--bench --iters 1 --threads T`, TFCRT_ISA=ISA when given; the same prompt and
flags as scripts/bench_table.py's decode row) and records the median and p10
decode step and the load average; the table gives per build the median of
the round medians, the best p10, both as tokens/s and as a ratio to the
baseline, and whether the greedy tokens were the same in every round.
docs/PERFORMANCE.md "Quantized decode" has the commands that built the
models. --pause-fuzzers SIGSTOPs this machine's background libFuzzer jobs
(tfc-fuzz-*) for the run and resumes them at the end.
"""
import argparse, os, re, signal, statistics, subprocess, sys, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser()
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--steps", type=int, default=64)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--tfc-run", default=str(root / "build" / "bin" / "tfc-run"))
p.add_argument("--prompt", default=str(root / ".cache" / "onnx" / "smollm2.ts.ref.npz"))
p.add_argument("--pause", type=float, default=2.0)
p.add_argument("--pause-fuzzers", action="store_true")
p.add_argument("builds", nargs="+", help="LABEL=MODEL.so[@ISA]")
a = p.parse_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

builds = []
for b in a.builds:
    label, _, rest = b.partition("=")
    so, _, isa = rest.partition("@")
    builds.append((label, so, isa))
res = {l: [] for l, _, _ in builds}
toks = {l: set() for l, _, _ in builds}
if a.pause_fuzzers:
    subprocess.run(["pkill", "-STOP", "-f", "tfc-fuzz-"])
try:
    for r in range(a.rounds):
        for label, so, isa in builds:
            env = dict(os.environ)
            if isa:
                env["TFCRT_ISA"] = isa
            time.sleep(a.pause)
            load = float(open("/proc/loadavg").read().split()[0])
            out = subprocess.run([a.tfc_run, so, "--inputs", a.prompt, "--prefix", "case0_", "--decode",
                                  str(a.steps), "--bench", "--iters", "1", "--threads", str(a.threads)],
                                 capture_output=True, text=True, env=env).stdout
            m = re.search(r"decode step .*?median ([0-9.]+) ms, p10 ([0-9.]+)", out)
            g = re.search(r"generated\[0\]:(.*)", out)
            if not m:
                sys.exit(f"no decode step in the output of {so}:\n{out[-2000:]}")
            toks[label].add(g.group(1).strip() if g else "")
            res[label].append((float(m.group(1)), float(m.group(2)), load))
            print(f"round {r} {label:14s} median {m.group(1)} ms, p10 {m.group(2)} ms, load {load}", flush=True)
finally:
    if a.pause_fuzzers:
        subprocess.run(["pkill", "-CONT", "-f", "tfc-fuzz-"])
base = None
print("| build | decode step, median of rounds | tokens/s | x baseline | best p10 | x baseline | load | same tokens every round |")
print("|---|---|---|---|---|---|---|---|")
for label, _, _ in builds:
    med = statistics.median(x[0] for x in res[label])
    p10 = min(x[1] for x in res[label])
    loads = [x[2] for x in res[label]]
    base = base or (med, p10)
    print(f"| {label} | {med:.2f} ms | {1000 / med:.1f} | {base[0] / med:.2f} | {p10:.2f} ms | "
          f"{base[1] / p10:.2f} | {min(loads):.1f}-{max(loads):.1f} | {'yes' if len(toks[label]) == 1 else 'NO'} |")
