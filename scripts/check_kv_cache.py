#!/usr/bin/env python3
"""KV-cache decoding of a compiled model against ONNX Runtime.

  check_kv_cache.py --model M.so --onnx M.onnx --ref M.ref.npz [--steps 64]
                    [--cases 0,1,2,3,4,5] [--atol 1e-3] [--rtol 1e-3]
                    [--tfc-run build/bin/tfc-run] [--threads N]

For each case k of the reference file (inputs case{k}_input_ids /
case{k}_attention_mask), `tfc-run --decode STEPS` prefills the prompt through
a KV-cache session, decodes STEPS greedy tokens and writes the tokens and the
logits of every position; ONNX Runtime then runs the ONNX model once on the
whole sequence (prompt + generated tokens, same mask), and every non-padded
position's logits must satisfy |tfc - ort| <= atol + rtol * |ort|. Right-padded
batch cases are turned into left-padded ones first (generation appends after
the last real token). tfc-run's own checks (against the compiled
full-sequence entry, fork, memory) must pass too. Prints one line per case;
exits 1 if any fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort


def left_pad(ids, mask):
    ids, mask = ids.copy(), mask.copy()
    for i in range(ids.shape[0]):
        n = int(mask[i].sum())
        if mask[i, :n].all() and n < ids.shape[1]:  # right-padded row
            pad = ids.shape[1] - n
            ids[i] = np.concatenate([ids[i, n:], ids[i, :n]])
            mask[i] = np.concatenate([np.zeros(pad, mask.dtype), mask[i, :n]])
    return ids, mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--cases", default="")
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--tfc-run", default="tfc-run")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()

    ref = np.load(a.ref)
    cases = sorted({int(k[4:k.index("_")]) for k in ref.files if k.startswith("case")})
    if a.cases:
        cases = [int(c) for c in a.cases.split(",")]
    opts = ort.SessionOptions()
    if a.threads:
        opts.intra_op_num_threads = a.threads
    sess = ort.InferenceSession(a.onnx, opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for k in cases:
            ids, mask = left_pad(ref[f"case{k}_input_ids"], ref[f"case{k}_attention_mask"])
            prompt = os.path.join(tmp, f"p{k}.npz")
            out = os.path.join(tmp, f"o{k}.npz")
            np.savez(prompt, input_ids=ids, attention_mask=mask)
            cmd = [a.tfc_run, a.model, "--inputs", prompt, "--decode", str(a.steps),
                   "--outputs", out, "--atol", str(a.atol), "--rtol", str(a.rtol)]
            if a.threads:
                cmd += ["--threads", str(a.threads)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"case {k}: tfc-run failed:\n{run.stdout}{run.stderr}")
                ok = False
                continue
            o = np.load(out)
            feeds = {"input_ids": o["input_ids"], "attention_mask": o["attention_mask"]}
            full = sess.run(None, {n: feeds[n] for n in names})[0]
            valid = o["attention_mask"].astype(bool)
            tfc, want = o["logits"][valid], full[valid]
            diff = np.abs(tfc - want)
            bad = int((diff > a.atol + a.rtol * np.abs(want)).sum())
            ok &= bad == 0
            print(f"case {k}: batch {ids.shape[0]}, prompt {ids.shape[1]}, "
                  f"{a.steps} decode steps, {int(valid.sum())} positions vs ORT: "
                  f"max abs err {diff.max():.3g}, {bad} out of tolerance "
                  f"(atol {a.atol}, rtol {a.rtol}): {'PASS' if bad == 0 else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
