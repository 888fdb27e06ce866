#!/usr/bin/env python3
"""ONNX's backend node tests as a conformance suite for tfc (docs/IMPORT.md).

The onnx package ships the generators of its node tests
(onnx.backend.test.case.node; `python -m onnx.backend.test.cmd_tools
generate-data` of onnx 1.23 writes only the model tests, so this script
writes the node tests itself, in the same layout, into --data/node when it is
missing). Each test is a one-node model (or its function expansion,
`*_expanded`) with input/output TensorProtos per data set.

A test is run when every op type in it is one `tfc --list-onnx-ops` claims.
Each is compiled with `tfc --emit=shared`, run with `tfc-run` on the test's
inputs, and its outputs compared with the test's at ONNX's backend tolerances
(rtol 1e-3, atol 1e-7; NaN matches NaN). Outcomes:

  pass         outputs match
  unsupported  tfc refused the model with a diagnostic that names the node
               and op ("node 'X' (Op): ...", or the element type it cannot
               take) and exited non-zero
  error        any other failure: a crash (signal), an import that does not
               verify, a pass or lowering failure, a run failure
  wrong        it compiled and ran, and an output differs

The suite fails when a test is `error` or `wrong`, or `unsupported` without
being listed in the expected-unsupported file (test/e2e/onnx-node/
expected-unsupported.txt: `test_name  reason`, one a line); a listed test
that passes is reported so the list can shrink.

  onnx_node_suite.py [--subset fast|all] [--filter REGEX] [-j N]
                     [--table docs/IMPORT.md] [--data DIR] [--work DIR]

`--subset fast` (CI) keeps the op types BERT and LLaMA exports use (FAST_OPS).
"""

import argparse
import concurrent.futures as cf
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST_OPS = {
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Neg", "Exp",
    "Erf", "Tanh", "Sigmoid", "Cos", "Sin", "Where", "Equal", "Less",
    "Greater", "Not", "And", "Cast", "MatMul", "Gemm", "Softmax",
    "ReduceMean", "ReduceSum", "ReduceMax", "LayerNormalization", "Transpose",
    "Reshape", "Concat", "Slice", "Split", "Gather", "Unsqueeze", "Squeeze",
    "Shape", "Expand", "Range", "ConstantOfShape", "Constant", "CumSum",
    "Einsum", "Mod", "Identity", "Trilu", "GatherElements", "Min", "Max",
}
RTOL, ATOL = 1e-3, 1e-7
MAX_OPSET = 21
UNSUPPORTED = re.compile(
    r"node '[^']*' \([A-Za-z.]+\): |unsupported element type|"
    r"is not supported|unsupported operator domain")


def die(msg):
    print(f"onnx_node_suite.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def generate(data):
    """Writes every node test case as <data>/node/<name>/model.onnx and
    test_data_set_<k>/{input,output}_<j>.pb (tensor inputs only)."""
    import onnx.backend.test.case.node as node_cases
    from onnx import TensorProto, numpy_helper

    root = data / "node"
    tmp = data / "node.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    for case in node_cases.collect_testcases():
        g = case.model.graph
        if any(not v.type.HasField("tensor_type") for v in list(g.input) + list(g.output)):
            continue
        d = tmp / case.name
        d.mkdir(exist_ok=True)
        (d / "model.onnx").write_bytes(case.model.SerializeToString())
        (d / "tolerance.json").write_text(json.dumps({"rtol": case.rtol,
                                                      "atol": case.atol}))
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = d / f"test_data_set_{i}"
            ds.mkdir(exist_ok=True)
            for kind, vals, infos in (("input", inputs, g.input),
                                      ("output", outputs, g.output)):
                for j, v in enumerate(vals):
                    t = v if isinstance(v, TensorProto) else \
                        numpy_helper.from_array(v, infos[j].name)
                    (ds / f"{kind}_{j}.pb").write_bytes(t.SerializeToString())
    tmp.rename(root)


def claimed_ops(tfc):
    r = subprocess.run([tfc, "--list-onnx-ops"], capture_output=True, text=True)
    if r.returncode:
        die(f"{tfc} --list-onnx-ops failed: {r.stderr.strip()}")
    return set(r.stdout.split())


def op_key(n):
    return n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"


def discover(data, claimed, subset, filt):
    import onnx

    tests = []
    for d in sorted((data / "node").iterdir()):
        if not (d / "model.onnx").is_file() or (filt and not re.search(filt, d.name)):
            continue
        m = onnx.load(str(d / "model.onnx"), load_external_data=False)
        ops = {op_key(n) for n in m.graph.node}
        if not ops or not ops <= claimed:
            continue
        # The op the test is about: the single node, else the test's name.
        main = sorted(ops)[0] if len(ops) == 1 else None
        if main is None:
            main = next((o for o in sorted(ops, key=len, reverse=True)
                         if d.name.startswith("test_" + snake(o))), sorted(ops)[0])
        # The fast subset: single-node tests (no function expansions) of the
        # op types BERT/LLaMA exports use.
        if subset == "fast" and (not ops <= FAST_OPS or "_expanded" in d.name):
            continue
        tests.append((d, main))
    return tests


def snake(op):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower()


def run_one(a, d, op):
    import numpy as np
    import onnx
    from onnx import numpy_helper

    work = a.work / d.name
    work.mkdir(parents=True, exist_ok=True)
    res = {"test": d.name, "op": op}
    m = onnx.load(str(d / "model.onnx"), load_external_data=False)
    tol = {"rtol": RTOL, "atol": ATOL}
    if (d / "tolerance.json").is_file():
        tol = json.loads((d / "tolerance.json").read_text())
    # tfc-run exchanges tensors as .npz, which has no bfloat16.
    bf16 = onnx.TensorProto.BFLOAT16
    if any(v.type.tensor_type.elem_type == bf16
           for v in list(m.graph.input) + list(m.graph.output)):
        res.update(outcome="skipped", why="bfloat16 inputs/outputs cannot "
                   "go through tfc-run's .npz files")
        return res
    inits = {t.name for t in m.graph.initializer}
    in_names = [i.name for i in m.graph.input if i.name not in inits]
    out_names = [o.name for o in m.graph.output]
    sets = sorted(d.glob("test_data_set_*"))
    # The generators stamp the newest opset on every test; tfc imports 13 to
    # 21, so a newer one is lowered to 21 (the ops revised after 21 are named
    # in the table's note; their tests' data follow the newer version).
    model = d / "model.onnx"
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx") and o.version > MAX_OPSET:
            o.version = MAX_OPSET
            model = work / "model.onnx"
            onnx.save(m, str(model))
    r = subprocess.run([a.tfc, str(model), "--emit=shared", "-o",
                        str(work / "m"), "--name", "m"], capture_output=True,
                       text=True, timeout=600)
    err = (r.stderr or "").strip()
    if r.returncode:
        last = err.splitlines()[-1] if err else f"exit {r.returncode}"
        last = last.replace(str(model) + "': ", "").replace("tfc: error: '", "")
        crashed = r.returncode < 0 or "Stack dump" in err or "LLVM ERROR" in err
        verify = "does not verify" in err
        if not crashed and not verify and UNSUPPORTED.search(err):
            res.update(outcome="unsupported", why=last[-240:])
        else:
            res.update(outcome="error", why=("crash: " if crashed else "") +
                       last[-240:])
        return res
    worst = None
    for ds in sets:
        feeds = {}
        for k, name in enumerate(in_names):
            t = onnx.TensorProto()
            t.ParseFromString((ds / f"input_{k}.pb").read_bytes())
            feeds[name] = numpy_helper.to_array(t)
        np.savez(work / "in.npz", **feeds)
        r = subprocess.run([a.tfc_run, str(work / "m.so"), "--inputs",
                            str(work / "in.npz"), "--outputs",
                            str(work / "out.npz"), "--threads", "1"],
                           capture_output=True, text=True, timeout=600)
        if r.returncode:
            msg = (r.stderr or r.stdout).strip().splitlines()
            res.update(outcome="error", why="run: " + (msg[-1] if msg else
                                                        f"exit {r.returncode}")[-240:])
            return res
        got = np.load(work / "out.npz")
        for k, name in enumerate(out_names):
            t = onnx.TensorProto()
            t.ParseFromString((ds / f"output_{k}.pb").read_bytes())
            want = numpy_helper.to_array(t)
            if name not in got:
                res.update(outcome="error", why=f"run: no output '{name}'")
                return res
            have = got[name]
            if have.shape != want.shape:
                res.update(outcome="wrong", why=f"{name}: shape {have.shape} "
                           f"vs {want.shape}")
                return res
            if want.dtype.kind in "fc":
                w64, h64 = want.astype(np.float64), have.astype(np.float64)
                # float16 results legitimately differ by rounding order: two
                # fp16 ulps (2^-10 each) relative.
                rtol = max(tol["rtol"], 2.0 ** -9) if want.dtype == np.float16 \
                    else tol["rtol"]
                ok = np.isclose(h64, w64, rtol=rtol, atol=tol["atol"],
                                equal_nan=True)
                diff = float(np.nanmax(np.abs(h64 - w64))) if want.size else 0.0
            else:
                ok = have.astype(want.dtype) == want
                diff = 0.0 if ok.all() else 1.0
            worst = diff if worst is None else max(worst, diff)
            if not ok.all():
                res.update(outcome="wrong", why=f"{name}: max abs diff {diff:.3g}")
                return res
    res.update(outcome="pass", max_err=worst)
    return res


def load_expected(path):
    exp = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, why = line.partition(" ")
                exp[name] = why.strip()
    return exp


def write_table(path, results, data_note):
    per = {}
    for r in results:
        p = per.setdefault(r["op"], {"run": 0, "pass": 0, "unsupported": 0,
                                      "error": 0, "wrong": 0, "skipped": 0})
        p["run"] += 1
        p[r["outcome"]] += 1
    tot = {k: sum(p[k] for p in per.values()) for k in
           ["run", "pass", "unsupported", "error", "wrong", "skipped"]}
    lines = [data_note, "",
             "| op type | run | passed | unsupported (clear error) | error | wrong | skipped (bf16 I/O) |",
             "|---|---|---|---|---|---|---|"]
    for op in sorted(per):
        p = per[op]
        lines.append(f"| {op} | {p['run']} | {p['pass']} | {p['unsupported']} | "
                     f"{p['error']} | {p['wrong']} | {p['skipped']} |")
    lines.append(f"| **total** | {tot['run']} | {tot['pass']} | "
                 f"{tot['unsupported']} | {tot['error']} | {tot['wrong']} | "
                 f"{tot['skipped']} |")
    text = path.read_text()
    begin, end = "<!-- node-suite:begin -->", "<!-- node-suite:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < 0:
        die(f"{path}: markers {begin} / {end} missing")
    path.write_text(text[: i + len(begin)] + "\n" + "\n".join(lines) + "\n" +
                    text[j:])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subset", choices=["fast", "all"], default="all")
    ap.add_argument("--filter", help="only tests whose name matches REGEX")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--data", type=Path, default=ROOT / ".cache" / "onnx-node-tests")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tfc-onnx-node"))
    ap.add_argument("--tfc", default=str(ROOT / "build" / "bin" / "tfc"))
    ap.add_argument("--tfc-run", default=str(ROOT / "build" / "bin" / "tfc-run"))
    ap.add_argument("--expected", type=Path,
                    default=ROOT / "test" / "e2e" / "onnx-node" / "expected-unsupported.txt")
    ap.add_argument("--table", type=Path)
    ap.add_argument("--json", type=Path, help="write every result here")
    ap.add_argument("--write-expected", action="store_true",
                    help="rewrite --expected from this run's refusals (their "
                         "diagnostics are the reasons); keeps other entries")
    a = ap.parse_args()
    import onnx

    if not (a.data / "node").is_dir():
        generate(a.data)
    claimed = claimed_ops(a.tfc)
    tests = discover(a.data, claimed, a.subset, a.filter)
    if not tests:
        die("no test selected")
    a.work.mkdir(parents=True, exist_ok=True)
    results = []
    with cf.ThreadPoolExecutor(max_workers=a.j) as ex:
        futs = [ex.submit(run_one, a, d, op) for d, op in tests]
        for f in futs:
            try:
                results.append(f.result())
            except subprocess.TimeoutExpired as e:
                results.append({"test": Path(e.cmd[1]).parent.name, "op": "?",
                                "outcome": "error", "why": "timeout"})
    expected = load_expected(a.expected)
    if a.write_expected:
        for r in results:
            if r["outcome"] == "unsupported":
                expected[r["test"]] = r["why"]
            elif r["outcome"] == "pass":
                expected.pop(r["test"], None)
        head = ("# ONNX backend node tests tfc refuses with a clear diagnostic "
                "(scripts/onnx_node_suite.py).\n# One a line: test name, then "
                "the reason (tfc's diagnostic). Regenerate with --write-expected.\n")
        a.expected.parent.mkdir(parents=True, exist_ok=True)
        a.expected.write_text(head + "".join(f"{k} {v}\n" for k, v in
                                             sorted(expected.items())))
    bad = 0
    for r in results:
        tag = r["outcome"]
        if tag == "unsupported" and r["test"] not in expected:
            tag = "unsupported (NOT in the expected list)"
            bad += 1
        elif tag in ("error", "wrong"):
            bad += 1
        elif tag == "pass" and r["test"] in expected:
            tag = "pass (listed as expected-unsupported: remove it)"
        if tag not in ("pass", "skipped") or a.filter:
            print(f"{r['test']}: {tag}: {r.get('why', '')}")
    n = {k: sum(r["outcome"] == k for r in results)
         for k in ["pass", "unsupported", "error", "wrong", "skipped"]}
    print(f"onnx node suite ({a.subset}, onnx {onnx.__version__}): "
          f"{len(results)} run, {n['pass']} passed, {n['unsupported']} "
          f"unsupported, {n['error']} errors, {n['wrong']} wrong, "
          f"{n['skipped']} skipped; "
          f"{bad} unexpected")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1) + "\n")
    if a.table:
        write_table(a.table, results,
                    f"onnx {onnx.__version__} node tests whose op types "
                    f"`tfc --list-onnx-ops` claims ({a.subset} suite):")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
