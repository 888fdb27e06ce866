"""SparseGPT reference for prune-sparsegpt.test, in numpy, written after the
paper's reference code (github.com/IST-DASLab/sparsegpt, sparsegpt.py
`fasterprune`) in its [out, in] layout, independently of tfc's C++.

  sparsegpt_ref.py make DIR      DIR/model.mlir (linears fc [16, 8] and fct
                                 transposed [8, 16] reading x [?, 16]),
                                 DIR/stats.json (+ .bin, with Hessians) and
                                 DIR/nohess.json (norms only)
  sparsegpt_ref.py check DIR OUT.mlir (unstructured:S | nm:N:M) BLOCK
      parses the pruned weights tfc-opt printed, recomputes them here and
      checks: same zeros, values within 1e-4 (relative to max |w|), the N:M
      pattern, the dead input's row zero, and that the reconstruction beats
      the same mask without it (||X W - X W'||)."""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calib_stats import write_stats  # noqa: E402

K, N, ROWS, DEAD = 16, 8, 64, 5


def data():
    rng = np.random.default_rng(9)
    # Correlated features (a dense Hessian), one never active (dead).
    x = rng.standard_normal((ROWS, K)) @ (np.eye(K) + 0.5 * rng.standard_normal((K, K)))
    x[:, DEAD] = 0
    w = rng.standard_normal((K, N)).astype(np.float32)  # [k, n]: x @ w
    wt = rng.standard_normal((N, K)).astype(np.float32)  # [n, k]: x @ wt^T
    return x, w, wt


def dense(a):
    rows = ", ".join("[" + ", ".join("%.9e" % v for v in r) + "]" for r in a)
    return "dense<[%s]>" % rows


def make(d):
    x, w, wt = data()
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.mlir"), "w") as f:
        f.write(f"""func.func @m(%x: tensor<?x{K}xf32>) -> (tensor<?x{N}xf32>, tensor<?x{N}xf32>) attributes {{tfc.entry}} {{
  %w = arith.constant {dense(w)} : tensor<{K}x{N}xf32>
  %wt = arith.constant {dense(wt)} : tensor<{N}x{K}xf32>
  %y = tfc.linear %x, %w : tensor<?x{K}xf32>, tensor<{K}x{N}xf32> -> tensor<?x{N}xf32> loc("fc")
  %yt = tfc.linear %x, %wt {{transpose_weight = true}} : tensor<?x{K}xf32>, tensor<{N}x{K}xf32> -> tensor<?x{N}xf32> loc("fct")
  return %y, %yt : tensor<?x{N}xf32>, tensor<?x{N}xf32>
}}
""")
    write_stats(os.path.join(d, "stats.json"), [("x", ["fc", "fct"], x)])
    write_stats(os.path.join(d, "nohess.json"), [("x", ["fc", "fct"], x)], hessians=False)


def fasterprune(W, H, sparsity=0.0, prunen=0, prunem=0, blocksize=128, percdamp=0.01):
    """W [out, in] (float64), H [in, in]; prunen of every prunem pruned."""
    W = W.copy()
    H = H.copy()
    cols = W.shape[1]
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * np.mean(np.diag(H)) * np.eye(cols)
    Hinv = np.linalg.cholesky(np.linalg.inv(H)).T  # upper: H^-1 = U^T U
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].copy()
        Q1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        if prunen == 0:
            tmp = W1 ** 2 / (np.diag(Hinv1).reshape((1, -1))) ** 2
            # tfc prunes exactly floor(S * numel) (the reference: <= the
            # threshold at that rank); order: tfc's [k, n] row-major index.
            order = np.argsort(tmp.T.ravel(), kind="stable")
            mask1 = np.zeros(tmp.size, bool)
            mask1[order[:int(tmp.size * sparsity)]] = True
            mask1 = mask1.reshape(tmp.T.shape).T
        else:
            mask1 = np.zeros_like(W1, dtype=bool)
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if prunen != 0 and i % prunem == 0:
                tmp = W1[:, i:i + prunem] ** 2 / (np.diag(Hinv1)[i:i + prunem].reshape((1, -1))) ** 2
                idx = np.argsort(tmp, axis=1, kind="stable")[:, :prunen]
                for r in range(W1.shape[0]):
                    mask1[r, i + idx[r]] = True
            q = w.copy()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= np.outer(err1, Hinv1[i, i:])
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return W


def parse(path):
    """{shape: array} of the f32 constants in tfc-opt's output."""
    out = {}
    pat = re.compile(r"arith\.constant dense<(.*)> : tensor<(\d+)x(\d+)xf32>")
    for line in open(path):
        m = pat.search(line)
        if not m:
            continue
        body, shape = m.group(1), (int(m.group(2)), int(m.group(3)))
        if body.startswith('"0x'):
            a = np.frombuffer(bytes.fromhex(body[3:-1]), "<f4")
        else:
            a = np.array([float(v) for v in re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", body)])
        out[shape] = a.reshape(shape).astype(np.float64)
    return out


def check(d, printed, mode, block):
    x, w, wt = data()
    H = x.T @ x
    got = parse(printed)
    fails = []
    if mode.startswith("nm:"):
        n_keep, m = map(int, mode[3:].split(":"))
        kw = dict(prunen=m - n_keep, prunem=m)
    else:
        kw = dict(sparsity=float(mode.split(":")[1]))
    for name, orig, key in (("fc", w.T, (K, N)), ("fct", wt, (N, K))):
        ref = fasterprune(orig.astype(np.float64), H, blocksize=block, **kw)  # [out, in]
        if key not in got:
            fails.append(f"{name}: no {key} constant in {printed}")
            continue
        g = got[key].T if key == (K, N) else got[key]  # -> [out, in]
        if not np.array_equal(g == 0, ref == 0):
            fails.append(f"{name}: zeros differ at {np.argwhere((g == 0) != (ref == 0)).tolist()}")
        err = np.abs(g - ref).max() / np.abs(ref).max()
        if err > 1e-4:
            fails.append(f"{name}: max relative difference {err:.3g}")
        if np.any(g[:, DEAD] != 0):
            fails.append(f"{name}: the dead input {DEAD} has nonzero weights")
        if "prunem" in kw:
            nz = (g.reshape(g.shape[0], -1, kw["prunem"]) != 0).sum(-1)
            if nz.max() > n_keep:
                fails.append(f"{name}: a group of {kw['prunem']} keeps {nz.max()} > {n_keep}")
        else:
            want = int(g.size * kw["sparsity"])
            if abs(int((g == 0).sum()) - want) > g.shape[0]:  # + the dead column
                fails.append(f"{name}: {(g == 0).sum()} zeros, wanted about {want}")
        o = orig.astype(np.float64)
        masked = np.where(g == 0, 0, o)
        e_rec = np.linalg.norm(x @ (g - o).T)
        e_mask = np.linalg.norm(x @ (masked - o).T)
        if not e_rec < e_mask:
            fails.append(f"{name}: reconstruction error {e_rec:.4g} not below the plain mask's {e_mask:.4g}")
        print(f"{name}: ok-so-far={not fails} max-rel-diff={err:.2e} "
              f"error reconstructed={e_rec:.4f} masked-only={e_mask:.4f}")
    if fails:
        print("\n".join(fails))
        sys.exit(1)
    print("sparsegpt reference: OK")


if sys.argv[1] == "make":
    make(sys.argv[2])
else:
    check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
