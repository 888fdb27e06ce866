#!/usr/bin/env python3
"""Fetches intact copies of llama.cpp's tokenizer test vocabularies.

The copies in shared/testdata/tokenizer-vectors went through a UTF-8 text
conversion: every byte sequence that is not valid UTF-8 became U+FFFD
(EF BF BD). Token strings survive (they are UTF-8), but every binary number
with a byte >= 0x80 is damaged: string lengths >= 128, array counts such as
50257 (0xC451), and nearly every float of tokenizer.ggml.scores (LLaMA's
scores are negative: their sign byte is >= 0x80). The structural numbers can
be re-derived, the scores cannot (there is no telling which floats were
there), so the files cannot be repaired in general.

The same files ship, byte for byte, in the source distribution of
llama-cpp-python 0.3.2 on PyPI (vendor/llama.cpp/models/). This script
downloads it with `pip download --no-deps`, unpacks the vocabularies into
.cache/tokenizer-vectors/ and proves that each one is the original of the
shared copy: applying the same conversion (bytes.decode('utf-8', 'replace')
then encode) to the original gives the shared file exactly.

The test texts and expected ids are still read from shared/ (the .inp/.out
there differ from the sdist's in one case, 'Führer' -> 'Äpfel').

usage: fetch_vocab_vectors.py [--cache DIR] [--shared DIR]
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tarfile

SDIST_SPEC = "llama-cpp-python==0.3.2"
SDIST_FILE = "llama_cpp_python-0.3.2.tar.gz"
SDIST_SHA256 = "8fbf246a55a999f45015ed0d48f91b4ae04ae959827fac1cd6ac6ec65aed2e2f"
MEMBER_DIR = "llama_cpp_python-0.3.2/vendor/llama.cpp/models/"
NAMES = ["llama-spm", "gpt-2", "bert-bge", "phi-3", "falcon"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def damaged(data):
    """The conversion the shared copies went through."""
    return data.decode("utf-8", "replace").encode("utf-8")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default=os.environ.get(
        "TFC_CACHE", os.path.join(root, ".cache")))
    ap.add_argument("--shared", default=os.environ.get(
        "TFC_SHARED_DIR", os.path.join(root, "..", "shared")))
    args = ap.parse_args()

    wheels = os.path.join(args.cache, "wheels")
    out_dir = os.path.join(args.cache, "tokenizer-vectors")
    os.makedirs(wheels, exist_ok=True)
    os.makedirs(out_dir, exist_ok=True)
    sdist = os.path.join(wheels, SDIST_FILE)
    if not (os.path.exists(sdist) and sha256(sdist) == SDIST_SHA256):
        print("fetch_vocab_vectors: downloading %s" % SDIST_SPEC,
              file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download",
                        "--disable-pip-version-check", "--no-deps",
                        "--no-binary", ":all:", SDIST_SPEC, "-d", wheels],
                       check=True, stdout=sys.stderr)
        if sha256(sdist) != SDIST_SHA256:
            sys.exit("fetch_vocab_vectors: sha256 mismatch for " + sdist)

    with tarfile.open(sdist) as tar:
        for name in NAMES:
            member = tar.getmember(MEMBER_DIR + "ggml-vocab-%s.gguf" % name)
            data = tar.extractfile(member).read()
            path = os.path.join(out_dir, "ggml-vocab-%s.gguf" % name)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)

    vectors = os.path.join(args.shared, "testdata", "tokenizer-vectors")
    failed = False
    for name in NAMES:
        path = os.path.join(out_dir, "ggml-vocab-%s.gguf" % name)
        shared = os.path.join(vectors, "ggml-vocab-%s.gguf" % name)
        with open(path, "rb") as f:
            orig = f.read()
        if not os.path.exists(shared):
            print("%-10s %8d bytes  (no shared copy to compare with)" %
                  (name, len(orig)))
            continue
        with open(shared, "rb") as f:
            copy = f.read()
        same = orig == copy
        ok = same or damaged(orig) == copy
        failed |= not ok
        print("%-10s %8d bytes  shared %8d bytes, %5d x EF BF BD: %s" % (
            name, len(orig), len(copy), copy.count(b"\xef\xbf\xbd"),
            "identical" if same else
            "its UTF-8-damaged form equals the shared copy" if ok else
            "DIFFERENT vocabulary"))
    if failed:
        sys.exit("fetch_vocab_vectors: a fetched file is not the original "
                 "of the shared copy")
    print(out_dir)


if __name__ == "__main__":
    main()
