#!/usr/bin/env python3
"""Validates a `tfc-run --trace` file (Chrome JSON trace) against its model.

  check_trace.py TRACE.json --onnx MODEL.onnx [--profile PROFILE.json]
                 [--runs N] [--min-named F] [--min-kernel-share F]

Checks, failing with a message on the first violation:
  - the Chrome trace object format: {"traceEvents": [...]}, every event with
    a phase of M (metadata), X (complete) or C (counter), numeric ts/dur,
    integer pid/tid, and a thread_name for every track that has slices;
  - N "run" slices; every kernel slice lies inside a run slice of its track
    and the kernels of a run do not add up to more than the run;
  - the kernels cover at least --min-kernel-share of the runs' time;
  - every ONNX node a slice names is a node of MODEL, and slices naming
    nodes carry at least --min-named of the kernel time;
  - pool chunks (if any) lie inside a kernel slice of the same site;
  - the memory counter exists and rises above zero;
  - with --profile (tfc-run --profile --json of the same invocation): each
    site's slices add up to its ms_per_run x runs.
"""
import argparse
import json
import sys

import onnx


def fail(msg):
    print(f"check_trace: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--profile")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--min-named", type=float, default=0.9)
    ap.add_argument("--min-kernel-share", type=float, default=0.3)
    a = ap.parse_args()

    with open(a.trace) as f:
        trace = json.load(f)
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
        fail("not a Chrome trace object (no traceEvents list)")
    events = trace["traceEvents"]
    names = {}
    slices, counters = [], []
    for i, e in enumerate(events):
        ph = e.get("ph")
        if ph not in ("M", "X", "C"):
            fail(f"event {i}: phase {ph!r}")
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            fail(f"event {i}: pid/tid not integers")
        if ph == "M":
            if e.get("name") == "thread_name":
                names[e["tid"]] = e["args"]["name"]
            continue
        if not isinstance(e.get("ts"), (int, float)) or e["ts"] < 0:
            fail(f"event {i}: bad ts")
        if not isinstance(e.get("name"), str) or not e["name"]:
            fail(f"event {i}: no name")
        if ph == "X":
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                fail(f"event {i}: bad dur")
            slices.append(e)
        else:
            counters.append(e)
    for e in slices:
        if e["tid"] not in names:
            fail(f"track {e['tid']} has slices but no thread_name")

    model = onnx.load(a.onnx, load_external_data=False)
    onnx_nodes = {n.name or n.op_type for n in model.graph.node}

    runs = [e for e in slices if e["cat"] == "run"]
    kernels = [e for e in slices if e["cat"] == "kernel"]
    chunks = [e for e in slices if e["cat"] == "chunk"]
    if len(runs) != a.runs:
        fail(f"{len(runs)} run slices, expected {a.runs}")
    if not kernels:
        fail("no kernel slices")
    eps = 0.002  # us: the writer rounds to ns
    run_total = sum(r["dur"] for r in runs)
    for r in runs:
        inside = [k for k in kernels if k["tid"] == r["tid"] and
                  k["ts"] >= r["ts"] - eps and k["ts"] + k["dur"] <= r["ts"] + r["dur"] + eps]
        s = sum(k["dur"] for k in inside)
        if s > r["dur"] + eps * len(inside):
            fail(f"kernels of a run add up to {s} us > the run's {r['dur']} us")
    for k in kernels:
        if not any(k["tid"] == r["tid"] and k["ts"] >= r["ts"] - eps and
                   k["ts"] + k["dur"] <= r["ts"] + r["dur"] + eps for r in runs):
            fail(f"kernel slice {k['name']!r} at {k['ts']} lies outside every run")
    kernel_total = sum(k["dur"] for k in kernels)
    share = kernel_total / run_total if run_total else 0
    if share < a.min_kernel_share:
        fail(f"kernels cover {share:.1%} of the runs' time (< {a.min_kernel_share:.0%})")

    named = 0.0
    seen = set()
    for k in kernels:
        args = k.get("args", {})
        for key in ("site", "op_class", "tfc_ops", "onnx_nodes"):
            if key not in args:
                fail(f"kernel slice {k['name']!r} has no args.{key}")
        nodes = args["onnx_nodes"]
        unknown = [n for n in nodes if n not in onnx_nodes]
        if unknown:
            fail(f"slice {k['name']!r} names nodes not in the model: {unknown[:3]}")
        if nodes:
            named += k["dur"]
            seen.update(nodes)
            if nodes[0] not in k["name"]:
                fail(f"slice {k['name']!r} is not named after its node {nodes[0]!r}")
    if named < a.min_named * kernel_total:
        fail(f"slices naming ONNX nodes hold {named / kernel_total:.1%} of kernel "
             f"time (< {a.min_named:.0%})")

    for c in chunks:
        site = c["args"]["site"]
        if site < 0:
            continue
        if not any(k["args"]["site"] == site and c["ts"] >= k["ts"] - eps and
                   c["ts"] + c["dur"] <= k["ts"] + k["dur"] + eps for k in kernels):
            fail(f"chunk of site {site} at {c['ts']} outside its kernel's slices")

    mem = [c for c in counters if c["name"] == "runtime allocations"]
    if not mem or max(c["args"]["live_MB"] for c in mem) <= 0:
        fail("no memory counter above zero")

    if a.profile:
        with open(a.profile) as f:
            prof = json.load(f)
        by_site = {}
        for k in kernels:
            by_site[k["args"]["site"]] = by_site.get(k["args"]["site"], 0) + k["dur"]
        runs_n = prof["profile_runs"]
        for s in prof["sites"]:
            want = s["ms_per_run"] * runs_n * 1000.0
            got = by_site.get(s["id"], 0.0)
            if abs(got - want) > 0.01 * want + 1.0 + 0.002 * s["calls_per_run"] * runs_n:
                fail(f"site {s['id']}: trace {got:.1f} us vs profile {want:.1f} us")

    workers = sorted({names[c["tid"]] for c in chunks})
    print(f"check_trace: OK: {len(runs)} run(s), {len(kernels)} kernel slices "
          f"({share:.0%} of run time, {named / kernel_total:.0%} named), "
          f"{len(seen)} of {len(onnx_nodes)} ONNX nodes named, {len(chunks)} chunks "
          f"on {len(workers)} track(s), {len(mem)} memory samples")


if __name__ == "__main__":
    main()
