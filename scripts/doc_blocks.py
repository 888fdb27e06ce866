"""Replace (or append) a marked block of a docs file: the --write-docs step of
bench_table.py, bench_prune.py and accuracy_quant.py.

The block is `<!-- TAG: begin -->`, the command line in backticks, a blank
line, the body, `<!-- TAG: end -->`; a file without the markers gets the
block appended at its end. Benchmark tags name the CPU (cpu_key), so runs on
another machine type (an AMD Zen 5, an Intel Xeon) keep their own blocks."""
import re
from pathlib import Path


def write_block(doc: Path, tag: str, command: str, body: str) -> None:
    s = doc.read_text()
    begin, end = f"<!-- {tag}: begin -->", f"<!-- {tag}: end -->"
    block = f"{begin}\n`{command}`\n\n{body}\n{end}"
    if begin in s:
        s = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, s, flags=re.S)
    else:
        s = s.rstrip() + "\n\n" + block + "\n"
    doc.write_text(s)


def cpu_key(cpu: str) -> str:
    """A short tag for the CPU tfc-run names ("AMD EPYC (family 26 model 2,
    Zen 5)" -> "zen5", "Intel(R) Xeon(R) Processor (family 6 model 167)" ->
    "f6m167"); "" when it names neither."""
    cpu = cpu or ""
    m = re.search(r"Zen (\d+)", cpu)
    if m:
        return "zen" + m.group(1)
    m = re.search(r"family (\d+) model (\d+)", cpu)
    return f"f{m.group(1)}m{m.group(2)}" if m else ""
