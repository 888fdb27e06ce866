"""Replace (or append) a marked block of a docs file: the --write-docs step of
bench_table.py, bench_prune.py and accuracy_quant.py.

The block is `<!-- TAG: begin -->`, the command line in backticks, a blank
line, the body, `<!-- TAG: end -->`; a file without the markers gets the
block appended at its end."""
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
