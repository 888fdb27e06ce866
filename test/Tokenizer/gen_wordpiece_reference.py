#!/usr/bin/env python3
"""Generates Inputs/wordpiece-reference.jsonl: texts and the ids that Hugging
Face `tokenizers` (the Rust BertTokenizerFast) gives them, for four normalizer
settings over the bert-base-uncased vocabulary (the vocabulary of
ggml-vocab-bert-bge.gguf and of all-MiniLM-L6-v2).

    pip install tokenizers==0.23.3
    python3 gen_wordpiece_reference.py TOKENIZER_JSON [OUT]

TOKENIZER_JSON: a bert-base-uncased tokenizer.json, e.g. all-MiniLM-L6-v2's
(.cache/models/minilm/tokenizer.json after scripts/get_models.sh).

Each line: {"text": ..., "uncased": [...], "cased": [...], "strip": [...],
"lower": [...]} with ids without special tokens:
  uncased  lowercase + strip accents (the model's own setting)
  cased    neither
  strip    strip accents only
  lower    lowercase only
Texts mix vocabulary words with characters from many scripts and the
categories the BERT normalizer cares about (controls, odd whitespace,
combining marks, CJK, punctuation of every block, emoji, unassigned code
points, long words). Fixed seed: the output is reproducible.
"""
import json
import os
import random
import sys

import tokenizers
from tokenizers import Tokenizer
from tokenizers.normalizers import BertNormalizer

SEED = 20240611
NUM_RANDOM = 500

CURATED = [
    "", " ", "Hello world", "HeLLo WoRLD!!", "[CLS] hello [SEP]", "[cls] x",
    "a[MASK]b", "[MASK][MASK]", "[unused1]", "##ing", "un##able",
    "Ünïcödé façade naïve café résumé", "İstanbul ıi", "STRASSE straße ẞ",
    "ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ", "ǅemal ǈ ǋ", "ﬀ ﬁ ﬂ ﬃ", "Ⅻ ⅻ Ⓐ ⓐ", "𐐀𐐨 Ꭰꭰ Ა",
    "東京都 北京市 서울특별시 ひらがな カタカナ", "豈更車 𠀀𠀁 㐀",
    "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ！", "¿Qué? ¡Sí! «quote» „de“ ‚x‘",
    "a\u00adb\u200bc\u200dd\ufeffe", "tab\tnew\nline\rcr\x0bvt\x0cff\x85nel",
    "nul\x00del\x7fc1\x9fpu\ue000", "replacement\ufffdchar",
    "zw\u2028ls\u2029ps\u202fnn\u205fmm\u3000id\u1680og",
    "e\u0301 a\u0308 o\u0328\u0301 \u0345A\u0345", "n\u0303\u0323 \u1e9b\u0323",
    "🚀 (normal) 😶\u200d🌫️ (multiple emojis) ✅", "👨\u200d👩\u200d👧 👍🏽",
    "\u0378 \U0001fae8 \U0001f999 \u0870 \u2e5d", "x" * 99, "y" * 100,
    "z" * 101, "ab" * 60, "Ä" * 101, "hello" + "!" * 50,
    "3.14159 1,000,000 $5 €10 ¥20 50% #1 @user a+b=c x^2 ~home",
    "email@example.com http://example.com/path?q=1&r=2#frag",
    "don't can't won't y'all o'clock rock'n'roll",
    "Γειά σου κόσμε Привет мир שָׁלוֹם עוֹלָם مرحبا بالعالم",
    "नमस्ते दुनिया สวัสดีชาวโลก ជំរាបសួរ ᄒᆞᆫ글",
    "Cửa Việt Nguyễn Thị Minh Khai Đà Nẵng",
]

POOLS = {
    "ascii": [chr(c) for c in range(0x20, 0x7F)],
    "space": list("\t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2005\u200a"
                  "\u2028\u2029\u202f\u205f\u3000\u180e\u200b\ufeff"),
    "control": list("\x00\x01\x1f\x7f\x80\x9f\u00ad\u200d\u200e\u2066"
                    "\ue000\uf8ff\ufffd\U000e0001\U000f0000"),
    "latin": [chr(c) for c in range(0xC0, 0x250)] +
             [chr(c) for c in range(0x1E00, 0x1F00)],
    "marks": [chr(c) for c in range(0x300, 0x370)] +
             [chr(c) for c in range(0x1AB0, 0x1AC0)] + ["\ufe0f", "\u20dd"],
    "greek": [chr(c) for c in range(0x370, 0x400)] +
             [chr(c) for c in range(0x1F00, 0x2000)],
    "cyrillic": [chr(c) for c in range(0x400, 0x530)],
    "hebrew_arabic": [chr(c) for c in range(0x591, 0x5F5)] +
                     [chr(c) for c in range(0x600, 0x700)],
    "indic_thai": [chr(c) for c in range(0x900, 0x980)] +
                  [chr(c) for c in range(0xE00, 0xE80)] +
                  [chr(c) for c in range(0x1780, 0x17FA)],
    "hangul": [chr(c) for c in range(0xAC00, 0xD7A4, 7)] +
              [chr(c) for c in range(0x1100, 0x1200)] +
              [chr(c) for c in range(0x3131, 0x318F)],
    "kana": [chr(c) for c in range(0x3040, 0x3100)],
    "cjk": [chr(c) for c in range(0x4E00, 0x9FFF, 13)] +
           [chr(c) for c in range(0xF900, 0xFB00)] +
           [chr(c) for c in range(0x3400, 0x4DC0, 31)] +
           [chr(c) for c in range(0x20000, 0x2A6E0, 97)] +
           [chr(c) for c in range(0x2F800, 0x2FA20)],
    "punct": [chr(c) for c in range(0x2010, 0x2060)] +
             [chr(c) for c in range(0x3000, 0x3040)] +
             [chr(c) for c in range(0xFF01, 0xFF66)] +
             [chr(c) for c in range(0x2E00, 0x2E50)] + list("¡§«¶·»¿"),
    "symbols": [chr(c) for c in range(0x20A0, 0x20C0)] +
               [chr(c) for c in range(0x2100, 0x2200)] +
               [chr(c) for c in range(0x2460, 0x2500)] +
               [chr(c) for c in range(0x2200, 0x2300, 3)],
    "emoji": [chr(c) for c in range(0x1F300, 0x1FA00, 5)] + ["\u200d"],
    "cased_other": [chr(c) for c in range(0x10400, 0x10450)] +
                   [chr(c) for c in range(0x13A0, 0x13F6)] +
                   [chr(c) for c in range(0x1C90, 0x1CC0)] +
                   [chr(c) for c in range(0x24B6, 0x24EA)] +
                   [chr(c) for c in range(0x2160, 0x2180)],
    "unassigned": ["\u0378", "\u0379", "\u05ff", "\U0001fae8", "\U0003fffd"],
}


def random_text(rng, words):
    parts = []
    for _ in range(rng.randint(1, 25)):
        r = rng.random()
        if r < 0.45:
            w = rng.choice(words)
            style = rng.random()
            if style < 0.2:
                w = w.upper()
            elif style < 0.4:
                w = w.capitalize()
            parts.append(w)
        else:
            pool = POOLS[rng.choice(sorted(POOLS))]
            parts.append("".join(rng.choice(pool)
                                 for _ in range(rng.randint(1, 6))))
        r = rng.random()
        parts.append(" " if r < 0.6 else "" if r < 0.85 else
                     rng.choice(POOLS["space"] + list(".,;!?-'\"()")))
    return "".join(parts)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        here, "Inputs", "wordpiece-reference.jsonl")
    base = Tokenizer.from_file(sys.argv[1])
    base.no_truncation()
    base.no_padding()
    vocab = base.get_vocab()
    words = sorted(w.replace("##", "") for w in vocab
                   if not w.startswith("[") and w.isalpha())
    variants = {}
    for name, lower, strip in (("uncased", True, None), ("cased", False, False),
                               ("strip", False, True), ("lower", True, False)):
        t = Tokenizer.from_file(sys.argv[1])
        t.no_truncation()
        t.no_padding()
        t.normalizer = BertNormalizer(clean_text=True,
                                      handle_chinese_chars=True,
                                      strip_accents=strip, lowercase=lower)
        variants[name] = t
    rng = random.Random(SEED)
    texts = CURATED + [random_text(rng, words) for _ in range(NUM_RANDOM)]
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        for text in texts:
            row = {"text": text}
            for name, t in variants.items():
                row[name] = t.encode(text, add_special_tokens=False).ids
            f.write(json.dumps(row, ensure_ascii=True) + "\n")
    print("wrote %d texts to %s with tokenizers %s" %
          (len(texts), out_path, tokenizers.__version__))


if __name__ == "__main__":
    main()
