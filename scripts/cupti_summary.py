#!/usr/bin/env python3
"""Per-node device times of replayed CUDA graphs, from libtfc-cupti-trace's CSV.

    LD_PRELOAD=.../libtfc-cupti-trace.so TFC_CUPTI_OUT=k.csv tfc-run ...
    python3 scripts/cupti_summary.py k.csv [--last 50] [--rows 40] [--full FILE]

Every kernel a graph replay runs carries the replay's correlation id (one
cuGraphLaunch), so a replay is the kernels of one id, in the order they
started (graphs whose branches run concurrently would line up by start time,
not by node). The replays of the most common (graph, length) (a decode step's
graph, say) are lined up node by node: for the
last --last of them, each node's median duration and the median gap before it
(its start minus the previous node's end: launch latency, dependencies
resolving). Prints the replay's span, the sums of durations and gaps, time per
kernel class (tfc's generated kernels, tfc's attention / GEMV kernels, cuBLAS,
Triton, PyTorch's own), and the first --rows nodes; --full writes every node.
--length picks another replay length (the list is printed). Records without
timestamps (CUPTI could not time them) are left out and counted.
"""
import argparse
import collections
import csv
import os
import statistics
import sys

csv.field_size_limit(sys.maxsize)


def kernel_class(name):
    n = name.lower()
    if "tfc_attn" in n:
        return "tfc attention"
    if "tfc_gemv" in n:
        return "tfc gemv"
    if n.startswith("tfc_") or "_kernel" in n and "tfc" in n:
        return "tfc generated"
    if "triton" in n:
        return "triton"
    if any(s in n for s in ("flash", "fmha", "attention", "sdpa")):
        return "attention (other)"
    if any(s in n for s in ("gemm", "xmma", "cutlass", "cublas", "gemv", "sm90_", "splitk")):
        return "cublas"
    return "other"


def short(name, width=60):
    return name if len(name) <= width else name[: width - 3] + "..."


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--last", type=int, default=50, help="replays to take (the last ones)")
    ap.add_argument("--rows", type=int, default=40, help="nodes to print")
    ap.add_argument("--length", type=int, default=0, help="replay length to take (default: the most common)")
    ap.add_argument("--top", type=int, default=1, help="summarize the N most common replay lengths")
    ap.add_argument("--full", help="write every node's row here (the first length summarized)")
    ap.add_argument("--label", default="", help="printed in front of the summary")
    a = ap.parse_args()

    groups = collections.OrderedDict()
    eager = untimed = 0
    if not os.path.exists(a.csv):
        sys.exit(f"{a.csv}: no trace (the program ran no kernel, or the tracer could not start)")
    with open(a.csv, newline="") as f:
        rd = csv.reader(f)
        header = next(rd, None)
        if header is None or header[0] != "start":
            sys.exit(f"{a.csv}: not a libtfc-cupti-trace file (no header)")
        for row in rd:
            if len(row) < 14:
                continue
            start, end, corr, graph = int(row[0]), int(row[1]), int(row[2]), int(row[3])
            if start == 0 and end == 0:
                untimed += 1
                continue
            rec = (start, end, int(row[6]) * int(row[7]) * int(row[8]),
                   int(row[9]) * int(row[10]) * int(row[11]), int(row[12]), ",".join(row[13:]))
            if graph == 0:
                eager += 1
                continue
            groups.setdefault((graph, corr), []).append(rec)
    if not groups:
        sys.exit(f"{a.csv}: no kernels of replayed graphs ({eager} eager kernels)")
    lengths = collections.Counter(len(g) for g in groups.values())
    print(f"{a.label}replays by length (kernels: count): "
          + ", ".join(f"{n}: {c}" for n, c in lengths.most_common(8))
          + f"; eager kernels {eager}" + (f"; untimed {untimed}" if untimed else ""))
    # One graph at a time: replays of different graphs are not mixed even
    # when they have as many kernels.
    kinds = collections.Counter((g, len(v)) for (g, _), v in groups.items())
    todo = [k for k, _ in kinds.most_common()]
    if a.length:
        todo = [k for k in todo if k[1] == a.length][:1]
    for k, key in enumerate(todo[: 1 if a.length else a.top]):
        summarize(a, {gk: v for gk, v in groups.items() if gk[0] == key[0]}, key[1],
                  a.full if k == 0 else None)


def summarize(a, groups, length, full):
    reps = [sorted(g) for g in groups.values() if len(g) == length][-a.last:]
    if not reps:
        sys.exit(f"no replay of {length} kernels")
    spans, durs, gaps = [], [], []
    per_node = [([], []) for _ in range(length)]
    for g in reps:
        spans.append(g[-1][1] - g[0][0])
        d_sum = g_sum = 0
        for i, r in enumerate(g):
            d = r[1] - r[0]
            gap = r[0] - g[i - 1][1] if i else 0
            per_node[i][0].append(d)
            per_node[i][1].append(gap)
            d_sum += d
            g_sum += gap
        durs.append(d_sum)
        gaps.append(g_sum)
    med = statistics.median
    print(f"{a.label}{len(reps)} replays of {length} kernels: span median {med(spans) / 1e3:.1f} us, "
          f"kernel time {med(durs) / 1e3:.1f} us, gaps {med(gaps) / 1e3:.1f} us "
          f"({med(gaps) / max(1, length - 1):.0f} ns a node)")
    names = [r[5] for r in reps[-1]]
    cls = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for i, n in enumerate(names):
        c = cls[kernel_class(n)]
        c[0] += 1
        c[1] += med(per_node[i][0])
        c[2] += med(per_node[i][1])
    for k, (n, d, g) in sorted(cls.items(), key=lambda kv: -kv[1][1]):
        print(f"{a.label}  {k:18s} {n:4d} kernels  {d / 1e3:8.1f} us  ({d / n / 1e3:5.2f} us each; "
              f"gaps before them {g / 1e3:6.1f} us)")
    rows = []
    for i, n in enumerate(names):
        r = reps[-1][i]
        rows.append(f"{i:4d} {med(per_node[i][0]) / 1e3:7.2f} {med(per_node[i][1]) / 1e3:6.2f} "
                    f"{r[2]:7d} {r[3]:5d} {r[4]:4d}  {kernel_class(n):14s} {short(n)}")
    head = "node  dur_us gap_us    grid block regs  class          name"
    print(a.label + head)
    for line in rows[: a.rows]:
        print(a.label + line)
    if full:
        with open(full, "w") as f:
            f.write(head + "\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
