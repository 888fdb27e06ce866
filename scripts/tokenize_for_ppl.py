#!/usr/bin/env python3
"""Tokenize a text file for `tfc-run --perplexity`: writes the token ids,
whitespace-separated, no BOS/EOS added.

SmolLM2: the model's own Hugging Face tokenizer
(.cache/models/smollm2/hf/tokenizer.json, through the `tokenizers`
package). Not the GGUF tokenizer: llama-generate's GGUF tokenizer splits
digits one by one, which SmolLM2's tokenizer.json does not, and
`llama-generate --tokenize TEXT` takes the text on the command line, which
cannot hold wiki.test.raw (1.3 MB > the 128 KiB per-argument limit).

  .venv/bin/python scripts/tokenize_for_ppl.py \\
      --tokenizer .cache/models/smollm2/hf/tokenizer.json \\
      /work/shared/data/wikitext-2-raw/wiki.test.raw -o /tmp/ppl/wiki.tokens

The whole file is encoded as one string (HF's perplexity guide joins the
dataset's lines with "\\n\\n"; the raw file already has its blank lines).
"""
import argparse
import sys

from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("text", help="UTF-8 text file")
    ap.add_argument("--tokenizer", required=True, help="HF tokenizer.json")
    ap.add_argument("-o", "--output", required=True, help="token id file")
    args = ap.parse_args()
    tok = Tokenizer.from_file(args.tokenizer)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    ids = tok.encode(text, add_special_tokens=False).ids
    with open(args.output, "w") as f:
        for i in range(0, len(ids), 32):
            f.write(" ".join(map(str, ids[i:i + 32])) + "\n")
    print(f"{len(text)} characters -> {len(ids)} tokens -> {args.output}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
