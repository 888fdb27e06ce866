#!/usr/bin/env python3
"""The CPU benchmark table of issues 13 and 8: tfc against ONNX Runtime,
OpenVINO and llama.cpp.

  bench_table.py [--rows minilm,prefill,decode,qdecode,quant] [--threads 2]
                 [--rounds 5] [--iters 10] [--write-docs] [--json OUT.json]

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
The header names the CPU (model, Zen generation where AMD; lscpu's model name
and its AVX2 / AVX-512 / VNNI / AMX flags), the kernel ISA path tfc
dispatched to, the peers' versions, the CPU features llama.cpp's ggml
reports and the compile times. With --write-docs the table replaces the
block between the bench_table markers in docs/PERFORMANCE.md: `bench_table
ISA CPU` for a run with the minilm and prefill rows, `bench_table ISA ROWS CPU`
(e.g. decode+qdecode) for a run of other rows only. TFCRT_ISA=avx2 (or generic) in the environment caps
tfc's kernels, so one machine reports each path.

The MiniLM and prefill rows warm every peer up for --warmup-ms (default 1 s)
before timing: a CPU coming out of idle ran them up to 1.5x slower for seconds.

OpenVINO and llama-cpp-python come from PyPI (scripts/setup.sh --bench);
without them their columns say "not installed" (qdecode needs llama.cpp). A pause precedes every measured process (this VM runs
a process started right after a large one exited slower for seconds).
"""
import argparse, datetime, json, os, re, statistics, subprocess, sys, time
from pathlib import Path

from doc_blocks import cpu_key, write_block

root = Path(__file__).resolve().parent.parent
py = sys.executable


def ov_mode(argv):
    """--_ov MODEL INPUTS.npz THREADS ITERS [WARMUP_MS]: OpenVINO latency, one
    JSON line (3 warm-up runs, and more until WARMUP_MS have passed)."""
    import numpy as np
    import openvino as ov
    model, inputs, threads, iters = argv[0], argv[1], int(argv[2]), int(argv[3])
    warmup_ms = float(argv[4]) if len(argv) > 4 else 0.0
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
    from bench_ort import warm_up
    warm_up(lambda: req.infer(feeds), 3, warmup_ms)
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
p.add_argument("--rows", default="minilm,prefill,decode", help="any of minilm,prefill,decode,qdecode,quant")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--iters", type=int, default=10)
p.add_argument("--decode-steps", type=int, default=64)
p.add_argument("--tfc-build", default=str(root / "build"))
p.add_argument("--workdir", default=str(root / ".cache" / "bench_table"))
p.add_argument("--llamacpp-dir", default=str(root / ".cache" / "llamacpp"),
               help="the GGUF files of scripts/make_llamacpp_models.py")
p.add_argument("--pause", type=float, default=3.0)
p.add_argument("--warmup-ms", type=float, default=1000.0,
               help="MiniLM and prefill rows: every peer warms up for at least this long "
                    "(default 1000; a CPU out of idle ran batch 1 up to 1.5x slower for seconds)")
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


def have_llamacpp():
    try:
        import llama_cpp  # noqa: F401
        return True
    except ImportError:
        return False


def llamacpp_model(kind):
    """.cache/llamacpp/smollm2.KIND.gguf, made when missing."""
    f = Path(a.llamacpp_dir) / f"smollm2.{kind}.gguf"
    if not f.exists():
        run([py, root / "scripts" / "make_llamacpp_models.py", "--out", a.llamacpp_dir, "--types", kind,
             "--threads", a.threads])
    return f


def llamacpp_decode(gguf, prompt):
    """Median decode step (ms) of one llama.cpp process: one round of
    a.decode_steps steps after the prompt, llama.cpp's default model and
    context parameters. The prompt goes in one token per llama_decode (its
    AMX matmul crashes on larger batches: bench_decode_llamacpp.py)."""
    out = json.loads(run([py, root / "scripts" / "bench_decode_llamacpp.py", gguf, "--prompt", prompt,
                          "--steps", a.decode_steps, "--threads", a.threads, "--rounds", 1, "--json",
                          "--prefill-batch", 1]))
    llama_info.update({"llama_cpp_python": out["llama_cpp_python"], "system_info": out["system_info"]})
    return out["decode_median_ms"]


def tfc_decode(stem, prompt):
    """Median decode step (ms) of tfc-run --decode, and its check line (the
    decode steps against the full-sequence entry). A build with run-time int8
    activations is checked by greedy agreement (tfc-run prints both; see
    docs/RUNTIME.md "--decode")."""
    cmd = [bin_ / "tfc-run", str(stem) + ".so", "--inputs", prompt, "--prefix", "case0_", "--decode",
           a.decode_steps, "--bench", "--iters", 1, "--threads", a.threads]
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    out = r.stdout + r.stderr
    m = re.search(r"decode step .*?median ([0-9.]+) ms", out)
    if not m:
        sys.exit(f"bench_table.py: no decode step median in tfc-run's output ({r.returncode}):\n"
                 + out[-2000:])
    c = re.search(r"vs full sequence: .*?max abs err ([0-9.eE+-]+) \(atol [^)]*\): (PASS|FAIL|differs)", out)
    if not c:
        return float(m.group(1)), "no check"
    check = f"{c.group(2)} (max abs err {float(c.group(1)):.2g})"
    g = re.search(r"greedy token of the full run chosen at (\d+) of (\d+) positions.*?: (PASS|FAIL)", out)
    if g:  # run-time int8 activations: greedy agreement (docs/RUNTIME.md)
        check = f"{g.group(3)}: greedy token at {g.group(1)} of {g.group(2)} positions (max abs err {float(c.group(1)):.2g})"
    return float(m.group(1)), check


def tfc_info(stem, prompt):
    """cpu / kernel_isa of tfc-run (one unchecked forward, JSON)."""
    global info
    if info.get("kernel_isa"):
        return
    r = subprocess.run([str(c) for c in [bin_ / "tfc-run", str(stem) + ".so", "--inputs", prompt, "--prefix",
                                         "case0_", "--json", "--threads", a.threads]],
                       capture_output=True, text=True, env=env)
    m = re.search(r"\{.*\}", r.stdout, re.S)
    if m:
        out = json.loads(m.group(0))
        info = {k: out.get(k) for k in ("cpu", "kernel_isa", "gemm_isa")}


def lscpu_text():
    """lscpu's model name and which of the AVX2 / AVX-512 / VNNI / AMX flags
    the CPU reports."""
    try:
        txt = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "lscpu not available"
    name = re.search(r"Model name:\s*(.*)", txt)
    fm = re.search(r"Flags:\s*(.*)", txt)
    flags = set(fm.group(1).split()) if fm else set()
    want = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
            "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"]
    return (f"lscpu: {name.group(1).strip() if name else '?'}, flags "
            + " ".join(f for f in want if f in flags) + ("; no " + " ".join(f for f in want if f not in flags) if set(want) - flags else ""))


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




results = {"date": datetime.date.today().isoformat(), "threads": a.threads, "rows": [],
           "load_before": os.getloadavg()[0]}
info = {}
llama_info = {}
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
                              "--bench", "--iters", a.iters, "--warmup-ms", int(a.warmup_ms), "--json",
                              "--threads", a.threads]))
        info = {k: out.get(k) for k in ("cpu", "kernel_isa", "gemm_isa")}
        t.append(out["median_ms"])
        time.sleep(a.pause)
        o.append(json.loads(run(ort + ["--inputs", inputs, "--iters", a.iters, "--warmup-ms", a.warmup_ms,
                                       "--json"]))["median_ms"])
        if ov_ok:
            time.sleep(a.pause)
            v.append(json.loads(run([py, __file__, "--_ov", peer_model, inputs, a.threads, a.iters,
                                     a.warmup_ms]))["median_ms"])
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


def copy_bandwidth_gbs(reps=5):
    """Single-process copy bandwidth: 512 MiB copied by 1 and by a.threads
    threads (numpy copies release the GIL), bytes read + written over time,
    best of `reps` each, the larger of the two."""
    import threading
    import numpy as np
    src = np.ones(128 * 1024 * 1024, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = 0.0
    for nt in sorted({1, a.threads}):
        parts = np.array_split(np.arange(src.size), nt)
        bounds = [(int(q[0]), int(q[-1]) + 1) for q in parts]
        for _ in range(reps):
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
    tfc_info(stem, prompt)
    lc = llamacpp_model("f32") if have_llamacpp() else None
    weights = decode_weight_bytes(model)
    # The copy bandwidth is measured right after each tfc round too: the
    # machine's bandwidth moves between minutes (31.8 and 36.0 GB/s on the
    # same Zen 3 in one night), so each round's tfc step is also set against
    # the roofline of its own minute (the row's "per round" figure).
    def roofline_ms(gbs):
        return weights / (gbs * 1e9) * 1e3

    t, o, l, bw_r, round_pct = [], [], [], [], []
    for r in range(a.rounds):
        time.sleep(a.pause)
        t.append(tfc_decode(stem, prompt)[0])
        bw_r.append(copy_bandwidth_gbs(reps=3))
        round_pct.append(100 * roofline_ms(bw_r[-1]) / t[-1])
        time.sleep(a.pause)
        oo = json.loads(run([py, root / "scripts" / "bench_decode_ort.py", withpast, "--prompt", prompt,
                             "--steps", a.decode_steps, "--threads", a.threads, "--json"]))
        o.append(oo["decode_median_ms"])
        if lc:
            time.sleep(a.pause)
            l.append(llamacpp_decode(lc, prompt))
        print(f"  decode round {r + 1}: tfc {t[-1]:.2f} ms/step (copy {bw_r[-1]:.1f} GB/s: "
              f"{round_pct[-1]:.0f}% of its roofline), "
              f"ORT {o[-1]:.2f} ms/step"
              + (f", llama.cpp F32 {l[-1]:.2f} ms/step" if l else ""), file=sys.stderr)
    bw = max([copy_bandwidth_gbs()] + bw_r)
    results["rows"].append({"workload": f"SmolLM2 decode ({a.decode_steps} steps after the 53-token prompt)",
                            "unit": "ms/step", "tfc": med(t), "ort": med(o), "ov": None,
                            "llama": med(l) if l else None, "llama_rounds": l,
                            "tfc_rounds": t, "ort_rounds": o, "copy_gbs": bw, "weight_bytes": weights,
                            "roofline_ms": roofline_ms(bw),
                            "copy_gbs_rounds": bw_r, "roofline_pct_rounds": round_pct})


def decode_weight_bytes(model):
    """Bytes a decode step must read: every matrix a MatMul / Gemm reads
    (through a Transpose too), once; an embedding table only a Gather reads
    costs one row (not counted). fp32."""
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
    return sum(int(np.prod(inits[x].dims)) * 4 for x in used)


def qdecode_rows():
    """tfc fp32 / w8 / w4 (g32 symmetric) decode against llama.cpp Q8_0 and
    Q4_0, all alternating round by round."""
    if not have_llamacpp():
        sys.exit("bench_table.py: the qdecode rows need llama-cpp-python (scripts/setup.sh --bench)")
    model = onnx_dir / "smollm2.ts.onnx"
    prompt = onnx_dir / "smollm2.ts.ref.npz"
    builds = {"fp32": ["--kv-cache"], "w8": ["--kv-cache", "--quantize=w8"],
              "w4": ["--kv-cache", "--quantize=w4", "--quant-group=32", "--quant-sym"]}
    stems = {}
    for k, flags in builds.items():
        stems[k] = work / ("smollm2_kv" if k == "fp32" else f"smollm2_kv_{k}g32" if k == "w4" else f"smollm2_kv_{k}")
        ct = compile_tfc(model, stems[k], flags)
        if ct is not None:
            compile_times["smollm2.ts.onnx " + " ".join(flags)] = ct
    tfc_info(stems["fp32"], prompt)
    ggufs = {"w8": llamacpp_model("q8_0"), "w4": llamacpp_model("q4_0")}
    t = {k: [] for k in builds}
    l = {k: [] for k in ggufs}
    checks = {}
    for r in range(a.rounds):
        for k in builds:
            time.sleep(a.pause)
            ms, checks[k] = tfc_decode(stems[k], prompt)
            t[k].append(ms)
            if k in ggufs:
                time.sleep(a.pause)
                l[k].append(llamacpp_decode(ggufs[k], prompt))
        print(f"  qdecode round {r + 1}: tfc fp32 {t['fp32'][-1]:.2f}, w8 {t['w8'][-1]:.2f}, w4 {t['w4'][-1]:.2f}"
              f" ms/step; llama.cpp Q8_0 {l['w8'][-1]:.2f}, Q4_0 {l['w4'][-1]:.2f} ms/step", file=sys.stderr)
    names = {"w8": ("tfc --quantize=w8 (per channel, symmetric)", "llama.cpp Q8_0"),
             "w4": ("tfc --quantize=w4 --quant-group=32 --quant-sym", "llama.cpp Q4_0")}
    bars = {"w8": 1.8, "w4": 3.0}
    fp32 = med(t["fp32"])
    results["qdecode"] = {"fp32_ms": fp32, "fp32_rounds": t["fp32"], "fp32_check": checks["fp32"],
                          "rows": []}
    for k in ("w8", "w4"):
        results["qdecode"]["rows"].append({
            "tfc": names[k][0], "peer": names[k][1], "tfc_ms": med(t[k]), "llama_ms": med(l[k]),
            "tfc_rounds": t[k], "llama_rounds": l[k], "vs_fp32": fp32 / med(t[k]), "bar_vs_fp32": bars[k],
            "vs_llama": med(l[k]) / med(t[k]), "check": checks[k], "gguf": str(ggufs[k])})


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
if "qdecode" in rows:
    qdecode_rows()

import onnxruntime
ort_v = onnxruntime.__version__
ov_v = __import__("openvino").get_version().split("-")[0] if ov_ok else "not installed"
isa_cap = env.get("TFCRT_ISA", "")
lscpu = lscpu_text()
results["load_after"] = os.getloadavg()[0]
load_max = max(results["load_before"], results["load_after"])
results.update({"cpu": info.get("cpu"), "kernel_isa": info.get("kernel_isa"), "isa_cap": isa_cap,
                "lscpu": lscpu, "ort_version": ort_v, "ov_version": ov_v, "compile_s": compile_times,
                "llama_cpp": llama_info})
llama_v = llama_info.get("llama_cpp_python")


def fmt(x):
    return "–" if x is None or x != x else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")


lines = [f"CPU: {info.get('cpu')}; tfc kernels: {info.get('kernel_isa')}"
         + (f" (capped by TFCRT_ISA={isa_cap})" if isa_cap else "")
         + f"; {a.threads} threads; ONNX Runtime {ort_v}; OpenVINO {ov_v}"
         + (f"; llama.cpp via llama-cpp-python {llama_v}" if llama_v else "")
         + f"; {results['date']}; {a.rounds} alternating rounds x {a.iters} iterations, medians"
         + (f" (MiniLM and prefill rows: every process warmed up for at least {a.warmup_ms:g} ms)"
            if a.warmup_ms > 0 else "") + ".",
         "", lscpu + ".",
         "", f"1-minute load average {results['load_before']:.2f} before, {results['load_after']:.2f} after the run"
         + (f" on {os.cpu_count()} CPUs: UNDER LOAD, the timings are noise, not a result."
            if load_max > 0.8 * (os.cpu_count() or 2) + 0.9 else ".")]
if llama_info.get("system_info"):
    lines += ["", "llama.cpp (llama_print_system_info): `" + llama_info["system_info"] + "`"]
if results["rows"]:
    lines += ["", "| workload | tfc | ONNX Runtime | OpenVINO | llama.cpp | tfc / ORT | tfc / OpenVINO "
              "| tfc / llama.cpp | check |", "|---|---|---|---|---|---|---|---|---|"]
for r in results["rows"]:
    u = r["unit"]
    ratio_o = r["tfc"] / r["ort"]
    ratio_v = r["tfc"] / r["ov"] if r.get("ov") else None
    ratio_l = r["tfc"] / r["llama"] if r.get("llama") else None
    extra = r.get("check", "")
    if "roofline_ms" in r:
        extra = (f"tokens/s: tfc {1e3 / r['tfc']:.1f}, ORT {1e3 / r['ort']:.1f}"
                 + (f", llama.cpp F32 {1e3 / r['llama']:.1f}" if r.get("llama") else "")
                 + f"; roofline {r['roofline_ms']:.1f} ms "
                 f"({r['weight_bytes'] / 1e6:.0f} MB at {r['copy_gbs']:.1f} GB/s copy, the run's best): "
                 f"tfc at {100 * r['roofline_ms'] / r['tfc']:.0f}%")
        if r.get("roofline_pct_rounds"):
            extra += (f"; per round against the copy bandwidth measured right after it "
                      f"({', '.join(f'{x:.1f}' for x in r['copy_gbs_rounds'])} GB/s): "
                      f"median {med(r['roofline_pct_rounds']):.0f}% (rounds "
                      f"{' '.join(f'{x:.0f}' for x in r['roofline_pct_rounds'])})")
    lines.append(f"| {r['workload']} | {fmt(r['tfc'])} {u} | {fmt(r['ort'])} {u} | "
                 f"{fmt(r.get('ov')) + ' ' + u if r.get('ov') else '–'} | "
                 f"{fmt(r.get('llama')) + ' ' + u if r.get('llama') else '–'} | {ratio_o:.2f} | "
                 f"{fmt(ratio_v) if ratio_v else '–'} | {f'{ratio_l:.2f}' if ratio_l else '–'} | {extra} |")
if "qdecode" in results:
    q = results["qdecode"]
    fp = q["fp32_ms"]
    lines += ["", f"Weight-only quantized decode (issue 8), SmolLM2 {a.decode_steps} steps after the 53-token "
              f"prompt, tokens/s (higher is better); tfc fp32 --kv-cache in the same rounds: "
              f"{1e3 / fp:.1f} tokens/s ({fmt(fp)} ms/step).", "",
              "| tfc build | tfc tokens/s | peer | peer tokens/s | tfc / peer | tfc vs tfc fp32 | bars "
              "(>= peer; >= N x fp32) | decode vs full-sequence check |",
              "|---|---|---|---|---|---|---|---|"]
    for r in q["rows"]:
        ok_peer = "met" if r["vs_llama"] >= 1 else "NOT met"
        ok_fp = "met" if r["vs_fp32"] >= r["bar_vs_fp32"] else "NOT met"
        lines.append(f"| {r['tfc']} | {1e3 / r['tfc_ms']:.1f} | {r['peer']} | {1e3 / r['llama_ms']:.1f} | "
                     f"{r['vs_llama']:.2f}x | {r['vs_fp32']:.2f}x | {ok_peer}; {r['bar_vs_fp32']:g}x {ok_fp} | "
                     f"{r['check']} |")
if compile_times:
    lines += ["", "Compile times (this run, under the same conditions): "
              + ", ".join(f"{k} {v:.1f} s" for k, v in compile_times.items())]
table = "\n".join(lines)
print(table)
if a.json:
    Path(a.json).write_text(json.dumps(results, indent=1))
if a.write_docs:
    doc = root / "docs" / "PERFORMANCE.md"
    tag = f"bench_table {info.get('kernel_isa')}"
    if not {"minilm", "prefill"} <= set(rows):
        tag += " " + "+".join(rows)
    if cpu_key(info.get("cpu")):
        tag += " " + cpu_key(info.get("cpu"))
    write_block(doc, tag, ("TFCRT_ISA=" + isa_cap + " " if isa_cap else "") + "scripts/bench_table.py "
                + " ".join(sys.argv[1:]), table)
    print(f"bench_table.py: wrote the table into {doc}", file=sys.stderr)
