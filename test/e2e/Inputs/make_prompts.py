"""Random prompts for the KV-cache tests: make_prompts.py OUTDIR [VOCAB].

bos.npz    [[1]]                       greedy generation from BOS
p1.npz     1 x 7 random tokens
p3.npz     3 x 12, rows 1 and 2 left-padded (mask 0) by 4 and 1 tokens
p2.npz     2 x 33 random tokens
Tokens are drawn from [3, VOCAB) (no BOS/EOS/pad), seeded, never all equal.
"""
import os
import sys

import numpy as np


def save(path, ids, mask=None):
    if mask is None:
        mask = np.ones_like(ids)
    np.savez(path, input_ids=ids.astype(np.int64),
             attention_mask=mask.astype(np.int64))


def main():
    out = sys.argv[1]
    vocab = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    rng = np.random.default_rng(20240603)
    save(os.path.join(out, "bos.npz"), np.array([[1]]))
    save(os.path.join(out, "p1.npz"), rng.integers(3, vocab, size=(1, 7)))
    ids = rng.integers(3, vocab, size=(3, 12))
    mask = np.ones((3, 12), np.int64)
    mask[1, :4] = 0
    mask[2, :1] = 0
    ids[mask == 0] = 0
    save(os.path.join(out, "p3.npz"), ids, mask)
    save(os.path.join(out, "p2.npz"), rng.integers(3, vocab, size=(2, 33)))


if __name__ == "__main__":
    main()
