"""Checks tfc-run --json's weights report (quant-weights-report.test).

For each JSON file: the rows' bytes add up to the file's data (at most the
.tfcw header and alignment padding less than weights_bytes), every row has
a positive size, and one line per file lists the (op class, precision)
pairs in a fixed class order, for FileCheck.
"""
import json
import sys

ORDER = ["mlp", "qkv", "out_proj", "lm_head", "linear", "gated_mlp", "unpacked"]

for path in sys.argv[1:]:
    d = json.load(open(path))
    rows = d["weights_by_class"]
    total = sum(r["bytes"] for r in rows)
    if not rows or not 0 < total <= d["weights_bytes"] or \
            d["weights_bytes"] - total > 1 << 20:
        sys.exit(f"{path}: rows add up to {total} of {d['weights_bytes']} bytes")
    if any(r["bytes"] <= 0 or r["tensors"] <= 0 for r in rows):
        sys.exit(f"{path}: empty row in {rows}")
    rows.sort(key=lambda r: (ORDER.index(r["op_class"]) if r["op_class"] in ORDER
                             else len(ORDER), r["precision"]))
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    print(f"{name}: " + ", ".join(f"{r['op_class']} {r['precision']}" for r in rows))
