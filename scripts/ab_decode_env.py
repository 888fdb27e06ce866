#!/usr/bin/env python3
"""Alternating A/B of one environment variable on the SmolLM2 --kv-cache decode step.

  ab_decode_env.py ROUNDS VAR A B [ISA]

Runs .cache/bench_table/smollm2_kv.so (scripts/bench_table.py builds it) with
`tfc-run --decode 64 --bench --threads 2` under VAR=A and VAR=B (and
TFCRT_ISA=ISA, default avx2), the order alternating round by round; prints each
round and the median step times and the median of the per-round ratios B / A.
Every run must PASS its decode checks."""
import subprocess, statistics, sys, os, re
from pathlib import Path
root = str(Path(__file__).resolve().parent.parent)
rounds=int(sys.argv[1]); envname=sys.argv[2]; a,b=sys.argv[3],sys.argv[4]
isa=sys.argv[5] if len(sys.argv)>5 else 'avx2'
def run(v):
    env=dict(os.environ, **{envname:v, 'TFCRT_ISA':isa})
    out=subprocess.run([root+'/build/bin/tfc-run',root+'/.cache/bench_table/smollm2_kv.so','--inputs',root+'/.cache/onnx/smollm2.ts.ref.npz','--prefix','case0_','--decode','64','--bench','--threads','2'],capture_output=True,text=True,env=env).stdout
    m=re.search(r'decode step .*?median ([0-9.]+) ms',out)
    assert 'PASS' in out and m, out[-500:]
    return float(m.group(1))
ta=[];tb=[];rat=[]
for r in range(rounds):
    order=[a,b] if r%2==0 else [b,a]
    res={}
    for v in order: res[v]=run(v)
    ta.append(res[a]);tb.append(res[b]);rat.append(res[b]/res[a])
    print(f"round {r+1}: {a} {res[a]:.2f} {b} {res[b]:.2f} ratio {rat[-1]:.3f}",flush=True)
print(f"{envname} {a}: median {statistics.median(ta):.2f} ms; {b}: median {statistics.median(tb):.2f} ms; median ratio {statistics.median(rat):.3f}")
