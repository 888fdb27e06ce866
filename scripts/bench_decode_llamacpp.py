#!/usr/bin/env python3
"""Decode throughput of llama.cpp (llama-cpp-python's low-level API) on a GGUF.

  bench_decode_llamacpp.py MODEL.gguf --prompt REF.npz [--prefix case0_] --steps N
                           --threads T [--rounds R] [--warmup-steps W] [--json]
  bench_decode_llamacpp.py --system-info

The peer of tfc-run --decode and scripts/bench_decode_ort.py in
scripts/bench_table.py (the GGUF files come from scripts/make_llamacpp_models.py).
Loads the model once (mmap, CPU only), then per round: clears the KV cache,
prefills the prompt's input_ids (batch 1, one llama_decode of all its tokens),
and runs N greedy decode steps, one llama_decode of one token each. A step's
time is llama_decode plus llama_get_logits_ith (which waits for the result);
the argmax that picks the next token is outside it. The prompt is excluded.
Reports the median step of each round, the median over rounds (tokens/s =
1000 / that), and llama.cpp's own perf counters (t_eval_ms / n_eval, reset
after the prefill) as a cross-check. n_threads = n_threads_batch = T; every
other context parameter is llama.cpp's default (flash attention: auto).
A warmup round of W steps precedes the timed ones (not reported).

--prefill-batch 1 feeds the prompt one token at a time: llama.cpp 0.3.36's
default native build on a CPU with AMX puts Q8_0 / Q4_0 weights in its AMX
buffer, whose matmul segfaults for batches of more than a few tokens on this
VM (ggml_backend_amx_mul_mat; llama.cpp issue 20824 reports the same crash);
one-token batches, i.e. every decode step, run. The prompt is excluded from
the timing either way. --no-extra-bufts avoids the AMX (and repack) buffers.
"""
import argparse, json, statistics, sys, time

import numpy as np


def system_info():
    import llama_cpp
    return llama_cpp.llama_print_system_info().decode().strip()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?")
    p.add_argument("--prompt")
    p.add_argument("--prefix", default="case0_")
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--warmup-steps", type=int, default=32)
    p.add_argument("--prefill-batch", type=int, default=0,
                   help="feed the prompt in llama_decode calls of this many tokens (0: all at once)")
    p.add_argument("--no-extra-bufts", action="store_true",
                   help="llama_model_params.use_extra_bufts = false: no AMX / repacked weight buffers")
    p.add_argument("--json", action="store_true")
    p.add_argument("--system-info", action="store_true", help="print llama_print_system_info() and exit")
    a = p.parse_args()

    import llama_cpp as L
    L.llama_backend_init()
    if a.system_info:
        print(system_info())
        return
    if not a.model or not a.prompt:
        p.error("MODEL and --prompt are required")
    # llama.cpp logs to stderr; keep errors only.
    from llama_cpp import _logger
    _logger.set_verbose(False)

    mp = L.llama_model_default_params()
    mp.n_gpu_layers = 0
    if a.no_extra_bufts:
        mp.use_extra_bufts = False
    model = L.llama_model_load_from_file(a.model.encode(), mp)
    if not model:
        sys.exit(f"bench_decode_llamacpp.py: cannot load {a.model}")
    ids = [int(x) for x in np.load(a.prompt)[a.prefix + "input_ids"][0]]
    cp = L.llama_context_default_params()
    cp.n_ctx = 1 << max(9, (len(ids) + a.steps + 1).bit_length())
    cp.n_batch = cp.n_ubatch = max(512, len(ids))
    cp.n_threads = cp.n_threads_batch = a.threads
    cp.no_perf = False
    ctx = L.llama_init_from_model(model, cp)
    if not ctx:
        sys.exit("bench_decode_llamacpp.py: llama_init_from_model failed")
    nv = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    mem = L.llama_get_memory(ctx)

    def decode(tokens):
        arr = (L.llama_token * len(tokens))(*tokens)
        rc = L.llama_decode(ctx, L.llama_batch_get_one(arr, len(tokens)))
        if rc != 0:
            sys.exit(f"bench_decode_llamacpp.py: llama_decode returned {rc}")
        return np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(nv,))

    def one_round(steps):
        L.llama_memory_clear(mem, True)
        t0 = time.perf_counter()
        b = a.prefill_batch or len(ids)
        for i in range(0, len(ids), b):
            logits = decode(ids[i:i + b])
        prefill = (time.perf_counter() - t0) * 1e3
        L.llama_perf_context_reset(ctx)
        times, toks = [], []
        for _ in range(steps):
            tok = int(np.argmax(logits))
            toks.append(tok)
            t0 = time.perf_counter()
            logits = decode([tok])
            times.append((time.perf_counter() - t0) * 1e3)
        perf = L.llama_perf_context(ctx)
        return prefill, times, toks, perf

    if a.warmup_steps:
        one_round(a.warmup_steps)
    rounds = [one_round(a.steps) for _ in range(a.rounds)]
    med_steps = [statistics.median(r[1]) for r in rounds]
    perf = rounds[-1][3]
    res = {"model": a.model, "prompt_tokens": len(ids), "steps": a.steps, "threads": a.threads,
           "prefill_batch": a.prefill_batch or len(ids), "extra_bufts": not a.no_extra_bufts,
           "rounds": a.rounds, "prefill_ms": statistics.median(r[0] for r in rounds),
           "decode_median_ms": statistics.median(med_steps), "decode_round_medians_ms": med_steps,
           "decode_mean_ms": statistics.mean(t for r in rounds for t in r[1]),
           "decode_tokens_per_s": 1e3 / statistics.median(med_steps),
           "perf_eval_ms_per_token": perf.t_eval_ms / perf.n_eval if perf.n_eval else None,
           "perf_n_eval": perf.n_eval, "first_tokens": rounds[-1][2][:8],
           "last_round_steps_ms": [round(t, 3) for t in rounds[-1][1]],
           "llama_cpp_python": L.__version__, "system_info": system_info()}
    L.llama_free(ctx)
    L.llama_model_free(model)
    print(json.dumps(res) if a.json else
          f"llama.cpp (llama-cpp-python {L.__version__}): prefill {res['prefill_ms']:.1f} ms "
          f"({len(ids)} tokens), decode {res['decode_tokens_per_s']:.1f} tokens/s (median step "
          f"{res['decode_median_ms']:.2f} ms; llama.cpp's counter {res['perf_eval_ms_per_token']:.2f} ms/token)")


if __name__ == "__main__":
    main()
