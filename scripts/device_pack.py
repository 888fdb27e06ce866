#!/usr/bin/env python3
"""Move large files (weights) to the lent GPU machine, which takes at most
64 MiB per call (/work/.library/device/README.md): cut each file into blocks,
byte-shuffle each block (the 4 bytes of every f32 go to 4 planes, which makes
the exponent bytes compressible), zlib-compress it, and write one part file
per block, each under the limit; `unpack` rebuilds the files exactly (checked
by SHA-256). Standard library and numpy only, so it runs on both machines.

  device_pack.py pack DIR FILE...     parts DIR/<name>.pNNN + DIR/<name>.json

A later .tfcw whose weights are those of the first .tfcw packed (the same
bytes, or its f32 weights rounded to f16 / bf16: a --precision build of the
same model) carries only what differs: each such entry is rebuilt from the
base file at unpack time (and checked by the file's SHA-256).
  device_pack.py groups DIR MAX_MB     part paths in groups of <= MAX_MB (one
                                       line per device call's carry)
  device_pack.py unpack DIR OUTDIR     every complete file in DIR -> OUTDIR
"""
import hashlib, json, os, struct, sys, zlib

import numpy as np

BLOCK = 24 << 20  # input bytes per part: parts of 15-24 MB pack ~2-3 to a call
MAX_PART = 58 << 20  # a part and the working tree must fit one call


def shuffle(b: bytes) -> bytes:
    n = len(b) // 4 * 4
    a = np.frombuffer(b[:n], dtype=np.uint8).reshape(-1, 4)
    return a.T.tobytes() + b[n:]


def unshuffle(b: bytes, size: int) -> bytes:
    n = size // 4 * 4
    a = np.frombuffer(b[:n], dtype=np.uint8).reshape(4, -1)
    return a.T.tobytes() + b[n:]


def tfcw_data_key(path):
    """(data_size, data_hash, header_size) of a .tfcw file, else None."""
    with open(path, "rb") as f:
        head = f.read(40)
    if len(head) < 40 or head[:8] != b"TFCWGT01":
        return None
    hs, ds, h = struct.unpack_from("<QQQ", head, 8)
    return ds, h, hs


def tfcw_entries(path):
    """[(offset, nbytes, dtype)] of a .tfcw file's entry table, and the
    header size."""
    with open(path, "rb") as f:
        head = f.read(40)
        hs, = struct.unpack_from("<Q", head, 8)
        n, = struct.unpack_from("<I", head, 32)
        table = f.read(hs - 40)
    pos, out = 0, []
    for _ in range(n):
        off, nb, dt, rank = struct.unpack_from("<QQII", table, pos)
        pos += 24 + 8 * rank
        nl, = struct.unpack_from("<I", table, pos)
        pos += 4 + nl
        out.append((off, nb, dt))
    return out, hs


def tfcw_entries_bytes(data):
    """tfcw_entries of a file held in memory (only the header size is used)."""
    hs, = struct.unpack_from("<Q", data, 8)
    return None, hs


def to_half(a, conv):
    """f32 array -> f16 / bf16 bytes, rounded to nearest even as tfc does."""
    if conv == "f16":
        return a.astype(np.float16).tobytes()
    bits = a.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return bits.astype(np.uint16).tobytes()


def derive(base, f):
    """Entries of .tfcw `f` that are entries of `base` (copied or rounded to
    half): [[conv, base_offset, nbytes_in_base, offset, nbytes]] (data-section
    offsets), and f's bytes with those ranges zeroed."""
    bent, bhs = tfcw_entries(base)
    bdata = open(base, "rb").read()[bhs:]
    index = {}
    for off, nb, dt in bent:
        raw = bdata[off:off + nb]
        index.setdefault(hashlib.sha1(raw).digest(), ("copy", off, nb))
        if dt == 0 and nb % 4 == 0:
            a = np.frombuffer(raw, dtype=np.float32)
            for conv in ("f16", "bf16"):
                index.setdefault(hashlib.sha1(to_half(a, conv)).digest(),
                                 (conv, off, nb))
    fent, fhs = tfcw_entries(f)
    data = bytearray(open(f, "rb").read())
    ops = []
    for off, nb, dt in fent:
        if nb < 4096:
            continue
        hit = index.get(hashlib.sha1(data[fhs + off:fhs + off + nb]).digest())
        if hit:
            ops.append([hit[0], hit[1], hit[2], off, nb])
            data[fhs + off:fhs + off + nb] = bytes(nb)
    return ops, bytes(data)


def pack(out, files):
    os.makedirs(out, exist_ok=True)
    bases = {}  # (data_size, data_hash) -> name of a packed .tfcw
    first_tfcw = []  # [name, path] of the first .tfcw packed in full
    for f in files:
        name = os.path.basename(f)
        key = tfcw_data_key(f)
        if key and key[:2] in bases:
            # Same data section as a file already packed (tfc lays weights
            # out by content): carry only this file's header.
            header = open(f, "rb").read(key[2])
            p = f"{name}.header"
            with open(os.path.join(out, p), "wb") as dst:
                dst.write(header)
            meta = {"name": name, "base": bases[key[:2]], "header": p,
                    "sha256": hashlib.sha256(open(f, "rb").read()).hexdigest(),
                    "parts": []}
            with open(os.path.join(out, name + ".json"), "w") as m:
                json.dump(meta, m)
            print(f"{name}: header only ({len(header)} bytes), data of {bases[key[:2]]}")
            continue
        derived = None
        if key and first_tfcw:
            ops, residual = derive(first_tfcw[1], f)
            if ops:
                derived = {"from": first_tfcw[0], "ops": ops}
        if key:
            bases[key[:2]] = name
            if not first_tfcw:
                first_tfcw.append(name)
                first_tfcw.append(f)
        h = hashlib.sha256()
        parts = []
        def emit(b):
            z = zlib.compress(shuffle(b), 6)
            if len(z) > MAX_PART and len(b) > 1 << 20:  # poorly compressible
                half = len(b) // 2 // 4 * 4
                emit(b[:half])
                emit(b[half:])
                return
            p = f"{name}.p{len(parts):03d}"
            with open(os.path.join(out, p), "wb") as dst:
                dst.write(z)
            parts.append([p, len(b)])

        if derived:
            h.update(open(f, "rb").read())
            for i in range(0, len(residual), BLOCK):
                emit(residual[i:i + BLOCK])
        else:
            with open(f, "rb") as src:
                while True:
                    b = src.read(BLOCK)
                    if not b:
                        break
                    h.update(b)
                    emit(b)
        meta = {"name": name, "sha256": h.hexdigest(), "parts": parts}
        if derived:
            meta["derived"] = derived
        with open(os.path.join(out, name + ".json"), "w") as m:
            json.dump(meta, m)
        total = sum(os.path.getsize(os.path.join(out, p)) for p, _ in parts)
        print(f"{name}: {os.path.getsize(f)} -> {total} bytes in {len(parts)} parts")


def groups(d, max_mb):
    cur, size = [], 0
    for m in sorted(x for x in os.listdir(d) if x.endswith(".json")):
        meta = json.load(open(os.path.join(d, m)))
        for p in [q for q, _ in meta["parts"]] + ([meta["header"]] if "header" in meta else []):
            s = os.path.getsize(os.path.join(d, p))
            if cur and size + s > max_mb << 20:
                print(" ".join(cur))
                cur, size = [], 0
            cur.append(os.path.join(d, p))
            size += s
        cur.append(os.path.join(d, m))
    if cur:
        print(" ".join(cur))


def unpack(d, out):
    os.makedirs(out, exist_ok=True)
    bad = 0
    metas = [json.load(open(os.path.join(d, m)))
             for m in sorted(x for x in os.listdir(d) if x.endswith(".json"))]
    # Whole files first, then those derived from them, then header-only ones.
    for meta in sorted(metas, key=lambda m: 2 if "base" in m else "derived" in m):
        if "base" in meta:
            base = os.path.join(out, meta["base"])
            key = tfcw_data_key(base) if os.path.exists(base) else None
            if not key:
                print(f"{meta['name']}: base {meta['base']} missing", file=sys.stderr)
                bad += 1
                continue
            with open(os.path.join(out, meta["name"]), "wb") as dst, open(base, "rb") as src:
                dst.write(open(os.path.join(d, meta["header"]), "rb").read())
                src.seek(key[2])
                while chunk := src.read(64 << 20):
                    dst.write(chunk)
            h = hashlib.sha256(open(os.path.join(out, meta["name"]), "rb").read()).hexdigest()
            ok = h == meta["sha256"]
            print(f"{meta['name']}: {'ok' if ok else 'SHA-256 MISMATCH'} (data of {meta['base']})")
            bad += not ok
            continue
        missing = [p for p, _ in meta["parts"] if not os.path.exists(os.path.join(d, p))]
        if missing:
            print(f"{meta['name']}: missing {missing}", file=sys.stderr)
            bad += 1
            continue
        if "derived" in meta:
            src = os.path.join(out, meta["derived"]["from"])
            if not os.path.exists(src):
                print(f"{meta['name']}: base {meta['derived']['from']} missing", file=sys.stderr)
                bad += 1
                continue
            data = bytearray()
            for p, size in meta["parts"]:
                data += unshuffle(zlib.decompress(open(os.path.join(d, p), "rb").read()), size)
            _, fhs = tfcw_entries_bytes(data)
            sent, shs = tfcw_entries(src)
            sdata = open(src, "rb").read()[shs:]
            for conv, boff, bnb, off, nb in meta["derived"]["ops"]:
                raw = sdata[boff:boff + bnb]
                if conv != "copy":
                    raw = to_half(np.frombuffer(raw, dtype=np.float32), conv)
                data[fhs + off:fhs + off + nb] = raw
            open(os.path.join(out, meta["name"]), "wb").write(data)
            ok = hashlib.sha256(data).hexdigest() == meta["sha256"]
            print(f"{meta['name']}: {'ok' if ok else 'SHA-256 MISMATCH'} "
                  f"({len(meta['derived']['ops'])} entries from {meta['derived']['from']})")
            bad += not ok
            continue
        h = hashlib.sha256()
        with open(os.path.join(out, meta["name"]), "wb") as dst:
            for p, size in meta["parts"]:
                b = unshuffle(zlib.decompress(open(os.path.join(d, p), "rb").read()), size)
                h.update(b)
                dst.write(b)
        ok = h.hexdigest() == meta["sha256"]
        print(f"{meta['name']}: {'ok' if ok else 'SHA-256 MISMATCH'}")
        bad += not ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("pack", "groups", "unpack"):
        sys.exit(__doc__)
    {"pack": lambda: pack(sys.argv[2], sys.argv[3:]),
     "groups": lambda: groups(sys.argv[2], int(sys.argv[3])),
     "unpack": lambda: unpack(sys.argv[2], sys.argv[3])}[sys.argv[1]]()
