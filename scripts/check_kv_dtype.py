#!/usr/bin/env python3
"""A quantized KV cache (tfc --kv-dtype=f16|int8) against the f32 cache.

  check_kv_dtype.py --ref REF.so --model Q.so --inputs P.npz [--inputs ...]
                    [--steps 64] [--tfc-run build/bin/tfc-run]
                    [--self-atol 1e-2] [--max-err E] [--min-top1 F]
                    [--min-agree F] [--threads N]

REF is the model compiled with the f32 cache, Q the same model with
--kv-dtype. For each prompt file (input_ids [+ attention_mask]):
  1. REF and Q each prefill + greedy-decode STEPS tokens through a session
     (`tfc-run --decode`; Q's own check, its session against its full-sequence
     entry, runs with atol = rtol = --self-atol: the two entries compute the
     same rounded K/V, up to codes that flip when f32 reassociation moves a
     value across a rounding boundary).
  2. Generation agreement: the fraction of generated tokens equal to REF's
     and the first step where a sequence differs.
  3. Teacher-forced logits: Q's full-sequence entry (which reads K/V through
     the cache's rounding) on REF's whole sequence, against REF's logits at
     every non-padded position: max |dlogit|, that error relative to the
     position's logit range (max - min), and top-1 agreement.
Prints one line per prompt file and model; exits 1 if a bound is missed.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--inputs", action="append", required=True)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--tfc-run", default="tfc-run")
    ap.add_argument("--self-atol", type=float, default=1e-2)
    ap.add_argument("--max-err", type=float, default=float("inf"),
                    help="bound on max |dlogit| / logit range")
    ap.add_argument("--min-top1", type=float, default=0.0)
    ap.add_argument("--min-agree", type=float, default=0.0,
                    help="bound on the fraction of generated tokens equal")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    thr = ["--threads", str(a.threads)] if a.threads else []
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for pi, prompt in enumerate(a.inputs):
            refOut = os.path.join(tmp, f"ref{pi}.npz")
            run([a.tfc_run, a.ref, "--inputs", prompt, "--decode",
                 str(a.steps), "--outputs", refOut] + thr)
            r = np.load(refOut)
            ids, mask, refLogits = r["input_ids"], r["attention_mask"], r["logits"]
            seq = os.path.join(tmp, f"seq{pi}.npz")
            np.savez(seq, input_ids=ids, attention_mask=mask)
            valid = mask.astype(bool)
            plen = ids.shape[1] - a.steps
            for mi, model in enumerate(a.model):
                out = os.path.join(tmp, f"q{pi}_{mi}.npz")
                run([a.tfc_run, model, "--inputs", prompt, "--decode",
                     str(a.steps), "--outputs", out, "--atol",
                     str(a.self_atol), "--rtol", str(a.self_atol)] + thr)
                q = np.load(out)
                gen, refGen = q["input_ids"][:, plen:], ids[:, plen:]
                agree = float((gen == refGen).mean())
                diverge = [int(np.argmax(g != rg)) if (g != rg).any() else a.steps
                           for g, rg in zip(gen, refGen)]
                tf = os.path.join(tmp, f"tf{pi}_{mi}.npz")
                run([a.tfc_run, model, "--inputs", seq, "--outputs", tf] + thr)
                o = np.load(tf)  # the entry's first output (logits)
                ql = o[[k for k in o.files
                        if k not in ("input_ids", "attention_mask")][0]][valid]
                rl = refLogits[valid]
                diff = np.abs(ql - rl).max(axis=-1)
                span = rl.max(axis=-1) - rl.min(axis=-1)
                rel = float((diff / span).max())
                top1 = float((ql.argmax(-1) == rl.argmax(-1)).mean())
                good = rel <= a.max_err and top1 >= a.min_top1 and agree >= a.min_agree
                ok &= good
                print(f"{os.path.basename(prompt)} {os.path.basename(model)}: "
                      f"batch {ids.shape[0]}, {a.steps} steps, generated tokens "
                      f"equal {agree:.3f} (first difference at step "
                      f"{min(diverge)}), teacher-forced {int(valid.sum())} "
                      f"positions: max |dlogit| {diff.max():.3g} = {rel:.3g} of "
                      f"the logit range, top-1 agreement {top1:.4f}: "
                      f"{'PASS' if good else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
