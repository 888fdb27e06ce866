#!/usr/bin/env python3
"""PyTorch peer numbers for docs/PERFORMANCE.md "GPU", run on the GPU machine
(scripts/gpu_check.sh run): all-MiniLM-L6-v2's architecture (BertModel, 6
layers, hidden 384, 12 heads, FFN 1536; random weights: no download there)
at the given shapes, fp32 and fp16, eager and eager replayed as a CUDA graph
(torch.cuda.graph: the launch overhead removed, the closest peer to tfc's
graph replay), optionally torch.compile (--compile) in each mode of
--compile-modes (default reduce-overhead; "default" is torch.compile's
default mode: issue 10's MiniLM bar is the best torch.compile mode). Median
of --iters timed runs (CUDA events) after warm-up, inputs already on the
device, output left there.

  gpu_torch_peer.py [--iters N] [--compile] [--compile-modes default,reduce-overhead,max-autotune]
                    [--shapes 32x128,1x128]
"""
import argparse
import statistics

import torch


def bench(fn, iters):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--compile-modes", default="reduce-overhead")
    ap.add_argument("--shapes", default="32x128,1x128")
    args = ap.parse_args()
    modes = [m for m in args.compile_modes.split(",") if m] if args.compile else []
    short = {"reduce-overhead": "compile-ro", "default": "compile",
             "max-autotune": "compile-ma",
             "max-autotune-no-cudagraphs": "compile-ma-ng"}
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6,
                     num_attention_heads=12, intermediate_size=1536,
                     max_position_embeddings=512, attn_implementation="sdpa")
    torch.manual_seed(0)
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    heads = [short.get(m, m) for m in modes] or ["compile-ro"]
    print(f"{'workload':<28} {'eager':>9} {'eager+graph':>12} "
          + " ".join(f"{h:>13}" for h in heads))
    for dtype in (torch.float32, torch.float16):
        model = BertModel(cfg).cuda().eval().to(dtype)
        for shape in args.shapes.split(","):
            b, s = (int(x) for x in shape.split("x"))
            ids = torch.randint(1000, 29000, (b, s), device="cuda")
            mask = torch.ones(b, s, dtype=torch.long, device="cuda")
            with torch.inference_mode():
                f = lambda: model(input_ids=ids, attention_mask=mask).last_hidden_state
                eager = bench(f, args.iters)
                st = torch.cuda.Stream()
                st.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(st):
                    for _ in range(3):
                        f()
                torch.cuda.current_stream().wait_stream(st)
                g = torch.cuda.CUDAGraph()
                with torch.cuda.graph(g):
                    out = f()
                graph = bench(g.replay, args.iters)
                comps = []
                for mode in modes:
                    torch._dynamo.reset()
                    cm = torch.compile(model, mode=None if mode == "default" else mode)
                    cf = lambda: cm(input_ids=ids, attention_mask=mask).last_hidden_state
                    comps.append(bench(cf, args.iters))
                if not modes:
                    comps = [float("nan")]
            name = f"MiniLM {b}x{s} {str(dtype).split('.')[-1]}"
            print(f"{name:<28} {eager:9.3f} {graph:12.3f} "
                  + " ".join(f"{c:13.3f}" for c in comps) + "  ms", flush=True)


if __name__ == "__main__":
    main()
