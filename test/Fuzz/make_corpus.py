#!/usr/bin/env python3
"""Writes the fuzz seed corpus test/Fuzz/corpus/<target>/ (checked in).

  .venv/bin/python test/Fuzz/make_corpus.py [OUT_DIR]   (default: beside this file)

Needs numpy and onnx (the project venv). Deterministic: the same files on
every run. Names carry the expectation FuzzReplay.cpp checks:
  ok-*   valid inputs (seeds the fuzzers start from) that must load;
  bad-*  malformed inputs that must be refused with a message: truncated,
         bit-flipped (only where the damage is certain to be detected),
         wrong types, huge or negative dims, cycles, missing or unsafe
         external data, sizes that overflow, unsupported variants.
Files a fuzzer found (crash-*, ...) are added by hand next to them and must
only not crash.
"""
import io
import json
import os
import struct
import sys
import zipfile
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
written = {}


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    written[target] = written.get(target, 0) + 1


def truncations(data, cuts):
    for c in cuts:
        yield c, data[:c]


# ----------------------------------------------------------------- ONNX ----
def model(nodes, inputs, outputs, inits=(), opset=17, domain=""):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(domain, opset)])
    m.ir_version = 8
    return m.SerializeToString()


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def onnx_corpus():
    x, y = vi("x", [2, 3]), vi("y", [2, 3])
    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 4], np.arange(12, dtype=np.float32))
    valid = {
        "add": model([helper.make_node("Add", ["x", "x"], ["y"], name="add0")], [x], [y]),
        "matmul": model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                        [x], [vi("y", [2, 4])], [w]),
        "softmax": model([helper.make_node("Softmax", ["x"], ["s"], axis=-1, name="sm"),
                          helper.make_node("Mul", ["s", "x"], ["y"], name="mul")], [x], [y]),
        "reshape": model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")],
                         [x], [vi("y", [3, 2])],
                         [helper.make_tensor("shape", TensorProto.INT64, [2], [3, 2])]),
        "dynamic": model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                         [vi("x", ["batch", 3])], [vi("y", ["batch", 3])]),
    }
    for k, v in valid.items():
        put("onnx", f"ok-{k}.onnx", v)

    # Truncated: only cuts the protobuf parser must reject (checked here).
    base = valid["matmul"]
    n = 0
    for c in range(1, len(base) - 1, max(1, len(base) // 24)):
        try:
            onnx.ModelProto.FromString(base[:c])
            continue
        except Exception:
            pass
        put("onnx", f"bad-truncated-{c}.onnx", base[:c])
        n += 1
    # Bit flips the parser must reject (flips that still parse are skipped).
    rng = np.random.default_rng(11)
    flips = 0
    while flips < 8:
        b = bytearray(base)
        i = int(rng.integers(0, len(b)))
        b[i] ^= 1 << int(rng.integers(0, 8))
        try:
            onnx.ModelProto.FromString(bytes(b))
            continue
        except Exception:
            put("onnx", f"bad-bitflip-{i}.onnx", bytes(b))
            flips += 1
    put("onnx", "bad-empty.onnx", b"")
    put("onnx", "bad-not-protobuf.onnx", b"\xff" * 64)
    put("onnx", "bad-text.onnx", b"this is not an onnx model\n")

    add = helper.make_node("Add", ["x", "x"], ["y"], name="add0")
    bad = {
        "no-nodes": model([], [x], [y]),
        "no-opset": (lambda m: (m.ClearField("opset_import"), m.SerializeToString())[1])(
            onnx.ModelProto.FromString(valid["add"])),
        "opset-too-old": model([add], [x], [y], opset=1),
        "opset-too-new": model([add], [x], [y], opset=99),
        "unknown-op": model([helper.make_node("FancyOp", ["x"], ["y"], name="f")], [x], [y]),
        "unknown-domain": model([helper.make_node("Add", ["x", "x"], ["y"], name="a",
                                                  domain="com.example")], [x], [y]),
        "undefined-input": model([helper.make_node("Add", ["x", "nope"], ["y"], name="a")],
                                 [x], [y]),
        "cycle-self": model([helper.make_node("Add", ["x", "y"], ["y"], name="self")], [x], [y]),
        "cycle-two": model([helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
                            helper.make_node("Relu", ["a"], ["b"], name="n2"),
                            helper.make_node("Relu", ["b"], ["y"], name="n3")], [x], [y]),
        "output-not-produced": model([add], [x], [y, vi("z", [2, 3])]),
        "add-one-input": model([helper.make_node("Add", ["x"], ["y"], name="a")], [x], [y]),
        "input-string-type": model([add], [vi("x", [2, 3], TensorProto.STRING)], [y]),
        "input-undefined-type": model([add], [vi("x", [2, 3], TensorProto.UNDEFINED)], [y]),
        "input-complex-type": model([add], [vi("x", [2, 3], TensorProto.COMPLEX64)], [y]),
        "matmul-shape-mismatch": model([helper.make_node("MatMul", ["x", "x"], ["y"], name="mm")],
                                       [x], [y]),
        "transpose-bad-perm": model([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 5],
                                                      name="t")], [x], [y]),
        "transpose-dup-perm": model([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 0],
                                                      name="t")], [x], [y]),
        "softmax-axis-range": model([helper.make_node("Softmax", ["x"], ["y"], axis=7,
                                                      name="sm")], [x], [y]),
        "concat-axis-range": model([helper.make_node("Concat", ["x", "x"], ["y"], axis=9,
                                                     name="c")], [x], [vi("y", [4, 3])]),
        "reshape-bad-count": model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")],
                                   [x], [vi("y", [5, 5])],
                                   [helper.make_tensor("shape", TensorProto.INT64, [2], [5, 5])]),
        "reshape-two-minus-one": model(
            [helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")], [x], [y],
            [helper.make_tensor("shape", TensorProto.INT64, [2], [-1, -1])]),
        "reshape-shape-float": model(
            [helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")], [x], [y],
            [helper.make_tensor("shape", TensorProto.FLOAT, [2], [3.0, 2.0])]),
        "gather-index-range": model(
            [helper.make_node("Gather", ["x", "i"], ["y"], axis=0, name="g")], [x],
            [vi("y", [1, 3])], [helper.make_tensor("i", TensorProto.INT64, [1], [7])]),
        "gather-axis-range": model(
            [helper.make_node("Gather", ["x", "i"], ["y"], axis=5, name="g")], [x],
            [vi("y", [1, 3])], [helper.make_tensor("i", TensorProto.INT64, [1], [0])]),
        "split-sizes-mismatch": model(
            [helper.make_node("Split", ["x", "s"], ["a", "b"], axis=1, name="sp")], [x],
            [vi("a", [2, 2]), vi("b", [2, 2])],
            [helper.make_tensor("s", TensorProto.INT64, [2], [2, 2])]),
        "attribute-wrong-type": model(
            [helper.make_node("Softmax", ["x"], ["y"], axis=1.5, name="sm")], [x], [y]),
        "cast-to-string": model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING,
                                                  name="c")], [x], [y]),
        "negative-input-dim": model([add], [vi("x", [2, -3])], [y]),
    }
    for k, v in bad.items():
        # The importer reads an attribute's field without checking its
        # declared type (a float axis reads as 0): known gap, docs/RELIABILITY.md.
        # Constant Gather indices are not range-checked at import, and a
        # negative input dim reads as dynamic: known gaps, must not crash.
        odd = k in ("attribute-wrong-type", "gather-index-range", "negative-input-dim")
        put("onnx", f"{'odd' if odd else 'bad'}-{k}.onnx", v)

    # Initializers whose data disagree with their type or dims.
    def init_model(t, _tag):
        return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                     [x], [vi("y", [2, 4])], [t])
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, 4], raw_data=b"\0" * 20)
    put("onnx", "bad-init-raw-short.onnx", init_model(t, ""))
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, 4], float_data=[1.0] * 5)
    put("onnx", "bad-init-float-data-short.onnx", init_model(t, ""))
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 40, 1 << 40],
                    raw_data=b"\0" * 48)
    put("onnx", "bad-init-huge-dims.onnx", init_model(t, ""))
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 62, 16], raw_data=b"\0" * 48)
    put("onnx", "bad-init-dims-overflow.onnx", init_model(t, ""))
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, -4], raw_data=b"\0" * 48)
    put("onnx", "bad-init-negative-dim.onnx", init_model(t, ""))
    t = TensorProto(name="w", data_type=999, dims=[3, 4], raw_data=b"\0" * 48)
    put("onnx", "bad-init-unknown-type.onnx", init_model(t, ""))
    t = TensorProto(name="w", data_type=TensorProto.STRING, dims=[3, 4], string_data=[b"a"] * 12)
    put("onnx", "bad-init-string.onnx", init_model(t, ""))
    t = TensorProto(name="w", data_type=TensorProto.INT64, dims=[3, 4], raw_data=b"\0" * 96)
    put("onnx", "bad-init-wrong-type-for-matmul.onnx", init_model(t, ""))
    # External data: missing, unsafe or out-of-range locations.
    for tag, kv in {
        "missing": {"location": "missing.bin"},
        "no-location": {"offset": "0"},
        "parent-dir": {"location": "../secret.bin"},
        "absolute": {"location": "/etc/passwd"},
        "bad-offset": {"location": "model.onnx", "offset": "-5", "length": "48"},
        "huge-length": {"location": "model.onnx", "offset": "0", "length": str(1 << 62)},
        "past-end": {"location": "model.onnx", "offset": "100000", "length": "48"},
        "not-a-number": {"location": "model.onnx", "offset": "abc", "length": "48"},
    }.items():
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, 4],
                        data_location=TensorProto.EXTERNAL)
        for k, v in kv.items():
            e = t.external_data.add()
            e.key, e.value = k, v
        put("onnx", f"bad-external-{tag}.onnx", init_model(t, ""))


# ----------------------------------------------------------------- .tfcw ---
def tfc_hash64(data):
    M = (1 << 64) - 1

    def rotl(v, r):
        return ((v << r) | (v >> (64 - r))) & M
    size = len(data)
    h = 0x9E3779B97F4A7C15 ^ ((size * 0xC2B2AE3D27D4EB4F) & M)
    i = 0
    while i + 8 <= size:
        w = struct.unpack_from("<Q", data, i)[0]
        h = (rotl(h ^ ((w * 0xFF51AFD7ED558CCD) & M), 31) * 0x9E3779B97F4A7C15) & M
        i += 8
    if i < size:
        w = int.from_bytes(data[i:] + b"\0" * (8 - (size - i)), "little")
        h = (rotl(h ^ ((w * 0xFF51AFD7ED558CCD) & M), 31) * 0x9E3779B97F4A7C15) & M
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M
    h ^= h >> 29
    return h


def tfcw(entries, data, header_size=None, magic=b"TFCWGT01", data_size=None, hash_=None,
         num_entries=None, reserved=0):
    table = b""
    for e in entries:
        off, nbytes, dtype, dims, name = e
        table += struct.pack("<QQII", off, nbytes, dtype, len(dims))
        table += b"".join(struct.pack("<q", d) for d in dims)
        table += struct.pack("<I", len(name)) + name
    hs = header_size
    if hs is None:
        hs = (40 + len(table) + 63) // 64 * 64
    head = magic + struct.pack("<QQQII", hs, len(data) if data_size is None else data_size,
                               tfc_hash64(data) if hash_ is None else hash_,
                               len(entries) if num_entries is None else num_entries, reserved)
    body = head + table
    if hs > 1 << 16:  # a header_size past the end: no padding
        return body, data
    body = body + b"\0" * max(0, hs - len(body))
    return (body[:hs] if hs >= 40 else body), data


def tfcw_file(*a, **k):
    header, data = tfcw(*a, **k)
    return header + data


def tfcw_corpus():
    data = bytes(range(256)) * 2  # 512 bytes
    good = [(0, 48, 0, [3, 4], b"w"), (64, 16, 4, [2], b"ids"), (128, 0, 0, [0], b"empty")]
    ok = tfcw_file(good, data)
    put("tfcw", "ok-three-entries.tfcw", ok)
    put("tfcw", "ok-no-entries.tfcw", tfcw_file([], data))
    put("tfcw", "ok-empty-data.tfcw", tfcw_file([], b""))
    for c in (0, 7, 8, 39, 40, 64, 100, 127, 128, 300, len(ok) - 1):
        put("tfcw", f"bad-truncated-{c}.tfcw", ok[:c])
    # A flipped data byte: the hash must catch it.
    for i in (128, 300, len(ok) - 1):
        b = bytearray(ok)
        b[i] ^= 0x10
        put("tfcw", f"bad-bitflip-data-{i}.tfcw", bytes(b))
    cases = {
        "magic": tfcw_file(good, data, magic=b"TFCWGT02"),
        "header-unaligned": tfcw_file(good, data, header_size=136),
        "header-past-end": tfcw_file(good, data, header_size=1 << 40),
        "header-too-small": tfcw_file(good, data, header_size=0),
        "data-size-larger": tfcw_file(good, data, data_size=len(data) + 64),
        "data-size-huge": tfcw_file(good, data, data_size=(1 << 64) - 64),
        "hash": tfcw_file(good, data, hash_=12345),
        "num-entries-huge": tfcw_file(good, data, num_entries=0xFFFFFFFF),
        "num-entries-one-more": tfcw_file(good, data, num_entries=4),
        "entry-past-data": tfcw_file([(448, 128, 0, [32], b"w")], data),
        "entry-offset-wraps": tfcw_file([((1 << 64) - 64, 128, 0, [32], b"w")], data),
        "entry-nbytes-wraps": tfcw_file([(64, (1 << 64) - 32, 0, [4], b"w")], data),
        "entry-offset-unaligned": tfcw_file([(3, 16, 0, [4], b"w")], data),
        "entry-rank-huge": None,
        "entry-negative-dim": tfcw_file([(0, 16, 0, [-4], b"w")], data),
        "entry-dims-disagree": tfcw_file([(0, 16, 0, [5, 5], b"w")], data),
        "entry-dims-overflow": tfcw_file([(0, 16, 0, [1 << 62, 1 << 62], b"w")], data),
        "entry-bad-dtype": tfcw_file([(0, 16, 77, [4], b"w")], data),
        "entry-name-len-huge": None,
        "entry-rank-too-big": None,
        "entries-past-header": None,
    }
    # Hand-made tables: rank 2^31, a name longer than the header.
    tbl = struct.pack("<QQII", 0, 16, 0, 0x80000000)
    hs = 128
    head = b"TFCWGT01" + struct.pack("<QQQII", hs, len(data), tfc_hash64(data), 1, 0)
    cases["entry-rank-huge"] = (head + tbl).ljust(hs, b"\0") + data
    tbl = struct.pack("<QQII", 0, 16, 0, 1) + struct.pack("<q", 4) + struct.pack("<I", 0xFFFFFF00)
    cases["entry-name-len-huge"] = (head + tbl).ljust(hs, b"\0") + data
    tbl = struct.pack("<QQII", 0, 16, 0, 9) + b"".join(struct.pack("<q", 1) for _ in range(9))
    cases["entry-rank-too-big"] = (head + tbl + struct.pack("<I", 1) + b"w").ljust(hs, b"\0") + data
    head64 = b"TFCWGT01" + struct.pack("<QQQII", 64, len(data), tfc_hash64(data), 1, 0)
    tbl = struct.pack("<QQII", 0, 16, 0, 1) + struct.pack("<q", 4) + struct.pack("<I", 40) + b"n" * 40
    cases["entries-past-header"] = (head64 + tbl)[:64] + data
    for k, v in cases.items():
        # Only the offset addresses data; dims that disagree with nbytes
        # (packed or sub-byte weights) are allowed: must only not crash.
        put("tfcw", f"{'odd' if k == 'entry-dims-disagree' else 'bad'}-{k}.tfcw", v)


# ------------------------------------------------------------ .npy/.npz ----
def npy(arr):
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=False)
    return b.getvalue()


def npy_raw(header, payload=b"", version=(1, 0)):
    h = header.encode()
    if version[0] == 1:
        pad = 64 - (10 + len(h) + 1) % 64
        h = h + b" " * pad + b"\n"
        return b"\x93NUMPY" + bytes(version) + struct.pack("<H", len(h)) + h + payload
    pad = 64 - (12 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(h)) + h + payload


def npz(arrays, compress=False, names=None):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for i, (k, v) in enumerate(arrays.items()):
            z.writestr((names[i] if names else k + ".npy"), v if isinstance(v, bytes) else npy(v))
    return b.getvalue()


def npz_corpus():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    ids = np.array([[1, 2, 3]], dtype=np.int64)
    put("npz", "ok-f32.npy", npy(a))
    put("npz", "ok-i64.npy", npy(ids))
    put("npz", "ok-bool-0d.npy", npy(np.array(True)))
    put("npz", "ok-empty.npy", npy(np.zeros((0, 3), np.float32)))
    put("npz", "ok-stored.npz", npz({"x": a, "ids": ids}))
    put("npz", "ok-deflated.npz", npz({"x": a, "ids": ids}, compress=True))
    good = npy(a)
    for c in (0, 5, 9, 20, 70, len(good) - 1):
        put("npz", f"bad-npy-truncated-{c}.npy", good[:c])
    P = np.arange(12, dtype=np.float32).tobytes()
    bad_npy = {
        "magic": b"\x93NUMPX" + good[6:],
        "version-9": good[:6] + b"\x09\x00" + good[8:],
        "header-len-past-end": good[:8] + struct.pack("<H", 60000) + good[10:],
        "header-not-dict": npy_raw("[1, 2, 3]", P),
        "header-unterminated": npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4", P),
        "descr-object": npy_raw("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", P),
        "descr-complex": npy_raw("{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", P),
        "descr-big-endian": npy_raw("{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }", P),
        "descr-structured": npy_raw("{'descr': [('a', '<f4')], 'fortran_order': False, "
                                    "'shape': (3,), }", P),
        "fortran-order": npy_raw("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", P),
        "shape-negative": npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 4), }", P),
        "shape-huge": npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,"
                              " 1099511627776), }", P),
        "shape-overflow": npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': "
                                  "(4294967296, 4294967296, 16), }", P),
        "shape-not-int": npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (3.5, 4), }", P),
        "shape-rank-9": npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': "
                                "(1, 1, 1, 1, 1, 1, 1, 1, 12), }", P),
        "data-short": npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", P[:40]),
        "missing-shape": npy_raw("{'descr': '<f4', 'fortran_order': False, }", P),
        "v2-header-len-huge": good[:6] + b"\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + good[10:],
    }
    for k, v in bad_npy.items():
        put("npz", f"bad-npy-{k}.npy", v)
    z = npz({"x": a, "ids": ids})
    for c in (2, 10, 30, 100, len(z) // 2, len(z) - 10):
        put("npz", f"bad-npz-truncated-{c}.npz", z[:c])
    # CRC of the first entry's data.
    b = bytearray(z)
    at = z.index(b"\x93NUMPY") + 130
    b[at] ^= 0xFF
    put("npz", "bad-npz-crc.npz", bytes(b))
    zd = npz({"x": a}, compress=True)
    b = bytearray(zd)
    mid = zd.index(b"x.npy") + 5 + len(zd) // 8
    for i in range(mid, min(mid + 24, len(b) - 60)):
        b[i] ^= 0x5A
    put("npz", "bad-npz-deflate-corrupt.npz", bytes(b))
    put("npz", "bad-npz-entry-not-npy.npz", npz({"x": b"hello world"}))
    put("npz", "bad-npz-entry-bad-npy.npz", npz({"x": bad_npy["shape-huge"]}))
    # Unknown compression method (12 = bzip2) in the local and central headers.
    b = bytearray(z)
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        i = b.find(sig)
        off = 8 if sig == b"PK\x03\x04" else 10
        b[i + off:i + off + 2] = struct.pack("<H", 12)
    put("npz", "bad-npz-method-bzip2.npz", bytes(b))
    # Central directory offset and entry sizes past the end.
    b = bytearray(z)
    e = b.rfind(b"PK\x05\x06")
    b[e + 16:e + 20] = struct.pack("<I", 0x7FFFFFFF)
    put("npz", "bad-npz-cd-offset.npz", bytes(b))
    b = bytearray(z)
    e = b.rfind(b"PK\x05\x06")
    b[e + 10:e + 12] = struct.pack("<H", 0xFFFF)
    put("npz", "bad-npz-entry-count.npz", bytes(b))
    b = bytearray(z)
    i = b.find(b"PK\x01\x02")
    b[i + 20:i + 28] = struct.pack("<II", 0x7FFFFFF0, 0x7FFFFFF0)
    put("npz", "bad-npz-sizes-huge.npz", bytes(b))
    # An archive with no entries (np.savez() of nothing) is valid.
    put("npz", "ok-npz-empty.npz", b"PK\x05\x06" + b"\0" * 18)


# ----------------------------------------------------------------- GGUF ----
GG = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7,
      "str": 8, "arr": 9, "u64": 10, "i64": 11, "f64": 12}


def gstr(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(s)) + s


def gval(t, v):
    if t == "str":
        return gstr(v)
    if t == "arr":
        et, items = v
        out = struct.pack("<IQ", GG[et], len(items))
        return out + b"".join(gval(et, i) for i in items)
    fmt = {"u8": "<B", "i8": "<b", "u16": "<H", "i16": "<h", "u32": "<I", "i32": "<i",
           "f32": "<f", "bool": "<?", "u64": "<Q", "i64": "<q", "f64": "<d"}[t]
    return struct.pack(fmt, v)


def gguf(kvs, version=3, magic=b"GGUF", n_kv=None, n_tensors=0, tail=b""):
    out = magic + struct.pack("<IQQ", version, n_tensors, len(kvs) if n_kv is None else n_kv)
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", GG[t]) + gval(t, v)
    return out + tail


def gguf_corpus():
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    bert = [("general.architecture", "str", "bert"),
            ("tokenizer.ggml.model", "str", "bert"),
            ("tokenizer.ggml.tokens", "arr", ("str", ["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                      "[MASK]"] + ["\u2581" + l for l in letters]
                                              + letters)),
            ("tokenizer.ggml.unknown_token_id", "u32", 1),
            ("tokenizer.ggml.cls_token_id", "u32", 2),
            ("tokenizer.ggml.seperator_token_id", "u32", 3),
            ("tokenizer.ggml.padding_token_id", "u32", 0)]
    sp_tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + \
        ["\u2581", "\u2581a", "ab", "\u2581ab"] + letters
    llama = [("tokenizer.ggml.model", "str", "llama"),
             ("tokenizer.ggml.tokens", "arr", ("str", sp_tokens)),
             ("tokenizer.ggml.scores", "arr", ("f32", [float(-i) for i in range(len(sp_tokens))])),
             ("tokenizer.ggml.token_type", "arr", ("i32", [2, 3, 3] + [6] * 256 +
                                                       [1] * (len(sp_tokens) - 259))),
             ("tokenizer.ggml.unknown_token_id", "u32", 0),
             ("tokenizer.ggml.bos_token_id", "u32", 1),
             ("tokenizer.ggml.eos_token_id", "u32", 2)]
    byte_chars = [chr(c) for c in range(33, 127)] + [chr(c) for c in range(161, 173)] + \
        [chr(c) for c in range(174, 256)]
    n = 0
    for b in range(256):
        if chr(b) not in byte_chars:
            byte_chars.append(chr(256 + n))
            n += 1
    gpt2_tokens = byte_chars + ["\u0120t", "he", "\u0120the"]
    gpt2 = [("tokenizer.ggml.model", "str", "gpt2"),
            ("tokenizer.ggml.pre", "str", "gpt2"),
            ("tokenizer.ggml.tokens", "arr", ("str", gpt2_tokens)),
            ("tokenizer.ggml.merges", "arr", ("str", ["\u0120 t", "h e", "\u0120t he"]))]
    for name, kv in (("bert", bert), ("llama", llama), ("gpt2", gpt2)):
        put("gguf", f"ok-{name}.gguf", gguf(kv))
    ok = gguf(bert)
    for c in (0, 3, 4, 8, 16, 23, 24, 40, len(ok) // 2, len(ok) - 1):
        put("gguf", f"bad-truncated-{c}.gguf", ok[:c])

    def with_kv(base, key, t, v):
        return [(k, tt, vv) if k != key else (key, t, v) for k, tt, vv in base]

    def without(base, key):
        return [kv for kv in base if kv[0] != key]
    bad = {
        "magic": gguf(bert, magic=b"GGUX"),
        "version-1": gguf(bert, version=1),
        "version-99": gguf(bert, version=99),
        "n-kv-huge": gguf(bert, n_kv=1 << 60),
        "n-kv-one-more": gguf(bert, n_kv=len(bert) + 1),
        "n-tensors-huge": gguf(bert, n_tensors=1 << 60),
        "n-tensors-one": gguf(bert, n_tensors=1),
        "no-model": gguf(without(bert, "tokenizer.ggml.model")),
        "model-unknown": gguf(with_kv(bert, "tokenizer.ggml.model", "str", "t5")),
        "model-not-string": gguf(with_kv(bert, "tokenizer.ggml.model", "u32", 7)),
        "no-tokens": gguf(without(bert, "tokenizer.ggml.tokens")),
        "tokens-empty": gguf(with_kv(bert, "tokenizer.ggml.tokens", "arr", ("str", []))),
        "tokens-not-strings": gguf(with_kv(bert, "tokenizer.ggml.tokens", "arr",
                                           ("u32", [1, 2, 3]))),
        "unk-id-out-of-range": gguf(with_kv(bert, "tokenizer.ggml.unknown_token_id", "u32", 9999)),
        "cls-id-negative": gguf(with_kv(bert, "tokenizer.ggml.cls_token_id", "i32", -2)),
        "llama-scores-short": gguf(with_kv(llama, "tokenizer.ggml.scores", "arr",
                                           ("f32", [0.0] * 3))),
        "llama-scores-strings": gguf(with_kv(llama, "tokenizer.ggml.scores", "arr",
                                             ("str", ["x"] * len(sp_tokens)))),
        "llama-token-type-short": gguf(with_kv(llama, "tokenizer.ggml.token_type", "arr",
                                               ("i32", [1]))),
        "gpt2-no-merges": gguf(without(gpt2, "tokenizer.ggml.merges")),
        "gpt2-merge-no-space": gguf(with_kv(gpt2, "tokenizer.ggml.merges", "arr",
                                            ("str", ["\u0120t"]))),
        "gpt2-merge-unknown-token": gguf(with_kv(gpt2, "tokenizer.ggml.merges", "arr",
                                                ("str", ["q z"]))),
        "gpt2-pre-unknown": gguf(with_kv(gpt2, "tokenizer.ggml.pre", "str", "no-such-pre")),
    }
    # Raw encodings the builder cannot express.
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
    bad["string-len-huge"] = head + gstr("k")[:8] + struct.pack("<Q", 1 << 62)
    bad["key-len-huge"] = head + struct.pack("<Q", 1 << 62) + b"k"
    bad["value-type-unknown"] = head + gstr("k") + struct.pack("<I", 99) + b"\0" * 8
    bad["array-count-huge"] = head + gstr("k") + struct.pack("<IIQ", 9, 4, 1 << 61)
    bad["array-of-strings-huge"] = head + gstr("k") + struct.pack("<IIQ", 9, 8, 1 << 40) + gstr("a")
    bad["array-type-unknown"] = head + gstr("k") + struct.pack("<IIQ", 9, 77, 1) + b"\0" * 8
    nested = struct.pack("<I", 9)
    for _ in range(5000):  # arrays of arrays, 5000 deep
        nested += struct.pack("<IQ", 9, 1)
    bad["array-nesting-deep"] = head + gstr("k") + nested + struct.pack("<IQ", 4, 0)
    bad["alignment-zero"] = gguf(bert + [("general.alignment", "u32", 0)], n_tensors=0)
    bad["alignment-odd"] = gguf(bert + [("general.alignment", "u32", 3)], n_tensors=0)
    for k, v in bad.items():
        put("gguf", f"bad-{k}.gguf", v)


# ------------------------------------------------------- tokenizer.json ----
def tokjson_corpus():
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5,
             "world": 6, "##s": 7, ",": 8, "!": 9, "1": 10, "2": 11, "3": 12}
    wp = {"version": "1.0", "added_tokens": [
        {"id": i, "content": t, "special": True, "normalized": False}
        for t, i in list(vocab.items())[:5]],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}}
    bytes_ = [chr(c) for c in range(33, 127)] + [chr(c) for c in range(161, 173)] + \
        [chr(c) for c in range(174, 256)]
    n = 0
    for b in range(256):
        if chr(b) not in bytes_:
            bytes_.append(chr(256 + n))
            n += 1
    bv = {t: i for i, t in enumerate(bytes_ + ["\u0120t", "he", "\u0120the"])}
    bpe = {"version": "1.0", "added_tokens": [
        {"id": len(bv), "content": "<|endoftext|>", "special": True, "normalized": False}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None, "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "vocab": bv,
                  "merges": ["\u0120 t", "h e", "\u0120t he"]}}
    put("tokenizer_json", "ok-wordpiece.json", json.dumps(wp))
    put("tokenizer_json", "ok-bpe.json", json.dumps(bpe))
    text = json.dumps(wp)
    for c in (0, 1, 10, 100, len(text) // 2, len(text) - 1):
        put("tokenizer_json", f"bad-truncated-{c}.json", text[:c])

    def mod(base, f):
        d = json.loads(json.dumps(base))
        f(d)
        return json.dumps(d)
    bad = {
        "not-json": "hello, tokenizer",
        "array": "[1, 2, 3]",
        "null": "null",
        "no-model": mod(wp, lambda d: d.pop("model")),
        "model-unigram": mod(wp, lambda d: d["model"].update(type="Unigram")),
        "model-not-object": mod(wp, lambda d: d.update(model=[1, 2])),
        "vocab-missing": mod(wp, lambda d: d["model"].pop("vocab")),
        "vocab-array": mod(wp, lambda d: d["model"].update(vocab=["a", "b"])),
        "vocab-id-string": mod(wp, lambda d: d["model"]["vocab"].update(hello="x")),
        "vocab-id-negative": mod(wp, lambda d: d["model"]["vocab"].update(hello=-1)),
        "vocab-id-huge": mod(wp, lambda d: d["model"]["vocab"].update(hello=1 << 40)),
        "vocab-id-duplicate": mod(wp, lambda d: d["model"]["vocab"].update(hello=6)),
        "vocab-id-gap": mod(wp, lambda d: d["model"]["vocab"].update(hello=5000000)),
        "unk-not-in-vocab": mod(wp, lambda d: d["model"].update(unk_token="[NOPE]")),
        "normalizer-unsupported": mod(wp, lambda d: d.update(normalizer={"type": "Replace"})),
        "pre-tokenizer-unsupported": mod(wp, lambda d: d.update(
            pre_tokenizer={"type": "Metaspace"})),
        "post-processor-unsupported": mod(wp, lambda d: d.update(
            post_processor={"type": "RobertaProcessing"})),
        "added-token-id-huge": mod(wp, lambda d: d["added_tokens"].append(
            {"id": 1 << 33, "content": "<x>", "special": True})),
        "added-token-no-content": mod(wp, lambda d: d["added_tokens"].append(
            {"id": 13, "special": True})),
        "added-tokens-not-array": mod(wp, lambda d: d.update(added_tokens={"a": 1})),
        "bpe-merges-not-array": mod(bpe, lambda d: d["model"].update(merges="a b")),
        "bpe-merge-one-part": mod(bpe, lambda d: d["model"].update(merges=["ab"])),
        "bpe-merge-unknown": mod(bpe, lambda d: d["model"].update(merges=["q z"])),
        "bpe-merge-not-string": mod(bpe, lambda d: d["model"].update(merges=[7])),
        "bpe-vocab-missing-bytes": mod(bpe, lambda d: d["model"].update(
            vocab={"a": 0, "b": 1})),
        "bpe-pre-tokenizer-none": mod(bpe, lambda d: d.update(pre_tokenizer=None)),
        "deep-nesting": "[" * 20000 + "]" * 20000,
        "deep-nesting-in-model": "{\"model\": " + "[" * 20000 + "]" * 20000 + "}",
        "invalid-utf8": b'{"model": {"type": "WordPiece", "vocab": {"\xff\xfe": 0}}}',
        "bom-then-garbage": b"\xef\xbb\xbf{]",
    }
    for k, v in bad.items():
        # Duplicate ids: the later token wins, as in `tokenizers`.
        put("tokenizer_json", f"{'odd' if k == 'vocab-id-duplicate' else 'bad'}-{k}.json", v)


if __name__ == "__main__":
    onnx_corpus()
    tfcw_corpus()
    npz_corpus()
    gguf_corpus()
    tokjson_corpus()
    counts = {t: len(os.listdir(os.path.join(OUT, t))) for t in written}
    print(f"make_corpus: {sum(counts.values())} files in {OUT}: " +
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
