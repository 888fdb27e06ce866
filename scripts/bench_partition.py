#!/usr/bin/env python3
"""CPU timing of partitioned builds against the single-process one
(docs/PERFORMANCE.md, "Parallelism on CPU").

  bench_partition.py MODEL.onnx OUTDIR [--cases 0,5] [--decode N] [--ranks 2]

Compiles MODEL (with --kv-cache when --decode) unpartitioned and as
pipeline:R and tensor:R, then for each reference case times one forward run
(tfc-run --bench: median of 10 after 3 warm-ups) of: the single process with
R threads and with 1 thread (one "device"), each partition on R ranks x 1 thread (scripts/mpirun.sh), the
pipeline also with R micro-batches when the batch allows, and data
parallelism (the single build on R ranks x 1 thread, batch split). With
--decode N it also times prefill + N greedy decode steps (tfc-run --decode
--bench) for the single process and both partitions. Prints a table; the
same machine, the same run."""
import argparse, os, re, subprocess, sys

import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
p = argparse.ArgumentParser(description=__doc__)
p.add_argument("model")
p.add_argument("out")
p.add_argument("--cases", default="0")
p.add_argument("--decode", type=int, default=0)
p.add_argument("--ranks", type=int, default=2)
p.add_argument("--tfc", default=os.path.join(root, "build", "bin", "tfc"))
p.add_argument("--tfc-run", default=os.path.join(root, "build", "bin", "tfc-run"))
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
ref = re.sub(r"\.onnx$", ".ref.npz", a.model)
R = a.ranks
mpirun = [os.path.join(root, "scripts", "mpirun.sh"), "-np", str(R)]


def build(name, extra):
    stem = os.path.join(a.out, name)
    if not os.path.exists(stem + ".so"):
        cmd = [a.tfc, a.model, "--emit=shared", "-o", stem] + extra
        if a.decode:
            cmd.append("--kv-cache")
        subprocess.run(cmd, check=True)
    return stem + ".so"


so = {"single": build("single", []),
      "pipeline": build(f"pipeline{R}", [f"--partition=pipeline:{R}"]),
      "tensor": build(f"tensor{R}", [f"--partition=tensor:{R}"])}


def timed(cmd, pattern):
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(pattern, r.stdout)
    if r.returncode or not m:
        print(r.stdout[-1500:], r.stderr[-1500:], file=sys.stderr)
        return None
    return float(m.group(1))


rows = []
with np.load(ref) as z:
    batch = {k: z[f"case{k}_input_ids"].shape for k in map(int, a.cases.split(","))}
for k, shape in batch.items():
    io = ["--inputs", ref, "--prefix", f"case{k}_", "--bench", "--warmup", "3", "--iters", "10"]
    lat = r"median ([0-9.]+)"
    runs = [(f"single process, {R} threads", [a.tfc_run, so["single"], "--threads", str(R)]),
            ("single process, 1 thread", [a.tfc_run, so["single"], "--threads", "1"]),
            (f"tensor:{R}", mpirun + [a.tfc_run, so["tensor"], "--threads", "1"]),
            (f"pipeline:{R}", mpirun + [a.tfc_run, so["pipeline"], "--threads", "1"])]
    if shape[0] % R == 0 and shape[0] >= R:
        runs.append((f"pipeline:{R}, {R} micro-batches",
                     mpirun + [a.tfc_run, so["pipeline"], "--threads", "1", "--micro-batches", str(R)]))
        runs.append((f"data:{R}", mpirun + [a.tfc_run, so["single"], "--threads", "1", "--data-parallel"]))
    base = None
    for label, cmd in runs:
        ms = timed(cmd + io, lat)
        base = base or ms
        rows.append((f"case{k} {list(shape)}", "forward", label, ms, base / ms if ms else None))
    if a.decode:
        dio = ["--inputs", ref, "--prefix", f"case{k}_", "--decode", str(a.decode), "--bench", "--iters", "5"]
        base = None
        for label, cmd in runs[:4]:
            tps = timed(cmd + dio, r"decode step .*\(([0-9.]+) tokens/s\)")
            base = base or tps
            rows.append((f"case{k} {list(shape)}", f"decode {a.decode}", label, tps,
                         tps / base if tps else None))
print(f"\n{'input':18} {'what':10} {'run':32} {'median':>10}  vs single process, {R} threads")
for inp, what, label, v, ratio in rows:
    unit = "tok/s" if what.startswith("decode") else "ms"
    print(f"{inp:18} {what:10} {label:32} {('%.1f' % v) if v else 'ERROR':>7} {unit:5} "
          f"{('%.2fx' % ratio) if ratio else '-'}")
