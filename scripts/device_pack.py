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

A .tfcw compiled from a model whose weights all come from a GGUF file can
travel by reference to that GGUF (~100 MB of Q4_1/Q8_0 blocks instead of
300-650 MB of f32/bf16): pack-gguf loads the HF model from the GGUF as
scripts/export_models.py does (float32; transformers dequantizes with numpy on
the CPU, so every machine gets the same bits), and finds for each entry of
each .tfcw an HF tensor and a transform (identity or 2-D transpose, or two
tensors of one module transposed side by side, kept f32
or rounded to f16 / bf16) whose bytes equal the entry's; everything else
(headers, padding, computed constants) travels as raw bytes. unpack-gguf
rebuilds the GGUF from its parts (left in OUTDIR, loadable by transformers),
then every .tfcw byte for byte, and checks each entry and each file's SHA-256.
It needs numpy, torch, transformers and gguf (a pure-python wheel: install it
with `pip install --no-deps --target=DIR` and put DIR on PYTHONPATH).
  device_pack.py pack-gguf DIR GGUF FILE.tfcw...   the GGUF in parts (as
                              `pack`) + DIR/gguf-recipe.json + DIR/gguf-raw.z
  device_pack.py unpack-gguf DIR OUTDIR            the GGUF and the .tfcw
                              files -> OUTDIR (exit 1 naming what differs)
(`groups DIR 48` then lists SmolLM2-135M's pack as two calls' carry.)
"""
import hashlib, itertools, json, os, struct, sys, time, zlib
from collections import Counter

import numpy as np

BLOCK = 24 << 20  # input bytes per part: parts of 15-24 MB pack ~2-3 to a call
MAX_PART = 58 << 20  # a part and the working tree must fit one call
RECIPE, RAW = "gguf-recipe.json", "gguf-raw.z"  # pack-gguf's files


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
    """[(offset, nbytes, dtype, dims, name)] of a .tfcw file's entry table,
    and the header size."""
    with open(path, "rb") as f:
        head = f.read(40)
        hs, = struct.unpack_from("<Q", head, 8)
        n, = struct.unpack_from("<I", head, 32)
        table = f.read(hs - 40)
    pos, out = 0, []
    for _ in range(n):
        off, nb, dt, rank = struct.unpack_from("<QQII", table, pos)
        dims = struct.unpack_from(f"<{rank}q", table, pos + 24)
        pos += 24 + 8 * rank
        nl, = struct.unpack_from("<I", table, pos)
        out.append((off, nb, dt, dims, table[pos + 4:pos + 4 + nl].decode()))
        pos += 4 + nl
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
    for off, nb, dt, *_ in bent:
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
    for off, nb, dt, *_ in fent:
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


def metas(d):
    """The packed files' .json in DIR (not pack-gguf's recipe)."""
    return sorted(x for x in os.listdir(d) if x.endswith(".json") and x != RECIPE)


def groups(d, max_mb):
    cur, size = [], 0
    items = [(m, json.load(open(os.path.join(d, m)))) for m in metas(d)]
    if os.path.exists(os.path.join(d, RECIPE)):
        items.append((RECIPE, {"parts": [[RAW, 0]]}))
    for m, meta in items:
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
    # Whole files first, then those derived from them, then header-only ones.
    for meta in sorted((json.load(open(os.path.join(d, m))) for m in metas(d)),
                       key=lambda m: 2 if "base" in m else "derived" in m):
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
    return bad


def hf_state(gguf):
    """{name: contiguous f32 numpy array} of the HF model loaded from `gguf`
    exactly as scripts/export_models.py loads it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the device has no network
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(gguf)), gguf_file=os.path.basename(gguf),
        dtype=torch.float32, attn_implementation="eager")
    return {k: np.ascontiguousarray(v.numpy()) for k, v in model.state_dict().items()
            if v.dtype == torch.float32}


def render(a, tr, conv):
    """The bytes of HF tensor `a` transposed ("t") or not ("id"), or of
    tensors `a` = (A, B, ...) transposed and side by side ("tcat": [A^T B^T
    ...], how tfc's GPU lowering joins gate and up projections, and q, k and
    v), in f32 or rounded to f16 / bf16 (to_half: as tfc rounds)."""
    if tr == "t":
        a = np.ascontiguousarray(a.T)
    elif tr == "tcat":
        a = np.ascontiguousarray(np.concatenate([x.T for x in a], axis=1))
    return a.tobytes() if conv == "f32" else to_half(a, conv)


def hf_tensor(sd, hf):
    """sd[hf], or the tuple (A, B, ...) for hf = "A|B|..." (None if a name is
    missing)."""
    names = hf.split("|")
    if not all(n in sd for n in names):
        return None
    return sd[names[0]] if len(names) == 1 else tuple(sd[n] for n in names)


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


def versions():
    from importlib.metadata import version
    return {p: version(p) for p in ("numpy", "torch", "transformers", "gguf")}


def pack_gguf(d, gguf, files):
    t0 = time.time()
    pack(d, [gguf])
    t1 = time.time()
    sd = hf_state(gguf)
    t2 = time.time()
    images = [open(f, "rb").read() for f in files]
    want = {}  # digest of an entry's bytes -> [(file index, file offset, nbytes, name)]
    for i, f in enumerate(files):
        ents, hs = tfcw_entries(f)
        for off, nb, dt, dims, name in ents:
            want.setdefault(digest(images[i][hs + off:hs + off + nb]), []).append(
                (i, hs + off, nb, name))
    sizes = {e[2] for es in want.values() for e in es}
    ops = [[] for _ in files]  # per file: [offset, nbytes, entry, hf, tr, conv, digest]
    for hf, a in sd.items():
        for tr in ("id", "t") if a.ndim == 2 else ("id",):
            for conv, w in (("f32", 4), ("f16", 2), ("bf16", 2)):
                if a.size * w not in sizes:
                    continue
                h = digest(render(a, tr, conv))
                for i, off, nb, name in want.pop(h, []):
                    ops[i].append([off, nb, name, hf, tr, conv, h])
    # 2-D tensors of one module with the same input size, joined ("tcat"):
    # pairs in any order (gate and up of a gated MLP), triples in the state
    # dict's order (an attention's q, k and v).
    parents = {}
    for hf, a in sd.items():
        if a.ndim == 2:
            parents.setdefault(hf.rsplit(".", 2)[0], []).append(hf)
    for names in parents.values():
        groups = [(x, y) for x in names for y in names if x != y]
        groups += list(itertools.combinations(names, 3))
        for g in groups:
            if len({sd[x].shape[1] for x in g}) != 1:
                continue
            for conv, w in (("f32", 4), ("f16", 2), ("bf16", 2)):
                if sum(sd[x].size for x in g) * w not in sizes:
                    continue
                h = digest(render(tuple(sd[x] for x in g), "tcat", conv))
                for i, off, nb, name in want.pop(h, []):
                    ops[i].append([off, nb, name, "|".join(g), "tcat", conv, h])
    # Whatever no entry covers (the header, padding, unmatched entries)
    # travels as raw [file offset, length, blob offset] ranges.
    recipe = {"gguf": os.path.basename(gguf), "versions": versions(), "files": []}
    blob = bytearray()
    for i, (f, img, fops) in enumerate(zip(files, images, ops)):
        fops.sort()
        raws, pos = [], 0
        for off, nb, *_ in fops + [[len(img), 0]]:
            if off > pos:
                raws.append([pos, off - pos, len(blob)])
                blob += img[pos:off]
            pos = off + nb
        recipe["files"].append({"name": os.path.basename(f), "size": len(img),
                                "sha256": hashlib.sha256(img).hexdigest(),
                                "ops": fops, "raw": raws})
        how = Counter(f"{op[4]}/{op[5]}" for op in fops)
        unmatched = [e[3] for es in want.values() for e in es if e[0] == i]
        print(f"{os.path.basename(f)}: {len(fops)} entries, {sum(op[1] for op in fops)} "
              f"bytes by reference ({dict(how)}); {sum(r[1] for r in raws)} bytes raw "
              f"(header, padding, entries {unmatched})")
    with open(os.path.join(d, RAW), "wb") as dst:
        dst.write(zlib.compress(bytes(blob), 9))
    with open(os.path.join(d, RECIPE), "w") as dst:
        json.dump(recipe, dst)
    print(f"{RAW}: {len(blob)} -> {os.path.getsize(os.path.join(d, RAW))} bytes; {RECIPE}: "
          f"{os.path.getsize(os.path.join(d, RECIPE))} bytes; GGUF parts {t1 - t0:.1f} s, "
          f"HF load {t2 - t1:.1f} s, matching {time.time() - t2:.1f} s")


def unpack_gguf(d, out):
    t0 = time.time()
    recipe = json.load(open(os.path.join(d, RECIPE)))
    gguf = os.path.join(out, recipe["gguf"])
    if unpack(d, out) or not os.path.exists(gguf):
        sys.exit(f"{recipe['gguf']}: not rebuilt from {d}")
    v = versions()
    if v != recipe["versions"]:
        print(f"note: packed with {recipe['versions']}, unpacking with {v}", file=sys.stderr)
    t1 = time.time()
    sd = hf_state(gguf)
    t2 = time.time()
    blob = zlib.decompress(open(os.path.join(d, RAW), "rb").read())
    bad = 0
    for f in recipe["files"]:
        data = bytearray(f["size"])
        for off, n, boff in f["raw"]:
            data[off:off + n] = blob[boff:boff + n]
        for off, nb, name, hf, tr, conv, h in f["ops"]:
            a = hf_tensor(sd, hf)
            b = render(a, tr, conv) if a is not None else b""
            if len(b) != nb or digest(b) != h:
                print(f"{f['name']}: entry {name} (from {hf}, {tr}, {conv}) MISMATCH",
                      file=sys.stderr)
                bad += 1
                continue
            data[off:off + nb] = b
        ok = hashlib.sha256(data).hexdigest() == f["sha256"]
        with open(os.path.join(out, f["name"]), "wb") as dst:
            dst.write(data)
        print(f"{f['name']}: {'ok' if ok else 'SHA-256 MISMATCH'} "
              f"({len(f['ops'])} entries from {recipe['gguf']})")
        bad += not ok
    print(f"GGUF {t1 - t0:.1f} s, HF load {t2 - t1:.1f} s, .tfcw {time.time() - t2:.1f} s")
    return bad


if __name__ == "__main__":
    cmds = {"pack": lambda a: pack(a[0], a[1:]),
            "groups": lambda a: groups(a[0], int(a[1])),
            "unpack": lambda a: unpack(a[0], a[1]),
            "pack-gguf": lambda a: pack_gguf(a[0], a[1], a[2:]),
            "unpack-gguf": lambda a: unpack_gguf(a[0], a[1])}
    if len(sys.argv) < 4 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    sys.exit(1 if cmds[sys.argv[1]](sys.argv[2:]) else 0)
