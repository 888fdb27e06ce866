#!/usr/bin/env python3
"""Checks that a browser screenshot of scripts/report.py's HTML shows plots.

  check_screenshot.py SHOT.png [--min-bar-pixels N] [--min-series N]

Decodes the PNG (8-bit RGB/RGBA, any filter; numpy + zlib only) and counts
pixels of report.py's palette: the first colour (bars, first series) must
cover at least --min-bar-pixels pixels and at least --min-series palette
colours must appear (one per plotted series), and the page must not be
blank (some non-white pixels). Exit 1 with a message otherwise.
"""
import argparse
import struct
import sys
import zlib

import numpy as np

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948"]


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, "
                         f"interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    stride = w * bpp
    raw = raw.reshape(h, stride + 1)
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        ft, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if ft == 0:
            cur = line
        elif ft == 2:
            cur = (line + prev) & 0xFF
        else:  # Sub, Average, Paeth: sequential in x
            cur = line.copy()
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                if ft == 1:
                    p = a
                elif ft == 3:
                    p = (a + b) >> 1
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (cur[x] + p) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)[:, :, :3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("png")
    ap.add_argument("--min-bar-pixels", type=int, default=2000)
    ap.add_argument("--min-series", type=int, default=2)
    a = ap.parse_args()
    try:
        img = read_png(a.png).astype(np.int32)
    except (OSError, ValueError, zlib.error) as e:
        print(f"check_screenshot: FAIL: {a.png}: {e}", file=sys.stderr)
        return 1
    h, w, _ = img.shape
    nonwhite = int((img.sum(axis=2) < 3 * 245).sum())
    counts = []
    for c in PALETTE:
        rgb = np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])
        counts.append(int((np.abs(img - rgb).max(axis=2) <= 6).sum()))
    print(f"check_screenshot: {w}x{h}, {nonwhite} non-white pixels, palette "
          f"pixels {counts}")
    if nonwhite < 0.01 * w * h:
        print("check_screenshot: FAIL: the page is (nearly) blank", file=sys.stderr)
        return 1
    if counts[0] < a.min_bar_pixels:
        print(f"check_screenshot: FAIL: {counts[0]} bar pixels < {a.min_bar_pixels}",
              file=sys.stderr)
        return 1
    series = sum(1 for c in counts if c >= 50)
    if series < a.min_series:
        print(f"check_screenshot: FAIL: {series} plotted colours < {a.min_series}",
              file=sys.stderr)
        return 1
    print(f"check_screenshot: OK: plots drawn ({series} colours)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
