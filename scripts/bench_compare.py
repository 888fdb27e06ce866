#!/usr/bin/env python3
"""tfc against ONNX Runtime on the same ONNX model, inputs and thread count.

  bench_compare.py MODEL.onnx --batch B --seq S --threads N [--rounds R]
                   [--iters K] [--tfc-build DIR] [--json]

Compiles MODEL.onnx with tfc (--emit=shared, timed: the compile time is
reported), makes seeded synthetic inputs with bench_ort.py (which also
records ONNX Runtime's outputs), checks the compiled model against them, then
alternates R rounds of `bench_ort.py --iters K` and `tfc-run --bench --iters
K` so both see the same machine state. Reports the median over rounds of each
round's median latency and the ratio tfc/ORT, plus the machine."""
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("model")
p.add_argument("--batch", type=int, required=True)
p.add_argument("--seq", type=int, required=True)
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--iters", type=int, default=10)
p.add_argument("--tfc-build", default=str(root / "build"))
p.add_argument("--workdir", default=str(root / ".cache" / "bench"))
p.add_argument("--json", action="store_true")
p.add_argument("--pause", type=float, default=5.0, help="seconds of pause before each measured process")
a = p.parse_args()

bin_ = Path(a.tfc_build) / "bin"
work = Path(a.workdir); work.mkdir(parents=True, exist_ok=True)
stem = work / (Path(a.model).stem.replace(".", "_"))
t0 = time.time()
subprocess.run([str(bin_ / "tfc"), a.model, "--emit=shared", "-o", str(stem)], check=True)
compile_s = time.time() - t0
inputs = work / f"{stem.name}.b{a.batch}s{a.seq}.npz"
py = sys.executable
ort_cmd = [py, str(root / "scripts" / "bench_ort.py"), a.model, "--batch", str(a.batch), "--seq", str(a.seq),
           "--threads", str(a.threads), "--iters", str(a.iters), "--json"]
subprocess.run(ort_cmd + ["--iters", "1", "--save-inputs", str(inputs)], check=True, capture_output=True)
chk = subprocess.run([str(bin_ / "tfc-run"), str(stem) + ".so", "--inputs", str(inputs), "--prefix", "case0_",
                      "--reference", str(inputs), "--atol", "1e-4", "--rtol", "1e-4", "--threads", str(a.threads)],
                     capture_output=True, text=True)
ort_meds, tfc_meds, tfc_last = [], [], {}
# A process started right after another one exits that freed a lot of memory
# runs up to 3x slower here for a few seconds (seen on this VM: ORT 16 ms ->
# 60 ms right after tfc-run, 16 ms again after a pause), so each measured
# process starts after a pause.
for r in range(a.rounds):
    time.sleep(a.pause)
    o = subprocess.run(ort_cmd, check=True, capture_output=True, text=True)
    ort_meds.append(json.loads(o.stdout)["median_ms"])
    time.sleep(a.pause)
    t = subprocess.run([str(bin_ / "tfc-run"), str(stem) + ".so", "--inputs", str(inputs), "--prefix", "case0_",
                        "--bench", "--iters", str(a.iters), "--json", "--threads", str(a.threads)],
                       check=True, capture_output=True, text=True)
    tfc_last = json.loads(t.stdout)
    tfc_meds.append(tfc_last["median_ms"])
cpu = ""
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception:
    pass
res = {
    "model": a.model, "batch": a.batch, "seq": a.seq, "threads": a.threads,
    "tfc_median_ms": statistics.median(tfc_meds), "ort_median_ms": statistics.median(ort_meds),
    "ratio_tfc_over_ort": statistics.median(tfc_meds) / statistics.median(ort_meds),
    "tfc_rounds_ms": tfc_meds, "ort_rounds_ms": ort_meds, "compile_s": round(compile_s, 1),
    "accuracy_check": "PASS" if chk.returncode == 0 else "FAIL",
    "tfc_peak_rss_mb": tfc_last.get("peak_rss_mb"), "machine": f"{cpu}, {os.cpu_count()} cores",
}
if a.json:
    print(json.dumps(res))
else:
    print(f"{Path(a.model).name} batch {a.batch} seq {a.seq}, {a.threads} threads on {res['machine']}")
    print(f"  tfc {res['tfc_median_ms']:.1f} ms  ORT {res['ort_median_ms']:.1f} ms  ratio tfc/ORT {res['ratio_tfc_over_ort']:.2f}"
          f"  (compile {res['compile_s']} s, check vs ORT {res['accuracy_check']})")
sys.exit(0 if chk.returncode == 0 else 1)
