"""Text of generated tokens the way llama2.c's run.c prints them.

usage: llama2c_detok.py TOKENIZER.bin OUT.npz
OUT.npz is `tfc-run --decode N --outputs` (input_ids [b, total], row 0 is
used, starting with BOS). Pieces come from the llama2.c tokenizer file
(max_token_length, then per token: float score, int length, bytes); a
piece after BOS drops its leading space, <0xXX> pieces are raw bytes, and
non-printable single bytes are skipped (run.c's safe_printf). run.c ends
the text with a newline.
"""
import struct
import sys

import numpy as np


def main():
    tok_path, npz_path = sys.argv[1], sys.argv[2]
    ids = np.load(npz_path)["input_ids"][0].tolist()
    with open(tok_path, "rb") as f:
        data = f.read()
    (max_len,) = struct.unpack_from("<i", data, 0)
    off, pieces = 4, []
    while off < len(data):
        _score, n = struct.unpack_from("<fi", data, off)
        off += 8
        pieces.append(data[off:off + n])
        off += n
    out = bytearray()
    for prev, tok in zip(ids, ids[1:]):
        if tok == 1:  # BOS ends the text in run.c
            break
        piece = pieces[tok]
        if prev == 1 and piece.startswith(b" "):
            piece = piece[1:]
        if len(piece) == 6 and piece.startswith(b"<0x") and piece.endswith(b">"):
            piece = bytes([int(piece[3:5], 16)])
        if len(piece) == 1 and not (chr(piece[0]).isprintable() or chr(piece[0]).isspace()):
            continue
        out += piece
    sys.stdout.buffer.write(bytes(out) + b"\n")


if __name__ == "__main__":
    main()
