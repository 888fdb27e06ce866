#!/usr/bin/env python3
"""PyTorch peer numbers for SmolLM2-135M on the GPU machine (docs/PERFORMANCE.md,
"GPU"; run there by a shell script, no network needed).

The model is loaded exactly as scripts/export_models.py load_smollm2 does:
AutoModelForCausalLM.from_pretrained(DIR, gguf_file=NAME, dtype=torch.float32)
(the Q4_1 GGUF dequantized to fp32; --gguf PATH names it), then cast to each
of --dtypes. Attention is HF's default SDPA (--attn eager for load_smollm2's
own choice). --random builds LlamaConfig from the same config values with
random weights instead (quick checks; --layers N shrinks it further).

Inputs are already on the device and outputs are left there. GPU timings are
CUDA events, median of --iters timed runs after --warmup runs; on --device cpu
perf_counter, and the CUDA-graph columns are skipped. fp32 matmuls are
plain fp32 unless --tf32.

1. Prefill (--prefill 512,53; an item is S or BxS): one forward over [B, S]
   random tokens, no attention mask (plain causal), logits of all positions
   (as HF returns them), no KV cache. Columns, in ms:
     eager        model(input_ids=ids, use_cache=False).logits
     eager+graph  that forward captured once with torch.cuda.graph and
                  replayed (launch overhead removed; HF's is_causal SDPA fast
                  path is kept during capture, see _causal_skip_in_capture)
     compile:M    torch.compile(model, mode=M, dynamic=False) for each M of
                  --compile-modes (only with --compile, in --compile-dtypes)
2. Decode at each of --batches: a --prompt token prompt, --new-tokens greedy
   tokens.
     generate     HF generate, eager, dynamic cache, greedy, min_new_tokens =
                  max_new_tokens (no EOS stop); tokens/s = new tokens x batch /
                  wall time of the whole call (its prefill of the prompt
                  included), median of --gen-iters
     static eager one decode step (a [B, 1] token, transformers StaticCache of
                  prompt + new tokens, argmax fed back on the device) run
                  eagerly; ms/step over min(32, new-1) steps
     static graph the same step (forward + argmax + feeding the token back +
                  the cache's in-place position advance) captured as one CUDA
                  graph and replayed new-1 times back to back (median of
                  --decode-iters such loops); ms/step and tokens/s =
                  batch x 1000 / ms_step. The step's attention covers the whole
                  static cache (masked), as transformers' static decode does
     compile-ro   (--compile) the decode forward under
                  torch.compile(mode="reduce-overhead", fullgraph=True), the
                  transformers-documented fast path, timed like static graph
   "agree" is the mean common-prefix fraction of the static graph's (CPU: the
   static eager loop's) new tokens with generate's (a check of the static path,
   not a speed number: fp32 should give 1.0; in bf16 near-ties part them early
   on real weights, as they part HF's own generate(cache_implementation=
   "static") from its dynamic-cache generate).

Each measurement is in its own try/except: a failing column prints nan and
the first line of its exception, and the run goes on. One summary table at
the end, then one JSON line (starts with '{"tool": "gpu_torch_smollm2"').

Budget (H200, no --compile): about 1.5-2 minutes, most of it HF generate's
host-bound eager steps. --compile adds roughly a minute per compiled
(dtype, shape, mode); compile columns are skipped once --budget-s seconds have
passed.

  gpu_torch_smollm2.py --gguf PATH [--device cuda|cpu] [--random [--layers N]]
      [--dtypes bf16,fp32] [--prefill 512] [--batches 1,8,32] [--prompt 32]
      [--new-tokens 128] [--iters 20] [--warmup 5] [--gen-iters 3] [--decode-iters 5]
      [--compile [--compile-modes default,reduce-overhead] [--compile-dtypes bf16]]
      [--skip-compile] [--skip-prefill] [--skip-decode] [--tf32] [--attn sdpa|eager]
"""
import argparse
import contextlib
import copy
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback

import torch
import torch._dynamo

SMOLLM2_GGUF = ".cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# config.json that transformers derives from the GGUF (.cache/models/smollm2/hf)
SMOLLM2_CONFIG = dict(
    vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
    num_attention_heads=9, num_key_value_heads=3, head_dim=64, hidden_act="silu",
    max_position_embeddings=8192, rms_norm_eps=9.999999747378752e-06,
    rope_theta=100000.0, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
    bos_token_id=1, eos_token_id=2, pad_token_id=2,
)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
NAN = float("nan")
T0 = time.perf_counter()


def first_line(e):
    s = f"{type(e).__name__}: {e}".strip().splitlines()
    return s[0][:200] if s else type(e).__name__


class Clock:
    """CUDA events on cuda (device time of the enqueued work), perf_counter on cpu."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def time_ms(self, fn):
        if self.cuda:
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            return s.elapsed_time(e)
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1e3

    def bench(self, fn, iters, warmup):
        for _ in range(warmup):
            fn()
        self.sync()
        return statistics.median(self.time_ms(fn) for _ in range(iters))


@contextlib.contextmanager
def _causal_skip_in_capture():
    """transformers' masking_utils treats CUDA stream capture as tracing and then
    materializes the causal mask (SDPA loses its is_causal flash path). With no
    attention mask (our prefill) the skip needs no data-dependent check, so keep
    it during capture: the captured graph runs what eager runs (which does read
    the device: find_packed_sequence_indices' .all(), skipped here)."""
    import transformers.masking_utils as mu

    saved = {k: getattr(mu, k) for k in ("is_tracing", "find_packed_sequence_indices")}
    mu.is_tracing = lambda tensor=None: False
    # positions are arange(S): no packed sequences (its check reads the device)
    mu.find_packed_sequence_indices = lambda position_ids: None
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(mu, k, v)


def capture(fn, warmup=3, patch_mask=False):
    """fn captured as a CUDA graph after warm-up on a side stream (as
    scripts/gpu_torch_peer.py); returns the graph."""
    st = torch.cuda.Stream()
    st.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(st):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(st)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    ctx = _causal_skip_in_capture() if patch_mask else contextlib.nullcontext()
    with ctx, torch.cuda.graph(g):
        fn()
    torch.cuda.synchronize()
    return g


def load_master(args):
    """The fp32 model on the CPU (cast and moved per dtype later)."""
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    if args.random:
        cfg = dict(SMOLLM2_CONFIG)
        if args.layers:
            cfg["num_hidden_layers"] = args.layers
        rope = {"rope_type": "default", "rope_theta": cfg.pop("rope_theta")}
        try:
            config = LlamaConfig(**cfg, rope_parameters=rope, attn_implementation=args.attn)
        except TypeError:  # older transformers: rope_theta
            config = LlamaConfig(**cfg, rope_theta=rope["rope_theta"], attn_implementation=args.attn)
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        with torch.no_grad():  # HF init: norms at one; give them spread like trained ones
            for name, p in model.named_parameters():
                if name.endswith("norm.weight"):
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))
        return model.eval(), "random weights (SmolLM2-135M config%s)" % (
            f", {args.layers} layers" if args.layers else "")
    path = os.path.abspath(args.gguf)
    if not os.path.isfile(path):
        sys.exit(f"{path} missing (give --gguf PATH, or --random)")
    t = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path), dtype=torch.float32,
        attn_implementation=args.attn,
    ).eval()
    return model, f"{os.path.basename(path)} dequantized to fp32 ({time.perf_counter() - t:.1f} s load)"


def parse_shapes(s):
    out = []
    for item in s.split(","):
        item = item.strip().lower()
        if not item:
            continue
        b, _, sl = item.rpartition("x")
        out.append((int(b) if b else 1, int(sl)))
    return out


class Run:
    def __init__(self, args, device):
        self.args, self.device, self.clock = args, device, Clock(device)
        self.prefill_rows, self.decode_rows, self.errors = [], [], []
        self.is_cuda = device.type == "cuda"

    def over_budget(self):
        return time.perf_counter() - T0 > self.args.budget_s

    def col(self, label, fn):
        """Runs one measurement; nan + the exception's first line on failure."""
        t = time.perf_counter()
        try:
            v = fn()
        except Exception as e:  # noqa: BLE001 - one failing column must not end the run
            msg = first_line(e)
            print(f"  [{label}] failed: {msg}", flush=True)
            if self.args.verbose:
                traceback.print_exc()
            self.errors.append({"column": label, "error": msg})
            if self.is_cuda:
                with contextlib.suppress(Exception):
                    torch.cuda.synchronize()
            return NAN
        if self.args.verbose:
            print(f"  [{label}] {time.perf_counter() - t:.1f} s", flush=True)
        return v

    def compile_modes(self, dname):
        a = self.args
        if not a.compile or a.skip_compile or dname not in a.compile_dtypes.split(","):
            return []
        return [m for m in a.compile_modes.split(",") if m]

    # ---- 1. prefill -------------------------------------------------------
    def prefill(self, model, dname):
        a, dev = self.args, self.device
        vocab = model.config.vocab_size
        for b, s in parse_shapes(a.prefill):
            row = {"workload": f"prefill {b}x{s} {dname}", "batch": b, "seq": s, "dtype": dname}
            g = torch.Generator().manual_seed(s)
            ids = torch.randint(1000, vocab - 1000, (b, s), generator=g).to(dev)
            with torch.inference_mode():
                f = lambda: model(input_ids=ids, use_cache=False).logits
                row["eager_ms"] = self.col(f"{row['workload']} eager",
                                           lambda: self.clock.bench(f, a.iters, a.warmup))
                try:
                    shape = tuple(f().shape)
                except Exception as e:  # noqa: BLE001 - eager failed above already
                    shape = first_line(e)
                row["logits_shape"] = list(shape) if isinstance(shape, tuple) else None

                def graph():
                    gr = capture(f, patch_mask=True)
                    return self.clock.bench(gr.replay, a.iters, a.warmup)

                row["graph_ms"] = (self.col(f"{row['workload']} eager+graph", graph)
                                   if self.is_cuda else NAN)
                for mode in self.compile_modes(dname):
                    key = f"compile_{mode}_ms"
                    if self.over_budget():
                        row[key] = NAN
                        self.errors.append({"column": f"{row['workload']} compile:{mode}",
                                            "error": f"skipped: past --budget-s {a.budget_s}"})
                        continue

                    def comp(mode=mode):
                        torch._dynamo.reset()
                        cm = torch.compile(model, mode=mode, dynamic=False)
                        cf = lambda: cm(input_ids=ids, use_cache=False).logits
                        t = time.perf_counter()
                        cf()
                        self.clock.sync()
                        row[f"compile_{mode}_first_s"] = round(time.perf_counter() - t, 1)
                        return self.clock.bench(cf, a.iters, a.warmup)

                    row[key] = self.col(f"{row['workload']} compile:{mode}", comp)
            self.prefill_rows.append(row)
            extra = "  ".join(f"{k[8:-3]} {row[k]:.3f}" for k in row
                              if k.startswith("compile_") and k.endswith("_ms"))
            print(f"{row['workload']:<24} eager {row['eager_ms']:8.3f}  graph {row['graph_ms']:8.3f}"
                  f"  {extra}  ms  logits {shape}", flush=True)

    # ---- 2. decode --------------------------------------------------------
    def make_static_cache(self, model, batch, max_len):
        from transformers import StaticCache

        try:
            return StaticCache(config=model.config, max_cache_len=max_len)
        except TypeError:  # transformers < 4.56
            return StaticCache(config=model.config, max_batch_size=batch, max_cache_len=max_len,
                               device=self.device, dtype=model.dtype)

    def decode(self, model, dname):
        a, dev = self.args, self.device
        P, N = a.prompt, a.new_tokens
        vocab = model.config.vocab_size
        for B in (int(x) for x in a.batches.split(",") if x):
            row = {"workload": f"decode b={B} {dname}", "batch": B, "dtype": dname,
                   "prompt": P, "new_tokens": N}
            g = torch.Generator().manual_seed(1000 + B)
            prompt = torch.randint(1000, vocab - 1000, (B, P), generator=g).to(dev)
            mask = torch.ones_like(prompt)
            ref = {}

            # (a) HF generate, eager, dynamic cache
            def gen(n):
                return model.generate(
                    input_ids=prompt, attention_mask=mask, do_sample=False, num_beams=1,
                    max_new_tokens=n, min_new_tokens=n, pad_token_id=model.config.pad_token_id,
                    disable_compile=True)

            def generate():
                gen(min(N, 8))  # warm-up
                self.clock.sync()
                times = []
                for _ in range(a.gen_iters):
                    t = time.perf_counter()
                    out = gen(N)
                    self.clock.sync()
                    times.append(time.perf_counter() - t)
                if out.shape != (B, P + N):
                    raise RuntimeError(f"generate returned {tuple(out.shape)}, wanted {(B, P + N)}")
                ref["tokens"] = out[:, P:].cpu()
                s = statistics.median(times)
                row["generate_ms_per_token"] = s * 1e3 / N
                return N * B / s

            with torch.inference_mode():
                row["generate_tok_s"] = self.col(f"{row['workload']} generate", generate)

            # (b) static KV cache: one decode step (forward, argmax fed back)
            st = {}

            def setup():
                cache = self.make_static_cache(model, B, P + N)
                out = model(input_ids=prompt, past_key_values=cache, use_cache=True, logits_to_keep=1)
                tok = out.logits[:, -1:].argmax(-1)  # [B, 1]: the first new token
                layers = getattr(cache, "layers", None)
                if not layers or not hasattr(layers[0], "cumulative_length"):
                    raise RuntimeError("this transformers' StaticCache keeps no on-device position "
                                       "(cumulative_length); the step loop needs it")
                toks = torch.zeros(B, N, dtype=torch.long, device=dev)
                st.update(cache=cache, tok=tok, first=tok.clone(), toks=toks, layers=layers)

            def reset():
                for layer in st["layers"]:
                    layer.cumulative_length.fill_(P)
                st["tok"].copy_(st["first"])
                st["toks"].zero_()
                st["toks"][:, :1].copy_(st["first"])

            def step():
                cache, tok = st["cache"], st["tok"]
                logits = model(input_ids=tok, past_key_values=cache, use_cache=True).logits
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                tok.copy_(nxt)
                # position of this token among the new ones (the cache has just advanced)
                i = (st["layers"][0].cumulative_length - P).clamp(max=N - 1).view(1)
                st["toks"].index_copy_(1, i, nxt)

            def agree():
                if "tokens" not in ref:
                    return NAN
                got, want = st["toks"].cpu(), ref["tokens"]
                neq = (got != want).int()
                prefix = torch.where(neq.any(1), neq.argmax(1), torch.full((B,), N))
                return round(float(prefix.float().mean()) / N, 4)

            def static_eager():
                setup()
                n = min(32, N - 1)
                reset()
                for _ in range(min(3, n)):
                    step()
                times = []
                for _ in range(a.gen_iters):
                    reset()
                    self.clock.sync()
                    times.append(self.clock.time_ms(lambda: [step() for _ in range(n)]) / n)
                if not self.is_cuda:  # full-length loop for the agreement check
                    reset()
                    for _ in range(N - 1):
                        step()
                    row["agree"] = agree()
                return statistics.median(times)

            def static_graph():
                if "cache" not in st:
                    setup()
                reset()
                gr = capture(step)
                run = lambda: [gr.replay() for _ in range(N - 1)]
                reset()
                run()  # warm-up, then the agreement check on its tokens
                self.clock.sync()
                row["agree"] = agree()
                times = []
                for _ in range(a.decode_iters):
                    reset()
                    times.append(self.clock.time_ms(run) / (N - 1))
                return statistics.median(times)

            def compile_ro():
                if "cache" not in st:
                    setup()
                torch._dynamo.reset()
                cache = st["cache"]
                fwd = torch.compile(
                    lambda t: model(input_ids=t, past_key_values=cache, use_cache=True).logits,
                    mode="reduce-overhead", fullgraph=True, dynamic=False)

                def run(n):
                    tok = st["first"]
                    for _ in range(n):
                        tok = fwd(tok)[:, -1].argmax(-1, keepdim=True)
                    return tok

                reset()
                t = time.perf_counter()
                run(3)
                self.clock.sync()
                row["compile_ro_first_s"] = round(time.perf_counter() - t, 1)
                times = []
                for _ in range(a.decode_iters):
                    reset()
                    times.append(self.clock.time_ms(lambda: run(N - 1)) / (N - 1))
                return statistics.median(times)

            with torch.inference_mode():
                row["static_eager_ms"] = self.col(f"{row['workload']} static eager", static_eager)
                row["static_graph_ms"] = (self.col(f"{row['workload']} static graph", static_graph)
                                          if self.is_cuda else NAN)
                row["static_graph_tok_s"] = B * 1e3 / row["static_graph_ms"]
                row["compile_ro_ms"] = NAN
                if self.compile_modes(dname):
                    if self.over_budget():
                        self.errors.append({"column": f"{row['workload']} compile-ro",
                                            "error": f"skipped: past --budget-s {a.budget_s}"})
                    else:
                        row["compile_ro_ms"] = self.col(f"{row['workload']} compile-ro", compile_ro)
                row["compile_ro_tok_s"] = B * 1e3 / row["compile_ro_ms"]
            row.setdefault("agree", NAN)
            st.clear()
            self.decode_rows.append(row)
            print(f"{row['workload']:<24} generate {row['generate_tok_s']:9.1f} tok/s"
                  f"  static eager {row['static_eager_ms']:7.3f}  graph {row['static_graph_ms']:7.3f}"
                  f" ms/step ({row['static_graph_tok_s']:9.1f} tok/s)"
                  f"  compile-ro {row['compile_ro_ms']:7.3f}  agree {row['agree']}", flush=True)

    # ---- summary ----------------------------------------------------------
    def summary(self, header):
        print()
        print("=" * 100)
        for line in header:
            print(line)
        if self.prefill_rows:
            modes = []
            for r in self.prefill_rows:
                modes += [k for k in r if k.startswith("compile_") and k.endswith("_ms") and k not in modes]
            print(f"\nPrefill, ms (median; logits of all positions)")
            print(f"{'workload':<24} {'eager':>9} {'eager+graph':>12}"
                  + "".join(f" {m[8:-3]:>16}" for m in modes))
            for r in self.prefill_rows:
                print(f"{r['workload']:<24} {r['eager_ms']:9.3f} {r['graph_ms']:12.3f}"
                      + "".join(f" {r.get(m, NAN):16.3f}" for m in modes))
        if self.decode_rows:
            r0 = self.decode_rows[0]
            print(f"\nDecode, greedy, prompt {r0['prompt']} + {r0['new_tokens']} new tokens"
                  " (generate: tok/s over the whole call; static: ms per step, tok/s = batch/step)")
            print(f"{'workload':<24} {'generate':>10} {'static-eager':>13} {'static-graph':>13}"
                  f" {'graph tok/s':>12} {'compile-ro':>11} {'ro tok/s':>10} {'agree':>6}")
            for r in self.decode_rows:
                print(f"{r['workload']:<24} {r['generate_tok_s']:10.1f} {r['static_eager_ms']:13.3f}"
                      f" {r['static_graph_ms']:13.3f} {r['static_graph_tok_s']:12.1f}"
                      f" {r['compile_ro_ms']:11.3f} {r['compile_ro_tok_s']:10.1f} {r['agree']:6}")
        if self.errors:
            print("\nFailed or skipped columns:")
            for e in self.errors:
                print(f"  {e['column']}: {e['error']}")
        print(f"\ntotal {time.perf_counter() - T0:.1f} s")


def clean(x):
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else round(x, 4)
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=SMOLLM2_GGUF, help="the SmolLM2 GGUF (default: %(default)s)")
    ap.add_argument("--random", action="store_true", help="random weights, same config")
    ap.add_argument("--layers", type=int, default=0, help="with --random: this many layers")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--dtypes", default="bf16,fp32")
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    ap.add_argument("--prefill", default="512", help="shapes: S or BxS, comma separated")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--iters", type=int, default=20, help="timed prefill runs")
    ap.add_argument("--decode-iters", type=int, default=5,
                    help="timed runs of the new-1 step static graph / compile-ro loops")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--gen-iters", type=int, default=3, help="timed generate / static-eager runs")
    ap.add_argument("--compile", action="store_true", help="add the torch.compile columns")
    ap.add_argument("--skip-compile", action="store_true", help="no torch.compile (overrides --compile)")
    ap.add_argument("--compile-modes", default="default,reduce-overhead",
                    help="prefill modes, e.g. default,reduce-overhead,max-autotune-no-cudagraphs")
    ap.add_argument("--compile-dtypes", default="bf16")
    ap.add_argument("--budget-s", type=float, default=240.0,
                    help="skip compile columns that would start after this many seconds")
    ap.add_argument("--skip-prefill", action="store_true")
    ap.add_argument("--skip-decode", action="store_true")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 for fp32 matmuls")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.new_tokens < 2:
        sys.exit("--new-tokens must be >= 2")

    os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF loader's progress bar
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device (use --device cpu)")
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    try:
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    except Exception:  # noqa: BLE001
        pass

    dev_name = torch.cuda.get_device_name() if device.type == "cuda" else (
        platform.processor() or platform.machine()) + f" ({os.cpu_count()} CPUs, {torch.get_num_threads()} threads)"
    header = [f"device {dev_name}",
              f"torch {torch.__version__}  transformers {transformers.__version__}"
              f"  cuda {torch.version.cuda}  attn {args.attn}  tf32 {args.tf32}"]
    for line in header:
        print(line, flush=True)
    if device.type != "cuda":
        header.append("cpu: perf_counter timing; the CUDA-graph columns are skipped (nan)")
        print(header[-1], flush=True)
    master, source = load_master(args)
    header.append(f"model SmolLM2-135M: {source}")
    print(header[-1], flush=True)

    run = Run(args, device)
    for dname in args.dtypes.split(","):
        dname = dname.strip()
        if not dname:
            continue
        if dname not in DTYPES:
            run.errors.append({"column": dname, "error": f"unknown dtype (one of {list(DTYPES)})"})
            continue
        try:
            model = copy.deepcopy(master).to(device=device, dtype=DTYPES[dname]).eval()
        except Exception as e:  # noqa: BLE001
            run.errors.append({"column": f"{dname} model", "error": first_line(e)})
            continue
        if not args.skip_prefill:
            run.prefill(model, dname)
        if not args.skip_decode:
            run.decode(model, dname)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
        with contextlib.suppress(Exception):
            torch._dynamo.reset()

    run.summary(header)
    print(json.dumps(clean({
        "tool": "gpu_torch_smollm2", "device": dev_name, "torch": torch.__version__,
        "transformers": transformers.__version__, "model": source, "attn": args.attn,
        "tf32": args.tf32, "prefill": run.prefill_rows, "decode": run.decode_rows,
        "errors": run.errors, "total_s": time.perf_counter() - T0,
    })), flush=True)


if __name__ == "__main__":
    main()
