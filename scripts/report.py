#!/usr/bin/env python3
"""Turn tfc-run JSON outputs into one self-contained HTML report with plots.

  scripts/report.py -o report.html RUN.json [RUN.json ...] [--accuracy ACC.json ...]

Each RUN.json holds what `tfc-run ... --json` printed: one JSON object per
file, a JSON list of them, or one per line (bench with --bench, profile with
--profile; both in one object is fine). The report has

  - a table of the runs (model, batch, threads, latency median/p10/p90,
    throughput, peak memory, commit);
  - per-op time bars for every run with a profile: the op classes, and the
    slowest kernel sites named by the ONNX nodes they came from;
  - latency vs batch: the runs grouped by model (and "label"/"config" when
    the JSON has one), one line per group, p10-p90 as whiskers;
  - accuracy vs speed, only when --accuracy files are given: one point per
    row {"config": name, "accuracy": value (or "value"), "metric": what it
    is, and a speed: "median_ms" (or "ms"), "tokens_per_s" or
    "samples_per_s"}; each row's numbers are plotted as given.

Plots are inline SVG (no JavaScript, no network, Python's standard library
only), so the file renders anywhere; test/Scripts/report-render.test checks it
in headless Chromium. docs/SCRIPTS.md, "report.py".
"""
import argparse
import html
import json
import math
import os
import sys

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
           "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def load_objects(path):
    """JSON objects in `path`: one object, a list, or JSON lines."""
    with open(path) as f:
        text = f.read()
    text = text.strip()
    if not text:
        raise ValueError(f"{path}: empty file")
    try:
        data = json.loads(text)
        objs = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        objs = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            try:
                objs.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from None
    for o in objs:
        if not isinstance(o, dict):
            raise ValueError(f"{path}: expected JSON objects, got {type(o).__name__}")
        o.setdefault("_file", os.path.basename(path))
    return objs


def esc(s):
    return html.escape(str(s), quote=True)


def fmt(v, digits=3):
    if v is None:
        return "&ndash;"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return esc(v)


def nice_ticks(lo, hi, n=5):
    """About n round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / n))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    start = math.floor(lo / step + 1e-9) * step
    ticks, i = [], 0
    while not ticks or ticks[-1] < hi - step * 1e-9:
        ticks.append(round(start + i * step, 12))
        i += 1
    return ticks


def tick_label(v):
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.3g}"
    return f"{v:g}"


def bar_chart(items, unit, title):
    """Horizontal bars; items = [(label, value, tooltip)]."""
    if not items:
        return ""
    row, left, right, top = 22, 330, 90, 28
    width = 980
    height = top + row * len(items) + 30
    vmax = max(v for _, v, _ in items) or 1.0
    plot_w = width - left - right
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="{esc(title)}">',
           f'<text x="{left}" y="18" class="title">{esc(title)}</text>']
    for t in nice_ticks(0, vmax):
        if t > vmax * 1.05:
            break
        x = left + plot_w * t / vmax
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
                   f'y2="{height - 26}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 10}" class="tick" '
                   f'text-anchor="middle">{tick_label(t)}</text>')
    for i, (label, v, tip) in enumerate(items):
        y = top + i * row
        w = max(plot_w * v / vmax, 1.0)
        short = label if len(label) <= 48 else label[:45] + "..."
        out.append(f'<text x="{left - 6}" y="{y + 15}" class="label" '
                   f'text-anchor="end">{esc(short)}</text>')
        out.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
                   f'fill="{PALETTE[0]}"><title>{esc(tip)}</title></rect>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + 15}" class="value">'
                   f'{fmt(float(v))} {esc(unit)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def xy_chart(series, xlabel, ylabel, title, lines=True, logx=False, zero_y=True):
    """series = [(name, [(x, y, ylo, yhi, tip)])]; whiskers when ylo/yhi."""
    pts = [p for _, ps in series for p in ps]
    if not pts:
        return ""
    width, height = 760, 420
    left, right, top, bottom = 70, 200, 34, 50
    pw, ph = width - left - right, height - top - bottom
    xs = [p[0] for p in pts]
    ys = [v for p in pts for v in (p[1], p[2], p[3]) if v is not None]
    if logx and min(xs) > 0:
        fx = math.log2
    else:
        logx, fx = False, (lambda v: v)
    x0, x1 = fx(min(xs)), fx(max(xs))
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (x1 - x0) * 0.06
    x0, x1 = x0 - pad, x1 + pad
    if zero_y:
        yt = nice_ticks(min(0.0, min(ys)), max(ys) * 1.08 if max(ys) > 0 else 1.0)
    else:
        spread = (max(ys) - min(ys)) or abs(max(ys)) or 1.0
        yt = nice_ticks(min(ys) - 0.1 * spread, max(ys) + 0.1 * spread)
    y0, y1 = yt[0], yt[-1]
    if y1 == y0:
        y1 = y0 + 1

    def px(v):
        return left + pw * (fx(v) - x0) / (x1 - x0)

    def py(v):
        return top + ph * (1 - (v - y0) / (y1 - y0))

    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="{esc(title)}">',
           f'<text x="{left}" y="20" class="title">{esc(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame"/>']
    for t in yt:
        out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + pw}" '
                   f'y2="{py(t):.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" class="tick" '
                   f'text-anchor="end">{tick_label(t)}</text>')
    for xv in sorted(set(xs)):
        out.append(f'<text x="{px(xv):.1f}" y="{top + ph + 18}" class="tick" '
                   f'text-anchor="middle">{tick_label(xv)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 10}" class="axis" '
               f'text-anchor="middle">{esc(xlabel)}</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" class="axis" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + ph / 2})">{esc(ylabel)}</text>')
    for si, (name, ps) in enumerate(series):
        color = PALETTE[si % len(PALETTE)]
        ps = sorted(ps, key=lambda p: p[0])
        if lines and len(ps) > 1:
            d = " ".join(f"{px(p[0]):.1f},{py(p[1]):.1f}" for p in ps)
            out.append(f'<polyline points="{d}" fill="none" stroke="{color}" '
                       f'stroke-width="2"/>')
        for x, y, lo, hi, tip in ps:
            if lo is not None and hi is not None:
                out.append(f'<line x1="{px(x):.1f}" y1="{py(lo):.1f}" x2="{px(x):.1f}" '
                           f'y2="{py(hi):.1f}" stroke="{color}" stroke-width="1.5"/>')
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="5" fill="{color}">'
                       f'<title>{esc(tip)}</title></circle>')
            if not lines:
                out.append(f'<text x="{px(x) + 8:.1f}" y="{py(y) - 6:.1f}" '
                           f'class="label">{esc(tip.split(":")[0])}</text>')
        ly = top + 14 + si * 18
        out.append(f'<rect x="{left + pw + 12}" y="{ly - 9}" width="12" height="12" '
                   f'fill="{color}"/>')
        short = name if len(name) <= 26 else name[:23] + "..."
        out.append(f'<text x="{left + pw + 30}" y="{ly + 1}" class="label">'
                   f'{esc(short)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def run_label(o):
    for k in ("label", "config"):
        if o.get(k):
            return str(o[k])
    return str(o.get("model") or os.path.splitext(o["_file"])[0])


def runs_table(runs):
    head = ("file", "model", "label", "batch", "threads", "median ms", "p10 ms",
            "p90 ms", "runs/s", "samples/s", "peak RSS MB", "commit")
    rows = []
    for o in runs:
        rows.append((o["_file"], o.get("model"), run_label(o), o.get("batch"),
                     o.get("threads"), o.get("median_ms"), o.get("p10_ms"),
                     o.get("p90_ms"), o.get("runs_per_s"), o.get("samples_per_s"),
                     o.get("peak_rss_mb"), o.get("commit")))
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def profile_section(o, top):
    runs = o.get("profile_runs") or o.get("iters") or 1
    classes = [(c["op_class"], float(c.get("ms_per_run") or 0),
                f'{c["op_class"]}: {c.get("ms_per_run")} ms/run, '
                f'{c.get("calls_per_run")} calls/run') for c in o.get("profile", [])]
    classes.sort(key=lambda t: -t[1])
    parts = [f'<h3>{esc(run_label(o))} <span class="sub">({esc(o["_file"])}, '
             f'{esc(runs)} run(s))</span></h3>']
    total = sum(v for _, v, _ in classes)
    parts.append(f"<p>Profiled kernel time: {fmt(total)} ms per run"
                 + (f" of {fmt(o['median_ms'])} ms median latency"
                    if o.get("median_ms") else "") + ".</p>")
    parts.append(bar_chart(classes, "ms", "time per op class (ms per run)"))
    sites = [s for s in o.get("sites", [])]
    sites.sort(key=lambda s: -(s.get("ms_per_run") or 0))
    if sites:
        items = []
        for s in sites[:top]:
            nodes = s.get("onnx_nodes") or []
            name = nodes[0] + (f" (+{len(nodes) - 1})" if len(nodes) > 1 else "") \
                if nodes else s["op_class"]
            label = f'#{s.get("id")} {s["op_class"]}: {name}'
            tip = (f'site {s.get("id")}, {s["op_class"]}; tfc ops: {s.get("tfc_ops")}; '
                   f'ONNX nodes: {", ".join(nodes) or "none"}')
            items.append((label, float(s.get("ms_per_run") or 0), tip))
        parts.append(bar_chart(items, "ms",
                               f"slowest {len(items)} of {len(sites)} kernel sites "
                               "(ms per run; hover for all ONNX nodes)"))
        rows = ["<details><summary>all sites</summary><table><tr><th>site</th>"
                "<th>op class</th><th>tfc ops</th><th>ONNX nodes</th>"
                "<th>calls/run</th><th>ms/run</th></tr>"]
        for s in sites:
            rows.append(f'<tr><td>{fmt(s.get("id"))}</td><td>{esc(s["op_class"])}</td>'
                        f'<td>{esc(s.get("tfc_ops", ""))}</td>'
                        f'<td>{esc(", ".join(s.get("onnx_nodes") or []))}</td>'
                        f'<td>{fmt(s.get("calls_per_run"))}</td>'
                        f'<td>{fmt(s.get("ms_per_run"))}</td></tr>')
        rows.append("</table></details>")
        parts.append("\n".join(rows))
    return "\n".join(parts)


def latency_section(runs):
    groups = {}
    for o in runs:
        if o.get("batch") is None or o.get("median_ms") is None:
            continue
        name = run_label(o)
        if o.get("threads"):
            name += f" ({o['threads']} thr)"
        groups.setdefault(name, []).append(
            (float(o["batch"]), float(o["median_ms"]), o.get("p10_ms"), o.get("p90_ms"),
             f'batch {o["batch"]}: median {o["median_ms"]} ms '
             f'(p10 {o.get("p10_ms")}, p90 {o.get("p90_ms")})'))
    if not groups:
        return ("<p>No run reports a batch size (tfc-run prints \"batch\" when an "
                "input dim's symbol names it), so there is no latency-vs-batch plot.</p>")
    series = sorted(groups.items())
    return xy_chart(series, "batch", "latency, median ms (whiskers: p10-p90)",
                    "latency vs batch", lines=True, logx=True)


def accuracy_section(rows):
    pts = {}
    metrics = set()
    for r in rows:
        acc = r.get("accuracy", r.get("value"))
        name = r.get("config") or r.get("label") or r.get("model")
        if acc is None or name is None:
            raise ValueError(f'{r["_file"]}: an accuracy row needs "config" and '
                             f'"accuracy" (or "value"): {json.dumps(r)[:200]}')
        if r.get("median_ms", r.get("ms")) is not None:
            speed, unit = float(r.get("median_ms", r.get("ms"))), "latency, median ms"
        elif r.get("tokens_per_s") is not None:
            speed, unit = float(r["tokens_per_s"]), "tokens/s"
        elif r.get("samples_per_s") is not None:
            speed, unit = float(r["samples_per_s"]), "samples/s"
        else:
            raise ValueError(f'{r["_file"]}: accuracy row "{name}" has no speed '
                             '(median_ms, ms, tokens_per_s or samples_per_s)')
        metrics.add(r.get("metric", "accuracy"))
        pts.setdefault(unit, []).append((speed, float(acc), None, None,
                                         f"{name}: {acc} at {speed:g} {unit}"))
    out = []
    ylabel = ", ".join(sorted(metrics))
    for unit, ps in sorted(pts.items()):
        out.append(xy_chart([(ylabel, ps)], unit, ylabel,
                            f"accuracy vs speed ({unit})", lines=False,
                            zero_y=False))
    table = ["<table><tr><th>config</th><th>metric</th><th>accuracy</th>"
             "<th>speed</th><th>file</th></tr>"]
    for r in rows:
        speed = next((f"{r[k]} {k}" for k in ("median_ms", "ms", "tokens_per_s",
                                               "samples_per_s") if r.get(k) is not None), "")
        table.append(f'<tr><td>{esc(r.get("config") or r.get("label") or r.get("model"))}</td>'
                     f'<td>{esc(r.get("metric", "accuracy"))}</td>'
                     f'<td>{fmt(r.get("accuracy", r.get("value")))}</td>'
                     f'<td>{esc(speed)}</td><td>{esc(r["_file"])}</td></tr>')
    table.append("</table>")
    return "\n".join(out + ["\n".join(table)])


CSS = """
body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
h3 { font-size: 15px; } .sub { color: #777; font-weight: normal; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
svg.chart { display: block; margin: 10px 0; font-size: 11px; }
svg .title { font-size: 13px; font-weight: bold; fill: #222; }
svg .grid { stroke: #e4e4e4; stroke-width: 1; }
svg .frame { fill: none; stroke: #bbb; }
svg .tick, svg .value { fill: #555; } svg .label { fill: #222; }
svg .axis { fill: #333; font-size: 12px; }
"""


def build_report(runs, acc_rows, top, title):
    parts = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{esc(title)}"
             f"</title><style>{CSS}</style></head><body>", f"<h1>{esc(title)}</h1>"]
    meta = sorted({(o.get("cpu"), o.get("kernel_isa")) for o in runs if o.get("cpu")})
    for cpu, isa in meta:
        parts.append(f"<p>Machine: {esc(cpu)}; kernels {esc(isa)}.</p>")
    parts.append("<h2>Runs</h2>")
    parts.append(runs_table(runs))
    profiled = [o for o in runs if o.get("profile")]
    if profiled:
        parts.append("<h2>Time per op</h2>")
        for o in profiled:
            parts.append(profile_section(o, top))
    parts.append("<h2>Latency vs batch</h2>")
    parts.append(latency_section(runs))
    if acc_rows:
        parts.append("<h2>Accuracy vs speed</h2>")
        parts.append(accuracy_section(acc_rows))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="tfc-run --json outputs")
    ap.add_argument("--accuracy", nargs="*", default=[],
                    help="JSON rows with config, accuracy, metric and a speed")
    ap.add_argument("-o", "--output", required=True, help="HTML file to write")
    ap.add_argument("--top", type=int, default=20, help="kernel sites to plot")
    ap.add_argument("--title", default="tfc performance report")
    a = ap.parse_args(argv)
    try:
        runs = [o for p in a.runs for o in load_objects(p)]
        acc = [o for p in a.accuracy for o in load_objects(p)]
        bad = [o["_file"] for o in runs if o.get("ok") is False]
        if bad:
            raise ValueError(f"failed runs (\"ok\": false) in {', '.join(sorted(set(bad)))}")
        page = build_report(runs, acc, a.top, a.title)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"report.py: error: {e}", file=sys.stderr)
        return 1
    with open(a.output, "w") as f:
        f.write(page)
    print(f"report.py: wrote {a.output} ({len(runs)} run(s), "
          f"{sum(1 for o in runs if o.get('profile'))} profiled, "
          f"{len(acc)} accuracy row(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
