#!/usr/bin/env python3
"""Generates test/Tokenizer/Inputs/llama-reference.jsonl: token ids of the
BPE tokenizers of issue 3 on a few hundred texts, from reference
implementations.

Texts: edge cases (whitespace runs, digits, contractions, special tokens,
chat markup), the 160 MT-Bench turns, 100 WikiText-2 test lines (shorter than 400 characters), and the
every other one of the 545 multi-script texts of
Inputs/wordpiece-reference.jsonl.

Columns (space-separated ids, no special tokens added; absent when the
reference could not be computed for that text):
  smollm2_json  SmolLM2's tokenizer.json (.cache/models/smollm2/hf) through
                Hugging Face tokenizers. That file is transformers' conversion
                of the GGUF and has a plain ByteLevel pre-tokenizer. Stored
                only where it differs from smollm2_gguf.
  smollm2_gguf  The same vocabulary and merges with SmolLM2's own
                pre-tokenizer, Sequence[Digits(individual_digits),
                ByteLevel] (what llama.cpp calls "smollm"), through
                tokenizers: the reference for the GGUF tokenizer.
  gpt2          GPT-2's vocabulary and merges from the intact
                ggml-vocab-gpt-2.gguf (examples/llama-generate/
                fetch_vocab_vectors.py) as a tokenizers ByteLevel BPE.
  tok512_model  stories260K's tok512.model through the sentencepiece library
                (which collapses runs of spaces: remove_extra_whitespaces).
  tok512_bin    llama2.c's encode() (run.c, ported below) on tok512.bin,
                bos=0 eos=0; texts with a NUL byte are skipped (C strings).

Pinned: tokenizers 0.23.3, sentencepiece 0.2.3, gguf 0.19.0 (the project
venv). Usage: .venv/bin/python test/Tokenizer/gen_llama_reference.py
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("TFC_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
CACHE = os.path.join(ROOT, ".cache")

EDGE_CASES = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", " \n ", "a  b", "a   b  ",
    "  leading", "trailing  ", "Hello world", " Hello world", "Hello  world",
    "12", "123456789", " 2024", "  42", "3.14159", "x1y22z333", "1,000,000",
    "It's I'm we're you've he'll they'd don't", "'s 'S 'll 'LL ''s",
    "can't stop won't stop", "a\tb\tc", "tabs\t\tand\nnewlines\r\n",
    "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>x<|endoftext|>", "<s>hello</s>", "<unk>",
    "naïve café résumé", "Ünïcödé", "日本語のテキスト", "中文测试", "한국어",
    "Привет, мир!", "مرحبا بالعالم", "שלום עולם", "हिन्दी", "ไทย",
    "emoji 🦙🚀😀 and 👨‍👩‍👧‍👦", "math ∑∫√∞ ≤ ≥", "½ ¾ ⅓ ² ³ ٣ ५", "ǅ ǈ ǋ",
    "\u00a0nbsp\u00a0", "zero\u200bwidth", "\u3000ideographic space",
    "mixed:  \t \n  end", "trailing space ", "!!!???...", "--==++", "@#$%^&*",
    "URL: https://example.com/a?b=c&d=e", "email@example.com",
    "def f(x):\n    return x ** 2\n", "    indented\n        more",
    "Once upon a time, there was a little girl named Lily.",
    "Lily's mom said, \"Lily, let's go to the park.\"",
    "The quick brown fox jumps over the lazy dog. 1234567890",
]


def load_texts():
    texts = list(EDGE_CASES)
    with open(os.path.join(SHARED, "data", "prompts",
                           "mt_bench_questions.jsonl"), encoding="utf-8") as f:
        for line in f:
            texts.extend(json.loads(line)["turns"])
    n = 0
    with open(os.path.join(SHARED, "data", "wikitext-2-raw", "wiki.test.raw"),
              encoding="utf-8") as f:
        for line in f:
            if line.strip() and len(line) < 400 and n < 100:
                texts.append(line)  # with its leading space and newline
                n += 1
    with open(os.path.join(HERE, "Inputs", "wordpiece-reference.jsonl"),
              encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 2 == 0:  # every other one keeps the file small
                texts.append(json.loads(line)["text"])
    seen, out = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def read_tok512_bin(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 4
    vocab, scores = [], []
    while pos < len(data):
        score, n = struct.unpack_from("<fi", data, pos)
        pos += 8
        vocab.append(data[pos:pos + n])
        scores.append(score)
        pos += n
    return vocab, scores


def llama2c_encode(text, vocab, scores):
    """run.c encode(tokenizer, text, bos=0, eos=0), on bytes."""
    lookup = {}
    for i, v in enumerate(vocab):
        lookup.setdefault(v, i)
    text = text.encode("utf-8")
    tokens = []
    if text:
        tokens.append(lookup.get(b" ", -1))
    buf = b""
    for i, c in enumerate(text):
        if (c & 0xC0) != 0x80:
            buf = b""
        buf += bytes([c])
        nxt = text[i + 1] if i + 1 < len(text) else 0
        if (nxt & 0xC0) == 0x80 and len(buf) < 4:
            continue
        tid = lookup.get(buf, -1)
        if tid != -1:
            tokens.append(tid)
        else:
            tokens.extend(b + 3 for b in buf)
        buf = b""
    while True:
        best_score, best_id, best_idx = -1e10, -1, -1
        for i in range(len(tokens) - 1):
            tid = lookup.get(vocab[tokens[i]] + vocab[tokens[i + 1]], -1)
            if tid != -1 and scores[tid] > best_score:
                best_score, best_id, best_idx = scores[tid], tid, i
        if best_idx == -1:
            break
        tokens[best_idx] = best_id
        del tokens[best_idx + 1]
    return tokens


def gpt2_from_gguf(path):
    import gguf
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    r = gguf.GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


def main():
    from tokenizers import Tokenizer, pre_tokenizers
    import sentencepiece as spm

    texts = load_texts()
    refs = {}
    hf_json = os.path.join(CACHE, "models", "smollm2", "hf", "tokenizer.json")
    smol = Tokenizer.from_file(hf_json)
    refs["smollm2_json"] = lambda t: smol.encode(
        t, add_special_tokens=False).ids
    smol_digits = Tokenizer.from_file(hf_json)
    smol_digits.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    refs["smollm2_gguf"] = lambda t: smol_digits.encode(
        t, add_special_tokens=False).ids
    gpt2_path = os.path.join(CACHE, "tokenizer-vectors",
                             "ggml-vocab-gpt-2.gguf")
    if os.path.exists(gpt2_path):
        gpt2 = gpt2_from_gguf(gpt2_path)
        refs["gpt2"] = lambda t: gpt2.encode(t, add_special_tokens=False).ids
    else:
        print("no %s: run examples/llama-generate/fetch_vocab_vectors.py; "
              "gpt2 column left out" % gpt2_path, file=sys.stderr)
    stories = os.path.join(SHARED, "models", "stories260K")
    sp = spm.SentencePieceProcessor(
        model_file=os.path.join(stories, "tok512.model"))
    refs["tok512_model"] = lambda t: sp.encode(t)
    vocab, scores = read_tok512_bin(os.path.join(stories, "tok512.bin"))
    refs["tok512_bin"] = lambda t: (None if "\0" in t else
                                    llama2c_encode(t, vocab, scores))

    out = os.path.join(HERE, "Inputs", "llama-reference.jsonl")
    with open(out, "w", encoding="utf-8") as f:
        for t in texts:
            row = {"text": t}
            for name, fn in refs.items():
                ids = fn(t)
                if ids is not None:
                    row[name] = " ".join(map(str, ids))
            # Stored only where the pre-tokenizers make a difference.
            if row.get("smollm2_json") == row.get("smollm2_gguf"):
                del row["smollm2_json"]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print("wrote %s: %d texts, columns %s" % (out, len(texts),
                                              ", ".join(refs)))


if __name__ == "__main__":
    main()
