#!/usr/bin/env python3
"""Compile one ONNX model with tfc and check every reference case with tfc-run.

The reference file is <model>.ref.npz with keys case<k>_<name>; each case is
run as its own tfc-run invocation, which exits non-zero when an output is out
of tolerance. Used by the lit e2e tests; prints one line per case."""
import argparse, re, subprocess, sys, zipfile

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--tfc", required=True)
p.add_argument("--tfc-run", required=True)
p.add_argument("--model", required=True)
p.add_argument("--out", required=True, help="output stem for the compiled model")
p.add_argument("--atol", default="1e-4")
p.add_argument("--rtol", default="1e-4")
p.add_argument("--extra", nargs="*", default=[], help="extra tfc flags")
p.add_argument("--link-run", default="tfc-link-run",
               help="also check the object linked into tfc-run (empty: skip)")
a = p.parse_args()

ref = re.sub(r"\.onnx$", ".ref.npz", a.model)
with zipfile.ZipFile(ref) as z:
    cases = sorted({int(m.group(1)) for n in z.namelist()
                    if (m := re.match(r"case(\d+)_", n))})
if not cases:
    sys.exit(f"no case<k>_ keys in {ref}")
subprocess.run([a.tfc, a.model, "--emit=shared", "-o", a.out] + a.extra, check=True)
# The shared build leaves the object next to the library: link it into an
# application too (tfc_<name>_desc, name = the output file name).
runners = [("shared", [a.tfc_run, a.out + ".so"])]
if a.link_run:
    name = re.sub(r"[^A-Za-z0-9]", "_", a.out.rsplit("/", 1)[-1])
    subprocess.run([a.link_run, a.out + ".o", f"tfc_{name}_desc", "-o", a.out + ".app"], check=True)
    runners.append(("linked", [a.out + ".app", a.out + ".tfcw"]))
failed = total = 0
for kind, cmd in runners:
    for k in cases:
        r = subprocess.run(cmd + ["--inputs", ref, "--prefix", f"case{k}_",
                                  "--reference", ref, "--atol", a.atol, "--rtol", a.rtol],
                           capture_output=True, text=True)
        checks = [l for l in r.stdout.splitlines() + r.stderr.splitlines() if l.startswith("check") or "error" in l]
        print(f"{kind} case{k}: rc={r.returncode}", *checks, sep="\n  ")
        failed += r.returncode != 0
        total += 1
print(f"{total - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
