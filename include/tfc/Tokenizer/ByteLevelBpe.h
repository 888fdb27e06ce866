//===- ByteLevelBpe.h - GPT-2 style byte-level BPE --------------*- C++ -*-===//
//
// The tokenizer of GPT-2 and of the models that reuse its scheme (SmolLM2,
// StarCoder, ...), as Hugging Face tokenizers (ByteLevel pre-tokenizer + BPE
// model) and llama.cpp (llm_tokenizer_bpe) implement it:
//   1. added / special tokens ("<|im_start|>") are matched in the raw text;
//   2. the rest is split into words by the model's pre-tokenizer: GPT-2's
//      pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
//        ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      optionally after isolating every numeric character (Hugging Face's
//      Digits(individual_digits) pre-tokenizer; llama.cpp's "smollm" and
//      "starcoder" pre-tokenizers). The pattern is matched by hand, not with
//      std::regex, with character classes taken from tokenizers
//      (BpeTables.inc);
//   3. each word's bytes are mapped to printable characters (GPT-2's
//      bytes_to_unicode: ' ' becomes U+0120 "Ġ") and merged by the rank of
//      the merge rules, lowest rank first, leftmost first on ties.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_BYTELEVELBPE_H
#define TFC_TOKENIZER_BYTELEVELBPE_H

#include "tfc/Tokenizer/Tokenizer.h"

#include <array>
#include <unordered_map>

namespace tfc {
namespace tokenizer {

enum class BpePreTokenizer {
  Gpt2,                 // GPT-2's pattern
  Gpt2IndividualDigits, // every numeric character alone, then GPT-2's pattern
  /// Falcon (HF: Punctuation(contiguous), ByteLevel(use_regex),
  /// Digits(individual_digits=false), Split("[0-9][0-9][0-9]", isolated)):
  /// runs of punctuation apart, GPT-2's pattern on every run, then each word
  /// cut between numeric and other byte-level characters, then every three
  /// ASCII digits (leftmost first) isolated.
  Falcon
};

struct ByteLevelBpeOptions {
  BpePreTokenizer preTokenizer = BpePreTokenizer::Gpt2;
  /// Prepend ' ' to text that does not start with one (add_prefix_space).
  bool addPrefixSpace = false;
};

class ByteLevelBpeTokenizer : public Tokenizer {
public:
  /// Call after setVocab: `merges` in rank order, each a pair of tokens in
  /// byte-level form ("Ġ", "t"). A merge whose parts or result are not in
  /// the vocabulary is an error.
  Status init(const std::vector<std::pair<std::string, std::string>> &merges,
              const ByteLevelBpeOptions &options);

  const char *modelName() const override { return "byte-level-bpe"; }
  Status encode(std::string_view text,
                std::vector<int32_t> &ids) const override;
  void appendTokenBytes(int32_t id, bool special,
                        std::string &out) const override;

  const ByteLevelBpeOptions &options() const { return opts; }

  /// Step 2: splits raw UTF-8 text into words (byte ranges of `text`).
  static void preTokenize(std::string_view text, BpePreTokenizer kind,
                          std::vector<std::string_view> &words);
  /// Step 3 on one word (raw bytes); appends its ids.
  void bpe(std::string_view word, std::vector<int32_t> &ids) const;

  /// GPT-2's bytes_to_unicode: the character that stands for byte `b`.
  static char32_t byteToChar(uint8_t b);

private:
  ByteLevelBpeOptions opts;
  // (left id << 32 | right id) -> (rank << 32 | merged id)
  std::unordered_map<uint64_t, uint64_t> mergeRanks;
  std::array<int32_t, 256> byteIds{}; // id of each byte's one-char token
  std::unordered_map<char32_t, uint8_t> charToByte;
};

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_BYTELEVELBPE_H
