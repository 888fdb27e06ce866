//===- main.cpp - tfc-tokenize: print the token ids of texts --------------===//
//
//   tfc-tokenize TOKENIZER [--no-special] [--tokens] [--max-len N] [TEXT...]
//
// TOKENIZER is a Hugging Face model folder, a tokenizer.json, a vocab.txt or
// a .gguf file. Without TEXT, reads one text per line from stdin. Prints one
// line of space-separated ids per text (or tokens with --tokens).
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/Loader.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

using namespace tfc::tokenizer;

static int usage(const char *argv0) {
  std::fprintf(stderr,
               "usage: %s TOKENIZER [--no-special] [--tokens] [--max-len N] "
               "[TEXT...]\n"
               "  TOKENIZER: Hugging Face folder, tokenizer.json, vocab.txt "
               "or .gguf\n"
               "  without TEXT, reads one text per line from stdin\n",
               argv0);
  return 2;
}

int main(int argc, char **argv) {
  std::string path;
  bool special = true, tokens = false;
  size_t maxLen = 0;
  std::vector<std::string> texts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-special") {
      special = false;
    } else if (a == "--tokens") {
      tokens = true;
    } else if (a == "--max-len" && i + 1 < argc) {
      char *end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end || v < 0)
        return usage(argv[0]);
      maxLen = static_cast<size_t>(v);
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      return 0;
    } else if (path.empty()) {
      path = a;
    } else {
      texts.push_back(a);
    }
  }
  if (path.empty())
    return usage(argv[0]);
  std::unique_ptr<Tokenizer> tok;
  Status s = loadTokenizer(path, tok);
  if (!s.ok()) {
    std::fprintf(stderr, "tfc-tokenize: %s\n", s.message().c_str());
    return 1;
  }
  bool fromStdin = texts.empty();
  std::string line;
  size_t next = 0;
  while (true) {
    std::string text;
    if (fromStdin) {
      if (!std::getline(std::cin, line))
        break;
      text = line;
    } else {
      if (next == texts.size())
        break;
      text = texts[next++];
    }
    std::vector<int32_t> ids;
    s = special ? tok->encodeWithSpecial(text, maxLen, ids)
                : tok->encode(text, ids);
    if (!s.ok()) {
      std::fprintf(stderr, "tfc-tokenize: %s\n", s.message().c_str());
      return 1;
    }
    if (!special && maxLen && ids.size() > maxLen)
      ids.resize(maxLen);
    std::string out;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (k)
        out += ' ';
      out += tokens ? tok->tokenText(ids[k]) : std::to_string(ids[k]);
    }
    std::printf("%s\n", out.c_str());
  }
  return 0;
}
