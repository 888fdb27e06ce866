#!/usr/bin/env python3
"""The CPU benchmark table of issue 13: tfc against ONNX Runtime and OpenVINO.

  bench_table.py [--rows minilm,prefill,decode] [--threads 2] [--rounds 5]
                 [--iters 10] [--write-docs] [--json OUT.json]

Rows (all fp32, same inputs for every engine, the engines alternating round
by round so they see the same machine state; the figure per engine is the
median over rounds of each round's median):
  MiniLM b1 / b32     all-MiniLM-L6-v2 (.cache/onnx/minilm.ts.onnx), batch 1
                      and 32 x 128 tokens: tfc-run --bench, bench_ort.py,
                      OpenVINO (this script's --_ov mode)
  prefill 53 / 512    SmolLM2-135M full-sequence forward (.cache/onnx/
                      smollm2.ts.onnx) of 53 and 512 tokens, same engines
  decode              SmolLM2 --kv-cache build: tfc-run --decode N --bench
                      (median step) vs scripts/bench_decode_ort.py on the
                      with-past export (.cache/onnx/smollm2.withpast.onnx,
                      made by scripts/export_with_past.py when missing), and
                      the copy-bandwidth roofline (fp32 weight bytes read per
                      step / measured single-process copy bandwidth)
The header names the CPU (model, Zen generation where AMD), the kernel ISA
path tfc dispatched to, the peers' versions and the compile times. With
--write-docs the table replaces the block between the bench_table markers in
docs/PERFORMANCE.md. TFCRT_ISA=avx2 (or generic) in the environment caps
tfc's kernels, so one machine reports each path.

OpenVINO comes from PyPI (scripts/setup.sh --bench); without it its column
says "not installed". A pause precedes every measured process (this VM runs
a process started right after a large one exited slower for seconds).
"""
import argparse, datetime, json, os, re, statistics, subprocess, sys, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
py = sys.executable


def ov_mode(argv):
    """--_ov MODEL INPUTS.npz THREADS ITERS: OpenVINO latency, one JSON line."""
    import numpy as np
    import openvino as ov
    model, inputs, threads, iters = argv[0], argv[1], int(argv[2]), int(argv[3])
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
           "INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": 1}
    m = core.read_model(model)
    data = np.load(inputs)
    feeds = {}
    for inp in m.inputs:
        name = inp.get_any_name()
        feeds[name] = data["case0_" + name]
    m.reshape({k: list(v.shape) for k, v in feeds.items()})
    cm = core.compile_model(m, "CPU", cfg)
    req = cm.create_infer_request()
    for _ in range(3):
        req.infer(feeds)
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        req.infer(feeds)
        ts.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"median_ms": statistics.median(ts), "ov_version": ov.get_version()}))


if len(sys.argv) > 1 and sys.argv[1] == "--_ov":
    ov_mode(sys.argv[2:])
    sys.exit(0)

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--rows", default="minilm,prefill,decode", help="any of minilm,prefill,decode,quant")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--iters", type=int, default=10)
p.add_argument("--decode-steps", type=int, default=64)
p.add_argument("--tfc-build", default=str(root / "build"))
p.add_argument("--workdir", default=str(root / ".cache" / "bench_table"))
p.add_argument("--pause", type=float, default=3.0)
p.add_argument("--write-docs", action="store_true")
p.add_argument("--json", help="also write the results as JSON here")
a = p.parse_args()

bin_ = Path(a.tfc_build) / "bin"
work = Path(a.workdir)
work.mkdir(parents=True, exist_ok=True)
onnx_dir = root / ".cache" / "onnx"
rows = a.rows.split(",")
env = dict(os.environ)


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, **kw)
    if r.returncode != 0:
        sys.exit(f"bench_table.py: command failed ({r.returncode}): {' '.join(map(str, cmd))}\n"
                 f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def have_ov():
    try:
        import openvino  # noqa: F401
        return True
    except ImportError:
        return False


def compile_tfc(model, out, flags=()):
    if Path(str(out) + ".so").exists() and Path(str(out) + ".so").stat().st_mtime > max(
            Path(model).stat().st_mtime, (bin_ / "tfc").stat().st_mtime):
        return None  # up to date; compile time not re-measured
    t0 = time.time()
    run([bin_ / "tfc", model, "--emit=shared", "-o", out, *flags])
    return time.time() - t0


def med(xs):
    return statistics.median(xs) if xs else float("nan")




results = {"date": datetime.date.today().isoformat(), "threads": a.threads, "rows": []}
info = {}
compile_times = {}


def forward_row(label, model, stem, batch, seq, ov_ok, tfc_flags=(), ort_model=None, atol=1e-3):
    """tfc / ORT / OpenVINO latency of one forward of `model` at batch x seq.
    tfc_flags: extra compile flags (a quantized build); ort_model: the model
    ONNX Runtime runs instead (its own quantized model)."""
    global info
    ct = compile_tfc(model, stem, tfc_flags)
    if ct is not None:
        compile_times[Path(model).name + "".join(" " + f for f in tfc_flags)] = ct
    peer_model = ort_model or model
    inputs = work / f"{stem.name}.b{batch}s{seq}.npz"
    ort = [py, root / "scripts" / "bench_ort.py", peer_model, "--threads", a.threads]
    if not inputs.exists():
        run(ort + ["--batch", batch, "--seq", seq, "--iters", 1, "--save-inputs", inputs])
    chk = subprocess.run([str(c) for c in [bin_ / "tfc-run", str(stem) + ".so", "--inputs", inputs, "--prefix",
                                           "case0_", "--reference", inputs, "--atol", atol, "--rtol", atol,
                                           "--threads", a.threads]], capture_output=True, text=True, env=env)
    t, o, v = [], [], []
    for r in range(a.rounds):
        time.sleep(a.pause)
        out = json.loads(run([bin_ / "tfc-run", str(stem) + ".so", "--inputs", inputs, "--prefix", "case0_",
                              "--bench", "--iters", a.iters, "--json", "--threads", a.threads]))
        info = {k: out.get(k) for k in ("cpu", "kernel_isa", "gemm_isa")}
        t.append(out["median_ms"])
        time.sleep(a.pause)
        o.append(json.loads(run(ort + ["--inputs", inputs, "--iters", a.iters, "--json"]))["median_ms"])
        if ov_ok:
            time.sleep(a.pause)
            v.append(json.loads(run([py, __file__, "--_ov", peer_model, inputs, a.threads, a.iters]))["median_ms"])
        print(f"  {label} round {r + 1}: tfc {t[-1]:.2f} ms, ORT {o[-1]:.2f} ms"
              + (f", OpenVINO {v[-1]:.2f} ms" if v else ""), file=sys.stderr)
    row = {"workload": label, "unit": "ms", "tfc": med(t), "ort": med(o), "ov": med(v) if v else None,
           "tfc_rounds": t, "ort_rounds": o, "ov_rounds": v,
           "check": check_text(chk, ort_model)}
    results["rows"].append(row)


def check_text(chk, ort_model):
    """The check column: PASS/FAIL against ORT at 1e-3 for fp32 rows; for a
    quantized build against ORT's own quantized model (another scheme:
    tfc per-token symmetric vs ORT per-tensor asymmetric activations) the
    largest difference, which is expected to be nonzero."""
    errs = [float(x) for x in re.findall(r"max abs err ([0-9.eE+-]+)", chk.stdout + chk.stderr)]
    if ort_model is None:
        return "PASS" if chk.returncode == 0 else "FAIL: " + (chk.stdout + chk.stderr).strip()[-200:]
    return f"max abs diff {max(errs):.2g} vs ORT's quantized model" if errs else "no comparison"


def copy_bandwidth_gbs():
    """Single-process copy bandwidth: 512 MiB copied by 1 and by a.threads
    threads (numpy copies release the GIL), bytes read + written over time,
    best of 5 each, the larger of the two."""
    import threading
    import numpy as np
    src = np.ones(128 * 1024 * 1024, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = 0.0
    for nt in sorted({1, a.threads}):
        parts = np.array_split(np.arange(src.size), nt)
        bounds = [(int(q[0]), int(q[-1]) + 1) for q in parts]
        for _ in range(5):
            ths = [threading.Thread(target=np.copyto, args=(dst[b:e], src[b:e])) for b, e in bounds]
            t0 = time.perf_counter()
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            dt = time.perf_counter() - t0
            best = max(best, 2 * src.nbytes / dt / 1e9)
    return best


def decode_row():
    global info
    model = onnx_dir / "smollm2.ts.onnx"
    stem = work / "smollm2_kv"
    ct = compile_tfc(model, stem, ["--kv-cache"])
    if ct is not None:
        compile_times["smollm2.ts.onnx --kv-cache"] = ct
    withpast = onnx_dir / "smollm2.withpast.onnx"
    if not withpast.exists():
        run([py, root / "scripts" / "export_with_past.py", root / ".cache" / "models" / "smollm2", withpast,
             "--gguf", "SmolLM2-135M-Instruct.Q4_1.gguf"])
    prompt = onnx_dir / "smollm2.ts.ref.npz"
    t, o = [], []
    for r in range(a.rounds):
        time.sleep(a.pause)
        out = run([bin_ / "tfc-run", str(stem) + ".so", "--inputs", prompt, "--prefix", "case0_", "--decode",
                   a.decode_steps, "--bench", "--iters", 1, "--threads", a.threads])
        m = re.search(r"decode step .*?median ([0-9.]+) ms", out)
        if not m:
            sys.exit("bench_table.py: no decode step median in tfc-run's output:\n" + out[-2000:])
        t.append(float(m.group(1)))
        time.sleep(a.pause)
        oo = json.loads(run([py, root / "scripts" / "bench_decode_ort.py", withpast, "--prompt", prompt,
                             "--steps", a.decode_steps, "--threads", a.threads, "--json"]))
        o.append(oo["decode_median_ms"])
        print(f"  decode round {r + 1}: tfc {t[-1]:.2f} ms/step, ORT {o[-1]:.2f} ms/step", file=sys.stderr)
    bw = copy_bandwidth_gbs()
    # Bytes a decode step must read: every matrix a MatMul / Gemm reads
    # (through a Transpose too), once; an embedding table only a Gather
    # reads costs one row (not counted). fp32.
    import numpy as np
    import onnx
    g = onnx.load(str(model), load_external_data=False).graph
    inits = {i.name: i for i in g.initializer if len(i.dims) >= 2}
    alias = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Transpose" and n.input[0] in inits}
    used = set()
    for n in g.node:
        if n.op_type in ("MatMul", "Gemm"):
            for x in n.input:
                x = alias.get(x, x)
                if x in inits:
                    used.add(x)
    weights = sum(int(np.prod(inits[x].dims)) * 4 for x in used)
    results["rows"].append({"workload": f"SmolLM2 decode ({a.decode_steps} steps after the 53-token prompt)",
                            "unit": "ms/step", "tfc": med(t), "ort": med(o), "ov": None,
                            "tfc_rounds": t, "ort_rounds": o, "copy_gbs": bw, "weight_bytes": weights,
                            "roofline_ms": weights / (bw * 1e9) * 1e3})


ov_ok = have_ov()
if "quant" in rows:
    # MiniLM int8-dynamic against ONNX Runtime's own quantize_dynamic of the
    # same model (per-channel int8 weights; OpenVINO runs that model too).
    m = onnx_dir / "minilm.ts.onnx"
    qm = work / "minilm.ort_qdyn.onnx"
    if not qm.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(str(m), str(qm), per_channel=True, weight_type=QuantType.QInt8)
    for b in (1, 32):
        forward_row(f"MiniLM int8-dynamic batch {b} x 128 (peers: ORT quantize_dynamic model)", m,
                    work / "minilm_int8", b, 128, ov_ok, ["--quantize=int8-dynamic"], qm, atol=0.2)
if "minilm" in rows:
    m = onnx_dir / "minilm.ts.onnx"
    forward_row("MiniLM batch 1 x 128", m, work / "minilm", 1, 128, ov_ok)
    forward_row("MiniLM batch 32 x 128", m, work / "minilm", 32, 128, ov_ok)
if "prefill" in rows:
    m = onnx_dir / "smollm2.ts.onnx"
    forward_row("SmolLM2 prefill 53 tokens", m, work / "smollm2", 1, 53, ov_ok)
    forward_row("SmolLM2 prefill 512 tokens", m, work / "smollm2", 1, 512, ov_ok)
if "decode" in rows:
    decode_row()

import onnxruntime
ort_v = onnxruntime.__version__
ov_v = __import__("openvino").get_version().split("-")[0] if ov_ok else "not installed"
isa_cap = env.get("TFCRT_ISA", "")
results.update({"cpu": info.get("cpu"), "kernel_isa": info.get("kernel_isa"), "isa_cap": isa_cap,
                "ort_version": ort_v, "ov_version": ov_v, "compile_s": compile_times})


def fmt(x):
    return "–" if x is None or x != x else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")


lines = [f"CPU: {info.get('cpu')}; tfc kernels: {info.get('kernel_isa')}"
         + (f" (capped by TFCRT_ISA={isa_cap})" if isa_cap else "")
         + f"; {a.threads} threads; ONNX Runtime {ort_v}; OpenVINO {ov_v}; {results['date']}; "
         f"{a.rounds} alternating rounds x {a.iters} iterations, medians.", "",
         "| workload | tfc | ONNX Runtime | OpenVINO | tfc / ORT | tfc / OpenVINO | check |",
         "|---|---|---|---|---|---|---|"]
for r in results["rows"]:
    u = r["unit"]
    ratio_o = r["tfc"] / r["ort"]
    ratio_v = r["tfc"] / r["ov"] if r.get("ov") else None
    extra = r.get("check", "")
    if "roofline_ms" in r:
        extra = (f"{1e3 / r['tfc']:.1f} vs {1e3 / r['ort']:.1f} tokens/s; roofline {r['roofline_ms']:.1f} ms "
                 f"({r['weight_bytes'] / 1e6:.0f} MB at {r['copy_gbs']:.1f} GB/s copy): tfc at "
                 f"{100 * r['roofline_ms'] / r['tfc']:.0f}%")
    lines.append(f"| {r['workload']} | {fmt(r['tfc'])} {u} | {fmt(r['ort'])} {u} | "
                 f"{fmt(r.get('ov')) + ' ' + u if r.get('ov') else '–'} | {ratio_o:.2f} | "
                 f"{fmt(ratio_v) if ratio_v else '–'} | {extra} |")
if compile_times:
    lines += ["", "Compile times (this run, under the same conditions): "
              + ", ".join(f"{k} {v:.1f} s" for k, v in compile_times.items())]
table = "\n".join(lines)
print(table)
if a.json:
    Path(a.json).write_text(json.dumps(results, indent=1))
if a.write_docs:
    doc = root / "docs" / "PERFORMANCE.md"
    s = doc.read_text()
    tag = f"bench_table {info.get('kernel_isa')}"
    begin, end = f"<!-- {tag}: begin -->", f"<!-- {tag}: end -->"
    cmd = "`" + ("TFCRT_ISA=" + isa_cap + " " if isa_cap else "") + "scripts/bench_table.py " + " ".join(
        sys.argv[1:]) + "`"
    block = f"{begin}\n{cmd}\n\n{table}\n{end}"
    if begin in s:
        s = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, s, flags=re.S)
    else:
        s = s.rstrip() + "\n\n" + block + "\n"
    doc.write_text(s)
    print(f"bench_table.py: wrote the table into {doc}", file=sys.stderr)
