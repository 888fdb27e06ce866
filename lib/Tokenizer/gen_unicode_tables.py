#!/usr/bin/env python3
"""Generates lib/Tokenizer/UnicodeTables.inc from Python's unicodedata.

The tables are what the tokenizers need without ICU:
  - kCharClassRuns: the whole code space as runs of one class (whitespace,
    control, punctuation, non-spacing mark, other), the classes the BERT
    normalizer and pre-tokenizer ask about;
  - kCombiningClassRuns: canonical combining class != 0, for NFD reordering;
  - kNfdKeys / kNfdValues / kNfdPool: full canonical decompositions (already
    applied recursively; Hangul syllables are decomposed in code);
  - kLowerRuns / kLowerSpecial: full lowercase mappings (as Rust's
    char::to_lowercase and Python's str.lower on one character).

Classes follow Hugging Face tokenizers (BertTokenizerFast): its
BertNormalizer / BertPreTokenizer ask
  whitespace  = the White_Space property (Rust char::is_whitespace), which
                includes \\t \\n \\r; other Cc characters are control;
  control     = Cc, Cf, Co, Cs (Cn is *not* control: unassigned code points
                stay in the text);
  punctuation = P* or ASCII punctuation (!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~);
  mark        = Mn (dropped by strip_accents after NFD).
The last three come from the Rust crate unicode_categories, whose tables are
Unicode 8.0: a character assigned later is none of them there (it is in no
table, not even Cn), and three characters had another category in 8.0. So
categories here are Python's, masked by the age of each character from
DerivedAge.txt (Debian package unicode-data). Whitespace, NFD and lowercase
use current Unicode, as Rust's std and the normalization crate do.

Usage: gen_unicode_tables.py [OUTPUT] [--derived-age PATH]
  OUTPUT defaults to UnicodeTables.inc beside this script; PATH defaults to
  /usr/share/unicode/DerivedAge.txt.
"""
import os
import sys
import unicodedata

MAX_CP = 0x10FFFF

# The White_Space property (PropList.txt); unicodedata does not expose it and
# str.isspace() differs (it includes U+001C..U+001F).
WHITE_SPACE = set(range(0x09, 0x0E)) | {
    0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000
} | set(range(0x2000, 0x200B))

OTHER, WHITESPACE, CONTROL, PUNCT, MARK = range(5)
CLASS_NAMES = ["Other", "Whitespace", "Control", "Punctuation", "Mark"]

# The Unicode version of the unicode_categories crate's tables, and the
# characters of that version whose category has changed since (for the
# classes above; found by probing tokenizers 0.23 over all code points).
HF_CATEGORY_VERSION = (8, 0)
HF_OLD_CATEGORY = {0x1734: "Mn", 0x166D: "Po", 0x111C9: "Po", 0x1885: "Lo",
                   0x1886: "Lo", 0xA9BD: "Mc"}

AGES = None  # code point -> (major, minor), filled by load_ages


def load_ages(path):
    global AGES
    AGES = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            rng, age = (x.strip() for x in line.split(";"))
            first, _, last = rng.partition("..")
            version = tuple(int(x) for x in age.split("."))
            for cp in range(int(first, 16), int(last or first, 16) + 1):
                AGES[cp] = version


def hf_category(cp):
    if cp in HF_OLD_CATEGORY:
        return HF_OLD_CATEGORY[cp]
    if AGES.get(cp, (99, 0)) > HF_CATEGORY_VERSION:
        return "Cn"
    return unicodedata.category(chr(cp))


def char_class(cp):
    if cp in WHITE_SPACE and cp not in (0x0B, 0x0C, 0x85):
        return WHITESPACE
    cat = hf_category(cp)
    if cat in ("Cc", "Cf", "Co", "Cs"):
        return CONTROL
    if cat.startswith("P"):
        return PUNCT
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return PUNCT
    if cat == "Mn":
        return MARK
    if cp in WHITE_SPACE:
        return WHITESPACE
    return OTHER


def class_runs():
    runs = []
    prev = None
    for cp in range(MAX_CP + 1):
        c = char_class(cp)
        if c != prev:
            runs.append((cp, c))
            prev = c
    return runs


def ccc_runs():
    runs = []  # (first, count, ccc)
    for cp in range(MAX_CP + 1):
        ccc = unicodedata.combining(chr(cp))
        if not ccc:
            continue
        if runs and runs[-1][0] + runs[-1][1] == cp and runs[-1][2] == ccc:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1, ccc)
        else:
            runs.append((cp, 1, ccc))
    return runs


def is_hangul_syllable(cp):
    return 0xAC00 <= cp <= 0xD7A3


def nfd_table():
    entries = []
    for cp in range(MAX_CP + 1):
        if is_hangul_syllable(cp) or 0xD800 <= cp <= 0xDFFF:
            continue
        d = unicodedata.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue  # none, or a compatibility decomposition
        full = unicodedata.normalize("NFD", chr(cp))
        # NFD of one character is in canonical order; the runtime reorders
        # again after concatenating several.
        entries.append((cp, [ord(c) for c in full]))
    return entries


def lower_tables():
    simple = []  # (cp, lower cp)
    special = []  # (cp, [lower cps]) for multi-character lowercase
    for cp in range(MAX_CP + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        low = chr(cp).lower()
        if low == chr(cp):
            continue
        if len(low) == 1:
            simple.append((cp, ord(low)))
        else:
            special.append((cp, [ord(c) for c in low]))
    # Runs of (first, count, stride, delta): cp = first + i*stride maps to
    # cp + delta. Upper/lower pairs alternate (stride 2) in many blocks.
    runs = []
    i = 0
    while i < len(simple):
        cp, low = simple[i]
        delta = low - cp
        best = (1, 1)
        for stride in (1, 2):
            n = 1
            while (i + n < len(simple) and simple[i + n][0] == cp + n * stride
                   and simple[i + n][1] - simple[i + n][0] == delta):
                n += 1
            if n > best[0]:
                best = (n, stride)
        n, stride = best
        runs.append((cp, n, stride, delta))
        i += n
    return runs, special


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = sys.argv[1:]
    age_path = "/usr/share/unicode/DerivedAge.txt"
    if "--derived-age" in args:
        k = args.index("--derived-age")
        age_path = args[k + 1]
        del args[k:k + 2]
    out_path = args[0] if args else os.path.join(here, "UnicodeTables.inc")
    if not os.path.exists(age_path):
        sys.exit("%s not found: install unicode-data or pass --derived-age"
                 % age_path)
    load_ages(age_path)
    runs = class_runs()
    cccs = ccc_runs()
    nfd = nfd_table()
    lower_runs, lower_special = lower_tables()

    lines = []
    w = lines.append
    w("// Generated by lib/Tokenizer/gen_unicode_tables.py from Python %s's"
      % sys.version.split()[0])
    w("// unicodedata (Unicode %s), categories as of Unicode %d.%d for the"
      % ((unicodedata.unidata_version,) + HF_CATEGORY_VERSION))
    w("// classes (see the script). Do not edit.")
    w("// clang-format off")
    w("")
    w("#define TFC_UNICODE_VERSION \"%s\"" % unicodedata.unidata_version)
    w("")
    w("// Each entry is (first code point << 3) | class; a run lasts until the")
    w("// next entry. Classes: %s." % ", ".join(
        "%d %s" % (i, n) for i, n in enumerate(CLASS_NAMES)))
    w("static const uint32_t kCharClassRuns[%d] = {" % len(runs))
    for k in range(0, len(runs), 8):
        w("  " + ", ".join("0x%07x" % ((cp << 3) | c)
                           for cp, c in runs[k:k + 8]) + ",")
    w("};")
    w("")
    w("// (first code point << 8) | combining class, and the run length.")
    w("static const uint32_t kCombiningClassRuns[%d][2] = {" % len(cccs))
    for k in range(0, len(cccs), 6):
        w("  " + ", ".join("{0x%07x, %d}" % ((cp << 8) | ccc, n)
                           for cp, n, ccc in cccs[k:k + 6]) + ",")
    w("};")
    w("")
    pool = []
    keys = []
    values = []
    for cp, seq in nfd:
        keys.append(cp)
        values.append((len(pool) << 3) | len(seq))
        pool.extend(seq)
    assert all(len(seq) < 8 for _, seq in nfd)
    w("// Canonical decompositions: kNfdKeys[i] decomposes to len = value & 7")
    w("// code points at kNfdPool[value >> 3].")
    w("static const uint32_t kNfdKeys[%d] = {" % len(keys))
    for k in range(0, len(keys), 10):
        w("  " + ", ".join("0x%05x" % x for x in keys[k:k + 10]) + ",")
    w("};")
    w("static const uint32_t kNfdValues[%d] = {" % len(values))
    for k in range(0, len(values), 10):
        w("  " + ", ".join("0x%05x" % x for x in values[k:k + 10]) + ",")
    w("};")
    w("static const uint32_t kNfdPool[%d] = {" % len(pool))
    for k in range(0, len(pool), 10):
        w("  " + ", ".join("0x%05x" % x for x in pool[k:k + 10]) + ",")
    w("};")
    w("")
    w("// Lowercase: for i < count, first + i * stride maps to itself + delta.")
    w("struct LowerRun { uint32_t first; uint16_t count; uint8_t stride; "
      "int32_t delta; };")
    w("static const LowerRun kLowerRuns[%d] = {" % len(lower_runs))
    for k in range(0, len(lower_runs), 4):
        w("  " + ", ".join("{0x%05x, %d, %d, %d}" % r
                           for r in lower_runs[k:k + 4]) + ",")
    w("};")
    w("// Characters whose lowercase is several code points.")
    w("struct LowerSpecial { uint32_t cp; uint32_t lower[3]; uint8_t len; };")
    w("static const LowerSpecial kLowerSpecial[%d] = {" % len(lower_special))
    for cp, seq in lower_special:
        assert len(seq) <= 3
        padded = seq + [0] * (3 - len(seq))
        w("  {0x%05x, {%s}, %d}," % (cp, ", ".join("0x%05x" % x
                                                   for x in padded), len(seq)))
    w("};")
    w("")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print("wrote %s: %d class runs, %d ccc runs, %d decompositions (%d pool), "
          "%d lower runs, %d special" % (out_path, len(runs), len(cccs),
                                          len(keys), len(pool),
                                          len(lower_runs), len(lower_special)))


if __name__ == "__main__":
    main()
