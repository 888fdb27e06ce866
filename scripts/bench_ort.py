#!/usr/bin/env python3
"""Benchmarks an ONNX model with ONNX Runtime (CPUExecutionProvider).

  bench_ort.py MODEL.onnx --inputs IN.npz [--prefix case0_] --threads N
               [--warmup W] [--warmup-ms T] [--iters K] [--json]
  bench_ort.py MODEL.onnx --batch B --seq S [--seed X] [--vocab V] --threads N
               [--save-inputs FILE.npz] [--json]

The session uses intra_op_num_threads=N, inter_op_num_threads=1, sequential
execution and all graph optimizations. Each timed iteration is one
InferenceSession.run; the first max(W, 1) runs are not timed.

Inputs come either from an .npz (keys <prefix><input name>, as in the *.ref.npz
files that make_refs.py writes; without --prefix, case0_ is tried, then the
bare names) or are synthetic (--batch/--seq): input_ids uniform in [0, vocab)
from a seeded generator, attention_mask all ones, token_type_ids zeros. The
vocab size is read from the embedding table that input_ids indexes, or given
with --vocab. --save-inputs writes the inputs used, and the outputs of the
first run, as case0_<name> to an .npz, so the same inputs can be fed to a
compiled model and its outputs compared.

With --json, prints one JSON object:
  {"median_ms", "p10_ms", "p90_ms", "mean_ms", "min_ms", "max_ms", "iters",
   "warmup", "threads", "ort_version", "model", "inputs": {name: shape}}
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path


def die(msg):
    print(f"bench_ort.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def warm_up(run, count, ms, done=0):
    """Calls run() until it has run `count` times in all (`done` already) and
    `ms` milliseconds have passed; returns how many runs that was. Also
    bench_table.py's OpenVINO mode: every peer warms up the same way."""
    start = time.perf_counter()
    while done < count or (time.perf_counter() - start) * 1e3 < ms:
        run()
        done += 1
    return done


def infer_vocab(model_path):
    """Rows of the initializer that a Gather indexes with input_ids."""
    import onnx

    m = onnx.load(str(model_path), load_external_data=False)
    inits = {t.name: list(t.dims) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Gather" and len(n.input) == 2 and n.input[1] == "input_ids":
            dims = inits.get(n.input[0])
            if dims:
                return dims[0]
    return None


def synthetic_inputs(sess, model_path, batch, seq, seed, vocab):
    import numpy as np

    rng = np.random.default_rng(seed)
    feeds = {}
    for i in sess.get_inputs():
        if len(i.shape) != 2 or i.type != "tensor(int64)":
            die(f"--batch/--seq: cannot synthesize input '{i.name}' ({i.type}, shape "
                f"{i.shape}); only int64 [batch, sequence] inputs are supported")
        if i.name == "input_ids":
            if vocab is None:
                vocab = infer_vocab(model_path)
                if vocab is None:
                    die("cannot find the vocab size from the model; pass --vocab")
            feeds[i.name] = rng.integers(0, vocab, size=(batch, seq), dtype=np.int64)
        elif i.name == "attention_mask":
            feeds[i.name] = np.ones((batch, seq), dtype=np.int64)
        elif i.name in ("token_type_ids", "position_ids"):
            if i.name == "position_ids":
                feeds[i.name] = np.broadcast_to(np.arange(seq, dtype=np.int64), (batch, seq)).copy()
            else:
                feeds[i.name] = np.zeros((batch, seq), dtype=np.int64)
        else:
            die(f"--batch/--seq: don't know how to synthesize input '{i.name}'")
    return feeds


def npz_inputs(sess, path, prefix):
    import numpy as np

    if not Path(path).is_file():
        die(f"{path}: no such file")
    data = np.load(path)
    names = [i.name for i in sess.get_inputs()]
    prefixes = [prefix] if prefix is not None else ["case0_", ""]
    for p in prefixes:
        if all(p + n in data.files for n in names):
            return {n: data[p + n] for n in names}
    tried = " or ".join(repr(p) for p in prefixes)
    die(f"{path}: no keys {tried} + {names}; it has {data.files}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="the .onnx file")
    ap.add_argument("--inputs", type=Path, help="an .npz with the inputs")
    ap.add_argument("--prefix", default=None,
                    help="key prefix in --inputs (default: try case0_, then none)")
    ap.add_argument("--batch", type=int, help="synthetic inputs: batch size")
    ap.add_argument("--seq", type=int, help="synthetic inputs: sequence length")
    ap.add_argument("--seed", type=int, default=0, help="synthetic inputs: seed (default 0)")
    ap.add_argument("--vocab", type=int, help="synthetic inputs: token id range [0, V)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs (default 3)")
    ap.add_argument("--warmup-ms", type=float, default=0.0,
                    help="and untimed runs until this many ms have passed (default 0)")
    ap.add_argument("--iters", type=int, default=20, help="timed runs (default 20)")
    ap.add_argument("--save-inputs", type=Path,
                    help="write the inputs and first outputs as case0_<name> to this .npz")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    if not args.model.is_file():
        die(f"{args.model}: no such file")
    synthetic = args.batch is not None or args.seq is not None
    if synthetic == (args.inputs is not None):
        die("give either --inputs FILE.npz or --batch B --seq S")
    if synthetic and (args.batch is None or args.seq is None or args.batch < 1 or args.seq < 1):
        die("--batch and --seq must both be given and positive")
    if args.threads < 1 or args.iters < 1 or args.warmup < 0:
        die("--threads and --iters must be >= 1, --warmup >= 0")
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        die(f"{e}; run scripts/setup.sh and use .venv/bin/python")

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    try:
        sess = ort.InferenceSession(str(args.model), so, providers=["CPUExecutionProvider"])
    except Exception as e:
        die(f"{args.model}: ONNX Runtime cannot load it: {e}")
    init_ms = (time.perf_counter() - t0) * 1e3

    if synthetic:
        feeds = synthetic_inputs(sess, args.model, args.batch, args.seq, args.seed, args.vocab)
    else:
        feeds = npz_inputs(sess, args.inputs, args.prefix)

    try:
        outs = sess.run(None, feeds)
    except Exception as e:
        die(f"run failed: {e}")
    if args.save_inputs:
        arrays = {f"case0_{n}": v for n, v in feeds.items()}
        arrays.update({f"case0_{o.name}": v for o, v in zip(sess.get_outputs(), outs)})
        np.savez_compressed(args.save_inputs, **arrays)

    warmed = warm_up(lambda: sess.run(None, feeds), args.warmup, args.warmup_ms,
                     done=1)  # the run above
    times = []
    for _ in range(args.iters):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    t = np.array(times)
    result = {
        "median_ms": round(float(np.median(t)), 3),
        "p10_ms": round(float(np.percentile(t, 10)), 3),
        "p90_ms": round(float(np.percentile(t, 90)), 3),
        "mean_ms": round(float(t.mean()), 3),
        "min_ms": round(float(t.min()), 3),
        "max_ms": round(float(t.max()), 3),
        "iters": args.iters,
        "warmup": warmed,
        "threads": args.threads,
        "ort_version": ort.__version__,
        "model": args.model.name,
        "inputs": {n: list(v.shape) for n, v in feeds.items()},
        "session_init_ms": round(init_ms, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        shapes = ", ".join(f"{n}{list(v.shape)}" for n, v in feeds.items())
        print(f"{args.model.name} [{shapes}] threads={args.threads}: median "
              f"{result['median_ms']:.2f} ms (p10 {result['p10_ms']:.2f}, p90 "
              f"{result['p90_ms']:.2f}, mean {result['mean_ms']:.2f}) over {args.iters} "
              f"runs, ONNX Runtime {ort.__version__}")


if __name__ == "__main__":
    main()
